//===- Session.cpp - kiln::Session ----------------------------------------===//
#include "kiln/Session.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerInterface.h"
#include "runtime/ParallelFor.h"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>

namespace kiln {

namespace detail {
static std::atomic<CompilerFactory> compilerFactory{nullptr};
void setCompilerFactory(CompilerFactory factory) { compilerFactory = factory; }
} // namespace detail

struct Session::Impl {
  std::string name;
  SessionOptions options;
  std::vector<TensorInfo> inputs, outputs;
  std::unique_ptr<detail::ModelCompiler> compiler; // null for artifacts
  std::unique_ptr<ThreadPool> pool;

  mutable std::mutex mutex; // guards variants and report
  std::map<std::string, std::shared_ptr<const Executable>> variants;
  std::shared_ptr<const Executable> fixed;
  CompileReport report;
  std::string perShapeReason;

  void openModel(const void *data, size_t size);
  void openArtifact();
  std::shared_ptr<const Executable> variantFor(const std::map<std::string, Tensor> &in);
  void validate(const std::map<std::string, Tensor> &in) const;
};

static bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void Session::Impl::openModel(const void *data, size_t size) {
  auto factory = detail::compilerFactory.load();
  if (!factory)
    throw Error("model '" + name + "': compiling ONNX models needs libkiln; this program "
                "links only kiln_runtime, which opens .kiln artifacts (see kiln-compile)");
  compiler = factory(name, data, size, options);
  inputs = compiler->inputs;
  outputs = compiler->outputs;
  if (!compiler->specializeOnRun) {
    detail::Compiled c = compiler->compile({}, {});
    fixed = c.executable;
    report = c.report;
    return;
  }
  perShapeReason = compiler->perShapeReason;
  if (!perShapeReason.empty())
    return;
  // Unknown dims: one compilation for all shapes where every op allows it.
  try {
    detail::Compiled c = compiler->compile({}, {});
    fixed = c.executable;
    report = c.report;
    report.shapes = "dynamic";
  } catch (const Error &e) {
    perShapeReason = e.what();
  }
}

void Session::Impl::openArtifact() {
  auto start = std::chrono::steady_clock::now();
  ArtifactInfo info;
  fixed = loadArtifact(name, &info);
  auto describe = [](const ArgSpec &a) {
    TensorInfo t;
    t.name = a.name;
    t.type = a.type;
    t.shape = a.shape;
    t.dimNames.assign(a.shape.size(), "");
    return t;
  };
  for (const auto &a : info.inputs)
    inputs.push_back(describe(a));
  for (const auto &a : info.outputs)
    outputs.push_back(describe(a));
  report.cache = "artifact";
  report.cacheKey = info.key;
  report.load = report.total =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Session::Session(const std::string &path, const SessionOptions &options)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = path;
  impl_->options = options;
  impl_->pool = std::make_unique<ThreadPool>(options.threads);
  if (endsWith(path, ".kiln")) {
    impl_->openArtifact();
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("model '" + path + "': cannot open the file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  impl_->openModel(bytes.data(), bytes.size());
}

Session::Session(const void *bytes, size_t size, const SessionOptions &options,
                 const std::string &name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = name;
  impl_->options = options;
  impl_->pool = std::make_unique<ThreadPool>(options.threads);
  impl_->openModel(bytes, size);
}

Session::~Session() = default;
Session::Session(Session &&) noexcept = default;
Session &Session::operator=(Session &&) noexcept = default;

const std::vector<TensorInfo> &Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo> &Session::outputs() const { return impl_->outputs; }
CompileReport Session::compileReport() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->report;
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

std::shared_ptr<const Executable>
Session::Impl::variantFor(const std::map<std::string, Tensor> &in) {
  if (fixed)
    return fixed;
  // Key: every input's shape, plus the values of shape-deciding inputs.
  std::string key;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, Tensor> constants;
  for (const auto &info : inputs) {
    const Tensor &t = in.at(info.name);
    key += info.name + shapeString(t.shape());
    if (compiler->shapeInputs.count(info.name)) {
      key.append(static_cast<const char *>(t.data()), t.byteSize());
      constants.emplace(info.name, t);
    } else {
      shapes[info.name] = t.shape();
    }
    key += ';';
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto it = variants.find(key);
  if (it != variants.end())
    return it->second;
  detail::Compiled c = compiler->compile(shapes, constants);
  variants[key] = c.executable;
  report = c.report;
  report.shapes = "per-shape";
  report.perShapeReason = perShapeReason;
  return c.executable;
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor> &in) const {
  impl_->validate(in);
  return impl_->variantFor(in)->run(in, *impl_->pool, impl_->name);
}

} // namespace kiln
