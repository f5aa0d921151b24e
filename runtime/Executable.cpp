//===- Executable.cpp - calling compiled code -----------------------------===//
#include "runtime/Executable.h"
#include "runtime/Allocation.h"
#include "runtime/ParallelFor.h"
#include "runtime/Profile.h"
#include "runtime/Strings.h"
#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace kiln {

static std::string shapeString(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return r + "]";
}

bool Executable::returnsOutputs() const {
  for (const ArgSpec &a : outputs)
    for (int64_t d : a.shape)
      if (d < 0)
        return true;
  return false;
}

/// Contiguous row-major descriptor of `shape` at `data`.
static std::vector<int64_t> descriptor(void *data, const std::vector<int64_t> &shape) {
  int64_t r = shape.size();
  std::vector<int64_t> d(3 + 2 * r);
  d[0] = d[1] = reinterpret_cast<int64_t>(data);
  int64_t stride = 1;
  for (int64_t k = r - 1; k >= 0; --k) {
    d[3 + k] = shape[k];
    d[3 + r + k] = stride;
    stride *= shape[k];
  }
  return d;
}

/// A string output as the code left it (element pointers into inputs,
/// constants or the run's arena) made a Tensor owning its strings.
static Tensor ownStrings(const std::vector<int64_t> &shape, const void *const *elements) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<std::string> values;
  values.reserve(n);
  for (int64_t i = 0; i < n; ++i)
    values.emplace_back(strings::view(elements[i]));
  return Tensor::fromStrings(shape, values);
}

static bool matches(const std::vector<int64_t> &shape, const std::vector<int64_t> &compiled) {
  if (shape.size() != compiled.size())
    return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (compiled[i] >= 0 && shape[i] != compiled[i])
      return false;
  return true;
}

std::map<std::string, Tensor> Executable::run(const std::map<std::string, Tensor> &in,
                                              ThreadPool &pool, const std::string &modelName,
                                              const RunLimits &limits,
                                              profile::Recorder *recorder) const {
  std::vector<const Tensor *> args;
  for (const ArgSpec &arg : inputs) {
    auto it = in.find(arg.name);
    if (it == in.end())
      throw Error("model '" + modelName + "': missing input '" + arg.name + "'");
    args.push_back(&it->second);
  }
  std::vector<Tensor> outs;
  run(args, outs, pool, modelName, limits, recorder);
  std::map<std::string, Tensor> results;
  for (size_t i = 0; i < outs.size(); ++i)
    results.emplace(outputs[i].name, std::move(outs[i]));
  return results;
}

/// Whether `t` can receive output `arg` as it is: a tensor of its type and
/// shape (not a string tensor, whose elements the run makes).
static bool receives(const Tensor &t, const ArgSpec &arg) {
  return arg.type != ElementType::String && t.type() == arg.type && t.data() &&
         t.shape() == arg.shape;
}

void Executable::run(const std::vector<const Tensor *> &in, std::vector<Tensor> &outs,
                     ThreadPool &pool, const std::string &modelName, const RunLimits &limits,
                     profile::Recorder *recorder) const {
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ArgSpec &arg = inputs[i];
    const Tensor &t = *in[i];
    if (t.type() != arg.type || !matches(t.shape(), arg.shape))
      throw Error("model '" + modelName + "': input '" + arg.name + "' is " + t.describe() +
                  ", compiled for " + elementTypeName(arg.type) + shapeString(arg.shape));
    // Compiled code treats inputs as read-only (bufferization.writable = false).
    descriptors.push_back(descriptor(const_cast<void *>(t.data()), t.shape()));
  }
  bool returned = returnsOutputs();
  // Tensors the caller bound to the outputs, where they can receive them.
  std::vector<Tensor> bound = std::move(outs);
  bound.resize(outputs.size());
  outs.clear();
  std::vector<int64_t> block; // output descriptors the code fills
  if (returned) {
    size_t words = 0;
    for (const ArgSpec &arg : outputs)
      words += 3 + 2 * arg.shape.size();
    block.assign(words, 0);
  } else {
    // Outputs of static shape are allocated here, not by the code: the
    // same bounds as the code's own buffers.
    uint64_t held = 0;
    for (const ArgSpec &arg : outputs) {
      uint64_t bytes = elementSize(arg.type);
      for (int64_t d : arg.shape)
        bytes *= uint64_t(d);
      if (bytes > limits.maxAllocationBytes)
        throw Error("model '" + modelName + "': output '" + arg.name + "' asked for " +
                    std::to_string(bytes) + " bytes at once, more than the limit of " +
                    std::to_string(limits.maxAllocationBytes) +
                    " bytes (Limits::maxAllocationBytes)");
      held += bytes;
      if (held > limits.maxWorkspaceBytes)
        throw Error("model '" + modelName + "': the outputs would hold more than " +
                    std::to_string(limits.maxWorkspaceBytes) +
                    " bytes of buffers at once (Limits::maxWorkspaceBytes)");
    }
    outs.reserve(outputs.size());
    // A bound tensor that shares its bytes with an input, or with an
    // output before it, would be read or written twice: not bound.
    std::vector<const void *> taken;
    for (const Tensor *t : in)
      taken.push_back(t->data());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const ArgSpec &arg = outputs[i];
      if (receives(bound[i], arg) &&
          std::find(taken.begin(), taken.end(), bound[i].data()) == taken.end()) {
        outs.push_back(bound[i]); // written in place
        taken.push_back(bound[i].data());
      } else {
        outs.emplace_back(arg.type, arg.shape);
      }
      descriptors.push_back(descriptor(outs.back().data(), arg.shape));
    }
  }
  std::vector<int64_t> weightsDescriptor{0, reinterpret_cast<int64_t>(weights.get()), 0,
                                         static_cast<int64_t>(weightsSize), 1};
  weightsDescriptor[0] = weightsDescriptor[1];
  descriptors.push_back(std::move(weightsDescriptor));
  std::vector<void *> descriptorPointers, packed;
  if (returned)
    descriptorPointers.push_back(block.data());
  for (auto &d : descriptors)
    descriptorPointers.push_back(d.data());
  for (void *&p : descriptorPointers)
    packed.push_back(&p);
  strings::Arena arena; // outlives the copies of string outputs below
  RunOutcome outcome;
  // Buffers the code returns as outputs stay; whatever else it still held
  // at its end is freed.
  struct Returned {
    const std::vector<int64_t> &block;
    const std::vector<ArgSpec> &outputs;
  } returnedOutputs{block, outputs};
  auto isOutput = [](void *p, void *context) {
    auto *r = static_cast<Returned *>(context);
    size_t at = 0;
    for (const ArgSpec &arg : r->outputs) {
      if (reinterpret_cast<void *>(r->block[at]) == p)
        return true;
      at += 3 + 2 * arg.shape.size();
    }
    return false;
  };
  pool.run([&] {
    strings::ArenaScope scope(&arena);
    profile::Scope profiling(recorder);
    double start = recorder ? recorder->nowUs() : 0;
    outcome = callGuarded(entry, packed.data(), limits, returned ? +isOutput : nullptr,
                          &returnedOutputs, blocks.get());
    if (recorder)
      recorder->add({"run", "run", start, recorder->nowUs() - start, profile::threadIndex()});
  });
  if (outcome.failed())
    throw Error("model '" + modelName + "': " + outcome.failure);
  if (returned) {
    // Take every buffer first, so none leaks when one is refused.
    // Each buffer once: outputs are copied out below, so two that share
    // one (kiln-distinct-results prevents it) would still be read right.
    std::vector<std::unique_ptr<void, void (*)(void *)>> owned;
    size_t at = 0;
    for (const ArgSpec &arg : outputs) {
      void *p = reinterpret_cast<void *>(block[at]);
      if (std::none_of(owned.begin(), owned.end(), [&](const auto &o) { return o.get() == p; }))
        owned.emplace_back(p, std::free);
      at += 3 + 2 * arg.shape.size();
    }
    at = 0;
    for (const ArgSpec &arg : outputs) {
      int64_t r = arg.shape.size();
      const int64_t *d = block.data() + at;
      at += 3 + 2 * r;
      std::vector<int64_t> shape(d + 3, d + 3 + r);
      size_t index = outs.size();
      Tensor t = arg.type != ElementType::String && bound[index].type() == arg.type &&
                         bound[index].data() && bound[index].shape() == shape
                     ? bound[index]
                     : Tensor(arg.type, shape);
      // Identity layouts are asked of the bufferization: dense row-major.
      int64_t stride = 1;
      for (int64_t k = r - 1; k >= 0; --k) {
        if (shape[k] > 1 && d[3 + r + k] != stride)
          throw Error("model '" + modelName + "': output '" + arg.name +
                      "' came back with a non-contiguous layout");
        stride *= shape[k];
      }
      const char *first = reinterpret_cast<const char *>(d[1]) + d[2] * elementSize(arg.type);
      if (arg.type == ElementType::String)
        t = ownStrings(shape, reinterpret_cast<const void *const *>(first));
      else if (t.byteSize())
        std::memcpy(t.data(), first, t.byteSize());
      outs.push_back(std::move(t));
    }
  } else {
    for (Tensor &t : outs)
      if (t.type() == ElementType::String)
        t = ownStrings(t.shape(), static_cast<const void *const *>(t.data()));
  }
}

} // namespace kiln
