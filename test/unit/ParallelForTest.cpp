// The runtime's parallel loops (kiln_parallel_for on a ThreadPool): every
// iteration runs exactly once, whatever the loop's size, the pool's
// threads, nesting, or other pools running at the same time. Run under
// ThreadSanitizer by scripts/test.sh --tsan (the *Concurrent* tests).
#include "runtime/ParallelFor.h"
#include <gtest/gtest.h>
#include <atomic>
#include <thread>
#include <vector>

namespace {

struct Counts {
  std::vector<int> hits;
};

void countChunk(int64_t lo, int64_t hi, void *context) {
  auto *counts = static_cast<Counts *>(context);
  for (int64_t i = lo; i < hi; ++i)
    ++counts->hits[i];
}

/// Each iteration runs an inner loop of 8 and records how many of its
/// iterations ran.
void nestedChunk(int64_t lo, int64_t hi, void *context) {
  auto *counts = static_cast<Counts *>(context);
  for (int64_t i = lo; i < hi; ++i) {
    Counts inner{std::vector<int>(8, 0)};
    kiln_parallel_for(0, 8, countChunk, &inner, "inner");
    int ran = 0;
    for (int h : inner.hits)
      ran += h;
    counts->hits[i] += ran;
  }
}

/// Loops of many sizes in one run (the workers stay awake between them);
/// returns how many elements were not hit exactly `loops` times.
int runLoops(kiln::ThreadPool &pool, int run, int loops) {
  constexpr int64_t kSize = 1000;
  Counts counts{std::vector<int>(kSize, 0)};
  pool.run([&] {
    for (int loop = 0; loop < loops; ++loop) {
      // Every loop covers the whole range, in another split.
      int64_t cut = (loop * 37 + run * 11) % kSize;
      kiln_parallel_for(0, cut, countChunk, &counts, "first");
      kiln_parallel_for(cut, kSize, countChunk, &counts, "rest");
    }
  });
  int wrong = 0;
  for (int h : counts.hits)
    wrong += h != loops;
  return wrong;
}

TEST(ParallelFor, ConcurrentLoopsRunEveryIterationOnce) {
  for (int threads : {1, 2, 3, 4}) {
    kiln::ThreadPool pool(threads);
    for (int run = 0; run < 100; ++run) {
      ASSERT_EQ(runLoops(pool, run, 10), 0) << threads << " threads, run " << run;
      // Now and then the workers go back to sleep between runs.
      if (run % 25 == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TEST(ParallelFor, ConcurrentNestedLoops) {
  kiln::ThreadPool pool(3);
  for (int run = 0; run < 50; ++run) {
    Counts counts{std::vector<int>(64, 0)};
    pool.run([&] { kiln_parallel_for(0, 64, nestedChunk, &counts, "outer"); });
    for (int h : counts.hits)
      ASSERT_EQ(h, 8) << "run " << run;
  }
}

TEST(ParallelFor, ConcurrentPoolsOnTwoThreads) {
  kiln::ThreadPool a(2), b(2);
  std::atomic<int> wrong{0};
  auto use = [&](kiln::ThreadPool &pool, int seed) {
    for (int run = 0; run < 100; ++run)
      wrong += runLoops(pool, run + seed, 3);
  };
  std::thread first(use, std::ref(a), 0), second(use, std::ref(b), 1000);
  first.join();
  second.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ParallelFor, OutsideARunAndEmptyRanges) {
  Counts counts{std::vector<int>(100, 0)};
  kiln_parallel_for(0, 100, countChunk, &counts, "outside");
  kiln_parallel_for(50, 50, countChunk, &counts, "empty");
  for (int h : counts.hits)
    EXPECT_EQ(h, 1);
  kiln::ThreadPool pool(2);
  pool.run([&] { kiln_parallel_for(7, 7, countChunk, &counts, "empty"); });
  for (int h : counts.hits)
    EXPECT_EQ(h, 1);
}

} // namespace

namespace {
struct Order {
  std::vector<int64_t> seen;
};
void recordChunk(int64_t lo, int64_t hi, void *context) {
  for (int64_t i = lo; i < hi; ++i)
    static_cast<Order *>(context)->seen.push_back(i);
}
void otherChunk(int64_t, int64_t, void *) {}
} // namespace

// On one thread, a loop that runs again right after itself (a recurrence's
// step) alternates its order, starting where its last run ended (its data
// is in the cache); a loop with another between them runs in order.
TEST(ParallelFor, SerialLoopRunAgainAlternatesItsOrder) {
  kiln::ThreadPool pool(1);
  std::vector<std::vector<int64_t>> orders;
  pool.run([&] {
    for (int i = 0; i < 3; ++i) {
      Order o;
      kiln_parallel_for(0, 4, recordChunk, &o, "step");
      orders.push_back(o.seen);
    }
    kiln_parallel_for(0, 4, otherChunk, nullptr, "other");
    Order o;
    kiln_parallel_for(0, 4, recordChunk, &o, "step");
    orders.push_back(o.seen);
  });
  std::vector<int64_t> forward{0, 1, 2, 3}, backward{3, 2, 1, 0};
  ASSERT_EQ(orders.size(), 4u);
  EXPECT_EQ(orders[0], forward);
  EXPECT_EQ(orders[1], backward);
  EXPECT_EQ(orders[2], forward);
  EXPECT_EQ(orders[3], forward);
}
