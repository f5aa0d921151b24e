//===- Session.cpp - kiln::Session ----------------------------------------===//
#include "kiln/Session.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerInterface.h"
#include "runtime/ParallelFor.h"
#include "runtime/Profile.h"
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mutex>
#include <unordered_map>

namespace kiln {

namespace detail {
static std::atomic<CompilerFactory> registeredFactory{nullptr};
void setCompilerFactory(CompilerFactory factory) { registeredFactory = factory; }
CompilerFactory compilerFactory() { return registeredFactory.load(); }
} // namespace detail

struct Session::Impl {
  std::string name;
  SessionOptions options;
  std::vector<TensorInfo> inputs, outputs;
  std::unique_ptr<detail::ModelCompiler> compiler; // null for artifacts
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<profile::Recorder> recorder; // with SessionOptions::profilePath

  mutable std::mutex mutex; // guards variants, dynamic and report
  /// Code for given shapes (and shape-deciding values), by the hash of
  /// their signature (see variantFor).
  struct Variant {
    std::vector<int64_t> signature;
    std::shared_ptr<const Executable> executable;
  };
  std::unordered_multimap<uint64_t, Variant> variants;
  /// Code for every shape: a model that gives every dim, an artifact, or
  /// one compiled with unknown dims when not specializing.
  std::shared_ptr<const Executable> fixed;
  /// When specializing: the code compiled with unknown dims, for shapes
  /// other than the first run's, once `dynamicTried`.
  std::shared_ptr<const Executable> dynamic;
  bool dynamicTried = false;
  CompileReport report;
  std::string perShapeReason;

  /// `release` frees the bytes, which are not needed once parsed.
  void openModel(const void *data, size_t size, const std::function<void()> &release = {});
  /// With SessionOptions::profilePath: the recorder, then (once created)
  /// the phases of the session's creation as events.
  void startProfile();
  /// The phases of a compilation that began at `startUs` on the trace's
  /// clock, as events.
  void recordCompilation(const CompileReport &compiled, double startUs);
  void recordCreation();
  ~Impl();
  void openArtifact();
  std::shared_ptr<const Executable> variantFor(const std::map<std::string, OnnxValue> &in);
  void validate(const std::map<std::string, OnnxValue> &in) const;
  void validateTensor(const std::string &what, const TensorInfo &info, const Tensor &t) const;
};

void Session::Impl::startProfile() {
  if (!options.profilePath.empty())
    recorder = std::make_unique<profile::Recorder>();
}

void Session::Impl::recordCompilation(const CompileReport &compiled, double startUs) {
  if (!recorder)
    return;
  int thread = profile::threadIndex();
  double at = startUs;
  auto phase = [&](const char *name, double ms) {
    if (ms <= 0)
      return;
    recorder->add({name, "session", at, ms * 1000, thread});
    at += ms * 1000;
  };
  phase("import", compiled.import);
  phase("passes", compiled.passes);
  phase("LLVM codegen", compiled.codegen);
  phase("load", compiled.load);
}

void Session::Impl::recordCreation() {
  if (!recorder)
    return;
  recordCompilation(report, 0);
  recorder->add({"session creation", "session", 0, recorder->nowUs(), profile::threadIndex()});
}

Session::Impl::~Impl() {
  if (!recorder)
    return;
  // A destructor cannot throw: a trace that cannot be written is reported.
  std::string trace = recorder->chromeTrace();
  FILE *f = std::fopen(options.profilePath.c_str(), "w");
  if (!f || std::fwrite(trace.data(), 1, trace.size(), f) != trace.size())
    std::fprintf(stderr, "kiln: cannot write the profile '%s': %s\n", options.profilePath.c_str(),
                 std::strerror(errno));
  if (f)
    std::fclose(f);
}

static bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void Session::Impl::openModel(const void *data, size_t size,
                              const std::function<void()> &release) {
  auto factory = detail::compilerFactory();
  if (!factory)
    throw Error("model '" + name + "': compiling ONNX models needs libkiln; this program "
                "links only kiln_runtime, which opens .kiln artifacts (see kiln-compile)");
  // Only Session(path) passes `release`: the bytes are its file mapping.
  compiler = factory(name, data, size, static_cast<bool>(release), options);
  if (release)
    release();
  inputs = compiler->inputs;
  outputs = compiler->outputs;
  if (!compiler->specializeOnRun) {
    detail::Compiled c = compiler->compile({});
    fixed = c.executable;
    report = c.report;
    return;
  }
  perShapeReason = compiler->perShapeReason;
  // Specialized for the first run's shapes, when it comes.
  if (!perShapeReason.empty() || options.specializeShapes)
    return;
  // Unknown dims: one compilation for all shapes where every op allows it.
  try {
    detail::Compiled c = compiler->compile({});
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
  // Sequence outputs were compiled as their tensors "y[0]", "y[1]", ...
  // (or "y[]" when empty): one sequence output again.
  for (const auto &a : info.outputs) {
    auto open = a.name.rfind('[');
    bool item = open != std::string::npos && a.name.back() == ']' && open > 0 &&
                a.name.find_first_not_of("0123456789", open + 1) == a.name.size() - 1;
    if (!item) {
      outputs.push_back(describe(a));
      continue;
    }
    std::string base = a.name.substr(0, open);
    if (!outputs.empty() && outputs.back().name == base && outputs.back().sequence)
      continue;
    TensorInfo t = describe(a);
    t.name = base;
    t.sequence = true;
    outputs.push_back(t);
  }
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
  impl_->startProfile();
  if (endsWith(path, ".kiln")) {
    impl_->openArtifact();
    impl_->recordCreation();
    return;
  }
  // Mapped, not read: the parser reads it once, and no copy stays.
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    throw Error("model '" + path + "': cannot open the file: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw Error("model '" + path + "': not a regular file");
  }
  size_t size = st.st_size;
  void *bytes = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
  close(fd);
  if (bytes == MAP_FAILED)
    throw Error("model '" + path + "': cannot map the file: " + std::strerror(errno));
  std::unique_ptr<void, std::function<void(void *)>> mapping(
      bytes, [size](void *p) { if (p) munmap(p, size); });
  impl_->openModel(bytes, size, [&] { mapping.reset(); });
  impl_->recordCreation();
}

Session::Session(const void *bytes, size_t size, const SessionOptions &options,
                 const std::string &name)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = name;
  impl_->options = options;
  impl_->pool = std::make_unique<ThreadPool>(options.threads);
  impl_->startProfile();
  impl_->openModel(bytes, size);
  impl_->recordCreation();
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

MemoryReport Session::memoryReport() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  MemoryReport r;
  auto add = [&](const std::shared_ptr<const Executable> &exe) {
    if (!exe)
      return;
    r.weightsBytes = std::max(r.weightsBytes, exe->weightsSize);
    r.workspaceBytes = std::max<size_t>(r.workspaceBytes, exe->blocks->mostHeld());
  };
  add(impl_->fixed);
  add(impl_->dynamic);
  for (const auto &kv : impl_->variants)
    add(kv.second.executable);
  return r;
}

namespace {
std::string shapeString(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return r + "]";
}

std::string describeKind(const TensorInfo &info) {
  std::string what = info.sequence ? "a sequence" : "a tensor";
  return info.optional ? "an optional holding " + what : what;
}
} // namespace

void Session::Impl::validateTensor(const std::string &what, const TensorInfo &info,
                                   const Tensor &t) const {
  if (t.type() != info.type)
    throw Error("model '" + name + "': " + what + " has element type " +
                elementTypeName(t.type()) + ", the model expects " + elementTypeName(info.type));
  if (!info.hasShape)
    return;
  if (t.shape().size() != info.shape.size())
    throw Error("model '" + name + "': " + what + " has rank " +
                std::to_string(t.shape().size()) + ", the model expects shape " +
                shapeString(info.shape));
  for (size_t d = 0; d < info.shape.size(); ++d)
    if (info.shape[d] >= 0 && info.shape[d] != t.shape()[d])
      throw Error("model '" + name + "': " + what + " has shape " + shapeString(t.shape()) +
                  ", the model expects " + shapeString(info.shape));
}

void Session::Impl::validate(const std::map<std::string, OnnxValue> &in) const {
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
    const OnnxValue &v = it->second;
    if (v.isNone() && info.optional)
      continue;
    if (v.isNone() || v.isSequence() != info.sequence)
      throw Error("model '" + name + "': input '" + info.name + "' is " + v.describe() +
                  ", the model expects " + describeKind(info));
    if (v.isTensor()) {
      validateTensor("input '" + info.name + "'", info, v.tensor());
      continue;
    }
    const auto &items = v.items();
    for (size_t i = 0; i < items.size(); ++i)
      validateTensor("tensor " + std::to_string(i) + " of input '" + info.name + "'", info,
                     items[i]);
  }
}

std::shared_ptr<const Executable>
Session::Impl::variantFor(const std::map<std::string, OnnxValue> &in) {
  if (fixed)
    return fixed;
  // The variant's signature, in the order of the inputs: each input's
  // structure and shapes, plus the values of shape-deciding inputs. Found
  // by its hash; the specialization is built only to compile a new one.
  std::vector<int64_t> signature;
  auto addShape = [&](const std::vector<int64_t> &shape) {
    signature.push_back(static_cast<int64_t>(shape.size()));
    signature.insert(signature.end(), shape.begin(), shape.end());
  };
  for (const auto &info : inputs) {
    const OnnxValue &v = in.at(info.name);
    if (v.isNone()) {
      signature.push_back(-1);
    } else if (v.isSequence()) {
      signature.push_back(-2 - static_cast<int64_t>(v.items().size()));
      for (const Tensor &t : v.items())
        addShape(t.shape());
    } else {
      const Tensor &t = v.tensor();
      addShape(t.shape());
      if (compiler->shapeInputs.count(info.name)) {
        size_t words = (t.byteSize() + 7) / 8;
        signature.push_back(static_cast<int64_t>(t.byteSize()));
        size_t at = signature.size();
        signature.resize(at + words, 0);
        if (t.byteSize())
          std::memcpy(signature.data() + at, t.data(), t.byteSize());
      }
    }
  }
  uint64_t hash = 1469598103934665603ull; // FNV-1a over the words
  for (int64_t w : signature)
    hash = (hash ^ static_cast<uint64_t>(w)) * 1099511628211ull;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto [first, last] = variants.equal_range(hash);
    for (auto it = first; it != last; ++it)
      if (it->second.signature == signature)
        return it->second.executable;
  }
  detail::Specialization spec;
  for (const auto &info : inputs) {
    const OnnxValue &v = in.at(info.name);
    if (v.isNone()) {
      spec.absent.insert(info.name);
    } else if (v.isSequence()) {
      auto &shapes = spec.sequences[info.name];
      for (const Tensor &t : v.items())
        shapes.push_back(t.shape());
    } else if (compiler->shapeInputs.count(info.name)) {
      spec.constants.emplace(info.name, v.tensor());
    } else {
      spec.shapes[info.name] = v.tensor().shape();
    }
  }
  std::lock_guard<std::mutex> lock(mutex);
  // Another thread may have compiled it meanwhile.
  auto [first, last] = variants.equal_range(hash);
  for (auto it = first; it != last; ++it)
    if (it->second.signature == signature)
      return it->second.executable;
  bool specializing = perShapeReason.empty();
  if (specializing && !variants.empty()) {
    // Shapes other than the first run's: one compilation with the dims
    // unknown, where every op allows it; per shape otherwise.
    if (!dynamicTried) {
      dynamicTried = true;
      try {
        double startUs = recorder ? recorder->nowUs() : 0;
        detail::Compiled c = compiler->compile({});
        recordCompilation(c.report, startUs);
        dynamic = c.executable;
        report = c.report;
        report.shapes = "dynamic";
      } catch (const Error &e) {
        perShapeReason = e.what();
      }
    }
    if (dynamic)
      return dynamic;
  }
  double startUs = recorder ? recorder->nowUs() : 0;
  detail::Compiled c = compiler->compile(spec);
  recordCompilation(c.report, startUs);
  variants.emplace(hash, Variant{std::move(signature), c.executable});
  report = c.report;
  report.shapes = perShapeReason.empty() ? "specialized" : "per-shape";
  report.perShapeReason = perShapeReason;
  return c.executable;
}

std::map<std::string, OnnxValue>
Session::runValues(const std::map<std::string, OnnxValue> &in) const {
  impl_->validate(in);
  std::shared_ptr<const Executable> exe = impl_->variantFor(in);
  std::map<std::string, Tensor> flat;
  for (const auto &kv : in) {
    if (kv.second.isTensor())
      flat.emplace(kv.first, kv.second.tensor());
    else if (kv.second.isSequence())
      for (size_t i = 0; i < kv.second.items().size(); ++i)
        flat.emplace(sequenceItemName(kv.first, i), kv.second.items()[i]);
  }
  std::map<std::string, Tensor> results =
      exe->run(flat, *impl_->pool, impl_->name,
               RunLimits{impl_->options.limits.maxAllocationBytes,
                         impl_->options.limits.maxWorkspaceBytes,
                         impl_->options.limits.maxLoopIterations},
               impl_->recorder.get());
  std::map<std::string, OnnxValue> out;
  for (const auto &info : impl_->outputs) {
    auto it = results.find(info.name);
    if (it != results.end()) {
      out.emplace(info.name, it->second);
      continue;
    }
    std::vector<Tensor> items;
    for (size_t i = 0;; ++i) {
      auto item = results.find(sequenceItemName(info.name, i));
      if (item == results.end())
        break;
      items.push_back(item->second);
    }
    if (!items.empty() || results.count(emptySequenceName(info.name)))
      out.emplace(info.name, OnnxValue::sequence(std::move(items)));
    else if (info.optional)
      out.emplace(info.name, OnnxValue::none());
    else
      throw Error("model '" + impl_->name + "': the compiled code gives no output '" +
                  info.name + "'");
  }
  return out;
}

void Session::run(const std::vector<Tensor> &in, std::vector<Tensor> &out) const {
  for (const auto &info : impl_->inputs)
    if (info.sequence || info.optional)
      throw Error("model '" + impl_->name + "': input '" + info.name + "' is " +
                  describeKind(info) + "; run it with Session::runValues");
  for (const auto &info : impl_->outputs)
    if (info.sequence || info.optional)
      throw Error("model '" + impl_->name + "': output '" + info.name + "' is " +
                  describeKind(info) + "; run it with Session::runValues");
  if (in.size() != impl_->inputs.size())
    throw Error("model '" + impl_->name + "': " + std::to_string(in.size()) +
                " inputs given, the model has " + std::to_string(impl_->inputs.size()));
  for (size_t i = 0; i < in.size(); ++i)
    impl_->validateTensor("input '" + impl_->inputs[i].name + "'", impl_->inputs[i], in[i]);
  std::shared_ptr<const Executable> exe = impl_->fixed;
  if (!exe) {
    // Shapes decide the code: found by name, as runValues does.
    std::map<std::string, OnnxValue> named;
    for (size_t i = 0; i < in.size(); ++i)
      named.emplace(impl_->inputs[i].name, in[i]);
    exe = impl_->variantFor(named);
  }
  // The code's arguments by position: its inputs and outputs are the
  // model's, some inputs compiled in as constants.
  std::vector<const Tensor *> args;
  for (const ArgSpec &arg : exe->inputs) {
    size_t i = 0;
    while (i < in.size() && impl_->inputs[i].name != arg.name)
      ++i;
    if (i == in.size())
      throw Error("model '" + impl_->name + "': missing input '" + arg.name + "'");
    args.push_back(&in[i]);
  }
  std::vector<size_t> position; // exe->outputs[j] is the model's output position[j]
  for (const ArgSpec &arg : exe->outputs) {
    size_t i = 0;
    while (i < impl_->outputs.size() && impl_->outputs[i].name != arg.name)
      ++i;
    if (i == impl_->outputs.size())
      throw Error("model '" + impl_->name + "': the compiled code gives an unknown output '" +
                  arg.name + "'");
    position.push_back(i);
  }
  if (position.size() != impl_->outputs.size())
    throw Error("model '" + impl_->name + "': the compiled code gives " +
                std::to_string(position.size()) + " outputs, the model has " +
                std::to_string(impl_->outputs.size()));
  out.resize(impl_->outputs.size());
  std::vector<Tensor> outs(exe->outputs.size());
  for (size_t j = 0; j < position.size(); ++j)
    outs[j] = out[position[j]];
  exe->run(args, outs, *impl_->pool, impl_->name,
           RunLimits{impl_->options.limits.maxAllocationBytes,
                     impl_->options.limits.maxWorkspaceBytes,
                     impl_->options.limits.maxLoopIterations},
           impl_->recorder.get());
  for (size_t j = 0; j < position.size(); ++j)
    out[position[j]] = std::move(outs[j]);
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor> &in) const {
  for (const auto &info : impl_->inputs)
    if (info.sequence || info.optional)
      throw Error("model '" + impl_->name + "': input '" + info.name + "' is " +
                  describeKind(info) + "; run it with Session::runValues");
  std::map<std::string, OnnxValue> values(in.begin(), in.end());
  std::map<std::string, Tensor> out;
  for (auto &kv : runValues(values)) {
    if (!kv.second.isTensor())
      throw Error("model '" + impl_->name + "': output '" + kv.first + "' is " +
                  kv.second.describe() + "; run it with Session::runValues");
    out.emplace(kv.first, kv.second.tensor());
  }
  return out;
}

} // namespace kiln
