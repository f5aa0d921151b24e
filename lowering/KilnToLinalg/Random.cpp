//===- Random.cpp - RandomUniform/RandomNormal -> host kernel -------------===//
//
// Samples are drawn by the runtime (a counter-based generator, see
// kiln_random_f32 in runtime/HostKernels.cpp) into a buffer the code
// allocates at the result's shape.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

struct RandomLowering : OpConversionPattern<RandomOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RandomOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!res)
      return r.notifyMatchFailure(op, "unranked result");
    Location loc = op.getLoc();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < res.getRank(); ++d)
      if (res.isDynamicDim(d))
        sizes.push_back(dimValue(r, loc, adaptor.getLike(), d));
    HostOutput out = allocateForHost(r, loc, res.getShape(), res.getElementType(), sizes);
    Type i64 = r.getI64Type(), f64 = r.getF64Type();
    auto f64Const = [&](double v) {
      return arith::ConstantOp::create(r, loc, f64, r.getF64FloatAttr(v)).getResult();
    };
    std::optional<double> seed;
    if (auto s = op.getSeed())
      seed = s->convertToDouble();
    callHost(r, op, res.getElementType().isF32() ? "kiln_random_f32" : "kiln_random_f64",
             {anyRankArg(r, loc, out.buffer),
              arith::ConstantIntOp::create(r, loc, i64, op.getDistribution() == "normal"),
              f64Const(op.getA().convertToDouble()), f64Const(op.getB().convertToDouble()),
              f64Const(seed.value_or(0)), arith::ConstantIntOp::create(r, loc, i64, seed.has_value())});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

} // namespace

void populateRandomPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<RandomLowering>(tc, p.getContext());
}

} // namespace kiln
