//===- PadInPlacePass.cpp - kiln-pad-in-place -----------------------------===//
//
// A convolution's padded input was a copy: bufferization gives tensor.pad
// a buffer of its own, fills it and copies the unpadded tensor into its
// interior (a 64x56x56 activation read and written once more per 3x3
// convolution). Where the unpadded tensor is computed by an op that writes
// into an empty tensor of its own, that op writes into the interior of
// the padded buffer instead:
//
//   %e = tensor.empty()                     %E = tensor.empty() : padded
//   %x = <op> outs(%e)               ==>    %F = linalg.fill %cst, %E
//   %p = tensor.pad %x low.. high..         %S = tensor.extract_slice %F[low..]
//                                           %x = <op> outs(%S)
//                                           %p = tensor.insert_slice %x into %F[low..]
//
// One-shot bufferization sees the matching extract and insert of the same
// slice and writes %x in place, with no copy.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNPADINPLACE
#include "lowering/Passes.h.inc"

namespace {

/// The empty tensor `v`'s producer writes into, when `v` is that
/// producer's only result and the empty tensor has no other use.
OpOperand *emptyDestination(Value v) {
  auto result = llvm::dyn_cast<OpResult>(v);
  if (!result)
    return nullptr;
  Operation *producer = result.getOwner();
  OpOperand *init = nullptr;
  if (auto forall = dyn_cast<scf::ForallOp>(producer))
    init = &forall.getOutputsMutable()[result.getResultNumber()];
  else if (auto dps = dyn_cast<DestinationStyleOpInterface>(producer))
    init = dps.getTiedOpOperand(result);
  if (!init || !init->get().getDefiningOp<tensor::EmptyOp>() || !init->get().hasOneUse())
    return nullptr;
  return init;
}

struct PadInPlacePass : impl::KilnPadInPlaceBase<PadInPlacePass> {
  void runOnOperation() override {
    SmallVector<tensor::PadOp> pads;
    getOperation().walk([&](tensor::PadOp pad) { pads.push_back(pad); });
    IRRewriter r(&getContext());
    for (tensor::PadOp pad : pads) {
      Value padding = pad.getConstantPaddingValue();
      if (!padding || !pad.getResultType().hasStaticShape() ||
          !pad.getSourceType().hasStaticShape())
        continue;
      // Another user of the unpadded value would need it copied out of the
      // padded buffer: as many bytes moved as before.
      if (!pad.getSource().hasOneUse())
        continue;
      OpOperand *init = emptyDestination(pad.getSource());
      if (!init)
        continue;
      Operation *producer = init->getOwner();
      // The padding value is a constant (cloned before the producer).
      Operation *constant = padding.getDefiningOp();
      if (!constant || !constant->hasTrait<OpTrait::ConstantLike>())
        continue;
      Location loc = pad.getLoc();
      r.setInsertionPoint(producer);
      padding = r.clone(*constant)->getResult(0);
      RankedTensorType padded = pad.getResultType();
      Value empty = tensor::EmptyOp::create(r, loc, padded.getShape(), padded.getElementType());
      Value filled = linalg::FillOp::create(r, loc, padding, empty).getResult(0);
      SmallVector<OpFoldResult> offsets = pad.getMixedLowPad();
      SmallVector<OpFoldResult> sizes =
          getAsIndexOpFoldResult(&getContext(), pad.getSourceType().getShape());
      SmallVector<OpFoldResult> strides(padded.getRank(), r.getIndexAttr(1));
      Value interior = tensor::ExtractSliceOp::create(r, loc, pad.getSourceType(), filled,
                                                      offsets, sizes, strides);
      Operation *oldEmpty = init->get().getDefiningOp();
      r.modifyOpInPlace(producer, [&] { init->set(interior); });
      r.eraseOp(oldEmpty);
      r.setInsertionPoint(pad);
      r.replaceOpWithNewOp<tensor::InsertSliceOp>(pad, pad.getSource(), filled, offsets, sizes,
                                                  strides);
    }
  }
};

} // namespace
} // namespace kiln
