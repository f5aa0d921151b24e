//===- FuseEpiloguesPass.cpp - kiln-fuse-epilogues -------------------------===//
//
// A configured contraction on buffers is usually followed by its epilogue:
// an elementwise op (bias, activation, residual add) over the contraction's
// result. Run after the whole thread tile, the epilogue reads that result
// back from L2 or memory (a 1x1 convolution's thread tile on 56x56 is
// 800 KB). Here both are tiled together:
//
//   scf.for over the vector dim (tiles of about a cache tile's columns)
//     scf.for over A's rows (tiles of the register tile's rows)
//       the contraction on the tile, all of k (where the epilogue reads
//         a residual: by parts of a register tile's columns, each
//         prefetching its part of the residual first)
//       the epilogue on the tile, while it is still in L1
//
// kiln-lower-contractions then lowers each contraction tile as it would
// the whole op (same configuration; its loops in the same order), and
// kiln-vectorize-elementwise vectorizes each epilogue tile.
//
// Every tile has static sizes (whole tiles, then one shorter tile), as the
// register tiles need.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEEPILOGUES
#include "lowering/Passes.h.inc"

namespace {

/// The buffer `v` is a view of.
Value bufferOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

struct Fusion {
  linalg::LinalgOp contraction;
  linalg::GenericOp epilogue;
  /// Tile size per dim of the contraction's result (its range: untiled).
  SmallVector<int64_t> tile;
  /// The result's dims in the order of their loops, outermost first.
  SmallVector<int64_t> order;
  /// The result's dim of the register tile's columns, and their number.
  int64_t columnDim = -1, registerColumns = 1;
};

/// The elementwise op that directly follows `op` (pure ops in between
/// aside) and reads its result in place, if it can run tile by tile after
/// it.
linalg::GenericOp epilogueOf(linalg::LinalgOp op) {
  Value c = op.getDpsInits()[0];
  Operation *next = op->getNextNode();
  while (next && ((isMemoryEffectFree(next) && next->getNumRegions() == 0) ||
                  isa<memref::DeallocOp>(next)))
    next = next->getNextNode();
  auto epi = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!epi || !epi.hasPureBufferSemantics() || epi.getNumDpsInits() != 1 ||
      epi.getNumParallelLoops() != epi.getNumLoops())
    return {};
  auto cType = cast<MemRefType>(c.getType());
  if (epi.getNumLoops() != static_cast<unsigned>(cType.getRank()) || !cType.hasStaticShape())
    return {};
  // The result, read (or updated) element for element at the same place.
  bool reads = false;
  Value cBuffer = bufferOf(c);
  for (OpOperand &operand : epi->getOpOperands()) {
    Value v = operand.get();
    if (v == c) {
      if (!epi.getMatchingIndexingMap(&operand).isIdentity())
        return {};
      reads |= epi.isDpsInput(&operand) || epi.payloadUsesValueFromOperand(&operand);
      continue;
    }
    // No other view of the result's buffer, and no write to what the
    // contraction reads.
    if (bufferOf(v) == cBuffer)
      return {};
    if (epi.isDpsInit(&operand))
      for (Value in : op.getDpsInputs())
        if (bufferOf(in) == bufferOf(v))
          return {};
  }
  if (!reads || epi.getStaticLoopRanges() != SmallVector<int64_t>(cType.getShape()))
    return {};
  return epi;
}

/// The dims of `op`'s register tile rows: A's rows of a contraction, the
/// filters of a convolution over NCHW (its output columns are vectors).
std::optional<SmallVector<unsigned>> rowDims(linalg::LinalgOp op, const LoweringConfig &config) {
  if (config.kind == "conv" && isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op))
    return SmallVector<unsigned>{1};
  if (config.kind != "contraction")
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = contractionDims(op, config.vectorDim);
  if (failed(dims))
    return std::nullopt;
  return SmallVector<unsigned>(dims->m.begin(), dims->m.end());
}

std::optional<Fusion> planFusion(linalg::LinalgOp op, const LoweringConfig &config) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return std::nullopt;
  std::optional<SmallVector<unsigned>> rows = rowDims(op, config);
  if (!rows)
    return std::nullopt;
  linalg::GenericOp epi = epilogueOf(op);
  if (!epi)
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!out.isProjectedPermutation())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  Fusion f{op, epi, {}, {}};
  int64_t nvResult = -1, mResult = -1;
  for (unsigned i = 0; i < out.getNumResults(); ++i) {
    int64_t d = out.getDimPosition(i);
    f.tile.push_back(ranges[d]);
    if (d == config.vectorDim)
      nvResult = i;
    else if (llvm::is_contained(*rows, d) && config.registers[d] > 1)
      mResult = i;
  }
  if (nvResult < 0 || mResult < 0)
    return std::nullopt;
  int64_t nv = config.vectorDim, m = out.getDimPosition(mResult);
  // Columns: about a cache tile's (256) in whole register tiles.
  int64_t nr = config.registers[nv];
  int64_t columns = std::max(config.cache[nv] ? config.cache[nv] : 256, nr) / nr * nr;
  f.tile[nvResult] = std::min(columns, ranges[nv]);
  // Rows: one register tile's (and one shorter tile for the rest).
  f.tile[mResult] = std::min(config.registers[m], ranges[m]);
  // Nothing to gain when the tile is the whole result.
  if (f.tile[nvResult] == ranges[nv] && f.tile[mResult] == ranges[m])
    return std::nullopt;
  // Other dims (images, batches) one at a time; columns, then rows.
  for (unsigned i = 0; i < out.getNumResults(); ++i)
    if (static_cast<int64_t>(i) != nvResult && static_cast<int64_t>(i) != mResult) {
      f.tile[i] = 1;
      f.order.push_back(i);
    }
  f.order.push_back(nvResult);
  f.order.push_back(mResult);
  f.columnDim = nvResult;
  f.registerColumns = nr;
  return f;
}

/// Prefetches into L2 the tile at `offsets`, of `sizes`, of each buffer
/// the epilogue reads besides the contraction's result (a residual), one
/// cache line at a time, before the contraction's tile is computed: the
/// tile's FMAs hide the misses that the epilogue's reads would have waited
/// for (a residual of 56x56 rows, 8 rows 12.5 KB apart, read from L3).
void prefetchEpilogueInputs(RewriterBase &r, Fusion &f, ArrayRef<OpFoldResult> offsets,
                            ArrayRef<OpFoldResult> sizes) {
  Value c = f.contraction.getDpsInits()[0];
  Location loc = f.epilogue.getLoc();
  for (OpOperand *in : f.epilogue.getDpsInputOperands()) {
    Value v = in->get();
    auto type = dyn_cast<MemRefType>(v.getType());
    if (v == c || !type || !f.epilogue.getMatchingIndexingMap(in).isIdentity() ||
        !type.getElementType().isIntOrFloat() || type.getElementTypeBitWidth() % 8)
      continue;
    int64_t perLine = std::max<int64_t>(1, 64 / (type.getElementTypeBitWidth() / 8));
    int64_t rank = type.getRank();
    SmallVector<Value> at;
    OpBuilder::InsertionGuard guard(r);
    for (int64_t d = 0; d < rank; ++d) {
      std::optional<int64_t> size = getConstantIntValue(sizes[d]);
      if (!size)
        return;
      Value offset = getValueOrCreateConstantIndexOp(r, loc, offsets[d]);
      if (*size == 1) {
        at.push_back(offset);
        continue;
      }
      Value zero = arith::ConstantIndexOp::create(r, loc, 0);
      Value ub = arith::ConstantIndexOp::create(r, loc, *size);
      Value step = arith::ConstantIndexOp::create(r, loc, d + 1 == rank ? perLine : 1);
      auto loop = scf::ForOp::create(r, loc, zero, ub, step);
      r.setInsertionPoint(loop.getBody()->getTerminator());
      at.push_back(arith::AddIOp::create(r, loc, offset, loop.getInductionVar()));
    }
    memref::PrefetchOp::create(r, loc, v, at, /*isWrite=*/false, /*localityHint=*/2,
                               /*isDataCache=*/true);
  }
}

/// The contraction on the tile of its result at `offsets`, of `sizes`.
void tileContraction(RewriterBase &r, Fusion &f, ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes) {
  linalg::LinalgOp op = f.contraction;
  // The contraction's iteration domain: the tile on its result's dims,
  // all of the others (the reductions).
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<OpFoldResult> loopOffsets(ranges.size(), r.getIndexAttr(0)), loopSizes;
  for (int64_t range : ranges)
    loopSizes.push_back(r.getIndexAttr(range));
  for (unsigned i = 0; i < offsets.size(); ++i) {
    loopOffsets[out.getDimPosition(i)] = offsets[i];
    loopSizes[out.getDimPosition(i)] = sizes[i];
  }
  // (Linalg ops on buffers always tile.)
  (void)cast<TilingInterface>(op.getOperation()).getTiledImplementation(r, loopOffsets, loopSizes);
}

/// Whether the epilogue reads a buffer besides the contraction's result
/// (a residual), which prefetchEpilogueInputs prefetches.
bool readsResidual(Fusion &f) {
  Value c = f.contraction.getDpsInits()[0];
  return llvm::any_of(f.epilogue.getDpsInputOperands(), [&](OpOperand *in) {
    return in->get() != c && isa<MemRefType>(in->get().getType()) &&
           f.epilogue.getMatchingIndexingMap(in).isIdentity();
  });
}

/// The contraction and the epilogue on the tile of the result at
/// `offsets`, of `sizes`. Where the epilogue reads a residual, the
/// contraction's tile is computed a register tile's columns at a time,
/// each part prefetching its columns of the residual first: a few lines
/// at a time, where all of the tile's (128 lines of an 8 x 256 tile) were
/// requested at once and stalled loads until misses completed.
void tileBoth(RewriterBase &r, Fusion f, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes) {
  std::optional<int64_t> columns = getConstantIntValue(sizes[f.columnDim]);
  int64_t nr = f.registerColumns;
  if (!readsResidual(f) || !columns || *columns <= nr || *columns % nr) {
    prefetchEpilogueInputs(r, f, offsets, sizes);
    tileContraction(r, f, offsets, sizes);
  } else {
    Location loc = f.epilogue.getLoc();
    OpBuilder::InsertionGuard guard(r);
    auto loop = scf::ForOp::create(r, loc, arith::ConstantIndexOp::create(r, loc, 0),
                                   arith::ConstantIndexOp::create(r, loc, *columns),
                                   arith::ConstantIndexOp::create(r, loc, nr));
    {
      OpBuilder::InsertionGuard inLoop(r);
      r.setInsertionPoint(loop.getBody()->getTerminator());
      SmallVector<OpFoldResult> partOffsets(offsets), partSizes(sizes);
      Value start = getValueOrCreateConstantIndexOp(r, loc, offsets[f.columnDim]);
      partOffsets[f.columnDim] =
          arith::AddIOp::create(r, loc, start, loop.getInductionVar()).getResult();
      partSizes[f.columnDim] = r.getIndexAttr(nr);
      prefetchEpilogueInputs(r, f, partOffsets, partSizes);
      tileContraction(r, f, partOffsets, partSizes);
    }
  }
  (void)cast<TilingInterface>(f.epilogue.getOperation()).getTiledImplementation(r, offsets, sizes);
}

/// The loops over the result's dims from f.order[level] in: whole tiles,
/// then the rest as one shorter tile, so that every tile has static sizes.
void nest(RewriterBase &r, Location loc, Fusion &f, ArrayRef<int64_t> shape, size_t level,
          SmallVector<OpFoldResult> &offsets, SmallVector<OpFoldResult> &sizes) {
  if (level == f.order.size()) {
    tileBoth(r, f, offsets, sizes);
    return;
  }
  int64_t dim = f.order[level], tile = f.tile[dim];
  int64_t whole = shape[dim] / tile * tile;
  OpBuilder::InsertionGuard guard(r);
  if (whole > tile) {
    Value lb = arith::ConstantIndexOp::create(r, loc, 0);
    Value ub = arith::ConstantIndexOp::create(r, loc, whole);
    Value step = arith::ConstantIndexOp::create(r, loc, tile);
    auto loop = scf::ForOp::create(r, loc, lb, ub, step);
    OpBuilder::InsertionGuard inLoop(r);
    r.setInsertionPoint(loop.getBody()->getTerminator());
    offsets[dim] = loop.getInductionVar();
    sizes[dim] = r.getIndexAttr(tile);
    nest(r, loc, f, shape, level + 1, offsets, sizes);
  } else if (whole == tile) {
    offsets[dim] = r.getIndexAttr(0);
    sizes[dim] = r.getIndexAttr(tile);
    nest(r, loc, f, shape, level + 1, offsets, sizes);
  }
  if (whole != shape[dim]) {
    offsets[dim] = r.getIndexAttr(whole);
    sizes[dim] = r.getIndexAttr(shape[dim] - whole);
    nest(r, loc, f, shape, level + 1, offsets, sizes);
  }
}

void fuse(RewriterBase &r, Fusion f) {
  linalg::LinalgOp op = f.contraction;
  Location loc = op.getLoc();
  // What lies between the two ops is pure: it goes first. Buffers freed
  // in between (the contraction's last read of them) are freed after.
  for (Operation *between = op->getNextNode(); between != f.epilogue.getOperation();) {
    Operation *next = between->getNextNode();
    if (isa<memref::DeallocOp>(between))
      r.moveOpAfter(between, f.epilogue);
    else
      r.moveOpBefore(between, op);
    between = next;
  }
  r.setInsertionPoint(op);
  auto shape = cast<MemRefType>(op.getDpsInits()[0].getType()).getShape();
  size_t rank = shape.size();
  SmallVector<OpFoldResult> offsets(rank, r.getIndexAttr(0)), sizes(rank);
  for (size_t i = 0; i < rank; ++i)
    sizes[i] = r.getIndexAttr(f.tile[i]);
  nest(r, loc, f, shape, 0, offsets, sizes);
  r.eraseOp(f.epilogue);
  r.eraseOp(op);
}

struct FuseEpiloguesPass : impl::KilnFuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    SmallVector<Fusion> fusions;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> config = configOf(op))
        if (std::optional<Fusion> f = planFusion(op, *config))
          fusions.push_back(*f);
    });
    IRRewriter r(&getContext());
    for (Fusion &f : fusions)
      fuse(r, f);
  }
};

} // namespace
} // namespace kiln
