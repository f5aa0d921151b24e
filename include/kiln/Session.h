//===- kiln/Session.h - load an ONNX model, compile it, run it -*- C++ -*-===//
//
//   kiln::Session session("model.onnx", kiln::SessionOptions{}.withThreads(2));
//   auto outputs = session.run({{"input", tensor}});
//
//===----------------------------------------------------------------------===//
#ifndef KILN_SESSION_H
#define KILN_SESSION_H

#include "kiln/Tensor.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

struct SessionOptions {
  /// Worker threads for parallel loops; 0 uses every available core.
  int threads = 0;
  /// LLVM optimization level, 0..3.
  int optimizationLevel = 3;

  SessionOptions &withThreads(int n) { threads = n; return *this; }
  SessionOptions &withOptimizationLevel(int n) { optimizationLevel = n; return *this; }
};

/// A graph input or output as the model declares it.
struct TensorInfo {
  std::string name;
  ElementType type = ElementType::Float32;
  /// -1 marks a dynamic dim; `dimNames` holds its symbolic name if any.
  std::vector<int64_t> shape;
  std::vector<std::string> dimNames;
  /// False when the model gives no shape at all (rank unknown).
  bool hasShape = true;
};

/// How long creating the session took, in milliseconds.
struct CompileTimes {
  double import = 0, passes = 0, codegen = 0, total = 0;
};

/// A compiled ONNX model. Creating one parses, imports and JIT-compiles the
/// model for the host CPU; models with dynamic dims (or inputs that decide
/// shapes, such as Reshape's shape) are compiled on first use for each new
/// set of input shapes instead. `run` may be called from several threads.
class Session {
public:
  explicit Session(const std::string &modelPath, const SessionOptions &options = {});
  /// From a serialized ModelProto held in memory; `name` appears in errors.
  /// External data is refused (there is no folder to confine it to).
  Session(const void *modelBytes, size_t size, const SessionOptions &options = {},
          const std::string &name = "<memory>");
  ~Session();
  Session(Session &&) noexcept;
  Session &operator=(Session &&) noexcept;

  const std::vector<TensorInfo> &inputs() const;
  const std::vector<TensorInfo> &outputs() const;

  /// Runs the model. Every input must be given, with the declared element
  /// type, rank and static dims; throws kiln::Error otherwise.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor> &inputs) const;

  /// Time spent in the most recent compilation: at creation, or for models
  /// compiled on first use, the latest new set of input shapes.
  CompileTimes compileTimes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace kiln
#endif
