//===- FuzzTargets.cpp - what the fuzz targets exercise -------------------===//
#include "FuzzTargets.h"
#include "frontend/Importer.h"
#include "kiln/Session.h"
#include "mlir/IR/MLIRContext.h"
#include <onnx/onnx_pb.h>
#include <cstring>

namespace kiln::fuzz {

namespace {
/// Limits small enough that a fuzzed model cannot make one execution slow.
Limits fuzzLimits() {
  Limits l;
  l.maxTensorBytes = 64 << 20;
  l.maxWeightBytes = 64 << 20;
  l.maxNodes = 200;
  l.maxNestingDepth = 8;
  l.maxAllocationBytes = 64 << 20;
  l.maxLoopIterations = 10000;
  return l;
}

/// Graph inputs fixed and small enough to run with generated values.
bool runnable(const Session &s) {
  for (const TensorInfo &in : s.inputs()) {
    if (in.sequence || !in.hasShape || in.type == ElementType::String)
      return false;
    int64_t n = 1;
    for (int64_t d : in.shape)
      if (d < 0 || (n *= d) > 4096)
        return false;
  }
  return true;
}
} // namespace

void importCompileRun(const uint8_t *data, size_t size) {
  onnx::ModelProto model;
  try {
    parseModel(data, size, "fuzz", model);
    ImportOptions io;
    io.modelPath = "";
    io.limits = fuzzLimits();
    mlir::MLIRContext context;
    auto module = importModel(model, context, io);
    (void)module;
  } catch (const Error &) {
    return;
  }
  // Compiling takes milliseconds to seconds: only for a few nodes.
  if (model.graph().node_size() > 3)
    return;
  try {
    SessionOptions options;
    options.threads = 1;
    options.limits = fuzzLimits();
    Session session(data, size, options, "fuzz");
    if (!runnable(session))
      return;
    std::map<std::string, Tensor> inputs;
    for (const TensorInfo &in : session.inputs()) {
      Tensor t(in.type, in.shape);
      if (t.byteSize())
        std::memset(t.data(), 0, t.byteSize());
      inputs.emplace(in.name, std::move(t));
    }
    session.run(inputs);
  } catch (const Error &) {
  }
}

} // namespace kiln::fuzz
