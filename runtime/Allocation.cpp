//===- Allocation.cpp - bounded allocations for compiled code -------------===//
#include "runtime/Allocation.h"
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>

namespace {
thread_local std::jmp_buf *guard = nullptr;
thread_local uint64_t refused = 0;
thread_local const char *failure = nullptr;
} // namespace

/// A run frees its intermediates at its end and the next run allocates the
/// same sizes again. By default glibc hands large freed blocks back to the
/// kernel (blocks it mmapped, and heap beyond its trim threshold), so every
/// run would fault in and zero megabytes of fresh pages (measured: 15% of a
/// ResNet-50 run). Blocks up to 32 MiB come from the heap instead, and up
/// to 512 MiB of freed heap is kept for the next run.
static void keepFreedBlocks() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)once;
}

extern "C" void *kiln_malloc(uint64_t size) {
  keepFreedBlocks();
  if (size <= kiln::kMaxAllocationBytes) {
    if (void *p = std::malloc(size ? size : 1))
      return p;
  }
  if (guard) {
    refused = size;
    std::longjmp(*guard, 1);
  }
  // A parallel loop's worker thread has no way back to the caller.
  std::fprintf(stderr,
               "kiln: fatal: compiled code asked for %llu bytes in a parallel loop "
               "(limit %llu)\n",
               (unsigned long long)size, (unsigned long long)kiln::kMaxAllocationBytes);
  std::abort();
}

namespace kiln {

void failRun(const char *message) {
  if (guard) {
    refused = 0;
    failure = message;
    std::longjmp(*guard, 1);
  }
  std::fprintf(stderr, "kiln: fatal: %s\n", message);
  std::abort();
}

const char *runFailure() { return failure; }

uint64_t callGuarded(void (*entry)(void **), void **args) {
  std::jmp_buf here;
  std::jmp_buf *outer = guard;
  failure = nullptr;
  if (setjmp(here)) {
    guard = outer;
    return refused ? refused : 1;
  }
  guard = &here;
  entry(args);
  guard = outer;
  return 0;
}

} // namespace kiln
