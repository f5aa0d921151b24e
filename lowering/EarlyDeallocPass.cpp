//===- EarlyDeallocPass.cpp - kiln-early-dealloc --------------------------===//
//
// Bufferization frees a block's buffers at its end; for a model's entry
// that is the end of the run, so every intermediate is held at once. Each
// dealloc of a buffer allocated in its block moves to just after the
// block's last op that uses the buffer or a view of it, and its alloc to
// just before the first: a buffer then holds memory only while it is used,
// and the runtime hands it to the buffers allocated after its release.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNEARLYDEALLOC
#include "lowering/Passes.h.inc"

namespace {

/// Ops that read or write a buffer without keeping it beyond themselves.
bool onlyAccesses(Operation *op) {
  return isa<linalg::LinalgOp, memref::LoadOp, memref::StoreOp, memref::CopyOp, memref::DimOp,
             vector::TransferReadOp, vector::TransferWriteOp, vector::LoadOp, vector::StoreOp,
             scf::ForallOp, scf::ForOp, scf::IfOp, scf::ParallelOp, scf::YieldOp,
             memref::DeallocOp>(op);
}

/// The last op of `block` that uses `buffer` or a view of it, or null when
/// a use could keep the buffer (its dealloc then stays where it is).
Operation *lastUse(Value buffer, Block &block, memref::DeallocOp dealloc) {
  Operation *last = buffer.getDefiningOp();
  SmallVector<Value> values{buffer};
  while (!values.empty()) {
    Value v = values.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (user == dealloc)
        continue;
      if (isa<ViewLikeOpInterface>(user)) {
        for (Value r : user->getResults())
          values.push_back(r);
      } else if (!onlyAccesses(user) || isa<scf::YieldOp>(user)) {
        return nullptr; // a call, a return, a yielded view: it may live on
      }
      Operation *at = block.findAncestorOpInBlock(*user);
      if (!at)
        return nullptr;
      if (last->isBeforeInBlock(at))
        last = at;
    }
  }
  return last;
}

/// The first op of `block` after `alloc` that uses its buffer (or a view).
Operation *firstUse(memref::AllocOp alloc, Block &block) {
  Operation *first = nullptr;
  for (Operation *user : alloc->getUsers()) {
    Operation *at = block.findAncestorOpInBlock(*user);
    if (at && (!first || at->isBeforeInBlock(first)))
      first = at;
  }
  return first;
}

struct EarlyDeallocPass : impl::KilnEarlyDeallocBase<EarlyDeallocPass> {
  void runOnOperation() override {
    // Allocations first go down to their first use (sizes, their only
    // operands, are defined before them, and still are after).
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk([&](memref::AllocOp a) { allocs.push_back(a); });
    for (memref::AllocOp a : allocs) {
      Operation *first = firstUse(a, *a->getBlock());
      if (first && a->isBeforeInBlock(first) && a->getNextNode() != first)
        a->moveBefore(first);
    }
    SmallVector<memref::DeallocOp> deallocs;
    getOperation().walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
    for (memref::DeallocOp d : deallocs) {
      auto alloc = d.getMemref().getDefiningOp<memref::AllocOp>();
      Block *block = d->getBlock();
      if (!alloc || alloc->getBlock() != block)
        continue;
      Operation *last = lastUse(alloc.getResult(), *block, d);
      if (last && last->isBeforeInBlock(d))
        d->moveAfter(last);
    }
  }
};
} // namespace
} // namespace kiln
