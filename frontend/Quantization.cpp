//===- Quantization.cpp - linear quantization ops -------------------------===//
//
// Quantized ops are imported as their arithmetic: integer products and
// convolutions accumulate exactly in i32 on zero-point-centred operands;
// requantization scales in float, rounds half to even and saturates.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <cmath>

namespace kiln {
namespace {

/// Per-axis quantization parameters: reshaped so they broadcast along
/// `axis` of a tensor of rank `rank`; scalars and single elements as they are.
Value alongAxis(Importer &im, Value param, int64_t axis, int64_t rank) {
  auto t = llvm::dyn_cast<RankedTensorType>(param.getType());
  if (!t || t.getRank() != 1 || t.getDimSize(0) == 1 || rank <= 1)
    return param;
  auto a = normalizeAxis(axis, rank);
  if (!a)
    im.fail("axis out of range");
  llvm::SmallVector<int64_t> shape(rank - *a, 1);
  shape[0] = t.getDimSize(0);
  return im.make("Reshape", {param, im.i64Constant(shape)});
}

/// The operands and axis both quantization ops read.
struct QuantOperands {
  Value x, scale, zeroPoint;
  int64_t rank, axis;
};

/// A blocked parameter (x's shape with ceil(D / block) along `axis`) with
/// each value repeated over its block, cut to x's shape.
Value expandBlocks(Importer &im, Value param, RankedTensorType xt, int64_t axis, int64_t block) {
  auto pt = llvm::dyn_cast<RankedTensorType>(param.getType());
  int64_t dim = xt.getDimSize(axis);
  if (!pt || !pt.hasStaticShape() || pt.getRank() != xt.getRank() ||
      pt.getDimSize(axis) != (dim + block - 1) / block)
    im.fail("blocked scale and zero point must have x's shape with ceil(D / block_size) along axis");
  llvm::SmallVector<int64_t> split(pt.getShape()), expanded(pt.getShape()), merged(pt.getShape());
  split.insert(split.begin() + axis + 1, 1);
  expanded.insert(expanded.begin() + axis + 1, block);
  merged[axis] *= block;
  Value v = im.make("Reshape", {param, im.i64Constant(split)});
  v = im.make("Reshape", {im.make("Expand", {v, im.i64Constant(expanded)}), im.i64Constant(merged)});
  if (merged[axis] != dim)
    v = im.slice(v, axis, 0, dim);
  return v;
}

QuantOperands readQuantOperands(Importer &im) {
  QuantOperands q{im.input(0), im.input(1), im.input(2), 0, 1};
  auto xt = llvm::dyn_cast<RankedTensorType>(q.x.getType());
  if (!xt)
    im.fail("needs a ranked input");
  q.rank = xt.getRank();
  if (const auto *a = im.attr("axis"))
    q.axis = a->i();
  if (const auto *b = im.attr("block_size"); b && b->i() != 0) {
    auto axis = normalizeAxis(q.axis, q.rank);
    if (!axis || b->i() < 0 || !xt.hasStaticShape())
      im.fail("blocked quantization needs a static input, a valid axis and a positive block_size");
    q.scale = expandBlocks(im, q.scale, xt, *axis, b->i());
    if (!llvm::isa<NoneType>(q.zeroPoint.getType()))
      q.zeroPoint = expandBlocks(im, q.zeroPoint, xt, *axis, b->i());
  }
  return q;
}

/// DequantizeLinear: (x - zero_point) * scale, per tensor or per axis.
void buildDequantizeLinear(Importer &im, const onnx::NodeProto &n) {
  QuantOperands q = readQuantOperands(im);
  Type f = llvm::cast<TensorType>(q.scale.getType()).getElementType();
  Value v = im.castTo(q.x, f);
  if (!llvm::isa<NoneType>(q.zeroPoint.getType()))
    v = im.make("Sub", {v, alongAxis(im, im.castTo(q.zeroPoint, f), q.axis, q.rank)});
  im.values[n.output(0)] = im.make("Mul", {v, alongAxis(im, q.scale, q.axis, q.rank)});
}

/// `v` (float, already rounded) clipped to the range of integer type
/// `target` and converted to it.
Value saturateTo(Importer &im, Value v, Type target) {
  auto it = llvm::dyn_cast<IntegerType>(target);
  if (!it || it.getWidth() == 1)
    im.fail("quantizing to this element type is not supported");
  Type f = llvm::cast<TensorType>(v.getType()).getElementType();
  unsigned w = it.getWidth();
  double lo = it.isUnsigned() ? 0 : -std::ldexp(1.0, w - 1);
  double hi = it.isUnsigned() ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
  v = im.make("Clip", {v, im.scalar(f, lo), im.scalar(f, hi)});
  return im.castTo(v, target);
}

/// saturate(round_half_even(x / scale) + zero_point) into `target`; float8
/// and float4 targets round in the Cast itself (their zero point is 0).
Value quantize(Importer &im, Value x, Value scale, Value zp, int64_t axis, int64_t rank,
               Type target) {
  Type f = llvm::cast<TensorType>(x.getType()).getElementType();
  if (llvm::isa<FloatType>(target))
    return im.castTo(im.make("Div", {x, alongAxis(im, im.castTo(scale, f), axis, rank)}), target);
  Value v = im.make("Round", {im.make("Div", {x, alongAxis(im, im.castTo(scale, f), axis, rank)})});
  if (!llvm::isa<NoneType>(zp.getType()))
    v = im.make("Add", {v, alongAxis(im, im.castTo(zp, f), axis, rank)});
  return saturateTo(im, v, target);
}

/// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point).
void buildQuantizeLinear(Importer &im, const onnx::NodeProto &n) {
  QuantOperands q = readQuantOperands(im);
  Type target = im.b.getIntegerType(8, false);
  if (!llvm::isa<NoneType>(q.zeroPoint.getType()))
    target = llvm::cast<TensorType>(q.zeroPoint.getType()).getElementType();
  else if (const auto *od = im.attr("output_dtype"); od && od->i() != 0)
    target = im.elementType(od->i(), "output_dtype");
  im.values[n.output(0)] = quantize(im, q.x, q.scale, q.zeroPoint, q.axis, q.rank, target);
}

Type i32(Importer &im) { return im.b.getIntegerType(32); }

/// x - zero_point in i32; `zpShape` reshapes a per-row/channel zero point.
Value centred(Importer &im, Value x, Value zp, llvm::ArrayRef<int64_t> zpShape = {}) {
  Value v = im.castTo(x, i32(im));
  if (llvm::isa<NoneType>(zp.getType()))
    return v;
  Value z = im.castTo(zp, i32(im));
  auto zt = llvm::cast<RankedTensorType>(z.getType());
  if (!zpShape.empty() && zt.getNumElements() > 1)
    z = im.make("Reshape", {z, im.i64Constant(zpShape)});
  return im.make("Sub", {v, z});
}

/// A per-row parameter of an (.., M, K) operand: (M,) -> (M, 1) (M from
/// the parameter's own length, so the operand's dims may be unknown).
llvm::SmallVector<int64_t> rowShape(Importer &im, Value a) {
  auto t = llvm::dyn_cast<RankedTensorType>(a.getType());
  if (!t || t.getRank() < 1)
    im.fail("needs operands of known rank");
  return {t.getRank() >= 2 ? -1 : 1, 1};
}

/// A per-output-channel parameter of a convolution: (M,) -> (M, 1, ..).
llvm::SmallVector<int64_t> channelShape(Importer &im, Value w) {
  auto t = llvm::dyn_cast<RankedTensorType>(w.getType());
  if (!t)
    im.fail("needs operands of known rank");
  llvm::SmallVector<int64_t> s(t.getRank(), 1);
  s[0] = -1;
  return s;
}

void buildMatMulInteger(Importer &im, const onnx::NodeProto &n) {
  Value a = im.input(0), b = im.input(1);
  im.values[n.output(0)] =
      im.make("MatMul", {centred(im, a, im.input(2), rowShape(im, a)), centred(im, b, im.input(3))});
}

/// The node's convolution attributes, for the integer Conv it becomes.
llvm::SmallVector<NamedAttribute> convAttributes(Importer &im, const onnx::NodeProto &n) {
  llvm::SmallVector<NamedAttribute> attrs;
  for (const auto &a : n.attribute())
    attrs.push_back(NamedAttribute(im.b.getStringAttr(a.name()), im.convertAttribute(a)));
  return attrs;
}

void buildConvInteger(Importer &im, const onnx::NodeProto &n) {
  Value x = centred(im, im.input(0), im.input(2));
  Value w = centred(im, im.input(1), im.input(3), channelShape(im, im.input(1)));
  im.values[n.output(0)] = im.make("Conv", {x, w, im.none()}, convAttributes(im, n));
}

/// acc * (scaleA * scaleB) requantized to y_scale / y_zero_point, in f32.
Value requantize(Importer &im, Value acc, Value scaleA, Value scaleB, Value yScale, Value yZp) {
  Type f32 = im.b.getF32Type();
  Value v = im.make("Mul", {im.castTo(acc, f32),
                            im.make("Mul", {im.castTo(scaleA, f32), im.castTo(scaleB, f32)})});
  Type target = llvm::isa<NoneType>(yZp.getType())
                    ? im.b.getIntegerType(8, false)
                    : llvm::cast<TensorType>(yZp.getType()).getElementType();
  return quantize(im, v, yScale, yZp, 1, 0, target);
}

void buildQLinearMatMul(Importer &im, const onnx::NodeProto &n) {
  Value a = im.input(0), b = im.input(3);
  auto rows = rowShape(im, a);
  Value acc = im.make("MatMul", {centred(im, a, im.input(2), rows), centred(im, b, im.input(5))});
  Value aScale = im.input(1);
  if (llvm::cast<RankedTensorType>(aScale.getType()).getNumElements() > 1)
    aScale = im.make("Reshape", {aScale, im.i64Constant(rows)});
  im.values[n.output(0)] = requantize(im, acc, aScale, im.input(4), im.input(6), im.input(7));
}

void buildQLinearConv(Importer &im, const onnx::NodeProto &n) {
  Value w = im.input(3);
  auto channels = channelShape(im, w);
  Value x = centred(im, im.input(0), im.input(2));
  Value acc = im.make("Conv", {x, centred(im, w, im.input(5), channels), im.input(8)},
                      convAttributes(im, n));
  Value wScale = im.input(4);
  if (llvm::cast<RankedTensorType>(wScale.getType()).getNumElements() > 1)
    wScale = im.make("Reshape", {wScale, im.i64Constant(channels)});
  im.values[n.output(0)] = requantize(im, acc, im.input(1), wScale, im.input(6), im.input(7));
}

/// DynamicQuantizeLinear: uint8 with the scale and zero point that map
/// [min(x, 0), max(x, 0)] onto [0, 255].
void buildDynamicQuantizeLinear(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || !t.getElementType().isF32())
    im.fail("needs a ranked f32 input");
  Type f32 = t.getElementType(), u8 = im.b.getIntegerType(8, false);
  Value zero = im.scalar(f32, 0.0);
  auto all = [&](const char *op) {
    Value r = im.make(op, {x, im.none()}, {im.intAttr("keepdims", 0)});
    return im.make(op == llvm::StringRef("ReduceMin") ? "Min" : "Max", {r, zero});
  };
  Value lo = all("ReduceMin"), hi = all("ReduceMax");
  Value scale = im.make("Div", {im.make("Sub", {hi, lo}), im.scalar(f32, 255.0)});
  Value zp = saturateTo(im, im.make("Round", {im.make("Sub", {zero, im.make("Div", {lo, scale})})}), u8);
  Value y = quantize(im, x, scale, zp, 1, 0, u8);
  im.bindResults({y, scale, zp});
}

} // namespace

void addQuantizationBuilders(BuilderTable &t) {
  t["QuantizeLinear"] = buildQuantizeLinear;
  t["DequantizeLinear"] = buildDequantizeLinear;
  t["MatMulInteger"] = buildMatMulInteger;
  t["ConvInteger"] = buildConvInteger;
  t["QLinearMatMul"] = buildQLinearMatMul;
  t["QLinearConv"] = buildQLinearConv;
  t["DynamicQuantizeLinear"] = buildDynamicQuantizeLinear;
}

} // namespace kiln
