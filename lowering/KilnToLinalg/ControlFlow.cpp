//===- ControlFlow.cpp - kiln.Loop -> scf.while ---------------------------===//
//
// The loop's state is (iteration, condition, carried...): the before region
// tests iteration < trip count and the condition, the after region is the
// body, whose kiln.yield becomes scf.yield of (iteration + 1, its condition,
// its values). Carried tensors keep the loop's types (dynamic dims where
// they change between iterations); more static values are cast to them.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

/// Element 0 of a one-element tensor of any rank.
Value firstElement(OpBuilder &b, Location loc, Value t) {
  auto type = llvm::cast<RankedTensorType>(t.getType());
  SmallVector<Value> zeros(type.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
  return tensor::ExtractOp::create(b, loc, t, zeros);
}

Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  return v.getType() == type ? v : tensor::CastOp::create(b, loc, type, v).getResult();
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
    SmallVector<Value> inits{arith::ConstantIntOp::create(r, loc, i64, 0), cond};
    for (auto [v, t] : llvm::zip(adaptor.getInitial(), carriedTypes))
      inits.push_back(castTo(r, loc, v, t));
    SmallVector<Type> types{i64, i1};
    types.append(carriedTypes);
    SmallVector<Location> locs(types.size(), loc);
    auto loop = scf::WhileOp::create(r, loc, types, inits);

    Block *before = r.createBlock(&loop.getBefore(), {}, types, locs);
    Value inRange = arith::CmpIOp::create(r, loc, arith::CmpIPredicate::slt,
                                          before->getArgument(0), trip);
    Value go = arith::AndIOp::create(r, loc, inRange, before->getArgument(1));
    scf::ConditionOp::create(r, loc, go, before->getArguments());

    Block *after = r.createBlock(&loop.getAfter(), {}, types, locs);
    if (failed(r.convertRegionTypes(&op.getBody(), *getTypeConverter())))
      return r.notifyMatchFailure(op, "body types");
    SmallVector<Value> bodyArgs{
        tensor::FromElementsOp::create(r, loc, RankedTensorType::get({}, i64),
                                       ValueRange{after->getArgument(0)}),
        tensor::FromElementsOp::create(r, loc, RankedTensorType::get({}, i1),
                                       ValueRange{after->getArgument(1)})};
    for (unsigned i = 2; i < after->getNumArguments(); ++i)
      bodyArgs.push_back(after->getArgument(i));
    r.mergeBlocks(&op.getBody().front(), after, bodyArgs);
    r.replaceOp(op, loop.getResults().drop_front(2));
    return success();
  }
};

struct YieldLowering : OpConversionPattern<YieldOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(YieldOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto loop = llvm::dyn_cast<scf::WhileOp>(op->getParentOp());
    if (!loop)
      return r.notifyMatchFailure(op, "the loop is not lowered yet");
    Location loc = op.getLoc();
    Block *after = op->getBlock();
    Value next = arith::AddIOp::create(r, loc, after->getArgument(0),
                                       arith::ConstantIntOp::create(r, loc, r.getI64Type(), 1));
    SmallVector<Value> values{next, firstElement(r, loc, adaptor.getValues()[0])};
    for (unsigned i = 1; i < adaptor.getValues().size(); ++i)
      values.push_back(castTo(r, loc, adaptor.getValues()[i], after->getArgument(i + 1).getType()));
    r.replaceOpWithNewOp<scf::YieldOp>(op, values);
    return success();
  }
};

} // namespace

void populateControlFlowPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<LoopLowering, YieldLowering>(tc, p.getContext());
}

} // namespace kiln
