//===- Scatter.cpp - ScatterElements and ScatterND -> scf.for -------------===//
//
// A scatter writes each update in order, later writes winning, and with a
// reduction reads what an earlier update may have written: the updates form
// one sequential loop (scf.for over tensor.insert, which bufferizes into a
// copy of data updated in place). Indices are checked like Gather's: one out
// of range fails the run instead of writing out of bounds.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

/// Coordinates of flat position `flat` in a row-major shape of `dims`.
SmallVector<Value> delinearize(OpBuilder &b, Location l, Value flat, ArrayRef<Value> dims) {
  SmallVector<Value> coords(dims.size());
  for (int64_t d = dims.size() - 1; d >= 0; --d) {
    coords[d] = arith::RemUIOp::create(b, l, flat, dims[d]);
    flat = arith::DivUIOp::create(b, l, flat, dims[d]);
  }
  return coords;
}

/// `update` combined with `old` per the reduction attribute.
Value combine(OpBuilder &b, Location l, StringRef reduction, Value old, Value update, ElemKind k) {
  if (reduction == "add")
    return addOf(b, l, k, old, update);
  if (reduction == "mul")
    return mulOf(b, l, k, old, update);
  return reduction == "max" ? maxOf(b, l, k, old, update) : minOf(b, l, k, old, update);
}

/// One loop over every element of `updates`; `target` maps an update's
/// coordinates to the data coordinates it goes to.
Value scatterLoop(OpBuilder &b, Location loc, Value data, Value updates, StringRef reduction,
                  ElemKind k,
                  const std::function<SmallVector<Value>(OpBuilder &, Location, ArrayRef<Value>)>
                      &target) {
  SmallVector<Value> dims = allDims(b, loc, updates);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = one;
  for (Value d : dims)
    count = arith::MulIOp::create(b, loc, count, d);
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{data},
      [&](OpBuilder &b, Location l, Value iv, ValueRange acc) {
        SmallVector<Value> coords = delinearize(b, l, iv, dims);
        Value update = tensor::ExtractOp::create(b, l, updates, coords);
        SmallVector<Value> at = target(b, l, coords);
        if (reduction != "none")
          update = combine(b, l, reduction, tensor::ExtractOp::create(b, l, acc[0], at), update, k);
        Value next = tensor::InsertOp::create(b, l, update, acc[0], at);
        scf::YieldOp::create(b, l, next);
      });
  return loop.getResult(0);
}

struct ScatterElementsLowering : OpConversionPattern<ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScatterElementsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto dt = llvm::cast<RankedTensorType>(adaptor.getData().getType());
    int64_t axis = *normalizeAxis(op.getAxis(), dt.getRank());
    Value dim = dimValue(r, op.getLoc(), adaptor.getData(), axis);
    Value indices = adaptor.getIndices();
    Value y = scatterLoop(r, op.getLoc(), adaptor.getData(), adaptor.getUpdates(),
                          op.getReduction(), ElemKind::of(op.getData().getType()),
                          [&](OpBuilder &b, Location l, ArrayRef<Value> coords) {
                            SmallVector<Value> at(coords);
                            Value raw = tensor::ExtractOp::create(b, l, indices, coords);
                            at[axis] = checkedIndex(b, l, raw, dim, op);
                            return at;
                          });
    r.replaceOp(op, y);
    return success();
  }
};

struct ScatterNDLowering : OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto it = llvm::cast<RankedTensorType>(adaptor.getIndices().getType());
    int64_t q = it.getRank(), k = it.getDimSize(q - 1);
    if (ShapedType::isDynamic(k))
      return r.notifyMatchFailure(op, "the index tuple length must be known when compiling");
    SmallVector<Value> dataDims = allDims(r, op.getLoc(), adaptor.getData());
    Value indices = adaptor.getIndices();
    Value y = scatterLoop(
        r, op.getLoc(), adaptor.getData(), adaptor.getUpdates(), op.getReduction(),
        ElemKind::of(op.getData().getType()),
        [&](OpBuilder &b, Location l, ArrayRef<Value> coords) {
          // updates[i..., rest...] goes to data[indices[i..., :], rest...].
          SmallVector<Value> tuple(coords.take_front(q - 1));
          tuple.push_back(Value());
          SmallVector<Value> at;
          for (int64_t j = 0; j < k; ++j) {
            tuple.back() = arith::ConstantIndexOp::create(b, l, j);
            Value raw = tensor::ExtractOp::create(b, l, indices, tuple);
            at.push_back(checkedIndex(b, l, raw, dataDims[j], op));
          }
          at.append(coords.begin() + (q - 1), coords.end());
          return at;
        });
    r.replaceOp(op, y);
    return success();
  }
};

} // namespace

void populateScatterPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<ScatterElementsLowering, ScatterNDLowering>(tc, p.getContext());
}

} // namespace kiln
