//===- Microsoft.cpp - ONNX Runtime's com.microsoft ops -------------------===//
//
// Ops outside the ONNX standard that ONNX Runtime's exporters, transformer
// optimizer and quantization tools write into models. Each is composed from
// ONNX ops with the semantics ONNX Runtime gives it (its contrib op schemas
// and CPU kernels); docs/SupportedOps.md lists them, and
// test/unit/MicrosoftOpsTest compares each with ONNX Runtime.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <cstring>
#include <map>
#include <memory>
#include <cmath>

namespace kiln {
namespace {

/// Attributes of contrib ops are not in the ONNX schemas' table
/// (AttributeKinds.inc): each is read through the kind checked here.
const onnx::AttributeProto *typedAttr(Importer &im, const char *name,
                                      onnx::AttributeProto::AttributeType kind,
                                      const char *kindName) {
  const auto *a = im.attr(name);
  if (a && a->type() != kind)
    im.fail(std::string("attribute '") + name + "' must be " + kindName);
  return a;
}
float floatAttr(Importer &im, const char *name, float dflt) {
  const auto *a = typedAttr(im, name, onnx::AttributeProto::FLOAT, "a FLOAT");
  return a ? a->f() : dflt;
}
int64_t intAttr(Importer &im, const char *name, std::optional<int64_t> dflt = std::nullopt) {
  const auto *a = typedAttr(im, name, onnx::AttributeProto::INT, "an INT");
  if (!a && !dflt)
    im.fail(std::string("attribute '") + name + "' is required");
  return a ? a->i() : *dflt;
}
/// Refuses attributes the composition would ignore.
void onlyAttributes(Importer &im, std::initializer_list<const char *> known) {
  for (const auto &a : im.node->attribute())
    if (std::none_of(known.begin(), known.end(), [&](const char *k) { return a.name() == k; }))
      im.fail("attribute '" + a.name() + "' is not supported");
}

bool present(Value v) { return v && !llvm::isa<NoneType>(v.getType()); }

Type elementOf(Importer &im, Value v, const char *what) {
  auto t = llvm::dyn_cast<TensorType>(v.getType());
  if (!t)
    im.fail(std::string(what) + " must be a tensor");
  return t.getElementType();
}

/// Runs the ONNX builder of `op` on `ins` as if the model held that node:
/// its attributes are the current node's named in `attributes`.
std::vector<Value> viaOnnx(Importer &im, const std::string &op, llvm::ArrayRef<Value> ins,
                           std::initializer_list<const char *> attributes, int numOutputs,
                           NodeBuilder builder = nullptr) {
  const onnx::NodeProto *outer = im.node;
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(outer->name());
  // Names no graph can hold (ONNX names are printable), dropped after use.
  std::string base = std::string("\x01") + std::to_string(im.nodeIndex) + "/" + op + "/";
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!present(ins[i])) {
      node.add_input("");
      continue;
    }
    node.add_input(base + "in" + std::to_string(i));
    im.values[node.input(i)] = ins[i];
  }
  for (int k = 0; k < numOutputs; ++k)
    node.add_output(base + "out" + std::to_string(k));
  for (const char *name : attributes)
    if (const auto *a = im.attr(name))
      *node.add_attribute() = *a;
  im.node = &node;
  (builder ? builder : nodeBuilders().at(op))(im, node);
  im.node = outer;
  std::vector<Value> outs;
  for (int k = 0; k < numOutputs; ++k) {
    auto it = im.values.find(node.output(k));
    outs.push_back(it == im.values.end() ? Value() : it->second);
    im.values.erase(node.output(k));
  }
  for (const std::string &in : node.input())
    im.values.erase(in);
  return outs;
}

Value gelu(Importer &im, Value x, const char *approximate) {
  return im.make("Gelu", {x}, {NamedAttribute(im.b.getStringAttr("approximate"),
                                              im.b.getStringAttr(approximate))});
}

/// Gelu(X): x * Phi(x), with erf.
void buildGelu(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  im.bindResults({gelu(im, im.input(0), "none")});
}

/// BiasGelu(A, B): Gelu(A + B), with erf.
void buildBiasGelu(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  im.bindResults({gelu(im, im.make("Add", {im.input(0), im.input(1)}), "none")});
}

/// FastGelu(X, bias?): the tanh approximation of Gelu(X + bias).
void buildFastGelu(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  Value x = im.input(0), bias = im.input(1);
  if (present(bias))
    x = im.make("Add", {x, bias});
  im.bindResults({gelu(im, x, "tanh")});
}

/// QuickGelu(X): x * sigmoid(alpha * x).
void buildQuickGelu(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {"alpha"});
  Value x = im.input(0);
  Value a = im.scalar(elementOf(im, x, "X"), floatAttr(im, "alpha", 1.702f));
  im.bindResults({im.make("Mul", {x, im.make("Sigmoid", {im.make("Mul", {x, a})})})});
}

/// BiasAdd(X, bias, skip): X + bias + skip.
void buildBiasAdd(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  im.bindResults({im.make("Add", {im.make("Add", {im.input(0), im.input(1)}), im.input(2)})});
}

/// `v` with its last two dims swapped.
Value transposeLast2(Importer &im, Value v, const char *what) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    im.fail(std::string(what) + " needs a known rank");
  if (t.getRank() < 2)
    return v;
  llvm::SmallVector<int64_t> perm;
  for (int64_t i = 0; i < t.getRank(); ++i)
    perm.push_back(i);
  std::swap(perm[t.getRank() - 1], perm[t.getRank() - 2]);
  return im.transpose(v, perm);
}

/// FusedMatMul(A, B): alpha * op(A) x op(B), op transposing the last two
/// dims where transA / transB are set.
void buildFusedMatMul(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {"alpha", "transA", "transB", "transBatchA", "transBatchB"});
  if (intAttr(im, "transBatchA", 0) || intAttr(im, "transBatchB", 0))
    im.fail("transBatchA and transBatchB are not supported");
  Value a = im.input(0), b = im.input(1);
  if (intAttr(im, "transA", 0))
    a = transposeLast2(im, a, "A");
  if (intAttr(im, "transB", 0))
    b = transposeLast2(im, b, "B");
  Value y = im.make("MatMul", {a, b});
  float alpha = floatAttr(im, "alpha", 1.0f);
  if (alpha != 1.0f)
    y = im.make("Mul", {y, im.scalar(elementOf(im, y, "A"), alpha)});
  im.bindResults({y});
}

/// SkipLayerNormalization(input, skip, gamma, beta?, bias?): LayerNorm over
/// the last axis of s = input + skip + bias; outputs Y, mean, 1/std, s.
void buildSkipLayerNormalization(Importer &im, const onnx::NodeProto &n) {
  onlyAttributes(im, {"epsilon"});
  Value s = im.make("Add", {im.input(0), im.input(1)});
  if (present(im.input(4)))
    s = im.make("Add", {s, im.input(4)});
  onnx::AttributeProto eps;
  eps.set_name("epsilon");
  eps.set_type(onnx::AttributeProto::FLOAT);
  eps.set_f(floatAttr(im, "epsilon", 1e-12f));
  // LayerNormalization's own epsilon default differs: pass it explicitly.
  onnx::NodeProto withEps = n;
  withEps.clear_attribute();
  *withEps.add_attribute() = eps;
  const onnx::NodeProto *outer = im.node;
  im.node = &withEps;
  std::vector<Value> ln =
      viaOnnx(im, "LayerNormalization", {s, im.input(2), im.input(3)}, {"epsilon"}, 3);
  im.node = outer;
  im.bindResults({ln[0], ln[1], ln[2], s});
}

/// SkipSimplifiedLayerNormalization(input, skip, gamma, bias?): RMS
/// normalization over the last axis of s = input + skip + bias; outputs Y,
/// (mean, unused), 1/rms, s.
void buildSkipSimplifiedLayerNormalization(Importer &im, const onnx::NodeProto &n) {
  onlyAttributes(im, {"epsilon"});
  if (n.output_size() > 1 && !n.output(1).empty())
    im.fail("output 1 (mean) is not produced by this op");
  Value s = im.make("Add", {im.input(0), im.input(1)});
  if (present(im.input(3)))
    s = im.make("Add", {s, im.input(3)});
  Type elem = elementOf(im, s, "input");
  Value meanSquare = im.make("ReduceMean", {im.make("Mul", {s, s}), im.i64Constant({-1})},
                             {im.intAttr("keepdims", 1)});
  Value inv = im.make("Reciprocal", {im.make("Sqrt", {im.make("Add", {meanSquare, im.scalar(elem, floatAttr(im, "epsilon", 1e-12f))})})});
  Value y = im.make("Mul", {im.make("Mul", {s, inv}), im.input(2)});
  im.bindResults({y, Value(), inv, s});
}

/// a * b for scales: `b` may be per column (N) of a matmul result.
Value dequantizedProduct(Importer &im, Value acc, Value scaleA, Value scaleB) {
  Type f32 = im.b.getF32Type();
  return im.make("Mul", {im.castTo(acc, f32), im.make("Mul", {im.castTo(scaleA, f32), im.castTo(scaleB, f32)})});
}

/// DynamicQuantizeMatMul(A, B, b_scale, b_zero_point?, bias?): A quantized
/// to uint8 as DynamicQuantizeLinear does, multiplied in integers with B,
/// scaled back to float, plus bias.
void buildDynamicQuantizeMatMul(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  std::vector<Value> q = viaOnnx(im, "DynamicQuantizeLinear", {im.input(0)}, {}, 3);
  Value acc = viaOnnx(im, "MatMulInteger", {q[0], im.input(1), q[2], im.input(3)}, {}, 1)[0];
  Value y = dequantizedProduct(im, acc, q[1], im.input(2));
  if (present(im.input(4)))
    y = im.make("Add", {y, im.input(4)});
  im.bindResults({y});
}

/// MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zero_point?,
/// b_zero_point?, bias?): integer matmul scaled back to float, plus bias.
void buildMatMulIntegerToFloat(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {});
  Value acc = viaOnnx(im, "MatMulInteger", {im.input(0), im.input(1), im.input(4), im.input(5)}, {}, 1)[0];
  Value y = dequantizedProduct(im, acc, im.input(2), im.input(3));
  if (present(im.input(6)))
    y = im.make("Add", {y, im.input(6)});
  im.bindResults({y});
}

/// The bytes of constant `v` (one element repeated for a splat).
struct ConstantBytes {
  DenseElementsAttr attr;
  llvm::ArrayRef<char> raw;
  bool splat = false;
  int64_t count = 0;
};
ConstantBytes constantBytes(Importer &im, Value v, const char *what) {
  auto cst = v.getDefiningOp<ConstantOp>();
  auto attr = cst ? llvm::dyn_cast<DenseElementsAttr>(cst.getValue()) : DenseElementsAttr();
  if (!attr)
    im.fail(std::string(what) + " must be an initializer (a constant)");
  return {attr, attr.getRawData(), attr.isSplat(), attr.getNumElements()};
}

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?): A x W + bias,
/// W (K x N) stored column by column in blocks of block_size values of
/// `bits` bits, packed from the low bits of each byte up; value q of
/// column n, block k is (q - zero_point[n, k]) * scale[n, k], the zero
/// point 2^(bits-1) when absent. The weights are constants, so W is
/// dequantized once, here.
void buildMatMulNBits(Importer &im, const onnx::NodeProto &) {
  onlyAttributes(im, {"K", "N", "bits", "block_size", "accuracy_level"});
  int64_t K = intAttr(im, "K"), N = intAttr(im, "N"), bits = intAttr(im, "bits", 4),
          block = intAttr(im, "block_size");
  if (bits != 2 && bits != 4 && bits != 8)
    im.fail("bits = " + std::to_string(bits) + " is not supported (2, 4 or 8)");
  if (K <= 0 || N <= 0 || block < 16 || (block & (block - 1)))
    im.fail("K, N and block_size (a power of two, at least 16) must be positive");
  if (present(im.input(4)))
    im.fail("input g_idx is not supported");
  int64_t blocks = (K + block - 1) / block, blobBytes = block * bits / 8;
  im.checkGenerated(double(K) * double(N), "the dequantized weight");
  Value a = im.input(0);
  if (!elementOf(im, a, "A").isF32())
    im.fail("A must be float32");
  ConstantBytes q = constantBytes(im, im.input(1), "B");
  ConstantBytes scales = constantBytes(im, im.input(2), "scales");
  if (!q.attr.getElementType().isUnsignedInteger(8) || (!q.splat && q.count != N * blocks * blobBytes))
    im.fail("B must be uint8 of shape [N, ceil(K / block_size), block_size * bits / 8]");
  if (!scales.attr.getElementType().isF32() || (!scales.splat && scales.count != N * blocks))
    im.fail("scales must be float32 with N * ceil(K / block_size) elements");
  std::optional<ConstantBytes> zp;
  Value zpValue = im.input(3);
  int64_t zpBytesPerColumn = (blocks * bits + 7) / 8;
  if (present(zpValue)) {
    zp = constantBytes(im, zpValue, "zero_points");
    bool packed = zp->attr.getElementType().isUnsignedInteger(8);
    if (!packed && !zp->attr.getElementType().isF32())
      im.fail("zero_points must be uint8 (packed) or float32");
    if (!zp->splat && zp->count != (packed ? N * zpBytesPerColumn : N * blocks))
      im.fail("zero_points has " + std::to_string(zp->count) + " elements, expected " +
              std::to_string(packed ? N * zpBytesPerColumn : N * blocks));
  }
  auto byteAt = [](const ConstantBytes &c, int64_t i) {
    return (uint8_t)c.raw[c.splat ? 0 : i];
  };
  auto floatAt = [](const ConstantBytes &c, int64_t i) {
    float f;
    std::memcpy(&f, c.raw.data() + (c.splat ? 0 : i) * 4, 4);
    return f;
  };
  unsigned mask = (1u << bits) - 1;
  std::vector<float> w(size_t(K) * N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < blocks; ++b) {
      float scale = floatAt(scales, n * blocks + b), zero = float(1 << (bits - 1));
      if (zp && zp->attr.getElementType().isF32()) {
        zero = floatAt(*zp, n * blocks + b);
      } else if (zp) {
        int64_t bit = b * bits;
        zero = float((byteAt(*zp, n * zpBytesPerColumn + bit / 8) >> (bit % 8)) & mask);
      }
      for (int64_t i = 0; i < block && b * block + i < K; ++i) {
        int64_t bit = i * bits;
        unsigned v = (byteAt(q, (n * blocks + b) * blobBytes + bit / 8) >> (bit % 8)) & mask;
        w[size_t(b * block + i) * N + n] = (float(v) - zero) * scale;
      }
    }
  Value weight = im.constant(Tensor::fromVector(ElementType::Float32, {K, N}, w));
  Value y = im.make("MatMul", {a, weight});
  if (present(im.input(5)))
    y = im.make("Add", {y, im.input(5)});
  im.bindResults({y});
}

/// `q` (int8/uint8) dequantized: (q - zp) * scale, with scale and zp of
/// shape [D] or [D, C] broadcast over q's [D, rows, C].
Value dequantizeRows(Importer &im, Value q, Value scale, Value zp) {
  Type f32 = im.b.getF32Type();
  auto shaped = [&](Value v) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t || t.getRank() < 1 || t.getRank() > 2)
      im.fail("weight scales and zero points must be of rank 1 or 2");
    return t.getRank() == 1 ? im.reshape(v, {-1, 1, 1}) : im.make("Unsqueeze", {v, im.i64Constant({1})});
  };
  Value v = im.castTo(q, f32);
  if (present(zp))
    v = im.make("Sub", {v, shaped(im.castTo(zp, f32))});
  return im.make("Mul", {v, shaped(im.castTo(scale, f32))});
}

/// `x` rounded to the uint8 grid DynamicQuantizeLinear would give it
/// ([min(x, 0), max(x, 0)] onto [0, 255]) and mapped back to float: what an
/// integer matmul over dynamically quantized `x` sees. All zeros stay zeros.
Value fakeQuantizeDynamic(Importer &im, Value x) {
  Type f32 = im.b.getF32Type();
  auto all = [&](const char *reduce, const char *clamp) {
    return im.make(clamp, {im.make(reduce, {x, im.none()}, {im.intAttr("keepdims", 0)}), im.scalar(f32, 0.0)});
  };
  Value lo = all("ReduceMin", "Min"), hi = all("ReduceMax", "Max");
  Value scale = im.make("Div", {im.make("Sub", {hi, lo}), im.scalar(f32, 255.0)});
  scale = im.make("Where", {im.make("Equal", {scale, im.scalar(f32, 0.0)}), im.scalar(f32, 1.0), scale});
  auto clip = [&](Value v) {
    return im.make("Clip", {v, im.scalar(f32, 0.0), im.scalar(f32, 255.0)});
  };
  Value zp = clip(im.make("Round", {im.make("Neg", {im.make("Div", {lo, scale})})}));
  Value q = clip(im.make("Add", {im.make("Round", {im.make("Div", {x, scale})}), zp}));
  return im.make("Mul", {im.make("Sub", {q, zp}), scale});
}

/// DynamicQuantizeLSTM(X, W, R, B?, sequence_lens?, initial_h?, initial_c?,
/// P?, W_scale, W_zero_point, R_scale, R_zero_point): an LSTM whose weights
/// are int8, stored transposed ([D, input, 4H] and [D, H, 4H]) with a scale
/// and zero point per direction or per column. As in ONNX Runtime's kernel,
/// the left operand of each weight matmul (all of X at once, then h at each
/// step) is quantized dynamically to uint8. Where the target has 8-bit dot
/// products the product is that integer matmul by the int8 weight (a step
/// reads a quarter of the bytes of R in f32), scaled back; elsewhere the
/// quantized operand is mapped back to float and multiplied by the
/// dequantized weight (exact up to float rounding).
void buildDynamicQuantizeLSTM(Importer &im, const onnx::NodeProto &n) {
  static const std::initializer_list<const char *> lstmAttributes = {
      "activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size",
      "input_forget"};
  onlyAttributes(im, lstmAttributes);
  Value w = im.transpose(dequantizeRows(im, im.input(1), im.input(8), im.input(9)), {0, 2, 1});
  Value r = im.transpose(dequantizeRows(im, im.input(2), im.input(10), im.input(11)), {0, 2, 1});
  Value weights[2] = {im.input(1), im.input(2)}, scales[2] = {im.input(8), im.input(10)},
        zeroPoints[2] = {im.input(9), im.input(11)};
  // Each direction's slab of a weight, cut once for all steps.
  auto slabs = std::make_shared<std::map<std::pair<Operation *, int64_t>, Value>>();
  auto product = [&im, weights, scales, zeroPoints, slabs](Value v, Value weightT, int64_t dir,
                                                           bool recurrent) -> Value {
    if (!im.opts.integerDotProducts)
      return im.make("MatMul", {fakeQuantizeDynamic(im, v), weightT});
    auto ofDir = [&](Value t) -> Value {
      // A constant's slab is cut here: the importer's folding leaves a
      // weight's Gather to run time, and the integer kernels need the
      // weight as a constant.
      auto type = llvm::dyn_cast<RankedTensorType>(t.getType());
      auto cst = t.getDefiningOp<ConstantOp>();
      std::optional<llvm::ArrayRef<char>> raw = cst ? kiln::constantBytes(cst.getValue()) : std::nullopt;
      if (cst)
        if (auto known = slabs->find({cst.getOperation(), dir}); known != slabs->end())
          return known->second;
      if (raw && type && type.hasStaticShape() && type.getRank() >= 1 && type.getDimSize(0) > dir) {
        Value &slab = (*slabs)[{cst.getOperation(), dir}];
        auto slabType = RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
        size_t bytes = raw->size() / type.getDimSize(0);
        ConstantBuffer data(bytes);
        std::memcpy(data.data(), raw->data() + dir * bytes, bytes);
        // (Right after the weight: it dominates every step that reads it.)
        OpBuilder::InsertionGuard guard(im.b);
        im.b.setInsertionPointAfter(cst);
        slab = ConstantOp::create(im.b, im.loc, slabType, constantAttr(slabType, std::move(data)));
        return slab;
      }
      Value gathered = im.make("Gather", {t, im.i64Scalar(dir)}, {im.intAttr("axis", 0)});
      // (A small one folds: kept for the later steps too.)
      if (cst && gathered.getDefiningOp<ConstantOp>())
        (*slabs)[{cst.getOperation(), dir}] = gathered;
      return gathered;
    };
    std::vector<Value> q = viaOnnx(im, "DynamicQuantizeLinear", {v}, {}, 3);
    Value zp = present(zeroPoints[recurrent]) ? ofDir(zeroPoints[recurrent]) : im.none();
    Value acc = viaOnnx(im, "MatMulInteger", {q[0], ofDir(weights[recurrent]), q[2], zp}, {}, 1)[0];
    return im.make("Mul", {im.castTo(acc, im.b.getF32Type()), im.make("Mul", {q[1], ofDir(scales[recurrent])})});
  };
  std::vector<Value> outs = viaOnnx(
      im, "LSTM", {im.input(0), w, r, im.input(3), im.input(4), im.input(5), im.input(6), im.input(7)},
      lstmAttributes, n.output_size(), [product](Importer &im, const onnx::NodeProto &lstm) {
        buildLstm(im, lstm, product);
      });
  im.bindResults(outs);
}

} // namespace

void addMicrosoftBuilders(BuilderTable &t) {
  t["com.microsoft:Gelu"] = buildGelu;
  t["com.microsoft:BiasGelu"] = buildBiasGelu;
  t["com.microsoft:FastGelu"] = buildFastGelu;
  t["com.microsoft:QuickGelu"] = buildQuickGelu;
  t["com.microsoft:BiasAdd"] = buildBiasAdd;
  t["com.microsoft:FusedMatMul"] = buildFusedMatMul;
  t["com.microsoft:SkipLayerNormalization"] = buildSkipLayerNormalization;
  t["com.microsoft:SkipSimplifiedLayerNormalization"] = buildSkipSimplifiedLayerNormalization;
  t["com.microsoft:DynamicQuantizeMatMul"] = buildDynamicQuantizeMatMul;
  t["com.microsoft:MatMulIntegerToFloat"] = buildMatMulIntegerToFloat;
  t["com.microsoft:MatMulNBits"] = buildMatMulNBits;
  t["com.microsoft:DynamicQuantizeLSTM"] = buildDynamicQuantizeLSTM;
}

} // namespace kiln
