//===- Executable.cpp - calling compiled code -----------------------------===//
#include "runtime/Executable.h"
#include "runtime/ParallelFor.h"

namespace kiln {

static std::string shapeString(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

std::map<std::string, Tensor> Executable::run(const std::map<std::string, Tensor> &in,
                                              ThreadPool &pool,
                                              const std::string &modelName) const {
  std::vector<void *> pointers;
  std::vector<const ArgSpec *> specs;
  for (const ArgSpec &arg : inputs) {
    auto it = in.find(arg.name);
    if (it == in.end())
      throw Error("model '" + modelName + "': missing input '" + arg.name + "'");
    const Tensor &t = it->second;
    if (t.type() != arg.type || t.shape() != arg.shape)
      throw Error("model '" + modelName + "': input '" + arg.name + "' is " + t.describe() +
                  ", compiled for " + elementTypeName(arg.type) + shapeString(arg.shape));
    // Compiled code treats inputs as read-only (bufferization.writable = false).
    pointers.push_back(const_cast<void *>(t.data()));
    specs.push_back(&arg);
  }
  std::vector<Tensor> outs;
  outs.reserve(outputs.size());
  for (const ArgSpec &arg : outputs) {
    outs.emplace_back(arg.type, arg.shape);
    pointers.push_back(outs.back().data());
    specs.push_back(&arg);
  }
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < pointers.size(); ++i) {
    const auto &shape = specs[i]->shape;
    int64_t r = shape.size();
    std::vector<int64_t> d(3 + 2 * r);
    d[0] = d[1] = reinterpret_cast<int64_t>(pointers[i]);
    int64_t stride = 1;
    for (int64_t k = r - 1; k >= 0; --k) {
      d[3 + k] = shape[k];
      d[3 + r + k] = stride;
      stride *= shape[k];
    }
    descriptors.push_back(std::move(d));
  }
  std::vector<void *> descriptorPointers, packed;
  for (auto &d : descriptors)
    descriptorPointers.push_back(d.data());
  for (void *&p : descriptorPointers)
    packed.push_back(&p);
  pool.run([&] { entry(packed.data()); });
  std::map<std::string, Tensor> results;
  for (size_t i = 0; i < outs.size(); ++i)
    results.emplace(outputs[i].name, outs[i]);
  return results;
}

} // namespace kiln
