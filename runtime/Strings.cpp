//===- Strings.cpp - string records and the per-run arena -----------------===//
#include "runtime/Strings.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::strings {

std::string_view view(const void *element) {
  if (!element)
    return {};
  int64_t n;
  std::memcpy(&n, element, sizeof n);
  return {static_cast<const char *>(element) + sizeof n, size_t(n)};
}

void writeRecord(char *at, std::string_view s) {
  int64_t n = int64_t(s.size());
  std::memcpy(at, &n, sizeof n);
  if (!s.empty())
    std::memcpy(at + sizeof n, s.data(), s.size());
}

const void *Arena::make(std::string_view s) {
  constexpr size_t kBlock = 64 << 10;
  size_t need = recordSize(s.size());
  std::lock_guard<std::mutex> lock(mutex_);
  char *at;
  if (need > kBlock / 4) {
    // Large strings get a block of their own, so the current one stays in use.
    blocks_.insert(blocks_.begin(), std::unique_ptr<char[]>(new char[need]));
    at = blocks_.front().get();
  } else {
    if (used_ + need > capacity_) {
      blocks_.emplace_back(new char[kBlock]);
      used_ = 0;
      capacity_ = kBlock;
    }
    at = blocks_.back().get() + used_;
    used_ += need;
  }
  writeRecord(at, s);
  return at;
}

namespace {
thread_local Arena *current = nullptr;
} // namespace

Arena *currentArena() { return current; }

ArenaScope::ArenaScope(Arena *arena) : previous_(current) { current = arena; }
ArenaScope::~ArenaScope() { current = previous_; }

} // namespace kiln::strings
