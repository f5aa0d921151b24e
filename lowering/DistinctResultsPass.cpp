//===- DistinctResultsPass.cpp - kiln-distinct-results --------------------===//
#include "lowering/Passes.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNDISTINCTRESULTS
#include "lowering/Passes.h.inc"

namespace {
/// The tensor whose buffer `v` will share after bufferization: reshapes and
/// casts are views of their source with the same start. (A slice returned
/// with an offset gets a buffer of its own when results are bufferized.)
Value bufferRoot(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!llvm::isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp, tensor::ReshapeOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Whether `op` only produces a fresh value at little cost: an empty
/// tensor, a fill, or a thread-tiled fill.
bool cheapToClone(Operation *op) {
  if (!op)
    return false;
  if (isa<tensor::EmptyOp, linalg::FillOp>(op))
    return true;
  auto forall = dyn_cast<scf::ForallOp>(op);
  if (!forall)
    return false;
  return !forall.getBody()
              ->walk<WalkOrder::PreOrder>([](Operation *inner) {
                if (isa<linalg::FillOp>(inner))
                  return WalkResult::skip();
                return isa<affine::AffineMinOp, affine::AffineApplyOp, tensor::ExtractSliceOp,
                           scf::InParallelOp, tensor::ParallelInsertSliceOp>(inner)
                           ? WalkResult::advance()
                           : WalkResult::interrupt();
              })
              .wasInterrupted();
}

/// Gives `use` (an op's destination) a value of its own when the value it
/// writes into is shared: CSE merges the equal zero fills of convolutions
/// of one shape, and each writer would then accumulate into a copy.
void unshareDestination(OpOperand &use) {
  SmallVector<Operation *> chain; // producer, then the views in between
  Value v = use.get();
  bool shared = !v.hasOneUse();
  while (Operation *def = v.getDefiningOp()) {
    chain.push_back(def);
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
      break;
    v = def->getOperand(0);
    shared |= !v.hasOneUse();
  }
  if (!shared || chain.empty() || !cheapToClone(chain.back()))
    return;
  OpBuilder b(use.getOwner());
  IRMapping map;
  for (Operation *op : llvm::reverse(chain))
    b.clone(*op, map);
  use.set(map.lookup(use.get()));
}

struct DistinctResultsPass : impl::KilnDistinctResultsBase<DistinctResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](DestinationStyleOpInterface op) {
      for (OpOperand &init : op.getDpsInitsMutable())
        unshareDestination(init);
    });
    getOperation().walk([](tensor::EmptyOp empty) {
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          empty->getUses(), [](OpOperand &use) { return &use; });
      OpBuilder b(empty);
      for (OpOperand *use : llvm::drop_begin(uses))
        use->set(b.clone(*empty)->getResult(0));
    });
    // Static empty tensors of the function's body go to its start, so that
    // eliminate-empty-tensors can replace an empty that a producer writes
    // into with the slice of a later buffer it is inserted into (a
    // concatenation's part): the producer then writes there directly.
    // (kiln-early-dealloc moves each allocation back to its first use.)
    if (!getOperation().getBody().empty()) {
      Block &entry = getOperation().getBody().front();
      SmallVector<tensor::EmptyOp> empties;
      for (auto empty : entry.getOps<tensor::EmptyOp>())
        if (empty->getNumOperands() == 0)
          empties.push_back(empty);
      for (tensor::EmptyOp empty : llvm::reverse(empties))
        empty->moveBefore(&entry, entry.begin());
    }
    getOperation().walk([](func::ReturnOp ret) {
      llvm::DenseSet<Value> seen;
      OpBuilder b(ret);
      // Each result gets a buffer of its own: a second result on a buffer
      // already returned (the same value, or a view of it) is copied.
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
        if (!type || seen.insert(bufferRoot(v)).second)
          continue;
        Value init = tensor::EmptyOp::create(b, ret.getLoc(), tensor::getMixedSizes(b, ret.getLoc(), v),
                                             type.getElementType());
        operand.set(linalg::CopyOp::create(b, ret.getLoc(), v, init).getResult(0));
      }
    });
  }
};
} // namespace
} // namespace kiln
