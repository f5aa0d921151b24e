//===- Allocation.cpp - bounded allocations for compiled code -------------===//
#include "runtime/Allocation.h"
#include <csetjmp>
#include <cstdio>
#include <cstdlib>

namespace {
thread_local std::jmp_buf *guard = nullptr;
thread_local uint64_t refused = 0;
thread_local const char *failure = nullptr;
} // namespace

extern "C" void *kiln_malloc(uint64_t size) {
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
