//===- ParallelFor.h - the runtime ABI compiled kernels call ---*- C++ -*-===//
//
// Kiln's kiln-outline-parallel pass turns each outermost parallel loop into a
// body function and a call of kiln_parallel_for. Inside a run of a session
// with more than one thread, the iterations run on the session's workers,
// which spin for the run's loops while it lasts; elsewhere (nested loops,
// code run outside ThreadPool::run) as oneTBB tasks in the caller's arena.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_PARALLELFOR_H
#define KILN_RUNTIME_PARALLELFOR_H

#include <cstdint>
#include <functional>
#include <memory>

extern "C" {
/// Runs body(lo, hi, context) over disjoint chunks [lo, hi) covering
/// [begin, end). `name` names the ONNX nodes the loop computes: the event
/// recorded when the run is profiled.
void kiln_parallel_for(int64_t begin, int64_t end,
                       void (*body)(int64_t, int64_t, void *), void *context,
                       const char *name);

/// Bracket each call of a serial kernel: when the run is profiled, the
/// start time in microseconds and an event named `name` ("conv2+relu2");
/// otherwise -1 and nothing.
double kiln_kernel_begin();
void kiln_kernel_end(double start, const char *name);
}

namespace kiln {
/// A fixed-size pool of worker threads: a oneTBB task arena, and for the
/// compiled code's parallel loops, workers that spin during `run`.
class ThreadPool {
public:
  /// threads <= 0: one per available core.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int threads() const;
  /// Runs `fn` on this pool: parallel loops inside it use the pool's threads.
  void run(const std::function<void()> &fn);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
} // namespace kiln
#endif

extern "C" {
/// Strided copy for memref.copy between non-contiguous buffers. Lowered code
/// calls it as `memrefCopy(elemSize, src, dst)` with unranked descriptors
/// ({int64 rank; descriptor *}); the JIT binds that name here.
void kiln_memref_copy(int64_t elementSize, void *source, void *destination);
}
