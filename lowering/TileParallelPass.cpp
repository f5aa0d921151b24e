//===- TileParallelPass.cpp - kiln-tile-parallel --------------------------===//
//
// Tiles the outermost parallel loop of each linalg op (consumers first) into
// an scf.forall of at most `chunks` tiles and fuses into the tile the
// producers that can be computed per tile without recomputation. The forall
// later becomes one kiln_parallel_for call.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNTILEPARALLEL
#include "lowering/Passes.h.inc"

namespace {
constexpr const char *kVisited = "kiln.tiled";
/// About 10 microseconds of scalar loop iterations.
constexpr int64_t kIterationsPerTask = 16384;

/// Tile sizes: only the first parallel loop with more than one iteration is
/// tiled. Empty when no loop is worth splitting.
/// The configured contraction whose result `op` (all parallel) computes
/// over in place, as its destination (see kiln-configure's epilogues),
/// when the contraction is split across threads: `op` is tiled as the
/// contraction's threads are, and the contraction, fused as the
/// destination of each tile, is computed in it.
linalg::LinalgOp epilogueProducer(linalg::LinalgOp op) {
  if (op.getNumParallelLoops() != op.getNumLoops() || op.getNumDpsInits() != 1)
    return {};
  OpOperand *init = op.getDpsInitOperand(0);
  auto producer = init->get().getDefiningOp<linalg::LinalgOp>();
  std::optional<LoweringConfig> c = producer ? configOf(producer) : std::nullopt;
  if (!c || c->kind != "contraction" || !init->get().hasOneUse() ||
      !op.getMatchingIndexingMap(init).isIdentity() ||
      llvm::all_of(c->threads, [](int64_t t) { return t == 0; }))
    return {};
  AffineMap out = producer.getMatchingIndexingMap(producer.getDpsInitOperand(0));
  if (!out.isProjectedPermutation() || out.getNumResults() != op.getNumLoops())
    return {};
  return producer;
}

SmallVector<OpFoldResult> chooseTileSizes(linalg::LinalgOp op, int64_t chunks, Builder &b) {
  if (linalg::LinalgOp producer = epilogueProducer(op)) {
    LoweringConfig c = *configOf(producer);
    AffineMap out = producer.getMatchingIndexingMap(producer.getDpsInitOperand(0));
    SmallVector<OpFoldResult> sizes;
    for (unsigned r = 0; r < out.getNumResults(); ++r)
      sizes.push_back(b.getIndexAttr(c.threads[out.getDimPosition(r)]));
    return sizes;
  }
  // A configured op's thread tiles were chosen by its cost (all zero: run it
  // serially).
  if (std::optional<LoweringConfig> c = configOf(op)) {
    if (llvm::all_of(c->threads, [](int64_t t) { return t == 0; }))
      return {};
    return getAsIndexOpFoldResult(b.getContext(), c->threads);
  }
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto iters = op.getIteratorTypesArray();
  SmallVector<OpFoldResult> sizes(ranges.size(), b.getIndexAttr(0));
  if (llvm::is_contained(ranges, 0))
    return {}; // nothing to compute, nothing to split
  // Threads by cost: a task of fewer than kIterationsPerTask iterations
  // costs more to hand to a thread than to run (when every range is known).
  int64_t iterations = 1;
  bool known = true;
  for (int64_t r : ranges) {
    if (ShapedType::isDynamic(r)) {
      known = false;
      break;
    }
    iterations = iterations > (int64_t{1} << 40) / r ? int64_t{1} << 40 : iterations * r;
  }
  int64_t maxTiles = known ? std::max<int64_t>(1, iterations / kIterationsPerTask) : chunks;
  if (maxTiles <= 1)
    return {};
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (iters[i] != utils::IteratorType::parallel || ranges[i] == ShapedType::kDynamic ||
        ranges[i] <= 1)
      continue;
    int64_t tiles = std::min({ranges[i], chunks, maxTiles});
    sizes[i] = b.getIndexAttr((ranges[i] + tiles - 1) / tiles);
    return sizes;
  }
  return {};
}

struct TileParallelPass : impl::KilnTileParallelBase<TileParallelPass> {
  using KilnTileParallelBase::KilnTileParallelBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    while (true) {
      linalg::LinalgOp next;
      func.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (isa<scf::ForallOp>(op))
          return WalkResult::skip();
        if (auto l = dyn_cast<linalg::LinalgOp>(op))
          if (l.hasPureTensorSemantics() && !op->hasAttr(kVisited))
            next = l; // the last one in program order: a consumer
        return WalkResult::advance();
      });
      if (!next)
        break;
      next->setAttr(kVisited, rewriter.getUnitAttr());
      SmallVector<OpFoldResult> sizes = chooseTileSizes(next, chunks, rewriter);
      if (sizes.empty())
        continue;
      scf::SCFTilingOptions tiling;
      tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      tiling.setTileSizes(sizes);
      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(tiling);
      // Fuse the initialization of the destination (the fill a matmul or conv
      // accumulates into), and producers read by all-parallel consumers
      // (elementwise ops read exactly their own tile). A producer read by a
      // reduction (a convolution reads every input channel and a halo) would
      // be recomputed for every tile, so it stays outside; so does one with
      // other users, which computes its whole result anyway: fused, it would
      // be computed twice, and a chain of them (ResNet's residual adds, each
      // read by the next block's add and its convolution) once more per
      // link, every block recomputing all the blocks before it.
      // The consumer and the producers fused so far: uses by these (and by
      // the tile's ops) go away with the fusion.
      llvm::SmallPtrSet<Operation *, 8> fused{next.getOperation()};
      Operation *epilogueOf = epilogueProducer(next);
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp slice, OpResult producer,
              bool isDestination) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (auto l = dyn_cast<linalg::LinalgOp>(producer.getOwner())) {
              if (llvm::is_contained(l.getStaticLoopRanges(), 0))
                return std::nullopt; // empty: nothing to fuse
              // A configured op keeps the tiles its strategy chose: those
              // of its epilogue's tiles, or its own.
              if (!isDestination && configOf(l) && l.getOperation() != epilogueOf)
                return std::nullopt;
            }
            if (!isDestination) {
              Operation *tileLoop = slice->getParentOfType<scf::ForallOp>();
              for (Operation *user : producer.getUsers())
                if (!fused.contains(user) && !(tileLoop && tileLoop->isAncestor(user)))
                  return std::nullopt;
              for (OpOperand &use : slice->getUses()) {
                auto consumer = dyn_cast<linalg::LinalgOp>(use.getOwner());
                if (!consumer)
                  return std::nullopt;
                if (!consumer.isDpsInit(&use) && consumer.getNumReductionLoops() != 0)
                  return std::nullopt;
              }
            }
            fused.insert(producer.getOwner());
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          });
      rewriter.setInsertionPoint(next);
      auto tilingOp = cast<TilingInterface>(next.getOperation());
      FailureOr<scf::SCFTileAndFuseResult> result =
          scf::tileConsumerAndFuseProducersUsingSCF(rewriter, tilingOp, options);
      if (failed(result))
        continue; // stays a sequential loop nest: correct, just not parallel
      for (OpResult res : next->getResults())
        if (Value repl = result->replacements.lookup(res))
          rewriter.replaceAllUsesWith(res, repl);
      // (The consumer first: it may be the last user of a producer fused
      // as its destination.)
      if (next->use_empty())
        rewriter.eraseOp(next);
      for (Operation *producer : result->fusedProducers)
        if (producer->use_empty())
          rewriter.eraseOp(producer);
    }
    func.walk([](Operation *op) { op->removeAttr(kVisited); });
  }
};
} // namespace
} // namespace kiln
