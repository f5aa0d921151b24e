//===- Compiler.h - ONNX model -> compiled entry point ---------*- C++ -*-===//
#ifndef KILN_JIT_COMPILER_H
#define KILN_JIT_COMPILER_H

#include "frontend/Importer.h"
#include "kiln/Session.h"
#include "runtime/Executable.h"
#include <memory>

namespace kiln {

struct CodegenOptions {
  int optimizationLevel = 3;
  /// Empty: the host CPU with all its features.
  std::string targetCpu;
  /// Keep the relocatable objects the JIT linked (for caches and artifacts).
  bool keepObject = false;
  /// Threads LLVM code generation may use (0: every core).
  int threads = 0;
};

struct CompiledModel {
  std::shared_ptr<Executable> executable; // null when targetCpu is not the host
  CompileReport report;
  std::vector<std::vector<char>> objects; // with keepObject
  std::string triple, cpu;
  /// CPU features the code may use, by runtime-checkable name.
  std::vector<std::string> requiredFeatures;
};

/// Throws kiln::Error naming the model, node and op on any failure.
CompiledModel compileModel(const onnx::ModelProto &model, const ImportOptions &import,
                           const CodegenOptions &options);

/// The triple, CPU name and feature string code is generated for.
struct TargetDescription {
  std::string triple, cpu, features;
  bool isHost = true; // code for this machine: loaded and run here
};
TargetDescription describeTarget(const std::string &targetCpu);

/// Links the object of `model` (compiled with keepObject) and writes it as
/// a .kiln artifact at `path`. Throws kiln::Error.
void writeCompiledArtifact(const CompiledModel &model, const std::string &modelName,
                           const std::string &key, const std::string &path,
                           unsigned mode = 0644);

/// Links relocatable objects into one shared object with the system C
/// compiler driver (`cc -shared`). Throws kiln::Error.
std::vector<char> linkSharedObject(const std::vector<std::vector<char>> &objects);

} // namespace kiln
#endif
