//===- Allocation.h - guarded runs of compiled code ------------*- C++ -*-===//
//
// Compiled code runs inside callGuarded, which gives it a run state:
//
// - Buffers whose sizes come from input values or run-time dims are
//   allocated by the compiled code itself; its malloc and free are renamed
//   to kiln_malloc and kiln_free. kiln_malloc refuses sizes beyond the run's
//   limit (or ones the system refuses) and records every live buffer, so a
//   run that fails frees them all.
// - A failure (a refused allocation, a host kernel's failRun, an index out
//   of range, too many loop iterations) is recorded in the run state and
//   unwinds by longjmp, over compiled frames only, to the innermost guard
//   on its thread: callGuarded itself, or the guard kiln_parallel_for sets
//   around each chunk it runs on a worker. A parallel loop whose chunk
//   failed skips its remaining chunks and then fails on its calling thread,
//   so the failure reaches callGuarded, which returns it as RunOutcome.
// - A run given a BlockCache (each executable has one) takes its buffers
//   from the blocks earlier runs freed, and leaves its own there: runs of
//   the same shapes after the first take no memory from the heap, and the
//   buffers keep their addresses from run to run.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_ALLOCATION_H
#define KILN_RUNTIME_ALLOCATION_H

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

extern "C" void *kiln_malloc(uint64_t size);
extern "C" void kiln_free(void *p);

/// On functions that call JIT-compiled code through a pointer: clang's
/// -fsanitize=function reads a signature placed before each callee, which
/// JIT-compiled functions do not carry.
#if defined(__clang__)
#define KILN_CALLS_COMPILED_CODE __attribute__((no_sanitize("function")))
#else
#define KILN_CALLS_COMPILED_CODE
#endif

namespace kiln {

/// Bounds on what one run of compiled code may do (SessionOptions::limits).
struct RunLimits {
  /// Largest single buffer the code may allocate.
  uint64_t maxAllocationBytes = uint64_t(16) << 30;
  /// Bytes of the buffers the code holds at once.
  uint64_t maxWorkspaceBytes = uint64_t(32) << 30;
  /// Loop iterations run by one run, over all loops; 0: no bound.
  uint64_t maxLoopIterations = uint64_t(1) << 26;
};

/// Buffers freed by the runs of one compiled model, by size, for its next
/// runs. Thread-safe (parallel bodies allocate too).
class BlockCache {
public:
  BlockCache() = default;
  BlockCache(const BlockCache &) = delete;
  BlockCache &operator=(const BlockCache &) = delete;
  ~BlockCache();
  /// A run begins: returns its mark for endRun.
  uint64_t beginRun();
  /// A kept block of at least `size` bytes, or null; `capacity` is set to
  /// its size. A block of exactly `size` bytes first (the last one freed),
  /// else the smallest of up to twice `size`: a model's buffers are of
  /// many sizes, and the first run, taking fresh memory for each, faulted
  /// in more pages than the run ever holds at once.
  void *take(uint64_t size, uint64_t &capacity);
  void put(void *block, uint64_t size);
  /// Frees the blocks that were kept before the run marked `mark` began
  /// and that it did not take: sizes the runs no longer ask for (other
  /// shapes) are not kept forever.
  void endRun(uint64_t mark);
  /// A run held `bytes` of buffers at once.
  void noteHeld(uint64_t bytes);
  /// The most bytes of buffers one run has held at once.
  uint64_t mostHeld() const { return mostHeldBytes.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> mostHeldBytes{0};
  struct Block {
    void *pointer;
    uint64_t size;
    uint64_t generation;
  };
  std::mutex mutex;
  uint64_t generation = 0;
  /// In the order they were freed (a model holds tens of buffers, not
  /// thousands: a scan is cheaper than a map's node per block).
  std::vector<Block> blocks;
};

/// Buffers kiln_malloc has taken from the system allocator since the
/// process started (not from a BlockCache): what tests count.
uint64_t heapAllocations();

struct RunOutcome {
  /// Why the run failed, or empty.
  std::string failure;
  bool failed() const { return !failure.empty(); }
};

/// Calls entry(args) under `limits`. On failure every buffer the code still
/// held is freed; on success every buffer it still held is freed except
/// those `keep(pointer)` names (the outputs it returns to the caller).
/// With `cache`, the code's buffers come from it and go back to it.
RunOutcome callGuarded(void (*entry)(void **), void **args, const RunLimits &limits,
                       bool (*keep)(void *pointer, void *context) = nullptr,
                       void *context = nullptr, BlockCache *cache = nullptr);

/// Fails the current run from a host kernel or parallel body with `message`
/// (static text or text that outlives the run), unwinding to the innermost
/// guard on this thread. Outside a run it aborts the process.
[[noreturn]] void failRun(const char *message);

struct RunState;
/// The run the calling thread works for, or null.
RunState *currentRun();

/// Runs body(begin, end, context) on a worker of `run` under a guard of its
/// own: a failure inside it is recorded in `run` and returns here. Returns
/// false when the run has failed (by this chunk or an earlier one), so that
/// the caller can skip what is left.
bool runChunk(RunState *run, void (*body)(int64_t, int64_t, void *), int64_t begin,
              int64_t end, void *context);
/// After a parallel loop, on its calling thread: fails the run if a chunk
/// failed it.
void failIfChunkFailed(RunState *run);

} // namespace kiln
#endif
