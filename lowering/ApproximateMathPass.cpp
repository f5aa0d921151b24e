//===- ApproximateMathPass.cpp - kiln-approximate-math --------------------===//
//
// Transcendental functions on f32 become polynomial approximations built
// from arith ops (upstream's math patterns): libm's scalar expf and tanhf
// are calls LLVM cannot vectorize, so a Tanh over a tensor ran one call per
// element, 20-70x slower than ONNX Runtime's vectorized kernels. As arith
// ops, the loops around them vectorize at the full width of the target.
// The approximations are accurate to a few ulp, inside the conformance
// tolerances; f64 keeps libm. The logarithms' approximations treat
// subnormal inputs as the smallest normal number: those inputs are scaled
// into the normal range first and the logarithm of the scale taken off.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATH
#include "lowering/Passes.h.inc"

namespace {

/// log(x) of an f32 subnormal x as log(x * 2^24) - 24 log(2) (log2 alike).
template <typename LogOp> void scaleSubnormals(LogOp op, float logOfScale) {
  Type type = op.getType();
  if (!getElementTypeOrSelf(type).isF32())
    return;
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto splat = [&](float v) -> Value {
    auto attr = b.getF32FloatAttr(v);
    if (auto vt = llvm::dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(b, loc, vt, SplatElementsAttr::get(vt, attr));
    return arith::ConstantOp::create(b, loc, attr);
  };
  Value x = op.getOperand();
  Value subnormal = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                          splat(std::numeric_limits<float>::min()));
  Value scaled = arith::SelectOp::create(
      b, loc, subnormal, arith::MulFOp::create(b, loc, x, splat(16777216.0f)), x);
  op->setOperand(0, scaled);
  b.setInsertionPointAfter(op);
  Value unscaled = arith::SubFOp::create(b, loc, op.getResult(), splat(logOfScale));
  Value corrected = arith::SelectOp::create(b, loc, subnormal, unscaled, op.getResult());
  llvm::SmallPtrSet<Operation *, 2> readers{unscaled.getDefiningOp(), corrected.getDefiningOp()};
  op.getResult().replaceAllUsesExcept(corrected, readers);
}

struct ApproximateMathPass : impl::KilnApproximateMathBase<ApproximateMathPass> {
  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet set(context);
    populateMathPolynomialApproximationPatterns(set, [](StringRef name) {
      return llvm::is_contained(approximated(), name);
    });
    patterns = std::move(set);
    return success();
  }

  void runOnOperation() override {
    // Most kernels have no transcendental function: they cost one walk.
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (llvm::is_contained(approximated(), op->getName().getStringRef()))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    for (Operation *op : ops) {
      if (auto log = dyn_cast<math::LogOp>(op))
        scaleSubnormals(log, 24 * std::log(2.0f));
      else if (auto log2 = dyn_cast<math::Log2Op>(op))
        scaleSubnormals(log2, 24.0f);
    }
    if (failed(applyOpPatternsGreedily(ops, patterns)))
      signalPassFailure();
  }

private:
  static ArrayRef<StringRef> approximated() {
    static const StringRef names[] = {
        math::TanhOp::getOperationName(), math::ErfOp::getOperationName(),
        math::ErfcOp::getOperationName(), math::ExpOp::getOperationName(),
        math::ExpM1Op::getOperationName(), math::LogOp::getOperationName(),
        math::Log1pOp::getOperationName(), math::Log2Op::getOperationName()};
    return names;
  }

  FrozenRewritePatternSet patterns;
};

} // namespace
} // namespace kiln
