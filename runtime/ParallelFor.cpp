//===- ParallelFor.cpp - oneTBB behind the parallel-loop ABI --------------===//
#include "runtime/ParallelFor.h"
#include "runtime/Allocation.h"
#include "runtime/Profile.h"
#include "runtime/HostKernels.h"
#include "runtime/Strings.h"
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <cstring>
#include <vector>

KILN_CALLS_COMPILED_CODE
static void parallelFor(int64_t begin, int64_t end, void (*body)(int64_t, int64_t, void *),
                        void *context) {
  if (end <= begin)
    return;
  if (end - begin == 1 || tbb::this_task_arena::max_concurrency() == 1) {
    body(begin, end, context);
    return;
  }
  // Chunks run under guards of their own (a failure must not unwind through
  // oneTBB) and find the run's state and string arena on whichever thread.
  kiln::RunState *run = kiln::currentRun();
  kiln::strings::Arena *arena = kiln::strings::currentArena();
  tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end),
                    [&](const tbb::blocked_range<int64_t> &r) {
                      kiln::strings::ArenaScope scope(arena);
                      kiln::runChunk(run, body, r.begin(), r.end(), context);
                    });
  kiln::failIfChunkFailed(run);
}

extern "C" void kiln_parallel_for(int64_t begin, int64_t end,
                                  void (*body)(int64_t, int64_t, void *), void *context,
                                  const char *name) {
  kiln::profile::Recorder *recorder = kiln::profile::current();
  if (!recorder)
    return parallelFor(begin, end, body, context);
  double start = recorder->nowUs();
  parallelFor(begin, end, body, context);
  recorder->add({name ? name : "kernel", "kernel", start, recorder->nowUs() - start,
                 kiln::profile::threadIndex()});
}

extern "C" double kiln_kernel_begin() {
  kiln::profile::Recorder *recorder = kiln::profile::current();
  return recorder ? recorder->nowUs() : -1;
}

extern "C" void kiln_kernel_end(double start, const char *name) {
  kiln::profile::Recorder *recorder = kiln::profile::current();
  if (!recorder || start < 0)
    return;
  recorder->add({name ? name : "kernel", "kernel", start, recorder->nowUs() - start,
                 kiln::profile::threadIndex()});
}

namespace kiln {
struct ThreadPool::Impl {
  tbb::task_arena arena;
  explicit Impl(int n) : arena(n) {}
};

ThreadPool::ThreadPool(int threads)
    : impl_(std::make_unique<Impl>(threads > 0 ? threads
                                               : tbb::info::default_concurrency())) {}
ThreadPool::~ThreadPool() = default;
int ThreadPool::threads() const { return impl_->arena.max_concurrency(); }
void ThreadPool::run(const std::function<void()> &fn) { impl_->arena.execute(fn); }
} // namespace kiln

extern "C" void kiln_memref_copy(int64_t elementSize, void *source, void *destination) {
  kiln::StridedView s = kiln::stridedView(static_cast<kiln::UnrankedMemRef *>(source), elementSize);
  kiln::StridedView d =
      kiln::stridedView(static_cast<kiln::UnrankedMemRef *>(destination), elementSize);
  int64_t total = 1;
  for (int64_t i = 0; i < s.rank; ++i)
    total *= s.sizes[i];
  if (total == 0)
    return;
  std::vector<int64_t> index(s.rank, 0);
  for (int64_t n = 0; n < total; ++n) {
    int64_t so = 0, doff = 0;
    for (int64_t i = 0; i < s.rank; ++i) {
      so += index[i] * s.strides[i];
      doff += index[i] * d.strides[i];
    }
    std::memcpy(d.base + doff * elementSize, s.base + so * elementSize, elementSize);
    for (int64_t i = s.rank - 1; i >= 0; --i) {
      if (++index[i] < s.sizes[i])
        break;
      index[i] = 0;
    }
  }
}
