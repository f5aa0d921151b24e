//===- Pooling.cpp - MaxPool / AveragePool -> linalg pooling ops ----------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

/// Shared set-up: resolved params plus the input padded for ceil mode too.
/// `runtime` is set when pads depend on spatial dims known only at run time
/// (ceil mode or SAME padding).
template <typename OpTy>
LogicalResult prepare(OpTy op, Value x, ConversionPatternRewriter &r, SpatialParams &sp,
                      SmallVector<int64_t> &padEnd, std::optional<Padding> *runtime = nullptr) {
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  if (xt.getRank() < 3 || xt.getRank() > 5)
    return r.notifyMatchFailure(op, "pooling is supported in 1-D, 2-D and 3-D");
  std::string error;
  if (!resolveSpatial(xt.getShape().drop_front(2), {}, op.getAutoPad(), op.getKernelShape(),
                      op.getStrides(), op.getDilations(), op.getPads(), op.getCeilMode() != 0,
                      sp, error))
    return r.notifyMatchFailure(op, error);
  padEnd = sp.padEnd;
  bool dynamicSpatial = llvm::any_of(xt.getShape().drop_front(2), ShapedType::isDynamic);
  if (dynamicSpatial && (op.getCeilMode() != 0 || op.getAutoPad().starts_with("SAME"))) {
    if (!runtime)
      return r.notifyMatchFailure(op, "ceil mode or SAME pads need static spatial dims");
    *runtime = runtimePadding(r, op.getLoc(), x, sp, op.getAutoPad(), op.getCeilMode() != 0);
    return success();
  }
  for (size_t i = 0; i < sp.kernel.size() && !dynamicSpatial; ++i) {
    int64_t ek = (sp.kernel[i] - 1) * sp.dilations[i] + 1;
    int64_t need = (sp.outSpatial[i] - 1) * sp.strides[i] + ek - xt.getDimSize(2 + i) -
                   sp.padBegin[i];
    padEnd[i] = std::max(padEnd[i], need);
  }
  return success();
}

Value permuted(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  SmallVector<Value> sizes;
  for (int64_t p : perm) {
    shape.push_back(t.getDimSize(p));
    if (t.isDynamicDim(p))
      sizes.push_back(tensor::DimOp::create(b, loc, v, p));
  }
  Value init = emptyTensor(b, loc, shape, t.getElementType(), sizes);
  return linalg::TransposeOp::create(b, loc, v, init, perm).getResult()[0];
}

Value pool(ConversionPatternRewriter &r, Location loc, bool isMax, Value x, Value init,
           const SpatialParams &sp) {
  if (sp.kernel.size() == 3) {
    // linalg's 3-D pooling is channels-last only.
    Value xl = permuted(r, loc, x, {0, 2, 3, 4, 1});
    Value il = permuted(r, loc, init, {0, 2, 3, 4, 1});
    Value window = emptyTensor(r, loc, sp.kernel, llvm::cast<ShapedType>(x.getType()).getElementType());
    auto strides = r.getI64VectorAttr(sp.strides);
    auto dilations = r.getI64VectorAttr(sp.dilations);
    SmallVector<Type> rt{il.getType()};
    SmallVector<Value> ins{xl, window}, outs{il};
    Value y = isMax ? linalg::PoolingNdhwcMaxOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0)
                    : linalg::PoolingNdhwcSumOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
    return permuted(r, loc, y, {0, 4, 1, 2, 3});
  }
  auto strides = r.getI64VectorAttr(sp.strides);
  auto dilations = r.getI64VectorAttr(sp.dilations);
  Value window = emptyTensor(r, loc, sp.kernel, llvm::cast<ShapedType>(x.getType()).getElementType());
  SmallVector<Type> rt{init.getType()};
  SmallVector<Value> ins{x, window}, outs{init};
  if (sp.kernel.size() == 1)
    return isMax ? linalg::PoolingNcwMaxOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0)
                 : linalg::PoolingNcwSumOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
  return isMax ? linalg::PoolingNchwMaxOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0)
               : linalg::PoolingNchwSumOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
}

/// Whether a pooling's one window is its whole unpadded input (a 7x7
/// average pool over a 7x7 image, at the end of many CNNs): it is then
/// the global pooling, a reduction along each channel's contiguous
/// positions. As a window reduction along output rows of one element it
/// was scalar (ResNet-50's 2048 x 7 x 7: 40 us, ONNX Runtime 15).
template <typename Op>
bool isGlobalWindow(Op op, Value x) {
  auto xType = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xType || !xType.hasStaticShape() || xType.getRank() < 3 || !op.getType().hasStaticShape() ||
      !op.getAutoPad().empty() && op.getAutoPad() != "NOTSET" && op.getAutoPad() != "VALID")
    return false;
  if (llvm::any_of(toInts(op.getPads()), [](int64_t p) { return p != 0; }))
    return false;
  SmallVector<int64_t> kernel = toInts(op.getKernelShape());
  SmallVector<int64_t> dilations = toInts(op.getDilations());
  ArrayRef<int64_t> spatial = xType.getShape().drop_front(2);
  if (kernel.size() != spatial.size() ||
      llvm::any_of(dilations, [](int64_t d) { return d != 1; }))
    return false;
  for (auto [k, d] : llvm::zip(kernel, spatial))
    if (k != d)
      return false;
  return llvm::all_of(op.getType().getShape().drop_front(2), [](int64_t d) { return d == 1; });
}

struct MaxPoolLowering : OpConversionPattern<MaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MaxPoolOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    ElemKind k = ElemKind::of(op.getX().getType());
    if (k.isUnsigned)
      return r.notifyMatchFailure(op, "unsigned max pooling is not supported");
    if (op->getNumResults() == 1 && isGlobalWindow(op, adaptor.getX())) {
      r.replaceOpWithNewOp<GlobalMaxPoolOp>(op, op.getType(), adaptor.getX());
      return success();
    }
    SpatialParams sp;
    SmallVector<int64_t> padEnd;
    std::optional<Padding> runtime;
    if (failed(prepare(op, adaptor.getX(), r, sp, padEnd, &runtime)))
      return failure();
    Location loc = op.getLoc();
    Type elem = signless(op.getType().getElementType());
    Value lowest = lowestValue(r, loc, elem, false);
    auto outShape = op.getType().getShape();
    Value x;
    SmallVector<Value> sizes;
    if (runtime) {
      x = padSpatialBy(r, loc, adaptor.getX(), runtime->lo, runtime->hi, lowest);
      sizes = outputSizes(r, loc, adaptor.getX(), outShape, *runtime);
    } else {
      x = padSpatial(r, loc, adaptor.getX(), sp.padBegin, padEnd, lowest);
      if (!op.getType().hasStaticShape())
        sizes = windowedSizes(r, loc, x, tensor::DimOp::create(r, loc, x, 0), outShape, sp.kernel,
                              sp.strides, sp.dilations);
    }
    Value init = filledTensor(r, loc, outShape, lowest, sizes);
    r.replaceOp(op, pool(r, loc, true, x, init, sp));
    return success();
  }
};

struct AveragePoolLowering : OpConversionPattern<AveragePoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AveragePoolOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto elem = llvm::dyn_cast<FloatType>(op.getType().getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "average pooling needs a float type");
    if (isGlobalWindow(op, adaptor.getX())) {
      r.replaceOpWithNewOp<GlobalAveragePoolOp>(op, op.getType(), adaptor.getX());
      return success();
    }
    // Divisors are computed when compiling for known spatial dims; otherwise
    // by the code (the whole kernel when unpadded, else a sum pooling of
    // ones over the padded extent).
    auto xType = llvm::cast<RankedTensorType>(adaptor.getX().getType());
    bool unpadded = llvm::all_of(toInts(op.getPads()), [](int64_t p) { return p == 0; }) &&
                    !op.getAutoPad().starts_with("SAME");
    bool dynamicSpatial = llvm::any_of(xType.getShape().drop_front(2), ShapedType::isDynamic);
    SpatialParams sp;
    SmallVector<int64_t> padEnd;
    std::optional<Padding> runtime;
    if (failed(prepare(op, adaptor.getX(), r, sp, padEnd, &runtime)))
      return failure();
    Location loc = op.getLoc();
    auto inShape = llvm::cast<RankedTensorType>(adaptor.getX().getType()).getShape();
    Value zero = scalarConstant(r, loc, elem, 0);
    auto outShape = op.getType().getShape();
    Value x;
    SmallVector<Value> sizes;
    if (runtime) {
      x = padSpatialBy(r, loc, adaptor.getX(), runtime->lo, runtime->hi, zero);
      sizes = outputSizes(r, loc, adaptor.getX(), outShape, *runtime);
      unpadded = false;
    } else {
      x = padSpatial(r, loc, adaptor.getX(), sp.padBegin, padEnd, zero);
      if (!op.getType().hasStaticShape())
        sizes = windowedSizes(r, loc, x, tensor::DimOp::create(r, loc, x, 0), outShape, sp.kernel,
                              sp.strides, sp.dilations);
    }
    Value sum = pool(r, loc, false, x, filledTensor(r, loc, outShape, zero, sizes), sp);

    if (!op.getType().hasStaticShape() && unpadded) {
      double taps = 1;
      for (int64_t k : sp.kernel)
        taps *= k;
      Value y = broadcastGeneric(r, loc, outShape, elem, ValueRange{sum},
                                 [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                   return arith::DivFOp::create(
                                       b, l, a[0], scalarConstant(b, l, elem, taps));
                                 });
      r.replaceOp(op, y);
      return success();
    }
    if (dynamicSpatial) {
      // Each output's count of window taps inside the input (or inside the
      // explicit pads, with count_include_pad): a sum pooling of ones.
      int64_t rank = xType.getRank();
      SmallVector<int64_t> onesShape{1, 1};
      SmallVector<Value> onesSizes;
      for (int64_t d = 2; d < rank; ++d) {
        onesShape.push_back(xType.getDimSize(d));
        if (xType.isDynamicDim(d))
          onesSizes.push_back(tensor::DimOp::create(r, loc, adaptor.getX(), d));
      }
      Value one = scalarConstant(r, loc, elem, 1);
      Value ones = filledTensor(r, loc, onesShape, one, onesSizes);
      Value inPads = op.getCountIncludePad() ? one : zero;
      SmallVector<int64_t> countShape{1, 1};
      countShape.append(outShape.begin() + 2, outShape.end());
      Value paddedOnes;
      SmallVector<Value> countSizes;
      if (runtime) {
        // Ceil mode's extra end padding never counts.
        paddedOnes = padSpatialBy(r, loc, ones, runtime->lo, runtime->explicitHi, inPads);
        SmallVector<OpFoldResult> none, extra;
        for (size_t i = 0; i < sp.kernel.size(); ++i) {
          none.push_back(r.getIndexAttr(0));
          extra.push_back(arith::SubIOp::create(r, loc, llvm::cast<Value>(runtime->hi[i]),
                                                llvm::cast<Value>(runtime->explicitHi[i]))
                              .getResult());
        }
        paddedOnes = padSpatialBy(r, loc, paddedOnes, none, extra, zero);
        countSizes = outputSizes(r, loc, ones, countShape, *runtime);
      } else {
        paddedOnes = padSpatial(r, loc, ones, sp.padBegin, padEnd, inPads);
        countSizes = windowedSizes(r, loc, paddedOnes, Value(), countShape, sp.kernel, sp.strides,
                                   sp.dilations);
      }
      Value counts = pool(r, loc, false, paddedOnes, filledTensor(r, loc, countShape, zero, countSizes), sp);
      Value y = broadcastGeneric(r, loc, outShape, elem, ValueRange{sum, counts},
                                 [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                   Value c = arith::MaximumFOp::create(
                                       b, l, a[1], scalarConstant(b, l, elem, 1));
                                   return arith::DivFOp::create(b, l, a[0], c);
                                 });
      r.replaceOp(op, y);
      return success();
    }
    // Divisors are known at compile time: per spatial dim, the number of
    // window taps inside the input (or inside the explicit pads when
    // count_include_pad); the divisor is their product.
    size_t n = sp.kernel.size();
    std::vector<std::vector<double>> counts(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t in = inShape[2 + i];
      int64_t lo = op.getCountIncludePad() ? -sp.padBegin[i] : 0;
      int64_t hi = op.getCountIncludePad() ? in + sp.padEnd[i] : in;
      for (int64_t o = 0; o < sp.outSpatial[i]; ++o) {
        int64_t c = 0;
        for (int64_t k = 0; k < sp.kernel[i]; ++k) {
          int64_t pos = o * sp.strides[i] - sp.padBegin[i] + k * sp.dilations[i];
          c += pos >= lo && pos < hi;
        }
        counts[i].push_back(c ? c : 1);
      }
    }
    SmallVector<APFloat> divisors;
    SmallVector<int64_t> idx(n, 0);
    int64_t total = 1;
    for (int64_t d : sp.outSpatial)
      total *= d;
    for (int64_t flat = 0; flat < total; ++flat) {
      int64_t rem = flat;
      double d = 1;
      for (int64_t i = n - 1; i >= 0; --i) {
        d *= counts[i][rem % sp.outSpatial[i]];
        rem /= sp.outSpatial[i];
      }
      // Multiplied by the reciprocal: a vector division is several times
      // slower than a multiplication, and bound the pass over the sums
      // (192 x 28 x 28: 15.6 us). The reciprocal of a count is within half
      // an ulp, the product within about one of the quotient.
      APFloat v(1.0 / d);
      bool lost;
      v.convert(elem.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      divisors.push_back(v);
    }
    auto divType = RankedTensorType::get(sp.outSpatial, elem);
    Value reciprocal =
        arith::ConstantOp::create(r, loc, divType, DenseElementsAttr::get(divType, divisors));
    Value y = broadcastGeneric(r, loc, outShape, elem, ValueRange{sum, reciprocal},
                               [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                 return arith::MulFOp::create(b, l, a[0], a[1]);
                               });
    r.replaceOp(op, y);
    return success();
  }
};

} // namespace

void populatePoolingPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<MaxPoolLowering, AveragePoolLowering>(tc, p.getContext());
}

} // namespace kiln
