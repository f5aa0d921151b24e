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
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

/// One parallel loop, published to a Team by the thread that runs it. Its
/// iterations are split into one contiguous part per thread of the team;
/// each thread takes its own part's iterations first, then what is left of
/// the others'. A thread then works on the same part of an op's data on
/// every run, and, where consecutive ops split alike, on the part of its
/// input that it wrote itself: in its own L2 (a recurrence's GEMV keeps
/// its half of the weight there from step to step).
struct Job {
  static constexpr int kMaxParts = 16;
  Job(void (*body)(int64_t, int64_t, void *), void *context, RunState *run,
      strings::Arena *arena)
      : body(body), context(context), run(run), arena(arena) {}
  void (*body)(int64_t, int64_t, void *);
  void *context;
  RunState *run;
  strings::Arena *arena;
  int parts = 1;
  struct alignas(64) Part {
    std::atomic<int64_t> next;
    int64_t end;
  } part[kMaxParts];

  /// Splits [begin, end) among `threads` (set before the job is published).
  void split(int64_t begin, int64_t end, int threads) {
    int64_t n = end - begin;
    parts = static_cast<int>(std::min<int64_t>({threads, n, kMaxParts}));
    for (int p = 0; p < parts; ++p) {
      part[p].next.store(begin + n * p / parts, std::memory_order_relaxed);
      part[p].end = begin + n * (p + 1) / parts;
    }
  }
};

/// Worker threads that spin, while a run is in progress, waiting for the
/// parallel loops of that run, and sleep between runs. A worker that
/// sleeps between loops (oneTBB's do after a short spin) lets its vCPU go
/// idle, and on a shared host the next loop can wait milliseconds for it
/// to be scheduled again: MobileNetV2 at 2 threads ran 16 ms at best and
/// 34-38 ms at the median that way, ONNX Runtime's spinning pool 7.4/8.2.
/// Iterations are taken one at a time (from the counter of a thread's
/// part, see Job), so a worker that is descheduled anyway holds up one
/// iteration, not a share: the others take the rest of its part.
class Team {
public:
  explicit Team(int workers) {
    for (int i = 0; i < workers; ++i)
      threads.emplace_back([this, i] { work(i + 1); });
  }
  ~Team() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &t : threads)
      t.join();
  }

  /// Workers spin from now until `end()` (woken at a run's first loop: a
  /// run with none never wakes them).
  void begin() {
    if (active.load(std::memory_order_relaxed))
      return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      active.store(true);
    }
    wake.notify_all();
  }
  void end() {
    if (active.load(std::memory_order_relaxed))
      active.store(false);
  }

  /// Runs [begin, end) of `job` on this thread and the spinning workers;
  /// false (nothing run) when another loop holds the team.
  bool runLoop(Job &job, int64_t begin, int64_t end) {
    bool free = false;
    if (!held.compare_exchange_strong(free, true))
      return false;
    job.split(begin, end, static_cast<int>(threads.size()) + 1);
    current.store(&job);
    generation.fetch_add(1);
    take(job, 0);
    // No worker may still read `job` when this returns: each announces
    // itself (inside) before it reads `current`, and all are sequentially
    // consistent, so once `current` is cleared and `inside` reads zero no
    // worker holds the job or will find it.
    current.store(nullptr);
    while (inside.load() != 0)
      pause();
    held.store(false);
    return true;
  }

private:
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::atomic<bool> held{false}; // a loop is running on the team
  std::condition_variable wake;
  bool stopping = false;
  std::atomic<bool> active{false};
  std::atomic<uint64_t> generation{0};
  std::atomic<Job *> current{nullptr};
  std::atomic<int> inside{0};

  static void pause() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }

  /// Runs iterations of `job` on the thread numbered `self` (the loop's
  /// own thread is 0): its part's, then the others' that are left.
  static void take(Job &job, int self) {
    strings::ArenaScope scope(job.arena);
    for (int k = 0; k < job.parts; ++k) {
      Job::Part &p = job.part[(self + k) % job.parts];
      for (int64_t i; (i = p.next.fetch_add(1)) < p.end;)
        runChunk(job.run, job.body, i, i + 1, job.context);
    }
  }

  void work(int self) {
    uint64_t seen = generation.load();
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || active.load(); });
        if (stopping)
          return;
      }
      while (active.load(std::memory_order_relaxed)) {
        uint64_t g = generation.load(std::memory_order_relaxed);
        if (g == seen) {
          pause();
          continue;
        }
        seen = g;
        inside.fetch_add(1);
        if (Job *job = current.load())
          take(*job, self);
        inside.fetch_sub(1);
      }
    }
  }
};

thread_local Team *currentTeam = nullptr;

/// Runs a parallel loop's iterations on this thread. A loop that runs
/// again right after itself (a recurrence's step, reading the same weights
/// each time, with no other loop between) takes the order opposite to its
/// last one, so that it starts with the iterations whose data its last run
/// left in the cache: a GEMV over a 1 MiB weight, as large as the L2 it is
/// streamed through, ran 11.1 us with each run in the same order and 9.8 us
/// alternating. Other loops run their iterations in one call, in order.
void serialLoop(int64_t begin, int64_t end, void (*body)(int64_t, int64_t, void *),
                void *context) {
  // Per thread: the loops run so far, and the direction and time of each
  // loop's (body's) last run; a collision of two loops on a slot only
  // costs the reuse.
  struct Last {
    void (*body)(int64_t, int64_t, void *);
    uint64_t at;
    bool reversed;
  };
  thread_local Last last[64] = {};
  thread_local uint64_t loops = 0;
  Last &slot = last[(reinterpret_cast<uintptr_t>(body) >> 4) % 64];
  bool reverse = slot.body == body && slot.at == loops && !slot.reversed;
  slot = {body, ++loops, reverse};
  if (!reverse)
    return body(begin, end, context);
  for (int64_t i = end; i-- > begin;)
    body(i, i + 1, context);
}

} // namespace
} // namespace kiln

KILN_CALLS_COMPILED_CODE
static void parallelFor(int64_t begin, int64_t end, void (*body)(int64_t, int64_t, void *),
                        void *context) {
  if (end <= begin)
    return;
  if (end - begin == 1)
    return body(begin, end, context);
  if (tbb::this_task_arena::max_concurrency() == 1)
    return kiln::serialLoop(begin, end, body, context);
  if (kiln::Team *team = kiln::currentTeam) {
    team->begin();
    kiln::Job job(body, context, kiln::currentRun(), kiln::strings::currentArena());
    if (team->runLoop(job, begin, end)) {
      kiln::failIfChunkFailed(job.run);
      return;
    }
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
  std::unique_ptr<Team> team;
  explicit Impl(int n) : arena(n) {
    if (n > 1)
      team = std::make_unique<Team>(n - 1);
  }
};

ThreadPool::ThreadPool(int threads)
    : impl_(std::make_unique<Impl>(threads > 0 ? threads
                                               : tbb::info::default_concurrency())) {}
ThreadPool::~ThreadPool() = default;
int ThreadPool::threads() const { return impl_->arena.max_concurrency(); }
void ThreadPool::run(const std::function<void()> &fn) {
  Team *team = impl_->team.get();
  if (!team || currentTeam) {
    impl_->arena.execute(fn);
    return;
  }
  try {
    impl_->arena.execute([&] {
      currentTeam = team;
      try {
        fn();
      } catch (...) {
        currentTeam = nullptr;
        throw;
      }
      currentTeam = nullptr;
    });
  } catch (...) {
    team->end();
    throw;
  }
  team->end();
}
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
