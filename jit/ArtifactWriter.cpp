//===- ArtifactWriter.cpp - ONNX model -> .kiln artifact ------------------===//
#include "jit/ArtifactWriter.h"
#include "jit/Compiler.h"
#include "runtime/Artifact.h"
#include "llvm/Config/llvm-config.h"
#include <onnx/onnx_pb.h>
#include <chrono>
#include <set>
#include <fstream>

namespace kiln {

ArtifactSummary writeModelArtifact(const std::string &modelPath, const std::string &outPath,
                                   const ArtifactOptions &options) {
  auto start = std::chrono::steady_clock::now();
  std::ifstream in(modelPath, std::ios::binary);
  if (!in)
    throw Error("model '" + modelPath + "': cannot open the file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  onnx::ModelProto model;
  parseModel(bytes.data(), bytes.size(), modelPath, model);

  ImportOptions io;
  io.modelPath = modelPath;
  std::set<std::string> initializers;
  for (const auto &i : model.graph().initializer())
    initializers.insert(i.name());
  auto shapeInputs = shapeDefiningInputs(model.graph());
  for (const auto &v : model.graph().input()) {
    if (initializers.count(v.name()))
      continue;
    if (shapeInputs.count(v.name()))
      throw Error("model '" + modelPath + "': input '" + v.name() +
                  "' decides output shapes at run time; an artifact needs it to be an "
                  "initializer");
    std::vector<int64_t> shape;
    for (const auto &d : v.type().tensor_type().shape().dim()) {
      if (d.has_dim_value()) {
        shape.push_back(d.dim_value());
        continue;
      }
      auto it = options.dims.find(d.dim_param());
      shape.push_back(it != options.dims.end() ? it->second : 1);
    }
    io.inputShapes[v.name()] = shape;
  }

  CodegenOptions cg;
  cg.optimizationLevel = options.optimizationLevel;
  cg.targetCpu = options.targetCpu;
  cg.threads = options.threads;
  cg.keepObject = true;
  CompiledModel m = compileModel(model, io, cg);
  writeCompiledArtifact(m, modelPath, "", outPath);
  ArtifactSummary summary;
  std::ifstream out(outPath, std::ios::binary | std::ios::ate);
  summary.bytes = out.tellg();
  summary.cpu = m.cpu;
  summary.compileMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

} // namespace kiln
