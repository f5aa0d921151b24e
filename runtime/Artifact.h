//===- Artifact.h - .kiln files: compiled code plus its plan ---*- C++ -*-===//
//
// A .kiln file is an ELF shared object (the compiled model, weights in its
// read-only data) followed by a metadata block and a fixed-size trailer:
//
//   [shared object][metadata text][trailer: "KILNART\0", u32 format,
//    u32 reserved, u64 objectSize, u64 metadataSize, u64 checksum]
//
// The checksum covers everything before the trailer and is verified before
// the object is mapped, so a truncated or corrupted file is refused without
// running any of it. The metadata names the Kiln version that wrote it, the
// CPU features the code needs and the arguments (the execution plan).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_ARTIFACT_H
#define KILN_RUNTIME_ARTIFACT_H

#include "runtime/Executable.h"
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// The version written into artifacts and cache keys; artifacts from any
/// other version are refused.
const char *kilnVersion();

struct ArtifactInfo {
  std::string kilnVersion, compilerVersion, triple, cpu, model, key;
  /// CPU features the code was compiled to use, by the names
  /// __builtin_cpu_supports knows ("avx2", "avx512f", ...).
  std::vector<std::string> requiredFeatures;
  std::vector<ArgSpec> inputs, outputs;
};

/// The subset of `features` (LLVM "+name" spelling or plain) the runtime
/// can check on the host, as plain names.
std::vector<std::string> checkableFeatures(const std::vector<std::string> &features);

/// Host features among those the runtime can check.
std::vector<std::string> hostFeatures();

/// Writes the shared object, the weight blob its entry reads (mapped in
/// place when loaded) and `info`, checksummed.
/// Writes atomically: a temporary file beside `path`, fsync, rename.
/// Throws kiln::Error (with errno text) when it cannot.
/// `mode` is the new file's permission bits (cache entries: 0600).
void writeArtifact(const std::string &path, const std::vector<char> &sharedObject,
                   const ArtifactInfo &info, const char *weights = nullptr,
                   size_t weightsSize = 0, unsigned mode = 0644);

/// Checks an artifact held in memory (trailer, sizes, checksum, metadata,
/// Kiln version, CPU features) without loading any of its code; returns
/// its metadata. Throws kiln::Error saying why it is refused.
ArtifactInfo verifyArtifact(const char *bytes, size_t size, const std::string &what);

/// Verifies and maps an artifact. Throws kiln::Error saying why a file is
/// refused: unreadable, truncated, corrupted, another Kiln version, or
/// needing CPU features this machine lacks.
std::shared_ptr<const Executable> loadArtifact(const std::string &path,
                                               ArtifactInfo *info = nullptr);

/// 64-bit checksum used for artifacts (fast, not cryptographic).
uint64_t checksum64(const void *data, size_t size);

} // namespace kiln
#endif
