#!/usr/bin/env bash
# Installs, builds and runs Kiln's main job: compile and run the shipped
# model with kiln-run, then check it against ONNX Runtime.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/build.sh
build/bin/kiln-run models/small_cnn.onnx --dim batch=4 --threads 2 --bench 20
.venv/bin/python test/tools/compare_with_ort.py --model models/small_cnn.onnx --dim batch=4
