//===- ConfigurePass.cpp - kiln-configure ---------------------------------===//
//
// Attaches a lowering configuration (lowering/Strategy.h) to each linalg op
// a strategy applies to. Runs on linalg on tensors, before tiling.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include <functional>
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNCONFIGURE
#include "lowering/Passes.h.inc"

namespace {
/// A convolution over a batch known only at run time (the usual export),
/// whose other dims are static, becomes a parallel loop over its images:
/// each image is a convolution of static shape, which the strategies
/// handle. (A sequential loop would let each image's convolution be split
/// across threads, which one image needs, but one-shot bufferization takes
/// seconds over fifty such loops: measured 10.9 s on ResNet-50.)
void tileDynamicBatch(RewriterBase &r, linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || !ShapedType::isDynamic(ranges[0]) ||
      llvm::any_of(ArrayRef<int64_t>(ranges).drop_front(), ShapedType::isDynamic))
    return;
  SmallVector<int64_t> sizes(ranges.size(), 0);
  sizes[0] = 1;
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(getAsIndexOpFoldResult(r.getContext(), sizes));
  r.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(r, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return;
  r.replaceOp(op, tiled->replacements);
}

/// Channels per group from which a grouped convolution is split into one
/// convolution per group (depthwise ones, a channel per group, are not:
/// thousands of tiny GEMMs).
constexpr int64_t kMinGroupChannels = 4;

/// A grouped convolution (static shapes, a few channels or more per
/// group) becomes one ordinary convolution per group, each on its slice of
/// the input channels, filters and output: no strategy handles the grouped
/// op, whose loops would stay scalar (AlexNet, ShuffleNet), while each
/// group's convolution gets the GEMM or direct kernel. A 1x1 one becomes
/// one contraction over all groups instead.
void splitGroups(RewriterBase &r, linalg::Conv2DNgchwGfchwOp op) {
  Value x = op.getInputs()[0], w = op.getInputs()[1], init = op.getOutputs()[0];
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  auto wt = llvm::cast<RankedTensorType>(w.getType());
  auto ot = llvm::cast<RankedTensorType>(init.getType());
  if (!xt.hasStaticShape() || !wt.hasStaticShape() || !ot.hasStaticShape() ||
      !op.hasPureTensorSemantics())
    return;
  int64_t g = xt.getDimSize(1), c = xt.getDimSize(2), f = wt.getDimSize(1);
  if (g < 2 || c < kMinGroupChannels || f < kMinGroupChannels)
    return;
  Location loc = op.getLoc();
  r.setInsertionPoint(op);
  if (wt.getDimSize(3) == 1 && wt.getDimSize(4) == 1 &&
      llvm::all_of(op.getStrides().getValues<int64_t>(), [](int64_t s) { return s == 1; })) {
    // 1x1: Y[n, g, f, p] += W[g, f, c] * X[n, g, c, p], one contraction
    // whose groups are a batch dim. Its thread tiles split the groups,
    // where one contraction per group was too small to be split at all
    // (ShuffleNet: four 1.8 MFLOP GEMMs in a row on one core).
    int64_t n = xt.getDimSize(0), p = xt.getDimSize(3) * xt.getDimSize(4);
    SmallVector<ReassociationIndices> positions{{0}, {1}, {2}, {3, 4}};
    Type f32 = xt.getElementType();
    Value x4 = tensor::CollapseShapeOp::create(r, loc, RankedTensorType::get({n, g, c, p}, f32),
                                               x, positions);
    Value w3 = tensor::CollapseShapeOp::create(r, loc, RankedTensorType::get({g, f, c}, f32), w,
                                               SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}});
    Value y4 = tensor::CollapseShapeOp::create(
        r, loc, RankedTensorType::get({n, g, f, p}, f32), init, positions);
    MLIRContext *ctx = r.getContext();
    AffineExpr dn, dg, df, dp, dc;
    bindDims(ctx, dn, dg, df, dp, dc);
    linalg::GenericOp mm = buildMulAdd(r, loc, w3, x4, y4,
                                       {AffineMap::get(5, 0, {dg, df, dc}, ctx),
                                        AffineMap::get(5, 0, {dn, dg, dc, dp}, ctx),
                                        AffineMap::get(5, 0, {dn, dg, df, dp}, ctx)});
    r.replaceOp(op, tensor::ExpandShapeOp::create(r, loc, ot, mm.getResult(0), positions));
    return;
  }
  // A slice of group `i` along dim `dim` of `v`, with that dim dropped.
  auto group = [&](Value v, int64_t dim, int64_t i) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(t.getRank(), r.getIndexAttr(0)), sizes,
        strides(t.getRank(), r.getIndexAttr(1));
    SmallVector<int64_t> shape;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      sizes.push_back(r.getIndexAttr(d == dim ? 1 : t.getDimSize(d)));
      if (d != dim)
        shape.push_back(t.getDimSize(d));
    }
    offsets[dim] = r.getIndexAttr(i);
    return std::make_tuple(RankedTensorType::get(shape, t.getElementType()), offsets, sizes,
                           strides);
  };
  Value y = init;
  for (int64_t i = 0; i < g; ++i) {
    auto [xType, xo, xs, xst] = group(x, 1, i);
    Value xi = tensor::ExtractSliceOp::create(r, loc, xType, x, xo, xs, xst);
    auto [wType, wo, ws, wst] = group(w, 0, i);
    Value wi = tensor::ExtractSliceOp::create(r, loc, wType, w, wo, ws, wst);
    auto [yType, yo, ys, yst] = group(y, 1, i);
    // Each group's output is a slice of the result so far, so that one-shot
    // bufferization writes every group in place (a slice of `init` would be
    // read after `y` overwrote it: a copy in and out per group).
    Value yi = tensor::ExtractSliceOp::create(r, loc, yType, y, yo, ys, yst);
    Value part = linalg::Conv2DNchwFchwOp::create(r, loc, TypeRange{yType}, ValueRange{xi, wi},
                                                  ValueRange{yi}, op.getStrides(),
                                                  op.getDilations())
                     .getResult(0);
    y = tensor::InsertSliceOp::create(r, loc, part, y, yo, ys, yst);
  }
  r.replaceOp(op, y);
}

/// A contraction over one reduction loop that is not cache-tiled reads
/// each element of its accumulator once, before its sum starts; so does a
/// convolution over NCHW, whose reductions (channels, taps) are its
/// innermost loops. When that accumulator is a zero fill (through
/// reshapes), the fill is dropped: the destination becomes an empty tensor
/// and the kernel starts its accumulators at zero (kZeroInitAttrName). The
/// output is then written once, where it was filled, read back and
/// written again.
void startAtZero(RewriterBase &r, linalg::LinalgOp op, const LoweringConfig &config) {
  bool nchwConv = config.kind == "conv" && isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op);
  if ((config.kind != "contraction" || op.getNumReductionLoops() != 1) && !nchwConv)
    return;
  if (op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return;
  for (auto [i, iter] : llvm::enumerate(op.getIteratorTypesArray()))
    if (iter == utils::IteratorType::reduction && config.cache[i] != 0)
      return;
  // (The fill may have other readers: a residual block's two 1x1
  // convolutions start from one zero tensor. They keep it.)
  OpOperand *init = op.getDpsInitOperand(0);
  SmallVector<Operation *> chain;
  Value v = init->get();
  while (Operation *def = v.getDefiningOp()) {
    chain.push_back(def);
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
      break;
    v = def->getOperand(0);
  }
  auto fill = chain.empty() ? linalg::FillOp() : dyn_cast<linalg::FillOp>(chain.back());
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return;
  auto type = llvm::cast<RankedTensorType>(init->get().getType());
  r.setInsertionPoint(op);
  init->set(tensor::EmptyOp::create(r, op.getLoc(), type.getShape(), type.getElementType()));
  for (Operation *dead : chain) {
    if (!dead->use_empty())
      break;
    r.eraseOp(dead);
  }
  op->setAttr(kZeroInitAttrName, r.getUnitAttr());
}

/// Rewrites `fusedOp`, an elementwise op reading the result of `contraction`
/// (its only use), to read it as its own output and write over it (when its
/// payload reads no other output): the product's only use is then the
/// destination of the epilogue, so the contraction's tile becomes the
/// epilogue's tile of the result, with no buffer of its own.
void writeInPlace(RewriterBase &r, linalg::LinalgOp contraction, linalg::GenericOp fusedOp) {
  Value product = contraction->getResult(0);
  OpOperand &oldInit = fusedOp.getDpsInitsMutable()[0];
  if (!fusedOp.getMatchingBlockArgument(&oldInit).use_empty() ||
      oldInit.get().getType() != product.getType())
    return;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> newMaps;
  for (OpOperand *in : fusedOp.getDpsInputOperands())
    if (in->get() != product) {
      inputs.push_back(in->get());
      newMaps.push_back(fusedOp.getMatchingIndexingMap(in));
    }
  newMaps.push_back(fusedOp.getMatchingIndexingMap(&oldInit));
  r.setInsertionPoint(fusedOp);
  auto inPlace = linalg::GenericOp::create(r, fusedOp.getLoc(), TypeRange{product.getType()},
                                           inputs, ValueRange{product}, newMaps,
                                           fusedOp.getIteratorTypesArray());
  Block &oldBody = fusedOp.getRegion().front();
  Block *body = r.createBlock(&inPlace.getRegion());
  IRMapping map;
  for (Value v : inputs)
    body->addArgument(getElementTypeOrSelf(v.getType()), fusedOp.getLoc());
  BlockArgument out = body->addArgument(getElementTypeOrSelf(product.getType()), fusedOp.getLoc());
  unsigned next = 0;
  for (OpOperand *in : fusedOp.getDpsInputOperands())
    map.map(oldBody.getArgument(in->getOperandNumber()),
            in->get() == product ? Value(out) : Value(body->getArgument(next++)));
  map.map(fusedOp.getMatchingBlockArgument(&oldInit), out);
  for (Operation &o : oldBody)
    r.clone(o, map);
  // The contraction's empty destination becomes the epilogue's (its
  // positions collapsed), so the result is still the buffer the epilogue
  // wrote, which may be the caller's output, not a copy of it.
  Value destination = oldInit.get();
  OpOperand &accumulator = contraction.getDpsInitsMutable()[0];
  Operation *start = accumulator.get().getDefiningOp();
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(start))
    start = fill.getOutputs()[0].getDefiningOp();
  r.replaceOp(fusedOp, inPlace.getResults());
  if (auto empty = dyn_cast_or_null<tensor::EmptyOp>(start);
      empty && empty.getType() == destination.getType() && empty->hasOneUse()) {
    if (Operation *d = destination.getDefiningOp())
      r.moveOpBefore(d, start);
    r.replaceOp(empty, destination);
  }
}

/// The elementwise op that is the only reader of a configured
/// contraction's result, through the expansion of its flattened positions
/// ([n, f, p] -> [n, f, h, w]), is rewritten over the contraction's own
/// dims: its loops are collapsed as the expansion expanded them, and it
/// reads the contraction's result directly. kiln-tile-parallel then gives
/// it the contraction's thread tiles and computes the contraction inside
/// each of its tiles, so a thread's tile of the product is still in its
/// cache when the epilogue (bias, activation, residual add) reads it,
/// where it was a second pass over the whole output from memory.
void collapseEpilogue(RewriterBase &r, linalg::LinalgOp contraction) {
  if (contraction->getNumResults() != 1 || !contraction->getResult(0).hasOneUse())
    return;
  Value product = contraction->getResult(0);
  auto expand = dyn_cast<tensor::ExpandShapeOp>(*product.getUsers().begin());
  if (!expand || !expand.getResult().hasOneUse())
    return;
  auto epilogue = dyn_cast<linalg::GenericOp>(*expand.getResult().getUsers().begin());
  // An output padded for the next convolution stays as it is: its producer
  // writes into the padded buffer (kiln-pad-in-place), which the
  // collapsed positions cannot.
  std::function<bool(Value)> padded = [&](Value v) {
    return llvm::any_of(v.getUsers(), [&](Operation *user) {
      return isa<tensor::PadOp>(user) ||
             (isa<tensor::ExpandShapeOp>(user) && padded(user->getResult(0)));
    });
  };
  if (epilogue && epilogue->getNumResults() == 1 && padded(epilogue->getResult(0)))
    return;
  if (!epilogue || !epilogue.hasPureTensorSemantics() || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumParallelLoops() != epilogue.getNumLoops() ||
      !epilogue.getStaticLoopRanges().size() ||
      !llvm::all_of(epilogue.getStaticLoopRanges(), [](int64_t d) { return !ShapedType::isDynamic(d); }))
    return;
  for (OpOperand &operand : epilogue->getOpOperands()) {
    AffineMap map = epilogue.getMatchingIndexingMap(&operand);
    if ((operand.get() == expand.getResult() || epilogue.isDpsInit(&operand)) &&
        !map.isIdentity())
      return;
    auto t = llvm::dyn_cast<RankedTensorType>(operand.get().getType());
    if (!t || !t.hasStaticShape())
      return;
    // Constant indices only into unit dims (a bias as [f, 1, 1]).
    for (auto [d, e] : llvm::enumerate(map.getResults()))
      if (auto c = llvm::dyn_cast<AffineConstantExpr>(e); c && (c.getValue() != 0 || t.getDimSize(d) != 1))
        return;
  }
  Location loc = epilogue.getLoc();
  r.setInsertionPoint(epilogue);
  // Operands indexed by constants are read through views without those
  // dims: collapsing needs maps that are projected permutations.
  SmallVector<AffineMap> maps = epilogue.getIndexingMapsArray();
  for (OpOperand &operand : epilogue->getOpOperands()) {
    AffineMap &map = maps[operand.getOperandNumber()];
    if (llvm::none_of(map.getResults(), llvm::IsaPred<AffineConstantExpr>))
      continue;
    auto t = llvm::cast<RankedTensorType>(operand.get().getType());
    SmallVector<AffineExpr> kept;
    SmallVector<int64_t> shape;
    for (auto [d, e] : llvm::enumerate(map.getResults()))
      if (!llvm::isa<AffineConstantExpr>(e)) {
        kept.push_back(e);
        shape.push_back(t.getDimSize(d));
      }
    SmallVector<OpFoldResult> offsets(t.getRank(), r.getIndexAttr(0)),
        strides(t.getRank(), r.getIndexAttr(1)),
        sizes = getAsIndexOpFoldResult(r.getContext(), t.getShape());
    Value view = tensor::ExtractSliceOp::create(
        r, loc, RankedTensorType::get(shape, t.getElementType()), operand.get(), offsets, sizes,
        strides);
    r.modifyOpInPlace(epilogue, [&] { operand.set(view); });
    map = AffineMap::get(map.getNumDims(), 0, kept, r.getContext());
  }
  r.modifyOpInPlace(epilogue, [&] { epilogue.setIndexingMapsAttr(r.getAffineMapArrayAttr(maps)); });
  SmallVector<ReassociationIndices> groups;
  for (const ReassociationIndices &g : expand.getReassociationIndices())
    if (g.size() > 1)
      groups.push_back(g);
  if (groups.empty() || !linalg::areDimSequencesPreserved(maps, groups))
    return;
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(epilogue, groups, r);
  if (failed(collapsed))
    return;
  r.replaceOp(epilogue, collapsed->results);
  // The collapsed op reads collapse_shape(expand_shape(product)): the product.
  for (OpOperand &operand : collapsed->collapsedOp->getOpOperands())
    if (auto c = operand.get().getDefiningOp<tensor::CollapseShapeOp>();
        c && c.getSrc() == expand.getResult() && c.getResultType() == product.getType())
      r.modifyOpInPlace(collapsed->collapsedOp, [&] {
        operand.set(product);
        if (c->use_empty())
          r.eraseOp(c);
      });
  if (expand->use_empty())
    r.eraseOp(expand);
  writeInPlace(r, contraction, cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation()));
}

/// The addition at the top of the chain of additions `v` feeds (each
/// value on the way its addition's only use), or null.
Operation *topOfSum(Value v) {
  Operation *top = nullptr;
  while (v.hasOneUse()) {
    auto add = dyn_cast<arith::AddFOp>(*v.getUsers().begin());
    if (!add)
      break;
    top = add;
    v = add.getResult();
  }
  return top;
}

/// Whether the residual `use` reads can be overwritten right before its
/// reader: it is an op's result (not an argument, not a constant), and
/// nothing else reads it (through reshapes of it either) but ops before the
/// reader in its block, other than `contraction`.
bool overwritable(OpOperand &use, Operation *contraction) {
  Operation *at = use.getOwner();
  Value root = use.get();
  while (Operation *reshape = root.getDefiningOp()) {
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(reshape))
      break;
    root = reshape->getOperand(0);
  }
  Operation *def = root.getDefiningOp();
  if (!def || !isa<DestinationStyleOpInterface>(def) || def->getBlock() != at->getBlock())
    return false;
  std::function<bool(Value)> readBefore = [&](Value v) {
    return llvm::all_of(v.getUses(), [&](OpOperand &u) {
      Operation *user = u.getOwner();
      if (&u == &use)
        return true;
      if (user == at || user == contraction || user->getBlock() != at->getBlock())
        return false;
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(user))
        return readBefore(user->getResult(0));
      return user->isBeforeInBlock(at);
    });
  };
  return readBefore(root);
}

/// A contraction that starts at zero and whose epilogue (in place on the
/// product) adds a residual R of the product's shape, `C + R + ...` (any
/// chain of additions), accumulates onto R instead: R is its destination,
/// and the epilogue no longer reads it. Where the epilogue read R and
/// wrote a buffer of its own (a residual block's 1x1 convolution: 3.2 MB
/// of each on 56x56), it now reads and writes R's buffer, in the cache once
/// read; ONNX Runtime fuses its Sum into the convolution the same way. Only
/// where nothing reads R after the epilogue (the contraction overwrites it).
void accumulateOntoResidual(RewriterBase &r, linalg::LinalgOp contraction) {
  if (!contraction->hasAttr(kZeroInitAttrName) || contraction->getNumResults() != 1)
    return;
  Value product = contraction->getResult(0);
  if (!product.hasOneUse())
    return;
  auto epilogue = dyn_cast<linalg::GenericOp>(*product.getUsers().begin());
  if (!epilogue || epilogue.getNumDpsInits() != 1 || epilogue.getDpsInits()[0] != product ||
      epilogue->getBlock() != contraction->getBlock() ||
      !epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0)).isIdentity())
    return;
  // (A result the function returns is written where the caller wants it;
  // in R's buffer it would be copied there.)
  std::function<bool(Value)> returned = [&](Value v) {
    return llvm::any_of(v.getUsers(), [&](Operation *user) {
      return user->hasTrait<OpTrait::IsTerminator>() ||
             (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(user) && returned(user->getResult(0)));
    });
  };
  Operation *top = topOfSum(epilogue.getMatchingBlockArgument(epilogue.getDpsInitOperand(0)));
  if (!top || returned(epilogue->getResult(0)))
    return;
  OpOperand *residual = nullptr;
  for (OpOperand *in : epilogue.getDpsInputOperands())
    if (in->get().getType() == product.getType() &&
        epilogue.getMatchingIndexingMap(in).isIdentity() &&
        topOfSum(epilogue.getMatchingBlockArgument(in)) == top &&
        overwritable(*in, contraction)) {
      residual = in;
      break;
    }
  if (!residual)
    return;
  // The epilogue without R: R's addition is its other term.
  BlockArgument rArg = epilogue.getMatchingBlockArgument(residual);
  auto add = cast<arith::AddFOp>(*rArg.getUsers().begin());
  r.replaceAllUsesWith(add.getResult(), add.getLhs() == rArg ? add.getRhs() : add.getLhs());
  r.eraseOp(add);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *in : epilogue.getDpsInputOperands())
    if (in != residual) {
      inputs.push_back(in->get());
      maps.push_back(epilogue.getMatchingIndexingMap(in));
    }
  maps.push_back(epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0)));
  Value r0 = residual->get();
  r.setInsertionPoint(epilogue);
  auto without = linalg::GenericOp::create(r, epilogue.getLoc(), TypeRange{product.getType()},
                                           inputs, ValueRange{product}, maps,
                                           epilogue.getIteratorTypesArray());
  Block &oldBody = epilogue.getRegion().front();
  r.inlineRegionBefore(epilogue.getRegion(), without.getRegion(), without.getRegion().begin());
  oldBody.eraseArgument(rArg.getArgNumber());
  r.replaceOp(epilogue, without.getResults());
  // The contraction right before its epilogue, where R is defined,
  // accumulating onto it.
  r.moveOpBefore(contraction, without);
  Value old = contraction.getDpsInits()[0];
  r.modifyOpInPlace(contraction, [&] {
    contraction.getDpsInitsMutable()[0].set(r0);
    contraction->removeAttr(kZeroInitAttrName);
  });
  // (Its empty destination, through reshapes, is dead.)
  while (Operation *dead = old.getDefiningOp()) {
    if (!dead->use_empty() ||
        !isa<tensor::EmptyOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp>(dead))
      break;
    old = isa<tensor::EmptyOp>(dead) ? Value() : dead->getOperand(0);
    r.eraseOp(dead);
    if (!old)
      break;
  }
}

/// A convolution over NCHW whose only reader is an elementwise op over
/// its whole result, indexed alike: the epilogue then writes over the
/// result in place, and kiln-fuse-epilogues runs it on each register tile
/// of the convolution while the tile is in L1.
void convEpilogueInPlace(RewriterBase &r, linalg::LinalgOp conv) {
  if (conv->getNumResults() != 1 || !conv->getResult(0).hasOneUse())
    return;
  Value product = conv->getResult(0);
  auto epilogue = dyn_cast<linalg::GenericOp>(*product.getUsers().begin());
  if (!epilogue || !epilogue.hasPureTensorSemantics() || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumParallelLoops() != epilogue.getNumLoops() ||
      llvm::any_of(epilogue->getUsers(), llvm::IsaPred<tensor::PadOp>))
    return;
  for (OpOperand &operand : epilogue->getOpOperands())
    if ((operand.get() == product || epilogue.isDpsInit(&operand)) &&
        !epilogue.getMatchingIndexingMap(&operand).isIdentity())
      return;
  writeInPlace(r, conv, epilogue);
}

/// A configured op's result moved into NCHW and read by an elementwise op,
/// `G(collapse_shape(transpose(T)))` (a direct convolution's
/// [n, sliver, oh, ow, NR] result), becomes one op over the transposed
/// shape that reads T through the permutation, `collapse_shape(G'(T))`:
/// the bias and activation are applied as the result is moved, one pass
/// over it where there were two (ResNet-50's 7x7 stem: 3.2 MB moved, then
/// read and written again). kiln-vectorize-elementwise moves it in square
/// blocks through registers, applying G's body to each row of a block.
/// G's other operands are read along G's dims, each dim split as the
/// collapse splits it.
void foldTransposeIntoEpilogue(RewriterBase &r, linalg::TransposeOp t) {
  Value moved = t.getResult()[0];
  Operation *producer = t.getInput().getDefiningOp();
  if (!moved.hasOneUse() || !producer || !configOf(producer))
    return;
  auto collapse = dyn_cast<tensor::CollapseShapeOp>(*moved.getUsers().begin());
  if (!collapse || !collapse.getResult().hasOneUse())
    return;
  auto g = dyn_cast<linalg::GenericOp>(*collapse.getResult().getUsers().begin());
  if (!g || !g.hasPureTensorSemantics() || g.getNumDpsInits() != 1 ||
      g.getNumParallelLoops() != g.getNumLoops() || !cast<RankedTensorType>(g.getResult(0).getType()).hasStaticShape() ||
      llvm::any_of(g.getBody()->getOperations(), llvm::IsaPred<linalg::IndexOp>))
    return;
  auto sType = cast<RankedTensorType>(moved.getType());
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  int64_t loops = sType.getRank();
  MLIRContext *ctx = r.getContext();
  r.setInsertionPoint(g);
  // G's dims as the transposed shape's: each G dim d is the group groups[d].
  SmallVector<Value> operands;
  SmallVector<AffineMap> maps;
  OpOperand *read = nullptr;
  for (OpOperand &operand : g->getOpOperands()) {
    AffineMap map = g.getMatchingIndexingMap(&operand);
    if (operand.get() == collapse.getResult() && g.isDpsInput(&operand)) {
      if (read || !map.isIdentity())
        return;
      read = &operand;
      // T[perm(s)]: T's dim perm[i] is the transposed dim i.
      SmallVector<AffineExpr> exprs(loops);
      for (auto [i, p] : llvm::enumerate(t.getPermutation()))
        exprs[p] = getAffineDimExpr(i, ctx);
      operands.push_back(t.getInput());
      maps.push_back(AffineMap::get(loops, 0, exprs, ctx));
      continue;
    }
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type || !type.hasStaticShape())
      return;
    // Each result a dim of G (split into its group's dims, the operand's
    // dim expanded alike) or a constant 0 of a unit dim.
    SmallVector<AffineExpr> exprs;
    SmallVector<ReassociationIndices> split;
    SmallVector<int64_t> shape;
    bool expands = false;
    for (auto [i, e] : llvm::enumerate(map.getResults())) {
      split.push_back({});
      if (auto c = dyn_cast<AffineConstantExpr>(e)) {
        if (c.getValue() != 0 || type.getDimSize(i) != 1)
          return;
        exprs.push_back(e);
        split.back().push_back(shape.size());
        shape.push_back(1);
        continue;
      }
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        return;
      for (int64_t s : groups[d.getPosition()]) {
        exprs.push_back(getAffineDimExpr(s, ctx));
        split.back().push_back(shape.size());
        shape.push_back(sType.getDimSize(s));
      }
      expands |= groups[d.getPosition()].size() > 1;
    }
    Value v = operand.get();
    auto expanded = RankedTensorType::get(shape, type.getElementType());
    // (A destination only written gets an empty tensor of its own, which
    // kiln-pad-in-place can then replace by a padded buffer's interior.)
    if (expands && g.isDpsInit(&operand) && v.getDefiningOp<tensor::EmptyOp>() &&
        !g.payloadUsesValueFromOperand(&operand))
      v = tensor::EmptyOp::create(r, g.getLoc(), shape, type.getElementType());
    else if (expands)
      v = tensor::ExpandShapeOp::create(r, g.getLoc(), expanded, v, split);
    operands.push_back(v);
    maps.push_back(AffineMap::get(loops, 0, exprs, ctx));
  }
  if (!read || !maps.back().isIdentity())
    return;
  SmallVector<Value> inputs(operands.begin(), operands.end() - 1);
  Value init = operands.back();
  auto fused = linalg::GenericOp::create(
      r, g.getLoc(), TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(loops, utils::IteratorType::parallel));
  r.inlineRegionBefore(g.getRegion(), fused.getRegion(), fused.getRegion().begin());
  r.replaceOp(g, tensor::CollapseShapeOp::create(r, g.getLoc(), g.getResult(0).getType(),
                                                 fused.getResult(0), groups));
  r.eraseOp(collapse);
  r.eraseOp(t);
}

struct ConfigurePass : impl::KilnConfigureBase<ConfigurePass> {
  using KilnConfigureBase::KilnConfigureBase;

  void runOnOperation() override {
    TargetInfo target = TargetInfo::host();
    if (vectorBits > 0)
      target.vectorBits = vectorBits;
    if (vectorRegisters > 0)
      target.vectorRegisters = vectorRegisters;
    if (int8DotProducts >= 0)
      target.int8DotProducts = int8DotProducts > 0;
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> dotProducts;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isInt8DotProduct(op, target))
        dotProducts.push_back(op);
    });
    llvm::DenseMap<Value, Value> packedWeights;
    for (linalg::LinalgOp op : dotProducts)
      packInt8DotProduct(rewriter, op, chunks, packedWeights);
    SmallVector<linalg::LinalgOp> batched;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op) && op.hasPureTensorSemantics())
        batched.push_back(op);
    });
    for (linalg::LinalgOp op : batched)
      tileDynamicBatch(rewriter, op);
    SmallVector<linalg::Conv2DNgchwGfchwOp> grouped;
    getOperation().walk([&](linalg::Conv2DNgchwGfchwOp op) { grouped.push_back(op); });
    for (linalg::Conv2DNgchwGfchwOp op : grouped)
      splitGroups(rewriter, op);
    SmallVector<linalg::MatmulOp> packable;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op.hasPureTensorSemantics() && shouldPackRhs(op, target))
        packable.push_back(op);
    });
    SmallVector<linalg::LinalgOp> convs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (convAsGemm(op, target))
        convs.push_back(op);
    });
    for (linalg::MatmulOp op : packable)
      packRhs(rewriter, op, target);
    for (linalg::LinalgOp op : convs)
      convAsContraction(rewriter, op, target);
    SmallVector<linalg::LinalgOp> contractions, nchwConvs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<LoweringConfig> done = configOf(op); done && done->kind == "dot-i8")
        return;
      if (std::optional<LoweringConfig> c = chooseConfig(op, target, chunks)) {
        op->setAttr(kConfigAttrName, c->toAttr(&getContext()));
        startAtZero(rewriter, op, *c);
        if (c->kind == "contraction")
          contractions.push_back(op);
        else if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op))
          nchwConvs.push_back(op);
      }
    });
    for (linalg::LinalgOp op : contractions)
      collapseEpilogue(rewriter, op);
    for (linalg::LinalgOp op : contractions)
      accumulateOntoResidual(rewriter, op);
    for (linalg::LinalgOp op : nchwConvs)
      convEpilogueInPlace(rewriter, op);
    SmallVector<linalg::TransposeOp> transposes;
    getOperation().walk([&](linalg::TransposeOp op) { transposes.push_back(op); });
    for (linalg::TransposeOp op : transposes)
      foldTransposeIntoEpilogue(rewriter, op);
  }
};
} // namespace
} // namespace kiln
