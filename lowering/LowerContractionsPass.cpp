//===- LowerContractionsPass.cpp - kiln-lower-contractions ----------------===//
//
// Lowers each linalg op configured as a contraction (lowering/Strategy.h),
// on buffers, to a register-tiled vector kernel:
//
//   cache tiles     scf.for over (n, k, rest), from `cache`
//   register tiles  scf.for over (rest, m, n, k), from `registers`
//   remainders      every loop whose step does not divide its range is
//                   peeled, so each tile has static sizes; a tile still
//                   dynamic (a thread tile's last rows) is cut into rows,
//                   and a vector dim that is not a multiple of the vector
//                   width into full vectors and one shorter one
//   vectorization   each tile becomes vector.contract, accumulators are
//                   hoisted out of the k loop, and the contraction becomes
//                   vector.fma of broadcast A scalars and B vectors
//
// The whole nest is built inside a temporary scf.execute_region, so every
// pattern set is applied only to this op's code (upstream alias folding
// does not terminate on some reshapes elsewhere in a model).
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNLOWERCONTRACTIONS
#include "lowering/Passes.h.inc"

namespace {
constexpr const char *kPeeled = "kiln.peeled";
/// The k loop of the micro-kernel is unrolled by this much (measured: 4
/// gains 5-10% over 1, 8 no more than 4).
constexpr uint64_t kUnrollK = 4;

/// Tiles `op` by `sizes` (0: untiled) with its loops in `order`; returns
/// the tiled op, or `op` when nothing was tiled.
linalg::LinalgOp tile(RewriterBase &r, linalg::LinalgOp op, ArrayRef<int64_t> sizes,
                      ArrayRef<int64_t> order = {}) {
  if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
    return op;
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  if (!order.empty())
    options.setInterchange(order);
  r.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(r, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->tiledOps.empty())
    return op;
  r.eraseOp(op);
  return cast<linalg::LinalgOp>(tiled->tiledOps.back());
}

/// The loops of `order` first, then the others in their order.
SmallVector<int64_t> loopOrder(size_t loops, ArrayRef<int64_t> first) {
  SmallVector<int64_t> order(first);
  for (int64_t d = 0; d < static_cast<int64_t>(loops); ++d)
    if (!llvm::is_contained(order, d))
      order.push_back(d);
  return order;
}

class ContractionLowering {
public:
  ContractionLowering(MLIRContext *ctx, const FrozenRewritePatternSet &canonical)
      : ctx(ctx), canonical(canonical) {}

  void run(linalg::LinalgOp op, const LoweringConfig &config) {
    IRRewriter r(ctx);
    Location loc = op.getLoc();
    // The container: everything below happens inside its region.
    r.setInsertionPoint(op);
    auto container = scf::ExecuteRegionOp::create(r, loc, TypeRange{});
    Block *body = r.createBlock(&container.getRegion());
    auto yield = scf::YieldOp::create(r, loc);
    r.moveOpBefore(op, yield);
    region = &container.getRegion();

    size_t loops = op.getNumLoops();
    int64_t nv = config.vectorDim;
    FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
    if (failed(dims))
      return inlineContainer(r, container, body);
    // Cache loops: n, k, then the rest; register loops: batch and other
    // parallel dims, m, n, and the reductions innermost.
    SmallVector<int64_t> cacheFirst{nv};
    for (unsigned k : dims->k)
      cacheFirst.push_back(k);
    op = tile(r, op, config.cache, loopOrder(loops, cacheFirst));
    SmallVector<int64_t> registerOrder;
    for (int64_t d = 0; d < static_cast<int64_t>(loops); ++d)
      if (d != nv && !llvm::is_contained(dims->k, d) && !llvm::is_contained(dims->m, d))
        registerOrder.push_back(d);
    for (unsigned m : dims->m)
      registerOrder.push_back(m);
    registerOrder.push_back(nv);
    for (unsigned k : dims->k)
      registerOrder.push_back(k);
    tile(r, op, config.registers, registerOrder);
    peelAll(r);

    int64_t lanes = config.lanes;
    // Tiles still dynamic (a thread tile's last rows) become rows of one;
    // a vector dim that is not a multiple of the vector width is cut into
    // full vectors and one remainder.
    for (linalg::LinalgOp tileOp : ops()) {
      SmallVector<int64_t> ranges = tileOp.getStaticLoopRanges();
      SmallVector<int64_t> unit(loops, 0);
      bool dynamic = false;
      for (size_t i = 0; i < loops; ++i)
        if (ShapedType::isDynamic(ranges[i])) {
          unit[i] = 1;
          dynamic = true;
        }
      if (dynamic)
        tile(r, tileOp, unit);
    }
    for (linalg::LinalgOp tileOp : ops()) {
      int64_t n = tileOp.getStaticLoopRanges()[nv];
      if (!ShapedType::isDynamic(n) && n > lanes && n % lanes != 0) {
        SmallVector<int64_t> sizes(loops, 0);
        sizes[nv] = lanes;
        tile(r, tileOp, sizes);
      }
    }
    peelAll(r);

    for (linalg::LinalgOp tileOp : ops()) {
      if (!tileOp.hasPureBufferSemantics() ||
          llvm::any_of(tileOp.getStaticLoopRanges(), ShapedType::isDynamic))
        continue;
      r.setInsertionPoint(tileOp);
      FailureOr<linalg::VectorizationResult> v = linalg::vectorize(r, tileOp);
      if (succeeded(v))
        r.replaceOp(tileOp, v->replacements);
    }
    lowerVectors(r, container);
    inlineContainer(r, container, body);
  }

private:
  MLIRContext *ctx;
  const FrozenRewritePatternSet &canonical;
  Region *region = nullptr;

  SmallVector<linalg::LinalgOp> ops() {
    SmallVector<linalg::LinalgOp> found;
    region->walk([&](linalg::LinalgOp op) { found.push_back(op); });
    return found;
  }

  void applyTo(const FrozenRewritePatternSet &patterns) {
    GreedyRewriteConfig config;
    config.setMaxIterations(8);
    (void)applyPatternsGreedily(*region, patterns, config);
  }

  void applyTo(RewritePatternSet &&patterns) {
    applyTo(FrozenRewritePatternSet(std::move(patterns)));
  }

  void cleanUp(RewriterBase &r, Operation *container) {
    applyTo(canonical);
    DominanceInfo dom;
    eliminateCommonSubExpressions(r, dom, container);
  }

  /// Peels every loop whose step does not divide its range, outer loops
  /// first, until each loop divides (canonicalizing in between makes the
  /// bounds of the peeled iterations static).
  void peelAll(RewriterBase &r) {
    bool peeled = true;
    while (peeled) {
      peeled = false;
      SmallVector<scf::ForOp> loops;
      region->walk<WalkOrder::PreOrder>([&](scf::ForOp f) {
        if (!f->hasAttr(kPeeled))
          loops.push_back(f);
      });
      for (scf::ForOp f : loops) {
        f->setAttr(kPeeled, r.getUnitAttr());
        scf::ForOp partial;
        r.setInsertionPoint(f);
        if (succeeded(scf::peelForLoopAndSimplifyBounds(r, f, partial)))
          peeled = true;
      }
      applyTo(canonical);
    }
  }

  /// Keeps each C tile in registers across its k loop: a transfer_read and
  /// transfer_write of the same memref at the same loop-invariant indices,
  /// with no other write in the loop, become an iter_arg of the loop (read
  /// before it, written after it). Upstream's hoisting refuses a buffer
  /// that is written through a view anywhere else in the function (the fill
  /// of the output tile), so the kernel does its own: it built these loops
  /// and knows the C tile is the only thing they write.
  void hoistAccumulators(RewriterBase &r) {
    bool changed = true;
    while (changed) {
      changed = false;
      region->walk([&](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
      region->walk([&](vector::TransferReadOp read) {
        auto loop = dyn_cast<scf::ForOp>(read->getParentOp());
        if (!loop || !llvm::all_of(read->getOperands(), [&](Value v) {
              return loop.isDefinedOutsideOfLoop(v);
            }))
          return WalkResult::advance();
        vector::TransferWriteOp write;
        bool otherWrites = false;
        loop.getBody()->walk([&](Operation *op) {
          auto w = dyn_cast<vector::TransferWriteOp>(op);
          if (w && w->getParentOp() == loop && w.getBase() == read.getBase() &&
              w.getIndices() == read.getIndices() && w.getVectorType() == read.getVectorType() &&
              w.getPermutationMap() == read.getPermutationMap() && !write) {
            write = w;
            return;
          }
          if (!isMemoryEffectFree(op) && !isa<vector::TransferReadOp, vector::LoadOp>(op) &&
              !isa<scf::ForOp, scf::YieldOp>(op))
            otherWrites = true;
        });
        if (!write || otherWrites)
          return WalkResult::advance();
        // No other access of the C tile's buffer in the loop.
        for (Operation *user : read.getBase().getUsers())
          if (user != read && user != write && loop->isAncestor(user))
            return WalkResult::advance();
        r.moveOpBefore(read, loop);
        r.moveOpAfter(write, loop);
        FailureOr<LoopLikeOpInterface> newLoop = loop.replaceWithAdditionalYields(
            r, read.getVector(), /*replaceInitOperandUsesInLoop=*/true,
            [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
              return SmallVector<Value>{write.getVector()};
            });
        if (failed(newLoop))
          return WalkResult::interrupt();
        write.getValueToStoreMutable().assign(newLoop->getOperation()->getResults().back());
        changed = true;
        return WalkResult::interrupt();
      });
    }
  }

  void lowerVectors(RewriterBase &r, Operation *container) {
    {
      RewritePatternSet p(ctx);
      vector::populateVectorReductionToContractPatterns(p);
      vector::populateVectorTransferPermutationMapLoweringPatterns(p);
      applyTo(std::move(p));
    }
    {
      RewritePatternSet p(ctx);
      memref::populateFoldMemRefAliasOpPatterns(p);
      applyTo(std::move(p));
    }
    cleanUp(r, container);
    hoistAccumulators(r);
    {
      RewritePatternSet p(ctx);
      vector::populateVectorContractLoweringPatterns(p, vector::VectorContractLowering::OuterProduct);
      vector::populateVectorTransferPermutationMapLoweringPatterns(p);
      vector::populateVectorOuterProductLoweringPatterns(p);
      applyTo(std::move(p));
    }
    {
      RewritePatternSet p(ctx);
      populateVectorToSCFConversionPatterns(
          p, VectorTransferToSCFOptions().setTargetRank(1).enableFullUnroll());
      applyTo(std::move(p));
    }
    {
      RewritePatternSet p(ctx);
      vector::populateVectorTransferLoweringPatterns(p, /*maxTransferRank=*/1);
      vector::populateVectorShapeCastLoweringPatterns(p);
      vector::populateVectorTransposeLoweringPatterns(p, vector::VectorTransposeLowering::Shuffle1D);
      vector::populateVectorBroadcastLoweringPatterns(p);
      applyTo(std::move(p));
    }
    cleanUp(r, container);
    // Unroll the k loops of the micro-kernels.
    SetVector<scf::ForOp> kLoops;
    region->walk([&](vector::FMAOp fma) {
      if (auto f = fma->getParentOfType<scf::ForOp>())
        kLoops.insert(f);
    });
    for (scf::ForOp f : kLoops) {
      std::optional<APInt> trips = f.getStaticTripCount();
      if (trips && trips->getZExtValue() >= kUnrollK)
        (void)loopUnrollByFactor(f, kUnrollK);
    }
    cleanUp(r, container);
  }

  void inlineContainer(RewriterBase &r, scf::ExecuteRegionOp container, Block *body) {
    region->walk([&](scf::ForOp f) { f->removeAttr(kPeeled); });
    Operation *yield = body->getTerminator();
    r.eraseOp(yield);
    r.inlineBlockBefore(body, container);
    r.eraseOp(container);
  }
};

struct LowerContractionsPass : impl::KilnLowerContractionsBase<LowerContractionsPass> {
  using KilnLowerContractionsBase::KilnLowerContractionsBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    RewritePatternSet p(ctx);
    for (Dialect *d : ctx->getLoadedDialects())
      d->getCanonicalizationPatterns(p);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      op.getCanonicalizationPatterns(p, ctx);
    canonical = FrozenRewritePatternSet(std::move(p));
    return success();
  }

  void runOnOperation() override {
    SmallVector<std::pair<linalg::LinalgOp, LoweringConfig>> todo;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> c = configOf(op))
        if (c->kind == "contraction" && op.hasPureBufferSemantics())
          todo.push_back({op, *c});
    });
    ContractionLowering lowering(&getContext(), canonical);
    for (auto &[op, config] : todo)
      lowering.run(op, config);
    getOperation().walk([](linalg::LinalgOp op) { op->removeAttr(kConfigAttrName); });
  }

  FrozenRewritePatternSet canonical;
};
} // namespace
} // namespace kiln
