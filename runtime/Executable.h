//===- Executable.h - one compiled specialization of a model ---*- C++ -*-===//
#ifndef KILN_RUNTIME_EXECUTABLE_H
#define KILN_RUNTIME_EXECUTABLE_H

#include "kiln/Tensor.h"
#include "runtime/Allocation.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

class ThreadPool;
namespace profile {
class Recorder;
}

struct ArgSpec {
  std::string name;
  ElementType type;
  std::vector<int64_t> shape;
};

/// Compiled code. A descriptor of rank r is 2r+3 words: {allocated,
/// aligned, offset, sizes[r], strides[r]}; the entry takes its arguments
/// packed as `void **`, each element pointing to the argument.
///
/// When every output shape is known (no -1 in `outputs`), the arguments
/// are one descriptor pointer per input, then one per output: the runtime
/// allocates the outputs and the code writes into them.
///
/// Otherwise (`returnsOutputs()`), output sizes are computed by the code
/// itself: the first argument points to a block of output descriptors,
/// back to back, that the code fills; each output buffer was allocated by
/// the code with malloc and belongs to the caller from then on (the code
/// copies rather than return an input or a constant). Inputs follow, one
/// descriptor pointer each, with the shapes of the tensors given.
///
/// The last argument is always the weight blob, as a 1-D i8 descriptor:
/// the constants the code reads (initializers, folded and pre-packed
/// weights), each at a 64-byte aligned offset chosen by the compiler.
///
/// Compiled code takes and returns tensors only. A graph input or output
/// that is a sequence "x" is its tensors "x[0]", "x[1]", ...; an empty
/// sequence output is one empty marker result "x[]" (so that it differs
/// from an empty optional, which is no argument or result at all).
struct Executable {
  std::vector<ArgSpec> inputs, outputs; // -1: a dim known only at run time
  bool returnsOutputs() const;
  void (*entry)(void **) = nullptr;
  /// Keeps the code mapped (a JIT engine or a dlopen handle).
  std::shared_ptr<void> code;
  /// The weight blob (64-byte aligned, read-only), shared by every shape
  /// variant of a session; null when the code reads no weights.
  std::shared_ptr<const char> weights;
  size_t weightsSize = 0;
  /// The buffers its runs freed, for its next runs.
  std::shared_ptr<BlockCache> blocks = std::make_shared<BlockCache>();

  /// Runs on `pool` within `limits`; `in` must hold every input by name
  /// with its shape. With a recorder, the run and each parallel kernel
  /// become events.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor> &in,
                                    ThreadPool &pool, const std::string &modelName,
                                    const RunLimits &limits = {},
                                    profile::Recorder *recorder = nullptr) const;
  /// The same by position: `in[i]` is input i of `inputs`; `outs` comes
  /// back with output i of `outputs` at i. A tensor the caller left at i
  /// with that output's type and shape receives it (the code writes into
  /// it); any other is replaced by a new tensor.
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor> &outs, ThreadPool &pool,
           const std::string &modelName, const RunLimits &limits = {},
           profile::Recorder *recorder = nullptr) const;
};

inline std::string sequenceItemName(const std::string &name, size_t index) {
  return name + "[" + std::to_string(index) + "]";
}
inline std::string emptySequenceName(const std::string &name) { return name + "[]"; }

} // namespace kiln
#endif
