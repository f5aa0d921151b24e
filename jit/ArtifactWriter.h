//===- ArtifactWriter.h - ONNX model -> .kiln artifact ---------*- C++ -*-===//
#ifndef KILN_JIT_ARTIFACTWRITER_H
#define KILN_JIT_ARTIFACTWRITER_H

#include <cstdint>
#include <map>
#include <string>

namespace kiln {

struct ArtifactOptions {
  /// Empty or "native": the host CPU and its features.
  std::string targetCpu;
  int optimizationLevel = 3;
  /// Values for symbolic dims (by dim_param name); unnamed or unlisted → 1.
  std::map<std::string, int64_t> dims;
  /// Threads LLVM code generation may use (0: every core).
  int threads = 0;
};

struct ArtifactSummary {
  uint64_t bytes = 0;
  double compileMs = 0;
  std::string cpu;
};

/// Compiles `modelPath` for static shapes and writes one self-contained
/// artifact. Throws kiln::Error.
ArtifactSummary writeModelArtifact(const std::string &modelPath, const std::string &outPath,
                                   const ArtifactOptions &options);

} // namespace kiln
#endif
