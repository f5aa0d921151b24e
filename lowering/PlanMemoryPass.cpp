//===- PlanMemoryPass.cpp - kiln-plan-memory ------------------------------===//
//
// A static memory plan. The buffers of fixed size that a block allocates
// and frees itself (a model's intermediates, in its entry) become views at
// offsets of one workspace, allocated at the block's start and freed at its
// end. Two buffers share bytes only when their lifetimes, from alloc to
// dealloc in the block's order (kiln-early-dealloc has made them tight), do
// not overlap. Offsets are assigned greedily, largest buffer first, each at
// the lowest offset that overlaps no buffer of an overlapping lifetime
// already placed (as TensorFlow Lite's arena planner does).
//
// A run then makes one allocation where it made one per intermediate (13
// for a small CNN, 357 for DenseNet-121), and its first run faults in the
// plan's bytes, not those of every size the allocator could not reuse.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNPLANMEMORY
#include "lowering/Passes.h.inc"

namespace {

constexpr int64_t kAlignment = 64;

struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  int64_t bytes = 0, begin = 0, end = 0; // lifetime: positions in the block
  int64_t offset = 0;
};

/// The bytes of a buffer of `type`, when its size is known and it has the
/// plain layout a view of bytes can have.
std::optional<int64_t> plannableBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace() || !type.getElementType().isIntOrFloat())
    return std::nullopt;
  int64_t bits = type.getElementTypeBitWidth();
  if (bits % 8)
    return std::nullopt; // i1 and sub-byte types have no byte layout here
  return type.getNumElements() * (bits / 8);
}

/// The only dealloc of `alloc`, when it is an op of `block` itself.
memref::DeallocOp deallocInBlock(memref::AllocOp alloc, Block &block) {
  memref::DeallocOp found;
  for (Operation *user : alloc->getUsers()) {
    auto d = dyn_cast<memref::DeallocOp>(user);
    if (!d)
      continue;
    if (found || d->getBlock() != &block)
      return {};
    found = d;
  }
  return found;
}

void planBlock(Block &block) {
  DenseMap<Operation *, int64_t> position;
  int64_t at = 0;
  for (Operation &op : block)
    position[&op] = at++;
  std::vector<Buffer> buffers;
  for (Operation &op : block) {
    auto alloc = dyn_cast<memref::AllocOp>(op);
    if (!alloc)
      continue;
    std::optional<int64_t> bytes = plannableBytes(alloc.getType());
    if (!bytes || *bytes == 0)
      continue;
    if (std::optional<uint64_t> align = alloc.getAlignment(); align && *align > kAlignment)
      continue;
    memref::DeallocOp dealloc = deallocInBlock(alloc, block);
    if (!dealloc)
      continue; // returned, or freed elsewhere: it outlives the block's plan
    buffers.push_back({alloc, dealloc, *bytes, position[alloc], position[dealloc]});
  }
  if (buffers.size() < 2)
    return;

  // Largest first; ties in block order, so the plan is deterministic.
  std::vector<Buffer *> order;
  for (Buffer &b : buffers)
    order.push_back(&b);
  std::stable_sort(order.begin(), order.end(),
                   [](const Buffer *a, const Buffer *b) { return a->bytes > b->bytes; });
  std::vector<Buffer *> placed;
  int64_t total = 0;
  for (Buffer *b : order) {
    // The placed buffers alive at the same time, by offset.
    std::vector<Buffer *> overlapping;
    for (Buffer *p : placed)
      if (p->begin <= b->end && b->begin <= p->end)
        overlapping.push_back(p);
    llvm::sort(overlapping, [](const Buffer *x, const Buffer *y) { return x->offset < y->offset; });
    int64_t offset = 0;
    for (Buffer *p : overlapping) {
      if (offset + b->bytes <= p->offset)
        break;
      offset = std::max<int64_t>(offset, llvm::alignTo(p->offset + p->bytes, kAlignment));
    }
    b->offset = offset;
    total = std::max(total, offset + b->bytes);
    placed.push_back(b);
  }

  OpBuilder builder(&block, block.begin());
  Location loc = buffers.front().alloc.getLoc();
  auto bytesType = MemRefType::get({total}, builder.getI8Type());
  Value workspace = memref::AllocOp::create(builder, loc, bytesType, ValueRange{},
                                            builder.getI64IntegerAttr(kAlignment));
  for (Buffer &b : buffers) {
    builder.setInsertionPoint(b.alloc);
    Value offset = arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
    Value view = memref::ViewOp::create(builder, b.alloc.getLoc(), b.alloc.getType(), workspace,
                                        offset, ValueRange{});
    b.alloc.replaceAllUsesWith(view); // the dealloc too, erased next
    b.dealloc.erase();
    b.alloc.erase();
  }
  builder.setInsertionPoint(block.getTerminator());
  memref::DeallocOp::create(builder, loc, workspace);
}

struct PlanMemoryPass : impl::KilnPlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *b) {
      if (b->mightHaveTerminator())
        blocks.push_back(b);
    });
    for (Block *b : blocks)
      planBlock(*b);
  }
};

} // namespace
} // namespace kiln
