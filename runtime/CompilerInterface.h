//===- CompilerInterface.h - how the runtime reaches the compiler -*- C++ -*-===//
//
// The runtime (kiln_runtime) runs compiled code and opens .kiln artifacts on
// its own. Opening an .onnx model needs the compiler, which lives in libkiln:
// when libkiln is loaded it registers a factory here. An application that
// links only kiln_runtime gets a clear error for .onnx files instead.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_COMPILERINTERFACE_H
#define KILN_RUNTIME_COMPILERINTERFACE_H

#include <sys/mman.h>
#include <unistd.h>
#include "kiln/Session.h"
#include "runtime/Executable.h"
#include <set>

namespace kiln::detail {

struct Compiled {
  std::shared_ptr<const Executable> executable;
  CompileReport report;
};

/// What one compilation is specialized for; all empty for a model whose
/// inputs are tensors with static shapes.
struct Specialization {
  /// Shapes of ordinary tensor inputs.
  std::map<std::string, std::vector<int64_t>> shapes;
  /// Shape-deciding inputs, compiled in as constants.
  std::map<std::string, Tensor> constants;
  /// Sequence inputs: the shapes of their tensors. The code takes the
  /// tensors of sequence "x" as inputs "x[0]", "x[1]", ...
  std::map<std::string, std::vector<std::vector<int64_t>>> sequences;
  /// Optional inputs given empty (they are not inputs of the code).
  std::set<std::string> absent;
};

/// One ONNX model, ready to be compiled for given shapes.
class ModelCompiler {
public:
  virtual ~ModelCompiler() = default;
  std::vector<TensorInfo> inputs, outputs;
  /// Inputs whose values decide shapes (compiled in as constants).
  std::set<std::string> shapeInputs;
  /// True when the code must wait for concrete input shapes.
  bool specializeOnRun = false;
  /// Why it must; empty when compiling once, with unknown dims and
  /// shape-deciding inputs read at run time, is worth a try.
  std::string perShapeReason;
  virtual Compiled compile(const Specialization &spec) = 0;
};

/// `mappedFile`: the bytes are a private, read-only mapping of the model's
/// file, whose pages a reader may drop once it is past them
/// (dropMappedPages): a large model's bytes then never all count in the
/// process's memory at once.
using CompilerFactory = std::unique_ptr<ModelCompiler> (*)(const std::string &name,
                                                           const void *bytes, size_t size,
                                                           bool mappedFile,
                                                           const SessionOptions &options);
void setCompilerFactory(CompilerFactory factory);

/// Drops the whole pages of a private file mapping that starts at `base`
/// and lie below `base + end`, from `*dropped` (updated) on. They stay in
/// the page cache: read again, they are read from the file.
inline void dropMappedPages(const void *base, size_t end, size_t *dropped) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t to = end / page * page;
  if (to > *dropped) {
    madvise(const_cast<char *>(static_cast<const char *>(base)) + *dropped, to - *dropped,
            MADV_DONTNEED);
    *dropped = to;
  }
}
/// The registered factory; null when libkiln is not loaded.
CompilerFactory compilerFactory();

} // namespace kiln::detail
#endif
