//===- CompileBudget.h - Time and memory bounds on one compilation -*- C++ -*-===//
//
// A model can make compilation run away: an op unrolled into millions of
// others, a constant folded into gigabytes. Limits::maxCompileMilliseconds
// and Limits::maxCompileBytes bound a compilation's wall time and the growth
// of the process's resident memory while it runs. The budget is checked
// between passes (MLIR actions) and between LLVM module parts; once spent,
// the remaining passes are skipped and the compilation fails with an error
// naming the step, rather than exhausting the machine.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_JIT_COMPILEBUDGET_H
#define KILN_JIT_COMPILEBUDGET_H

#include "kiln/Session.h"
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

namespace kiln {

class CompileBudget {
public:
  CompileBudget(const Limits &limits, std::string modelName);

  /// True once the budget is spent; `step` names what was about to run and
  /// goes into the error. Thread-safe; cheap enough to call between passes.
  bool spent(const std::string &step);
  /// Throws kiln::Error if the budget is spent.
  void check(const std::string &step);
  /// The error for a spent budget ("" if it is not spent).
  std::string reason() const;

private:
  uint64_t maxMilliseconds, maxBytes;
  std::string modelName;
  std::chrono::steady_clock::time_point start;
  uint64_t startBytes;
  std::atomic<bool> over{false};
  std::atomic<int64_t> lastMemoryCheckUs{0};
  mutable std::mutex mutex;
  std::string why;
};

/// Resident bytes of this process (0 where unknown).
uint64_t residentBytes();

} // namespace kiln
#endif
