//===- Math.cpp - MatMul and Gemm -> linalg.matmul / batch_matmul ---------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem) {
  return filledTensor(b, loc, shape, scalarConstant(b, loc, elem, 0));
}

/// Half-precision products are summed in f32, as the reference does: a
/// long f16 sum loses digits the tests (and users) can see.
Type accumulatorType(Type elem) {
  return elem.isF16() || elem.isBF16() ? Float32Type::get(elem.getContext()) : elem;
}

/// `acc` rounded back to `elem` when it was accumulated wider.
Value narrowTo(OpBuilder &b, Location loc, Value acc, Type elem) {
  auto t = llvm::cast<RankedTensorType>(acc.getType());
  if (t.getElementType() == elem)
    return acc;
  return broadcastGeneric(b, loc, t.getShape(), elem, acc,
                          [&](OpBuilder &b, Location l, ValueRange x) -> Value {
                            return arith::TruncFOp::create(b, l, elem, x[0]);
                          });
}

Value matmul2d(OpBuilder &b, Location loc, Value a, Value bm) {
  auto at = llvm::cast<RankedTensorType>(a.getType());
  auto bt = llvm::cast<RankedTensorType>(bm.getType());
  SmallVector<int64_t> shape{at.getDimSize(0), bt.getDimSize(1)};
  Value init = zeroFilled(b, loc, shape, accumulatorType(at.getElementType()));
  Value acc = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()}, ValueRange{a, bm},
                                       ValueRange{init})
                  .getResult(0);
  return narrowTo(b, loc, acc, at.getElementType());
}

/// Materializes `v` broadcast to `shape` (rank may grow on the left).
Value broadcastTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  return broadcastGeneric(b, loc, shape, t.getElementType(), v,
                          [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

struct MatMulLowering : OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Location loc = op.getLoc();
    Value a = adaptor.getA(), bm = adaptor.getB();
    auto at = llvm::cast<RankedTensorType>(a.getType());
    auto bt = llvm::cast<RankedTensorType>(bm.getType());
    auto outShape = op.getType().getShape();
    // numpy rules: a 1-D A is a row vector, a 1-D B a column vector.
    if (at.getRank() == 1)
      a = reshapeTo(r, loc, a, {1, at.getDimSize(0)});
    if (bt.getRank() == 1)
      bm = reshapeTo(r, loc, bm, {bt.getDimSize(0), 1});
    at = llvm::cast<RankedTensorType>(a.getType());
    bt = llvm::cast<RankedTensorType>(bm.getType());
    int64_t m = at.getDimSize(at.getRank() - 2), k = at.getDimSize(at.getRank() - 1);
    int64_t n = bt.getDimSize(bt.getRank() - 1);
    SmallVector<int64_t> aBatch(at.getShape().drop_back(2)), bBatch(bt.getShape().drop_back(2));
    auto batch = broadcastShapes({aBatch, bBatch});
    int64_t batchCount = 1;
    for (int64_t d : *batch)
      batchCount *= d;
    int64_t bCount = 1;
    for (int64_t d : bBatch)
      bCount *= d;
    Value result;
    if (bCount == 1) {
      // B is one matrix: fold A's batch into M and use one linalg.matmul.
      int64_t aRows = 1;
      for (int64_t d : at.getShape().drop_back(1))
        aRows *= d;
      Value a2 = reshapeTo(r, loc, a, {aRows, k});
      Value b2 = reshapeTo(r, loc, bm, {k, n});
      result = matmul2d(r, loc, a2, b2);
      if (aRows != batchCount * m) {
        // A had fewer batch dims than B's all-ones batch: broadcast now.
        SmallVector<int64_t> full(*batch);
        full.append({m, n});
        SmallVector<int64_t> aOut(at.getShape().drop_back(1));
        aOut.push_back(n);
        result = broadcastTo(r, loc, reshapeTo(r, loc, result, aOut), full);
      }
    } else {
      SmallVector<int64_t> aFull(*batch), bFull(*batch);
      aFull.append({m, k});
      bFull.append({k, n});
      Value a3 = reshapeTo(r, loc, broadcastTo(r, loc, a, aFull), {batchCount, m, k});
      Value b3 = reshapeTo(r, loc, broadcastTo(r, loc, bm, bFull), {batchCount, k, n});
      Value init = zeroFilled(r, loc, {batchCount, m, n}, accumulatorType(at.getElementType()));
      result = linalg::BatchMatmulOp::create(r, loc, TypeRange{init.getType()},
                                             ValueRange{a3, b3}, ValueRange{init})
                   .getResult(0);
      result = narrowTo(r, loc, result, at.getElementType());
    }
    r.replaceOp(op, reshapeTo(r, loc, result, outShape));
    return success();
  }
};

struct GemmLowering : OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Location loc = op.getLoc();
    auto transpose = [&](Value v) -> Value {
      auto t = llvm::cast<RankedTensorType>(v.getType());
      Value init = emptyTensor(r, loc, {t.getDimSize(1), t.getDimSize(0)}, t.getElementType());
      return linalg::TransposeOp::create(r, loc, v, init, ArrayRef<int64_t>{1, 0})
          .getResult()[0];
    };
    Value a = op.getTransA() ? transpose(adaptor.getA()) : adaptor.getA();
    Value bm = op.getTransB() ? transpose(adaptor.getB()) : adaptor.getB();
    Value acc = matmul2d(r, loc, a, bm);
    double alpha = op.getAlpha().convertToDouble(), beta = op.getBeta().convertToDouble();
    bool hasC = !isa<NoneType>(adaptor.getC().getType());
    auto outType = op.getType();
    Type elem = signless(outType.getElementType());
    ElemKind k = ElemKind::of(elem);
    if (alpha != 1.0 || hasC) {
      SmallVector<Value> ins{acc};
      if (hasC)
        ins.push_back(adaptor.getC());
      acc = broadcastGeneric(
          r, loc, outType.getShape(), elem, ins,
          [&](OpBuilder &b, Location l, ValueRange x) -> Value {
            auto mul = [&](Value v, double s) -> Value {
              if (s == 1.0)
                return v;
              return mulOf(b, l, k, v, scalarConstant(b, l, elem, s));
            };
            Value y = mul(x[0], alpha);
            return x.size() > 1 ? addOf(b, l, k, y, mul(x[1], beta)) : y;
          });
    }
    r.replaceOp(op, acc);
    return success();
  }
};

/// Einsum is a linalg.generic whose loops are the equation's labels:
/// output labels parallel, the others reductions.
struct EinsumLowering : OpConversionPattern<EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(EinsumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    SmallVector<SmallVector<int64_t>> shapes;
    for (Value v : adaptor.getInputs()) {
      auto s = llvm::cast<RankedTensorType>(v.getType()).getShape();
      shapes.emplace_back(s.begin(), s.end());
    }
    std::string error;
    auto spec = parseEinsum(op.getEquation(), shapes, error);
    if (!spec)
      return r.notifyMatchFailure(op, error);
    // Loop order: output labels, then every other label used.
    SmallVector<int64_t> loops(spec->output);
    for (const auto &in : spec->inputs)
      for (int64_t l : in)
        if (!llvm::is_contained(loops, l))
          loops.push_back(l);
    MLIRContext *ctx = r.getContext();
    auto mapOf = [&](ArrayRef<int64_t> labels) {
      SmallVector<AffineExpr> e;
      for (int64_t l : labels)
        e.push_back(getAffineDimExpr(llvm::find(loops, l) - loops.begin(), ctx));
      return AffineMap::get(loops.size(), 0, e, ctx);
    };
    SmallVector<AffineMap> maps;
    for (const auto &in : spec->inputs)
      maps.push_back(mapOf(in));
    maps.push_back(mapOf(spec->output));
    SmallVector<utils::IteratorType> iters;
    for (size_t i = 0; i < loops.size(); ++i)
      iters.push_back(i < spec->output.size() ? utils::IteratorType::parallel
                                              : utils::IteratorType::reduction);
    Type elem = signless(op.getType().getElementType());
    ElemKind k = ElemKind::of(op.getType());
    Location loc = op.getLoc();
    Value init = zeroFilled(r, loc, op.getType().getShape(), elem);
    auto generic = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, adaptor.getInputs(), ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value prod = a[0];
          for (size_t i = 1; i + 1 < a.size(); ++i)
            prod = mulOf(b, l, k, prod, a[i]);
          linalg::YieldOp::create(b, l, addOf(b, l, k, a.back(), prod));
        });
    r.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void populateMathPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<MatMulLowering, GemmLowering, EinsumLowering>(tc, p.getContext());
}

} // namespace kiln
