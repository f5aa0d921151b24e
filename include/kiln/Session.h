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

/// Bounds that keep a model (possibly hostile) from exhausting the process.
/// Each is checked before the work or memory is committed; going past one
/// is a kiln::Error that names the node, never a crash.
struct Limits {
  /// Largest tensor a model may declare, hold as a weight or compute, in
  /// bytes (checked when compiling, where shapes are known then).
  uint64_t maxTensorBytes = 8ULL << 30;
  /// Sum of the bytes of the model's initializers and constants.
  uint64_t maxWeightBytes = 32ULL << 30;
  /// Nodes in the graph, those of its subgraphs included.
  uint64_t maxNodes = 1000000;
  /// How deep If, Loop and Scan bodies may nest.
  int maxNestingDepth = 64;
  /// Largest buffer compiled code may allocate at once while it runs.
  uint64_t maxAllocationBytes = 16ULL << 30;
  /// Bytes of the buffers compiled code holds at once while it runs.
  uint64_t maxWorkspaceBytes = 32ULL << 30;
  /// Loop iterations one run may execute, over all its loops (a loop that
  /// ends early by its condition counts only the iterations it ran); 0: no
  /// bound.
  uint64_t maxLoopIterations = 1ULL << 26;
  /// Wall time one compilation (session creation, or a shape compiled on
  /// first use) may take, in milliseconds; 0: no bound.
  uint64_t maxCompileMilliseconds = 600000;
  /// How much one compilation may grow the process's resident memory, in
  /// bytes; 0: no bound.
  uint64_t maxCompileBytes = 8ULL << 30;
};

struct SessionOptions {
  /// Worker threads for parallel loops; 0 uses every available core.
  int threads = 0;
  /// LLVM optimization level, 0..3: 0 leaves the IR unoptimized (fastest
  /// to compile); from 1 on, Kiln's own pipeline by kernel kind (see
  /// jit/ObjectCode.cpp); the level also sets instruction selection's.
  int optimizationLevel = 3;

  /// Kernel cache folder; empty (the default) turns the cache off. Entries
  /// are keyed by everything that changes the code: model bytes, codegen
  /// options, Kiln and LLVM versions, target triple, CPU and its features,
  /// and the input shapes the code was specialized for.
  std::string cacheDirectory;
  /// Size bound of the cache folder; least recently used entries go first.
  uint64_t cacheMaxBytes = 4ULL << 30;
  /// When set, the session writes a Chrome trace (chrome://tracing,
  /// Perfetto) to this path when it is destroyed: the phases of its
  /// creation, each run, and each kernel of a run (parallel or serial),
  /// named by the ONNX nodes it computes, on the thread that ran it.
  std::string profilePath;
  /// Dims the model leaves unknown, and the values of inputs that decide
  /// shapes, are compiled in from the inputs of the first run, so a model
  /// with a symbolic batch runs code specialized for the batch it is given.
  /// Runs with other shapes use code compiled with those dims unknown,
  /// compiled when first needed. False compiles only the latter, when the
  /// session is created.
  bool specializeShapes = true;
  Limits limits;

  SessionOptions &withThreads(int n) { threads = n; return *this; }
  SessionOptions &withOptimizationLevel(int n) { optimizationLevel = n; return *this; }
  SessionOptions &withCacheDirectory(std::string dir) { cacheDirectory = std::move(dir); return *this; }
  SessionOptions &withProfile(std::string path) { profilePath = std::move(path); return *this; }
  SessionOptions &withLimits(const Limits &l) { limits = l; return *this; }
  SessionOptions &withSpecializeShapes(bool on) { specializeShapes = on; return *this; }
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
  /// A sequence of tensors; `type` and `shape` describe each of them.
  bool sequence = false;
  /// May be given or returned empty (OnnxValue::none()).
  bool optional = false;
};

/// Where the code of the most recent compilation came from and what it
/// cost, in milliseconds.
struct CompileReport {
  double import = 0, passes = 0, codegen = 0, load = 0, total = 0;
  /// Within codegen: LLVM optimization and instruction selection, summed
  /// over the threads that compiled parts of the module in parallel.
  double optimize = 0, emit = 0;
  /// "off" (no cache), "miss" (compiled, then stored), "hit" (loaded from
  /// the cache) or "artifact" (a .kiln file).
  std::string cache = "off";
  /// The cache key and the parts it was formed from, one per line.
  std::string cacheKey, cacheKeyParts;
  /// How the code treats input shapes: "fixed" (the model gives every dim),
  /// "specialized" (compiled for the shapes and shape-deciding values of
  /// the first run, see SessionOptions::specializeShapes), "dynamic"
  /// (compiled once; dims the model leaves unknown, and inputs that decide
  /// shapes, are read when it runs) or "per-shape" (compiled again for each
  /// new set of input shapes and shape-deciding values, `perShapeReason`
  /// says why).
  std::string shapes = "fixed";
  std::string perShapeReason;
};

/// Memory a session's compiled code uses.
struct MemoryReport {
  /// The weight blob (one for every shape variant of the session).
  size_t weightsBytes = 0;
  /// The most bytes of intermediate buffers one run has held at once, over
  /// the runs so far. Runs keep these buffers for the next run.
  size_t workspaceBytes = 0;
};

/// A compiled ONNX model. Creating one parses, imports and JIT-compiles the
/// model for the host CPU. A model that leaves dims unknown, or whose
/// inputs decide shapes (such as Reshape's shape), is compiled at its first
/// run for the shapes given there, and once more, when first needed, with
/// those dims unknown and read from the inputs at each run (see
/// SessionOptions::specializeShapes); a model whose ops cannot be compiled
/// that way is compiled for each new set of input shapes instead (see
/// CompileReport::shapes). A path ending in ".kiln" opens an artifact
/// written by kiln-compile, which needs only the kiln_runtime library.
/// `run` may be called from several threads.
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
  /// type, rank and static dims; throws kiln::Error otherwise, and for a
  /// model with sequence or optional inputs or outputs (see runValues).
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor> &inputs) const;

  /// Runs the model with its inputs and outputs bound by position, in the
  /// order of inputs() and outputs(), as ONNX Runtime's IO binding: no
  /// names are looked up. `outputs` comes back with one tensor per output;
  /// a tensor the caller leaves at position i with that output's type and
  /// shape (the one the last run returned, say) is written in place, so
  /// runs after the first allocate no output memory. Any other entry, or
  /// one sharing its bytes with an input, is replaced by a new tensor. The
  /// same models as run() (tensor inputs and outputs only).
  void run(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const;

  /// Runs a model with sequence or optional inputs or outputs (or any
  /// other). Compiled code takes and returns tensors only: a sequence input
  /// is compiled for the number and shapes of its tensors, an optional one
  /// for being given or empty, each new combination on first use.
  std::map<std::string, OnnxValue> runValues(const std::map<std::string, OnnxValue> &inputs) const;

  /// The most recent compilation: at creation, or for models compiled on
  /// first use, the latest new set of input shapes.
  CompileReport compileReport() const;
  MemoryReport memoryReport() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace kiln
#endif
