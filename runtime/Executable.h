//===- Executable.h - one compiled specialization of a model ---*- C++ -*-===//
#ifndef KILN_RUNTIME_EXECUTABLE_H
#define KILN_RUNTIME_EXECUTABLE_H

#include "kiln/Tensor.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

class ThreadPool;

struct ArgSpec {
  std::string name;
  ElementType type;
  std::vector<int64_t> shape;
};

/// Compiled code for static shapes: its entry takes one memref descriptor
/// pointer per argument (inputs, then outputs), packed as `void **` (each
/// element points to the descriptor pointer). A descriptor of rank r is
/// 2r+3 words: {allocated, aligned, offset, sizes[r], strides[r]}.
struct Executable {
  std::vector<ArgSpec> inputs, outputs;
  void (*entry)(void **) = nullptr;
  /// Keeps the code mapped (a JIT engine or a dlopen handle).
  std::shared_ptr<void> code;

  /// Runs on `pool`; `in` must hold every input by name with its shape.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor> &in,
                                    ThreadPool &pool, const std::string &modelName) const;
};

} // namespace kiln
#endif
