//===- Tensor.cpp - data movement and constants -> tensor / linalg --------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &r) const override {
    auto dense = llvm::dyn_cast<DenseElementsAttr>(op.getValue());
    if (!dense)
      return r.notifyMatchFailure(op, "only dense constants");
    Type elem = signless(dense.getElementType());
    if (elem != dense.getElementType())
      dense = dense.bitcast(elem);
    r.replaceOpWithNewOp<arith::ConstantOp>(op, dense.getType(), dense);
    return success();
  }
};

/// Ops whose result is their first operand, re-laid out to the result shape.
template <typename OpTy>
struct ReshapeLikeLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Value in = adaptor.getOperands()[0];
    auto shape = llvm::cast<RankedTensorType>(op->getResult(0).getType()).getShape();
    r.replaceOp(op, reshapeTo(r, op.getLoc(), in, shape));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    auto t = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    SmallVector<int64_t> perm;
    for (Attribute a : op.getPerm())
      perm.push_back(llvm::cast<IntegerAttr>(a).getInt());
    if (perm.empty())
      for (int64_t i = t.getRank() - 1; i >= 0; --i)
        perm.push_back(i);
    Value init = emptyTensor(r, op.getLoc(), op.getType().getShape(), t.getElementType());
    r.replaceOp(op, linalg::TransposeOp::create(r, op.getLoc(), adaptor.getData(), init, perm)
                        .getResult()[0]);
    return success();
  }
};

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    auto outType = op.getType();
    int64_t rank = outType.getRank();
    int64_t axis = op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis();
    Location loc = op.getLoc();
    Value out = emptyTensor(r, loc, outType.getShape(), signless(outType.getElementType()));
    int64_t offset = 0;
    for (Value in : adaptor.getInputs()) {
      auto t = llvm::cast<RankedTensorType>(in.getType());
      SmallVector<OpFoldResult> offs(rank, r.getIndexAttr(0)), sizes, strides(rank, r.getIndexAttr(1));
      offs[axis] = r.getIndexAttr(offset);
      for (int64_t d : t.getShape())
        sizes.push_back(r.getIndexAttr(d));
      if (t.getDimSize(axis) > 0)
        out = tensor::InsertSliceOp::create(r, loc, in, out, offs, sizes, strides);
      offset += t.getDimSize(axis);
    }
    r.replaceOp(op, out);
    return success();
  }
};

struct ShapeLowering : OpConversionPattern<ShapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ShapeOp op, OpAdaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    auto dims = llvm::cast<RankedTensorType>(op.getData().getType()).getShape();
    int64_t rank = dims.size();
    auto clampIdx = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    int64_t b = clampIdx(op.getStart()), e = clampIdx(op.getEnd().value_or(rank));
    SmallVector<int64_t> vals(dims.begin() + b, dims.begin() + std::max(b, e));
    auto type = RankedTensorType::get({(int64_t)vals.size()}, r.getI64Type());
    r.replaceOpWithNewOp<arith::ConstantOp>(op, type, DenseElementsAttr::get(type, ArrayRef<int64_t>(vals)));
    return success();
  }
};

/// Positive steps: one tensor.extract_slice. Negative steps: a generic that
/// reads input element start + i * step with tensor.extract.
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    auto t = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    auto starts = getConstantInts(op.getStarts()), ends = getConstantInts(op.getEnds());
    std::optional<SmallVector<int64_t>> axes = SmallVector<int64_t>{},
                                        steps = SmallVector<int64_t>{};
    if (!isa<NoneType>(op.getAxes().getType()))
      axes = getConstantInts(op.getAxes());
    if (!isa<NoneType>(op.getSteps().getType()))
      steps = getConstantInts(op.getSteps());
    if (!starts || !ends || !axes || !steps)
      return r.notifyMatchFailure(op, "slice parameters must be constant");
    std::string error;
    auto dims = resolveSlice(t.getShape(), *starts, *ends, *axes, *steps, error);
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
