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

} // namespace

void importAndCompile(const uint8_t *data, size_t size) {
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
    // Compiled now, with the dims the model leaves unknown kept unknown
    // (nothing runs to give them values).
    options.specializeShapes = false;
    options.limits = fuzzLimits();
    Session session(data, size, options, "fuzz");
  } catch (const Error &) {
  }
}

} // namespace kiln::fuzz
