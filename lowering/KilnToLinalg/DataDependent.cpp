//===- DataDependent.cpp - ops whose result size depends on data ----------===//
//
// NonZero's result has one column per non-zero element: how many there are
// is only known when the code runs. The code counts them first (a parallel
// reduction), allocates the result at that size, then fills it in order in
// one sequential loop. Such results reach the caller through the entry ABI
// for run-time sized outputs (see runtime/Executable.h): the compiled code
// allocates every output and hands it over.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace kiln {
namespace {

Value isNonZero(OpBuilder &b, Location l, Value v) {
  if (llvm::isa<FloatType>(v.getType()))
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, v,
                                 scalarConstant(b, l, v.getType(), 0));
  return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, v,
                               scalarConstant(b, l, v.getType(), 0));
}

struct NonZeroLowering : OpConversionPattern<NonZeroOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NonZeroOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Value x = adaptor.getX();
    auto t = llvm::cast<RankedTensorType>(x.getType());
    if (isSubByteType(op.getX().getType().getElementType()))
      return r.notifyMatchFailure(op, "element type not supported");
    Location loc = op.getLoc();
    int64_t rank = t.getRank();
    MLIRContext *ctx = r.getContext();
    Type i64 = r.getI64Type();

    // count = sum(x != 0)
    Value zero64 = arith::ConstantIntOp::create(r, loc, i64, 0);
    Value count = reduceAll(r, loc, x, zero64, [&](OpBuilder &b, Location l, ValueRange a) {
      Value one = arith::ExtUIOp::create(b, l, i64, isNonZero(b, l, a[0]));
      return Value(arith::AddIOp::create(b, l, a[1], one));
    });
    count = arith::IndexCastOp::create(r, loc, r.getIndexType(), count);

    // Fill column `pos` with the coordinates of each non-zero, in order.
    Value init = emptyTensor(r, loc, {rank, ShapedType::kDynamic}, i64, ValueRange{count});
    SmallVector<Value> dims = allDims(r, loc, x);
    Value total = arith::ConstantIndexOp::create(r, loc, 1);
    for (Value d : dims)
      total = arith::MulIOp::create(r, loc, total, d);
    Value c0 = arith::ConstantIndexOp::create(r, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(r, loc, 1);
    auto loop = scf::ForOp::create(
        r, loc, c0, total, c1, ValueRange{init, c0},
        [&](OpBuilder &b, Location l, Value iv, ValueRange acc) {
          SmallVector<Value> coords(rank);
          Value flat = iv;
          for (int64_t d = rank - 1; d >= 0; --d) {
            coords[d] = arith::RemUIOp::create(b, l, flat, dims[d]);
            flat = arith::DivUIOp::create(b, l, flat, dims[d]);
          }
          Value v = tensor::ExtractOp::create(b, l, x, coords);
          auto branch = scf::IfOp::create(
              b, l, isNonZero(b, l, v),
              [&](OpBuilder &tb, Location tl) {
                Value out = acc[0];
                for (int64_t d = 0; d < rank; ++d) {
                  Value c = arith::IndexCastOp::create(tb, tl, i64, coords[d]);
                  Value row = arith::ConstantIndexOp::create(tb, tl, d);
                  out = tensor::InsertOp::create(tb, tl, c, out, ValueRange{row, acc[1]});
                }
                Value next = arith::AddIOp::create(tb, tl, acc[1],
                                                   arith::ConstantIndexOp::create(tb, tl, 1));
                scf::YieldOp::create(tb, tl, ValueRange{out, next});
              },
              [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, acc); });
          scf::YieldOp::create(b, l, branch.getResults());
        });
    Value result = loop.getResult(0);
    auto resultType = llvm::cast<RankedTensorType>(op.getType());
    if (resultType.getShape() != llvm::cast<RankedTensorType>(result.getType()).getShape())
      result = tensor::CastOp::create(r, loc, RankedTensorType::get(resultType.getShape(), i64),
                                      result);
    r.replaceOp(op, result);
    return success();
  }
};

/// Range: n = max(ceil((limit - start) / delta), 0), then start + i * delta.
struct RangeLowering : OpConversionPattern<RangeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RangeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    auto scalar = [&](Value v) { return tensor::ExtractOp::create(r, loc, v, ValueRange{}); };
    Value start = scalar(adaptor.getStart()), limit = scalar(adaptor.getLimit()),
          delta = scalar(adaptor.getDelta());
    Type elem = start.getType();
    bool isFloat = llvm::isa<FloatType>(elem);
    Value count;
    if (isFloat) {
      Value q = arith::DivFOp::create(r, loc, arith::SubFOp::create(r, loc, limit, start), delta);
      q = math::CeilOp::create(r, loc, q);
      count = arith::FPToSIOp::create(r, loc, r.getI64Type(), q);
    } else {
      Value diff = arith::SubIOp::create(r, loc, limit, start);
      count = arith::CeilDivSIOp::create(r, loc, diff, delta);
      if (!elem.isInteger(64))
        count = arith::ExtSIOp::create(r, loc, r.getI64Type(), count);
    }
    Value n = arith::IndexCastOp::create(r, loc, r.getIndexType(), count);
    n = arith::MaxSIOp::create(r, loc, n, arith::ConstantIndexOp::create(r, loc, 0));
    Value init = emptyTensor(r, loc, {ShapedType::kDynamic}, elem, ValueRange{n});
    MLIRContext *ctx = r.getContext();
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(1, ctx)};
    SmallVector<utils::IteratorType> iters{utils::IteratorType::parallel};
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange) {
          Value i = linalg::IndexOp::create(b, l, 0);
          Value v;
          if (isFloat) {
            Value fi = arith::UIToFPOp::create(
                b, l, elem, arith::IndexCastOp::create(b, l, b.getI64Type(), i));
            v = arith::AddFOp::create(b, l, start, arith::MulFOp::create(b, l, fi, delta));
          } else {
            Value ii = arith::IndexCastOp::create(b, l, elem, i);
            v = arith::AddIOp::create(b, l, start, arith::MulIOp::create(b, l, ii, delta));
          }
          linalg::YieldOp::create(b, l, v);
        });
    r.replaceOp(op, g.getResult(0));
    return success();
  }
};

/// NonMaxSuppression runs as a host kernel writing into a buffer with room
/// for every box of every class; the result is its first `count` rows.
struct NonMaxSuppressionLowering : OpConversionPattern<NonMaxSuppressionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NonMaxSuppressionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    Value boxes = adaptor.getBoxes(), scores = adaptor.getScores();
    auto bt = llvm::cast<RankedTensorType>(boxes.getType());
    auto st = llvm::cast<RankedTensorType>(scores.getType());
    if (!bt.getElementType().isF32() || !st.getElementType().isF32())
      return r.notifyMatchFailure(op, "boxes and scores must be float");
    Type i64 = r.getI64Type(), f32 = r.getF32Type();
    auto scalarOr = [&](Value v, Value dflt) -> Value {
      return isa<NoneType>(v.getType()) ? dflt : firstElement(r, loc, v);
    };
    // An absent or empty max_output_boxes_per_class selects nothing.
    Value maxOut = scalarOr(adaptor.getMaxOutputBoxesPerClass(),
                            arith::ConstantIntOp::create(r, loc, i64, 0));
    Value iou = scalarOr(adaptor.getIouThreshold(),
                         arith::ConstantOp::create(r, loc, f32, r.getF32FloatAttr(0)));
    bool hasScore = !isa<NoneType>(adaptor.getScoreThreshold().getType());
    Value scoreThr = scalarOr(adaptor.getScoreThreshold(),
                              arith::ConstantOp::create(r, loc, f32, r.getF32FloatAttr(0)));

    auto dim = [&](Value v, int64_t i) -> Value { return tensor::DimOp::create(r, loc, v, i); };
    Value capacity = arith::MulIOp::create(
        r, loc, arith::MulIOp::create(r, loc, dim(scores, 0), dim(scores, 1)), dim(scores, 2));
    HostOutput out = allocateForHost(r, loc, {ShapedType::kDynamic, 3}, i64, capacity);
    Value count = callHost(r, op, "kiln_non_max_suppression",
                           {hostArg(r, loc, boxes), hostArg(r, loc, scores),
                            hostArg(r, loc, out.buffer), maxOut, iou, scoreThr,
                            arith::ConstantIntOp::create(r, loc, i64, hasScore),
                            arith::ConstantIntOp::create(r, loc, i64, op.getCenterPointBox())},
                           i64);
    Value full = out.tensor(r, loc);
    SmallVector<OpFoldResult> offs(2, r.getIndexAttr(0)), strides(2, r.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes{
        arith::IndexCastOp::create(r, loc, r.getIndexType(), count).getResult(),
        r.getIndexAttr(3)};
    r.replaceOp(op, tensor::ExtractSliceOp::create(r, loc, full, offs, sizes, strides).getResult());
    return success();
  }
};

/// UniqueSlices runs as a host kernel; `first` and `counts` are written into
/// buffers with room for every slice and cut to the distinct count.
struct UniqueSlicesLowering : OpConversionPattern<UniqueSlicesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(UniqueSlicesOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    auto xt = llvm::cast<RankedTensorType>(x.getType());
    Type elem = xt.getElementType(), i64 = r.getI64Type();
    if (!elem.isF32() && !elem.isInteger(64))
      return r.notifyMatchFailure(op, "float and int64 only");
    int64_t q = ShapedType::kDynamic;
    Value n = tensor::DimOp::create(r, loc, x, 1);
    SmallVector<HostOutput> bufs;
    SmallVector<Value> args{hostArg(r, loc, x)};
    for (int i = 0; i < 3; ++i) {
      bufs.push_back(allocateForHost(r, loc, {q}, i64, n));
      args.push_back(hostArg(r, loc, bufs.back().buffer));
    }
    args.push_back(arith::ConstantIntOp::create(r, loc, i64, op.getSorted()));
    Value count =
        callHost(r, op, elem.isF32() ? "kiln_unique_f32" : "kiln_unique_i64", args, i64);
    count = arith::IndexCastOp::create(r, loc, r.getIndexType(), count);
    SmallVector<Value> results;
    for (int i = 0; i < 3; ++i) {
      Value t = bufs[i].tensor(r, loc);
      if (i != 1) // inverse has one entry per slice; the others one per distinct slice
        t = tensor::ExtractSliceOp::create(r, loc, t, ArrayRef<OpFoldResult>{r.getIndexAttr(0)},
                                           ArrayRef<OpFoldResult>{count},
                                           ArrayRef<OpFoldResult>{r.getIndexAttr(1)});
      auto want = llvm::cast<RankedTensorType>(op->getResult(i).getType());
      if (t.getType() != want)
        t = tensor::CastOp::create(r, loc, RankedTensorType::get(want.getShape(), i64), t);
      results.push_back(t);
    }
    r.replaceOp(op, results);
    return success();
  }
};

} // namespace

void populateDataDependentPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<NonZeroLowering, RangeLowering, NonMaxSuppressionLowering, UniqueSlicesLowering>(
      tc, p.getContext());
}

} // namespace kiln
