#!/usr/bin/env bash
# Installs everything Kiln's build, tests and benchmarks need on Debian 12, idempotently.
# Debian packages (needs root) and the pinned Python tools into .venv/ at the project root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libtbb-dev libre2-dev pkg-config
  libjpeg62-turbo-dev libtiff-dev libwebp-dev libopenjp2-7-dev libstb-dev
  libgtest-dev libgmock-dev ninja-build ccache cmake g++ gcc binutils zlib1g-dev libzstd-dev
  python3-venv libonnx-testdata clang-22 libclang-rt-22-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=$root/.venv
req=$root/scripts/requirements.txt
if [[ ! -x $venv/bin/python ]]; then
  /usr/bin/python3 -m venv "$venv"
fi
if ! cmp -s "$req" "$venv/.installed-requirements" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.installed-requirements"
fi
