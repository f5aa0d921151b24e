//===- ConfigurePass.cpp - kiln-configure ---------------------------------===//
//
// Attaches a lowering configuration (lowering/Strategy.h) to each linalg op
// a strategy applies to. Runs on linalg on tensors, before tiling.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNCONFIGURE
#include "lowering/Passes.h.inc"

namespace {
/// A convolution over a batch known only at run time (the usual export),
/// whose other dims are static, becomes a parallel loop over its images:
/// each image is a convolution of static shape, which the strategies
/// handle. (A sequential loop would let each image's convolution be split
/// across threads, which one image needs, but one-shot bufferization takes
/// seconds over fifty such loops: measured 10.9 s on ResNet-50.)
void tileDynamicBatch(RewriterBase &r, linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || !ShapedType::isDynamic(ranges[0]) ||
      llvm::any_of(ArrayRef<int64_t>(ranges).drop_front(), ShapedType::isDynamic))
    return;
  SmallVector<int64_t> sizes(ranges.size(), 0);
  sizes[0] = 1;
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(getAsIndexOpFoldResult(r.getContext(), sizes));
  r.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(r, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return;
  r.replaceOp(op, tiled->replacements);
}

struct ConfigurePass : impl::KilnConfigureBase<ConfigurePass> {
  using KilnConfigureBase::KilnConfigureBase;

  void runOnOperation() override {
    TargetInfo target = TargetInfo::host();
    if (vectorBits > 0)
      target.vectorBits = vectorBits;
    if (vectorRegisters > 0)
      target.vectorRegisters = vectorRegisters;
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> batched;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op) && op.hasPureTensorSemantics())
        batched.push_back(op);
    });
    for (linalg::LinalgOp op : batched)
      tileDynamicBatch(rewriter, op);
    SmallVector<linalg::MatmulOp> packable;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op.hasPureTensorSemantics() && shouldPackRhs(op, target))
        packable.push_back(op);
    });
    SmallVector<linalg::LinalgOp> convs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (convAsGemm(op, target))
        convs.push_back(op);
    });
    for (linalg::MatmulOp op : packable)
      packRhs(rewriter, op, target);
    for (linalg::LinalgOp op : convs)
      convAsContraction(rewriter, op);
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> c = chooseConfig(op, target, chunks))
        op->setAttr(kConfigAttrName, c->toAttr(&getContext()));
    });
  }
};
} // namespace
} // namespace kiln
