//===- Strings.h - how string elements live in buffers ---------*- C++ -*-===//
//
// A string tensor's buffer holds one pointer per element, so compiled code
// moves strings (Reshape, Gather, Transpose, Concat ...) exactly as it
// moves 8-byte numbers. An element points to a record: the byte count as
// an int64 (native byte order, possibly unaligned), then the bytes. A null
// element is the empty string.
//
// Records never move while a run uses them: inputs' records belong to their
// Tensors, constants' to the compiled code's read-only data, and records
// host kernels make belong to the run's Arena, which the runtime frees
// after copying the outputs into Tensors of their own.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_STRINGS_H
#define KILN_RUNTIME_STRINGS_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace kiln::strings {

/// The string element `element` points to.
std::string_view view(const void *element);
/// Bytes a record of `n` bytes takes in a packed sequence (8-byte steps).
inline size_t recordSize(size_t n) { return (sizeof(int64_t) + n + 7) / 8 * 8; }
/// Writes the record of `s` at `at` (recordSize(s.size()) bytes).
void writeRecord(char *at, std::string_view s);

/// Where a run's host kernels put the strings they make. Thread-safe:
/// parallel loops of the same run share it.
class Arena {
public:
  const void *make(std::string_view s);

private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0, capacity_ = 0;
};

/// The arena of the run this thread works for, or null outside runs.
Arena *currentArena();

/// Makes `arena` the current one on this thread for its lifetime.
class ArenaScope {
public:
  explicit ArenaScope(Arena *arena);
  ~ArenaScope();
  ArenaScope(const ArenaScope &) = delete;
  ArenaScope &operator=(const ArenaScope &) = delete;

private:
  Arena *previous_;
};

} // namespace kiln::strings
#endif
