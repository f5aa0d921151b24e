//===- Math.cpp - MatMul and Gemm -> linalg.matmul / batch_matmul ---------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem,
                 ValueRange dynamicSizes = {}) {
  return filledTensor(b, loc, shape, scalarConstant(b, loc, elem, 0), dynamicSizes);
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
  SmallVector<Value> sizes;
  if (at.isDynamicDim(0))
    sizes.push_back(tensor::DimOp::create(b, loc, a, 0));
  if (bt.isDynamicDim(1))
    sizes.push_back(tensor::DimOp::create(b, loc, bm, 1));
  Value init = zeroFilled(b, loc, shape, accumulatorType(at.getElementType()), sizes);
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

/// MatMul of `a` (..., M, K) and `b` (..., K, N) whose dims are known only
/// when the code runs: one linalg.generic over (batch..., M, N, K). Batch
/// dims broadcast as in broadcastGeneric: an operand whose batch dim may or
/// may not be 1 is read with an index chosen at run time.
Value dynamicMatmul(OpBuilder &b, Location loc, Value a, Value bm) {
  auto at = llvm::cast<RankedTensorType>(a.getType());
  auto bt = llvm::cast<RankedTensorType>(bm.getType());
  int64_t batch = std::max(at.getRank(), bt.getRank()) - 2;
  int64_t loops = batch + 3;
  MLIRContext *ctx = b.getContext();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto dimOf = [&](Value v, int64_t i) { return dimValue(b, loc, v, i); };
  // Result batch sizes: the operand dim that is not 1.
  SmallVector<int64_t> outShape;
  SmallVector<Value> outSizes, dynamicSizes;
  SmallVector<int> deciding(batch, 0); // operands whose batch dim may not be 1
  for (int64_t i = 0; i < batch; ++i) {
    Value size = one;
    int64_t staticSize = 1;
    for (Value v : {a, bm}) {
      auto t = llvm::cast<RankedTensorType>(v.getType());
      int64_t d = i - (batch - (t.getRank() - 2));
      if (d < 0 || t.getDimSize(d) == 1)
        continue;
      ++deciding[i];
      Value isOne = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, one);
      size = arith::SelectOp::create(b, loc, isOne, dimOf(v, d), size);
      staticSize = t.isDynamicDim(d) || ShapedType::isDynamic(staticSize) ? ShapedType::kDynamic
                                                                           : t.getDimSize(d);
    }
    outShape.push_back(staticSize);
    outSizes.push_back(size);
    if (ShapedType::isDynamic(staticSize))
      dynamicSizes.push_back(size);
  }
  outShape.append({at.getDimSize(at.getRank() - 2), bt.getDimSize(bt.getRank() - 1)});
  if (at.isDynamicDim(at.getRank() - 2))
    dynamicSizes.push_back(dimOf(a, at.getRank() - 2));
  if (bt.isDynamicDim(bt.getRank() - 1))
    dynamicSizes.push_back(dimOf(bm, bt.getRank() - 1));
  Type elem = at.getElementType(), accType = accumulatorType(elem);
  ElemKind k = ElemKind::of(accType);
  Value init = zeroFilled(b, loc, outShape, accType, dynamicSizes);

  // An operand whose batch dim may or may not broadcast (only known at run
  // time) is first copied out to the full batch shape, reading each element
  // at an index chosen when the code runs.
  auto materialize = [&](Value v) -> Value {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    int64_t off = batch - (t.getRank() - 2);
    SmallVector<int64_t> shape(outShape.begin(), outShape.begin() + batch);
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < batch; ++i)
      if (ShapedType::isDynamic(shape[i]))
        sizes.push_back(outSizes[i]);
    for (int64_t d = t.getRank() - 2; d < t.getRank(); ++d) {
      shape.push_back(t.getDimSize(d));
      if (t.isDynamicDim(d))
        sizes.push_back(dimOf(v, d));
    }
    SmallVector<std::pair<Value, Value>> dims; // (operand dim, result dim)
    for (int64_t d = 0; d < t.getRank() - 2; ++d)
      dims.push_back({dimOf(v, d), outSizes[off + d]});
    Value init = emptyTensor(b, loc, shape, t.getElementType(), sizes);
    int64_t rank = shape.size();
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iters,
               [&](OpBuilder &nb, Location l, ValueRange) {
                 SmallVector<Value> idx;
                 for (int64_t d = 0; d < t.getRank() - 2; ++d)
                   idx.push_back(broadcastIndex(nb, l, dims[d].first, dims[d].second,
                                                linalg::IndexOp::create(nb, l, off + d)));
                 idx.push_back(linalg::IndexOp::create(nb, l, batch));
                 idx.push_back(linalg::IndexOp::create(nb, l, batch + 1));
                 linalg::YieldOp::create(nb, l, Value(tensor::ExtractOp::create(nb, l, v, idx)));
               })
        .getResult(0);
  };
  AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
             kk = getAffineDimExpr(batch + 2, ctx);
  SmallVector<Value> operands;
  SmallVector<AffineMap> maps;
  for (auto [which, v] : llvm::enumerate(SmallVector<Value>{a, bm})) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    bool uncertain = false;
    int64_t off = batch - (t.getRank() - 2);
    for (int64_t d = 0; d < t.getRank() - 2; ++d)
      uncertain |= t.isDynamicDim(d) && deciding[off + d] > 1;
    if (uncertain) {
      v = materialize(v);
      t = llvm::cast<RankedTensorType>(v.getType());
      off = 0;
    }
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < t.getRank() - 2; ++d)
      exprs.push_back(t.getDimSize(d) == 1 ? getAffineConstantExpr(0, ctx)
                                           : getAffineDimExpr(off + d, ctx));
    exprs.push_back(which == 0 ? m : kk);
    exprs.push_back(which == 0 ? kk : n);
    operands.push_back(v);
    maps.push_back(AffineMap::get(loops, 0, exprs, ctx));
  }
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < batch + 2; ++i)
    outExprs.push_back(getAffineDimExpr(i, ctx));
  maps.push_back(AffineMap::get(loops, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iters(loops - 1, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, operands, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value x = args[0], y = args[1];
        if (x.getType() != accType) {
          x = arith::ExtFOp::create(nb, l, accType, x);
          y = arith::ExtFOp::create(nb, l, accType, y);
        }
        linalg::YieldOp::create(nb, l, addOf(nb, l, k, args[2], mulOf(nb, l, k, x, y)));
      });
  return narrowTo(b, loc, g.getResult(0), elem);
}

struct MatMulLowering : OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    if (!op.getType().hasStaticShape() || !op.getA().getType().hasStaticShape() ||
        !op.getB().getType().hasStaticShape()) {
      Value a = adaptor.getA(), bm = adaptor.getB();
      auto at = llvm::cast<RankedTensorType>(a.getType());
      auto bt = llvm::cast<RankedTensorType>(bm.getType());
      // numpy rules: a 1-D A is a row vector, a 1-D B a column vector.
      if (at.getRank() == 1)
        a = reshapeTo(r, loc, a, {1, at.getDimSize(0)});
      if (bt.getRank() == 1)
        bm = reshapeTo(r, loc, bm, {bt.getDimSize(0), 1});
      Value y = dynamicMatmul(r, loc, a, bm);
      r.replaceOp(op, reshapeTo(r, loc, y, op.getType().getShape()));
      return success();
    }
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

/// MatMulInteger (zero points of 0): a linalg.generic over (m, n, k) whose
/// body widens each 8-bit operand by its Kiln type's signedness and sums
/// the products in i32; A's leading dims are folded into its rows.
struct MatMulIntegerLowering : OpConversionPattern<MatMulIntegerOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatMulIntegerOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    auto at = llvm::dyn_cast<RankedTensorType>(op.getA().getType());
    auto bt = llvm::dyn_cast<RankedTensorType>(op.getB().getType());
    if (!at || !bt || !at.hasStaticShape() || !bt.hasStaticShape())
      return r.notifyMatchFailure(op, "needs static shapes");
    int64_t k = at.getShape().back(), n = bt.getDimSize(1), rows = at.getNumElements() / std::max<int64_t>(k, 1);
    bool aUnsigned = at.getElementType().isUnsignedInteger();
    bool bUnsigned = bt.getElementType().isUnsignedInteger();
    Type i32 = r.getI32Type();
    Value a = reshapeTo(r, loc, adaptor.getA(), {rows, k});
    Value init = zeroFilled(r, loc, {rows, n}, i32, {});
    MLIRContext *ctx = r.getContext();
    AffineExpr dm, dn, dk;
    bindDims(ctx, dm, dn, dk);
    SmallVector<AffineMap> maps{AffineMap::get(3, 0, {dm, dk}, ctx), AffineMap::get(3, 0, {dk, dn}, ctx),
                                AffineMap::get(3, 0, {dm, dn}, ctx)};
    SmallVector<utils::IteratorType> iters{utils::IteratorType::parallel, utils::IteratorType::parallel,
                                           utils::IteratorType::reduction};
    auto widen = [&](OpBuilder &nb, Location l, Value v, bool isUnsigned) -> Value {
      if (isUnsigned)
        return arith::ExtUIOp::create(nb, l, i32, v);
      return arith::ExtSIOp::create(nb, l, i32, v);
    };
    auto g = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{a, adaptor.getB()}, ValueRange{init}, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange x) {
          Value p = arith::MulIOp::create(nb, l, widen(nb, l, x[0], aUnsigned), widen(nb, l, x[1], bUnsigned));
          linalg::YieldOp::create(nb, l, ValueRange{arith::AddIOp::create(nb, l, x[2], p)});
        });
    SmallVector<int64_t> outShape(at.getShape());
    outShape.back() = n;
    r.replaceOp(op, reshapeTo(r, loc, g.getResult(0), outShape));
    return success();
  }
};

struct GemmLowering : OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    auto transpose = [&](Value v) -> Value {
      auto t = llvm::cast<RankedTensorType>(v.getType());
      SmallVector<Value> sizes;
      for (int64_t i : {1, 0})
        if (t.isDynamicDim(i))
          sizes.push_back(tensor::DimOp::create(r, loc, v, i));
      Value init =
          emptyTensor(r, loc, {t.getDimSize(1), t.getDimSize(0)}, t.getElementType(), sizes);
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
  p.add<MatMulLowering, MatMulIntegerLowering, GemmLowering, EinsumLowering>(tc, p.getContext());
}

} // namespace kiln
