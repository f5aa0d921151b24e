//===- kiln-run.cpp - run an ONNX model or a backend test folder ----------===//
#include "frontend/Importer.h"
#include "frontend/TensorProto.h"
#include "jit/KernelCache.h"
#include "kiln/Session.h"
#include "runtime/Npy.h"
#include <sys/resource.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <onnx/onnx_pb.h>
#include <optional>
#include <set>
#include <iostream>
#include <map>
#include <sstream>
#include <sys/stat.h>

using namespace kiln;

namespace {

const char *kUsage = R"(usage: kiln-run MODEL.onnx|TESTDIR [options]

Compiles an ONNX model with Kiln and runs it once (or --bench N times).
Given a backend test folder (model.onnx + test_data_set_*/), runs every data
set and compares each output with the reference (rtol 1e-3, atol 1e-7);
exits 3 on a mismatch, reporting the worst element.

options:
  --threads N            worker threads (default: all cores)
  --input NAME=FILE      input from a .npy file or a TensorProto .pb file
                         (SequenceProto/OptionalProto for sequence and
                         optional inputs)
  --dim NAME=VALUE       value of a symbolic dim for generated inputs (default 1)
  --output-dir DIR       write each output as DIR/<name>.npy (a sequence as
                         DIR/<name>_0.npy, DIR/<name>_1.npy, ...)
  --bench N              run N more times after a warm-up (3 runs and at
                         least 0.1 s, none with --profile); print the median
                         (a model of plain tensors runs with its inputs and
                         outputs bound by position, outputs written in place)
  --json                 print one JSON object instead of text
  --profile FILE         write a Chrome trace (chrome://tracing, Perfetto) of
                         the session's creation and every run to FILE: one
                         event per compiled kernel (parallel or serial),
                         named by the ONNX nodes it computes, with its thread
  --cache-dir DIR        kernel cache folder (default $XDG_CACHE_HOME/kiln or
                         ~/.cache/kiln): a second run compiles nothing
  --no-cache             compile in memory only
  --explain-cache        print the parts the cache key is formed from
  --dynamic              compile as if every input dim were unknown (ranks
                         kept), as models with dynamic batch or sequence
                         arrive, and keep them unknown in the code (as
                         --no-specialize); reports whether the code was
                         compiled once for unknown dims or per shape (and why)
  --no-specialize        compile the dims the model leaves unknown as such,
                         when the session is created, instead of for the
                         first run's shapes (SessionOptions::specializeShapes)
  --limit NAME=VALUE     change one of the bounds a hostile model cannot pass
                         (kiln::Limits): tensor-bytes (8 GiB), weight-bytes
                         (32 GiB), nodes (1000000), nesting-depth (64),
                         allocation-bytes (16 GiB), workspace-bytes (32 GiB
                         held at once by a run), loop-iterations (2^26 per
                         run, 0: none), compile-ms (600000 per compilation),
                         compile-bytes (8 GiB of memory a compilation may
                         add); 0 turns the last three off
  --quiet                print only errors and the test verdict
  --help                 this text

Inputs not given are filled with deterministic pseudo-random values (a
sequence input with two such tensors).
Exit status: 0 success, 1 error (bad model, unsupported op, bad input),
2 bad usage, 3 mismatch against reference outputs.
)";

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

bool isDir(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> listDir(const std::string &dir, const std::string &prefix) {
  std::vector<std::string> out;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
        out.push_back(e->d_name);
    closedir(d);
  }
  // Numeric order: input_2 before input_10.
  std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

/// An input from a .npy file (tensors only) or a TensorProto, SequenceProto
/// or OptionalProto .pb file, as `info` declares the input.
OnnxValue loadValue(const std::string &path, const TensorInfo *info) {
  bool sequence = info && info->sequence, optional = info && info->optional;
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npy") {
    if (sequence)
      throw Error("input '" + info->name + "' is a sequence; give it as a SequenceProto .pb file");
    return readNpy(path);
  }
  return readValueProtoFile(path, sequence, optional);
}

/// Deterministic values: floats in [-1, 1), integers in [0, 8), bools alternate.
Tensor randomTensor(const TensorInfo &info, const std::map<std::string, int64_t> &dims,
                    uint64_t seed) {
  std::vector<int64_t> shape;
  for (size_t i = 0; i < info.shape.size(); ++i) {
    int64_t d = info.shape[i];
    if (d < 0) {
      auto it = dims.find(info.dimNames[i]);
      d = it != dims.end() ? it->second : 1;
    }
    shape.push_back(d);
  }
  Tensor t(info.type, shape);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = double(s >> 11) / double(1ULL << 53);
    double f = 2 * u - 1;
    int64_t n = int64_t(u * 8);
    switch (info.type) {
    case ElementType::Float32: t.data<float>()[i] = float(f); break;
    case ElementType::Float64: t.data<double>()[i] = f; break;
    case ElementType::Float16: case ElementType::BFloat16: {
      float x = float(f);
      uint32_t bits;
      std::memcpy(&bits, &x, 4);
      uint16_t h;
      if (info.type == ElementType::BFloat16) {
        h = uint16_t(bits >> 16);
      } else {
        // |f| < 1: a normal or zero half from the float's top mantissa bits.
        int e = int((bits >> 23) & 255) - 127 + 15;
        h = uint16_t((bits >> 16) & 0x8000);
        if (e > 0)
          h |= uint16_t(e << 10) | uint16_t((bits >> 13) & 1023);
      }
      t.data<uint16_t>()[i] = h;
      break;
    }
    case ElementType::Int8: t.data<int8_t>()[i] = int8_t(n); break;
    case ElementType::Int16: t.data<int16_t>()[i] = int16_t(n); break;
    case ElementType::Int32: t.data<int32_t>()[i] = int32_t(n); break;
    case ElementType::Int64: t.data<int64_t>()[i] = n; break;
    case ElementType::UInt8: t.data<uint8_t>()[i] = uint8_t(n); break;
    case ElementType::UInt16: t.data<uint16_t>()[i] = uint16_t(n); break;
    case ElementType::UInt32: t.data<uint32_t>()[i] = uint32_t(n); break;
    case ElementType::UInt64: t.data<uint64_t>()[i] = uint64_t(n); break;
    case ElementType::Bool: t.data<uint8_t>()[i] = uint8_t(n & 1); break;
    }
  }
  return t;
}

std::string shapeText(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if ((unsigned char)c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else
      o += c;
  }
  return o;
}

std::string fileSafe(const std::string &name) {
  std::string o = name;
  for (char &c : o)
    if (!std::isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-')
      c = '_';
  return o;
}

/// Compares with ONNX's backend-test rule |a - e| <= atol + rtol * |e|.
/// Returns an empty string when everything matches. Without `elements`,
/// only the element type and shape are compared.
std::string compare(const std::string &name, const Tensor &actual, const Tensor &expected,
                    double rtol, double atol, bool elements = true) {
  if (actual.type() != expected.type())
    return "output '" + name + "': element type " + elementTypeName(actual.type()) +
           ", expected " + elementTypeName(expected.type());
  if (actual.shape() != expected.shape())
    return "output '" + name + "': shape " + shapeText(actual.shape()) + ", expected " +
           shapeText(expected.shape());
  if (!elements)
    return "";
  if (actual.type() == ElementType::String) {
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < actual.numElements(); ++i)
      if (actual.stringAt(i) != expected.stringAt(i) && !bad++)
        first = i;
    if (!bad)
      return "";
    return "output '" + name + "': " + std::to_string(bad) + " of " +
           std::to_string(actual.numElements()) + " strings differ; first at index " +
           std::to_string(first) + ": got \"" + std::string(actual.stringAt(first)) +
           "\", expected \"" + std::string(expected.stringAt(first)) + "\"";
  }
  double worst = 0;
  int64_t worstAt = -1, bad = 0;
  for (int64_t i = 0; i < actual.numElements(); ++i) {
    double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    if (std::isnan(a) && std::isnan(e))
      continue;
    if (a == e)
      continue;
    double err = std::fabs(a - e);
    double excess = std::isnan(err) ? INFINITY : err - (atol + rtol * std::fabs(e));
    if (excess > 0) {
      ++bad;
      if (worstAt < 0 || excess > worst)
        worst = excess, worstAt = i;
    }
  }
  if (!bad)
    return "";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "output '%s': %lld of %lld elements differ; worst at index %lld: got %.9g, "
                "expected %.9g",
                name.c_str(), (long long)bad, (long long)actual.numElements(),
                (long long)worstAt, elementAsDouble(actual, worstAt),
                elementAsDouble(expected, worstAt));
  return buf;
}

std::string compareValues(const std::string &name, const OnnxValue &actual,
                          const OnnxValue &expected, double rtol, double atol, bool elements) {
  if (actual.kind() != expected.kind())
    return "output '" + name + "': got " + actual.describe() + ", expected " +
           expected.describe();
  if (actual.isTensor())
    return compare(name, actual.tensor(), expected.tensor(), rtol, atol, elements);
  if (actual.isNone())
    return "";
  if (actual.items().size() != expected.items().size())
    return "output '" + name + "': a sequence of " + std::to_string(actual.items().size()) +
           " tensors, expected " + std::to_string(expected.items().size());
  for (size_t i = 0; i < actual.items().size(); ++i) {
    std::string diff = compare(name + "[" + std::to_string(i) + "]", actual.items()[i],
                               expected.items()[i], rtol, atol, elements);
    if (!diff.empty())
      return diff;
  }
  return "";
}

void printTensor(const std::string &name, const Tensor &t) {
  std::cout << "  " << name << ": " << elementTypeName(t.type()) << shapeText(t.shape())
            << " = [";
  int64_t n = std::min<int64_t>(t.numElements(), 8);
  for (int64_t i = 0; i < n; ++i) {
    std::cout << (i ? ", " : "");
    if (t.type() == ElementType::String)
      std::cout << '"' << t.stringAt(i) << '"';
    else
      std::cout << elementAsDouble(t, i);
  }
  std::cout << (t.numElements() > n ? ", ...]" : "]") << "\n";
}

void printValue(const std::string &name, const OnnxValue &v) {
  if (v.isTensor())
    return printTensor(name, v.tensor());
  if (v.isNone()) {
    std::cout << "  " << name << ": none\n";
    return;
  }
  std::cout << "  " << name << ": sequence of " << v.items().size() << "\n";
  for (size_t i = 0; i < v.items().size(); ++i)
    printTensor("  " + name + "[" + std::to_string(i) + "]", v.items()[i]);
}

/// "float[2,3]", "sequence(float[2], ...)" or "none" as JSON fields.
std::string jsonDescription(const OnnxValue &v) {
  if (v.isTensor())
    return "\"type\": \"" + std::string(elementTypeName(v.tensor().type())) + "\", \"shape\": " +
           shapeText(v.tensor().shape());
  if (v.isNone())
    return "\"kind\": \"none\"";
  std::string r = "\"kind\": \"sequence\", \"items\": [";
  for (size_t i = 0; i < v.items().size(); ++i)
    r += std::string(i ? ", " : "") + "{" + jsonDescription(v.items()[i]) + "}";
  return r + "]";
}

struct Args {
  std::string model;
  int threads = 0, bench = 0;
  std::map<std::string, std::string> inputs;
  std::map<std::string, int64_t> dims;
  std::string outputDir, cacheDir = kiln::defaultCacheDirectory(), profile;
  bool json = false, quiet = false, explainCache = false, dynamic = false, specialize = true;
  Limits limits;
};

/// Sets the kiln::Limits field `name` names (as --limit spells it).
void setLimit(Limits &limits, const std::string &name, const std::string &value) {
  size_t used = 0;
  unsigned long long v = std::stoull(value, &used);
  if (used != value.size() || value[0] == '-')
    throw std::invalid_argument("--limit " + name + " needs a whole number, got '" + value + "'");
  if (name == "tensor-bytes")
    limits.maxTensorBytes = v;
  else if (name == "weight-bytes")
    limits.maxWeightBytes = v;
  else if (name == "nodes")
    limits.maxNodes = v;
  else if (name == "nesting-depth")
    limits.maxNestingDepth = int(std::min<unsigned long long>(v, 1 << 20));
  else if (name == "allocation-bytes")
    limits.maxAllocationBytes = v;
  else if (name == "workspace-bytes")
    limits.maxWorkspaceBytes = v;
  else if (name == "loop-iterations")
    limits.maxLoopIterations = v;
  else if (name == "compile-ms")
    limits.maxCompileMilliseconds = v;
  else if (name == "compile-bytes")
    limits.maxCompileBytes = v;
  else
    throw std::invalid_argument("unknown limit '" + name + "'");
}

/// "dynamic", "fixed" or "per-shape (reason)": how the code treats shapes.
std::string shapesText(const CompileReport &r) {
  return r.shapes == "per-shape" ? "per-shape (" + r.perShapeReason + ")" : r.shapes;
}

/// The model with every dim of its graph inputs made unknown.
std::string withUnknownDims(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("model '" + path + "': cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  onnx::ModelProto model;
  parseModel(bytes.data(), bytes.size(), path, model);
  std::set<std::string> initializers;
  for (const auto &i : model.graph().initializer())
    initializers.insert(i.name());
  for (auto &input : *model.mutable_graph()->mutable_input()) {
    if (initializers.count(input.name()) || !input.type().has_tensor_type() ||
        !input.type().tensor_type().has_shape())
      continue;
    auto *shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int d = 0; d < shape->dim_size(); ++d)
      shape->mutable_dim(d)->set_dim_param(input.name() + "_d" + std::to_string(d));
  }
  return model.SerializeAsString();
}

int usageError(const std::string &msg) {
  std::cerr << "kiln-run: " << msg << "\n(see kiln-run --help)\n";
  return 2;
}

/// Test data of ONNX 1.12 and older stores bfloat16 tensors as uint16 bit
/// patterns: such a tensor is taken as the bfloat16 the model declares.
OnnxValue asDeclared(const OnnxValue &v, ElementType declared) {
  if (!v.isTensor() || declared != ElementType::BFloat16 ||
      v.tensor().type() != ElementType::UInt16)
    return v;
  const Tensor &t = v.tensor();
  return Tensor::fromBytes(ElementType::BFloat16, t.shape(), t.data(), t.byteSize());
}

/// The first op of a model that draws random numbers, or "". Dropout
/// draws only in training mode with a nonzero ratio: its operands are read
/// from the initializers or from data set `dataDir`'s input files.
std::string randomOpIn(const onnx::ModelProto &model, const std::string &folder,
                       const std::string &dataDir) {
  static const std::set<std::string> randomOps = {"RandomUniform", "RandomNormal",
                                                  "RandomUniformLike", "RandomNormalLike",
                                                  "Bernoulli", "Multinomial"};
  const auto &graph = model.graph();
  // The value of `name` as a double, if an initializer or input file holds it.
  auto valueOf = [&](const std::string &name) -> std::optional<double> {
    for (const auto &init : graph.initializer())
      if (init.name() == name) {
        Tensor t = tensorFromProto(init, folder, "initializer '" + name + "'");
        return t.numElements() == 1 ? std::optional<double>(elementAsDouble(t, 0)) : std::nullopt;
      }
    auto files = listDir(dataDir, "input_");
    for (int i = 0, k = 0; i < graph.input_size(); ++i) {
      bool init = std::any_of(graph.initializer().begin(), graph.initializer().end(),
                              [&](const onnx::TensorProto &t) { return t.name() == graph.input(i).name(); });
      if (init)
        continue;
      if (graph.input(i).name() == name && k < (int)files.size()) {
        Tensor t = readTensorProtoFile(dataDir + "/" + files[k]);
        return t.numElements() == 1 ? std::optional<double>(elementAsDouble(t, 0)) : std::nullopt;
      }
      ++k;
    }
    return std::nullopt;
  };
  for (const auto &node : graph.node()) {
    if (randomOps.count(node.op_type()))
      return node.op_type();
    if (node.op_type() != "Dropout" || node.input_size() < 3 || node.input(2).empty())
      continue;
    auto training = valueOf(node.input(2));
    auto ratio = node.input(1).empty() ? std::optional<double>(0.5) : valueOf(node.input(1));
    if (!(training && *training == 0) && !(ratio && *ratio == 0))
      return node.op_type();
  }
  return "";
}

int runTestFolder(const Args &args, Session &session, double createMs) {
  auto sets = listDir(args.model, "test_data_set_");
  if (sets.empty())
    throw Error("test folder '" + args.model + "' has no test_data_set_*");
  double firstRunMs = 0;
  // The session parsed the model already; this copy is for randomOpIn.
  onnx::ModelProto model;
  {
    std::ifstream in(args.model + "/model.onnx", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    parseModel(bytes.data(), bytes.size(), args.model, model);
  }
  for (const auto &set : sets) {
    std::string dir = args.model + "/" + set;
    std::map<std::string, OnnxValue> inputs;
    auto inFiles = listDir(dir, "input_");
    const auto &infos = session.inputs();
    auto infoNamed = [&](const std::string &name) -> const TensorInfo * {
      for (const auto &x : infos)
        if (x.name == name)
          return &x;
      return nullptr;
    };
    for (size_t i = 0; i < inFiles.size(); ++i) {
      // Files are in input order; a TensorProto may also name its input.
      if (i >= infos.size())
        throw Error(dir + ": more input files than model inputs");
      std::string path = dir + "/" + inFiles[i], pbName;
      const TensorInfo *info = &infos[i];
      OnnxValue v = readValueProtoFile(path, info->sequence, info->optional, &pbName);
      const TensorInfo *named = infoNamed(pbName);
      if (named && named != info) {
        info = named;
        v = readValueProtoFile(path, info->sequence, info->optional);
      }
      inputs[info->name] = asDeclared(v, info->type);
    }
    auto start = std::chrono::steady_clock::now();
    auto outputs = session.runValues(inputs);
    if (set == sets.front())
      firstRunMs = msSince(start);
    auto outFiles = listDir(dir, "output_");
    const auto &outInfos = session.outputs();
    if (outFiles.size() != outInfos.size())
      throw Error(dir + ": " + std::to_string(outFiles.size()) + " reference outputs, model has " +
                  std::to_string(outInfos.size()));
    // Random samples cannot match another generator's: only their kinds,
    // types and shapes are compared, and the test never passes.
    std::string random = randomOpIn(model, args.model, dir);
    for (size_t i = 0; i < outFiles.size(); ++i) {
      const TensorInfo &info = outInfos[i];
      OnnxValue expected = asDeclared(
          readValueProtoFile(dir + "/" + outFiles[i], info.sequence, info.optional), info.type);
      std::string diff = compareValues(info.name, outputs.at(info.name), expected, 1e-3, 1e-7,
                                       /*elements=*/random.empty());
      if (!diff.empty()) {
        std::cout << "MISMATCH " << set << ": " << diff << "\n";
        return 3;
      }
    }
    if (!random.empty()) {
      std::cout << "MISMATCH " << set << ": values not compared: the model samples random "
                << "numbers with " << random << " (outputs have the reference's types and "
                << "shapes)\n";
      return 3;
    }
  }
  if (args.json)
    std::cout << "{\"session_create_ms\": " << createMs << ", \"first_run_ms\": " << firstRunMs
              << ", \"data_sets\": " << sets.size() << ", \"shapes\": \""
              << jsonEscape(shapesText(session.compileReport())) << "\", \"result\": \"pass\"}\n";
  else
    std::cout << "PASS " << sets.size() << " data set(s); session created in " << createMs
              << " ms; first run " << firstRunMs << " ms; shapes "
              << shapesText(session.compileReport()) << "\n";
  return 0;
}

int runModel(const Args &args, Session &session, double createMs, bool atCreation) {
  std::map<std::string, OnnxValue> inputs;
  uint64_t seed = 1;
  for (const auto &info : session.inputs()) {
    auto it = args.inputs.find(info.name);
    if (it != args.inputs.end())
      inputs[info.name] = loadValue(it->second, &info);
    else if (info.sequence) // two generated tensors
      inputs[info.name] = OnnxValue::sequence(
          {randomTensor(info, args.dims, seed), randomTensor(info, args.dims, seed + 1000)});
    else
      inputs[info.name] = randomTensor(info, args.dims, seed);
    ++seed;
  }
  for (const auto &kv : args.inputs)
    if (!inputs.count(kv.first))
      inputs[kv.first] = loadValue(kv.second, nullptr); // the session names the bad input
  auto start = std::chrono::steady_clock::now();
  auto outputs = session.runValues(inputs);
  double firstRunMs = msSince(start);
  double median = 0;
  if (args.bench > 0) {
    // Warm-up, as the other engines' benchmarks do: the first run may have
    // compiled the code, so caches and branch predictors have not seen it.
    // (Not while profiling: the trace holds the runs asked for.)
    // A model of plain tensors runs with its inputs and outputs bound by
    // position (Session::run on vectors), as a program that runs it again
    // and again would: no names looked up, the outputs written in place.
    bool tensorsOnly = true;
    std::vector<Tensor> boundInputs, boundOutputs;
    for (const auto &info : session.inputs()) {
      tensorsOnly &= !info.sequence && !info.optional && inputs.at(info.name).isTensor();
      if (tensorsOnly)
        boundInputs.push_back(inputs.at(info.name).tensor());
    }
    for (const auto &info : session.outputs())
      tensorsOnly &= !info.sequence && !info.optional;
    auto runOnce = [&] {
      if (tensorsOnly)
        session.run(boundInputs, boundOutputs);
      else
        session.runValues(inputs);
    };
    auto warm = std::chrono::steady_clock::now();
    for (int i = 0; args.profile.empty() && (i < 3 || (msSince(warm) < 100 && i < 10000)); ++i)
      runOnce();
    std::vector<double> times;
    for (int i = 0; i < args.bench; ++i) {
      auto t = std::chrono::steady_clock::now();
      runOnce();
      times.push_back(msSince(t));
    }
    std::sort(times.begin(), times.end());
    median = times.size() % 2 ? times[times.size() / 2]
                              : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
  }
  if (!args.outputDir.empty()) {
    mkdir(args.outputDir.c_str(), 0755);
    // A sequence "y" is written as y_0.npy, y_1.npy, ...; an empty optional not at all.
    for (const auto &kv : outputs) {
      std::string base = args.outputDir + "/" + fileSafe(kv.first);
      if (kv.second.isTensor())
        writeNpy(base + ".npy", kv.second.tensor());
      else if (kv.second.isSequence())
        for (size_t i = 0; i < kv.second.items().size(); ++i)
          writeNpy(base + "_" + std::to_string(i) + ".npy", kv.second.items()[i]);
    }
  }
  const CompileReport times = session.compileReport();
  if (args.json) {
    std::cout << "{\"model\": \"" << jsonEscape(args.model) << "\", \"session_create_ms\": "
              << createMs << ", \"import_ms\": " << times.import << ", \"passes_ms\": "
              << times.passes << ", \"codegen_ms\": " << times.codegen
              << ", \"llvm_optimize_ms\": " << times.optimize
              << ", \"llvm_emit_ms\": " << times.emit << ", \"load_ms\": " << times.load << ", \"compile_ms\": " << times.total
              << ", \"cache\": \"" << times.cache << "\", \"shapes\": \""
              << jsonEscape(shapesText(times)) << "\", \"first_run_ms\": " << firstRunMs;
    if (args.bench > 0)
      std::cout << ", \"latency_ms\": " << median << ", \"runs\": " << args.bench;
    MemoryReport memory = session.memoryReport();
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    std::cout << ", \"weights_bytes\": " << memory.weightsBytes
              << ", \"workspace_bytes\": " << memory.workspaceBytes
              << ", \"peak_rss_bytes\": " << uint64_t(usage.ru_maxrss) * 1024;
    std::cout << ", \"outputs\": [";
    bool first = true;
    for (const auto &info : session.outputs()) {
      std::cout << (first ? "" : ", ") << "{\"name\": \"" << jsonEscape(info.name) << "\", "
                << jsonDescription(outputs.at(info.name)) << "}";
      first = false;
    }
    std::cout << "]}\n";
    return 0;
  }
  if (!args.quiet) {
    std::cout << "model: " << args.model << "\n";
    std::cout << "session created in " << createMs << " ms\n";
    const char *when = atCreation ? "at creation" : "on first run for these shapes";
    if (times.cache == "hit" || times.cache == "artifact")
      std::cout << "  code loaded " << when << " from the " << (times.cache == "hit" ? "cache" : "artifact")
                << " in " << times.load << " ms (no compilation)\n";
    else
      std::cout << "  compiled " << when << ": " << times.total << " ms (import " << times.import
                << " ms, passes " << times.passes << " ms, LLVM codegen " << times.codegen
                << " ms (optimize " << times.optimize << " ms, emit " << times.emit
                << " ms summed over threads); cache " << times.cache << ")\n";
    std::cout << "shapes: " << shapesText(times) << "\n";
    std::cout << "first run: " << firstRunMs << " ms\n";
    std::cout << "outputs:\n";
    for (const auto &info : session.outputs())
      printValue(info.name, outputs.at(info.name));
  }
  if (args.explainCache)
    std::cout << "cache key " << (times.cacheKey.empty() ? "(cache off)" : times.cacheKey) << "\n"
              << times.cacheKeyParts;
  if (args.bench > 0)
    std::cout << "median latency over " << args.bench << " runs: " << median << " ms\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    auto keyValue = [&](const std::string &v) {
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument(a + " expects NAME=VALUE, got '" + v + "'");
      return std::make_pair(v.substr(0, eq), v.substr(eq + 1));
    };
    try {
      if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--threads") {
        args.threads = std::stoi(next());
      } else if (a == "--bench") {
        args.bench = std::stoi(next());
      } else if (a == "--input") {
        args.inputs.insert(keyValue(next()));
      } else if (a == "--dim") {
        auto kv = keyValue(next());
        args.dims[kv.first] = std::stoll(kv.second);
      } else if (a == "--output-dir") {
        args.outputDir = next();
      } else if (a == "--json") {
        args.json = true;
      } else if (a == "--profile") {
        args.profile = next();
      } else if (a == "--cache-dir") {
        args.cacheDir = next();
      } else if (a == "--no-cache") {
        args.cacheDir.clear();
      } else if (a == "--explain-cache") {
        args.explainCache = true;
      } else if (a == "--dynamic") {
        args.dynamic = true;
        args.specialize = false;
      } else if (a == "--no-specialize") {
        args.specialize = false;
      } else if (a == "--limit") {
        auto kv = keyValue(next());
        setLimit(args.limits, kv.first, kv.second);
      } else if (a == "--quiet") {
        args.quiet = true;
      } else if (!a.empty() && a[0] == '-') {
        return usageError("unknown option '" + a + "'");
      } else if (args.model.empty()) {
        args.model = a;
      } else {
        return usageError("more than one model given");
      }
    } catch (const std::invalid_argument &e) {
      return usageError(std::string("bad argument: ") + e.what());
    } catch (const std::out_of_range &) {
      return usageError("number out of range in " + a);
    }
  }
  if (args.model.empty())
    return usageError("no model given");
  try {
    bool folder = isDir(args.model);
    std::string modelPath = folder ? args.model + "/model.onnx" : args.model;
    SessionOptions options;
    options.threads = args.threads;
    options.cacheDirectory = args.cacheDir;
    options.profilePath = args.profile;
    options.limits = args.limits;
    options.specializeShapes = args.specialize;
    auto start = std::chrono::steady_clock::now();
    Session session = args.dynamic ? [&] {
      std::string bytes = withUnknownDims(modelPath);
      return Session(bytes.data(), bytes.size(), options, modelPath);
    }()
                                   : Session(modelPath, options);
    double createMs = msSince(start);
    // A session compiles (or loads) at creation unless its shapes are only
    // known at the first run; then its report is still empty here.
    bool atCreation = session.compileReport().total > 0;
    return folder ? runTestFolder(args, session, createMs)
                  : runModel(args, session, createMs, atCreation);
  } catch (const std::exception &e) {
    std::cerr << "kiln-run: error: " << e.what() << "\n";
    return 1;
  }
}
