//===- Allocation.cpp - guarded runs of compiled code ---------------------===//
#include "runtime/Allocation.h"
#include "runtime/HostKernels.h"
#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <sys/mman.h>
#include <mutex>
#include <vector>

namespace kiln {

struct RunState {
  RunLimits limits;
  BlockCache *cache = nullptr;
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> loopIterations{0};
  std::mutex mutex; // guards what follows
  std::string failure;
  /// The buffers held, with their bytes: few at once, mostly freed in the
  /// reverse of their allocation, so found from the back (a map cost two
  /// node allocations per buffer, on every run).
  std::vector<std::pair<void *, uint64_t>> live;
  uint64_t liveBytes = 0, mostLiveBytes = 0;

  void record(std::string message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failure.empty())
      failure = std::move(message);
    failed.store(true, std::memory_order_release);
  }
};

} // namespace kiln

namespace {
thread_local kiln::RunState *run = nullptr;
thread_local std::jmp_buf *guard = nullptr;

/// Records `message` as the run's failure (the first one wins). Outside a
/// guarded run there is nowhere to report it: the process ends.
void record(const std::string &message) {
  if (run && guard) {
    run->record(message);
    return;
  }
  std::fprintf(stderr, "kiln: fatal: %s (outside a guarded run)\n", message.c_str());
  std::abort();
}

/// Leaves for the innermost guard. Callers hold nothing with a destructor.
[[noreturn]] void unwind() { std::longjmp(*guard, 1); }

/// A run frees its intermediates at its end and the next run allocates the
/// same sizes again. By default glibc hands large freed blocks back to the
/// kernel (blocks it mmapped, and heap beyond its trim threshold), so every
/// run would fault in and zero megabytes of fresh pages (measured: 15% of a
/// ResNet-50 run). Blocks up to 32 MiB come from the heap instead, and up
/// to 512 MiB of freed heap is kept for the next run.
void keepFreedBlocks() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)once;
}
} // namespace

namespace {
std::atomic<uint64_t> heapBlocks{0};

/// A new block of `size` bytes. Activations of a megabyte or more are
/// 2 MiB-aligned and ask for huge pages: a 1x1 convolution reads its input
/// a row at a time, each row an image apart (12.5 KiB at 56x56), and with
/// 4 KiB pages every step of its kernel was a new page for the TLB. (The
/// blocks are kept for the next run, so the alignment's waste is paid
/// once.)
void *allocateBlock(uint64_t size) {
  constexpr uint64_t kHugePage = uint64_t(2) << 20;
  if (size < (uint64_t(1) << 20))
    return std::malloc(size ? size : 1);
  uint64_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
  void *p = std::aligned_alloc(kHugePage, rounded);
  if (p)
    madvise(p, rounded, MADV_HUGEPAGE);
  return p;
}
} // namespace

extern "C" void *kiln_malloc(uint64_t size) {
  keepFreedBlocks();
  uint64_t limit = run ? run->limits.maxAllocationBytes : kiln::RunLimits().maxAllocationBytes;
  void *p = nullptr;
  uint64_t capacity = size;
  if (size <= limit && run && run->cache)
    p = run->cache->take(size, capacity);
  if (!p && size <= limit) {
    p = allocateBlock(size);
    heapBlocks.fetch_add(1, std::memory_order_relaxed);
  }
  if (!p) {
    record("the compiled code asked for " + std::to_string(size) +
         " bytes at once, more than the limit of " + std::to_string(limit) +
         " bytes (Limits::maxAllocationBytes) or than the system would give (sizes that come "
         "from input values or dims)");
    unwind();
  }
  if (run) {
    bool over;
    {
      std::lock_guard<std::mutex> lock(run->mutex);
      over = run->liveBytes + capacity > run->limits.maxWorkspaceBytes;
      if (!over) {
        run->live.emplace_back(p, capacity);
        run->liveBytes += capacity;
        run->mostLiveBytes = std::max(run->mostLiveBytes, run->liveBytes);
      }
    }
    if (over) {
      std::free(p);
      record("the compiled code would hold more than " +
             std::to_string(run->limits.maxWorkspaceBytes) +
             " bytes of buffers at once (Limits::maxWorkspaceBytes) with " +
             std::to_string(size) + " more");
      unwind();
    }
  }
  return p;
}

extern "C" void kiln_free(void *p) {
  if (run && p) {
    uint64_t bytes = 0;
    bool held = false;
    {
      std::lock_guard<std::mutex> lock(run->mutex);
      auto &live = run->live;
      for (size_t i = live.size(); i-- > 0;)
        if (live[i].first == p) {
          bytes = live[i].second;
          held = true;
          run->liveBytes -= bytes;
          live[i] = live.back();
          live.pop_back();
          break;
        }
    }
    if (held && run->cache) {
      run->cache->put(p, bytes);
      return;
    }
  }
  std::free(p);
}

extern "C" void _mlir_ciface_kiln_loop_iteration() {
  if (!run || !run->limits.maxLoopIterations)
    return;
  uint64_t n = run->loopIterations.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n <= run->limits.maxLoopIterations)
    return;
  record("loops ran more than " + std::to_string(run->limits.maxLoopIterations) +
         " iterations in one run (Limits::maxLoopIterations)");
  unwind();
}

extern "C" void _mlir_ciface_kiln_index_out_of_range(const char *what) { kiln::failRun(what); }

namespace kiln {

BlockCache::~BlockCache() {
  for (Block &block : blocks)
    std::free(block.pointer);
}

uint64_t BlockCache::beginRun() {
  std::lock_guard<std::mutex> lock(mutex);
  return ++generation;
}

void *BlockCache::take(uint64_t size, uint64_t &capacity) {
  std::lock_guard<std::mutex> lock(mutex);
  // The block of this size freed last: the likeliest to be in cache.
  size_t best = blocks.size();
  for (size_t i = blocks.size(); i-- > 0;) {
    uint64_t have = blocks[i].size;
    if (have == size) {
      best = i;
      break;
    }
    if (have > size && have / 2 <= size && (best == blocks.size() || have < blocks[best].size))
      best = i;
  }
  if (best == blocks.size())
    return nullptr;
  void *block = blocks[best].pointer;
  capacity = blocks[best].size;
  blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(best));
  return block;
}

void BlockCache::put(void *block, uint64_t size) {
  std::lock_guard<std::mutex> lock(mutex);
  blocks.push_back(Block{block, size, generation});
}

void BlockCache::noteHeld(uint64_t bytes) {
  uint64_t most = mostHeldBytes.load(std::memory_order_relaxed);
  while (bytes > most && !mostHeldBytes.compare_exchange_weak(most, bytes))
    ;
}

void BlockCache::endRun(uint64_t mark) {
  std::lock_guard<std::mutex> lock(mutex);
  auto kept = std::remove_if(blocks.begin(), blocks.end(), [&](const Block &b) {
    if (b.generation >= mark)
      return false;
    std::free(b.pointer);
    return true;
  });
  blocks.erase(kept, blocks.end());
}

uint64_t heapAllocations() { return heapBlocks.load(std::memory_order_relaxed); }

void failRun(const char *message) {
  record(message);
  unwind();
}

RunState *currentRun() { return run; }

KILN_CALLS_COMPILED_CODE
RunOutcome callGuarded(void (*entry)(void **), void **args, const RunLimits &limits,
                       bool (*keep)(void *, void *), void *context, BlockCache *cache) {
  RunState state;
  state.live.reserve(64);
  state.limits = limits;
  state.cache = cache;
  uint64_t mark = cache ? cache->beginRun() : 0;
  RunState *outerRun = run;
  std::jmp_buf here;
  std::jmp_buf *outerGuard = guard;
  run = &state;
  // Nothing with a destructor may be created between setjmp and the call.
  if (!setjmp(here)) {
    guard = &here;
    entry(args);
  }
  guard = outerGuard;
  run = outerRun;
  RunOutcome outcome;
  bool failed = state.failed.load(std::memory_order_acquire);
  if (failed)
    outcome.failure = state.failure;
  for (const auto &[p, bytes] : state.live) {
    if (!failed && keep && keep(p, context))
      continue; // an output, handed to the caller
    if (cache)
      cache->put(p, bytes);
    else
      std::free(p);
  }
  if (cache) {
    cache->endRun(mark);
    cache->noteHeld(state.mostLiveBytes);
  }
  return outcome;
}

KILN_CALLS_COMPILED_CODE
bool runChunk(RunState *state, void (*body)(int64_t, int64_t, void *), int64_t begin,
              int64_t end, void *context) {
  if (state && state->failed.load(std::memory_order_acquire))
    return false;
  RunState *outerRun = run;
  std::jmp_buf here;
  std::jmp_buf *outerGuard = guard;
  run = state;
  if (!setjmp(here)) {
    guard = state ? &here : nullptr;
    body(begin, end, context);
  }
  guard = outerGuard;
  run = outerRun;
  return !state || !state->failed.load(std::memory_order_acquire);
}

void failIfChunkFailed(RunState *state) {
  if (state && state->failed.load(std::memory_order_acquire)) {
    if (guard)
      std::longjmp(*guard, 1);
    std::fprintf(stderr, "kiln: fatal: %s (outside a guarded run)\n", state->failure.c_str());
    std::abort();
  }
}

} // namespace kiln
