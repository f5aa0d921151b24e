//===- Session.cpp - kiln::Session ----------------------------------------===//
#include "kiln/Session.h"
#include "frontend/TensorProto.h"
#include "jit/Compiler.h"
#include "runtime/ParallelFor.h"
#include <onnx/onnx_pb.h>
#include <fstream>
#include <mutex>
#include <sstream>

namespace kiln {

struct Session::Impl {
  std::string name;
  onnx::ModelProto model;
  SessionOptions options;
  std::vector<TensorInfo> inputs, outputs;
  std::set<std::string> shapeInputs;
  bool specializeOnRun = false;
  CompileTimes times;
  std::unique_ptr<ThreadPool> pool;

  mutable std::mutex mutex; // guards variants and times
  std::map<std::string, std::shared_ptr<const CompiledModel>> variants;
  std::shared_ptr<const CompiledModel> fixed;

  void load(const void *data, size_t size);
  std::shared_ptr<const CompiledModel> variantFor(const std::map<std::string, Tensor> &in);
  void validate(const std::map<std::string, Tensor> &in) const;
};

static TensorInfo describeValue(const onnx::ValueInfoProto &v, const std::string &model) {
  TensorInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type())
    throw Error("model '" + model + "': '" + v.name() + "' is not a tensor (sequence, map and optional values are not supported)");
  const auto &tt = v.type().tensor_type();
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

void Session::Impl::load(const void *data, size_t size) {
  parseModel(data, size, name, model);
  std::set<std::string> initializers;
  for (const auto &i : model.graph().initializer())
    initializers.insert(i.name());
  for (const auto &in : model.graph().input())
    if (!initializers.count(in.name()))
      inputs.push_back(describeValue(in, name));
  for (const auto &out : model.graph().output())
    outputs.push_back(describeValue(out, name));
  shapeInputs = shapeDefiningInputs(model.graph());
  specializeOnRun = !shapeInputs.empty();
  for (const auto &in : inputs)
    for (int64_t d : in.shape)
      specializeOnRun |= d < 0;
  specializeOnRun |= std::any_of(inputs.begin(), inputs.end(),
                                 [](const TensorInfo &i) { return !i.hasShape; });
  pool = std::make_unique<ThreadPool>(options.threads);
  if (!specializeOnRun) {
    ImportOptions io;
    io.modelPath = name;
    fixed = std::make_shared<CompiledModel>(compileModel(model, io, options));
    times = fixed->times;
  }
}

static std::vector<char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("model '" + path + "': cannot open the file");
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

Session::Session(const std::string &path, const SessionOptions &options)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = path;
  impl_->options = options;
  std::vector<char> bytes = readFile(path);
  impl_->load(bytes.data(), bytes.size());
}

Session::Session(const void *bytes, size_t size, const SessionOptions &options,
                 const std::string &name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = name;
  impl_->options = options;
  impl_->load(bytes, size);
}

Session::~Session() = default;
Session::Session(Session &&) noexcept = default;
Session &Session::operator=(Session &&) noexcept = default;

const std::vector<TensorInfo> &Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo> &Session::outputs() const { return impl_->outputs; }
CompileTimes Session::compileTimes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->times;
}

static std::string shapeString(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return r + "]";
}

void Session::Impl::validate(const std::map<std::string, Tensor> &in) const {
  for (const auto &kv : in) {
    auto it = std::find_if(inputs.begin(), inputs.end(),
                           [&](const TensorInfo &i) { return i.name == kv.first; });
    if (it == inputs.end()) {
      std::string names;
      for (const auto &i : inputs)
        names += (names.empty() ? "" : ", ") + i.name;
      throw Error("model '" + name + "': unknown input '" + kv.first +
                  "'; the model's inputs are: " + names);
    }
  }
  for (const auto &info : inputs) {
    auto it = in.find(info.name);
    if (it == in.end())
      throw Error("model '" + name + "': missing input '" + info.name + "'");
    const Tensor &t = it->second;
    if (t.type() != info.type)
      throw Error("model '" + name + "': input '" + info.name + "' has element type " +
                  elementTypeName(t.type()) + ", the model expects " +
                  elementTypeName(info.type));
    if (!info.hasShape)
      continue;
    if (t.shape().size() != info.shape.size())
      throw Error("model '" + name + "': input '" + info.name + "' has rank " +
                  std::to_string(t.shape().size()) + ", the model expects shape " +
                  shapeString(info.shape));
    for (size_t d = 0; d < info.shape.size(); ++d)
      if (info.shape[d] >= 0 && info.shape[d] != t.shape()[d])
        throw Error("model '" + name + "': input '" + info.name + "' has shape " +
                    shapeString(t.shape()) + ", the model expects " + shapeString(info.shape));
  }
}

std::shared_ptr<const CompiledModel>
Session::Impl::variantFor(const std::map<std::string, Tensor> &in) {
  if (fixed)
    return fixed;
  // Key: every input's shape, plus the values of shape-deciding inputs.
  std::string key;
  ImportOptions io;
  io.modelPath = name;
  for (const auto &info : inputs) {
    const Tensor &t = in.at(info.name);
    key += info.name + shapeString(t.shape());
    if (shapeInputs.count(info.name)) {
      key.append(static_cast<const char *>(t.data()), t.byteSize());
      io.constantInputs.emplace(info.name, t);
    } else {
      io.inputShapes[info.name] = t.shape();
    }
    key += ';';
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto it = variants.find(key);
  if (it != variants.end())
    return it->second;
  auto compiled = std::make_shared<CompiledModel>(compileModel(model, io, options));
  variants[key] = compiled;
  times = compiled->times;
  return compiled;
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor> &in) const {
  impl_->validate(in);
  std::shared_ptr<const CompiledModel> code = impl_->variantFor(in);
  std::vector<void *> pointers;
  for (const auto &arg : code->inputs) {
    const Tensor &t = in.at(arg.name);
    if (t.shape() != arg.shape)
      throw Error("model '" + impl_->name + "': input '" + arg.name + "' has shape " +
                  shapeString(t.shape()) + ", compiled for " + shapeString(arg.shape));
    // Compiled code treats inputs as read-only (bufferization.writable = false).
    pointers.push_back(const_cast<void *>(t.data()));
  }
  std::map<std::string, Tensor> results;
  std::vector<Tensor> outs;
  for (const auto &arg : code->outputs) {
    outs.emplace_back(arg.type, arg.shape);
    pointers.push_back(outs.back().data());
  }
  std::vector<std::vector<int64_t>> descriptors;
  auto shapeOf = [&](size_t i) -> const std::vector<int64_t> & {
    return i < code->inputs.size() ? code->inputs[i].shape
                                   : code->outputs[i - code->inputs.size()].shape;
  };
  for (size_t i = 0; i < pointers.size(); ++i) {
    const auto &shape = shapeOf(i);
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
  impl_->pool->run([&] { code->entry(packed.data()); });
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string &n = code->outputs[i].name;
    // A graph may list one value as two outputs: the second name is a copy.
    results.emplace(n, outs[i]);
  }
  return results;
}

} // namespace kiln
