//===- ConstantFolding.cpp - evaluate small integer subgraphs -------------===//
//
// Shape arithmetic in ONNX graphs (Shape -> Gather -> Concat -> Reshape, ...)
// runs on small integer tensors. Evaluating it when every operand is a
// constant turns data-dependent shapes into static ones. Only integer and
// bool tensors of up to kMaxElements elements are folded.
//
//===----------------------------------------------------------------------===//
#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>

using namespace mlir;

namespace kiln {
namespace {
constexpr int64_t kMaxElements = 4096;

struct IntTensor {
  llvm::SmallVector<int64_t> shape, values;
};

std::optional<IntTensor> constantOf(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseIntElementsAttr>(cst.getValue());
  if (!dense || dense.getNumElements() > kMaxElements)
    return std::nullopt;
  IntTensor t;
  t.shape.assign(dense.getType().getShape().begin(), dense.getType().getShape().end());
  bool isUnsigned = dense.getElementType().isUnsignedInteger();
  bool isBool = dense.getElementType().isInteger(1);
  for (const APInt &x : dense.getValues<APInt>())
    t.values.push_back(isUnsigned || isBool ? (int64_t)x.getZExtValue() : x.getSExtValue());
  return t;
}

int64_t count(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Flat index into `in` of the element broadcast to output position `flat`.
int64_t broadcastIndex(int64_t flat, llvm::ArrayRef<int64_t> out, llvm::ArrayRef<int64_t> in) {
  int64_t idx = 0, stride = 1;
  for (int64_t i = out.size() - 1, j = in.size() - 1; i >= 0; --i, --j) {
    int64_t coord = flat % out[i];
    flat /= out[i];
    if (j >= 0) {
      if (in[j] != 1)
        idx += coord * stride;
      stride *= in[j];
    }
  }
  return idx;
}

std::optional<llvm::SmallVector<int64_t>>
elementwise(Operation *op, llvm::ArrayRef<IntTensor> in, llvm::ArrayRef<int64_t> out) {
  // Fold only what broadcasts to the declared result: a type the verifier
  // has not seen yet (an op being built) must not index past an operand.
  for (const IntTensor &t : in) {
    if (t.shape.size() > out.size())
      return std::nullopt;
    for (size_t j = 0; j < t.shape.size(); ++j) {
      int64_t d = t.shape[t.shape.size() - 1 - j];
      if (d != 1 && d != out[out.size() - 1 - j])
        return std::nullopt;
    }
  }
  llvm::SmallVector<int64_t> r;
  for (int64_t i = 0, n = count(out); i < n; ++i) {
    llvm::SmallVector<int64_t> a;
    for (const IntTensor &t : in)
      a.push_back(t.values[broadcastIndex(i, out, t.shape)]);
    std::optional<int64_t> v = llvm::TypeSwitch<Operation *, std::optional<int64_t>>(op)
        .Case<AddOp>([&](auto) { return a[0] + a[1]; })
        .Case<SubOp>([&](auto) { return a[0] - a[1]; })
        .Case<MulOp>([&](auto) { return a[0] * a[1]; })
        .Case<DivOp>([&](auto) -> std::optional<int64_t> {
          if (a[1] == 0)
            return std::nullopt;
          return a[0] / a[1];
        })
        .Case<ModOp>([&](ModOp m) -> std::optional<int64_t> {
          if (a[1] == 0)
            return std::nullopt;
          int64_t r = a[0] % a[1];
          // Integer Mod takes the sign of the divisor unless fmod is set.
          if (!m.getFmod() && r != 0 && ((r < 0) != (a[1] < 0)))
            r += a[1];
          return r;
        })
        .Case<MaxOp>([&](auto) { return *std::max_element(a.begin(), a.end()); })
        .Case<MinOp>([&](auto) { return *std::min_element(a.begin(), a.end()); })
        .Case<EqualOp>([&](auto) { return int64_t(a[0] == a[1]); })
        .Case<LessOp>([&](auto) { return int64_t(a[0] < a[1]); })
        .Case<GreaterOp>([&](auto) { return int64_t(a[0] > a[1]); })
        .Case<LessOrEqualOp>([&](auto) { return int64_t(a[0] <= a[1]); })
        .Case<GreaterOrEqualOp>([&](auto) { return int64_t(a[0] >= a[1]); })
        .Case<AndOp>([&](auto) { return int64_t(a[0] && a[1]); })
        .Case<OrOp>([&](auto) { return int64_t(a[0] || a[1]); })
        .Case<XorOp>([&](auto) { return int64_t((a[0] != 0) != (a[1] != 0)); })
        .Case<NotOp>([&](auto) { return int64_t(!a[0]); })
        .Case<SignOp>([&](auto) { return int64_t((a[0] > 0) - (a[0] < 0)); })
        .Case<NegOp>([&](auto) { return -a[0]; })
        .Case<AbsOp>([&](auto) { return a[0] < 0 ? -a[0] : a[0]; })
        .Case<WhereOp>([&](auto) { return a[0] ? a[1] : a[2]; })
        .Case<CastOp>([&](CastOp c) {
          return c.getType().getElementType().isInteger(1) ? int64_t(a[0] != 0) : a[0];
        })
        .Case<IdentityOp, ExpandOp>([&](auto) { return a[0]; })
        .Default([](Operation *) { return std::nullopt; });
    if (!v)
      return std::nullopt;
    r.push_back(*v);
  }
  return r;
}

} // namespace

namespace {

/// Float scalars feeding shapes (Cast(size) -> Range limit, ...): elementwise
/// arithmetic on constants of up to kMaxFloatElements, in double, rounded
/// once to the result type.
constexpr int64_t kMaxFloatElements = 16;

std::optional<DenseElementsAttr> foldFloatOp(Operation *op, RankedTensorType type) {
  if (type.getNumElements() > kMaxFloatElements ||
      !llvm::isa<AddOp, SubOp, MulOp, DivOp, NegOp, AbsOp, CeilOp, FloorOp, MaxOp, MinOp, ReluOp, CastOp,
                 IdentityOp, ReshapeOp, SqueezeOp, UnsqueezeOp>(op))
    return std::nullopt;
  struct Operand {
    llvm::SmallVector<int64_t> shape;
    llvm::SmallVector<double> values;
  };
  llvm::SmallVector<Operand> in;
  for (Value v : op->getOperands()) {
    auto cst = v.getDefiningOp<ConstantOp>();
    auto dense = cst ? llvm::dyn_cast<DenseElementsAttr>(cst.getValue()) : DenseElementsAttr();
    if (!dense || dense.getNumElements() > kMaxFloatElements)
      return std::nullopt;
    Operand o;
    o.shape.assign(dense.getType().getShape().begin(), dense.getType().getShape().end());
    Type et = dense.getElementType();
    if (llvm::isa<FloatType>(et)) {
      for (const APFloat &f : dense.getValues<APFloat>())
        o.values.push_back(f.convertToDouble());
    } else if (auto it = llvm::dyn_cast<IntegerType>(et); it && it.getWidth() >= 8) {
      for (const APInt &x : dense.getValues<APInt>())
        o.values.push_back(it.isUnsigned() ? double(x.getZExtValue()) : double(x.getSExtValue()));
    } else {
      return std::nullopt;
    }
    in.push_back(std::move(o));
  }
  if (in.empty())
    return std::nullopt;
  auto out = type.getShape();
  llvm::SmallVector<double> r;
  if (llvm::isa<ReshapeOp, SqueezeOp, UnsqueezeOp, IdentityOp, CastOp>(op)) {
    r = in[0].values;
  } else {
    for (int64_t i = 0, n = count(out); i < n; ++i) {
      llvm::SmallVector<double> a;
      for (const Operand &t : in)
        a.push_back(t.values[broadcastIndex(i, out, t.shape)]);
      r.push_back(llvm::TypeSwitch<Operation *, double>(op)
                      .Case<AddOp>([&](auto) { return a[0] + a[1]; })
                      .Case<SubOp>([&](auto) { return a[0] - a[1]; })
                      .Case<MulOp>([&](auto) { return a[0] * a[1]; })
                      .Case<DivOp>([&](auto) { return a[0] / a[1]; })
                      .Case<AbsOp>([&](auto) { return std::fabs(a[0]); })
                      .Case<ReluOp>([&](auto) { return std::max(a[0], 0.0); })
                      .Case<CeilOp>([&](auto) { return std::ceil(a[0]); })
                      .Case<FloorOp>([&](auto) { return std::floor(a[0]); })
                      .Case<MaxOp>([&](auto) { return *std::max_element(a.begin(), a.end()); })
                      .Case<MinOp>([&](auto) { return *std::min_element(a.begin(), a.end()); })
                      .Default([&](Operation *) { return -a[0]; }));
    }
  }
  if ((int64_t)r.size() != type.getNumElements())
    return std::nullopt;
  auto ft = llvm::cast<FloatType>(type.getElementType());
  llvm::SmallVector<APFloat> values;
  for (double d : r) {
    APFloat f(d);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    values.push_back(f);
  }
  return DenseElementsAttr::get(type, values);
}

} // namespace

std::optional<DenseElementsAttr> foldConstantOp(Operation *op) {
  if (op->getNumResults() != 1 || !llvm::isa<KilnDialect>(op->getDialect()))
    return std::nullopt;
  auto type = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  if (llvm::isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(type.getElementType()))
    return foldFloatOp(op, type);
  if (type.getNumElements() > kMaxElements || !llvm::isa<IntegerType>(type.getElementType()))
    return std::nullopt;
  if (auto cast = llvm::dyn_cast<CastOp>(op)) {
    // Small float constants cast to integers truncate toward zero.
    auto cst = cast.getInput().getDefiningOp<ConstantOp>();
    auto dense = cst ? llvm::dyn_cast<DenseFPElementsAttr>(cst.getValue()) : DenseFPElementsAttr();
    if (dense && dense.getNumElements() <= kMaxFloatElements) {
      unsigned width = type.getElementType().getIntOrFloatBitWidth();
      llvm::SmallVector<APInt> bits;
      for (const APFloat &f : dense.getValues<APFloat>()) {
        double d = f.convertToDouble();
        if (!std::isfinite(d) || std::fabs(d) > 9e18)
          return std::nullopt;
        bits.push_back(width == 1 ? APInt(1, d != 0)
                                  : APInt(width, int64_t(d), /*isSigned=*/true, /*implicitTrunc=*/true));
      }
      return DenseElementsAttr::get(type, bits);
    }
  }
  llvm::SmallVector<IntTensor> in;
  for (Value v : op->getOperands()) {
    if (llvm::isa<NoneType>(v.getType()))
      continue;
    auto c = constantOf(v);
    if (!c)
      return std::nullopt;
    in.push_back(*c);
  }
  if (in.empty())
    return std::nullopt;
  auto out = type.getShape();
  std::optional<llvm::SmallVector<int64_t>> values;
  if (llvm::isa<ReshapeOp, FlattenOp, SqueezeOp, UnsqueezeOp>(op)) {
    values = in[0].values; // same elements, new shape
  } else if (auto concat = llvm::dyn_cast<ConcatOp>(op)) {
    int64_t axis = *normalizeAxis(concat.getAxis(), out.size());
    int64_t outer = count(out.take_front(axis));
    values.emplace();
    for (int64_t o = 0; o < outer; ++o)
      for (const IntTensor &t : in) {
        int64_t chunk = count(llvm::ArrayRef<int64_t>(t.shape).drop_front(axis));
        values->append(t.values.begin() + o * chunk, t.values.begin() + (o + 1) * chunk);
      }
  } else if (auto transpose = llvm::dyn_cast<TransposeOp>(op)) {
    // Exporters write pads and shapes as reversed, transposed pairs.
    const IntTensor &d = in[0];
    size_t rank = d.shape.size();
    llvm::SmallVector<int64_t> perm;
    for (Attribute a : transpose.getPerm())
      perm.push_back(llvm::cast<IntegerAttr>(a).getInt());
    if (perm.empty())
      for (size_t i = 0; i < rank; ++i)
        perm.push_back(rank - 1 - i);
    if (perm.size() != rank || out.size() != rank)
      return std::nullopt;
    llvm::SmallVector<int64_t> strides(rank, 1);
    for (int64_t i = int64_t(rank) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * d.shape[i + 1];
    values.emplace();
    for (int64_t i = 0, n = count(out); i < n; ++i) {
      int64_t rem = i, src = 0;
      for (int64_t k = int64_t(rank) - 1; k >= 0; --k) {
        if (perm[k] < 0 || perm[k] >= int64_t(rank) || out[k] != d.shape[perm[k]])
          return std::nullopt;
        src += (rem % out[k]) * strides[perm[k]];
        rem /= out[k];
      }
      values->push_back(d.values[src]);
    }
  } else if (auto gather = llvm::dyn_cast<GatherOp>(op)) {
    const IntTensor &d = in[0], &idx = in[1];
    int64_t axis = *normalizeAxis(gather.getAxis(), d.shape.size());
    int64_t outer = count(llvm::ArrayRef<int64_t>(d.shape).take_front(axis));
    int64_t inner = count(llvm::ArrayRef<int64_t>(d.shape).drop_front(axis + 1));
    int64_t dim = d.shape[axis];
    values.emplace();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : idx.values) {
        if (k < 0)
          k += dim;
        if (k < 0 || k >= dim)
          return std::nullopt;
        for (int64_t i = 0; i < inner; ++i)
          values->push_back(d.values[(o * dim + k) * inner + i]);
      }
  } else if (auto slice = llvm::dyn_cast<SliceOp>(op)) {
    auto axes = llvm::isa<NoneType>(slice.getAxes().getType())
                    ? std::optional<llvm::SmallVector<int64_t>>(llvm::SmallVector<int64_t>{})
                    : getConstantInts(slice.getAxes());
    auto steps = llvm::isa<NoneType>(slice.getSteps().getType())
                     ? std::optional<llvm::SmallVector<int64_t>>(llvm::SmallVector<int64_t>{})
                     : getConstantInts(slice.getSteps());
    if (!axes || !steps)
      return std::nullopt;
    std::string error;
    auto dims = resolveSlice(in[0].shape, in[1].values, in[2].values, *axes, *steps, error);
    if (!dims)
      return std::nullopt;
    values.emplace();
    for (int64_t i = 0, n = count(out); i < n; ++i) {
      int64_t rem = i, src = 0, stride = 1;
      for (int64_t d = out.size() - 1; d >= 0; --d) {
        int64_t coord = rem % out[d];
        rem /= out[d];
        src += ((*dims)[d].start + coord * (*dims)[d].step) * stride;
        stride *= in[0].shape[d];
      }
      values->push_back(in[0].values[src]);
    }
  } else {
    values = elementwise(op, in, out);
  }
  if (!values || (int64_t)values->size() != type.getNumElements())
    return std::nullopt;
  unsigned width = type.getElementType().getIntOrFloatBitWidth();
  llvm::SmallVector<APInt> bits;
  for (int64_t v : *values)
    bits.push_back(APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, bits);
}

} // namespace kiln
