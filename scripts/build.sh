#!/usr/bin/env bash
# Installs dependencies (scripts/install-deps.sh), then configures and builds
# Kiln into build/ with Ninja and ccache. Incremental when build/ exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build
