//===- Reduction.cpp - reductions, Softmax, BatchNormalization ------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

enum class Combine { Sum, Max, Min, Prod };

/// Reduces `v` over `axes` with a linalg.generic; the result keeps the
/// reduced dims as 1 (keepdims form).
Value reduce(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes, Combine c, ElemKind k) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  Type elem = t.getElementType();
  int64_t rank = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> kept, keepShape(t.getShape());
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    bool red = llvm::is_contained(axes, i);
    iters.push_back(red ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (red) {
      keepShape[i] = 1;
    } else {
      kept.push_back(t.getDimSize(i));
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
  }
  // Booleans order as unsigned: false < true.
  k.isUnsigned |= k.isBool;
  Value initValue = c == Combine::Sum    ? scalarConstant(b, loc, elem, 0)
                    : c == Combine::Prod ? scalarConstant(b, loc, elem, 1)
                    : c == Combine::Max  ? lowestValue(b, loc, elem, k.isUnsigned)
                                         : highestValue(b, loc, elem, k.isUnsigned);
  SmallVector<Value> keptSizes;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(axes, i) && t.isDynamicDim(i))
      keptSizes.push_back(tensor::DimOp::create(b, loc, v, i));
  Value init = filledTensor(b, loc, kept, initValue, keptSizes);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              AffineMap::get(rank, 0, outExprs, ctx)};
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{v}, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value r = c == Combine::Sum    ? addOf(nb, l, k, a[0], a[1])
                  : c == Combine::Prod ? mulOf(nb, l, k, a[0], a[1])
                  : c == Combine::Max  ? maxOf(nb, l, k, a[0], a[1])
                                       : minOf(nb, l, k, a[0], a[1]);
        linalg::YieldOp::create(nb, l, r);
      });
  return reshapeTo(b, loc, g.getResult(0), keepShape);
}

/// Number of elements of `v` over `axes` (an index; folds when static).
Value countOver(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  int64_t known = 1;
  for (int64_t a : axes)
    if (!t.isDynamicDim(a))
      known *= t.getDimSize(a);
  Value n = arith::ConstantIndexOp::create(b, loc, known);
  for (int64_t a : axes)
    if (t.isDynamicDim(a))
      n = arith::MulIOp::create(b, loc, n, tensor::DimOp::create(b, loc, v, a));
  return n;
}

Value divideBy(OpBuilder &b, Location loc, Value v, Value count, ElemKind k) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  Type elem = t.getElementType();
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
  return broadcastGeneric(b, loc, t.getShape(), elem, v,
                          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            Value c = castScalar(nb, l, asInt, ElemKind{}, elem, k);
                            if (k.isFloat)
                              return arith::DivFOp::create(nb, l, a[0], c);
                            return k.isUnsigned ? Value(arith::DivUIOp::create(nb, l, a[0], c))
                                                : Value(arith::DivSIOp::create(nb, l, a[0], c));
                          });
}

enum class ReduceKind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

Value mapElements(OpBuilder &b, Location loc, Value v,
                  const std::function<Value(OpBuilder &, Location, Value)> &fn) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  return broadcastGeneric(b, loc, t.getShape(), t.getElementType(), v,
                          [&](OpBuilder &nb, Location l, ValueRange a) { return fn(nb, l, a[0]); });
}

/// Every Reduce* op: an optional elementwise map, one reduction, an
/// optional elementwise finish.
template <typename OpTy, ReduceKind K>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    SmallVector<int64_t> axesList;
    if (!isa<NoneType>(op.getAxes().getType())) {
      auto c = getConstantInts(op.getAxes());
      if (!c)
        return r.notifyMatchFailure(op, "axes must be constant");
      axesList = *c;
    }
    auto axes = reduceAxes(axesList, t.getRank(), op.getNoopWithEmptyAxes() != 0);
    if (!axes)
      return r.notifyMatchFailure(op, "bad axes");
    ElemKind k = ElemKind::of(op.getData().getType());
    bool needsFloat = K == ReduceKind::L2 || K == ReduceKind::LogSum || K == ReduceKind::LogSumExp;
    if (needsFloat && !k.isFloat)
      return r.notifyMatchFailure(op, "needs a float type");
    Location loc = op.getLoc();
    Type elem = t.getElementType();
    Value x = adaptor.getData(), y, max;
    switch (K) {
    case ReduceKind::L1:
      x = mapElements(r, loc, x, [&](OpBuilder &b, Location l, Value v) -> Value {
        if (k.isFloat)
          return math::AbsFOp::create(b, l, v);
        return k.isUnsigned ? v : Value(math::AbsIOp::create(b, l, v));
      });
      break;
    case ReduceKind::L2:
    case ReduceKind::SumSquare:
      x = mapElements(r, loc, x, [&](OpBuilder &b, Location l, Value v) {
        return mulOf(b, l, k, v, v);
      });
      break;
    case ReduceKind::LogSumExp: {
      // Shift by the maximum so exp cannot overflow; an all -inf (or
      // empty) slice keeps a zero shift.
      max = reduce(r, loc, x, *axes, Combine::Max, k);
      max = mapElements(r, loc, max, [&](OpBuilder &b, Location l, Value v) -> Value {
        Value finite = arith::CmpFOp::create(b, l, arith::CmpFPredicate::ONE, v,
                                             lowestValue(b, l, elem, false));
        return arith::SelectOp::create(b, l, finite, v, scalarConstant(b, l, elem, 0));
      });
      x = broadcastGeneric(r, loc, t.getShape(), elem, ValueRange{x, max},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return math::ExpOp::create(b, l,
                                                        arith::SubFOp::create(b, l, a[0], a[1]));
                           });
      break;
    }
    default:
      break;
    }
    Combine c = K == ReduceKind::Max ? Combine::Max
                : K == ReduceKind::Min ? Combine::Min
                : K == ReduceKind::Prod ? Combine::Prod
                                        : Combine::Sum;
    y = reduce(r, loc, x, *axes, c, k);
    switch (K) {
    case ReduceKind::Mean:
      y = divideBy(r, loc, y, countOver(r, loc, adaptor.getData(), *axes), k);
      break;
    case ReduceKind::L2:
      y = mapElements(r, loc, y, [](OpBuilder &b, Location l, Value v) -> Value {
        return math::SqrtOp::create(b, l, v);
      });
      break;
    case ReduceKind::LogSum:
      y = mapElements(r, loc, y, [](OpBuilder &b, Location l, Value v) -> Value {
        return math::LogOp::create(b, l, v);
      });
      break;
    case ReduceKind::LogSumExp:
      y = broadcastGeneric(r, loc, llvm::cast<RankedTensorType>(y.getType()).getShape(), elem,
                           ValueRange{y, max}, [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::AddFOp::create(b, l, math::LogOp::create(b, l, a[0]), a[1]);
                           });
      break;
    default:
      break;
    }
    r.replaceOp(op, reshapeTo(r, loc, y, op.getType().getShape()));
    return success();
  }
};

template <typename OpTy, Combine C, bool Mean>
struct GlobalPoolLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getX().getType());
    SmallVector<int64_t> axes;
    for (int64_t i = 2; i < t.getRank(); ++i)
      axes.push_back(i);
    ElemKind k = ElemKind::of(op.getX().getType());
    Value y = reduce(r, op.getLoc(), adaptor.getX(), axes, C, k);
    if (Mean)
      y = divideBy(r, op.getLoc(), y, countOver(r, op.getLoc(), adaptor.getX(), axes), k);
    r.replaceOp(op, y);
    return success();
  }
};

/// Softmax and LogSoftmax along one axis, stabilized by the maximum.
template <typename OpTy, bool Log>
struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getInput();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    if (!isa<FloatType>(t.getElementType()))
      return r.notifyMatchFailure(op, "softmax needs a float type");
    auto axis = normalizeAxis(op.getAxis(), t.getRank());
    if (!axis)
      return failure();
    Location loc = op.getLoc();
    ElemKind k = ElemKind::of(t);
    Value mx = reduce(r, loc, x, {*axis}, Combine::Max, k);
    Value shifted = broadcastGeneric(r, loc, t.getShape(), t.getElementType(), ValueRange{x, mx},
                                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       return arith::SubFOp::create(b, l, a[0], a[1]);
                                     });
    Value e = broadcastGeneric(r, loc, t.getShape(), t.getElementType(), shifted,
                               [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                 return math::ExpOp::create(b, l, a[0]);
                               });
    Value sum = reduce(r, loc, e, {*axis}, Combine::Sum, k);
    Value y = broadcastGeneric(
        r, loc, t.getShape(), t.getElementType(), ValueRange{Log ? shifted : e, sum},
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          if (Log)
            return arith::SubFOp::create(b, l, a[0], math::LogOp::create(b, l, a[1]));
          return arith::DivFOp::create(b, l, a[0], a[1]);
        });
    r.replaceOp(op, y);
    return success();
  }
};

struct BatchNormLowering : OpConversionPattern<BatchNormalizationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BatchNormalizationOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getX().getType());
    auto elem = llvm::dyn_cast<FloatType>(t.getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "batch normalization needs a float type");
    Location loc = op.getLoc();
    SmallVector<int64_t> pshape(t.getRank() - 1, 1);
    pshape[0] = t.getDimSize(1);
    SmallVector<Value> ins{adaptor.getX()};
    for (Value p : {adaptor.getScale(), adaptor.getB(), adaptor.getInputMean(),
                    adaptor.getInputVar()}) {
      if (llvm::cast<ShapedType>(p.getType()).getElementType() != elem)
        return r.notifyMatchFailure(op, "mixed parameter types are not supported");
      ins.push_back(reshapeTo(r, loc, p, pshape));
    }
    double eps = op.getEpsilon().convertToDouble();
    Value y = broadcastGeneric(
        r, loc, t.getShape(), elem, ins, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value var = arith::AddFOp::create(b, l, a[4], scalarConstant(b, l, elem, eps));
          Value norm = arith::DivFOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[3]),
                                             math::SqrtOp::create(b, l, var));
          return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, norm, a[1]), a[2]);
        });
    r.replaceOp(op, y);
    return success();
  }
};

/// y = x / (bias + alpha / size * sum of x^2 over a window of channels)^beta,
/// the window [c - floor((size-1)/2), c + ceil((size-1)/2)].
struct LRNLowering : OpConversionPattern<LRNOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LRNOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Value x = adaptor.getX();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    auto elem = llvm::dyn_cast<FloatType>(t.getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "LRN needs a float type");
    Location loc = op.getLoc();
    int64_t size = op.getSize(), rank = t.getRank();
    Value sq = broadcastGeneric(r, loc, t.getShape(), elem, x,
                                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                  return arith::MulFOp::create(b, l, a[0], a[0]);
                                });
    // Pad the channel dim, then sum a window with a reduction loop over k.
    SmallVector<int64_t> lo(rank, 0), hi(rank, 0);
    lo[1] = (size - 1) / 2;
    hi[1] = size - 1 - lo[1];
    SmallVector<OpFoldResult> l, h;
    SmallVector<int64_t> padded(t.getShape());
    padded[1] += size - 1;
    for (int64_t i = 0; i < rank; ++i) {
      l.push_back(r.getIndexAttr(lo[i]));
      h.push_back(r.getIndexAttr(hi[i]));
    }
    Value zero = scalarConstant(r, loc, elem, 0);
    Value sqp = tensor::PadOp::create(r, loc, RankedTensorType::get(padded, elem), sq, l, h, zero);
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineExpr> inExprs;
    for (int64_t i = 0; i < rank; ++i)
      inExprs.push_back(i == 1 ? getAffineDimExpr(1, ctx) + getAffineDimExpr(rank, ctx)
                               : getAffineDimExpr(i, ctx));
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < rank; ++i)
      outExprs.push_back(getAffineDimExpr(i, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank + 1, 0, inExprs, ctx),
                                AffineMap::get(rank + 1, 0, {getAffineDimExpr(rank, ctx)}, ctx),
                                AffineMap::get(rank + 1, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value window = emptyTensor(r, loc, {size}, elem);
    Value init = filledTensor(r, loc, t.getShape(), zero);
    Value sum = linalg::GenericOp::create(
                    r, loc, TypeRange{init.getType()}, ValueRange{sqp, window}, ValueRange{init},
                    maps, iters,
                    [](OpBuilder &b, Location l, ValueRange a) {
                      linalg::YieldOp::create(b, l, Value(arith::AddFOp::create(b, l, a[0], a[2])));
                    })
                    .getResult(0);
    double alpha = op.getAlpha().convertToDouble() / size;
    double beta = op.getBeta().convertToDouble(), bias = op.getBias().convertToDouble();
    Value y = broadcastGeneric(
        r, loc, t.getShape(), elem, ValueRange{x, sum},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value d = arith::AddFOp::create(
              b, l, scalarConstant(b, l, elem, bias),
              arith::MulFOp::create(b, l, scalarConstant(b, l, elem, alpha), a[1]));
          Value p = math::PowFOp::create(b, l, d, scalarConstant(b, l, elem, beta));
          return arith::DivFOp::create(b, l, a[0], p);
        });
    r.replaceOp(op, y);
    return success();
  }
};

/// Shared by LayerNormalization and RMSNormalization: mean of `v` over
/// dims axis..rank-1, in keepdims form.
Value meanOverTrailing(OpBuilder &b, Location loc, Value v, int64_t axis, ElemKind k) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> axes;
  for (int64_t i = axis; i < t.getRank(); ++i)
    axes.push_back(i);
  return divideBy(b, loc, reduce(b, loc, v, axes, Combine::Sum, k), countOver(b, loc, v, axes), k);
}

/// Mean of v*v over dims axis..rank-1, in keepdims form: the variance of a
/// centered tensor (LayerNormalization) or the mean square (RMSNormalization).
Value meanOfSquares(OpBuilder &b, Location loc, Value v, int64_t axis, ElemKind k) {
  Value sq = mapElements(b, loc, v, [](OpBuilder &nb, Location l, Value x) -> Value {
    return arith::MulFOp::create(nb, l, x, x);
  });
  return meanOverTrailing(b, loc, sq, axis, k);
}

struct LayerNormLowering : OpConversionPattern<LayerNormalizationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LayerNormalizationOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getX();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    auto elem = llvm::dyn_cast<FloatType>(t.getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "needs a float type");
    Location loc = op.getLoc();
    ElemKind k = ElemKind::of(t);
    int64_t axis = *normalizeAxis(op.getAxis(), t.getRank());
    double eps = op.getEpsilon().convertToDouble();
    Value mean = meanOverTrailing(r, loc, x, axis, k);
    Value diff = broadcastGeneric(r, loc, t.getShape(), elem, ValueRange{x, mean},
                                  [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                    return arith::SubFOp::create(b, l, a[0], a[1]);
                                  });
    Value var = meanOfSquares(r, loc, diff, axis, k);
    Value inv = mapElements(r, loc, var, [&](OpBuilder &b, Location l, Value v) -> Value {
      Value s = math::SqrtOp::create(b, l, arith::AddFOp::create(b, l, v, scalarConstant(b, l, elem, eps)));
      return arith::DivFOp::create(b, l, scalarConstant(b, l, elem, 1), s);
    });
    SmallVector<Value> ins{diff, inv, adaptor.getScale()};
    bool bias = !isa<NoneType>(adaptor.getB().getType());
    if (bias)
      ins.push_back(adaptor.getB());
    Value y = broadcastGeneric(r, loc, t.getShape(), elem, ins,
                               [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                 Value v = arith::MulFOp::create(
                                     b, l, arith::MulFOp::create(b, l, a[0], a[1]), a[2]);
                                 return bias ? Value(arith::AddFOp::create(b, l, v, a[3])) : v;
                               });
    auto statsType = llvm::cast<RankedTensorType>(op.getMean().getType());
    auto toStats = [&](Value v) {
      Type st = statsType.getElementType();
      if (st == elem)
        return v;
      return broadcastGeneric(r, loc, statsType.getShape(), st, v,
                              [&](OpBuilder &b, Location l, ValueRange a) {
                                return castScalar(b, l, a[0], k, st, ElemKind::of(st));
                              });
    };
    r.replaceOp(op, ValueRange{y, toStats(mean), toStats(inv)});
    return success();
  }
};

struct RMSNormLowering : OpConversionPattern<RMSNormalizationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RMSNormalizationOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getX();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    auto elem = llvm::dyn_cast<FloatType>(t.getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "needs a float type");
    Location loc = op.getLoc();
    ElemKind k = ElemKind::of(t);
    int64_t axis = *normalizeAxis(op.getAxis(), t.getRank());
    double eps = op.getEpsilon().convertToDouble();
    Value ms = meanOfSquares(r, loc, x, axis, k);
    Value y = broadcastGeneric(
        r, loc, t.getShape(), elem, ValueRange{x, ms, adaptor.getScale()},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value rms = math::SqrtOp::create(b, l, arith::AddFOp::create(b, l, a[1], scalarConstant(b, l, elem, eps)));
          return arith::MulFOp::create(b, l, arith::DivFOp::create(b, l, a[0], rms), a[2]);
        });
    r.replaceOp(op, y);
    return success();
  }
};

} // namespace

Value sumOver(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes, ElemKind k) {
  return reduce(b, loc, v, axes, Combine::Sum, k);
}

namespace {

/// CumSum / CumProd: y[.., i, ..] combines x[.., j, ..] over the j on the
/// included side of i, as a reduction over j (quadratic in the axis length,
/// which keeps every output element independent and parallel).
template <typename OpTy>
struct CumulativeLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto axisValues = getConstantInts(op.getAxis());
    auto t = llvm::cast<RankedTensorType>(adaptor.getX().getType());
    int64_t rank = t.getRank();
    if (!axisValues || axisValues->size() != 1)
      return r.notifyMatchFailure(op, "axis must be a constant scalar");
    auto axis = normalizeAxis((*axisValues)[0], rank);
    if (!axis)
      return r.notifyMatchFailure(op, "axis out of range");
    bool isSum = std::is_same_v<OpTy, CumSumOp>;
    ElemKind k = ElemKind::of(op.getX().getType());
    if (k.isBool)
      return r.notifyMatchFailure(op, "boolean inputs are not supported");
    Type elem = t.getElementType();
    Location loc = op.getLoc();
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineExpr> in, out;
    for (int64_t d = 0; d < rank; ++d) {
      out.push_back(getAffineDimExpr(d, ctx));
      in.push_back(getAffineDimExpr(d == *axis ? rank : d, ctx));
    }
    SmallVector<AffineMap> maps{AffineMap::get(rank + 1, 0, in, ctx),
                                AffineMap::get(rank + 1, 0, out, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value init = filledTensor(r, loc, t.getShape(), scalarConstant(r, loc, elem, isSum ? 0 : 1),
                              dynamicDims(r, loc, adaptor.getX()));
    bool exclusive = op.getExclusive(), reverse = op.getReverse();
    int64_t ax = *axis;
    auto generic = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{adaptor.getX()}, ValueRange{init}, maps,
        iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = linalg::IndexOp::create(b, l, ax), j = linalg::IndexOp::create(b, l, rank);
          using P = arith::CmpIPredicate;
          P pred = reverse ? (exclusive ? P::ugt : P::uge) : (exclusive ? P::ult : P::ule);
          Value take = arith::CmpIOp::create(b, l, pred, j, i);
          Value combined = isSum ? addOf(b, l, k, a[1], a[0]) : mulOf(b, l, k, a[1], a[0]);
          linalg::YieldOp::create(b, l, Value(arith::SelectOp::create(b, l, take, combined, a[1])));
        });
    r.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// TopK by ranks: rank[i] counts the elements that come before x[i] (better,
/// or equal with a lower index); output k takes the element of rank k.
/// Quadratic in the axis length but fully parallel, with the ONNX order:
/// ties go to the lower index.
struct TopKLowering : OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getX();
    auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
    auto valuesType = llvm::dyn_cast<RankedTensorType>(op.getValues().getType());
    if (!t || !valuesType)
      return r.notifyMatchFailure(op, "unranked operand or result");
    int64_t rank = t.getRank(), axis = *normalizeAxis(op.getAxis(), rank);
    ElemKind k = ElemKind::of(op.getX().getType());
    if (k.isBool)
      return r.notifyMatchFailure(op, "boolean inputs are not supported");
    bool largest = op.getLargest() != 0;
    Location loc = op.getLoc();
    // Dims known only at run time: x's from x, the result's axis from k.
    auto outShape = valuesType.getShape();
    SmallVector<Value> xSizes = dynamicDims(r, loc, x), outSizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (!ShapedType::isDynamic(outShape[d]))
        continue;
      if (d != axis) {
        outSizes.push_back(tensor::DimOp::create(r, loc, x, d));
        continue;
      }
      Value kv = arith::IndexCastOp::create(r, loc, r.getIndexType(), firstElement(r, loc, adaptor.getK()));
      Value n = dimValue(r, loc, x, axis);
      Value inRange = arith::AndIOp::create(
          r, loc, arith::CmpIOp::create(r, loc, arith::CmpIPredicate::sge, kv, arith::ConstantIndexOp::create(r, loc, 0)),
          arith::CmpIOp::create(r, loc, arith::CmpIPredicate::sle, kv, n));
      failRunUnless(r, loc, inRange, "kiln_topk_k_out_of_range");
      outSizes.push_back(kv);
    }
    MLIRContext *ctx = r.getContext();
    Type i64 = r.getI64Type();
    auto identity = AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank);
    SmallVector<AffineExpr> other;
    for (int64_t d = 0; d < rank; ++d)
      other.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
    auto alongExtra = AffineMap::get(rank + 1, 0, other, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);

    // rank[.., i, ..] = #{ j : x_j before x_i }
    Value zero64 = arith::ConstantIntOp::create(r, loc, i64, 0);
    Value ranks0 = filledTensor(r, loc, t.getShape(), zero64, xSizes);
    auto ranks = linalg::GenericOp::create(
        r, loc, TypeRange{ranks0.getType()}, ValueRange{x, x}, ValueRange{ranks0},
        SmallVector<AffineMap>{identity, alongExtra, identity}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value xi = a[0], xj = a[1];
          Value i = linalg::IndexOp::create(b, l, axis), j = linalg::IndexOp::create(b, l, rank);
          Value better, equal;
          if (k.isFloat) {
            better = arith::CmpFOp::create(b, l, largest ? arith::CmpFPredicate::OGT
                                                         : arith::CmpFPredicate::OLT, xj, xi);
            equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, xj, xi);
          } else {
            auto gt = k.isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt;
            auto lt = k.isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt;
            better = arith::CmpIOp::create(b, l, largest ? gt : lt, xj, xi);
            equal = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, xj, xi);
          }
          Value earlier = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, i);
          Value before = arith::OrIOp::create(b, l, better,
                                              arith::AndIOp::create(b, l, equal, earlier));
          Value inc = arith::ExtUIOp::create(b, l, b.getI64Type(), before);
          linalg::YieldOp::create(b, l, Value(arith::AddIOp::create(b, l, a[2], inc)));
        });

    // values[.., k, ..] / indices[.., k, ..]: the element whose rank is k.
    Type elem = t.getElementType();
    Value values0 = filledTensor(r, loc, outShape, scalarConstant(r, loc, elem, 0), outSizes);
    Value indices0 = filledTensor(r, loc, outShape, zero64, outSizes);
    auto select = linalg::GenericOp::create(
        r, loc, TypeRange{values0.getType(), indices0.getType()},
        ValueRange{ranks.getResult(0), x}, ValueRange{values0, indices0},
        SmallVector<AffineMap>{alongExtra, alongExtra, identity, identity}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value kk = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                linalg::IndexOp::create(b, l, axis));
          Value i = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                               linalg::IndexOp::create(b, l, rank));
          Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, a[0], kk);
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, hit, a[1], a[2]),
                                                   arith::SelectOp::create(b, l, hit, i, a[3])});
        });
    r.replaceOp(op, select.getResults());
    return success();
  }
};

} // namespace

void populateReductionPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<TopKLowering>(tc, p.getContext());
  p.add<CumulativeLowering<CumSumOp>, CumulativeLowering<CumProdOp>>(tc, p.getContext());
  p.add<ReduceLowering<ReduceSumOp, ReduceKind::Sum>,
        ReduceLowering<ReduceMeanOp, ReduceKind::Mean>,
        ReduceLowering<ReduceMaxOp, ReduceKind::Max>,
        ReduceLowering<ReduceMinOp, ReduceKind::Min>,
        ReduceLowering<ReduceProdOp, ReduceKind::Prod>,
        ReduceLowering<ReduceL1Op, ReduceKind::L1>,
        ReduceLowering<ReduceL2Op, ReduceKind::L2>,
        ReduceLowering<ReduceLogSumOp, ReduceKind::LogSum>,
        ReduceLowering<ReduceLogSumExpOp, ReduceKind::LogSumExp>,
        ReduceLowering<ReduceSumSquareOp, ReduceKind::SumSquare>,
        GlobalPoolLowering<GlobalAveragePoolOp, Combine::Sum, true>,
        GlobalPoolLowering<GlobalMaxPoolOp, Combine::Max, false>,
        SoftmaxLowering<SoftmaxOp, false>, SoftmaxLowering<LogSoftmaxOp, true>,
        BatchNormLowering, LRNLowering, LayerNormLowering, RMSNormLowering>(tc, p.getContext());
}


} // namespace kiln
