//===- Tensor.cpp - data movement and constants -> tensor / linalg --------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ConstantData.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &r) const override {
    ElementsAttr value = op.getValue();
    if (!isa<DenseElementsAttr, DenseResourceElementsAttr>(value) ||
        llvm::isa<StringType>(value.getElementType()))
      return r.notifyMatchFailure(op, "only dense numeric constants");
    Type elem = signless(value.getElementType());
    if (elem != value.getElementType())
      value = retypeConstant(value, value.getShapedType().clone(elem));
    r.replaceOpWithNewOp<arith::ConstantOp>(op, value.getShapedType(), cast<TypedAttr>(value));
    return success();
  }
};

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value product(OpBuilder &b, Location loc, ArrayRef<Value> dims) {
  Value p = indexConst(b, loc, 1);
  for (Value d : dims)
    p = arith::MulIOp::create(b, loc, p, d);
  return p;
}

/// The result dims of a reshape-like op, computed when the code runs.
SmallVector<Value> reshapedDims(OpBuilder &b, Location loc, Operation *op, Value in) {
  SmallVector<Value> inDims = allDims(b, loc, in);
  auto out = llvm::cast<RankedTensorType>(op->getResult(0).getType());
  int64_t outRank = out.getRank();
  SmallVector<Value> dims;
  if (auto f = dyn_cast<FlattenOp>(op)) {
    int64_t axis = f.getAxis() < 0 ? f.getAxis() + (int64_t)inDims.size() : f.getAxis();
    dims.push_back(product(b, loc, ArrayRef<Value>(inDims).take_front(axis)));
    dims.push_back(product(b, loc, ArrayRef<Value>(inDims).drop_front(axis)));
    return dims;
  }
  if (isa<SqueezeOp, UnsqueezeOp>(op)) {
    // Only dims of size 1 come and go: the others keep their order.
    bool squeeze = isa<SqueezeOp>(op);
    Value axesValue = op->getOperand(1);
    std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{};
    if (!isa<NoneType>(axesValue.getType()))
      axes = getConstantInts(axesValue);
    if (!axes)
      return {};
    int64_t axisRank = squeeze ? inDims.size() : outRank;
    llvm::SmallDenseSet<int64_t> set;
    for (int64_t a : *axes)
      set.insert(a < 0 ? a + axisRank : a);
    if (squeeze) {
      auto inType = llvm::cast<RankedTensorType>(in.getType());
      for (int64_t i = 0; i < (int64_t)inDims.size(); ++i)
        if (!(axes->empty() ? inType.getDimSize(i) == 1 : set.contains(i)))
          dims.push_back(inDims[i]);
    } else {
      size_t next = 0;
      for (int64_t i = 0; i < outRank; ++i)
        dims.push_back(set.contains(i) ? indexConst(b, loc, 1) : inDims[next++]);
    }
    return dims.size() == (size_t)outRank ? dims : SmallVector<Value>{};
  }
  // Reshape: 0 copies the input dim (unless allowzero), -1 takes the rest.
  auto reshape = cast<ReshapeOp>(op);
  Value shape = reshape.getShape();
  Value total = product(b, loc, inDims);
  SmallVector<Value> requested;
  Value known = indexConst(b, loc, 1), zero = indexConst(b, loc, 0);
  for (int64_t i = 0; i < outRank; ++i) {
    Value v = tensor::ExtractOp::create(b, loc, shape, ValueRange{indexConst(b, loc, i)});
    v = arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    if (!reshape.getAllowzero() && i < (int64_t)inDims.size()) {
      Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, zero);
      v = arith::SelectOp::create(b, loc, isZero, inDims[i], v);
    }
    requested.push_back(v);
    Value isRest = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, zero);
    known = arith::MulIOp::create(b, loc, known,
                                  arith::SelectOp::create(b, loc, isRest, indexConst(b, loc, 1), v));
  }
  // An empty known product leaves -1 at 0 rather than dividing by zero.
  Value safe = arith::MaxSIOp::create(b, loc, known, indexConst(b, loc, 1));
  Value rest = arith::DivUIOp::create(b, loc, total, safe);
  for (Value v : requested) {
    Value isRest = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, zero);
    dims.push_back(arith::SelectOp::create(b, loc, isRest, rest, v));
  }
  return dims;
}

/// Ops whose result is their first operand, re-laid out to the result shape.
/// With dynamic dims the new dims are computed when the code runs and the
/// data is re-viewed with tensor.reshape.
template <typename OpTy>
struct ReshapeLikeLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value in = adaptor.getOperands()[0];
    auto outType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
    auto inType = llvm::cast<RankedTensorType>(in.getType());
    if (inType.hasStaticShape() && outType.hasStaticShape()) {
      r.replaceOp(op, reshapeTo(r, op.getLoc(), in, outType.getShape()));
      return success();
    }
    Location loc = op.getLoc();
    SmallVector<Value> dims = reshapedDims(r, loc, op, in);
    if (dims.size() != (size_t)outType.getRank())
      return r.notifyMatchFailure(op, "the new dims cannot be computed when the code runs");
    for (int64_t i = 0; i < outType.getRank(); ++i)
      if (!outType.isDynamicDim(i))
        dims[i] = indexConst(r, loc, outType.getDimSize(i));
    auto shapeType = RankedTensorType::get({outType.getRank()}, r.getIndexType());
    Value shape = tensor::FromElementsOp::create(r, loc, shapeType, dims);
    auto resultType = RankedTensorType::get(outType.getShape(), inType.getElementType());
    r.replaceOp(op, tensor::ReshapeOp::create(r, loc, resultType, in, shape).getResult());
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    SmallVector<int64_t> perm;
    for (Attribute a : op.getPerm())
      perm.push_back(llvm::cast<IntegerAttr>(a).getInt());
    if (perm.empty())
      for (int64_t i = t.getRank() - 1; i >= 0; --i)
        perm.push_back(i);
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (op.getType().isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(r, op.getLoc(), adaptor.getData(), perm[i]));
    Value init = emptyTensor(r, op.getLoc(), op.getType().getShape(), t.getElementType(), sizes);
    r.replaceOp(op, linalg::TransposeOp::create(r, op.getLoc(), adaptor.getData(), init, perm)
                        .getResult()[0]);
    return success();
  }
};

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto outType = op.getType();
    int64_t rank = outType.getRank();
    int64_t axis = op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis();
    Location loc = op.getLoc();
    // Offsets along the axis, known when compiling or computed at run time.
    SmallVector<OpFoldResult> offsets;
    OpFoldResult offset = r.getIndexAttr(0);
    for (Value in : adaptor.getInputs()) {
      offsets.push_back(offset);
      auto t = llvm::cast<RankedTensorType>(in.getType());
      OpFoldResult size = t.isDynamicDim(axis)
                              ? OpFoldResult(tensor::DimOp::create(r, loc, in, axis).getResult())
                              : r.getIndexAttr(t.getDimSize(axis));
      auto a = getConstantIntValue(offset), c = getConstantIntValue(size);
      if (a && c)
        offset = r.getIndexAttr(*a + *c);
      else
        offset = arith::AddIOp::create(r, loc, getValueOrCreateConstantIndexOp(r, loc, offset),
                                       getValueOrCreateConstantIndexOp(r, loc, size))
                     .getResult();
    }
    SmallVector<Value> outSizes;
    Value first = adaptor.getInputs()[0];
    for (int64_t i = 0; i < rank; ++i)
      if (outType.isDynamicDim(i))
        outSizes.push_back(i == axis ? getValueOrCreateConstantIndexOp(r, loc, offset)
                                     : tensor::DimOp::create(r, loc, first, i).getResult());
    Value out =
        emptyTensor(r, loc, outType.getShape(), signless(outType.getElementType()), outSizes);
    for (auto [k, in] : llvm::enumerate(adaptor.getInputs())) {
      auto t = llvm::cast<RankedTensorType>(in.getType());
      if (t.getDimSize(axis) == 0)
        continue;
      SmallVector<OpFoldResult> offs(rank, r.getIndexAttr(0)), sizes, strides(rank, r.getIndexAttr(1));
      offs[axis] = offsets[k];
      for (int64_t i = 0; i < rank; ++i)
        sizes.push_back(t.isDynamicDim(i)
                            ? OpFoldResult(tensor::DimOp::create(r, loc, in, i).getResult())
                            : r.getIndexAttr(t.getDimSize(i)));
      out = tensor::InsertSliceOp::create(r, loc, in, out, offs, sizes, strides);
    }
    r.replaceOp(op, out);
    return success();
  }
};

struct ShapeLowering : OpConversionPattern<ShapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ShapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto dataType = llvm::dyn_cast<RankedTensorType>(op.getData().getType());
    if (!dataType)
      return r.notifyMatchFailure(op, "needs a ranked input");
    auto dims = dataType.getShape();
    int64_t rank = dims.size();
    auto clampIdx = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    int64_t b = clampIdx(op.getStart()), e = clampIdx(op.getEnd().value_or(rank));
    SmallVector<int64_t> vals(dims.begin() + b, dims.begin() + std::max(b, e));
    auto type = RankedTensorType::get({(int64_t)vals.size()}, r.getI64Type());
    if (!dataType.hasStaticShape()) {
      // Dims known only at run time are read from the data when the code runs.
      SmallVector<Value> elems;
      for (int64_t i = b; i < std::max(b, e); ++i) {
        Value d = dimValue(r, op.getLoc(), adaptor.getData(), i);
        elems.push_back(arith::IndexCastOp::create(r, op.getLoc(), r.getI64Type(), d));
      }
      r.replaceOpWithNewOp<tensor::FromElementsOp>(op, type, elems);
      return success();
    }
    r.replaceOpWithNewOp<arith::ConstantOp>(op, type, DenseElementsAttr::get(type, ArrayRef<int64_t>(vals)));
    return success();
  }
};

/// Positive steps: one tensor.extract_slice. Negative steps: a generic that
/// reads input element start + i * step with tensor.extract.
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  /// The constant axes and steps (empty when absent), or nullopt.
  static std::optional<std::pair<SmallVector<int64_t>, SmallVector<int64_t>>>
  axesAndSteps(SliceOp op) {
    std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{},
                                        steps = SmallVector<int64_t>{};
    if (!isa<NoneType>(op.getAxes().getType()))
      axes = getConstantInts(op.getAxes());
    if (!isa<NoneType>(op.getSteps().getType()))
      steps = getConstantInts(op.getSteps());
    if (!axes || !steps)
      return std::nullopt;
    return std::make_pair(*axes, *steps);
  }

  /// Dims, starts or ends known only at run time: ONNX's clamping rules
  /// computed by the code (axes and steps must be constant).
  LogicalResult dynamicSlice(SliceOp op, OpAdaptor adaptor, ConversionPatternRewriter &r) const {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto t = llvm::cast<RankedTensorType>(data.getType());
    int64_t rank = t.getRank();
    auto params = axesAndSteps(op);
    auto paramsType = llvm::dyn_cast<RankedTensorType>(adaptor.getStarts().getType());
    if (!params || !paramsType || paramsType.isDynamicDim(0))
      return r.notifyMatchFailure(op, "axes and steps must be constant");
    auto &[axes, steps] = *params;
    int64_t count = paramsType.getDimSize(0);
    auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(r, loc, v); };
    SmallVector<Value> start(rank, idx(0)), size = allDims(r, loc, data);
    SmallVector<int64_t> step(rank, 1);
    auto read = [&](Value v, int64_t i) -> Value {
      Value x = tensor::ExtractOp::create(r, loc, v, ValueRange{idx(i)});
      return arith::IndexCastOp::create(r, loc, r.getIndexType(), x);
    };
    auto clampTo = [&](Value v, Value lo, Value hi) -> Value {
      return arith::MinSIOp::create(r, loc, arith::MaxSIOp::create(r, loc, v, lo), hi);
    };
    for (int64_t i = 0; i < count; ++i) {
      int64_t axis = axes.empty() ? i : axes[i];
      if (axis < 0)
        axis += rank;
      int64_t st = steps.empty() ? 1 : steps[i];
      if (axis < 0 || axis >= rank || st == 0)
        return r.notifyMatchFailure(op, "bad axis or step");
      Value d = size[axis], zero = idx(0);
      Value b = read(adaptor.getStarts(), i), e = read(adaptor.getEnds(), i);
      // Negative positions count from the end (INT64_MIN-like ends stay below 0).
      Value bNeg = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::slt, b, zero);
      b = arith::SelectOp::create(r, loc, bNeg, arith::AddIOp::create(r, loc, b, d), b);
      Value eNeg = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::slt, e, zero);
      Value eShift = arith::AddIOp::create(r, loc, arith::MaxSIOp::create(r, loc, e, idx(-(int64_t(1) << 62))), d);
      e = arith::SelectOp::create(r, loc, eNeg, eShift, e);
      Value n;
      if (st > 0) {
        b = clampTo(b, zero, d);
        e = clampTo(e, zero, d);
        n = arith::CeilDivSIOp::create(r, loc, arith::SubIOp::create(r, loc, e, b), idx(st));
      } else {
        Value last = arith::SubIOp::create(r, loc, d, idx(1));
        b = clampTo(b, zero, last);
        e = clampTo(e, idx(-1), last);
        n = arith::CeilDivSIOp::create(r, loc, arith::SubIOp::create(r, loc, b, e), idx(-st));
      }
      n = arith::MaxSIOp::create(r, loc, n, zero);
      // An empty slice reads nothing; start it at 0 so it stays in bounds.
      Value empty = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::eq, n, zero);
      start[axis] = arith::SelectOp::create(r, loc, empty, zero, b);
      size[axis] = n;
      step[axis] = st;
    }
    auto outType = RankedTensorType::get(op.getType().getShape(), t.getElementType());
    SmallVector<Value> outSizes;
    for (int64_t i = 0; i < rank; ++i)
      if (outType.isDynamicDim(i))
        outSizes.push_back(size[i]);
    Value init = emptyTensor(r, loc, outType.getShape(), t.getElementType(), outSizes);
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> at;
          for (int64_t i = 0; i < rank; ++i) {
            Value iv = linalg::IndexOp::create(b, l, i);
            Value scaled = arith::MulIOp::create(b, l, iv, arith::ConstantIndexOp::create(b, l, step[i]));
            at.push_back(arith::AddIOp::create(b, l, scaled, start[i]));
          }
          linalg::YieldOp::create(b, l, Value(tensor::ExtractOp::create(b, l, data, at)));
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }

  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto t = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    if (!t.hasStaticShape() || !op.getType().hasStaticShape())
      return dynamicSlice(op, adaptor, r);
    auto starts = getConstantInts(op.getStarts()), ends = getConstantInts(op.getEnds());
    auto params = axesAndSteps(op);
    if (!starts || !ends || !params)
      return r.notifyMatchFailure(op, "slice parameters must be constant");
    auto &[axes, steps] = *params;
    std::string error;
    auto dims = resolveSlice(t.getShape(), *starts, *ends, axes, steps, error);
    if (!dims)
      return r.notifyMatchFailure(op, error);
    Location loc = op.getLoc();
    auto outShape = op.getType().getShape();
    if (op.getType().getNumElements() == 0) {
      // Nothing to read (and an empty slice's offset may equal the dim).
      r.replaceOp(op, emptyTensor(r, loc, outShape, t.getElementType()));
      return success();
    }
    bool positive = llvm::all_of(*dims, [](const SliceDim &d) { return d.step > 0; });
    if (positive) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      for (const SliceDim &d : *dims) {
        offs.push_back(r.getIndexAttr(d.start));
        sizes.push_back(r.getIndexAttr(d.size));
        strides.push_back(r.getIndexAttr(d.step));
      }
      auto type = RankedTensorType::get(outShape, t.getElementType());
      r.replaceOp(op, tensor::ExtractSliceOp::create(r, loc, type, adaptor.getData(), offs,
                                                     sizes, strides));
      return success();
    }
    // Linalg cannot express a negative stride in an indexing map: compute
    // each source index in the body and read it with tensor.extract.
    int64_t rank = outShape.size();
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value init = emptyTensor(r, loc, outShape, t.getElementType());
    Value data = adaptor.getData();
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> idx;
          for (auto [i, d] : llvm::enumerate(*dims)) {
            Value iv = linalg::IndexOp::create(b, l, i);
            Value scaled = arith::MulIOp::create(b, l, iv, arith::ConstantIndexOp::create(b, l, d.step));
            idx.push_back(arith::AddIOp::create(b, l, scaled, arith::ConstantIndexOp::create(b, l, d.start)));
          }
          linalg::YieldOp::create(b, l, Value(tensor::ExtractOp::create(b, l, data, idx)));
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }
};

struct IdentityLowering : OpConversionPattern<IdentityOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(IdentityOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    r.replaceOp(op, adaptor.getX());
    return success();
  }
};

} // namespace

void populateTensorPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<ConstantLowering, ReshapeLikeLowering<ReshapeOp>, ReshapeLikeLowering<FlattenOp>,
        ReshapeLikeLowering<SqueezeOp>, ReshapeLikeLowering<UnsqueezeOp>, TransposeLowering,
        ConcatLowering, ShapeLowering, IdentityLowering, SliceLowering>(tc, p.getContext());
}

} // namespace kiln
