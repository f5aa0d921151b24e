//===- FuzzArtifact.cpp - .kiln artifact and cache entry bytes ------------===//
//
// The checks an artifact passes before any of its code is mapped: trailer,
// sizes, checksum, metadata (the plan: argument names, types, shapes),
// version and CPU features. The checksum of the bytes is recomputed first
// half of the time, as a planted file would carry a valid one, so that
// mutations reach the metadata parser.
//
//===----------------------------------------------------------------------===//
#include "kiln/Tensor.h"
#include "runtime/Artifact.h"
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<char> bytes(data, data + size);
  // The trailer's checksum field is its last 8 bytes; it covers what
  // precedes the 56-byte trailer.
  if (size >= 56 && (data[0] & 1)) {
    uint64_t sum = kiln::checksum64(bytes.data(), size - 56);
    std::memcpy(bytes.data() + size - 8, &sum, 8);
  }
  try {
    kiln::verifyArtifact(bytes.data(), bytes.size(), "fuzz");
  } catch (const kiln::Error &) {
  }
  return 0;
}
