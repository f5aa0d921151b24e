#!/usr/bin/env bash
# Installs, builds and runs every test: lit, GoogleTest, the differential test
# against ONNX Runtime and the ONNX backend conformance suite (ctest).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2
