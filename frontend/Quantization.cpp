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

/// A per-output-channel parameter of convolution weight `w`: (M,) ->
/// (M, 1, ..) against the weight (`ofOutput` false) or against the
/// convolution's (N, M, ..) output (one dim fewer).
llvm::SmallVector<int64_t> channelShape(Importer &im, Value w, bool ofOutput = false) {
  auto t = llvm::dyn_cast<RankedTensorType>(w.getType());
  if (!t || t.getRank() < 2)
    im.fail("needs a weight of known rank");
  llvm::SmallVector<int64_t> s(t.getRank() - (ofOutput ? 1 : 0), 1);
  s[0] = -1;
  return s;
}

/// The node's convolution attributes, for the integer Conv it becomes.
llvm::SmallVector<NamedAttribute> convAttributes(Importer &im, const onnx::NodeProto &n) {
  llvm::SmallVector<NamedAttribute> attrs;
  for (const auto &a : n.attribute())
    attrs.push_back(NamedAttribute(im.b.getStringAttr(a.name()), im.convertAttribute(a)));
  return attrs;
}

/// Whether `v` is a tensor of 8-bit integers (the quantized operands).
bool isEightBit(Value v) {
  auto t = llvm::dyn_cast<TensorType>(v.getType());
  return t && t.getElementType().isInteger(8);
}

/// The values of a constant 8-bit tensor, or nothing when `v` is not one
/// whose data the importer holds.
std::optional<std::vector<int32_t>> eightBitValues(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst || !isEightBit(v))
    return std::nullopt;
  bool isUnsigned = llvm::cast<TensorType>(v.getType()).getElementType().isUnsignedInteger();
  std::vector<int32_t> values;
  if (auto dense = llvm::dyn_cast<DenseElementsAttr>(cst.getValue())) {
    for (const APInt &x : dense.getValues<APInt>())
      values.push_back(static_cast<int32_t>(isUnsigned ? x.getZExtValue() : x.getSExtValue()));
    return values;
  }
  std::optional<llvm::ArrayRef<char>> raw = constantBytes(cst.getValue());
  if (!raw)
    return std::nullopt;
  values.reserve(raw->size());
  for (char c : *raw)
    values.push_back(isUnsigned ? int32_t(static_cast<uint8_t>(c)) : int32_t(static_cast<int8_t>(c)));
  return values;
}

/// How an integer contraction's weight maps onto its outputs: element i of
/// the weight adds into output column `column(i)` and is centred by zero
/// point `zeroPointIndex(i)`.
struct WeightLayout {
  std::function<int64_t(int64_t)> column, zeroPointIndex;
  int64_t columns;
  /// The zero point's length when it is not one value per tensor.
  int64_t zeroPoints;
};

/// `w - w_zero_point` as an f32 constant, when both are 8-bit constants and
/// every contraction of 8-bit activations with it is exact in f32: each
/// partial sum of an output is an integer of magnitude at most 255 times
/// the sum of |w - w_zero_point| over its column, and below 2^24 f32 holds
/// every such integer exactly, whatever the order of summation. The f32
/// GEMM and convolution kernels then give the i32 result bit for bit.
std::optional<Value> exactFloatWeights(Importer &im, Value w, Value zp, const WeightLayout &layout) {
  std::optional<std::vector<int32_t>> weights = eightBitValues(w);
  if (!weights)
    return std::nullopt;
  std::vector<int32_t> zeroPoints{0};
  if (!llvm::isa<NoneType>(zp.getType())) {
    std::optional<std::vector<int32_t>> z = eightBitValues(zp);
    if (!z || (z->size() != 1 && static_cast<int64_t>(z->size()) != layout.zeroPoints))
      return std::nullopt;
    zeroPoints = std::move(*z);
  }
  constexpr int64_t kExactColumnSum = ((int64_t{1} << 24) - 1) / 255;
  std::vector<int64_t> columnSums(layout.columns, 0);
  auto type = llvm::cast<RankedTensorType>(w.getType());
  ConstantBuffer data(weights->size() * sizeof(float));
  float *to = data.as<float>();
  for (int64_t i = 0, e = static_cast<int64_t>(weights->size()); i < e; ++i) {
    int32_t centred =
        (*weights)[i] - zeroPoints[zeroPoints.size() == 1 ? 0 : layout.zeroPointIndex(i)];
    int64_t &sum = columnSums[layout.column(i)];
    sum += std::abs(centred);
    if (sum > kExactColumnSum)
      return std::nullopt;
    to[i] = static_cast<float>(centred);
  }
  auto f32Type = RankedTensorType::get(type.getShape(), im.b.getF32Type());
  return ConstantOp::create(im.b, im.loc, f32Type, constantAttr(f32Type, std::move(data)))
      .getResult();
}

/// The i8 weight s and the [1, n] i32 constants o and S + K * o of
/// dotProductMatMul, from 8-bit constants `b` ([k, n]) and `bZp` (one value
/// or one per column), made right after `b`; nothing when they are not
/// such constants.
std::optional<std::array<Value, 3>> dotProductWeights(Importer &im, Value b, Value bZp, int64_t k,
                                                      int64_t n) {
  std::optional<std::vector<int32_t>> weights = eightBitValues(b);
  if (!weights)
    return std::nullopt;
  std::vector<int32_t> zeroPoints{0};
  if (!llvm::isa<NoneType>(bZp.getType())) {
    std::optional<std::vector<int32_t>> z = eightBitValues(bZp);
    if (!z || (z->size() != 1 && static_cast<int64_t>(z->size()) != n))
      return std::nullopt;
    zeroPoints = std::move(*z);
  }
  std::vector<int32_t> centred(*weights);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n; ++j)
      centred[r * n + j] -= zeroPoints[zeroPoints.size() == 1 ? 0 : j];
  std::vector<int32_t> lowest(n, 1 << 30), highest(n, -(1 << 30));
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n; ++j) {
      lowest[j] = std::min(lowest[j], centred[r * n + j]);
      highest[j] = std::max(highest[j], centred[r * n + j]);
    }
  ConstantBuffer sData(k * n), offsetData(n * sizeof(int32_t)), columnData(n * sizeof(int32_t));
  int32_t *offsets = offsetData.as<int32_t>(), *columns = columnData.as<int32_t>();
  for (int64_t j = 0; j < n; ++j) {
    if (highest[j] - lowest[j] > 255)
      return std::nullopt;
    offsets[j] = lowest[j] + 128;
    columns[j] = static_cast<int32_t>(k) * offsets[j];
  }
  int8_t *s = sData.as<int8_t>();
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n; ++j) {
      s[r * n + j] = static_cast<int8_t>(centred[r * n + j] - offsets[j]);
      columns[j] += s[r * n + j];
    }
  Type s8 = im.b.getIntegerType(8, true);
  auto sType = RankedTensorType::get({k, n}, s8);
  auto rowType = RankedTensorType::get({1, n}, im.b.getIntegerType(32));
  OpBuilder::InsertionGuard guard(im.b);
  im.b.setInsertionPointAfter(b.getDefiningOp());
  Value sv = ConstantOp::create(im.b, im.loc, sType, constantAttr(sType, std::move(sData)));
  Value offsetV = ConstantOp::create(im.b, im.loc, rowType, constantAttr(rowType, std::move(offsetData)));
  Value columnV = ConstantOp::create(im.b, im.loc, rowType, constantAttr(rowType, std::move(columnData)));
  return std::array<Value, 3>{sv, offsetV, columnV};
}

/// The i32 product (a - a_zp) * (b - b_zp) for a target with 8-bit dot
/// products (ImportOptions::integerDotProducts): a constant 2-D B, K a
/// multiple of 4, A's zero point one value. Those instructions multiply an
/// unsigned byte by a signed one, so the product is computed as
///
///   sum_k (a' - z)(s + o) = P + o * R - z * (S + K * o)
///
/// with a' = a as a u8 (a + 128 for an i8 A, whose zero point z then moves
/// by 128 too), s = (b - b_zp) - o an i8 (o per column: its smallest
/// centred weight plus 128, so s spans [-128, 127]; 8-bit weights centred
/// by an 8-bit zero point span at most 255 values), P = MatMulInteger(a', s),
/// R the row sums of a' and S the column sums of s. Nothing when B does not
/// fit.
std::optional<Value> dotProductMatMul(Importer &im, Value a, Value aZp, Value b, Value bZp) {
  auto int32 = [&](int32_t v) -> Value {
    auto t = RankedTensorType::get({}, i32(im));
    return ConstantOp::create(im.b, im.loc, t, DenseElementsAttr::get(t, im.b.getI32IntegerAttr(v)));
  };
  auto at = llvm::dyn_cast<RankedTensorType>(a.getType());
  auto bt = llvm::dyn_cast<RankedTensorType>(b.getType());
  if (!im.opts.integerDotProducts || !at || !at.hasStaticShape() || at.getRank() < 2 || !bt ||
      !bt.hasStaticShape() || bt.getRank() != 2)
    return std::nullopt;
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1);
  if (k % 4 != 0 || k == 0 || n == 0 || k > (int64_t{1} << 16))
    return std::nullopt;
  if (!llvm::isa<NoneType>(aZp.getType())) {
    auto zt = llvm::dyn_cast<RankedTensorType>(aZp.getType());
    if (!zt || !zt.hasStaticShape() || zt.getNumElements() != 1)
      return std::nullopt;
  }
  std::array<Value, 3> &cached = im.dotProductWeights[{b.getDefiningOp(), bZp.getDefiningOp()}];
  if (!cached[0]) {
    std::optional<std::array<Value, 3>> made = dotProductWeights(im, b, bZp, k, n);
    if (!made)
      return std::nullopt;
    cached = *made;
  }
  auto [sv, offsetV, columnV] = cached;
  Type u8 = im.b.getIntegerType(8, false);
  bool isUnsigned = at.getElementType().isUnsignedInteger();
  Value a32 = im.castTo(a, i32(im));
  Value aU = isUnsigned ? a32 : im.make("Add", {a32, int32(128)});
  Value z = llvm::isa<NoneType>(aZp.getType()) ? int32(0) : im.castTo(aZp, i32(im));
  if (!isUnsigned)
    z = im.make("Add", {z, int32(128)});
  if (llvm::cast<RankedTensorType>(z.getType()).getRank() > 0)
    z = im.make("Reshape", {z, im.i64Constant({1})});
  Value p = im.make("MatMulInteger", {isUnsigned ? a : im.castTo(aU, u8), sv});
  Value rows = im.make("ReduceSum", {aU, im.i64Constant({-1})}, {im.intAttr("keepdims", 1)});
  return im.make("Sub", {im.make("Add", {p, im.make("Mul", {rows, offsetV})}),
                         im.make("Mul", {z, columnV})});
}

/// The i32 product (x - x_zp) * (b - b_zp) of a MatMulInteger-like node;
/// in f32 when that is exact (see exactFloatWeights).
Value integerMatMul(Importer &im, Value a, Value aZp, Value b, Value bZp) {
  if (isEightBit(a))
    if (std::optional<Value> y = dotProductMatMul(im, a, aZp, b, bZp))
      return *y;
  auto bt = llvm::dyn_cast<RankedTensorType>(b.getType());
  if (isEightBit(a) && bt && bt.hasStaticShape() && bt.getRank() >= 2) {
    int64_t k = bt.getDimSize(bt.getRank() - 2), n = bt.getDimSize(bt.getRank() - 1);
    WeightLayout layout{[=](int64_t i) { return i / (k * n) * n + i % n; },
                        [=](int64_t i) { return i % n; },
                        std::max<int64_t>(bt.getNumElements() / std::max<int64_t>(k, 1), 1), n};
    if (std::optional<Value> bf = exactFloatWeights(im, b, bZp, layout)) {
      Value af = im.castTo(centred(im, a, aZp, rowShape(im, a)), im.b.getF32Type());
      return im.castTo(im.make("MatMul", {af, *bf}), i32(im));
    }
  }
  return im.make("MatMul", {centred(im, a, aZp, rowShape(im, a)), centred(im, b, bZp)});
}

/// An integer 2-D convolution (group 1) on a target with 8-bit dot
/// products: the product by dotProductMatMul of the input's windows,
/// gathered once, [n, positions, taps * c], by the weight as a
/// [taps * c, f] constant, moved back to [n, f, oh, ow]. The input is
/// padded with its zero point (the padding contributes nothing) and moved
/// to NHWC first, so each window row is copied as runs of c contiguous
/// bytes (gathered from NCHW, every byte was a channel plane apart: 1.7
/// GB/s). Nothing where that does not fit (another rank or group,
/// auto_pad, taps * c not a multiple of 4).
std::optional<Value> dotProductConv(Importer &im, const onnx::NodeProto &node, Value x, Value xZp,
                                    Value w, Value wZp) {
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  auto wt = llvm::dyn_cast<RankedTensorType>(w.getType());
  if (!im.opts.integerDotProducts || !xt || !xt.hasStaticShape() || xt.getRank() != 4 || !wt ||
      !wt.hasStaticShape() || wt.getRank() != 4)
    return std::nullopt;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  for (const auto &a : node.attribute()) {
    std::vector<int64_t> v(a.ints().begin(), a.ints().end());
    if (a.name() == "group" && a.i() != 1)
      return std::nullopt;
    if (a.name() == "auto_pad" && a.s() != "NOTSET")
      return std::nullopt;
    if (a.name() == "strides" && v.size() == 2)
      strides = v;
    if (a.name() == "dilations" && v.size() == 2)
      dilations = v;
    if (a.name() == "pads" && v.size() == 4)
      pads = v;
  }
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), f = wt.getDimSize(0);
  int64_t kh = wt.getDimSize(2), kw = wt.getDimSize(3), depth = c * kh * kw;
  if (wt.getDimSize(1) != c || depth % 4 != 0 || f == 0)
    return std::nullopt;
  int64_t hp = xt.getDimSize(2) + pads[0] + pads[2], wp = xt.getDimSize(3) + pads[1] + pads[3];
  int64_t oh = (hp - dilations[0] * (kh - 1) - 1) / strides[0] + 1;
  int64_t ow = (wp - dilations[1] * (kw - 1) - 1) / strides[1] + 1;
  if (oh <= 0 || ow <= 0)
    return std::nullopt;
  auto cst = w.getDefiningOp<ConstantOp>();
  std::optional<llvm::ArrayRef<char>> raw = cst ? constantBytes(cst.getValue()) : std::nullopt;
  if (!raw)
    return std::nullopt;
  // The weight as [taps * c, f]: element (tap, ch, o) is w[o, ch, tap].
  auto bType = RankedTensorType::get({depth, f}, wt.getElementType());
  ConstantBuffer bData(depth * f);
  int64_t taps = kh * kw;
  for (int64_t o = 0; o < f; ++o)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < taps; ++t)
        bData.data()[(t * c + ch) * f + o] = (*raw)[(o * c + ch) * taps + t];
  Value b = ConstantOp::create(im.b, im.loc, bType, constantAttr(bType, std::move(bData)));
  Value padded = x;
  if (llvm::any_of(pads, [](int64_t p) { return p != 0; })) {
    Value value = llvm::isa<NoneType>(xZp.getType()) ? im.none() : xZp;
    if (!llvm::isa<NoneType>(value.getType()) && llvm::cast<RankedTensorType>(value.getType()).getRank() > 0)
      value = im.make("Reshape", {value, im.i64Constant({})});
    padded = im.make("Pad", {x, im.i64Constant({0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]}), value, im.none()});
  }
  Value nhwc = im.make("Transpose", {padded},
                       {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr({0, 2, 3, 1}))});
  SmallVector<Value> windows;
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j) {
      int64_t top = i * dilations[0], left = j * dilations[1];
      Value window = im.make("Slice", {nhwc, im.i64Constant({top, left}),
                                       im.i64Constant({top + (oh - 1) * strides[0] + 1, left + (ow - 1) * strides[1] + 1}),
                                       im.i64Constant({1, 2}), im.i64Constant({strides[0], strides[1]})});
      windows.push_back(im.make("Unsqueeze", {window, im.i64Constant({3})}));
    }
  Value gathered = windows.size() == 1 ? windows[0] : im.make("Concat", windows, {im.intAttr("axis", 3)});
  Value rows = im.make("Reshape", {gathered, im.i64Constant({n, oh * ow, depth})});
  std::optional<Value> y = dotProductMatMul(im, rows, xZp, b, wZp);
  if (!y)
    return std::nullopt;
  Value nfp = im.make("Transpose", {*y}, {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr({0, 2, 1}))});
  return im.make("Reshape", {nfp, im.i64Constant({n, f, oh, ow})});
}

/// The i32 convolution of (x - x_zp) with (w - w_zp) per output channel,
/// plus an optional i32 bias; in f32 when that is exact.
Value integerConv(Importer &im, const onnx::NodeProto &n, Value x, Value xZp, Value w, Value wZp,
                  Value bias) {
  auto wt = llvm::dyn_cast<RankedTensorType>(w.getType());
  if (isEightBit(x) && isEightBit(w))
    if (std::optional<Value> acc = dotProductConv(im, n, x, xZp, w, wZp)) {
      if (llvm::isa<NoneType>(bias.getType()))
        return *acc;
      return im.make("Add",
                     {*acc, im.make("Reshape", {bias, im.i64Constant(channelShape(im, w, true))})});
    }
  if (isEightBit(x) && wt && wt.hasStaticShape() && wt.getRank() >= 3 && wt.getDimSize(0) > 0) {
    int64_t perChannel = wt.getNumElements() / wt.getDimSize(0);
    auto channel = [=](int64_t i) { return i / perChannel; };
    if (std::optional<Value> wf =
            exactFloatWeights(im, w, wZp, {channel, channel, wt.getDimSize(0), wt.getDimSize(0)})) {
      Value xf = im.castTo(centred(im, x, xZp), im.b.getF32Type());
      Value acc = im.castTo(im.make("Conv", {xf, *wf, im.none()}, convAttributes(im, n)), i32(im));
      if (llvm::isa<NoneType>(bias.getType()))
        return acc;
      return im.make("Add",
                     {acc, im.make("Reshape", {bias, im.i64Constant(channelShape(im, w, true))})});
    }
  }
  return im.make("Conv", {centred(im, x, xZp), centred(im, w, wZp, channelShape(im, w)), bias},
                 convAttributes(im, n));
}

void buildMatMulInteger(Importer &im, const onnx::NodeProto &n) {
  im.values[n.output(0)] = integerMatMul(im, im.input(0), im.input(2), im.input(1), im.input(3));
}

void buildConvInteger(Importer &im, const onnx::NodeProto &n) {
  im.values[n.output(0)] =
      integerConv(im, n, im.input(0), im.input(2), im.input(1), im.input(3), im.none());
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
  Value a = im.input(0);
  auto rows = rowShape(im, a);
  Value acc = integerMatMul(im, a, im.input(2), im.input(3), im.input(5));
  Value aScale = im.input(1);
  if (llvm::cast<RankedTensorType>(aScale.getType()).getNumElements() > 1)
    aScale = im.make("Reshape", {aScale, im.i64Constant(rows)});
  im.values[n.output(0)] = requantize(im, acc, aScale, im.input(4), im.input(6), im.input(7));
}

void buildQLinearConv(Importer &im, const onnx::NodeProto &n) {
  Value w = im.input(3);
  Value acc = integerConv(im, n, im.input(0), im.input(2), w, im.input(5), im.input(8));
  Value wScale = im.input(4);
  if (llvm::cast<RankedTensorType>(wScale.getType()).getNumElements() > 1)
    wScale = im.make("Reshape", {wScale, im.i64Constant(channelShape(im, w, true))});
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
