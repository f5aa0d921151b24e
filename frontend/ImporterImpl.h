//===- ImporterImpl.h - state shared by the ONNX node builders -*- C++ -*-===//
//
// The importer walks the graph and hands each node to the builder registered
// for its op type. Builders live in one file per op family; this header is
// what they share: the importer's state and its helpers for creating ops.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_IMPORTERIMPL_H
#define KILN_FRONTEND_IMPORTERIMPL_H

#include "frontend/Importer.h"
#include "dialect/ConstantData.h"
#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "frontend/TensorProto.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include <array>
#include <map>
#include <onnx/onnx_pb.h>
#include <cstdio>
#include <functional>
#include <unordered_map>

namespace kiln {
using namespace mlir;

class Importer;
using NodeBuilder = std::function<void(Importer &, const onnx::NodeProto &)>;

class Importer {
public:
  Importer(MLIRContext &ctx, const ImportOptions &opts)
      : ctx(ctx), opts(opts), b(&ctx),
        modelName(opts.modelPath.empty() ? "<memory>" : opts.modelPath) {
    auto slash = opts.modelPath.find_last_of('/');
    baseDir = slash == std::string::npos ? "." : opts.modelPath.substr(0, slash);
  }

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

  /// Imports nodes in order with their builders.
  void importNodes(const google::protobuf::RepeatedPtrField<onnx::NodeProto> &nodes);
  /// A value of the graph as the importer holds it: a tensor (a NoneOp for
  /// an absent input), a sequence as its tensors (see Sequence.cpp), or an
  /// empty optional.
  struct GraphValue {
    enum Kind { Tensor, Sequence, Empty } kind = Tensor;
    Value tensor;
    std::vector<Value> items;
    static GraphValue of(Value v) { return {Tensor, v, {}}; }
    static GraphValue sequence(std::vector<Value> items) { return {Sequence, {}, std::move(items)}; }
  };
  /// The value named `name`; fails if none is defined.
  GraphValue lookup(const std::string &name);
  void bind(const std::string &name, const GraphValue &v);

  /// Imports a subgraph (If/Loop/Scan body) inline with its inputs bound to
  /// `inputs`; outer values stay visible. Returns its outputs.
  std::vector<GraphValue> importSubgraphValues(const onnx::GraphProto &g,
                                               const std::vector<GraphValue> &inputs);
  /// The same for subgraphs whose inputs and outputs are all tensors.
  std::vector<Value> importSubgraph(const onnx::GraphProto &g, llvm::ArrayRef<Value> inputs);

  // --- used by node builders ---
  MLIRContext &ctx;
  const ImportOptions &opts;
  /// The i8 weight and its column constants of an 8-bit dot-product matmul
  /// (see dotProductMatMul), by the weight's and zero point's constants:
  /// made once for the steps of an unrolled recurrence.
  std::map<std::pair<Operation *, Operation *>, std::array<Value, 3>> dotProductWeights;
  OpBuilder b;
  std::string modelName, baseDir;
  int64_t opset = 0;
  Location loc = UnknownLoc::get(&ctx);
  Location fileLoc = UnknownLoc::get(&ctx); // the model file, parent of node locations
  const onnx::GraphProto *graph = nullptr;  // the main graph
  const onnx::NodeProto *node = nullptr;

  [[noreturn]] void fail(const std::string &msg) const {
    if (node)
      throw Error("model '" + modelName + "': node '" + nodeName(*node) + "' (" +
                  node->op_type() + "): " + msg);
    throw Error("model '" + modelName + "': " + msg);
  }

  std::string nodeName(const onnx::NodeProto &n) const {
    return n.name().empty() ? n.op_type() + "#" + std::to_string(nodeIndex) : n.name();
  }

  Type elementType(int onnxType, const std::string &what) {
    auto t = fromOnnxType(onnxType);
    if (!t)
      fail(what + " has element type " + onnxTypeName(onnxType) + ", which is not supported");
    switch (*t) {
    case ElementType::Float32: return b.getF32Type();
    case ElementType::Float64: return b.getF64Type();
    case ElementType::Float16: return b.getF16Type();
    case ElementType::BFloat16: return b.getBF16Type();
    case ElementType::Int8: return b.getIntegerType(8);
    case ElementType::Int16: return b.getIntegerType(16);
    case ElementType::Int32: return b.getIntegerType(32);
    case ElementType::Int64: return b.getIntegerType(64);
    case ElementType::UInt8: return b.getIntegerType(8, false);
    case ElementType::UInt16: return b.getIntegerType(16, false);
    case ElementType::UInt32: return b.getIntegerType(32, false);
    case ElementType::UInt64: return b.getIntegerType(64, false);
    case ElementType::Bool: return b.getI1Type();
    case ElementType::Int4: return b.getIntegerType(4);
    case ElementType::UInt4: return b.getIntegerType(4, false);
    case ElementType::Int2: return b.getIntegerType(2);
    case ElementType::UInt2: return b.getIntegerType(2, false);
    case ElementType::Float8E4M3FN: return b.getType<Float8E4M3FNType>();
    case ElementType::Float8E4M3FNUZ: return b.getType<Float8E4M3FNUZType>();
    case ElementType::Float8E5M2: return b.getType<Float8E5M2Type>();
    case ElementType::Float8E5M2FNUZ: return b.getType<Float8E5M2FNUZType>();
    case ElementType::Float8E8M0: return b.getType<Float8E8M0FNUType>();
    case ElementType::Float4E2M1: return b.getType<Float4E2M1FNType>();
    case ElementType::String: return StringType::get(&ctx);
    }
    return {};
  }

  /// `shared`: a large `t` is held by the constant (its bytes are not
  /// copied; the importer's initializers, which nothing changes).
  Value constant(const Tensor &t, bool shared = false) {
    Type elem = elementType(toOnnxType(t.type()), "constant");
    auto type = RankedTensorType::get(t.shape(), elem);
    DenseElementsAttr attr;
    if (t.type() == ElementType::String) {
      llvm::SmallVector<llvm::StringRef> values;
      for (int64_t i = 0; i < t.numElements(); ++i) {
        std::string_view s = t.stringAt(i);
        values.push_back(llvm::StringRef(s.data(), s.size()));
      }
      attr = DenseStringElementsAttr::get(type, values);
    } else if (t.type() == ElementType::Bool) {
      std::vector<bool> bits;
      llvm::SmallVector<bool> values;
      for (int64_t i = 0; i < t.numElements(); ++i)
        values.push_back(t.data<uint8_t>()[i] != 0);
      attr = DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
    } else if (shared && static_cast<int64_t>(t.byteSize()) >= kBlobConstantBytes &&
               rawElementBytes(elem)) {
      auto *owned = new Tensor(t);
      AsmResourceBlob blob(
          llvm::ArrayRef<char>(static_cast<const char *>(owned->data()), owned->byteSize()),
          alignof(std::max_align_t), [owned](void *, size_t, size_t) { delete owned; },
          /*dataIsMutable=*/false);
      return ConstantOp::create(b, loc, type, constantAttr(type, std::move(blob)));
    } else {
      const char *data = static_cast<const char *>(t.data());
      return ConstantOp::create(b, loc, type,
                                constantAttr(type, std::vector<char>(data, data + t.byteSize())));
    }
    return ConstantOp::create(b, loc, type, attr);
  }

  /// An initializer whose raw_data holds its values (the usual case), as a
  /// constant that takes over the parsed bytes instead of copying them; the
  /// initializer is left without data. Nothing if it is another kind (the
  /// caller reads it the general way, which also reports what is wrong).
  std::optional<Value> adoptRawData(onnx::TensorProto &init) {
    if (!init.has_raw_data() || (init.has_data_location() &&
                                 init.data_location() == onnx::TensorProto::EXTERNAL))
      return std::nullopt;
    std::optional<ElementType> et = fromOnnxType(init.data_type());
    if (!et || *et == ElementType::String || *et == ElementType::Bool)
      return std::nullopt;
    Type elem = elementType(init.data_type(), "initializer");
    int64_t bytes = rawElementBytes(elem), n = 1;
    for (int64_t d : init.dims())
      if (d < 0 || __builtin_mul_overflow(n, d, &n))
        return std::nullopt;
    if (!bytes || __builtin_mul_overflow(n, bytes, &bytes) ||
        static_cast<uint64_t>(bytes) != init.raw_data().size() || bytes < kBlobConstantBytes)
      return std::nullopt;
    auto type = RankedTensorType::get(llvm::SmallVector<int64_t>(init.dims().begin(),
                                                                 init.dims().end()),
                                      elem);
    auto *owned = new std::string(std::move(*init.mutable_raw_data()));
    init.clear_raw_data();
    AsmResourceBlob blob(llvm::ArrayRef<char>(owned->data(), owned->size()),
                         alignof(std::max_align_t),
                         [owned](void *, size_t, size_t) { delete owned; },
                         /*dataIsMutable=*/false);
    return ConstantOp::create(b, loc, type, constantAttr(type, std::move(blob)));
  }

  Value none() { return NoneOp::create(b, loc, b.getNoneType()); }

  Value input(int i) {
    if (i >= node->input_size() || node->input(i).empty())
      return none();
    auto it = values.find(node->input(i));
    if (it == values.end())
      fail("input '" + node->input(i) + "' is not defined before use");
    return it->second;
  }

  Attribute convertAttribute(const onnx::AttributeProto &a) {
    switch (a.type()) {
    case onnx::AttributeProto::INT:
      return IntegerAttr::get(b.getIntegerType(64, true), a.i());
    case onnx::AttributeProto::FLOAT: return b.getF32FloatAttr(a.f());
    case onnx::AttributeProto::STRING: return b.getStringAttr(a.s());
    case onnx::AttributeProto::INTS:
      return b.getI64ArrayAttr(llvm::SmallVector<int64_t>(a.ints().begin(), a.ints().end()));
    case onnx::AttributeProto::FLOATS:
      return b.getF32ArrayAttr(llvm::SmallVector<float>(a.floats().begin(), a.floats().end()));
    case onnx::AttributeProto::STRINGS: {
      llvm::SmallVector<Attribute> s;
      for (const auto &x : a.strings())
        s.push_back(b.getStringAttr(x));
      return b.getArrayAttr(s);
    }
    case onnx::AttributeProto::TENSOR: {
      Value v = constant(tensorFromProto(a.t(), baseDir, "attribute '" + a.name() + "'"));
      Attribute attr = v.getDefiningOp<ConstantOp>().getValue();
      v.getDefiningOp()->erase();
      return attr;
    }
    default:
      fail("attribute '" + a.name() + "' has a kind Kiln does not support");
    }
  }

  const onnx::AttributeProto *attr(const std::string &name) const {
    for (const auto &a : node->attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }

  /// Creates kiln.<opName> from operands and the node's attributes minus
  /// `dropped`, types it and binds the node's outputs.
  Operation *create(StringRef opName, ValueRange operands, std::set<std::string> dropped = {},
                    Type resultElement = {}, unsigned numResults = 1,
                    llvm::ArrayRef<NamedAttribute> extra = {}) {
    std::string full = ("kiln." + opName).str();
    auto registered = RegisteredOperationName::lookup(full, &ctx);
    if (!registered)
      fail("no dialect op " + full);
    OperationState state(loc, full);
    state.addOperands(operands);
    for (const auto &a : node->attribute()) {
      if (dropped.count(a.name()))
        continue;
      bool known = llvm::any_of(registered->getAttributeNames(),
                                [&](StringAttr n) { return n.getValue() == a.name(); });
      if (!known)
        fail("attribute '" + a.name() + "' is not supported");
      state.addAttribute(a.name(), convertAttribute(a));
    }
    for (const NamedAttribute &a : extra)
      state.addAttribute(a.getName(), a.getValue());
    Type placeholder = UnrankedTensorType::get(resultElement ? resultElement : b.getF32Type());
    state.addTypes(llvm::SmallVector<Type>(numResults, placeholder));
    Operation *op = b.create(state);
    typeOp(op);
    // Shape arithmetic on constants folds, so the shapes it feeds are static.
    return foldIfConstant(op);
  }

  /// Untrusted models must not make Kiln allocate without bound: no tensor
  /// a model defines may exceed Limits::maxTensorBytes. Returns why `type`
  /// does, or "".
  std::string sizeProblem(Type type) const {
    auto t = llvm::dyn_cast<RankedTensorType>(type);
    if (!t || !t.hasStaticShape())
      return "";
    // A string element takes a pointer; its bytes are bounded by the input's.
    uint64_t bytes = llvm::isa<StringType>(t.getElementType())
                         ? sizeof(void *)
                         : (t.getElementTypeBitWidth() + 7) / 8;
    uint64_t limit = opts.limits.maxTensorBytes;
    bool over = false;
    for (int64_t d : t.getShape()) {
      if (d == 0)
        return "";
      over = over || bytes > limit / d;
      if (!over)
        bytes *= d;
    }
    if (over || bytes > limit)
      return "a tensor of shape " + shapeText(t.getShape()) + " exceeds the limit of " +
             bytesText(limit) + " (Limits::maxTensorBytes)";
    return "";
  }

  void checkSize(Type type) {
    if (std::string why = sizeProblem(type); !why.empty())
      fail(why);
  }

  /// "8 GiB", "1.5 MiB" or "100 bytes".
  static std::string bytesText(uint64_t n) {
    const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = double(n);
    while (v >= 1024 && u < 4) {
      v /= 1024;
      ++u;
    }
    char text[32];
    std::snprintf(text, sizeof text, u && v != (uint64_t)v ? "%.1f %s" : "%.0f %s", v, units[u]);
    return text;
  }

  /// float8, float4 and 2/4-bit integers are only converted and moved:
  /// compiled code has no arithmetic on them.
  static std::string checkSubByteUse(Operation *op) {
    static const llvm::StringSet<> movers = {
        "kiln.Cast",    "kiln.Identity", "kiln.Reshape", "kiln.Flatten", "kiln.Squeeze",
        "kiln.Unsqueeze", "kiln.Transpose", "kiln.Concat", "kiln.Slice", "kiln.Gather",
        "kiln.Expand",  "kiln.Split",    "kiln.Constant", "kiln.Shape",  "kiln.BitCast"};
    if (movers.contains(op->getName().getStringRef()))
      return "";
    auto isSubByte = [](Type t) {
      auto tt = llvm::dyn_cast<TensorType>(t);
      if (!tt)
        return false;
      Type e = tt.getElementType();
      if (auto i = llvm::dyn_cast<IntegerType>(e))
        return i.getWidth() == 2 || i.getWidth() == 4;
      auto f = llvm::dyn_cast<FloatType>(e);
      return f && f.getWidth() <= 8;
    };
    for (Type t : llvm::concat<const Type>(op->getOperandTypes(), op->getResultTypes()))
      if (isSubByte(t)) {
        std::string name;
        llvm::raw_string_ostream os(name);
        os << llvm::cast<TensorType>(t).getElementType();
        return "element type " + name + " is only supported by Cast and data movement ops";
      }
    return "";
  }

  static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
    std::string r = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      r += (i ? "," : "") + std::to_string(shape[i]);
    return r + "]";
  }

  void typeOp(Operation *op) {
    std::string diag;
    {
      ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
        if (diag.empty())
          diag = d.str();
        return success();
      });
      if (failed(verify(op, /*verifyRecursively=*/false)) || failed(inferShapes(op))) {
        if (diag.empty())
          diag = "invalid operands or attributes";
      }
    }
    if (diag.empty())
      for (Type t : op->getResultTypes())
        checkSize(t);
    if (diag.empty())
      diag = checkSubByteUse(op);
    if (!diag.empty()) {
      // The op names itself ("'kiln.Conv' op ..."); keep just the reason.
      auto pos = diag.find(" op ");
      fail(pos != std::string::npos && diag.rfind("'kiln.", 0) == 0 ? diag.substr(pos + 4)
                                                                   : diag);
    }
  }

  /// Creates and types kiln.<opName> from explicit operands and attributes
  /// (for ops the importer composes out of others).
  Value make(StringRef opName, ValueRange operands, llvm::ArrayRef<NamedAttribute> attrs = {}) {
    OperationState state(loc, ("kiln." + opName).str());
    state.addOperands(operands);
    state.addAttributes(attrs);
    state.addTypes(UnrankedTensorType::get(b.getF32Type()));
    Operation *op = b.create(state);
    typeOp(op);
    return foldIfConstant(op)->getResult(0);
  }

  /// `op`, or the constant it folds to (then erased).
  Operation *foldIfConstant(Operation *op) {
    auto folded = foldConstantOp(op);
    if (!folded)
      return op;
    Operation *cst = ConstantOp::create(b, loc, folded->getType(), *folded);
    op->replaceAllUsesWith(cst);
    op->erase();
    return cst;
  }

  NamedAttribute intAttr(StringRef name, int64_t v) {
    return NamedAttribute(b.getStringAttr(name), IntegerAttr::get(b.getIntegerType(64, true), v));
  }

  /// Binds the node's named outputs to `results` in order; a named output
  /// with no (or a null) result is an error.
  void bindResults(llvm::ArrayRef<Value> results) {
    for (int i = 0; i < node->output_size(); ++i) {
      if (node->output(i).empty())
        continue;
      if (i >= (int)results.size() || !results[i])
        fail("output " + std::to_string(i) + " ('" + node->output(i) + "') is not produced");
      values[node->output(i)] = results[i];
    }
  }

  void bindOutputs(Operation *op) {
    if (node->output_size() > (int)op->getNumResults())
      for (int i = op->getNumResults(); i < node->output_size(); ++i)
        if (!node->output(i).empty())
          fail("output " + std::to_string(i) + " ('" + node->output(i) +
               "') is not supported");
    for (int i = 0; i < node->output_size() && i < (int)op->getNumResults(); ++i)
      if (!node->output(i).empty())
        values[node->output(i)] = op->getResult(i);
  }

  Value i64Constant(llvm::ArrayRef<int64_t> v) {
    return constant(Tensor::fromBytes(ElementType::Int64, {(int64_t)v.size()}, v.data(),
                                      v.size() * 8));
  }

  Value reshape(Value v, llvm::ArrayRef<int64_t> shape) {
    return make("Reshape", {v, i64Constant(shape)});
  }
  Value transpose(Value v, llvm::ArrayRef<int64_t> perm) {
    return make("Transpose", {v}, {NamedAttribute(b.getStringAttr("perm"), b.getI64ArrayAttr(perm))});
  }
  /// Elements start, start + step, ... (before end) of `v` along `axis`.
  Value slice(Value v, int64_t axis, int64_t start, int64_t end, int64_t step = 1) {
    return make("Slice", {v, i64Constant({start}), i64Constant({end}), i64Constant({axis}),
                          step == 1 ? none() : i64Constant({step})});
  }
  /// `v`'s type, which builders composing ops from it need static.
  RankedTensorType staticType(Value v, const std::string &what) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      fail("input '" + what + "' needs a static shape");
    return t;
  }
  /// A constant filled with zeros (possibly with no elements).
  Value zeros(llvm::ArrayRef<int64_t> shape, Type elem) {
    auto t = RankedTensorType::get(shape, elem);
    checkSize(t);
    Attribute zero = llvm::isa<FloatType>(elem) ? Attribute(FloatAttr::get(elem, 0.0))
                                                : Attribute(IntegerAttr::get(elem, 0));
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, zero));
  }
  /// Zeros of (dim `d` of `x`, rest...): a constant when that dim is known,
  /// else zeros expanded to it when the code runs.
  Value zerosLeading(Value x, int64_t d, llvm::ArrayRef<int64_t> rest, Type elem) {
    auto t = llvm::cast<RankedTensorType>(x.getType());
    llvm::SmallVector<int64_t> shape{t.getDimSize(d)};
    shape.append(rest.begin(), rest.end());
    if (!t.isDynamicDim(d))
      return zeros(shape, elem);
    shape[0] = 1;
    Value target = make("Concat", {slice(make("Shape", {x}), 0, d, d + 1), i64Constant(rest)},
                        {intAttr("axis", 0)});
    return make("Expand", {zeros(shape, elem), target});
  }
  /// Tables a builder computes while importing (tap indices, weights,
  /// iotas) stay below this many entries, whatever sizes a model asks for.
  static constexpr int64_t kMaxGeneratedElements = int64_t(1) << 26;

  /// Fails unless a table of `count` (possibly a product that overflowed
  /// to a negative number) entries fits the limit.
  void checkGenerated(double count, const std::string &what) const {
    if (!(count >= 0 && count <= double(kMaxGeneratedElements)))
      fail(what + " would need " + std::to_string(int64_t(count)) + " entries computed while " +
           "compiling (limit " + std::to_string(kMaxGeneratedElements) + ")");
  }

  /// Recurrences and loops are unrolled while importing: at most
  /// kMaxUnrollSteps steps per node and kMaxUnrollTotal in a model, so a
  /// model cannot make compilation run away.
  static constexpr int64_t kMaxUnrollSteps = 512, kMaxUnrollTotal = 8192;
  int64_t unrolledSteps = 0;

  void reserveUnrolledSteps(int64_t steps, const std::string &what) {
    if (steps > kMaxUnrollSteps)
      fail(what + " of " + std::to_string(steps) + " steps exceeds the unrolling limit of " +
           std::to_string(kMaxUnrollSteps));
    unrolledSteps += std::max<int64_t>(steps, 0);
    if (unrolledSteps > kMaxUnrollTotal)
      fail("the model unrolls more than " + std::to_string(kMaxUnrollTotal) + " steps in all");
  }

  Value i64Scalar(int64_t v) {
    return constant(Tensor::fromVector(ElementType::Int64, {}, std::vector<int64_t>{v}));
  }

  /// A rank-0 constant of float type `elem`.
  Value scalar(Type elem, double v) {
    auto t = RankedTensorType::get({}, elem);
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, FloatAttr::get(elem, v)));
  }

  /// `v` converted to element type `elem` (itself when it already is).
  Value castTo(Value v, Type elem) {
    if (llvm::cast<TensorType>(v.getType()).getElementType() == elem)
      return v;
    OperationState state(loc, "kiln.Cast");
    state.addOperands(v);
    state.addTypes(UnrankedTensorType::get(elem));
    Operation *op = b.create(state);
    typeOp(op);
    return op->getResult(0);
  }

  std::unordered_map<std::string, Value> values;
  /// Sequences built in the graph, as their tensors (see Sequence.cpp).
  std::unordered_map<std::string, std::vector<Value>> sequences;
  /// Optionals built empty in the graph (Optional with no input).
  std::set<std::string> emptyOptionals;
  int nodeIndex = 0;
};

using BuilderTable = std::unordered_map<std::string, NodeBuilder>;

/// The value of a one-element constant of any numeric type, if `v` is one.
std::optional<double> constantScalar(Value v);

/// The node's first `count` inputs (all of them when count < 0); absent
/// optional inputs are kiln.none values.
std::vector<Value> inputs(Importer &im, int count);

/// A builder creating kiln.<opName> from at most `numOperands` inputs and the
/// node's attributes, minus the `legacy` attributes older opsets carried.
NodeBuilder generic(std::string opName, int numOperands,
                    std::set<std::string> legacy = {"consumed_inputs"});

// Builders by op family, each in its own file.
void addAttentionBuilders(BuilderTable &table);
void addComposedBuilders(BuilderTable &table);
void addQuantizationBuilders(BuilderTable &table);
void addNormalizationBuilders(BuilderTable &table);
void addSequenceBuilders(BuilderTable &table);
void addResizeBuilders(BuilderTable &table);
void addSignalBuilders(BuilderTable &table);
void addControlFlowBuilders(BuilderTable &table);
void addRecurrentBuilders(BuilderTable &table);
void addStringBuilders(BuilderTable &table);
/// Ops of other domains are keyed "domain:OpType".
void addTrainingBuilders(BuilderTable &table);
void addRandomBuilders(BuilderTable &table);
/// The LSTM node `n` (ONNX's semantics), with `matmulInput` applied to the
/// left operand of each matmul with its weights (Recurrent.cpp).
/// An LSTM whose products by W and R (left operand, the weight of direction
/// `dir` transposed, whether it is R) are computed by `product`.
void buildLstm(Importer &im, const onnx::NodeProto &n,
               std::function<Value(Value, Value, int64_t, bool)> product);
/// ONNX Runtime's com.microsoft ops (Microsoft.cpp).
void addMicrosoftBuilders(BuilderTable &table);
/// Every builder, by key ("Op" in ai.onnx, else "domain:Op").
const BuilderTable &nodeBuilders();

/// The body of a run-time loop: from the block's arguments (iteration,
/// condition, carried...) to what it yields (condition, carried..., scan
/// items...).
using LoopBody = std::function<std::vector<Value>(llvm::ArrayRef<Value>)>;
/// A loop whose trip count or condition is only known at run time: a
/// kiln.Loop region (lowered to scf.while); returns its results, the final
/// carried values then the stacked scan items (ControlFlow.cpp).
std::vector<Value> runtimeLoop(Importer &im, Value trip, Value cond,
                               const std::vector<Value> &initial, int numScan,
                               const LoopBody &importBody);
/// Samples shaped like `like` (or as `shape`) of float type `want`: uniform
/// in [a, b), or normal with mean a and deviation b (Random.cpp).
Value randomSamples(Importer &im, Value like, std::optional<std::vector<int64_t>> shape,
                    bool normal, double a, double b, Type want);

} // namespace kiln
#endif
