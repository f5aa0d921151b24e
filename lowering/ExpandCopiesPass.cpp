//===- ExpandCopiesPass.cpp - kiln-expand-copies --------------------------===//
//
// A memref.copy between buffers that are not both contiguous (a padded
// input's interior, a slice of a result) becomes a call of the runtime's
// generic strided copy, one element at a time. It is rewritten as
// linalg.copy instead: plain loops whose innermost dim LLVM vectorizes
// (a thread's slice of a padded input has a dynamic dim, but its rows are
// static). Contiguous copies stay memref.copy (a memcpy).
//
// A transpose that keeps the innermost dim (the packing of a GEMM's
// computed B into slivers) moves whole rows: it becomes a loop nest over
// the other dims with one vector read and one vector write per row, which
// scalar loops would leave to LLVM to rediscover after unrolling them.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDCOPIES
#include "lowering/Passes.h.inc"

namespace {
/// Rows longer than this stay scalar loops (LLVM's loop vectorizer).
constexpr int64_t kMaxRowElements = 64;

/// Whether `t` moves whole static rows of at most kMaxRowElements.
bool movesRows(linalg::TransposeOp t) {
  if (!t.hasPureBufferSemantics())
    return false;
  auto in = llvm::cast<MemRefType>(t.getInput().getType());
  auto out = llvm::cast<MemRefType>(t.getInit().getType());
  ArrayRef<int64_t> perm = t.getPermutation();
  int64_t rank = out.getRank();
  return rank >= 2 && perm.back() == rank - 1 && in.hasStaticShape() && out.hasStaticShape() &&
         out.getShape().back() <= kMaxRowElements && in.getElementType().isIntOrFloat();
}

void expandRows(RewriterBase &r, linalg::TransposeOp t) {
  Location loc = t.getLoc();
  auto out = llvm::cast<MemRefType>(t.getInit().getType());
  ArrayRef<int64_t> perm = t.getPermutation();
  int64_t rank = out.getRank();
  Value zero = arith::ConstantIndexOp::create(r, loc, 0);
  Value one = arith::ConstantIndexOp::create(r, loc, 1);
  SmallVector<Value> lbs(rank - 1, zero), steps(rank - 1, one), ubs;
  for (int64_t d = 0; d + 1 < rank; ++d)
    ubs.push_back(arith::ConstantIndexOp::create(r, loc, out.getDimSize(d)));
  auto row = VectorType::get({out.getShape().back()}, out.getElementType());
  scf::buildLoopNest(r, loc, lbs, ubs, steps, [&](OpBuilder &b, Location l, ValueRange ivs) {
    SmallVector<Value> to(ivs.begin(), ivs.end()), from(rank, zero);
    to.push_back(zero);
    // Output dim d is input dim perm[d].
    for (int64_t d = 0; d < rank; ++d)
      from[perm[d]] = to[d];
    Value v = vector::TransferReadOp::create(b, l, row, t.getInput(), from, std::nullopt,
                                             SmallVector<bool>{true});
    vector::TransferWriteOp::create(b, l, v, t.getInit(), to, SmallVector<bool>{true});
  });
  r.eraseOp(t);
}

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
    SmallVector<linalg::TransposeOp> transposes;
    getOperation().walk([&](linalg::TransposeOp t) {
      if (movesRows(t))
        transposes.push_back(t);
    });
    for (linalg::TransposeOp t : transposes) {
      rewriter.setInsertionPoint(t);
      expandRows(rewriter, t);
    }
  }
};
} // namespace
} // namespace kiln
