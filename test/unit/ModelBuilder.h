//===- ModelBuilder.h - small ONNX models built in C++ for tests -*- C++ -*-===//
#ifndef KILN_TEST_MODELBUILDER_H
#define KILN_TEST_MODELBUILDER_H

#include <onnx/onnx_pb.h>
#include <functional>
#include <string>
#include <vector>

namespace kiln::test {

/// Appends graph inputs, outputs, initializers and nodes to a ModelProto.
class ModelBuilder {
public:
  explicit ModelBuilder(int64_t opset = 21);
  /// dims: >= 0 static, -1 symbolic (named by `dimNames`).
  ModelBuilder &input(const std::string &name, int elemType, std::vector<int64_t> dims,
                      std::vector<std::string> dimNames = {});
  ModelBuilder &output(const std::string &name, int elemType);
  ModelBuilder &initializer(const std::string &name, std::vector<int64_t> dims,
                            std::vector<float> values);
  /// A float initializer whose data lives in `location` (relative to the
  /// model's folder), optionally at `offset`.
  ModelBuilder &externalInitializer(const std::string &name, std::vector<int64_t> dims,
                                    const std::string &location,
                                    const std::string &offset = "");
  onnx::NodeProto &node(const std::string &opType, std::vector<std::string> inputs,
                        std::vector<std::string> outputs, const std::string &name = "");
  std::string bytes() const;
  onnx::ModelProto &model() { return model_; }

private:
  onnx::ModelProto model_;
};

/// `n` deterministic values in [-scale, scale], smooth and without
/// repeats: test weights and inputs.
std::vector<float> testValues(size_t n, float scale);

/// Runs `fn` and checks it throws kiln::Error whose message contains
/// `fragment` (a gtest failure otherwise).
void expectError(const std::function<void()> &fn, const std::string &fragment);

} // namespace kiln::test
#endif
