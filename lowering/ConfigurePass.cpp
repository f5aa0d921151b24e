//===- ConfigurePass.cpp - kiln-configure ---------------------------------===//
//
// Attaches a lowering configuration (lowering/Strategy.h) to each linalg op
// a strategy applies to. Runs on linalg on tensors, before tiling.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNCONFIGURE
#include "lowering/Passes.h.inc"

namespace {
struct ConfigurePass : impl::KilnConfigureBase<ConfigurePass> {
  using KilnConfigureBase::KilnConfigureBase;

  void runOnOperation() override {
    TargetInfo target = TargetInfo::host();
    if (vectorBits > 0)
      target.vectorBits = vectorBits;
    if (vectorRegisters > 0)
      target.vectorRegisters = vectorRegisters;
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
    IRRewriter rewriter(&getContext());
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
