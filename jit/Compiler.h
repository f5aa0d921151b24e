//===- Compiler.h - ONNX model -> JIT-compiled entry point -----*- C++ -*-===//
#ifndef KILN_JIT_COMPILER_H
#define KILN_JIT_COMPILER_H

#include "frontend/Importer.h"
#include "kiln/Session.h"
#include <memory>

namespace kiln {

/// One compiled specialization of a model: static shapes for every
/// argument. The entry takes one memref descriptor pointer per argument
/// (inputs, then outputs), packed as `void **` (each element points to the
/// descriptor pointer). A descriptor of rank r is r*2+3 words:
/// {allocated, aligned, offset, sizes[r], strides[r]}.
struct CompiledModel {
  struct Arg {
    std::string name;
    ElementType type;
    std::vector<int64_t> shape;
  };
  std::vector<Arg> inputs, outputs;
  void (*entry)(void **) = nullptr;
  CompileTimes times;
  std::shared_ptr<void> engine; // keeps the code alive
};

/// Throws kiln::Error naming the model, node and op on any failure.
CompiledModel compileModel(const onnx::ModelProto &model, const ImportOptions &import,
                           const SessionOptions &options);

} // namespace kiln
#endif
