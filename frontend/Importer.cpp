//===- Importer.cpp - ONNX ModelProto -> Kiln dialect ---------------------===//
//
// Each ONNX op maps by name to a builder. Builders first rewrite older
// opset forms into the dialect's single form (attributes that later became
// inputs, the pre-13 Softmax coercion), then create the op generically and
// type it with the shared shape rules.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "frontend/TensorProto.h"
#include "runtime/CompilerInterface.h"
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <optional>
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include <onnx/onnx_pb.h>
#include <functional>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>

using namespace mlir;

namespace kiln {

namespace {
/// A file mapping read in chunks; the pages of chunks the parser has moved
/// past are dropped (the parser copies what it keeps).
class MappedFileStream : public google::protobuf::io::ZeroCopyInputStream {
public:
  MappedFileStream(const void *data, size_t size)
      : data(static_cast<const char *>(data)), size(size) {}
  bool Next(const void **chunk, int *n) override {
    detail::dropMappedPages(data, at, &dropped);
    if (at >= size)
      return false;
    *chunk = data + at;
    *n = static_cast<int>(std::min(kChunk, size - at));
    at += *n;
    return true;
  }
  void BackUp(int count) override { at -= count; }
  bool Skip(int count) override {
    at = std::min(size, at + count);
    return at < size || count == 0;
  }
  int64_t ByteCount() const override { return static_cast<int64_t>(at); }

private:
  static constexpr size_t kChunk = size_t(1) << 20;
  const char *data;
  size_t size, at = 0, dropped = 0;
};
} // namespace

void parseModel(const void *data, size_t size, const std::string &what,
                onnx::ModelProto &model, bool mappedFile) {
  std::optional<MappedFileStream> mapped;
  std::optional<google::protobuf::io::CodedInputStream> coded;
  if (mappedFile)
    coded.emplace(&mapped.emplace(data, size));
  else
    coded.emplace(static_cast<const uint8_t *>(data), static_cast<int>(size));
  google::protobuf::io::CodedInputStream &stream = *coded;
  stream.SetRecursionLimit(100);
  if (size > (size_t)INT32_MAX || !model.ParseFromCodedStream(&stream) ||
      !stream.ConsumedEntireMessage())
    throw Error("model '" + what + "': not a valid ONNX model (protobuf parse failed)");
  if (!model.has_graph())
    throw Error("model '" + what + "': has no graph");
}

void registerImportDialects(MLIRContext &context) {
  context.loadDialect<KilnDialect, func::FuncDialect>();
}

/// Every name the nodes of `g` and of its nested subgraphs read.
static std::set<std::string> namesReadIn(const onnx::GraphProto &g) {
  std::set<std::string> names;
  for (const auto &n : g.node()) {
    for (const auto &in : n.input())
      if (!in.empty())
        names.insert(in);
    for (const auto &a : n.attribute()) {
      std::set<std::string> inner = namesReadIn(a.g());
      names.insert(inner.begin(), inner.end());
    }
  }
  return names;
}

std::set<std::string> shapeDefiningInputs(const onnx::GraphProto &graph) {
  static const std::map<std::string, std::vector<int>> shapeOperands = {
      {"Reshape", {1}},    {"Unsqueeze", {1}},  {"Squeeze", {1}},   {"ReduceSum", {1}},
      {"Dropout", {1, 2}}, {"Slice", {1, 2, 3, 4}}, {"Range", {0, 1, 2}},
      {"ReduceProd", {1}}, {"ReduceL1", {1}}, {"ReduceL2", {1}}, {"ReduceLogSum", {1}},
      {"ReduceLogSumExp", {1}}, {"ReduceSumSquare", {1}}, {"Expand", {1}}, {"Trilu", {1}},
      {"Split", {1}},      {"Pad", {1, 3}},     {"Tile", {1}},      {"OneHot", {1}},
      {"SequenceAt", {1}}, {"SequenceInsert", {2}}, {"SequenceErase", {1}},
      {"SplitToSequence", {1}}, {"CumSum", {1}}, {"CumProd", {1}},
      {"Resize", {1, 2, 3}}, {"Upsample", {1}}, {"HannWindow", {0}}, {"HammingWindow", {0}},
      {"BlackmanWindow", {0}}, {"MelWeightMatrix", {0, 1, 2, 3, 4}}, {"DFT", {1, 2}},
      {"STFT", {1, 3}}, {"CenterCropPad", {1}}, {"TopK", {1}}, {"AffineGrid", {1}}, {"Loop", {0, 1}},
      {"Col2Im", {1, 2}}, {"MaxUnpool", {2}}, {"RNN", {4}}, {"GRU", {4}}, {"LSTM", {4}},
      {"ReduceMean", {1}}, {"ReduceMax", {1}},  {"ReduceMin", {1}}, {"ConstantOfShape", {0}},
  };
  std::set<std::string> inputs;
  for (const auto &in : graph.input())
    inputs.insert(in.name());
  for (const auto &init : graph.initializer())
    inputs.erase(init.name());
  // A graph input decides shapes when a shape operand is computed from its
  // values, directly or through other nodes (Shape and Size read only its
  // shape, so the walk stops there).
  // Nodes of subgraphs count too: their shape operands may come from
  // outer values.
  std::vector<const onnx::NodeProto *> nodes;
  std::function<void(const onnx::GraphProto &)> collect = [&](const onnx::GraphProto &g) {
    for (const auto &node : g.node()) {
      nodes.push_back(&node);
      for (const auto &a : node.attribute())
        collect(a.g());
    }
  };
  collect(graph);
  std::map<std::string, const onnx::NodeProto *> producer;
  for (const auto *node : nodes)
    for (const auto &o : node->output())
      producer[o] = node;
  // The graph inputs `work` is computed from.
  auto inputsBehind = [&](std::vector<std::string> work) {
    std::set<std::string> seen, found;
    while (!work.empty()) {
      std::string name = work.back();
      work.pop_back();
      if (!seen.insert(name).second)
        continue;
      if (inputs.count(name))
        found.insert(name);
      auto p = producer.find(name);
      if (p == producer.end() || p->second->op_type() == "Shape" || p->second->op_type() == "Size")
        continue;
      for (const auto &in : p->second->input())
        if (!in.empty())
          work.push_back(in);
      // Subgraphs (If branches, loop bodies) read outer values by name.
      for (const auto &a : p->second->attribute())
        for (const std::string &in : namesReadIn(a.g()))
          work.push_back(in);
    }
    return found;
  };
  std::vector<std::string> work, conditions;
  for (const auto *node : nodes) {
    if (node->op_type() == "If" && node->input_size() > 0) {
      // An If giving sequences or optionals is resolved while compiling.
      bool structured = false;
      for (const auto &a : node->attribute())
        for (const auto &o : a.g().output())
          structured |= o.type().has_sequence_type() || o.type().has_optional_type();
      (structured ? work : conditions).push_back(node->input(0));
    }
    auto it = shapeOperands.find(node->op_type());
    if (it == shapeOperands.end())
      continue;
    for (int i : it->second)
      if (i < node->input_size() && !node->input(i).empty())
        work.push_back(node->input(i));
  }
  std::set<std::string> out = inputsBehind(work);
  // Other If conditions computed from scalar inputs (a sample rate, a mode
  // flag): exporters give each branch its own output shapes or ranks, which
  // only the branch taken decides, so such inputs may be compiled in too.
  // A condition on tensor data stays run-time data.
  std::map<std::string, const onnx::ValueInfoProto *> declared;
  for (const auto &in : graph.input())
    declared[in.name()] = &in;
  for (const std::string &name : inputsBehind(conditions)) {
    const onnx::ValueInfoProto *info = declared.at(name);
    if (!info->type().has_tensor_type() || !info->type().tensor_type().has_shape())
      continue;
    bool scalar = true;
    for (const auto &d : info->type().tensor_type().shape().dim())
      scalar &= d.has_dim_value() && d.dim_value() == 1;
    if (scalar)
      out.insert(name);
  }
  return out;
}

namespace {

std::string domainName(const std::string &d) { return d.empty() ? "ai.onnx" : d; }

/// The builder table's key: the op type, prefixed "domain:" outside ai.onnx.
std::string builderKey(const onnx::NodeProto &n) {
  std::string d = domainName(n.domain());
  return d == "ai.onnx" ? n.op_type() : d + ":" + n.op_type();
}

} // namespace

// ---------------------------------------------------------------------------
// Node builders
// ---------------------------------------------------------------------------

std::vector<Value> inputs(Importer &im, int count) {
  std::vector<Value> v;
  int n = count < 0 ? im.node->input_size() : count;
  for (int i = 0; i < n; ++i)
    v.push_back(im.input(i));
  return v;
}

/// Before opset 7, binary ops broadcast only when asked (`broadcast`), and
/// then B's dims line up with A's from `axis` on, not from the right.
void alignLegacyBroadcast(Importer &im, std::vector<Value> &ops) {
  const auto *bc = im.attr("broadcast");
  if (im.opset >= 7 || !bc || !bc->i() || ops.size() != 2)
    return;
  auto a = llvm::dyn_cast<RankedTensorType>(ops[0].getType());
  auto b = llvm::dyn_cast<RankedTensorType>(ops[1].getType());
  if (!a || !b || !b.hasStaticShape())
    im.fail("legacy broadcast needs ranked operands");
  const auto *ax = im.attr("axis");
  int64_t axis = ax ? ax->i() : a.getRank() - b.getRank();
  if (axis < 0)
    axis += a.getRank();
  if (axis < 0 || axis + b.getRank() > a.getRank())
    im.fail("legacy broadcast axis is out of range");
  llvm::SmallVector<int64_t> shape(b.getShape());
  shape.append(a.getRank() - axis - b.getRank(), 1);
  ops[1] = im.make("Reshape", {ops[1], im.i64Constant(shape)});
}

std::optional<double> constantScalar(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseElementsAttr>(cst.getValue());
  if (!dense || dense.getNumElements() != 1)
    return std::nullopt;
  if (llvm::isa<FloatType>(dense.getElementType()))
    return (*dense.getValues<APFloat>().begin()).convertToDouble();
  APInt x = *dense.getValues<APInt>().begin();
  return dense.getElementType().isUnsignedInteger() ? double(x.getZExtValue())
                                                    : double(x.getSExtValue());
}

NodeBuilder generic(std::string opName, int numOperands, std::set<std::string> legacy) {
  return [=](Importer &im, const onnx::NodeProto &) {
    if (numOperands >= 0 && im.node->input_size() > numOperands)
      im.fail("has " + std::to_string(im.node->input_size()) + " inputs, at most " +
              std::to_string(numOperands) + " allowed");
    auto ops = inputs(im, numOperands);
    std::set<std::string> dropped = legacy;
    static const std::set<std::string> legacyBroadcast = {
        "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "And", "Or", "Xor"};
    if (im.opset < 7 && legacyBroadcast.count(opName)) {
      alignLegacyBroadcast(im, ops);
      dropped.insert({"broadcast", "axis"});
    }
    im.bindOutputs(im.create(opName, ops, dropped));
  };
}

namespace {

/// Older opsets gave some inputs as attributes; turns attribute `name` into a
/// constant operand at position `index`.
NodeBuilder attrToInput(std::string opName, int numOperands, int index, std::string name,
                        int sinceOpset) {
  return [=](Importer &im, const onnx::NodeProto &) {
    auto ops = inputs(im, numOperands);
    if (im.opset < sinceOpset) {
      if (const auto *a = im.attr(name))
        ops[index] = im.i64Constant(llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end()));
    }
    im.bindOutputs(im.create(opName, ops, {name}));
  };
}

void buildClip(Importer &im, const onnx::NodeProto &) {
  auto ops = inputs(im, 3);
  if (im.opset < 11) {
    Type elem = llvm::cast<TensorType>(ops[0].getType()).getElementType();
    auto bound = [&](const char *name, int idx) {
      if (const auto *a = im.attr(name)) {
        auto t = RankedTensorType::get({}, elem);
        ops[idx] = ConstantOp::create(im.b, im.loc, t,
                                      DenseElementsAttr::get(t, FloatAttr::get(elem, a->f())));
      }
    };
    bound("min", 1);
    bound("max", 2);
  }
  im.bindOutputs(im.create("Clip", ops, {"min", "max", "consumed_inputs"}));
}

/// Cast of `x` to `elem`. Strings convert to and from f32, f64, integers
/// and bool; other float types go through f32.
Operation *createCast(Importer &im, Value x, Type elem) {
  Type from = llvm::cast<TensorType>(x.getType()).getElementType();
  bool narrowFloat = [](Type t) {
    auto f = llvm::dyn_cast<FloatType>(t);
    return f && f.getWidth() < 32;
  }(llvm::isa<StringType>(from) ? elem : from);
  if ((llvm::isa<StringType>(from) || llvm::isa<StringType>(elem)) && narrowFloat)
    x = im.castTo(x, im.b.getF32Type());
  return im.create("Cast", {x}, {"to"}, elem);
}

void buildCast(Importer &im, const onnx::NodeProto &) {
  const auto *to = im.attr("to");
  if (!to)
    im.fail("attribute 'to' is required");
  im.bindOutputs(createCast(im, im.input(0), im.elementType(to->i(), "target")));
}

void buildConstant(Importer &im, const onnx::NodeProto &n) {
  if (n.attribute_size() != 1)
    im.fail("needs exactly one value attribute");
  const auto &a = n.attribute(0);
  Value v;
  if (a.name() == "value") {
    v = im.constant(tensorFromProto(a.t(), im.baseDir, "attribute 'value'"));
  } else if (a.name() == "value_float" || a.name() == "value_floats") {
    std::vector<float> f = a.name() == "value_float"
                               ? std::vector<float>{a.f()}
                               : std::vector<float>(a.floats().begin(), a.floats().end());
    std::vector<int64_t> shape;
    if (a.name() == "value_floats")
      shape.push_back(f.size());
    v = im.constant(Tensor::fromVector(ElementType::Float32, shape, f));
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    std::vector<int64_t> i = a.name() == "value_int"
                                 ? std::vector<int64_t>{a.i()}
                                 : std::vector<int64_t>(a.ints().begin(), a.ints().end());
    std::vector<int64_t> shape;
    if (a.name() == "value_ints")
      shape.push_back(i.size());
    v = im.constant(Tensor::fromVector(ElementType::Int64, shape, i));
  } else {
    im.fail("attribute '" + a.name() + "' is not supported");
  }
  im.values[n.output(0)] = v;
}

/// Softmax and LogSoftmax before opset 13 coerce the input to 2-D at `axis`
/// (default 1); rewritten as Flatten -> op(axis=1) -> Reshape.
NodeBuilder softmaxLike(std::string opName) {
  return [=](Importer &im, const onnx::NodeProto &) {
    Value x = im.input(0);
    if (im.opset >= 13) {
      im.bindOutputs(im.create(opName, {x}));
      return;
    }
    auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
    if (!type)
      im.fail("opset < 13 needs an input of known rank");
    int64_t axis = im.attr("axis") ? im.attr("axis")->i() : 1;
    auto si64 = im.b.getIntegerType(64, true);
    OperationState flat(im.loc, "kiln.Flatten");
    flat.addOperands(x);
    flat.addAttribute("axis", IntegerAttr::get(si64, axis));
    flat.addTypes(UnrankedTensorType::get(type.getElementType()));
    Operation *f = im.b.create(flat);
    im.typeOp(f);
    OperationState sm(im.loc, "kiln." + opName);
    sm.addOperands(f->getResult(0));
    sm.addAttribute("axis", IntegerAttr::get(si64, 1));
    sm.addTypes(UnrankedTensorType::get(type.getElementType()));
    Operation *s = im.b.create(sm);
    im.typeOp(s);
    Value shape = type.hasStaticShape() ? im.i64Constant(type.getShape())
                                        : im.make("Shape", {x});
    OperationState rs(im.loc, "kiln.Reshape");
    rs.addOperands({s->getResult(0), shape});
    rs.addTypes(UnrankedTensorType::get(type.getElementType()));
    Operation *r = im.b.create(rs);
    im.typeOp(r);
    im.bindOutputs(r);
  };
}

/// Training-mode BatchNormalization normalizes with the batch's own mean
/// and (population) variance per channel, and returns the running
/// statistics moved towards them by 1 - momentum.
void buildBatchNormTraining(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0), scale = im.input(1), bias = im.input(2), mean = im.input(3),
        var = im.input(4);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || t.getRank() < 2 || !llvm::isa<FloatType>(t.getElementType()))
    im.fail("X must be a float tensor of rank 2 or more");
  Type elem = t.getElementType();
  const auto *e = im.attr("epsilon");
  const auto *m = im.attr("momentum");
  double eps = e ? e->f() : 1e-5, momentum = m ? m->f() : 0.9;
  llvm::SmallVector<int64_t> axes{0}, perChannel(t.getRank() - 1, 1);
  for (int64_t d = 2; d < t.getRank(); ++d)
    axes.push_back(d);
  perChannel[0] = t.getDimSize(1);
  Value axesV = im.i64Constant(axes);
  Value batchMean = im.make("ReduceMean", {x, axesV}, {im.intAttr("keepdims", 1)});
  Value centred = im.make("Sub", {x, batchMean});
  Value batchVar = im.make("ReduceMean", {im.make("Mul", {centred, centred}), axesV},
                           {im.intAttr("keepdims", 1)});
  auto channel = [&](Value v) { return im.make("Reshape", {v, im.i64Constant(perChannel)}); };
  Value y = im.make("Div", {centred, im.make("Sqrt", {im.make("Add", {batchVar, im.scalar(elem, eps)})})});
  y = im.make("Add", {im.make("Mul", {y, channel(scale)}), channel(bias)});
  im.values[n.output(0)] = y;
  auto running = [&](Value old, Value current) {
    Value flat = im.make("Reshape", {current, im.i64Constant({t.getDimSize(1)})});
    return im.make("Add", {im.make("Mul", {old, im.scalar(elem, momentum)}),
                           im.make("Mul", {flat, im.scalar(elem, 1 - momentum)})});
  };
  if (n.output_size() > 1 && !n.output(1).empty())
    im.values[n.output(1)] = running(mean, batchMean);
  if (n.output_size() > 2 && !n.output(2).empty())
    im.values[n.output(2)] = running(var, batchVar);
}

void buildBatchNorm(Importer &im, const onnx::NodeProto &n) {
  if (const auto *a = im.attr("spatial"))
    if (a->i() != 1)
      im.fail("spatial=0 is not supported");
  if (const auto *a = im.attr("training_mode"); a && a->i() != 0) {
    buildBatchNormTraining(im, n);
    return;
  }
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty())
      im.fail("training outputs (running mean/var) are not supported");
  im.bindOutputs(im.create("BatchNormalization", inputs(im, 5),
                           {"spatial", "is_test", "consumed_inputs", "training_mode"}));
}

/// Inference-mode Dropout (or training with ratio 0) is the identity; its
/// mask, when asked for, is all true. In training mode each element is
/// kept where a uniform sample in [0, 1) is at least the ratio, and scaled
/// by 1 / (1 - ratio).
void buildDropout(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  if (const auto *a = im.attr("is_test"); a && a->i() == 0 && im.opset < 7)
    im.fail("is_test=0 is not supported (inference only)");
  auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
  bool wantMask = n.output_size() > 1 && !n.output(1).empty();
  if (wantMask && !type)
    im.fail("the mask output needs an input of known rank");
  // Training (with a ratio that may be nonzero): known false, known true,
  // or chosen when the code runs.
  Value mode = n.input_size() > 2 && !n.input(2).empty() ? im.input(2) : Value();
  auto knownMode = mode ? getConstantInts(mode) : std::optional<llvm::SmallVector<int64_t>>();
  auto ratioValue = constantScalar(im.input(1));
  bool training = mode && !(ratioValue && *ratioValue == 0) && !(knownMode && (*knownMode)[0] == 0);
  Value keepAll;
  if (wantMask || (training && !knownMode)) {
    auto maskType = RankedTensorType::get(type.hasStaticShape() ? type.getShape()
                                                                : llvm::ArrayRef<int64_t>{},
                                          im.b.getI1Type());
    keepAll = ConstantOp::create(im.b, im.loc, maskType, DenseElementsAttr::get(maskType, true));
    if (!type.hasStaticShape()) // all true, in the input's shape
      keepAll = im.make("Expand", {keepAll, im.make("Shape", {x})});
  }
  if (!training) {
    im.values[n.output(0)] = x;
    if (wantMask)
      im.values[n.output(1)] = keepAll;
    return;
  }
  if (!type || !llvm::isa<FloatType>(type.getElementType()))
    im.fail("training mode needs a float input of known rank");
  Type elem = type.getElementType();
  Value ratio = im.input(1);
  ratio = llvm::isa<NoneType>(ratio.getType()) ? im.scalar(elem, 0.5) : im.castTo(ratio, elem);
  Value u = randomSamples(im, x, std::nullopt, false, 0.0, 1.0, elem);
  Value mask = im.make("GreaterOrEqual", {u, ratio});
  Value scale = im.make("Div", {im.scalar(elem, 1.0), im.make("Sub", {im.scalar(elem, 1.0), ratio})});
  Value y = im.make("Mul", {im.make("Mul", {x, im.castTo(mask, elem)}), scale});
  if (!knownMode) {
    Value on = im.make("Reshape", {mode, im.i64Constant({})});
    y = im.make("Where", {on, y, x});
    mask = im.make("Where", {on, mask, keepAll});
  }
  im.values[n.output(0)] = y;
  if (wantMask)
    im.values[n.output(1)] = mask;
}

/// ConstantOfShape with a constant shape is a splat constant; with a shape
/// computed at run time, the value expanded to it.
void buildConstantOfShape(Importer &im, const onnx::NodeProto &n) {
  Tensor fill(ElementType::Float32, {});
  if (const auto *a = im.attr("value"))
    fill = tensorFromProto(a->t(), im.baseDir, "attribute 'value'");
  if (fill.numElements() != 1)
    im.fail("attribute 'value' must hold one element");
  auto shape = getConstantInts(im.input(0));
  if (!shape) {
    auto st = llvm::dyn_cast<RankedTensorType>(im.input(0).getType());
    if (!st || st.getRank() != 1 || st.isDynamicDim(0))
      im.fail("a shape of unknown length is not supported");
    Value scalar = im.reshape(im.constant(fill), {});
    im.values[n.output(0)] = im.make("Expand", {scalar, im.input(0)});
    return;
  }
  for (int64_t d : *shape)
    if (d < 0)
      im.fail("negative dim in shape");
  Type elem = im.elementType(toOnnxType(fill.type()), "value");
  auto type = RankedTensorType::get(*shape, elem);
  im.checkSize(type);
  Value one = im.constant(fill);
  auto attr = llvm::cast<DenseElementsAttr>(one.getDefiningOp<ConstantOp>().getValue());
  one.getDefiningOp()->erase();
  auto splat = DenseElementsAttr::get(type, attr.getSplatValue<Attribute>());
  im.values[n.output(0)] = ConstantOp::create(im.b, im.loc, type, splat);
}

/// CastLike is Cast to the element type of its second input.
void buildCastLike(Importer &im, const onnx::NodeProto &) {
  auto like = llvm::dyn_cast<TensorType>(im.input(1).getType());
  if (!like)
    im.fail("input 'target_type' is required");
  im.bindOutputs(createCast(im, im.input(0), like.getElementType()));
}

/// Size of a statically shaped tensor is a constant.
void buildSize(Importer &im, const onnx::NodeProto &n) {
  auto type = llvm::dyn_cast<RankedTensorType>(im.input(0).getType());
  if (!type)
    im.fail("the size of a tensor of unknown rank is not supported");
  if (!type.hasStaticShape()) { // the product of the dims, when the code runs
    im.values[n.output(0)] = im.make("ReduceProd", {im.make("Shape", {im.input(0)}), im.none()},
                                     {im.intAttr("keepdims", 0)});
    return;
  }
  int64_t count = type.getNumElements();
  im.values[n.output(0)] =
      im.constant(Tensor::fromBytes(ElementType::Int64, {}, &count, sizeof count));
}

/// Shape of a statically shaped tensor is a constant (so shape arithmetic
/// downstream folds too).
void buildShape(Importer &im, const onnx::NodeProto &n) {
  auto type = llvm::dyn_cast<RankedTensorType>(im.input(0).getType());
  if (!type || !type.hasStaticShape()) {
    im.bindOutputs(im.create("Shape", {im.input(0)}));
    return;
  }
  int64_t rank = type.getRank();
  auto clampIdx = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t b = im.attr("start") ? clampIdx(im.attr("start")->i()) : 0;
  int64_t e = im.attr("end") ? clampIdx(im.attr("end")->i()) : rank;
  llvm::SmallVector<int64_t> dims(type.getShape().begin() + b,
                                  type.getShape().begin() + std::max(b, e));
  im.values[n.output(0)] = im.i64Constant(dims);
}

/// Range with constant start, limit and delta is a constant; otherwise the
/// code computes its length and values when it runs.
void buildRange(Importer &im, const onnx::NodeProto &n) {
  double v[3];
  ElementType type = ElementType::Float32;
  for (int i = 0; i < 3; ++i) {
    auto cst = im.input(i).getDefiningOp<ConstantOp>();
    auto dense = cst ? llvm::dyn_cast<DenseElementsAttr>(cst.getValue()) : DenseElementsAttr();
    if (!dense || dense.getNumElements() != 1) {
      Type et = llvm::cast<TensorType>(im.input(0).getType()).getElementType();
      if (!et.isF32() && !et.isF64() && !et.isInteger(16) && !et.isInteger(32) &&
          !et.isInteger(64))
        im.fail("a Range of this element type computed at run time is not supported");
      llvm::SmallVector<Value> scalars;
      for (int j = 0; j < 3; ++j)
        scalars.push_back(im.reshape(im.input(j), {}));
      im.values[n.output(0)] = im.make("Range", scalars);
      return;
    }
    Type et = dense.getElementType();
    if (auto f = llvm::dyn_cast<FloatType>(et)) {
      v[i] = dense.getSplatValue<APFloat>().convertToDouble();
      type = et.isF64() ? ElementType::Float64 : ElementType::Float32;
      if (!et.isF32() && !et.isF64() && !et.isF16() && !et.isBF16())
        im.fail("this element type is not supported (float, double, float16, bfloat16, "
                "int16, int32, int64 are)");
    } else {
      v[i] = double(dense.getSplatValue<APInt>().getSExtValue());
      unsigned w = et.getIntOrFloatBitWidth();
      type = w == 64 ? ElementType::Int64 : w == 32 ? ElementType::Int32 : ElementType::Int16;
    }
  }
  if (v[2] == 0)
    im.fail("delta must not be 0");
  int64_t count = std::max<int64_t>(0, (int64_t)std::ceil((v[1] - v[0]) / v[2]));
  if (count > (1 << 26))
    im.fail("Range of " + std::to_string(count) + " elements is too large to fold");
  Tensor t(type, {count});
  for (int64_t i = 0; i < count; ++i) {
    double x = v[0] + i * v[2];
    switch (type) {
    case ElementType::Float32: t.data<float>()[i] = float(v[0] + i * (float)v[2]); break;
    case ElementType::Float64: t.data<double>()[i] = x; break;
    case ElementType::Int64: t.data<int64_t>()[i] = (int64_t)x; break;
    case ElementType::Int32: t.data<int32_t>()[i] = (int32_t)x; break;
    default: t.data<int16_t>()[i] = (int16_t)x; break;
    }
  }
  // float16 and bfloat16 ranges are computed in float and rounded once.
  Type target = llvm::cast<TensorType>(im.input(0).getType()).getElementType();
  im.values[n.output(0)] = im.castTo(im.constant(t), target);
}

/// Compress: the positions where the condition holds (NonZero), gathered
/// along the axis, or from the flattened input when there is none. A
/// condition longer than the axis is cut to it (the spec allows shorter).
void buildCompress(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0), cond = im.input(1);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  auto ct = llvm::dyn_cast<RankedTensorType>(cond.getType());
  if (!xt || !ct || ct.getRank() != 1)
    im.fail("needs a ranked input and a 1-D condition");
  int64_t axis = 0;
  if (const auto *a = im.attr("axis")) {
    auto na = normalizeAxis(a->i(), xt.getRank());
    if (!na)
      im.fail("axis out of range");
    axis = *na;
  } else {
    x = im.reshape(x, {-1});
    xt = llvm::cast<RankedTensorType>(x.getType());
  }
  int64_t len = xt.getDimSize(axis);
  if (!ShapedType::isDynamic(len) && !ct.isDynamicDim(0)) {
    if (ct.getDimSize(0) > len)
      cond = im.slice(cond, 0, 0, len, 1);
  } else {
    // Lengths known at run time: the slice is computed by the code.
    Value axisLen = im.make("Shape", {x}, {im.intAttr("start", axis), im.intAttr("end", axis + 1)});
    cond = im.make("Slice", {cond, im.i64Constant({0}), axisLen, im.i64Constant({0}), im.none()});
  }
  Value positions = im.reshape(im.make("NonZero", {cond}), {-1});
  im.values[n.output(0)] = im.make("Gather", {x, positions}, {im.intAttr("axis", axis)});
}

/// Unique: the distinct slices along the axis (or of the flattened input)
/// found by the runtime's host kernel, then gathered.
void buildUnique(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt)
    im.fail("Unique of a tensor of unknown rank is not supported");
  Type elem = xt.getElementType();
  if (!elem.isF32() && !elem.isSignedInteger(64) && !elem.isSignlessInteger(64))
    im.fail("Unique of " + std::string(elem.isF64() ? "double" : "this element type") +
            " tensors is not supported (float and int64 are)");
  // The kernel sees an (outer, len, inner) view; its sizes come from
  // Shape(x), which folds when the dims are known.
  int64_t axis = 0;
  Value view;
  if (const auto *a = im.attr("axis")) {
    auto na = normalizeAxis(a->i(), xt.getRank());
    if (!na)
      im.fail("axis out of range");
    axis = *na;
    Value shape = im.make("Shape", {x});
    auto product = [&](int64_t from, int64_t to) {
      if (from == to)
        return im.i64Constant({1});
      return im.make("ReduceProd", {im.slice(shape, 0, from, to), im.i64Constant({0})},
                     {im.intAttr("keepdims", 1)});
    };
    Value viewShape = im.make("Concat", {product(0, axis), im.slice(shape, 0, axis, axis + 1),
                                         product(axis + 1, xt.getRank())},
                              {im.intAttr("axis", 0)});
    view = im.make("Reshape", {x, viewShape});
  } else {
    x = im.reshape(x, {-1});
    view = im.reshape(x, {1, -1, 1});
  }
  Operation *u = im.create("UniqueSlices", {view}, {"axis"}, {}, 3);
  Value first = u->getResult(0);
  Value y = im.make("Gather", {x, first}, {im.intAttr("axis", axis)});
  im.bindResults({y, first, u->getResult(1), u->getResult(2)});
}

/// Split's pieces come from the split input (13+), the split attribute
/// (before 13), num_outputs (18+, last piece smaller) or equal parts.
void buildSplit(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!type)
    im.fail("splitting a tensor of unknown rank is not supported");
  int64_t axis = im.attr("axis") ? im.attr("axis")->i() : 0;
  auto a = normalizeAxis(axis, type.getRank());
  if (!a)
    im.fail("axis out of range");
  int64_t dim = type.getDimSize(*a), count = n.output_size();
  llvm::SmallVector<int64_t> sizes;
  if (n.input_size() > 1 && !n.input(1).empty()) {
    auto c = getConstantInts(im.input(1));
    if (!c) {
      // Sizes known only at run time: piece i is x[sum(split[:i]) : sum(split[:i+1])].
      Value ends = im.make("CumSum", {im.castTo(im.input(1), im.b.getIntegerType(64)), im.i64Scalar(0)});
      std::vector<Value> parts;
      Value start = im.i64Constant({0});
      for (int i = 0; i < n.output_size(); ++i) {
        Value end = im.make("Gather", {ends, im.i64Constant({i})});
        parts.push_back(im.make("Slice", {x, start, end, im.i64Constant({*a}), im.none()}));
        start = end;
      }
      return im.bindResults(parts);
    }
    sizes = *c;
  } else if (const auto *s = im.attr("split")) {
    sizes.assign(s->ints().begin(), s->ints().end());
  } else {
    if (const auto *no = im.attr("num_outputs"))
      count = no->i();
    if (count <= 0)
      im.fail("num_outputs must be positive");
    // An axis known only at run time: the code sizes the pieces (-1).
    if (type.isDynamicDim(*a))
      sizes.assign(count, -1);
    int64_t piece = (dim + count - 1) / count;
    if (!im.attr("num_outputs") && !type.isDynamicDim(*a) && dim % count)
      im.fail("the axis does not split into equal parts");
    for (int64_t i = 0; i < count && !type.isDynamicDim(*a); ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(piece, dim - i * piece)));
  }
  if ((int64_t)sizes.size() != n.output_size())
    im.fail("split has " + std::to_string(sizes.size()) + " pieces for " +
            std::to_string(n.output_size()) + " outputs");
  // A constant (such as a shape) splits into constants, as slices.
  if (x.getDefiningOp<ConstantOp>() && !llvm::is_contained(sizes, -1)) {
    std::vector<Value> parts;
    int64_t offset = 0;
    for (int64_t size : sizes) {
      parts.push_back(im.slice(x, *a, offset, offset + size));
      offset += size;
    }
    return im.bindResults(parts);
  }
  NamedAttribute attr(im.b.getStringAttr("sizes"), im.b.getI64ArrayAttr(sizes));
  im.bindOutputs(im.create("Split", {x}, {"split", "num_outputs"}, {}, sizes.size(), {attr}));
}

/// Pad before opset 11 took pads and value as attributes.
void buildPad(Importer &im, const onnx::NodeProto &) {
  auto ops = inputs(im, 4);
  if (im.opset < 11) {
    const auto *p = im.attr("pads");
    if (!p)
      im.fail("attribute 'pads' is required");
    ops = {im.input(0), im.i64Constant(llvm::SmallVector<int64_t>(p->ints().begin(), p->ints().end())),
           im.none(), im.none()};
    if (const auto *v = im.attr("value")) {
      Type elem = llvm::cast<TensorType>(ops[0].getType()).getElementType();
      auto t = RankedTensorType::get({}, elem);
      ops[2] = ConstantOp::create(im.b, im.loc, t, DenseElementsAttr::get(t, FloatAttr::get(elem, v->f())));
    }
  }
  im.bindOutputs(im.create("Pad", ops, {"pads", "value"}));
}

/// LpNormalization: x / ||x||_p along axis (p is 1 or 2); zero where the norm is 0.
void buildLpNormalization(Importer &im, const onnx::NodeProto &n) {
  int64_t axis = im.attr("axis") ? im.attr("axis")->i() : -1;
  int64_t p = im.attr("p") ? im.attr("p")->i() : 2;
  if (p != 1 && p != 2)
    im.fail("p must be 1 or 2");
  Value x = im.input(0);
  auto type = llvm::dyn_cast<TensorType>(x.getType());
  if (!type || !llvm::isa<FloatType>(type.getElementType()))
    im.fail("needs a float input");
  Value norm = im.make(p == 1 ? "ReduceL1" : "ReduceL2", {x, im.i64Constant({axis})},
                       {im.intAttr("keepdims", 1)});
  // A zero vector stays zero (no 0/0).
  Value zero = im.scalar(type.getElementType(), 0.0);
  Value isZero = im.make("Equal", {norm, zero});
  im.values[n.output(0)] = im.make("Where", {isZero, zero, im.make("Div", {x, norm})});
}

/// MeanVarianceNormalization: (x - mean) / (sqrt(variance) + 1e-9) over axes.
void buildMeanVarianceNormalization(Importer &im, const onnx::NodeProto &n) {
  llvm::SmallVector<int64_t> axes{0, 2, 3};
  if (const auto *a = im.attr("axes"))
    axes.assign(a->ints().begin(), a->ints().end());
  Value x = im.input(0);
  auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!type || !llvm::isa<FloatType>(type.getElementType()))
    im.fail("needs a ranked float input");
  auto scalar = [&](double v) { return im.scalar(type.getElementType(), v); };
  Value mean = im.make("ReduceMean", {x, im.i64Constant(axes)}, {im.intAttr("keepdims", 1)});
  Value d = im.make("Sub", {x, mean});
  Value var = im.make("ReduceMean", {im.make("Mul", {d, d}), im.i64Constant(axes)},
                      {im.intAttr("keepdims", 1)});
  Value std = im.make("Add", {im.make("Sqrt", {var}), scalar(1e-9)});
  im.values[n.output(0)] = im.make("Div", {d, std});
}

/// DepthToSpace and SpaceToDepth are a reshape, a transpose and a reshape.
void buildDepthSpace(Importer &im, const onnx::NodeProto &n, bool toSpace) {
  Value x = im.input(0);
  auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!type || type.getRank() != 4 || !type.hasStaticShape())
    im.fail("needs a static 4-D input");
  if (!im.attr("blocksize"))
    im.fail("attribute 'blocksize' is required");
  int64_t bs = im.attr("blocksize")->i();
  auto sh = type.getShape();
  int64_t N = sh[0], C = sh[1], H = sh[2], W = sh[3];
  llvm::SmallVector<int64_t> mid, perm, out;
  if (toSpace) {
    bool crd = im.attr("mode") && im.attr("mode")->s() == "CRD";
    if (bs <= 0 || C % (bs * bs))
      im.fail("channels must divide by blocksize^2");
    mid = crd ? llvm::SmallVector<int64_t>{N, C / (bs * bs), bs, bs, H, W}
              : llvm::SmallVector<int64_t>{N, bs, bs, C / (bs * bs), H, W};
    perm = crd ? llvm::SmallVector<int64_t>{0, 1, 4, 2, 5, 3}
               : llvm::SmallVector<int64_t>{0, 3, 4, 1, 5, 2};
    out = {N, C / (bs * bs), H * bs, W * bs};
  } else {
    if (bs <= 0 || H % bs || W % bs)
      im.fail("height and width must divide by blocksize");
    mid = {N, C, H / bs, bs, W / bs, bs};
    perm = {0, 3, 5, 1, 2, 4};
    out = {N, C * bs * bs, H / bs, W / bs};
  }
  Value r1 = im.make("Reshape", {x, im.i64Constant(mid)});
  Value t = im.make("Transpose", {r1}, {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr(perm))});
  im.values[n.output(0)] = im.make("Reshape", {t, im.i64Constant(out)});
}

/// SoftmaxCrossEntropyLoss is LogSoftmax over the classes then
/// NegativeLogLikelihoodLoss; the log-probabilities are its second output.
void buildSoftmaxCrossEntropyLoss(Importer &im, const onnx::NodeProto &n) {
  Value logProb = im.make("LogSoftmax", {im.input(0)}, {im.intAttr("axis", 1)});
  llvm::SmallVector<NamedAttribute> attrs;
  if (const auto *r = im.attr("reduction"))
    attrs.push_back(NamedAttribute(im.b.getStringAttr("reduction"), im.b.getStringAttr(r->s())));
  if (const auto *ig = im.attr("ignore_index"))
    attrs.push_back(im.intAttr("ignore_index", ig->i()));
  im.values[n.output(0)] =
      im.make("NegativeLogLikelihoodLoss", {logProb, im.input(1), im.input(2)}, attrs);
  if (n.output_size() > 1 && !n.output(1).empty())
    im.values[n.output(1)] = logProb;
}

/// MaxPool's Indices output: each window's positions (padding pointing at
/// an extra -inf slot) gathered from the flattened input, ArgMax picks the
/// first maximum, and its position becomes the flat index into X
/// (row-major, or column-major within an image for storage_order 1).
Value maxPoolIndices(Importer &im, const onnx::NodeProto &n, Value x, Value pooled) {
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  auto yt = llvm::cast<RankedTensorType>(pooled.getType());
  if (!xt || !xt.hasStaticShape() || !yt.hasStaticShape() || !llvm::isa<FloatType>(xt.getElementType()))
    im.fail("Indices need a static float input");
  if (const auto *a = im.attr("auto_pad"); a && a->s() != "NOTSET")
    im.fail("Indices with auto_pad are not supported");
  int64_t spatial = xt.getRank() - 2, batch = xt.getDimSize(0), channels = xt.getDimSize(1);
  auto ints = [&](const char *name, int64_t count, int64_t dflt) {
    llvm::SmallVector<int64_t> v(count, dflt);
    if (const auto *a = im.attr(name))
      v.assign(a->ints().begin(), a->ints().end());
    return v;
  };
  auto kernel = ints("kernel_shape", spatial, 1), strides = ints("strides", spatial, 1),
       dil = ints("dilations", spatial, 1), pads = ints("pads", 2 * spatial, 0);
  if ((int64_t)kernel.size() != spatial || (int64_t)strides.size() != spatial || (int64_t)dil.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial)
    im.fail("kernel_shape, strides, dilations and pads must give one value per spatial axis (pads two)");
  const auto *so = im.attr("storage_order");
  bool columnMajor = so && so->i();
  llvm::SmallVector<int64_t> in(xt.getShape().drop_front(2)), out(yt.getShape().drop_front(2));
  int64_t inCount = 1, outCount = 1, window = 1;
  for (int64_t d = 0; d < spatial; ++d)
    inCount *= in[d], outCount *= out[d], window *= kernel[d];
  im.checkGenerated(double(outCount) * double(window) + double(inCount), "the pooling windows");
  std::vector<int64_t> taps, flatOf;
  for (int64_t o = 0; o < outCount; ++o)
    for (int64_t k = 0; k < window; ++k) {
      int64_t orem = o, krem = k, flat = 0;
      llvm::SmallVector<int64_t> pos(spatial);
      bool inside = true;
      for (int64_t d = spatial - 1; d >= 0; --d) {
        int64_t oc = orem % out[d], kc = krem % kernel[d];
        orem /= out[d], krem /= kernel[d];
        pos[d] = oc * strides[d] - pads[d] + kc * dil[d];
        inside &= pos[d] >= 0 && pos[d] < in[d];
      }
      for (int64_t d = 0; d < spatial; ++d)
        flat = flat * in[d] + pos[d];
      taps.push_back(inside ? flat : inCount);
    }
  for (int64_t p = 0; p < inCount; ++p) {
    // Position p (row-major) as the index ONNX reports.
    int64_t rem = p, cm = 0, stride = 1;
    llvm::SmallVector<int64_t> pos(spatial);
    for (int64_t d = spatial - 1; d >= 0; --d)
      pos[d] = rem % in[d], rem /= in[d];
    for (int64_t d = 0; d < spatial; ++d)
      cm += pos[d] * stride, stride *= in[d];
    flatOf.push_back(columnMajor ? cm : p);
  }
  Type elem = xt.getElementType();
  Value flatX = im.make("Reshape", {x, im.i64Constant({batch, channels, inCount})});
  Value padSlot = im.make("Expand", {im.scalar(elem, -std::numeric_limits<double>::infinity()),
                                     im.i64Constant({batch, channels, 1})});
  flatX = im.make("Concat", {flatX, padSlot}, {im.intAttr("axis", 2)});
  Value tapIdx = im.make("Reshape", {im.i64Constant(taps), im.i64Constant({outCount, window})});
  Value windows = im.make("Gather", {flatX, tapIdx}, {im.intAttr("axis", 2)}); // (N,C,O,K)
  Value best = im.make("ArgMax", {windows}, {im.intAttr("axis", 3), im.intAttr("keepdims", 0)});
  Value pos = im.make("GatherElements", {im.make("Expand", {tapIdx, im.i64Constant({batch, channels, outCount, window})}),
                                         im.make("Unsqueeze", {best, im.i64Constant({3})})},
                      {im.intAttr("axis", 3)});
  flatOf.push_back(0); // the padding slot is never the maximum of a window with an input
  pos = im.make("Gather", {im.i64Constant(flatOf), im.make("Squeeze", {pos, im.i64Constant({3})})},
                {im.intAttr("axis", 0)});
  // Offset of each (n, c) image in X.
  std::vector<int64_t> base;
  for (int64_t i = 0; i < batch * channels; ++i)
    base.push_back(i * inCount);
  Value offsets = im.make("Reshape", {im.i64Constant(base), im.i64Constant({batch, channels, 1})});
  llvm::SmallVector<int64_t> shape(yt.getShape());
  return im.make("Reshape", {im.make("Add", {pos, offsets}), im.i64Constant(shape)});
}

/// Hardmax: 1 where an element is the first maximum along axis, else 0,
/// as Equal(ArgMax(x, keepdims), index along axis).
void buildHardmax(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!type)
    im.fail("needs an input of known rank");
  int64_t axis = im.attr("axis") ? im.attr("axis")->i() : -1;
  if (im.opset < 13)
    im.fail("opset < 13 (2-D coercion) is not supported");
  auto a = normalizeAxis(axis, type.getRank());
  if (!a)
    im.fail("axis out of range");
  Value arg = im.make("ArgMax", {x}, {im.intAttr("axis", *a), im.intAttr("keepdims", 1)});
  llvm::SmallVector<int64_t> shape(type.getRank() - *a, 1);
  shape[0] = -1;
  Value iota;
  if (int64_t dim = type.getDimSize(*a); !ShapedType::isDynamic(dim)) {
    llvm::SmallVector<int64_t> ids(dim);
    for (int64_t i = 0; i < dim; ++i)
      ids[i] = i;
    iota = im.i64Constant(ids);
  } else { // 0 .. dim-1, the dim read when the code runs
    Value d = im.make("Shape", {x}, {im.intAttr("start", *a), im.intAttr("end", *a + 1)});
    iota = im.make("Range", {im.i64Scalar(0), im.reshape(d, {}), im.i64Scalar(1)});
  }
  Value index = im.make("Reshape", {iota, im.i64Constant(shape)});
  Value hit = im.make("Equal", {arg, index});
  OperationState cast(im.loc, "kiln.Cast");
  cast.addOperands(hit);
  cast.addTypes(UnrankedTensorType::get(type.getElementType()));
  Operation *op = im.b.create(cast);
  im.typeOp(op);
  im.values[n.output(0)] = op->getResult(0);
}

/// EyeLike of a static 2-D input is a constant.
void buildEyeLike(Importer &im, const onnx::NodeProto &n) {
  auto type = llvm::dyn_cast<RankedTensorType>(im.input(0).getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape())
    im.fail("needs a static 2-D input");
  int onnxType = im.attr("dtype") ? im.attr("dtype")->i() : -1;
  Type elem = onnxType >= 0 ? im.elementType(onnxType, "dtype") : type.getElementType();
  int64_t k = im.attr("k") ? im.attr("k")->i() : 0;
  auto out = RankedTensorType::get(type.getShape(), elem);
  if (out.getNumElements() > (1 << 22))
    im.fail("EyeLike of more than 4M elements is not supported");
  llvm::SmallVector<Attribute> values;
  for (int64_t i = 0; i < type.getDimSize(0); ++i)
    for (int64_t j = 0; j < type.getDimSize(1); ++j) {
      bool one = j - i == k;
      values.push_back(llvm::isa<FloatType>(elem) ? Attribute(FloatAttr::get(elem, one ? 1.0 : 0.0))
                                                 : Attribute(IntegerAttr::get(elem, one ? 1 : 0)));
    }
  im.values[n.output(0)] = ConstantOp::create(im.b, im.loc, out, DenseElementsAttr::get(out, values));
}

/// Slice before opset 10 took starts, ends and axes as attributes.
void buildSlice(Importer &im, const onnx::NodeProto &) {
  auto ops = inputs(im, 5);
  if (im.opset < 10) {
    auto ints = [&](const char *name) -> Value {
      const auto *a = im.attr(name);
      if (!a)
        return im.none();
      return im.i64Constant(llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end()));
    };
    ops = {im.input(0), ints("starts"), ints("ends"), ints("axes"), im.none()};
  }
  im.bindOutputs(im.create("Slice", ops, {"starts", "ends", "axes"}));
}

const std::unordered_map<std::string, NodeBuilder> &builders() {
  static const std::unordered_map<std::string, NodeBuilder> table = [] {
    std::unordered_map<std::string, NodeBuilder> t;
    for (const char *op : {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "LessOrEqual",
                           "Greater", "GreaterOrEqual", "And", "Or", "Xor"})
      t[op] = generic(op, 2);
    t["Mod"] = generic("Mod", 2);
    t["PRelu"] = [](Importer &im, const onnx::NodeProto &) {
      // Before opset 7 a 1-D slope holds one value per channel (axis 1).
      Value x = im.input(0), slope = im.input(1);
      auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
      auto st = llvm::dyn_cast<RankedTensorType>(slope.getType());
      if (im.opset < 7 && xt && st && xt.getRank() > 2 && st.getRank() == 1 &&
          st.getDimSize(0) == xt.getDimSize(1) && st.getDimSize(0) != 1) {
        llvm::SmallVector<int64_t> shape(xt.getRank() - 1, 1);
        shape[0] = st.getDimSize(0);
        slope = im.make("Reshape", {slope, im.i64Constant(shape)});
      }
      im.bindOutputs(im.create("PRelu", {x, slope}, {"consumed_inputs"}));
    };
    for (const char *op : {"BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitShift"})
      t[op] = generic(op, 2);
    for (const char *op : {"Max", "Min", "Sum", "Mean"})
      t[op] = generic(op, -1);
    for (const char *op : {"Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt",
                           "Reciprocal", "Floor", "Ceil", "Not", "Sin", "Cos", "Erf",
                           "Softplus", "Softsign", "Sign", "LeakyRelu", "Elu", "HardSigmoid",
                           "Selu", "Identity", "GlobalAveragePool", "GlobalMaxPool", "Acos",
                           "Asin", "Atan", "Tan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
                           "Round", "IsNaN", "IsInf", "HardSwish", "Mish", "Celu",
                           "ThresholdedRelu", "Shrink", "Gelu", "BitwiseNot"})
      t[op] = generic(op, 1);
    t["Flatten"] = generic("Flatten", 1);
    t["Transpose"] = generic("Transpose", 1);
    t["Concat"] = generic("Concat", -1);
    t["MatMul"] = generic("MatMul", 2);
    t["Gemm"] = generic("Gemm", 3, {"broadcast"});
    t["Conv"] = generic("Conv", 3);
    t["MaxPool"] = [](Importer &im, const onnx::NodeProto &n) {
      // Unsigned elements pool as a wider signed type (the order is the same).
      Value x = im.input(0);
      auto type = llvm::dyn_cast<RankedTensorType>(x.getType());
      if (n.output_size() > 1 && !n.output(1).empty()) {
        Operation *op = im.create("MaxPool", {x}, {"consumed_inputs"});
        im.values[n.output(0)] = op->getResult(0);
        im.values[n.output(1)] = maxPoolIndices(im, n, x, op->getResult(0));
        return;
      }
      if (!type || !type.getElementType().isUnsignedInteger()) {
        im.bindOutputs(im.create("MaxPool", {x}, {"consumed_inputs"}));
        return;
      }
      Type elem = type.getElementType();
      Operation *op = im.create("MaxPool", {im.castTo(x, im.b.getIntegerType(32))}, {"consumed_inputs"});
      if (n.output_size() > 1 && !n.output(1).empty())
        im.fail("output 1 ('" + n.output(1) + "') is not supported");
      im.values[n.output(0)] = im.castTo(op->getResult(0), elem);
    };
    t["AveragePool"] = generic("AveragePool", 1);
    t["Shape"] = buildShape;
    t["Size"] = buildSize;
    t["Range"] = buildRange;
    t["CastLike"] = buildCastLike;
    t["Where"] = generic("Where", 3);
    t["Trilu"] = generic("Trilu", 2);
    t["ArgMax"] = generic("ArgMax", 1);
    t["ArgMin"] = generic("ArgMin", 1);
    t["RMSNormalization"] = generic("RMSNormalization", 2);
    t["Gather"] = generic("Gather", 2);
    t["Expand"] = generic("Expand", 2);
    t["LayerNormalization"] = [](Importer &im, const onnx::NodeProto &) {
      im.bindOutputs(im.create("LayerNormalization", inputs(im, 3), {}, {}, 3));
    };
    t["Slice"] = buildSlice;
    t["Split"] = buildSplit;
    t["Hardmax"] = buildHardmax;
    t["EyeLike"] = buildEyeLike;
    t["NegativeLogLikelihoodLoss"] = generic("NegativeLogLikelihoodLoss", 3);
    t["SoftmaxCrossEntropyLoss"] = buildSoftmaxCrossEntropyLoss;
    t["LpNormalization"] = buildLpNormalization;
    t["MeanVarianceNormalization"] = buildMeanVarianceNormalization;
    t["DepthToSpace"] = [](Importer &im, const onnx::NodeProto &n) { buildDepthSpace(im, n, true); };
    t["SpaceToDepth"] = [](Importer &im, const onnx::NodeProto &n) { buildDepthSpace(im, n, false); };
    t["Pad"] = buildPad;
    t["GatherElements"] = generic("GatherElements", 2);
    t["Clip"] = buildClip;
    t["Cast"] = buildCast;
    t["CumSum"] = generic("CumSum", 2);
    t["GridSample"] = generic("GridSample", 2);
    t["RoiAlign"] = generic("RoiAlign", 3);
    t["TopK"] = [](Importer &im, const onnx::NodeProto &) {
      Value k = im.input(1);
      if (im.opset < 10) {
        const auto *a = im.attr("k");
        if (!a)
          im.fail("attribute 'k' is required");
        k = im.i64Constant({a->i()});
      }
      im.bindOutputs(im.create("TopK", {im.input(0), k}, {"k"}, {}, 2));
    };
    t["NonZero"] = generic("NonZero", 1);
    t["Unique"] = buildUnique;
    t["NonMaxSuppression"] = generic("NonMaxSuppression", 5);
    t["Compress"] = buildCompress;
    t["ScatterElements"] = generic("ScatterElements", 3);
    t["Scatter"] = generic("ScatterElements", 3); // its opset 9-10 name
    t["ScatterND"] = generic("ScatterND", 3);
    t["Einsum"] = generic("Einsum", -1);
    t["CumProd"] = generic("CumProd", 2);
    t["BitCast"] = [](Importer &im, const onnx::NodeProto &) {
      const auto *to = im.attr("to");
      if (!to)
        im.fail("attribute 'to' is required");
      im.bindOutputs(im.create("BitCast", {im.input(0)}, {"to"}, im.elementType(to->i(), "'to'")));
    };
    t["Constant"] = buildConstant;
    t["Softmax"] = softmaxLike("Softmax");
    t["LogSoftmax"] = softmaxLike("LogSoftmax");
    t["BatchNormalization"] = buildBatchNorm;
    t["Dropout"] = buildDropout;
    t["ConstantOfShape"] = buildConstantOfShape;
    t["LRN"] = generic("LRN", 1);
    t["Reshape"] = attrToInput("Reshape", 2, 1, "shape", 5);
    t["Unsqueeze"] = attrToInput("Unsqueeze", 2, 1, "axes", 13);
    t["Squeeze"] = attrToInput("Squeeze", 2, 1, "axes", 13);
    t["ReduceSum"] = attrToInput("ReduceSum", 2, 1, "axes", 13);
    for (const char *op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
      t[op] = attrToInput(op, 2, 1, "axes", 18);
    addAttentionBuilders(t);
    addComposedBuilders(t);
    addQuantizationBuilders(t);
    addNormalizationBuilders(t);
    addSequenceBuilders(t);
    addResizeBuilders(t);
    addSignalBuilders(t);
    addStringBuilders(t);
    addControlFlowBuilders(t);
    addRecurrentBuilders(t);
    addTrainingBuilders(t);
    addRandomBuilders(t);
    addMicrosoftBuilders(t);
    return t;
  }();
  return table;
}

const char *attributeKindName(int kind) {
  static const char *names[] = {"UNDEFINED", "FLOAT",  "INT",     "STRING",  "TENSOR",
                                "GRAPH",     "FLOATS", "INTS",    "STRINGS", "TENSORS",
                                "GRAPHS",    "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO",
                                "TYPE_PROTOS"};
  return kind >= 0 && kind < (int)std::size(names) ? names[kind] : "an unknown kind";
}

/// Kinds the ONNX schemas give each attribute of each op, over all opset
/// versions (scripts/attribute_kinds.py).
struct AttributeKind {
  const char *domain, *op, *name;
  uint32_t mask;
};
const AttributeKind kAttributeKinds[] = {
#include "frontend/AttributeKinds.inc"
};

/// Builders read an attribute through the field its declared kind names
/// (`i`, `ints`, ...); a kind that is not the schema's would make them read
/// an empty field, so it is refused here, before any builder runs.
std::string checkAttributeKinds(const onnx::NodeProto &n) {
  static const auto table = [] {
    std::map<std::tuple<std::string_view, std::string_view, std::string_view>, uint32_t> m;
    for (const AttributeKind &k : kAttributeKinds)
      m[{k.domain, k.op, k.name}] = k.mask;
    return m;
  }();
  std::string domain = domainName(n.domain());
  for (const auto &a : n.attribute()) {
    int kind = a.type();
    if (kind == onnx::AttributeProto::UNDEFINED && a.ref_attr_name().empty())
      return "attribute '" + a.name() + "' declares no kind";
    auto it = table.find({domain, n.op_type(), a.name()});
    if (it == table.end() || !a.ref_attr_name().empty())
      continue;
    if (kind < 0 || kind >= 32 || !(it->second & (1u << kind))) {
      std::string expected;
      for (int k = 0; k < 32; ++k)
        if (it->second & (1u << k))
          expected += (expected.empty() ? "" : " or ") + std::string(attributeKindName(k));
      return "attribute '" + a.name() + "' is declared " + attributeKindName(kind) + ", but " +
             n.op_type() + "'s '" + a.name() + "' is " + expected;
    }
  }
  return "";
}

/// Input positions every version of an op requires (scripts/attribute_kinds.py).
struct RequiredInputs {
  const char *domain, *op;
  uint32_t mask;
};
const RequiredInputs kRequiredInputs[] = {
#include "frontend/RequiredInputs.inc"
};

/// Builders read required inputs without checking they exist: a node that
/// leaves one out (or names it "") is refused here.
std::string checkRequiredInputs(const onnx::NodeProto &n) {
  static const auto table = [] {
    std::map<std::pair<std::string_view, std::string_view>, uint32_t> m;
    for (const RequiredInputs &r : kRequiredInputs)
      m[{r.domain, r.op}] = r.mask;
    return m;
  }();
  auto it = table.find({domainName(n.domain()), n.op_type()});
  if (it == table.end())
    return "";
  for (int p = 0; p < 32; ++p)
    if ((it->second >> p & 1) && (p >= n.input_size() || n.input(p).empty()))
      return "input " + std::to_string(p) + " is required, but the node gives none";
  return "";
}

/// Bytes a TensorProto declares (from its dims and type; for strings, the
/// bytes it holds), or UINT64_MAX where that overflows.
uint64_t declaredBytes(const onnx::TensorProto &t) {
  auto type = fromOnnxType(t.data_type());
  if (type && *type == ElementType::String) {
    uint64_t n = 0;
    for (const auto &s : t.string_data())
      n += s.size() + sizeof(void *);
    return n;
  }
  uint64_t n = 1;
  for (int64_t d : t.dims())
    if (d > 0 && __builtin_mul_overflow(n, uint64_t(d), &n))
      return UINT64_MAX;
    else if (d <= 0)
      n = 0;
  uint64_t bits = type ? elementSize(*type) * 8 : 8;
  if (__builtin_mul_overflow(n, bits, &n))
    return UINT64_MAX;
  return std::max<uint64_t>((n + 7) / 8, t.raw_data().size());
}

/// Refuses a model past Limits on nodes, subgraph nesting, tensor and
/// weight bytes, before any of its weights is read.
class LimitsCheck {
public:
  LimitsCheck(const Limits &limits, const std::string &modelName)
      : limits(limits), modelName(modelName) {}

  void graph(const onnx::GraphProto &g, int depth, const onnx::NodeProto *owner) {
    if (depth > limits.maxNestingDepth)
      fail(owner, "subgraphs nest deeper than " + std::to_string(limits.maxNestingDepth) +
                      " levels (Limits::maxNestingDepth)");
    for (const auto &init : g.initializer())
      weight(init, "initializer '" + init.name() + "'");
    int index = 0;
    for (const auto &n : g.node()) {
      if (++nodes > limits.maxNodes)
        fail(&n, "the graph has more than " + std::to_string(limits.maxNodes) +
                     " nodes (Limits::maxNodes)", index);
      for (const auto &a : n.attribute()) {
        if (a.has_t())
          weight(a.t(), "attribute '" + a.name() + "' of node '" + label(n, index) + "'");
        for (const auto &t : a.tensors())
          weight(t, "attribute '" + a.name() + "' of node '" + label(n, index) + "'");
        if (a.has_g())
          graph(a.g(), depth + 1, &n);
        for (const auto &sub : a.graphs())
          graph(sub, depth + 1, &n);
      }
      ++index;
    }
  }

private:
  const Limits &limits;
  const std::string &modelName;
  uint64_t nodes = 0, weightBytes = 0;

  static std::string label(const onnx::NodeProto &n, int index) {
    return n.name().empty() ? n.op_type() + "#" + std::to_string(index) : n.name();
  }
  [[noreturn]] void fail(const onnx::NodeProto *n, const std::string &why, int index = 0) {
    std::string where = n ? "node '" + label(*n, index) + "' (" + n->op_type() + "): " : "";
    throw Error("model '" + modelName + "': " + where + why);
  }
  void weight(const onnx::TensorProto &t, const std::string &what) {
    uint64_t bytes = declaredBytes(t);
    if (bytes > limits.maxTensorBytes)
      fail(nullptr, what + " declares " +
                        (bytes == UINT64_MAX ? std::string("more than 2^64 bytes")
                                             : std::to_string(bytes) + " bytes") +
                        ", more than the limit of " + std::to_string(limits.maxTensorBytes) +
                        " (Limits::maxTensorBytes)");
    weightBytes += bytes;
    if (weightBytes > limits.maxWeightBytes)
      fail(nullptr, "the weights exceed the limit of " + std::to_string(limits.maxWeightBytes) +
                        " bytes (Limits::maxWeightBytes) at " + what);
  }
};

} // namespace

const BuilderTable &nodeBuilders() { return builders(); }

void Importer::importNodes(const google::protobuf::RepeatedPtrField<onnx::NodeProto> &nodes) {
  const auto &table = builders();
  // ONNX graphs are in SSA form: every name is defined once in its graph.
  std::set<std::string> defined;
  if (graph && &nodes == &graph->node()) {
    for (const auto &v : graph->input())
      defined.insert(v.name());
    for (const auto &t : graph->initializer())
      defined.insert(t.name());
  }
  for (const auto &n : nodes) {
    node = &n;
    // The node's name, and its op type as metadata below it (ops composed
    // for one node name it in run-time errors by the node's type).
    loc = NameLoc::get(b.getStringAttr(nodeName(n)),
                       FusedLoc::get(&ctx, {fileLoc}, b.getStringAttr(n.op_type())));
    auto it = table.find(builderKey(n));
    if (it == table.end())
      throw Error("model '" + modelName + "': unsupported ONNX op '" + n.op_type() +
                  "' (domain '" + domainName(n.domain()) + "', opset " + std::to_string(opset) +
                  ") at node '" + nodeName(n) + "'");
    if (std::string bad = checkAttributeKinds(n); !bad.empty())
      fail(bad);
    if (std::string bad = checkRequiredInputs(n); !bad.empty())
      fail(bad);
    for (const std::string &out : n.output())
      if (!out.empty() && !defined.insert(out).second)
        fail("output '" + out + "' is already defined in this graph (names must be unique)");
    it->second(*this, n);
    ++nodeIndex;
  }
}

Importer::GraphValue Importer::lookup(const std::string &name) {
  if (emptyOptionals.count(name))
    return {GraphValue::Empty, {}, {}};
  auto seq = sequences.find(name);
  if (seq != sequences.end())
    return GraphValue::sequence(seq->second);
  auto it = values.find(name);
  if (it == values.end())
    fail("'" + name + "' is not defined before use");
  return GraphValue::of(it->second);
}

void Importer::bind(const std::string &name, const GraphValue &v) {
  values.erase(name);
  sequences.erase(name);
  emptyOptionals.erase(name);
  switch (v.kind) {
  case GraphValue::Tensor: values[name] = v.tensor; break;
  case GraphValue::Sequence: sequences[name] = v.items; break;
  case GraphValue::Empty: emptyOptionals.insert(name); break;
  }
}

std::vector<Importer::GraphValue>
Importer::importSubgraphValues(const onnx::GraphProto &g, const std::vector<GraphValue> &inputs) {
  const onnx::NodeProto *outer = node;
  Location outerLoc = loc;
  if (g.input_size() != (int)inputs.size())
    fail("subgraph '" + g.name() + "' has " + std::to_string(g.input_size()) + " inputs, " +
         std::to_string(inputs.size()) + " given");
  for (int i = 0; i < g.input_size(); ++i)
    bind(g.input(i).name(), inputs[i]);
  for (const auto &init : g.initializer())
    bind(init.name(), GraphValue::of(constant(tensorFromProto(init, baseDir, "initializer '" + init.name() + "'"))));
  for (const auto &sparse : g.sparse_initializer())
    fail("sparse initializer '" + sparse.values().name() + "' is not supported");
  importNodes(g.node());
  node = outer;
  loc = outerLoc;
  std::vector<GraphValue> outs;
  for (const auto &o : g.output())
    outs.push_back(lookup(o.name()));
  return outs;
}

std::vector<Value> Importer::importSubgraph(const onnx::GraphProto &g, llvm::ArrayRef<Value> inputs) {
  std::vector<GraphValue> in;
  for (Value v : inputs)
    in.push_back(GraphValue::of(v));
  std::vector<GraphValue> outs = importSubgraphValues(g, in);
  std::vector<Value> tensors;
  for (int i = 0; i < (int)outs.size(); ++i) {
    if (outs[i].kind != GraphValue::Tensor)
      fail("subgraph output '" + g.output(i).name() + "' is " +
           (outs[i].kind == GraphValue::Sequence ? "a sequence" : "an empty optional") +
           ", which is supported only when the node is resolved while compiling (If with a "
           "condition, Loop with a trip count and condition known then)");
    tensors.push_back(outs[i].tensor);
  }
  return tensors;
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model) {
  const onnx::GraphProto &graph = model.graph();
  std::map<std::string, int64_t> opsets;
  for (const auto &o : model.opset_import())
    opsets[domainName(o.domain())] = o.version();
  opset = opsets.count("ai.onnx") ? opsets["ai.onnx"] : 0;
  LimitsCheck(opts.limits, modelName).graph(graph, 0, nullptr);
  for (const auto &f : graph.sparse_initializer())
    fail("sparse initializer '" + f.values().name() + "' is not supported");

  auto fileLoc = FileLineColLoc::get(&ctx, modelName, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  b.setInsertionPointToEnd(module->getBody());

  std::set<std::string> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());

  // Graph inputs that stay arguments; a sequence's tensors are one each.
  llvm::SmallVector<Type> argTypes;
  llvm::SmallVector<std::string> argNames;
  std::vector<std::pair<std::string, bool>> argBindings; // graph input, is a sequence item
  for (const auto &in : graph.input()) {
    if (initializerNames.count(in.name()) || opts.constantInputs.count(in.name()))
      continue;
    const onnx::TypeProto *vt = &in.type();
    bool optional = vt->has_optional_type(), sequence = false;
    if (optional)
      vt = &vt->optional_type().elem_type();
    if (vt->has_sequence_type()) {
      sequence = true;
      vt = &vt->sequence_type().elem_type();
    }
    if (!vt->has_tensor_type())
      fail("input '" + in.name() + "' is not a tensor, a sequence of tensors or an optional of "
           "those (maps and sparse tensors are not supported)");
    if (opts.absentInputs.count(in.name())) {
      if (!optional)
        fail("input '" + in.name() + "' is not optional and cannot be given empty");
      emptyOptionals.insert(in.name());
      continue;
    }
    const auto &tt = vt->tensor_type();
    Type elem = elementType(tt.elem_type(), "input '" + in.name() + "'");
    auto typeFor = [&](const std::vector<int64_t> &shape) {
      if (tt.has_shape() && tt.shape().dim_size() != (int)shape.size())
        fail("input '" + in.name() + "' has rank " + std::to_string(tt.shape().dim_size()) +
             ", given shape has rank " + std::to_string(shape.size()));
      Type type = RankedTensorType::get(shape, elem);
      checkSize(type);
      return type;
    };
    if (sequence) {
      auto given = opts.sequenceInputs.find(in.name());
      if (given == opts.sequenceInputs.end())
        fail("input '" + in.name() + "' is a sequence: compiling it needs the number and "
             "shapes of its tensors (a session compiles for those it is given)");
      if (given->second.size() > 4096)
        fail("input '" + in.name() + "' holds more than 4096 tensors");
      sequences[in.name()] = {};
      for (size_t i = 0; i < given->second.size(); ++i) {
        argTypes.push_back(typeFor(given->second[i]));
        argNames.push_back(sequenceItemName(in.name(), i));
        argBindings.emplace_back(in.name(), true);
      }
      continue;
    }
    Type type;
    auto ov = opts.inputShapes.find(in.name());
    if (ov != opts.inputShapes.end()) {
      type = typeFor(ov->second);
    } else if (tt.has_shape()) {
      llvm::SmallVector<int64_t> dims;
      for (const auto &d : tt.shape().dim())
        dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value()
                                                               : ShapedType::kDynamic);
      type = RankedTensorType::get(dims, elem);
      if (std::string why = sizeProblem(type); !why.empty())
        fail("input '" + in.name() + "': " + why);
    } else {
      type = UnrankedTensorType::get(elem);
    }
    argTypes.push_back(type);
    argNames.push_back(in.name());
    argBindings.emplace_back(in.name(), false);
  }

  auto func = func::FuncOp::create(b, fileLoc, kEntryFunction,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (size_t i = 0; i < argNames.size(); ++i) {
    if (argBindings[i].second)
      sequences[argBindings[i].first].push_back(entry->getArgument(i));
    else
      values[argNames[i]] = entry->getArgument(i);
    // The caller's input buffers are read-only to the compiled code.
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  }

  loc = fileLoc;
  for (const auto &init : graph.initializer()) {
    // A model compiled once gives its weights' bytes to the constants.
    if (opts.releaseInitializerData)
      if (std::optional<Value> adopted =
              adoptRawData(const_cast<onnx::TensorProto &>(init))) {
        values[init.name()] = *adopted;
        continue;
      }
    Tensor weight;
    try {
      weight = tensorFromProto(init, baseDir, "initializer '" + init.name() + "'");
    } catch (const Error &e) {
      fail(e.what());
    }
    values[init.name()] = constant(weight, /*shared=*/true);
    if (opts.releaseInitializerData)
      std::string().swap(*const_cast<onnx::TensorProto &>(init).mutable_raw_data());
  }
  for (const auto &kv : opts.constantInputs)
    values[kv.first] = constant(kv.second);

  checkOpsSupported(model, modelName); // names the first unsupported op
  this->fileLoc = fileLoc;
  this->graph = &graph;
  importNodes(graph.node());
  node = nullptr;

  llvm::SmallVector<Value> results;
  llvm::SmallVector<Attribute> outNames, inNames;
  for (const auto &out : graph.output()) {
    bool optional = out.type().has_optional_type();
    if (!values.count(out.name()) && !sequences.count(out.name()) &&
        !emptyOptionals.count(out.name()))
      fail("graph output '" + out.name() + "' is never produced");
    GraphValue v = lookup(out.name());
    if (v.kind == GraphValue::Tensor && llvm::isa<NoneType>(v.tensor.getType()))
      v.kind = GraphValue::Empty;
    switch (v.kind) {
    case GraphValue::Empty:
      if (!optional)
        fail("graph output '" + out.name() + "' is absent, and the model does not declare it "
             "optional");
      break;
    case GraphValue::Tensor:
      results.push_back(v.tensor);
      outNames.push_back(b.getStringAttr(out.name()));
      break;
    case GraphValue::Sequence:
      for (size_t i = 0; i < v.items.size(); ++i) {
        results.push_back(v.items[i]);
        outNames.push_back(b.getStringAttr(sequenceItemName(out.name(), i)));
      }
      if (v.items.empty()) {
        results.push_back(zeros({0}, b.getIntegerType(8)));
        outNames.push_back(b.getStringAttr(emptySequenceName(out.name())));
      }
      break;
    }
  }
  for (auto &n : argNames)
    inNames.push_back(b.getStringAttr(n));
  func::ReturnOp::create(b, fileLoc, results);
  func.setType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func->setAttr("kiln.input_names", b.getArrayAttr(inNames));
  func->setAttr("kiln.output_names", b.getArrayAttr(outNames));

  std::string diag;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return success();
  });
  if (failed(verify(*module)))
    fail("imported graph does not verify: " + diag);
  return module;
}

void checkOpsSupported(const onnx::ModelProto &model, const std::string &modelName) {
  std::map<std::string, int64_t> opsets;
  for (const auto &o : model.opset_import())
    opsets[domainName(o.domain())] = o.version();
  const auto &table = builders();
  int index = 0;
  for (const auto &n : model.graph().node()) {
    std::string domain = domainName(n.domain());
    bool known = opsets.count(domain) && table.count(builderKey(n));
    if (!known) {
      int64_t v = opsets.count(domain) ? opsets[domain] : 0;
      std::string name = n.name().empty() ? n.op_type() + "#" + std::to_string(index) : n.name();
      throw Error("model '" + modelName + "': unsupported ONNX op '" + n.op_type() +
                  "' (domain '" + domain + "', opset " + std::to_string(v) + ") at node '" +
                  name + "'");
    }
    ++index;
  }
}

OwningOpRef<ModuleOp> importModel(const onnx::ModelProto &model, MLIRContext &context,
                                  const ImportOptions &options) {
  registerImportDialects(context);
  Importer importer(context, options);
  return importer.run(model);
}

} // namespace kiln
