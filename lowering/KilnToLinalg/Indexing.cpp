//===- Indexing.cpp - Gather, Expand, Trilu, ArgMax/ArgMin ----------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

/// out[a..., i..., b...] = data[a..., indices[i...], b...], negative indices
/// counting from the end. An index out of range fails the run (checked
/// before the gather, which clamps).
/// The value of a 0-d integer constant index, if `indices` is one.
std::optional<int64_t> constantScalarIndex(Value indices) {
  auto cst = indices.getDefiningOp<ConstantOp>();
  auto value = cst ? llvm::dyn_cast<DenseIntElementsAttr>(cst.getValue()) : DenseIntElementsAttr();
  if (!value || value.getType().getRank() != 0)
    return std::nullopt;
  return (*value.getValues<APInt>().begin()).getSExtValue();
}

struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dt = llvm::cast<RankedTensorType>(data.getType());
    auto it = llvm::cast<RankedTensorType>(indices.getType());
    int64_t axis = *normalizeAxis(op.getAxis(), dt.getRank());
    // One constant index (a direction's weights of an LSTM, a head of a
    // stacked tensor): a slice, which stays a view, and folds at compile
    // time when the data is a constant.
    if (std::optional<int64_t> k = constantScalarIndex(op.getIndices());
        k && dt.hasStaticShape() && op.getType().hasStaticShape()) {
      int64_t index = *k < 0 ? *k + dt.getDimSize(axis) : *k;
      if (index >= 0 && index < dt.getDimSize(axis)) {
        SmallVector<OpFoldResult> offsets(dt.getRank(), r.getIndexAttr(0)), sizes,
            strides(dt.getRank(), r.getIndexAttr(1));
        for (int64_t d : dt.getShape())
          sizes.push_back(r.getIndexAttr(d));
        offsets[axis] = r.getIndexAttr(index);
        sizes[axis] = r.getIndexAttr(1);
        r.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, llvm::cast<RankedTensorType>(op.getType()), data, offsets, sizes,
                                                     strides);
        return success();
      }
    }
    // One index known only at run time (a loop's step reading its slice of
    // a sequence): a slice at that offset, also a view. As a gather it was
    // a copy that reloaded and clamped the index for every element.
    if (it.getRank() == 0 && dt.hasStaticShape() && dt.getDimSize(axis) > 0 &&
        op.getType().hasStaticShape()) {
      Location loc = op.getLoc();
      Value raw = tensor::ExtractOp::create(r, loc, indices, ValueRange{});
      SmallVector<OpFoldResult> offsets(dt.getRank(), r.getIndexAttr(0)), sizes,
          strides(dt.getRank(), r.getIndexAttr(1));
      for (int64_t d : dt.getShape())
        sizes.push_back(r.getIndexAttr(d));
      offsets[axis] = checkedIndex(r, loc, raw, dimValue(r, loc, data, axis), op);
      sizes[axis] = r.getIndexAttr(1);
      r.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, llvm::cast<RankedTensorType>(op.getType()), data, offsets, sizes,
                                                   strides);
      return success();
    }
    // Result dims: data's before the axis, the indices', data's after it.
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < dt.getRank(); ++i) {
      if (i == axis)
        llvm::append_range(sizes, dynamicDims(r, op.getLoc(), indices));
      else if (dt.isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(r, op.getLoc(), data, i));
    }
    auto outShape = op.getType().getShape();
    int64_t rank = outShape.size(), ir = it.getRank();
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i < ir; ++i)
      idxExprs.push_back(getAffineDimExpr(axis + i, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idxExprs, ctx),
                                AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Location loc = op.getLoc();
    Value init = emptyTensor(r, loc, outShape, dt.getElementType(), sizes);
    Value dim = dimValue(r, loc, data, axis);
    checkIndices(r, loc, indices, dim, op);
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value k = clampedIndex(b, l, a[0], dim);
          SmallVector<Value> at;
          for (int64_t i = 0; i < axis; ++i)
            at.push_back(linalg::IndexOp::create(b, l, i));
          at.push_back(k);
          for (int64_t i = axis + 1; i < dt.getRank(); ++i)
            at.push_back(linalg::IndexOp::create(b, l, i - 1 + ir));
          linalg::YieldOp::create(b, l, Value(tensor::ExtractOp::create(b, l, data, at)));
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }
};

struct ExpandLowering : OpConversionPattern<ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ExpandOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto outType = op.getType();
    SmallVector<Value> sizes;
    if (!outType.hasStaticShape()) {
      // Each dim is the target's where the input's is 1 (or missing), the
      // input's otherwise, read when the code runs.
      Location loc = op.getLoc();
      Value in = adaptor.getInput();
      auto inType = llvm::cast<RankedTensorType>(in.getType());
      auto shapeType = llvm::cast<RankedTensorType>(adaptor.getShape().getType());
      int64_t rank = outType.getRank(), len = shapeType.getDimSize(0);
      Value one = arith::ConstantIndexOp::create(r, loc, 1);
      for (int64_t k = 0; k < rank; ++k) {
        if (!outType.isDynamicDim(k))
          continue;
        Value target = one;
        if (int64_t t = k - (rank - len); t >= 0) {
          target = tensor::ExtractOp::create(r, loc, adaptor.getShape(),
                                             ValueRange{arith::ConstantIndexOp::create(r, loc, t)});
          target = arith::IndexCastOp::create(r, loc, r.getIndexType(), target);
        }
        Value size = target;
        if (int64_t i = k - (rank - inType.getRank()); i >= 0) {
          Value d = tensor::DimOp::create(r, loc, in, i);
          Value isOne = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::eq, d, one);
          size = arith::SelectOp::create(r, loc, isOne, target, d);
        }
        sizes.push_back(size);
      }
    }
    r.replaceOp(op, broadcastGeneric(r, op.getLoc(), outType.getShape(),
                                     signless(outType.getElementType()), adaptor.getInput(),
                                     [](OpBuilder &, Location, ValueRange a) { return a[0]; },
                                     sizes));
    return success();
  }
};

struct TriluLowering : OpConversionPattern<TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TriluOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    // k, when given, is read when the code runs (a constant folds).
    Value kValue;
    if (!isa<NoneType>(op.getK().getType())) {
      auto kt = llvm::cast<RankedTensorType>(adaptor.getK().getType());
      if (kt.getNumElements() != 1 && kt.hasStaticShape())
        return r.notifyMatchFailure(op, "k must be one value");
      kValue = firstElement(r, op.getLoc(), adaptor.getK());
      kValue = arith::IndexCastOp::create(r, op.getLoc(), r.getIndexType(), kValue);
    } else {
      kValue = arith::ConstantIndexOp::create(r, op.getLoc(), 0);
    }
    auto t = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t rank = t.getRank();
    bool upper = op.getUpper() != 0;
    Type elem = t.getElementType();
    Value y = broadcastGeneric(
        r, op.getLoc(), t.getShape(), elem, adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value i = linalg::IndexOp::create(b, l, rank - 2);
          Value j = linalg::IndexOp::create(b, l, rank - 1);
          Value diff = arith::SubIOp::create(b, l, j, i);
          Value keep = arith::CmpIOp::create(
              b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle, diff, kValue);
          return arith::SelectOp::create(b, l, keep, a[0], scalarConstant(b, l, elem, 0));
        });
    r.replaceOp(op, y);
    return success();
  }
};

/// ArgMax / ArgMin: one reduction carrying (best value, its index).
template <typename OpTy, bool Max>
struct ArgLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getData();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    int64_t rank = t.getRank();
    int64_t axis = *normalizeAxis(op.getAxis(), rank);
    if (t.getDimSize(axis) == 0)
      return r.notifyMatchFailure(op, "empty axis");
    ElemKind k = ElemKind::of(op.getData().getType());
    k.isUnsigned |= k.isBool;
    Type elem = t.getElementType(), i64 = r.getI64Type();
    Location loc = op.getLoc();
    MLIRContext *ctx = r.getContext();
    SmallVector<int64_t> kept;
    SmallVector<Value> keptSizes;
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iters;
    for (int64_t i = 0; i < rank; ++i) {
      iters.push_back(i == axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (i != axis) {
        kept.push_back(t.getDimSize(i));
        if (t.isDynamicDim(i))
          keptSizes.push_back(tensor::DimOp::create(r, loc, x, i));
        outExprs.push_back(getAffineDimExpr(i, ctx));
      }
    }
    Value vInit = filledTensor(r, loc, kept,
                               Max ? lowestValue(r, loc, elem, k.isUnsigned)
                                   : highestValue(r, loc, elem, k.isUnsigned),
                               keptSizes);
    Value iInit =
        filledTensor(r, loc, kept, arith::ConstantIntOp::create(r, loc, i64, -1), keptSizes);
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx), outMap, outMap};
    bool last = op.getSelectLastIndex() != 0;
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{vInit.getType(), iInit.getType()}, ValueRange{x},
        ValueRange{vInit, iInit}, maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value idx = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, axis));
          Value better;
          if (k.isFloat)
            better = arith::CmpFOp::create(
                b, l, Max ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                          : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT),
                a[0], a[1]);
          else
            better = arith::CmpIOp::create(
                b, l,
                Max ? (last ? (k.isUnsigned ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                            : (k.isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt))
                    : (last ? (k.isUnsigned ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                            : (k.isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt)),
                a[0], a[1]);
          // The first element always wins, so an all -inf row yields index 0.
          Value first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, a[2],
                                              arith::ConstantIntOp::create(b, l, i64, 0));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(b, l, ValueRange{arith::SelectOp::create(b, l, better, a[0], a[1]),
                                                   arith::SelectOp::create(b, l, better, idx, a[2])});
        });
    r.replaceOp(op, reshapeTo(r, loc, g.getResult(1), op.getType().getShape()));
    return success();
  }
};

struct SplitLowering : OpConversionPattern<SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SplitOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t axis = *normalizeAxis(op.getAxis(), t.getRank()), offset = 0;
    SmallVector<Value> pieces;
    bool staticPieces = llvm::all_of(op.getResults(), [&](Value v) {
      return !llvm::cast<RankedTensorType>(v.getType()).isDynamicDim(axis);
    });
    if (!t.hasStaticShape() || !staticPieces) {
      // Dims known only at run time: pieces of ceil(D / n) along the axis
      // (the last one shorter) unless the types give their sizes.
      Location loc = op.getLoc();
      Value in = adaptor.getInput();
      int64_t n = op.getNumResults();
      Value d = tensor::DimOp::create(r, loc, in, axis);
      Value chunk = arith::CeilDivUIOp::create(r, loc, d, arith::ConstantIndexOp::create(r, loc, n));
      Value at = arith::ConstantIndexOp::create(r, loc, 0);
      for (Value res : op.getResults()) {
        auto rt = llvm::cast<RankedTensorType>(res.getType());
        Value size = rt.isDynamicDim(axis)
                         ? Value(arith::MinUIOp::create(r, loc, chunk,
                                                        arith::SubIOp::create(r, loc, d, at)))
                         : Value(arith::ConstantIndexOp::create(r, loc, rt.getDimSize(axis)));
        SmallVector<OpFoldResult> offs(t.getRank(), r.getIndexAttr(0)), sizes,
            strides(t.getRank(), r.getIndexAttr(1));
        offs[axis] = at;
        for (int64_t i = 0; i < t.getRank(); ++i)
          sizes.push_back(i == axis ? OpFoldResult(size)
                          : rt.isDynamicDim(i)
                              ? OpFoldResult(tensor::DimOp::create(r, loc, in, i).getResult())
                              : r.getIndexAttr(rt.getDimSize(i)));
        if (!rt.isDynamicDim(axis))
          sizes[axis] = r.getIndexAttr(rt.getDimSize(axis));
        auto type = RankedTensorType::get(rt.getShape(), t.getElementType());
        pieces.push_back(tensor::ExtractSliceOp::create(r, loc, type, in, offs, sizes, strides));
        at = arith::MinUIOp::create(r, loc, d, arith::AddIOp::create(r, loc, at, size));
      }
      r.replaceOp(op, pieces);
      return success();
    }
    for (Value res : op.getResults()) {
      auto rt = llvm::cast<RankedTensorType>(res.getType());
      SmallVector<OpFoldResult> offs(t.getRank(), r.getIndexAttr(0)), sizes,
          strides(t.getRank(), r.getIndexAttr(1));
      offs[axis] = r.getIndexAttr(offset);
      for (int64_t d : rt.getShape())
        sizes.push_back(r.getIndexAttr(d));
      auto type = RankedTensorType::get(rt.getShape(), t.getElementType());
      // An empty piece may start at the end, where a slice may not.
      if (rt.getNumElements() == 0)
        pieces.push_back(emptyTensor(r, op.getLoc(), rt.getShape(), t.getElementType()));
      else
        pieces.push_back(tensor::ExtractSliceOp::create(r, op.getLoc(), type, adaptor.getInput(),
                                                        offs, sizes, strides));
      offset += rt.getDimSize(axis);
    }
    r.replaceOp(op, pieces);
    return success();
  }
};

struct GatherElementsLowering : OpConversionPattern<GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherElementsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value data = adaptor.getData();
    auto dt = llvm::cast<RankedTensorType>(data.getType());
    int64_t rank = dt.getRank(), axis = *normalizeAxis(op.getAxis(), rank);
    auto outShape = op.getType().getShape();
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, ctx));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Location loc = op.getLoc();
    Value dim = dimValue(r, loc, data, axis);
    Value init = emptyTensor(r, loc, outShape, dt.getElementType(),
                             dynamicDims(r, loc, adaptor.getIndices()));
    checkIndices(r, loc, adaptor.getIndices(), dim, op);
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{adaptor.getIndices()}, ValueRange{init},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value k = clampedIndex(b, l, a[0], dim);
          SmallVector<Value> at;
          for (int64_t i = 0; i < rank; ++i)
            at.push_back(i == axis ? k : Value(linalg::IndexOp::create(b, l, i)));
          linalg::YieldOp::create(b, l, Value(tensor::ExtractOp::create(b, l, data, at)));
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }
};

/// Constant mode with non-negative pads: tensor.pad. Otherwise (reflect,
/// edge, wrap, or cropping by negative pads) a generic computes each source
/// index.
struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PadOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto pads = getConstantInts(op.getPads());
    std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{};
    if (!isa<NoneType>(op.getAxes().getType()))
      axes = getConstantInts(op.getAxes());
    if (!axes)
      return r.notifyMatchFailure(op, "axes must be constant");
    Value data = adaptor.getData();
    auto t = llvm::cast<RankedTensorType>(data.getType());
    int64_t rank = t.getRank();
    Location loc = op.getLoc();
    // Pads per dim: constants, or read from the pads tensor when the code runs.
    SmallVector<int64_t> begin(rank, 0), end(rank, 0);
    SmallVector<Value> beginV, endV;
    if (pads) {
      std::string error;
      auto be = resolvePads(rank, *pads, *axes, error);
      if (!be)
        return r.notifyMatchFailure(op, error);
      std::tie(begin, end) = *be;
      for (int64_t i = 0; i < rank; ++i) {
        beginV.push_back(arith::ConstantIndexOp::create(r, loc, begin[i]));
        endV.push_back(arith::ConstantIndexOp::create(r, loc, end[i]));
      }
    } else {
      SmallVector<int64_t> padded(*axes);
      if (padded.empty())
        for (int64_t i = 0; i < rank; ++i)
          padded.push_back(i);
      auto pt = llvm::dyn_cast<RankedTensorType>(adaptor.getPads().getType());
      if (!pt || pt.getRank() != 1 ||
          (!pt.isDynamicDim(0) && pt.getDimSize(0) != 2 * (int64_t)padded.size()))
        return r.notifyMatchFailure(op, "pads must hold two values per padded axis");
      Value zeroIndex = arith::ConstantIndexOp::create(r, loc, 0);
      beginV.assign(rank, zeroIndex);
      endV.assign(rank, zeroIndex);
      int64_t n = padded.size();
      for (int64_t k = 0; k < n; ++k) {
        auto axis = normalizeAxis(padded[k], rank);
        if (!axis)
          return r.notifyMatchFailure(op, "axes holds an axis out of range");
        auto read = [&](int64_t at) -> Value {
          Value v = tensor::ExtractOp::create(r, loc, adaptor.getPads(),
                                              ValueRange{arith::ConstantIndexOp::create(r, loc, at)});
          return arith::IndexCastOp::create(r, loc, r.getIndexType(), v);
        };
        beginV[*axis] = read(k);
        endV[*axis] = read(n + k);
      }
    }
    Type elem = t.getElementType();
    StringRef mode = op.getMode();
    Value fill = scalarConstant(r, loc, elem, 0);
    if (!isa<NoneType>(adaptor.getConstantValue().getType())) {
      Value cv = adaptor.getConstantValue();
      auto ct = llvm::cast<RankedTensorType>(cv.getType());
      if (ct.getNumElements() == 1)
        fill = firstElement(r, loc, cv);
    }
    bool nonNegative = pads && llvm::all_of(begin, [](int64_t p) { return p >= 0; }) &&
                       llvm::all_of(end, [](int64_t p) { return p >= 0; });
    auto outShape = op.getType().getShape();
    if (mode == "constant" && nonNegative) {
      SmallVector<OpFoldResult> lo, hi;
      for (int64_t i = 0; i < rank; ++i) {
        lo.push_back(r.getIndexAttr(begin[i]));
        hi.push_back(r.getIndexAttr(end[i]));
      }
      r.replaceOp(op, tensor::PadOp::create(r, loc, RankedTensorType::get(outShape, elem), data,
                                            lo, hi, fill));
      return success();
    }
    if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
      return r.notifyMatchFailure(op, "unknown mode");
    for (int64_t i = 0; i < rank; ++i)
      if (t.getDimSize(i) == 0 && outShape[i] != 0 && mode != "constant")
        return r.notifyMatchFailure(op, "padding an empty dim");
    // Input dims (read when the code runs where dynamic) and result sizes
    // (never negative: pads may crop).
    SmallVector<Value> dims = allDims(r, loc, data), sizes;
    for (int64_t i = 0; i < rank; ++i) {
      if (ShapedType::isDynamic(outShape[i]))
        sizes.push_back(arith::MaxSIOp::create(
            r, loc, arith::AddIOp::create(r, loc, dims[i], arith::AddIOp::create(r, loc, beginV[i], endV[i])),
            arith::ConstantIndexOp::create(r, loc, 0)));
    }
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value init = emptyTensor(r, loc, outShape, elem, sizes);
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange) {
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          Value inside = arith::ConstantIntOp::create(b, l, b.getI1Type(), 1);
          SmallVector<Value> at;
          for (int64_t i = 0; i < rank; ++i) {
            Value nv = dims[i];
            Value last = arith::MaxSIOp::create(
                b, l, arith::SubIOp::create(b, l, nv, arith::ConstantIndexOp::create(b, l, 1)), zero);
            Value j = arith::SubIOp::create(b, l, linalg::IndexOp::create(b, l, i), beginV[i]);
            Value below = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, j, zero);
            Value above = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, j, last);
            if (mode == "edge") {
              j = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, j, zero), last);
            } else if (mode == "reflect") {
              Value neg = arith::SubIOp::create(b, l, zero, j);
              Value mirrored = arith::SubIOp::create(
                  b, l, arith::MulIOp::create(b, l, last, arith::ConstantIndexOp::create(b, l, 2)), j);
              j = arith::SelectOp::create(b, l, below, neg, arith::SelectOp::create(b, l, above, mirrored, j));
              j = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, j, zero), last);
            } else if (mode == "wrap") {
              j = arith::RemSIOp::create(b, l, arith::AddIOp::create(b, l, arith::RemSIOp::create(b, l, j, nv), nv), nv);
            } else {
              Value out = arith::OrIOp::create(b, l, below, above);
              inside = arith::AndIOp::create(b, l, inside, arith::XOrIOp::create(
                  b, l, out, arith::ConstantIntOp::create(b, l, b.getI1Type(), 1)));
              j = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, j, zero), last);
            }
            at.push_back(j);
          }
          Value v = tensor::ExtractOp::create(b, l, data, at);
          if (mode == "constant")
            v = arith::SelectOp::create(b, l, inside, v, fill);
          linalg::YieldOp::create(b, l, v);
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }
};

/// Per target element: loss = -input[n, t, d...] * w(t), w = weight[t] (or
/// 1) and 0 for ignored targets; then none, sum, or sum(loss) / sum(w).
struct NLLLossLowering : OpConversionPattern<NegativeLogLikelihoodLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NegativeLogLikelihoodLossOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value input = adaptor.getInput(), target = adaptor.getTarget(), weight = adaptor.getWeight();
    auto it = llvm::cast<RankedTensorType>(input.getType());
    auto tt = llvm::cast<RankedTensorType>(target.getType());
    auto elem = llvm::dyn_cast<FloatType>(it.getElementType());
    if (!elem)
      return r.notifyMatchFailure(op, "needs a float input");
    bool hasWeight = !isa<NoneType>(weight.getType());
    std::optional<int64_t> ignore = op.getIgnoreIndex();
    int64_t rank = tt.getRank();
    Location loc = op.getLoc();
    MLIRContext *ctx = r.getContext();
    Value classes = dimValue(r, loc, input, 1);
    auto shape = tt.getShape();
    SmallVector<Value> sizes = dynamicDims(r, loc, target);
    Value lossInit = emptyTensor(r, loc, shape, elem, sizes),
          wInit = emptyTensor(r, loc, shape, elem, sizes);
    SmallVector<AffineMap> maps(3, AffineMap::getMultiDimIdentityMap(rank, ctx));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{lossInit.getType(), wInit.getType()}, ValueRange{target},
        ValueRange{lossInit, wInit}, maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value t = a[0];
          Value ignored = arith::ConstantIntOp::create(b, l, b.getI1Type(), 0);
          if (ignore)
            ignored = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, t,
                                            arith::ConstantIntOp::create(b, l, t.getType(), *ignore));
          Value k = clampedIndex(b, l, t, classes, /*fromEnd=*/false);
          SmallVector<Value> at{linalg::IndexOp::create(b, l, 0), k};
          for (int64_t i = 1; i < rank; ++i)
            at.push_back(linalg::IndexOp::create(b, l, i));
          Value x = tensor::ExtractOp::create(b, l, input, at);
          Value w = hasWeight ? Value(tensor::ExtractOp::create(b, l, weight, ValueRange{k}))
                              : scalarConstant(b, l, elem, 1);
          w = arith::SelectOp::create(b, l, ignored, scalarConstant(b, l, elem, 0), w);
          Value loss = arith::NegFOp::create(b, l, arith::MulFOp::create(b, l, x, w));
          linalg::YieldOp::create(b, l, ValueRange{loss, w});
        });
    Value loss = g.getResult(0);
    StringRef reduction = op.getReduction();
    if (reduction == "none") {
      r.replaceOp(op, loss);
      return success();
    }
    SmallVector<int64_t> all;
    for (int64_t i = 0; i < rank; ++i)
      all.push_back(i);
    ElemKind k = ElemKind::of(elem);
    auto total = [&](Value v) { return reshapeTo(r, loc, sumOver(r, loc, v, all, k), {}); };
    Value sum = total(loss);
    if (reduction == "mean") {
      Value wsum = total(g.getResult(1));
      sum = broadcastGeneric(r, loc, {}, elem, ValueRange{sum, wsum},
                             [](OpBuilder &b, Location l, ValueRange a) -> Value {
                               return arith::DivFOp::create(b, l, a[0], a[1]);
                             });
    }
    r.replaceOp(op, sum);
    return success();
  }
};

} // namespace

void populateIndexingPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<GatherLowering, ExpandLowering, TriluLowering, ArgLowering<ArgMaxOp, true>,
        ArgLowering<ArgMinOp, false>, SplitLowering, GatherElementsLowering, PadLowering,
        NLLLossLowering>(
      tc, p.getContext());
}

} // namespace kiln
