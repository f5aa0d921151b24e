//===- ControlFlow.cpp - kiln.Loop -> scf.while, kiln.If -> scf.if --------===//
//
// The loop's state is (iteration, condition, carried..., scan buffers...):
// the before region tests iteration < trip count and the condition, the
// after region is the body, whose kiln.yield becomes scf.yield of
// (iteration + 1, its condition, its values, the buffers with its scan
// items written at row `iteration`). Carried tensors keep the loop's types
// (dynamic dims where they change between iterations); more static values
// are cast to them. A scan buffer doubles its rows when full; the result is
// its first `iterations` rows. Items must keep one shape: the run fails
// otherwise. Every iteration counts against the run's bound on loop
// iterations.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  return v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v).getResult();
}

/// `buffer` with `item` written at `row`, grown (rows doubled) when full.
Value appendRow(OpBuilder &b, Location loc, Value buffer, Value item, Value row) {
  auto type = llvm::cast<RankedTensorType>(buffer.getType());
  int64_t rank = type.getRank();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> itemDims = allDims(b, loc, item);
  // From the second item on, the item's dynamic dims must be the buffer's.
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, row, zero);
  Value same;
  for (int64_t d = 1; d < rank; ++d) {
    if (!type.isDynamicDim(d))
      continue;
    Value eq = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, itemDims[d - 1],
                                     tensor::DimOp::create(b, loc, buffer, d));
    same = same ? arith::AndIOp::create(b, loc, same, eq).getResult() : eq;
  }
  if (same)
    failRunUnless(b, loc, arith::OrIOp::create(b, loc, first, same), "kiln_scan_shape_mismatch");
  Value rows = tensor::DimOp::create(b, loc, buffer, 0);
  Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, row, rows);
  auto grown = scf::IfOp::create(
      b, loc, full,
      [&](OpBuilder &tb, Location tl) {
        Value doubled = arith::MulIOp::create(tb, tl, rows, arith::ConstantIndexOp::create(tb, tl, 2));
        Value capacity = arith::MaxUIOp::create(tb, tl, doubled, one);
        SmallVector<Value> dynamic{capacity};
        for (int64_t d = 1; d < rank; ++d)
          if (type.isDynamicDim(d))
            dynamic.push_back(itemDims[d - 1]);
        Value bigger = tensor::EmptyOp::create(tb, tl, type, dynamic);
        // The rows so far (none before the first item).
        SmallVector<OpFoldResult> offsets(rank, tb.getIndexAttr(0)), strides(rank, tb.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes{row};
        for (int64_t d = 1; d < rank; ++d)
          sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(itemDims[d - 1])
                                               : tb.getIndexAttr(type.getDimSize(d)));
        Value kept = tensor::ExtractSliceOp::create(tb, tl, buffer, offsets, sizes, strides);
        Value copied = tensor::InsertSliceOp::create(tb, tl, kept, bigger, offsets, sizes, strides);
        scf::YieldOp::create(tb, tl, copied);
      },
      [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, buffer); });
  SmallVector<OpFoldResult> offsets{row}, sizes{b.getIndexAttr(1)}, strides(rank, b.getIndexAttr(1));
  for (int64_t d = 1; d < rank; ++d) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(itemDims[d - 1])
                                         : b.getIndexAttr(type.getDimSize(d)));
  }
  return tensor::InsertSliceOp::create(b, loc, item, grown.getResult(0), offsets, sizes, strides);
}

struct LoopLowering : OpConversionPattern<LoopOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LoopOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    Type i64 = r.getI64Type(), i1 = r.getI1Type();
    SmallVector<Type> carriedTypes;
    if (failed(getTypeConverter()->convertTypes(op.getResultTypes(), carriedTypes)))
      return r.notifyMatchFailure(op, "carried types");
    Value trip = llvm::isa<NoneType>(adaptor.getMaxTripCount().getType())
                     ? arith::ConstantIntOp::create(r, loc, i64, INT64_MAX).getResult()
                     : firstElement(r, loc, adaptor.getMaxTripCount());
    Value cond = llvm::isa<NoneType>(adaptor.getCondition().getType())
                     ? arith::ConstantIntOp::create(r, loc, i1, 1).getResult()
                     : firstElement(r, loc, adaptor.getCondition());
    size_t numCarried = op.getInitial().size(), numScan = carriedTypes.size() - numCarried;
    SmallVector<Value> inits{arith::ConstantIntOp::create(r, loc, i64, 0), cond};
    for (auto [v, t] : llvm::zip(adaptor.getInitial(), carriedTypes))
      inits.push_back(castTo(r, loc, v, t));
    for (size_t k = 0; k < numScan; ++k) {
      // No rows yet; dims of the items not known before the first one are 0.
      auto t = llvm::cast<RankedTensorType>(carriedTypes[numCarried + k]);
      SmallVector<Value> zeros(t.getNumDynamicDims(), arith::ConstantIndexOp::create(r, loc, 0));
      inits.push_back(tensor::EmptyOp::create(r, loc, t, zeros));
    }
    SmallVector<Type> types{i64, i1};
    types.append(carriedTypes);
    SmallVector<Location> locs(types.size(), loc);
    auto loop = scf::WhileOp::create(r, loc, types, inits);
    loop->setAttr("kiln.scan_outputs", r.getI64IntegerAttr(numScan));

    Block *before = r.createBlock(&loop.getBefore(), {}, types, locs);
    Value inRange = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::slt,
                                          before->getArgument(0), trip);
    Value go = arith::AndIOp::create(r, loc, inRange, before->getArgument(1));
    // Each iteration that runs counts against the run's bound, which fails
    // the run once passed (runtime/Allocation.h).
    func::FuncOp count = hostKernel(op, r, "kiln_loop_iteration", r.getFunctionType({}, {}));
    scf::IfOp::create(r, loc, go, [&](OpBuilder &b, Location l) {
      func::CallOp::create(b, l, count, ValueRange{});
      scf::YieldOp::create(b, l);
    });
    scf::ConditionOp::create(r, loc, go, before->getArguments());

    Block *after = r.createBlock(&loop.getAfter(), {}, types, locs);
    if (failed(r.convertRegionTypes(&op.getBody(), *getTypeConverter())))
      return r.notifyMatchFailure(op, "body types");
    SmallVector<Value> bodyArgs{
        tensor::FromElementsOp::create(r, loc, RankedTensorType::get({}, i64),
                                       ValueRange{after->getArgument(0)}),
        tensor::FromElementsOp::create(r, loc, RankedTensorType::get({}, i1),
                                       ValueRange{after->getArgument(1)})};
    for (unsigned i = 2; i < 2 + numCarried; ++i)
      bodyArgs.push_back(after->getArgument(i));
    r.mergeBlocks(&op.getBody().front(), after, bodyArgs);

    r.setInsertionPointAfter(loop);
    SmallVector<Value> results(loop.getResults().drop_front(2).take_front(numCarried));
    Value iterations = arith::IndexCastOp::create(r, loc, r.getIndexType(), loop.getResult(0));
    for (size_t k = 0; k < numScan; ++k) {
      Value buffer = loop.getResult(2 + numCarried + k);
      auto t = llvm::cast<RankedTensorType>(buffer.getType());
      SmallVector<OpFoldResult> offsets(t.getRank(), r.getIndexAttr(0)),
          strides(t.getRank(), r.getIndexAttr(1)), sizes{iterations};
      for (int64_t d = 1; d < t.getRank(); ++d)
        sizes.push_back(tensor::getMixedSize(r, loc, buffer, d));
      results.push_back(
          tensor::ExtractSliceOp::create(r, loc, t, buffer, offsets, sizes, strides));
    }
    r.replaceOp(op, results);
    return success();
  }
};

/// kiln.If -> scf.if with the branches moved over; their kiln.yield ops
/// become scf.yield (below).
struct IfLowering : OpConversionPattern<IfOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(IfOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op.getResultTypes(), types)))
      return r.notifyMatchFailure(op, "result types");
    Location loc = op.getLoc();
    auto branch = scf::IfOp::create(r, loc, types, firstElement(r, loc, adaptor.getCond()),
                                    /*addThenBlock=*/false, /*addElseBlock=*/false);
    r.inlineRegionBefore(op.getThenBranch(), branch.getThenRegion(), branch.getThenRegion().end());
    r.inlineRegionBefore(op.getElseBranch(), branch.getElseRegion(), branch.getElseRegion().end());
    r.replaceOp(op, branch.getResults());
    return success();
  }
};

struct YieldLowering : OpConversionPattern<YieldOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(YieldOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (auto branch = llvm::dyn_cast<scf::IfOp>(op->getParentOp())) {
      SmallVector<Value> values;
      for (auto [v, t] : llvm::zip(adaptor.getValues(), branch.getResultTypes()))
        values.push_back(castTo(r, op.getLoc(), v, t));
      r.replaceOpWithNewOp<scf::YieldOp>(op, values);
      return success();
    }
    auto loop = llvm::dyn_cast<scf::WhileOp>(op->getParentOp());
    if (!loop)
      return r.notifyMatchFailure(op, "the loop is not lowered yet");
    Location loc = op.getLoc();
    Block *after = op->getBlock();
    ValueRange in = adaptor.getValues();
    size_t numScan = loop->getAttrOfType<IntegerAttr>("kiln.scan_outputs").getInt();
    size_t numCarried = in.size() - 1 - numScan;
    Value i = after->getArgument(0);
    Value next = arith::AddIOp::create(r, loc, i, arith::ConstantIntOp::create(r, loc, r.getI64Type(), 1));
    SmallVector<Value> values{next, firstElement(r, loc, in[0])};
    for (size_t k = 1; k <= numCarried; ++k)
      values.push_back(castTo(r, loc, in[k], after->getArgument(k + 1).getType()));
    Value row = arith::IndexCastOp::create(r, loc, r.getIndexType(), i);
    for (size_t k = 0; k < numScan; ++k)
      values.push_back(appendRow(r, loc, after->getArgument(2 + numCarried + k),
                                 in[1 + numCarried + k], row));
    r.replaceOpWithNewOp<scf::YieldOp>(op, values);
    return success();
  }
};

} // namespace

void populateControlFlowPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<LoopLowering, IfLowering, YieldLowering>(tc, p.getContext());
}

} // namespace kiln
