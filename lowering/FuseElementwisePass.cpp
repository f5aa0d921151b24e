//===- FuseElementwisePass.cpp - kiln-fuse-elementwise --------------------===//
//
// Upstream's linalg-fuse-elementwise-ops, with one rule more: an elementwise
// producer is not fused into an op with reduction loops that reads each of
// its elements more than once (a GEMM's A or B operand, a convolution's
// input). Fused there, the producer would be recomputed for every use (a
// global average pool's division 1000 times, once per column of the Gemm
// after it), and its arithmetic in the contraction's body hides the
// contraction from the strategy layer, which then leaves it scalar loops.
// Reductions whose every iteration reads a distinct element (ReduceSum of
// a square) still absorb their producers.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISE
#include "lowering/Passes.h.inc"

namespace {

/// Whether fusing the producer of `operand` into its user computes each
/// producer element once.
bool fusionComputesOnce(OpOperand *operand) {
  Operation *producer = operand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!consumer || consumer.getNumReductionLoops() == 0)
    return true;
  AffineMap map = consumer.getMatchingIndexingMap(operand);
  llvm::SmallBitVector used(map.getNumDims());
  for (AffineExpr e : map.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e))
      used.set(d.getPosition());
    else
      return false;
  return used.all();
}

/// Whether `op` combines two or more inputs over reduction loops (a
/// contraction, a convolution): the ops the strategy layer tiles and
/// vectorizes, whose iteration space must stay the named op's.
bool isContractionLike(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.getNumReductionLoops() > 0 && linalgOp.getNumDpsInputs() >= 2;
}

struct FuseElementwisePass : impl::KilnFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::ControlFusionFn oneUse = [](OpOperand *operand) {
      Operation *producer = operand->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    // A reshape folded into a GEMM turns it into a generic over more
    // loops (unit dims among its reductions) that no strategy recognizes.
    linalg::ControlFusionFn reshapes = [&](OpOperand *operand) {
      return oneUse(operand) && !isContractionLike(operand->getOwner()) &&
             !isContractionLike(operand->get().getDefiningOp());
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, fusionComputesOnce);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, reshapes);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, oneUse);
    (void)applyPatternsGreedily(getOperation(), std::move(patterns),
                                GreedyRewriteConfig().setUseTopDownTraversal());
  }
};
} // namespace
} // namespace kiln
