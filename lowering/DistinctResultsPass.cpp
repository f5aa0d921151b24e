//===- DistinctResultsPass.cpp - kiln-distinct-results --------------------===//
#include "lowering/Passes.h"
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

struct DistinctResultsPass : impl::KilnDistinctResultsBase<DistinctResultsPass> {
  void runOnOperation() override {
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
