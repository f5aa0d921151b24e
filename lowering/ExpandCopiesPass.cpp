//===- ExpandCopiesPass.cpp - kiln-expand-copies --------------------------===//
//
// A memref.copy between buffers that are not both contiguous (a padded
// input's interior, a slice of a result) becomes a call of the runtime's
// generic strided copy, one element at a time. It is rewritten as
// linalg.copy instead: plain loops whose innermost dim LLVM vectorizes
// (a thread's slice of a padded input has a dynamic dim, but its rows are
// static). Contiguous copies stay memref.copy (a memcpy).
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDCOPIES
#include "lowering/Passes.h.inc"

namespace {
struct ExpandCopiesPass : impl::KilnExpandCopiesBase<ExpandCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto from = llvm::cast<MemRefType>(copy.getSource().getType());
      auto to = llvm::cast<MemRefType>(copy.getTarget().getType());
      if (from.getRank() > 0 && !(from.getLayout().isIdentity() && to.getLayout().isIdentity()))
        copies.push_back(copy);
    });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(), copy.getTarget());
    }
  }
};
} // namespace
} // namespace kiln
