//===- Allocation.h - bounded allocations for compiled code ----*- C++ -*-===//
//
// Buffers whose sizes come from input values or run-time dims are allocated
// by the compiled code itself; its calls to malloc are renamed to
// kiln_malloc, which refuses sizes beyond kMaxAllocationBytes (or ones the
// system refuses). Called from within callGuarded, a refusal unwinds back to
// it (longjmp over compiled frames only) and becomes a kiln::Error; the
// buffers allocated so far by that run are lost, not freed.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_ALLOCATION_H
#define KILN_RUNTIME_ALLOCATION_H

#include <cstdint>

extern "C" void *kiln_malloc(uint64_t size);

namespace kiln {

inline constexpr uint64_t kMaxAllocationBytes = uint64_t(16) << 30;

/// Calls entry(args). Returns 0, or the size of the refused allocation
/// (1 when a host kernel failed the run: see runFailure).
uint64_t callGuarded(void (*entry)(void **), void **args);

/// Fails the current run from a host kernel on its calling thread with
/// `message` (static text), unwinding to callGuarded as a refused
/// allocation does.
[[noreturn]] void failRun(const char *message);
/// The message of the last failRun on this thread's last callGuarded, or null.
const char *runFailure();

} // namespace kiln
#endif
