//===- CompileBudget.cpp - Time and memory bounds on one compilation ------===//
#include "jit/CompileBudget.h"
#include "kiln/Tensor.h"
#include <cstdio>
#include <unistd.h>

namespace kiln {

uint64_t residentBytes() {
  FILE *f = std::fopen("/proc/self/statm", "r");
  if (!f)
    return 0;
  unsigned long long size = 0, resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * uint64_t(sysconf(_SC_PAGESIZE)) : 0;
}

CompileBudget::CompileBudget(const Limits &limits, std::string modelName)
    : maxMilliseconds(limits.maxCompileMilliseconds), maxBytes(limits.maxCompileBytes),
      modelName(std::move(modelName)), start(std::chrono::steady_clock::now()),
      startBytes(limits.maxCompileBytes ? residentBytes() : 0) {}

bool CompileBudget::spent(const std::string &step) {
  if (over.load(std::memory_order_relaxed))
    return true;
  auto elapsedUs =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
          .count();
  std::string problem;
  if (maxMilliseconds && uint64_t(elapsedUs) > maxMilliseconds * 1000) {
    problem = "exceeded its time budget of " + std::to_string(maxMilliseconds) +
              " ms (Limits::maxCompileMilliseconds)";
  } else if (maxBytes) {
    // Reading /proc costs microseconds; passes can be much shorter.
    int64_t last = lastMemoryCheckUs.load(std::memory_order_relaxed);
    if (elapsedUs - last >= 10000 || last == 0) {
      lastMemoryCheckUs.store(elapsedUs, std::memory_order_relaxed);
      uint64_t now = residentBytes();
      if (now > startBytes && now - startBytes > maxBytes)
        problem = "grew the process by " + std::to_string((now - startBytes) >> 20) +
                  " MiB, over its memory budget of " + std::to_string(maxBytes) +
                  " bytes (Limits::maxCompileBytes)";
    }
  }
  if (problem.empty())
    return false;
  std::lock_guard<std::mutex> lock(mutex);
  if (!over.exchange(true))
    why = "model '" + modelName + "': compilation stopped at " + step + ": it " + problem;
  return true;
}

void CompileBudget::check(const std::string &step) {
  if (spent(step))
    throw Error(reason());
}

std::string CompileBudget::reason() const {
  std::lock_guard<std::mutex> lock(mutex);
  return why;
}

} // namespace kiln
