//===- OnnxCompiler.cpp - the compiler behind kiln::Session for .onnx -----===//
#include "jit/Compiler.h"
#include "jit/KernelCache.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerInterface.h"
#include "frontend/TensorProto.h"
#include <onnx/onnx_pb.h>
#include <chrono>
#include <cstring>
#include <unistd.h>
#include "llvm/Config/llvm-config.h"

namespace kiln {
namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

TensorInfo describeValue(const onnx::ValueInfoProto &v, const std::string &model) {
  TensorInfo info;
  info.name = v.name();
  const onnx::TypeProto *type = &v.type();
  if (type->has_optional_type()) {
    info.optional = true;
    type = &type->optional_type().elem_type();
  }
  if (type->has_sequence_type()) {
    info.sequence = true;
    type = &type->sequence_type().elem_type();
  }
  if (!type->has_tensor_type())
    throw Error("model '" + model + "': '" + v.name() + "' is " +
                (type->has_map_type() ? "a map" : type->has_sparse_tensor_type()
                                                       ? "a sparse tensor"
                                                       : "of an unknown or nested kind") +
                " (graph inputs and outputs may be tensors, sequences of tensors and "
                "optionals of those)");
  const auto &tt = type->tensor_type();
  auto t = fromOnnxType(tt.elem_type());
  if (!t)
    throw Error("model '" + model + "': '" + v.name() + "' has element type " +
                onnxTypeName(tt.elem_type()) + ", which is not supported");
  info.type = *t;
  info.hasShape = tt.has_shape();
  for (const auto &d : tt.shape().dim()) {
    info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    info.dimNames.push_back(d.has_dim_param() ? d.dim_param() : "");
  }
  return info;
}

class OnnxCompiler : public detail::ModelCompiler {
public:
  OnnxCompiler(const std::string &name, const void *bytes, size_t size, bool mappedFile,
               const SessionOptions &options)
      : name(name), options(options) {
    // The bytes are not kept: the cache key needs only their digest.
    if (!options.cacheDirectory.empty())
      digest = modelDigest(bytes, size, mappedFile);
    parseModel(bytes, size, name, model, mappedFile);
    std::set<std::string> initializers;
    for (const auto &i : model.graph().initializer())
      initializers.insert(i.name());
    for (const auto &in : model.graph().input())
      if (!initializers.count(in.name()))
        inputs.push_back(describeValue(in, name));
    for (const auto &out : model.graph().output())
      outputs.push_back(describeValue(out, name));
    shapeInputs = shapeDefiningInputs(model.graph());
    // Inputs that decide shapes are first tried as run-time data too.
    specializeOnRun = !shapeInputs.empty();
    for (const auto &in : inputs) {
      if ((in.sequence || in.optional) && perShapeReason.empty())
        perShapeReason = "input '" + in.name + "' is " +
                         (in.sequence ? "a sequence, compiled for the number and shapes of "
                                        "its tensors"
                                      : "optional, compiled for it given or empty");
      specializeOnRun |= in.sequence || in.optional;
      specializeOnRun |= !in.hasShape;
      if (!in.hasShape && perShapeReason.empty())
        perShapeReason = "input '" + in.name + "' has no declared rank";
      for (int64_t d : in.shape)
        specializeOnRun |= d < 0;
    }
    // Report unsupported ops now, not at the first run.
    checkOpsSupported(model, name);
  }

  detail::Compiled compile(const detail::Specialization &sp) override {
    detail::Compiled c = compileOrLoad(sp);
    shareWeights(c.executable);
    return c;
  }

private:
  /// Shape variants of one model read the same weights: a blob equal to
  /// one an earlier variant still holds is replaced by that one.
  void shareWeights(std::shared_ptr<const Executable> &exe) {
    if (!exe->weights)
      return;
    uint64_t sum = checksum64(exe->weights.get(), exe->weightsSize);
    for (auto it = blobs.begin(); it != blobs.end();) {
      auto held = it->blob.lock();
      if (!held) {
        it = blobs.erase(it);
        continue;
      }
      if (it->checksum == sum && it->size == exe->weightsSize &&
          std::memcmp(held.get(), exe->weights.get(), exe->weightsSize) == 0) {
        auto shared = std::make_shared<Executable>(*exe);
        shared->weights = held;
        exe = shared;
        return;
      }
      ++it;
    }
    blobs.push_back({exe->weights, exe->weightsSize, sum});
  }

  detail::Compiled compileOrLoad(const detail::Specialization &sp) {
    auto start = std::chrono::steady_clock::now();
    ImportOptions io;
    io.modelPath = name;
    io.limits = options.limits;
    io.inputShapes = sp.shapes;
    io.constantInputs = sp.constants;
    io.sequenceInputs = sp.sequences;
    io.absentInputs = sp.absent;
    // A model compiled once for all its runs is not needed afterwards.
    bool last = !specializeOnRun;
    io.releaseInitializerData = last;
    struct Drop {
      onnx::ModelProto &model;
      bool last;
      ~Drop() {
        if (last)
          model.Clear();
      }
    } drop{model, last};
    CodegenOptions cg;
    cg.optimizationLevel = options.optimizationLevel;
    cg.threads = options.threads;
    std::string cacheDir = options.cacheDirectory;
    if (!cacheDir.empty()) {
      std::string why = makeDirectories(cacheDir) ? untrustedReason(cacheDir)
                                                  : "cannot be created";
      if (!why.empty()) {
        warn("not using the kernel cache folder '" + cacheDir + "': it " + why);
        cacheDir.clear();
      }
    }
    if (cacheDir.empty()) {
      CompiledModel m = compileModel(model, io, cg);
      m.report.cache = "off";
      return {m.executable, m.report};
    }

    std::string spec;
    auto addShape = [&](const std::vector<int64_t> &shape) {
      for (int64_t d : shape)
        spec += std::to_string(d) + ",";
      spec += ";";
    };
    for (const auto &kv : sp.shapes) {
      spec += kv.first + ":";
      addShape(kv.second);
    }
    for (const auto &kv : sp.sequences) {
      spec += kv.first + "=seq" + std::to_string(kv.second.size()) + ":";
      for (const auto &shape : kv.second)
        addShape(shape);
    }
    for (const auto &name : sp.absent)
      spec += name + "=none;";
    for (const auto &kv : sp.constants) {
      spec += kv.first + "=" + kv.second.describe() + ":";
      spec.append(static_cast<const char *>(kv.second.data()), kv.second.byteSize());
      spec += ";";
    }
    CacheKey key = makeCacheKey(digest, options.optimizationLevel, "", spec);
    std::string path = cacheEntryPath(cacheDir, key);
    CompileReport report;
    report.cacheKey = key.hex;
    report.cacheKeyParts = key.parts;
    if (access(path.c_str(), F_OK) == 0) {
      try {
        if (std::string why = untrustedReason(path); !why.empty())
          throw Error("'" + path + "' " + why);
        auto exe = loadArtifact(path);
        touchCacheEntry(path);
        report.cache = "hit";
        report.load = report.total = msSince(start);
        return {exe, report};
      } catch (const Error &e) {
        warn(std::string("ignoring cache entry: ") + e.what() + "; recompiling");
      }
    }
    cg.keepObject = true;
    CompiledModel m = compileModel(model, io, cg);
    m.report.cache = "miss";
    m.report.cacheKey = key.hex;
    m.report.cacheKeyParts = key.parts;
    try {
      writeCompiledArtifact(m, name, key.hex, path, 0600);
      evictCacheEntries(cacheDir, options.cacheMaxBytes);
    } catch (const Error &e) {
      warn(std::string("cache entry not stored, compiled in memory only: ") + e.what());
    }
    m.report.total = msSince(start);
    return {m.executable, m.report};
  }

  struct Blob {
    std::weak_ptr<const char> blob;
    size_t size;
    uint64_t checksum;
  };
  std::vector<Blob> blobs;
  std::string name, digest;
  SessionOptions options;
  onnx::ModelProto model;
};

std::unique_ptr<detail::ModelCompiler> makeCompiler(const std::string &name, const void *bytes,
                                                    size_t size, bool mappedFile,
                                                    const SessionOptions &options) {
  return std::make_unique<OnnxCompiler>(name, bytes, size, mappedFile, options);
}

/// Loading libkiln makes ONNX models openable by kiln::Session.
struct Registration {
  Registration() { detail::setCompilerFactory(makeCompiler); }
} registration;

} // namespace
} // namespace kiln
