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
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Threading.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/IR/IRMapping.h"
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
/// The k loop is unrolled only when its body is one register tile's FMAs
/// (an 8x32 AVX-512 tile is 16 vector FMAs), not after filter taps were
/// unrolled into it.
constexpr uint64_t kMaxTileFmas = 16;

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

/// The memref `v` is a view of.
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::ReinterpretCastOp, memref::CastOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Whether `v` (through shape casts) is only the initial value of loops'
/// iter_args.
bool onlyLoopInit(Value v) {
  return llvm::all_of(v.getUses(), [](OpOperand &use) {
    Operation *user = use.getOwner();
    if (isa<vector::ShapeCastOp, vector::BroadcastOp>(user))
      return onlyLoopInit(user->getResult(0));
    auto loop = dyn_cast<scf::ForOp>(user);
    return loop && use.getOperandNumber() >= loop.getNumControlOperands();
  });
}

/// The accumulators of a contraction whose C is uninitialized (see
/// kZeroInitAttrName) start at zero in registers: every read of C (views
/// of `root`) in `container` becomes a zero vector. Only when each is the
/// initial value of a reduction loop's accumulator (hoisted out of it,
/// before short loops are unrolled): then no element is read after a
/// partial sum was stored. Returns false, changing nothing, otherwise.
bool startFromZero(Operation *container, Value root) {
  SmallVector<Operation *> reads;
  bool ok = true;
  container->walk([&](Operation *op) {
    Value base;
    if (auto load = dyn_cast<vector::LoadOp>(op))
      base = load.getBase();
    else if (auto read = dyn_cast<vector::TransferReadOp>(op))
      base = read.getBase();
    else if (auto load = dyn_cast<memref::LoadOp>(op))
      base = load.getMemRef();
    else if (isa<linalg::LinalgOp, memref::CopyOp>(op))
      ok = false; // reads it may hide
    if (!base || rootOf(base) != root)
      return;
    if (!isa<vector::LoadOp, vector::TransferReadOp>(op) || !onlyLoopInit(op->getResult(0)))
      ok = false;
    reads.push_back(op);
  });
  if (!ok || reads.empty())
    return false;
  IRRewriter r(container->getContext());
  for (Operation *read : reads) {
    r.setInsertionPoint(read);
    auto type = cast<VectorType>(read->getResult(0).getType());
    r.replaceOp(read, arith::ConstantOp::create(r, read->getLoc(), type,
                                                DenseElementsAttr::get(type, 0.0f)));
  }
  return true;
}

class ContractionLowering {
public:
  ContractionLowering(MLIRContext *ctx, const FrozenRewritePatternSet &canonical)
      : ctx(ctx), canonical(canonical) {}

  /// Lowers `op` inside a new scf.execute_region put in its place, and
  /// returns it (null when `op` was left as it was); `finish` inlines it.
  scf::ExecuteRegionOp run(linalg::LinalgOp op, const LoweringConfig &config) {
    IRRewriter r(ctx);
    Location loc = op.getLoc();
    // The container: everything below happens inside its region.
    r.setInsertionPoint(op);
    auto container = scf::ExecuteRegionOp::create(r, loc, TypeRange{});
    Block *body = r.createBlock(&container.getRegion());
    auto yield = scf::YieldOp::create(r, loc);
    r.moveOpBefore(op, yield);
    region = &container.getRegion();
    // An uninitialized C: zero accumulators, else a zero fill first.
    Value c = op.getDpsInits()[0];
    zeroInitRoot = op->hasAttr(kZeroInitAttrName) ? rootOf(c) : Value();
    auto fillC = [&] {
      if (!zeroInitRoot)
        return;
      r.setInsertionPointToStart(body);
      linalg::FillOp::create(r, loc, ValueRange{arith::ConstantOp::create(
                                        r, loc, r.getZeroAttr(getElementTypeOrSelf(c.getType())))},
                             ValueRange{c});
    };

    size_t loops = op.getNumLoops();
    int64_t nv = config.vectorDim;
    SmallVector<int64_t> registerOrder;
    if (config.kind == "contraction") {
      FailureOr<linalg::ContractionDimensions> dims = contractionDims(op, nv);
      if (failed(dims)) {
        fillC();
        finish(container);
        return {};
      }
      // Cache loops: columns, then reductions, then the rest.
      SmallVector<int64_t> cacheFirst(dims->n.begin(), dims->n.end());
      for (unsigned k : dims->k)
        cacheFirst.push_back(k);
      op = tile(r, op, config.cache, loopOrder(loops, cacheFirst));
      // Register loops: batch dims, the rows of A, other columns, the
      // vector dim, reductions innermost (so a row block of A stays in L1
      // while the columns of B's cache panel pass by).
      for (unsigned b : dims->batch)
        registerOrder.push_back(b);
      for (unsigned m : dims->m)
        registerOrder.push_back(m);
      for (int64_t d = 0; d < static_cast<int64_t>(loops); ++d)
        if (!llvm::is_contained(registerOrder, d) && d != nv && !llvm::is_contained(dims->k, d))
          registerOrder.push_back(d);
      registerOrder.push_back(nv);
      for (unsigned k : dims->k)
        registerOrder.push_back(k);
    } else {
      // Convolutions: (n, f, [oh,] ow) then the reductions (c, [kh,] kw),
      // which is their loop order; cache tiles in the same order.
      registerOrder = loopOrder(loops, {});
      if (llvm::any_of(config.cache, [](int64_t t) { return t != 0; }))
        op = tile(r, op, config.cache, registerOrder);
    }
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

    if (config.kind == "conv")
      for (linalg::LinalgOp tileOp : ops()) {
        if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(tileOp))
          unitWindowToContraction(r, tileOp);
        else if (isDirectConv(tileOp))
          unitWindowToOuterProduct(r, tileOp);
      }

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
    // Some element may be read after a partial sum: C is filled.
    fillC();
    return container;
  }

  /// Dissolves a container into the code around it.
  void finish(scf::ExecuteRegionOp container) {
    IRRewriter r(ctx);
    container->walk([&](scf::ForOp f) { f->removeAttr(kPeeled); });
    Block *body = &container.getRegion().front();
    r.eraseOp(body->getTerminator());
    r.inlineBlockBefore(body, container);
    r.eraseOp(container);
  }

private:
  MLIRContext *ctx;
  const FrozenRewritePatternSet &canonical;
  Region *region = nullptr;
  /// The buffer of C while its accumulators are still to be started at
  /// zero (kZeroInitAttrName).
  Value zeroInitRoot;

  SmallVector<linalg::LinalgOp> ops() {
    SmallVector<linalg::LinalgOp> found;
    region->walk([&](linalg::LinalgOp op) { found.push_back(op); });
    return found;
  }

  void applyTo(const FrozenRewritePatternSet &patterns) {
    GreedyRewriteConfig config;
    config.setMaxIterations(8);
    config.setMaxNumRewrites(100000);
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

  /// The view of `v` from its origin with `sizes` (the innermost dim every
  /// `innerStride`-th element), its unit dims dropped down to `shape`.
  static Value rankReducedView(RewriterBase &r, Location loc, Value v, ArrayRef<int64_t> sizes,
                               int64_t innerStride, ArrayRef<int64_t> shape) {
    auto t = llvm::cast<MemRefType>(v.getType());
    SmallVector<int64_t> offsets(t.getRank(), 0), steps(t.getRank(), 1);
    steps.back() = innerStride;
    MemRefType rt = memref::SubViewOp::inferRankReducedResultType(shape, t, offsets, sizes, steps);
    return memref::SubViewOp::create(r, loc, rt, v, offsets, sizes, steps);
  }

  /// A convolution tile of one image, one output row, one input channel
  /// and one filter tap is a GEMM of MR output channels by NR output
  /// columns over that channel: rewritten as a linalg.generic contraction
  /// on rank-reduced views (the input row read with the convolution's
  /// stride), so it vectorizes like any other register tile.
  void unitWindowToContraction(RewriterBase &r, linalg::LinalgOp conv) {
    SmallVector<int64_t> ranges = conv.getStaticLoopRanges();
    int64_t owDim = isa<linalg::Conv2DNchwFchwOp>(conv) ? 3 : 2;
    for (size_t i = 0; i < ranges.size(); ++i)
      if (i != 1 && static_cast<int64_t>(i) != owDim && ranges[i] != 1)
        return;
    int64_t f = ranges[1], ow = ranges[owDim];
    auto strides = llvm::cast<DenseIntElementsAttr>(conv->getAttr("strides"));
    int64_t stride = *std::prev(strides.value_end<int64_t>());
    Location loc = conv.getLoc();
    r.setInsertionPoint(conv);
    auto view = [&](Value v, ArrayRef<int64_t> sizes, int64_t innerStride,
                    ArrayRef<int64_t> shape) {
      return rankReducedView(r, loc, v, sizes, innerStride, shape);
    };
    int64_t rank = llvm::cast<MemRefType>(conv.getDpsInits()[0].getType()).getRank();
    SmallVector<int64_t> xSizes(rank, 1), wSizes(rank, 1), oSizes(rank, 1);
    xSizes.back() = ow;
    wSizes[0] = f;
    oSizes[1] = f;
    oSizes.back() = ow;
    Value x = view(conv.getDpsInputs()[0], xSizes, stride, {1, ow});
    Value w = view(conv.getDpsInputs()[1], wSizes, 1, {f, 1});
    Value o = view(conv.getDpsInits()[0], oSizes, 1, {f, ow});
    MLIRContext *ctx = r.getContext();
    AffineExpr df, dw, dc;
    bindDims(ctx, df, dw, dc);
    buildMulAdd(r, loc, w, x, o,
                {AffineMap::get(3, 0, {df, dc}, ctx), AffineMap::get(3, 0, {dc, dw}, ctx),
                 AffineMap::get(3, 0, {df, dw}, ctx)});
    r.eraseOp(conv);
  }

  /// A tile of the direct convolution with filters as vectors (see
  /// isDirectConv) of one image, output row, input channel and filter tap:
  /// MR output columns by NR filters, C[m, f] += X[m] * W'[f], the input
  /// row read with the convolution's stride (each value broadcast).
  void unitWindowToOuterProduct(RewriterBase &r, linalg::LinalgOp tileOp) {
    SmallVector<int64_t> ranges = tileOp.getStaticLoopRanges();
    for (size_t i = 0; i < ranges.size(); ++i)
      if (i != 3 && i != 7 && ranges[i] != 1)
        return;
    int64_t mr = ranges[3], nr = ranges[7];
    AffineMap xMap = tileOp.getMatchingIndexingMap(tileOp.getDpsInputOperand(0));
    int64_t stride = 1;
    AffineExpr last = xMap.getResult(3);
    MLIRContext *ctx = r.getContext();
    for (int64_t s = 1; s <= 8; ++s)
      if (!simplifyAffineExpr(last - getAffineDimExpr(3, ctx) * s, 8, 0).isFunctionOfDim(3)) {
        stride = s;
        break;
      }
    Location loc = tileOp.getLoc();
    r.setInsertionPoint(tileOp);
    auto view = [&](Value v, ArrayRef<int64_t> sizes, int64_t innerStride,
                    ArrayRef<int64_t> shape) {
      return rankReducedView(r, loc, v, sizes, innerStride, shape);
    };
    // The input [.., 1, MR] at the tile's origin (its map gives the window's
    // position; the tile's view starts there), the filters [1, NR], C [MR, NR].
    // As [MR, 1] (a transposed view): after the contraction is unrolled to
    // one row per accumulator, each input value is one scalar read,
    // broadcast from memory, not a lane taken out of a vector (a shuffle
    // per FMA pair, on the port the FMAs need).
    Value xRow = view(tileOp.getDpsInputs()[0], {1, 1, 1, mr}, stride, {1, mr});
    Value x = memref::TransposeOp::create(
        r, loc, xRow, AffineMapAttr::get(AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx)));
    Value w = view(tileOp.getDpsInputs()[1], {1, 1, 1, 1, nr}, 1, {1, nr});
    Value o = view(tileOp.getDpsInits()[0], {1, 1, 1, mr, nr}, 1, {mr, nr});
    AffineExpr dm, df, dk;
    bindDims(ctx, dm, df, dk);
    buildMulAdd(r, loc, x, w, o,
                {AffineMap::get(3, 0, {dm, dk}, ctx), AffineMap::get(3, 0, {dk, df}, ctx),
                 AffineMap::get(3, 0, {dm, df}, ctx)});
    r.eraseOp(tileOp);
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
      // Inner loops first; all the rows of one loop are hoisted together
      // (one rebuilt loop per level, not one per row).
      SmallVector<scf::ForOp> loops;
      region->walk([&](scf::ForOp loop) { loops.push_back(loop); });
      for (scf::ForOp loop : loops) {
        SmallVector<std::pair<vector::TransferReadOp, vector::TransferWriteOp>> rows;
        for (auto read : loop.getBody()->getOps<vector::TransferReadOp>())
          if (vector::TransferWriteOp write = accumulatorWrite(loop, read))
            rows.emplace_back(read, write);
        if (rows.empty())
          continue;
        SmallVector<Value> initial;
        for (auto [read, write] : rows) {
          r.moveOpBefore(read, loop);
          r.moveOpAfter(write, loop);
          initial.push_back(read.getVector());
        }
        FailureOr<LoopLikeOpInterface> newLoop = loop.replaceWithAdditionalYields(
            r, initial, /*replaceInitOperandUsesInLoop=*/true,
            [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
              return llvm::to_vector(llvm::map_range(
                  rows, [](auto row) { return row.second.getVector(); }));
            });
        if (failed(newLoop))
          return;
        ValueRange results = newLoop->getOperation()->getResults().take_back(rows.size());
        for (auto [row, result] : llvm::zip_equal(rows, results))
          row.second.getValueToStoreMutable().assign(result);
        changed = true;
      }
    }
  }

  /// Whether two transfers of one buffer touch disjoint elements, where
  /// their indices decide it: each index pair is the same value or a
  /// constant apart. Upstream's test asks a constraint solver about every
  /// dim, equal ones included; the rows of a register tile differ in one
  /// index, and asking it about all pairs of rows cost a quarter of the
  /// lowering's time. Nothing when some pair is neither (the solver decides).
  static std::optional<bool> disjointByIndices(VectorTransferOpInterface a,
                                               VectorTransferOpInterface b) {
    if (a.getBase() != b.getBase() || a.getVectorType() != b.getVectorType() ||
        !a.getPermutationMap().isMinorIdentity() || !b.getPermutationMap().isMinorIdentity())
      return std::nullopt;
    unsigned leading = a.getLeadingShapedRank();
    bool decided = true;
    for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(a.getIndices(), b.getIndices()))) {
      auto [x, y] = pair;
      if (x == y)
        continue;
      FailureOr<int64_t> delta = affine::fullyComposeAndComputeConstantDelta(x, y);
      if (failed(delta)) {
        decided = false;
        continue;
      }
      int64_t extent = i < leading ? 1 : a.getVectorType().getDimSize(i - leading);
      if (std::abs(*delta) >= extent)
        return true;
    }
    return decided ? std::optional<bool>(false) : std::nullopt;
  }

  /// The write that stores back what `read` loads, when the pair is an
  /// accumulator row of `loop`: same place, read before the loop could
  /// start, and nothing else in the loop touching that row.
  vector::TransferWriteOp accumulatorWrite(scf::ForOp loop, vector::TransferReadOp read) {
    if (!llvm::all_of(read->getOperands(), [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
      return {};
    vector::TransferWriteOp write;
    for (auto w : loop.getBody()->getOps<vector::TransferWriteOp>())
      if (w.getBase() == read.getBase() && w.getIndices() == read.getIndices() &&
          w.getVectorType() == read.getVectorType() &&
          w.getPermutationMap() == read.getPermutationMap()) {
        write = w;
        break;
      }
    if (!write)
      return {};
    // Other accesses of its buffer must be provably disjoint (other rows of
    // the tile), and the only other writes are to such rows.
    auto disjoint = [&](Operation *op) {
      auto t = dyn_cast<VectorTransferOpInterface>(op);
      if (!t)
        return false;
      auto w = cast<VectorTransferOpInterface>(write.getOperation());
      if (std::optional<bool> known = disjointByIndices(w, t))
        return *known;
      return vector::isDisjointTransferSet(w, t, /*testDynamicValueUsingBounds=*/true);
    };
    WalkResult walk = loop.getBody()->walk([&](Operation *op) {
      if (op == read || op == write || isMemoryEffectFree(op) || isa<scf::ForOp, scf::YieldOp>(op))
        return WalkResult::advance();
      bool touchesBase = llvm::is_contained(op->getOperands(), read.getBase());
      if (isa<vector::TransferReadOp, vector::LoadOp, memref::LoadOp>(op) && !touchesBase)
        return WalkResult::advance();
      return disjoint(op) ? WalkResult::advance() : WalkResult::interrupt();
    });
    return walk.wasInterrupted() ? vector::TransferWriteOp() : write;
  }

  void lowerVectors(RewriterBase &r, Operation *container) {
    {
      RewritePatternSet p(ctx);
      vector::populateVectorReductionToContractPatterns(p);
      vector::populateVectorTransferPermutationMapLoweringPatterns(p);
      applyTo(std::move(p));
    }
    {
      // One row of the register tile per contraction and transfer: each
      // accumulator row is its own vector from here on (one iter_arg each
      // once hoisted), instead of a 2-D vector that later lowering takes
      // apart into scalars and rebuilds.
      RewritePatternSet p(ctx);
      vector::populateVectorUnrollPatterns(
          p, vector::UnrollVectorOptions().setNativeShapeFn(
                 [](Operation *op) -> std::optional<SmallVector<int64_t>> {
                   if (auto contract = dyn_cast<vector::ContractionOp>(op)) {
                     SmallVector<int64_t> shape;
                     contract.getIterationBounds(shape);
                     AffineMap acc = contract.getIndexingMapsArray().back();
                     int64_t inner = acc.getNumResults()
                                         ? acc.getDimPosition(acc.getNumResults() - 1)
                                         : -1;
                     for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
                       if (i != inner && contract.getIteratorTypesArray()[i] ==
                                             vector::IteratorType::parallel)
                         shape[i] = 1;
                     return shape;
                   }
                   if (isa<vector::TransferReadOp, vector::TransferWriteOp>(op)) {
                     auto t = cast<VectorTransferOpInterface>(op).getVectorType();
                     SmallVector<int64_t> shape(t.getRank(), 1);
                     if (!shape.empty())
                       shape.back() = t.getShape().back();
                     return shape;
                   }
                   return std::nullopt;
                 }));
      applyTo(std::move(p));
    }
    {
      RewritePatternSet p(ctx);
      memref::populateFoldMemRefAliasOpPatterns(p);
      applyTo(std::move(p));
    }
    cleanUp(r, container);
    hoistAccumulators(r);
    if (zeroInitRoot && startFromZero(container, zeroInitRoot))
      zeroInitRoot = {};
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
    // Reduction loops of the micro-kernels: short ones (filter taps) are
    // unrolled fully, innermost first, the k loop by kUnrollK.
    auto fmaCount = [](scf::ForOp f) {
      return static_cast<uint64_t>(llvm::range_size(f.getBody()->getOps<vector::FMAOp>()));
    };
    auto trips = [](scf::ForOp f) -> uint64_t {
      std::optional<APInt> t = f.getStaticTripCount();
      return t ? t->getZExtValue() : 0;
    };
    for (bool unrolled = true; unrolled;) {
      unrolled = false;
      SmallVector<scf::ForOp> taps;
      region->walk([&](scf::ForOp f) {
        if (fmaCount(f) > 0 && trips(f) > 1 && trips(f) <= kUnrollK)
          taps.push_back(f);
      });
      for (scf::ForOp f : taps)
        unrolled |= succeeded(loopUnrollFull(f));
    }
    SmallVector<scf::ForOp> kLoops;
    region->walk([&](scf::ForOp f) {
      if (fmaCount(f) > 0 && fmaCount(f) <= kMaxTileFmas && trips(f) >= kUnrollK)
        kLoops.push_back(f);
    });
    for (scf::ForOp f : kLoops)
      (void)loopUnrollByFactor(f, kUnrollK);
    cleanUp(r, container);
  }
};

/// Lowers an 8-bit dot-product contraction on buffers (kiln-configure's
/// "dot-i8": C[m][b][j] = sum over (k, q) of A[m][4k + q] * Bp[b][k][j][q],
/// A's bytes unsigned, Bp's signed, C in i32, its destination not read) to
/// register tiles of kDotI8Rows rows by kDotI8Columns columns: per step of
/// k, one 64-byte load of Bp per 16 columns, one broadcast of 4 bytes of A
/// per row, and a vpdpbusd per accumulator (4 products summed into each
/// 32-bit lane). The sliver loop is outermost: a sliver of Bp (K/4 x 256
/// bytes) is read from memory once and from L2 for each further row tile.
void lowerInt8DotProduct(linalg::LinalgOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value a = op.getDpsInputs()[0], packed = op.getDpsInputs()[1], c = op.getDpsInits()[0];
  auto packedType = llvm::cast<MemRefType>(packed.getType());
  int64_t rows = llvm::cast<MemRefType>(a.getType()).getDimSize(0);
  int64_t steps = packedType.getDimSize(1);
  constexpr int64_t nr = kDotI8Columns, lanes = 16, vectors = nr / lanes;
  Type i8 = b.getIntegerType(8), i32 = b.getI32Type();
  auto bytes = VectorType::get({4 * lanes}, i8), sums = VectorType::get({lanes}, i32);
  // Bp's slivers as rows of 256 bytes (each k step's 64 columns x 4).
  Value flat = memref::CollapseShapeOp::create(b, loc, packed, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  Value zero = index(0), one = index(1);
  Value slivers = memref::DimOp::create(b, loc, packed, 0);
  StringAttr intrinsic = b.getStringAttr("llvm.x86.avx512.vpdpbusd.512");
  Value zeros = arith::ConstantOp::create(b, loc, sums, b.getZeroAttr(sums));
  int64_t full = rows / kDotI8Rows * kDotI8Rows;
  Value stepCount = index(steps), fullRows = index(full), rowStep = index(kDotI8Rows);
  auto sliverLoop = scf::ForOp::create(b, loc, zero, slivers, one);
  b.setInsertionPointToStart(sliverLoop.getBody());
  Value sliver = sliverLoop.getInductionVar();
  // One register tile of `tileRows` rows from row `first`.
  auto tile = [&](OpBuilder &tb, Value first, int64_t tileRows) {
    SmallVector<Value> init(tileRows * vectors, zeros);
    auto kLoop = scf::ForOp::create(
        tb, loc, zero, stepCount, one, init,
        [&](OpBuilder &kb, Location l, Value k, ValueRange acc) {
          SmallVector<Value> bv;
          for (int64_t v = 0; v < vectors; ++v)
            bv.push_back(vector::LoadOp::create(
                kb, l, bytes, flat,
                ValueRange{sliver, k, arith::ConstantIndexOp::create(kb, l, v * 4 * lanes)}));
          Value col = arith::MulIOp::create(kb, l, k, arith::ConstantIndexOp::create(kb, l, 4));
          SmallVector<Value> next;
          for (int64_t r = 0; r < tileRows; ++r) {
            Value row = arith::AddIOp::create(kb, l, first, arith::ConstantIndexOp::create(kb, l, r));
            Value four = vector::LoadOp::create(kb, l, VectorType::get({4}, i8), a, ValueRange{row, col});
            Value word = vector::ExtractOp::create(
                kb, l, vector::BitCastOp::create(kb, l, VectorType::get({1}, i32), four), ArrayRef<int64_t>{0});
            Value broadcast = vector::BitCastOp::create(kb, l, bytes, vector::BroadcastOp::create(kb, l, sums, word));
            for (int64_t v = 0; v < vectors; ++v)
              next.push_back(LLVM::CallIntrinsicOp::create(kb, l, sums, intrinsic,
                                                           ValueRange{acc[r * vectors + v], broadcast, bv[v]})
                                 .getResult(0));
          }
          scf::YieldOp::create(kb, l, next);
        });
    for (int64_t r = 0; r < tileRows; ++r) {
      Value row = arith::AddIOp::create(tb, loc, first, arith::ConstantIndexOp::create(tb, loc, r));
      for (int64_t v = 0; v < vectors; ++v)
        vector::StoreOp::create(tb, loc, kLoop.getResult(r * vectors + v), c,
                                ValueRange{row, sliver, arith::ConstantIndexOp::create(tb, loc, v * lanes)});
    }
  };
  if (full > 0) {
    auto rowLoop = scf::ForOp::create(b, loc, zero, fullRows, rowStep);
    OpBuilder rb = OpBuilder::atBlockBegin(rowLoop.getBody());
    tile(rb, rowLoop.getInductionVar(), kDotI8Rows);
  }
  if (rows > full)
    tile(b, fullRows, rows - full);
  op->erase();
}

struct LowerContractionsPass : impl::KilnLowerContractionsBase<LowerContractionsPass> {
  using KilnLowerContractionsBase::KilnLowerContractionsBase;

  /// Canonicalization patterns of every registered op, collected once per
  /// pipeline (shared by the copies of the pass that run on other threads):
  /// collecting them costs milliseconds, and the pass runs on every kernel.
  LogicalResult initialize(MLIRContext *ctx) override {
    RewritePatternSet p(ctx);
    for (Dialect *d : ctx->getLoadedDialects())
      d->getCanonicalizationPatterns(p);
    for (RegisteredOperationName op : ctx->getRegisteredOperations())
      op.getCanonicalizationPatterns(p, ctx);
    // Tile sizes min(step, ub - iv) of loops whose step divides their range
    // are the step: simplified from the loop's bounds.
    scf::populateSCFForLoopCanonicalizationPatterns(p);
    canonicalPatterns = std::make_shared<FrozenRewritePatternSet>(std::move(p));
    return success();
  }

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> dotProducts;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> c = configOf(op))
        if (c->kind == "dot-i8" && op.hasPureBufferSemantics())
          dotProducts.push_back(op);
    });
    for (linalg::LinalgOp op : dotProducts)
      lowerInt8DotProduct(op);
    SmallVector<std::pair<linalg::LinalgOp, LoweringConfig>> todo;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> c = configOf(op))
        if ((c->kind == "contraction" || c->kind == "conv") && op.hasPureBufferSemantics())
          todo.push_back({op, *c});
    });
    if (todo.empty())
      return;
    MLIRContext *ctx = &getContext();
    const FrozenRewritePatternSet &canonical = *canonicalPatterns;
    // Ops lowered on their own (static shapes), one of each kind, first:
    // each in a detached function, so they are lowered in parallel where
    // the context has threads (a model's kernels are most of this pass).
    SmallVector<std::pair<linalg::LinalgOp, LoweringConfig>> distinct;
    for (auto &[op, config] : todo)
      if (isolatable(op) && llvm::none_of(distinct, [&](const auto &d) {
            return sameOp(d.first, op);
          }))
        distinct.push_back({op, config});
    SmallVector<std::optional<Lowered>> isolated(distinct.size());
    parallelFor(ctx, 0, distinct.size(), [&](size_t i) {
      ContractionLowering own(ctx, canonical);
      isolated[i] = lowerIsolated(own, distinct[i].first, distinct[i].second);
    });
    for (auto [l, d] : llvm::zip(isolated, distinct))
      if (l) {
        // (The copy of the op as it was adds uses to its operands: made
        // here, on one thread.)
        l->original = d.first->clone();
        lowered.push_back(*l);
      }
    ContractionLowering lowering(ctx, canonical);
    SmallVector<scf::ExecuteRegionOp> containers;
    for (auto &[op, config] : todo) {
      scf::ExecuteRegionOp container = reuse(op);
      if (!container)
        container = lowering.run(op, config);
      if (container)
        containers.push_back(container);
    }
    for (scf::ExecuteRegionOp c : containers)
      lowering.finish(c);
    for (Lowered &l : lowered) {
      l.original->erase();
      l.kernel.erase();
    }
    lowered.clear();
    getOperation().walk([](linalg::LinalgOp op) {
      op->removeAttr(kConfigAttrName);
      op->removeAttr(kZeroInitAttrName);
    });
  }

private:
  std::shared_ptr<FrozenRewritePatternSet> canonicalPatterns;


  /// An op lowered on its own: a detached copy of it as it was, a
  /// detached function of its operands whose body holds its lowering, and
  /// the constants of that function the lowering reads.
  /// Repeated layers (the same op on other buffers of the same types)
  /// copy the lowering instead of redoing it.
  struct Lowered {
    Operation *original;
    func::FuncOp kernel;
    scf::ExecuteRegionOp container;
    SmallVector<Value> constants;
  };
  SmallVector<Lowered> lowered;

  /// Lowered on its own, the op sees nothing of its surroundings, which
  /// with static shapes it does not need.
  /// (Nor does its payload read values from around it: copying the op
  /// adds uses to no value outside it, so copies are made in parallel.)
  static bool isolatable(linalg::LinalgOp op) {
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(op->getRegions(), above);
    return above.empty() && llvm::all_of(op->getOperandTypes(), [](Type t) {
             auto m = llvm::dyn_cast<MemRefType>(t);
             return m && m.hasStaticShape();
           });
  }

  /// Lowers a copy of `op` in a detached function; touches nothing
  /// outside it but `op`, which it clones (called in parallel).
  static std::optional<Lowered> lowerIsolated(ContractionLowering &lowering, linalg::LinalgOp op,
                                              const LoweringConfig &config) {
    Location loc = op.getLoc();
    auto kernel = func::FuncOp::create(
        loc, "kiln_kernel", FunctionType::get(op->getContext(), op->getOperandTypes(), {}));
    Block *entry = kernel.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    map.map(op->getOperands(), entry->getArguments());
    auto copy = cast<linalg::LinalgOp>(b.clone(*op, map));
    func::ReturnOp::create(b, loc);
    scf::ExecuteRegionOp container = lowering.run(copy, config);
    // The lowering must read only the kernel's arguments and constants
    // (which folding puts at the top of the function).
    llvm::SetVector<Value> above;
    if (container)
      getUsedValuesDefinedAbove(container.getRegion(), above);
    if (!container || llvm::any_of(above, [&](Value v) {
          if (auto arg = llvm::dyn_cast<BlockArgument>(v))
            return arg.getOwner() != entry;
          Operation *def = v.getDefiningOp();
          return !def->hasTrait<OpTrait::ConstantLike>() || def->getNumResults() != 1;
        })) {
      kernel.erase();
      return std::nullopt;
    }
    SmallVector<Value> constants;
    for (Value v : above)
      if (!llvm::isa<BlockArgument>(v))
        constants.push_back(v);
    return Lowered{nullptr, kernel, container, constants};
  }

  /// `op` is `original` on other buffers of the same types: the same
  /// attributes and payload, its operands in the same places (and equal
  /// where the original's are), constants it reads equal.
  static bool sameOp(Operation *original, Operation *op) {
    if (original->getName() != op->getName() ||
        original->getNumOperands() != op->getNumOperands())
      return false;
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      if (original->getOperand(i).getType() != op->getOperand(i).getType())
        return false;
      for (unsigned j = 0; j < i; ++j)
        if ((original->getOperand(i) == original->getOperand(j)) !=
            (op->getOperand(i) == op->getOperand(j)))
          return false;
    }
    // Values of the payloads found to correspond so far.
    llvm::DenseMap<Value, Value> same;
    auto equivalent = [&](Value a, Value b) -> LogicalResult {
      if (a == b || same.lookup(a) == b)
        return success();
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        if (a == original->getOperand(i) && b == op->getOperand(i))
          return success();
      Operation *da = a.getDefiningOp(), *db = b.getDefiningOp();
      return success(da && db && da->hasTrait<OpTrait::ConstantLike>() &&
                     OperationEquivalence::isEquivalentTo(da, db,
                                                          OperationEquivalence::IgnoreLocations));
    };
    return OperationEquivalence::isEquivalentTo(
        original, op, equivalent, [&](Value a, Value b) { same[a] = b; },
        OperationEquivalence::IgnoreLocations);
  }

  /// A copy of the lowering of an op like `op`, put in its place.
  scf::ExecuteRegionOp reuse(linalg::LinalgOp op) {
    for (Lowered &l : lowered) {
      if (!sameOp(l.original, op))
        continue;
      IRRewriter r(&getContext());
      r.setInsertionPoint(op);
      IRMapping map;
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        map.map(l.kernel.getArgument(i), op->getOperand(i));
      for (Value c : l.constants)
        map.map(c, r.clone(*c.getDefiningOp())->getResult(0));
      auto copy = scf::ExecuteRegionOp::create(r, op.getLoc(), TypeRange{});
      l.container.getRegion().cloneInto(&copy.getRegion(), map);
      // The kernel computes `op`'s node, not the one first lowered (the
      // profiler names kernels by their ops' locations).
      copy.getRegion().walk([&](Operation *inner) { inner->setLoc(op.getLoc()); });
      r.eraseOp(op);
      return copy;
    }
    return {};
  }
};
} // namespace
} // namespace kiln
