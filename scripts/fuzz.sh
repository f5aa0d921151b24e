#!/usr/bin/env bash
# Runs Kiln's libFuzzer targets (test/fuzz) for a given time each.
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Targets: model (any bytes as a ModelProto), model-structured (ONNX-aware
# mutation of the node-test models), artifact (.kiln bytes), tensor-files
# (.npy and TensorProto readers); default: all. Builds build-asan/ (clang,
# ASan+UBSan, KILN_FUZZ) first. Corpora grow in build-asan/fuzz/<target>/;
# an input that crashes is copied to test/fuzz/regressions/<target>/ (the
# structured target's to model/), which ctest replays on every run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
((${#targets[@]})) || targets=(model model-structured artifact tensor-files)
if [[ ! -f build-asan/build.ninja ]]; then
  CC=clang-22 CXX=clang++-22 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g0 -DNDEBUG" -DKILN_SANITIZE=address,undefined -DKILN_FUZZ=ON
fi
cmake --build build-asan --target $(printf 'kiln-fuzz-%s ' "${targets[@]}") kiln-compile
tests=$root/../shared/onnx-tests
[[ -d $tests/node ]] || tests=/usr/include/onnx/backend/test/data
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for target in "${targets[@]}"; do
  corpus=build-asan/fuzz/$target seeds=build-asan/fuzz/$target-seeds crashes=build-asan/fuzz/$target-crashes
  regressions=test/fuzz/regressions/${target%-structured}
  mkdir -p "$corpus" "$seeds" "$crashes"
  if [[ -z $(ls -A "$seeds") ]]; then
    case $target in
      model*)
        for d in "$tests"/node/*/; do cp "$d/model.onnx" "$seeds/$(basename "$d").onnx"; done ;;
      artifact)
        build-asan/bin/kiln-compile models/small_cnn.onnx -o "$seeds/small_cnn.kiln" --threads 1 ;;
      tensor-files)
        i=0
        for f in "$tests"/node/test_{gather,reshape,loop,split,conv}*/test_data_set_0/*.pb; do
          { printf '\x01'; cat "$f"; } > "$seeds/pb-$((i++))"
        done
        .venv/bin/python -c "
import numpy as np, io, sys
for k, a in enumerate([np.ones((2, 3), np.float32), np.arange(5, dtype=np.int64), np.array(True), np.zeros((0, 4), np.float16)]):
    b = io.BytesIO(); np.save(b, a); open(sys.argv[1] + f'/npy-{k}', 'wb').write(b'\x00' + b.getvalue())
" "$seeds" ;;
    esac
  fi
  echo "== $target: $seconds s"
  # One process at a time, restarted after a finding until the time is
  # spent (fork mode's first merge pass stalls on the slow units); each
  # finding is saved for replay.
  end=$((SECONDS + seconds))
  while ((SECONDS < end)); do
    start=$SECONDS
    build-asan/bin/kiln-fuzz-$target "$corpus" "$seeds" "$regressions" -max_total_time=$((end - SECONDS)) \
      -timeout=150 -rss_limit_mb=6144 -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$crashes/" 2>&1 | tail -n 25 || true
    # A finding replayed at start (an open regression input) would loop.
    ((SECONDS - start >= 10)) || { echo "fuzz.sh: $target stops at once; see $crashes" >&2; break; }
  done
  for c in "$crashes"/crash-* "$crashes"/timeout-* "$crashes"/oom-*; do
    [[ -e $c ]] || continue
    cp "$c" "$regressions/" && echo "finding: $regressions/$(basename "$c")"
  done
done
