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
// iterations. A loop known to run all of a number of iterations known
// here is an scf.for instead (LoopLowering::lowerToFor).
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

/// Loops of a trip count known here up to this, whose scan buffers hold up
/// to kMaxStaticScanBytes, run as an scf.for (below).
constexpr int64_t kMaxStaticTrips = int64_t{1} << 16;
constexpr int64_t kMaxStaticScanBytes = int64_t{256} << 20;

/// The trip count of `op` when it runs every one of a number of
/// iterations known when compiling: no condition (or a constant true),
/// and a body that passes its condition on unchanged (a recurrence's
/// steps); its scan items of static shapes that fit the bounds above.
/// The value of the integer scalar `v` when it is known here: a constant,
/// an element of a constant vector, or of the shape of a tensor whose dim
/// it names is static (a recurrence's steps: the length of its input, not
/// folded yet).
/// The integer elements of `v` when it is a constant (kiln.Constant is
/// not ConstantLike: it is lowered, not folded).
DenseIntElementsAttr integerConstant(Value v) {
  DenseIntElementsAttr value;
  if (matchPattern(v, m_Constant(&value)))
    return value;
  if (auto c = v.getDefiningOp<ConstantOp>())
    return llvm::dyn_cast<DenseIntElementsAttr>(c.getValue());
  return {};
}

std::optional<int64_t> knownScalar(Value v) {
  DenseIntElementsAttr value = integerConstant(v);
  if (value && value.getNumElements() == 1)
    return (*value.getValues<APInt>().begin()).getSExtValue();
  auto gather = v.getDefiningOp<GatherOp>();
  if (!gather || gather.getAxis() != 0)
    return std::nullopt;
  std::optional<int64_t> index = knownScalar(gather.getIndices());
  if (!index)
    return std::nullopt;
  DenseIntElementsAttr elements = integerConstant(gather.getData());
  if (elements && elements.getType().getRank() == 1) {
    int64_t size = elements.getNumElements(), i = *index < 0 ? *index + size : *index;
    if (i < 0 || i >= size)
      return std::nullopt;
    return elements.getValues<APInt>()[i].getSExtValue();
  }
  auto shape = gather.getData().getDefiningOp<ShapeOp>();
  if (!shape)
    return std::nullopt;
  auto type = llvm::dyn_cast<RankedTensorType>(shape.getData().getType());
  if (!type)
    return std::nullopt;
  int64_t rank = type.getRank();
  auto clampDim = [&](int64_t d) { return std::clamp<int64_t>(d < 0 ? d + rank : d, 0, rank); };
  int64_t start = clampDim(shape.getStart());
  int64_t end = shape.getEnd() ? clampDim(*shape.getEnd()) : rank;
  int64_t i = *index < 0 ? *index + (end - start) : *index;
  if (i < 0 || start + i >= end || type.isDynamicDim(start + i))
    return std::nullopt;
  return type.getDimSize(start + i);
}

std::optional<int64_t> staticTrips(LoopOp op, ArrayRef<Type> scanTypes) {
  std::optional<int64_t> trips = knownScalar(op.getMaxTripCount());
  if (!trips)
    return std::nullopt;
  int64_t n = *trips;
  if (n < 0 || n > kMaxStaticTrips)
    return std::nullopt;
  if (!llvm::isa<NoneType>(op.getCondition().getType())) {
    DenseIntElementsAttr c = integerConstant(op.getCondition());
    if (!c || c.getNumElements() != 1 || !(*c.getValues<APInt>().begin()).getBoolValue())
      return std::nullopt;
  }
  Block &body = op.getBody().front();
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().empty())
    return std::nullopt;
  Value cond = yield.getValues()[0];
  while (Operation *def = cond.getDefiningOp()) {
    if (def->getName().getStringRef() != "kiln.Reshape")
      return std::nullopt;
    cond = def->getOperand(0);
  }
  if (cond != body.getArgument(1))
    return std::nullopt;
  for (Type t : scanTypes) {
    auto item = llvm::cast<RankedTensorType>(t);
    if (item.getNumDynamicDims() != 1 || !item.isDynamicDim(0) ||
        !item.getElementType().isIntOrFloat())
      return std::nullopt;
    int64_t bytes = n * llvm::divideCeil(item.getElementTypeBitWidth(), 8);
    for (int64_t d : item.getShape().drop_front())
      bytes *= d;
    if (bytes > kMaxStaticScanBytes)
      return std::nullopt;
  }
  return n;
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
    size_t carried = op.getInitial().size();
    if (std::optional<int64_t> trips =
            staticTrips(op, ArrayRef<Type>(carriedTypes).drop_front(carried)))
      return lowerToFor(op, adaptor, r, carriedTypes, *trips);
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

  /// A loop that runs all of its `trips` iterations (see staticTrips) as an
  /// scf.for: the carried values and scan buffers (allocated whole, each
  /// item written at its row) are its iteration arguments, which
  /// bufferization keeps in place. The general form, an scf.while that
  /// tests its condition, grows its scan buffers and passes its state
  /// through its before region, copied every carried tensor and the whole
  /// scan buffer at every iteration (an LSTM over 64 steps: its output
  /// sequence 64 times per layer).
  LogicalResult lowerToFor(LoopOp op, OpAdaptor adaptor, ConversionPatternRewriter &r,
                           ArrayRef<Type> types, int64_t trips) const {
    Location loc = op.getLoc();
    size_t numCarried = op.getInitial().size();
    SmallVector<Value> inits;
    for (auto [v, t] : llvm::zip(adaptor.getInitial(), types))
      inits.push_back(castTo(r, loc, v, t));
    for (Type t : types.drop_front(numCarried)) {
      auto scan = llvm::cast<RankedTensorType>(t);
      SmallVector<int64_t> shape(scan.getShape());
      shape[0] = trips;
      inits.push_back(tensor::EmptyOp::create(r, loc, shape, scan.getElementType()));
    }
    auto loop = scf::ForOp::create(r, loc, arith::ConstantIndexOp::create(r, loc, 0),
                                   arith::ConstantIndexOp::create(r, loc, trips),
                                   arith::ConstantIndexOp::create(r, loc, 1), inits);
    loop->setAttr("kiln.scan_outputs", r.getI64IntegerAttr(types.size() - numCarried));
    Block *after = loop.getBody();
    // (A loop with iteration arguments is built without a terminator; the
    // lowered kiln.yield becomes it.)
    if (!after->empty() && after->back().hasTrait<OpTrait::IsTerminator>())
      r.eraseOp(&after->back());
    if (failed(r.convertRegionTypes(&op.getBody(), *getTypeConverter())))
      return r.notifyMatchFailure(op, "body types");
    r.setInsertionPointToStart(after);
    // Each iteration still counts against the run's bound.
    func::FuncOp count = hostKernel(op, r, "kiln_loop_iteration", r.getFunctionType({}, {}));
    func::CallOp::create(r, loc, count, ValueRange{});
    Value i = arith::IndexCastOp::create(r, loc, r.getI64Type(), loop.getInductionVar());
    SmallVector<Value> bodyArgs{
        tensor::FromElementsOp::create(r, loc, RankedTensorType::get({}, r.getI64Type()),
                                       ValueRange{i}),
        tensor::FromElementsOp::create(
            r, loc, RankedTensorType::get({}, r.getI1Type()),
            ValueRange{arith::ConstantIntOp::create(r, loc, r.getI1Type(), 1)})};
    for (unsigned k = 0; k < numCarried; ++k)
      bodyArgs.push_back(loop.getRegionIterArgs()[k]);
    r.inlineBlockBefore(&op.getBody().front(), after, after->end(), bodyArgs);
    r.setInsertionPointAfter(loop);
    SmallVector<Value> results;
    for (auto [v, t] : llvm::zip(loop.getResults(), op.getResultTypes()))
      results.push_back(castTo(r, loc, v, getTypeConverter()->convertType(t)));
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
    if (auto loop = llvm::dyn_cast<scf::ForOp>(op->getParentOp());
        loop && loop->hasAttr("kiln.scan_outputs")) {
      // (iteration arguments: carried values, then scan buffers)
      Location loc = op.getLoc();
      ValueRange in = adaptor.getValues();
      size_t numScan = loop->getAttrOfType<IntegerAttr>("kiln.scan_outputs").getInt();
      size_t numCarried = in.size() - 1 - numScan;
      SmallVector<Value> values;
      for (size_t k = 0; k < numCarried; ++k)
        values.push_back(castTo(r, loc, in[1 + k], loop.getRegionIterArgs()[k].getType()));
      for (size_t k = 0; k < numScan; ++k) {
        Value buffer = loop.getRegionIterArgs()[numCarried + k];
        Value item = in[1 + numCarried + k];
        auto type = llvm::cast<RankedTensorType>(buffer.getType());
        auto itemType = RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
        item = castTo(r, loc, item, itemType);
        SmallVector<OpFoldResult> offsets{loop.getInductionVar()}, sizes{r.getIndexAttr(1)},
            strides(type.getRank(), r.getIndexAttr(1));
        for (int64_t d = 1; d < type.getRank(); ++d) {
          offsets.push_back(r.getIndexAttr(0));
          sizes.push_back(r.getIndexAttr(type.getDimSize(d)));
        }
        values.push_back(
            tensor::InsertSliceOp::create(r, loc, item, buffer, offsets, sizes, strides));
      }
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
