//===- PadInPlacePass.cpp - kiln-pad-in-place -----------------------------===//
//
// A convolution's padded input was a copy: bufferization gives tensor.pad
// a buffer of its own, fills it and copies the unpadded tensor into its
// interior (a 64x56x56 activation read and written once more per 3x3
// convolution). Where the unpadded tensor is computed by an op that writes
// into an empty tensor of its own, that op writes into the interior of
// the padded buffer instead:
//
//   %e = tensor.empty()                     %E = tensor.empty() : padded
//   %x = <op> outs(%e)               ==>    %F = %E, its border filled
//   %p = tensor.pad %x low.. high..         %S = tensor.extract_slice %F[low..]
//                                           %x = <op> outs(%S)
//                                           %p = tensor.insert_slice %x into %F[low..]
//
// One-shot bufferization sees the matching extract and insert of the same
// slice and writes %x in place, with no copy. A pad of an expand_shape of
// %x that splits no padded dim (a grouped convolution's input) is made on
// %x, and the padded tensor expanded; likewise through a collapse_shape
// that merges no padded dim (a direct convolution's result moved into
// NCHW, [n, slivers, NR, h, w] -> [n, c, h, w]).
//
// Where the op is computed in thread tiles (scf.forall) that each cover
// whole rows and columns (or whole trailing dims), the border of those dims
// is filled by each tile next to its interior, on the thread that writes
// it; only the dims the tiles split keep a slab filled beforehand.
//
// A part of a concatenation computed over flattened positions (a 1x1
// convolution as a GEMM: [n, c, h * w]) reaches its tensor.insert_slice
// through an expand_shape, which upstream's empty-tensor elimination does
// not see through, so it was computed into a buffer of its own and copied
// into the concatenation (SqueezeNet's expand1x1 branches: 800 KB per fire
// module, serially). Its empty destination becomes the collapsed slice of
// the concatenation it is inserted into:
//
//   %e = tensor.empty()                     %C = tensor.empty() : concat
//   %x = <op> outs(collapse(%e))     ==>    %S = tensor.extract_slice %C[..]
//   %C = tensor.empty() : concat            %x = <op> outs(collapse(%S))
//   insert_slice expand(%x) into %C[..]     insert_slice expand(%x) into %C[..]
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNPADINPLACE
#include "lowering/Passes.h.inc"

namespace {

/// The empty tensor `v`'s producer writes into, when `v` is that
/// producer's only result and the empty tensor has no other use (the
/// operand of the fill that initializes it, where one does).
OpOperand *emptyDestination(Value v) {
  auto result = llvm::dyn_cast<OpResult>(v);
  if (!result)
    return nullptr;
  Operation *producer = result.getOwner();
  OpOperand *init = nullptr;
  if (auto forall = dyn_cast<scf::ForallOp>(producer))
    init = &forall.getOutputsMutable()[result.getResultNumber()];
  else if (auto dps = dyn_cast<DestinationStyleOpInterface>(producer))
    init = dps.getTiedOpOperand(result);
  if (!init || !init->get().hasOneUse())
    return nullptr;
  // A reduction's init, an empty tensor filled with its identity (a max
  // pool's -inf): the fill writes into the interior instead.
  if (auto fill = init->get().getDefiningOp<linalg::FillOp>())
    init = &fill.getDpsInitsMutable()[0];
  if (!init->get().getDefiningOp<tensor::EmptyOp>() || !init->get().hasOneUse())
    return nullptr;
  return init;
}

/// The pads of `pad` on the source of `expand` (its source), when every
/// dim that the expansion splits into several is not padded (a grouped
/// convolution's [n, g * c, h, w] -> [n, g, c, h, w]).
bool padsBeforeExpansion(tensor::PadOp pad, tensor::ExpandShapeOp expand,
                         SmallVector<int64_t> &low, SmallVector<int64_t> &high) {
  std::optional<SmallVector<int64_t>> lo = getConstantIntValues(pad.getMixedLowPad());
  std::optional<SmallVector<int64_t>> hi = getConstantIntValues(pad.getMixedHighPad());
  if (!lo || !hi)
    return false;
  for (const ReassociationIndices &group : expand.getReassociationIndices()) {
    if (group.size() == 1) {
      low.push_back((*lo)[group[0]]);
      high.push_back((*hi)[group[0]]);
      continue;
    }
    for (int64_t d : group)
      if ((*lo)[d] != 0 || (*hi)[d] != 0)
        return false;
    low.push_back(0);
    high.push_back(0);
  }
  return true;
}

/// `pad` replaced by the padded `result` (of the reshaped value's source)
/// reshaped as the padded value was (`expand` or `collapse`, when one
/// was); that reshape of the unpadded value is erased.
void replacePad(RewriterBase &r, Location loc, tensor::PadOp pad, Value result,
                tensor::ExpandShapeOp expand, tensor::CollapseShapeOp collapse) {
  // In the reverse order of the reshapes seen through: the collapse was
  // the inner one (the expansion's source, where both are).
  if (collapse)
    result = expand ? tensor::CollapseShapeOp::create(r, loc, result,
                                                      collapse.getReassociationIndices())
                          .getResult()
                    : tensor::CollapseShapeOp::create(r, loc, pad.getResultType(), result,
                                                      collapse.getReassociationIndices())
                          .getResult();
  if (expand)
    result = tensor::ExpandShapeOp::create(r, loc, pad.getResultType(), result,
                                           expand.getReassociationIndices());
  r.replaceOp(pad, result);
  if (expand)
    r.eraseOp(expand);
  if (collapse)
    r.eraseOp(collapse);
}

/// Makes the concatenation part `insert` inserts (see the file comment)
/// be computed into its slice of the concatenation.
void concatenationPartInPlace(RewriterBase &r, tensor::InsertSliceOp insert) {
  auto concat = insert.getDest().getDefiningOp<tensor::EmptyOp>();
  if (!concat || !concat.getType().hasStaticShape() || !insert.hasUnitStride() ||
      !insert.getSourceType().hasStaticShape())
    return;
  auto expand = insert.getSource().getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || !expand->hasOneUse() || !expand.getSrc().hasOneUse())
    return;
  auto result = llvm::dyn_cast<OpResult>(expand.getSrc());
  if (!result)
    return;
  OpOperand *init = nullptr;
  if (auto forall = dyn_cast<scf::ForallOp>(result.getOwner()))
    init = &forall.getOutputsMutable()[result.getResultNumber()];
  else if (auto dps = dyn_cast<DestinationStyleOpInterface>(result.getOwner()))
    init = dps.getTiedOpOperand(result);
  auto collapse = init ? init->get().getDefiningOp<tensor::CollapseShapeOp>() : nullptr;
  if (!collapse || !collapse->hasOneUse() ||
      collapse.getReassociationIndices() != expand.getReassociationIndices())
    return;
  auto empty = collapse.getSrc().getDefiningOp<tensor::EmptyOp>();
  if (!empty || !empty->hasOneUse() || empty.getType() != insert.getSourceType())
    return;
  // The concatenation's empty tensor (no operands: static) goes first.
  r.moveOpBefore(concat, collapse);
  r.setInsertionPoint(collapse);
  Value slice = tensor::ExtractSliceOp::create(r, insert.getLoc(), insert.getSourceType(), concat,
                                               insert.getMixedOffsets(), insert.getMixedSizes(),
                                               insert.getMixedStrides());
  r.modifyOpInPlace(collapse, [&] { collapse.getSrcMutable().assign(slice); });
  r.eraseOp(empty);
}

/// A producer computed in thread tiles (scf.forall) whose tiles each
/// cover every dim from some d on: the border along those dims, next to
/// a tile's interior, is filled by the tile, on the thread that writes
/// the interior, while its cache lines are there. Filled before, the
/// border columns of a [96, 114, 114] depthwise input were 2 x 10752
/// single-element stores to lines no core held, serially: an eighth of
/// MobileNetV2's run on 2 threads. The tile's slices of the result move
/// by the low pads; the result becomes the padded tensor.
struct TiledProducer {
  scf::ForallOp forall;
  unsigned result;
  tensor::ParallelInsertSliceOp insert;
  /// The tile's slice of the shared tensor it computes into (or null).
  tensor::ExtractSliceOp init;
  /// Per dim: the tiles cover it and every dim after it.
  SmallVector<bool> covered;
};

std::optional<TiledProducer> tiledProducer(OpOperand *init, RankedTensorType sourceType) {
  auto forall = dyn_cast<scf::ForallOp>(init->getOwner());
  if (!forall)
    return std::nullopt;
  unsigned result = forall.getTiedOpResult(init).getResultNumber();
  BlockArgument shared = forall.getTiedBlockArgument(init);
  tensor::ParallelInsertSliceOp insert;
  for (Operation &op : forall.getTerminator().getYieldingOps()) {
    auto i = dyn_cast<tensor::ParallelInsertSliceOp>(&op);
    if (i && i.getDest() == shared) {
      if (insert)
        return std::nullopt;
      insert = i;
    }
  }
  if (!insert || !insert.hasUnitStride() || insert.getSourceType().getRank() != sourceType.getRank())
    return std::nullopt;
  // The one other use of the shared tensor: the tile's init, its slice at
  // the tile's offsets.
  tensor::ExtractSliceOp tileInit;
  for (OpOperand &use : shared.getUses()) {
    if (use.getOwner() == insert)
      continue;
    auto slice = dyn_cast<tensor::ExtractSliceOp>(use.getOwner());
    if (tileInit || !slice || !slice.hasUnitStride() ||
        slice.getMixedOffsets() != insert.getMixedOffsets() ||
        slice.getMixedSizes() != insert.getMixedSizes())
      return std::nullopt;
    tileInit = slice;
  }
  int64_t rank = sourceType.getRank();
  SmallVector<bool> covered(rank, false);
  bool all = true;
  for (int64_t d = rank - 1; d >= 0; --d) {
    std::optional<int64_t> offset = getConstantIntValue(insert.getMixedOffsets()[d]);
    std::optional<int64_t> size = getConstantIntValue(insert.getMixedSizes()[d]);
    all &= offset == 0 && size == sourceType.getDimSize(d);
    covered[d] = all;
  }
  return TiledProducer{forall, result, insert, tileInit, covered};
}

/// Moves `offsets` by the constant `low` pads.
SmallVector<OpFoldResult> shifted(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> offsets,
                                  ArrayRef<int64_t> low) {
  SmallVector<OpFoldResult> out;
  for (auto [o, l] : llvm::zip(offsets, low)) {
    if (l == 0) {
      out.push_back(o);
      continue;
    }
    if (std::optional<int64_t> c = getConstantIntValue(o)) {
      out.push_back(b.getIndexAttr(*c + l));
      continue;
    }
    out.push_back(arith::AddIOp::create(b, loc, getValueOrCreateConstantIndexOp(b, loc, o),
                                        arith::ConstantIndexOp::create(b, loc, l))
                      .getResult());
  }
  return out;
}

/// Makes `t`'s tiles write into the padded tensor `filled` at `low`; the
/// tiles cover every dim from `first` on, and each fills the border of
/// those dims next to its interior with `padding`: the tile's region of
/// the padded tensor (its interior in the dims before `first`, all of the
/// dims after) is sliced, its border slabs filled, the tile computed into
/// its interior and the region inserted back (slices of one tensor at
/// matching offsets: written in place). `t`'s result becomes the padded
/// tensor.
void fillBorderInTiles(RewriterBase &r, TiledProducer &t, Value filled, Value padding,
                       ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                       RankedTensorType sourceType) {
  Location loc = t.insert.getLoc();
  auto padded = llvm::cast<RankedTensorType>(filled.getType());
  int64_t rank = padded.getRank();
  int64_t first = llvm::find(t.covered, true) - t.covered.begin();
  BlockArgument shared = t.forall.getRegionIterArgs()[t.result];
  r.modifyOpInPlace(t.forall, [&] {
    t.forall.getOutputsMutable()[t.result].set(filled);
    shared.setType(padded);
    t.forall.getResult(t.result).setType(padded);
  });
  // Before the tile's init (or its insertion), where its offsets are known.
  Block *body = t.forall.getBody();
  Operation *lastOffset = nullptr;
  SmallVector<OpFoldResult> offsetsAndSizes = t.insert.getMixedOffsets();
  llvm::append_range(offsetsAndSizes, t.insert.getMixedSizes());
  for (OpFoldResult o : offsetsAndSizes)
    if (auto v = llvm::dyn_cast_if_present<Value>(o))
      if (Operation *def = v.getDefiningOp(); def && def->getBlock() == body &&
                                              (!lastOffset || lastOffset->isBeforeInBlock(def)))
        lastOffset = def;
  if (lastOffset)
    r.setInsertionPointAfter(lastOffset);
  else
    r.setInsertionPointToStart(body);
  SmallVector<OpFoldResult> tileAt = shifted(r, loc, t.insert.getMixedOffsets(), low);
  SmallVector<OpFoldResult> tileSize = t.insert.getMixedSizes();
  SmallVector<OpFoldResult> ones(rank, r.getIndexAttr(1));
  SmallVector<OpFoldResult> regionAt, regionSize, interiorAt;
  for (int64_t e = 0; e < rank; ++e) {
    bool inner = e >= first;
    regionAt.push_back(inner ? r.getIndexAttr(0) : tileAt[e]);
    regionSize.push_back(inner ? r.getIndexAttr(padded.getDimSize(e)) : tileSize[e]);
    interiorAt.push_back(r.getIndexAttr(inner ? low[e] : 0));
  }
  Value region = tensor::ExtractSliceOp::create(r, loc, shared, regionAt, regionSize, ones);
  for (int64_t d = first; d < rank; ++d) {
    for (bool before : {true, false}) {
      int64_t width = before ? low[d] : high[d];
      if (width == 0)
        continue;
      SmallVector<OpFoldResult> at, size;
      for (int64_t e = 0; e < rank; ++e) {
        if (e < first) {
          at.push_back(r.getIndexAttr(0));
          size.push_back(regionSize[e]);
        } else if (e < d) {
          at.push_back(r.getIndexAttr(low[e]));
          size.push_back(r.getIndexAttr(sourceType.getDimSize(e)));
        } else if (e == d) {
          at.push_back(r.getIndexAttr(before ? 0 : low[d] + sourceType.getDimSize(d)));
          size.push_back(r.getIndexAttr(width));
        } else {
          at.push_back(r.getIndexAttr(0));
          size.push_back(r.getIndexAttr(padded.getDimSize(e)));
        }
      }
      Value slab = tensor::ExtractSliceOp::create(r, loc, region, at, size, ones);
      Value border = linalg::FillOp::create(r, loc, padding, slab).getResult(0);
      region = tensor::InsertSliceOp::create(r, loc, border, region, at, size, ones);
    }
  }
  if (t.init)
    r.replaceOpWithNewOp<tensor::ExtractSliceOp>(t.init, t.init.getResultType(), region,
                                                 interiorAt, tileSize, ones);
  r.setInsertionPoint(t.forall.getTerminator());
  Value whole = tensor::InsertSliceOp::create(r, loc, t.insert.getSource(), region, interiorAt,
                                              tileSize, ones);
  r.setInsertionPoint(t.insert);
  r.replaceOpWithNewOp<tensor::ParallelInsertSliceOp>(t.insert, whole, shared, regionAt,
                                                      regionSize, ones);
}

struct PadInPlacePass : impl::KilnPadInPlaceBase<PadInPlacePass> {
  void runOnOperation() override {
    {
      SmallVector<tensor::InsertSliceOp> inserts;
      getOperation().walk([&](tensor::InsertSliceOp insert) { inserts.push_back(insert); });
      IRRewriter r(&getContext());
      for (tensor::InsertSliceOp insert : inserts)
        concatenationPartInPlace(r, insert);
    }
    SmallVector<tensor::PadOp> pads;
    getOperation().walk([&](tensor::PadOp pad) { pads.push_back(pad); });
    IRRewriter r(&getContext());
    for (tensor::PadOp pad : pads) {
      Value padding = pad.getConstantPaddingValue();
      if (!padding || !pad.getResultType().hasStaticShape() ||
          !pad.getSourceType().hasStaticShape())
        continue;
      // Another user of the unpadded value would need it copied out of the
      // padded buffer: as many bytes moved as before.
      if (!pad.getSource().hasOneUse())
        continue;
      // The unpadded value, and the pads on it: through an expansion that
      // splits no padded dim (canonicalization moves pads below those).
      Value source = pad.getSource();
      std::optional<SmallVector<int64_t>> lo = getConstantIntValues(pad.getMixedLowPad());
      std::optional<SmallVector<int64_t>> hi = getConstantIntValues(pad.getMixedHighPad());
      if (!lo || !hi)
        continue;
      SmallVector<int64_t> low = *lo, high = *hi;
      auto expand = source.getDefiningOp<tensor::ExpandShapeOp>();
      if (expand) {
        low.clear();
        high.clear();
        if (!expand.getSrc().hasOneUse() || !expand.getSrcType().hasStaticShape() ||
            !padsBeforeExpansion(pad, expand, low, high))
          continue;
        source = expand.getSrc();
      }
      // Likewise through a collapse that merges no padded dim (a direct
      // convolution's [n, slivers, NR, h, w] result as [n, c, h, w]).
      auto collapse = source.getDefiningOp<tensor::CollapseShapeOp>();
      if (collapse) {
        if (!collapse.getSrc().hasOneUse() || !collapse.getSrcType().hasStaticShape())
          continue;
        SmallVector<int64_t> l, h;
        bool ok = true;
        for (auto [d, group] : llvm::enumerate(collapse.getReassociationIndices())) {
          ok &= group.size() == 1 || (low[d] == 0 && high[d] == 0);
          l.append(group.size(), group.size() == 1 ? low[d] : 0);
          h.append(group.size(), group.size() == 1 ? high[d] : 0);
        }
        if (!ok)
          continue;
        low = l;
        high = h;
        source = collapse.getSrc();
      }
      OpOperand *init = emptyDestination(source);
      if (!init)
        continue;
      Operation *producer = init->getOwner();
      // The padding value is a constant (cloned before the producer).
      Operation *constant = padding.getDefiningOp();
      if (!constant || !constant->hasTrait<OpTrait::ConstantLike>())
        continue;
      Location loc = pad.getLoc();
      r.setInsertionPoint(producer);
      padding = r.clone(*constant)->getResult(0);
      auto sourceType = llvm::cast<RankedTensorType>(source.getType());
      SmallVector<int64_t> paddedShape;
      for (auto [d, size] : llvm::enumerate(sourceType.getShape()))
        paddedShape.push_back(size + low[d] + high[d]);
      auto padded = RankedTensorType::get(paddedShape, sourceType.getElementType());
      std::optional<TiledProducer> tiled = tiledProducer(init, sourceType);
      Value filled = tensor::EmptyOp::create(r, loc, padded.getShape(), padded.getElementType());
      // Only the border is filled: the producer writes the interior (a
      // whole fill wrote a 96x114x114 input of a depthwise convolution
      // twice, serially, every run). One slab per padded side: dim d's
      // pad, over the interior of the dims before it and all of the dims
      // after it.
      for (int64_t d = 0; d < padded.getRank(); ++d) {
        for (bool before : {true, false}) {
          int64_t width = before ? low[d] : high[d];
          if (width == 0 || (tiled && tiled->covered[d]))
            continue;
          SmallVector<int64_t> at(padded.getRank(), 0), extent(paddedShape);
          for (int64_t e = 0; e < d; ++e) {
            at[e] = low[e];
            extent[e] = sourceType.getDimSize(e);
          }
          at[d] = before ? 0 : low[d] + sourceType.getDimSize(d);
          extent[d] = width;
          SmallVector<OpFoldResult> slabAt = getAsIndexOpFoldResult(&getContext(), at),
                                    slabSize = getAsIndexOpFoldResult(&getContext(), extent),
                                    ones(padded.getRank(), r.getIndexAttr(1));
          Value slab = tensor::ExtractSliceOp::create(r, loc, filled, slabAt, slabSize, ones);
          Value zeros = linalg::FillOp::create(r, loc, padding, slab).getResult(0);
          filled = tensor::InsertSliceOp::create(r, loc, zeros, filled, slabAt, slabSize, ones);
        }
      }
      if (tiled) {
        Operation *oldEmpty = init->get().getDefiningOp();
        fillBorderInTiles(r, *tiled, filled, padding, low, high, sourceType);
        r.eraseOp(oldEmpty);
        Value result = tiled->forall.getResult(tiled->result);
        r.setInsertionPoint(pad);
        replacePad(r, loc, pad, result, expand, collapse);
        continue;
      }
      SmallVector<OpFoldResult> offsets = getAsIndexOpFoldResult(&getContext(), low);
      SmallVector<OpFoldResult> sizes = getAsIndexOpFoldResult(&getContext(), sourceType.getShape());
      SmallVector<OpFoldResult> strides(padded.getRank(), r.getIndexAttr(1));
      Value interior =
          tensor::ExtractSliceOp::create(r, loc, sourceType, filled, offsets, sizes, strides);
      Operation *oldEmpty = init->get().getDefiningOp();
      r.modifyOpInPlace(producer, [&] { init->set(interior); });
      r.eraseOp(oldEmpty);
      r.setInsertionPoint(pad);
      Value result =
          tensor::InsertSliceOp::create(r, loc, source, filled, offsets, sizes, strides);
      replacePad(r, loc, pad, result, expand, collapse);
    }
  }
};

} // namespace
} // namespace kiln
