//===- VectorizeElementwisePass.cpp - kiln-vectorize-elementwise ----------===//
//
// Linalg ops on buffers whose loops are all parallel (the epilogues beside
// the contractions: bias, activations, residual adds; fills, copies,
// elementwise chains) become vector code at the target's full width:
//
//   collapse    trailing loops that are contiguous in every operand become
//               one (a 56x56 image is one row of 3136)
//   loops       every other loop one element at a time; the innermost by
//               two vectors, its remainder in vectors of powers of two (or
//               an element at a time where its size is only known at run
//               time)
//   body        applied to vectors: each operand read as a vector along the
//               innermost dim, or as one scalar broadcast (a bias per row);
//               an input read with a stride of up to 4 (the gather of a
//               strided convolution) as a wider masked load and a shuffle
//
// The vector code is built directly rather than by tiling and linalg's
// vectorizer: that costs pattern rewriting per op, which for ResNet-50's
// 130 epilogues was 0.3 s of compile time for the same code.
//
// As scalar loops they were left to LLVM's loop vectorizer, which does not
// vectorize them: the operands arrive as memref descriptors whose aliasing
// it cannot rule out (a bias-add-relu over 64x111x111 ran one scalar
// element per iteration).
//
// Reductions along the innermost loop (the max and sum of Softmax, the
// min and max of a dynamic quantization, ReduceSum/Mean over the last
// axes) are vectorized the same way: the elements are combined into an
// accumulator of two vectors across the loop, then across its lanes, then
// into the result once per row. As loops, LLVM kept them scalar: a float
// sum may not be reassociated, and the result is reloaded and stored at
// every element.
//
// An op whose innermost loop is not the innermost, unit-stride dim of each
// operand that uses it (a transpose, a strided view) stays as loops, as do
// ops on types whose vectors the backends do not lay out as memory does
// (i1 is bit-packed in a vector, a byte in memory) and bodies with
// anything but arith and f32 math.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEELEMENTWISE
#include "lowering/Passes.h.inc"

namespace {
/// Vectors per tile of the innermost loop: two in flight hide the
/// latency of a load feeding a dependent chain.
constexpr int64_t kVectorsPerTile = 2;
/// Ops of at most this many vector tiles are unrolled (an 8x32 register
/// tile's epilogue on AVX-512 is 8).
constexpr int64_t kMaxUnrolledVectors = 16;

/// Element types whose vectors are laid out in memory as the buffers are.
bool vectorizableElement(Type t) {
  if (t.isF32() || t.isF64())
    return true;
  auto i = llvm::dyn_cast<IntegerType>(t);
  return i && (i.getWidth() == 8 || i.getWidth() == 16 || i.getWidth() == 32 ||
               i.getWidth() == 64);
}

/// Whether `t` is a type the body may compute with: the element types
/// above, i1 (comparisons, selects) and index (linalg.index).
bool bodyType(Type t) { return vectorizableElement(t) || t.isInteger(1) || t.isIndex(); }

/// `map` without its constant results, each of which must index a unit
/// dim of `t` (a bias broadcast as [c, 1, 1]); null if one does not.
AffineMap dropUnitConstants(AffineMap map, MemRefType t) {
  SmallVector<AffineExpr> kept;
  for (auto [r, e] : llvm::enumerate(map.getResults())) {
    auto c = llvm::dyn_cast<AffineConstantExpr>(e);
    if (!c) {
      kept.push_back(e);
      continue;
    }
    if (c.getValue() != 0 || t.getDimSize(r) != 1)
      return {};
  }
  return AffineMap::get(map.getNumDims(), 0, kept, map.getContext());
}

/// Whether operand `operand` of `op` is read along loop `inner` as the
/// vector code reads it: not at all (a broadcast), or along its innermost
/// dim with unit stride, `inner` times a stride plus what does not depend
/// on it (a window of an im2col gather, `ow + kw`; a strided one,
/// `2 * ow + kw`). Results are written contiguously.
bool readableAlong(linalg::LinalgOp op, OpOperand &operand, AffineMap map, int64_t inner) {
  auto m = llvm::dyn_cast<MemRefType>(operand.get().getType());
  if (!m || !map.isFunctionOfDim(inner))
    return true;
  std::optional<RowAccess> a = rowAccess(map, inner);
  return a && unitInnerStride(m) && (a->stride == 1 || !op.isDpsInit(&operand));
}

/// Each memref operand of `op` that the innermost loop walks has it as its
/// innermost dim, with unit stride.
bool innermostContiguous(linalg::LinalgOp op) {
  int64_t inner = op.getNumLoops() - 1;
  for (OpOperand &operand : op->getOpOperands())
    if (!readableAlong(op, operand, op.getMatchingIndexingMap(&operand), inner))
      return false;
  return true;
}

/// How vector.reduction combines the lanes of what `combiner` combines.
std::optional<vector::CombiningKind> combiningKind(Operation *combiner) {
  using K = vector::CombiningKind;
  return llvm::TypeSwitch<Operation *, std::optional<K>>(combiner)
      .Case<arith::AddFOp, arith::AddIOp>([](auto) { return K::ADD; })
      .Case<arith::MulFOp, arith::MulIOp>([](auto) { return K::MUL; })
      .Case([](arith::MaximumFOp) { return K::MAXIMUMF; })
      .Case([](arith::MinimumFOp) { return K::MINIMUMF; })
      .Case([](arith::MaxNumFOp) { return K::MAXNUMF; })
      .Case([](arith::MinNumFOp) { return K::MINNUMF; })
      .Case([](arith::MaxSIOp) { return K::MAXSI; })
      .Case([](arith::MinSIOp) { return K::MINSI; })
      .Case([](arith::MaxUIOp) { return K::MAXUI; })
      .Case([](arith::MinUIOp) { return K::MINUI; })
      .Default([](Operation *) { return std::nullopt; });
}

/// The op that combines each element into the result, when `op` reduces
/// along its innermost loop into its one result: the result is indexed by
/// none of the reduction loops, and the body yields `element (+) result`
/// for an associative, commutative (+) with a neutral element. Null
/// otherwise.
Operation *innermostReduction(linalg::LinalgOp op) {
  int64_t loops = op.getNumLoops();
  if (loops == 0 || op.getNumDpsInits() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return nullptr;
  // Every operand indexed by plain loop dims: a window reduction (pooling,
  // `2 * ow + kw`) is vectorized along its output row instead, by
  // kiln-vectorize-windows; along its window it would be vectors of a
  // tap or two.
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isProjectedPermutation(/*allowZeroInResults=*/true); }))
    return nullptr;
  OpOperand *init = op.getDpsInitOperand(0);
  AffineMap map = op.getMatchingIndexingMap(init);
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  for (unsigned d : reductions)
    if (map.isFunctionOfDim(d))
      return nullptr;
  Block &body = op->getRegion(0).front();
  Value yielded = body.getTerminator()->getOperand(0);
  Operation *combiner = yielded.getDefiningOp();
  BlockArgument result = body.getArgument(init->getOperandNumber());
  if (!combiner || combiner->getBlock() != &body || !yielded.hasOneUse() ||
      combiner->getNumOperands() != 2 || !combiningKind(combiner) ||
      !arith::getNeutralElement(combiner) || !result.hasOneUse() ||
      result.getUses().begin()->getOwner() != combiner ||
      combiner->getOperand(0) == combiner->getOperand(1))
    return nullptr;
  return combiner;
}

/// Whether `operand` is an f32 input that `op` reads through a
/// permutation of its loops (a transpose, for
/// ElementwiseVectorizer::emitTranspose).
bool permutedInput(linalg::LinalgOp op, OpOperand &operand) {
  auto m = llvm::dyn_cast<MemRefType>(operand.get().getType());
  return m && m.getElementType().isF32() && op.isDpsInput(&operand) &&
         op.getMatchingIndexingMap(&operand).isPermutation();
}

/// The widest element of `op`'s operands and body, in bits; 0 if `op`
/// does not qualify.
int64_t widestElement(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 || configOf(op) ||
      op->getNumRegions() != 1 ||
      (op.getNumParallelLoops() != op.getNumLoops() && !innermostReduction(op)))
    return 0;
  int64_t inner = op.getNumLoops() - 1;
  int64_t widest = 0;
  for (OpOperand &operand : op->getOpOperands()) {
    Type t = operand.get().getType();
    Type e = getElementTypeOrSelf(t);
    if (!vectorizableElement(e))
      return 0;
    widest = std::max<int64_t>(widest, e.getIntOrFloatBitWidth());
    auto m = llvm::dyn_cast<MemRefType>(t);
    if (!m)
      continue;
    AffineMap map = dropUnitConstants(op.getMatchingIndexingMap(&operand), m);
    // Results are written once each: through a permutation of the loops.
    if (!map || (op.isDpsInit(&operand) && !map.isProjectedPermutation()))
      return 0;
    if (!readableAlong(op, operand, map, inner) && !permutedInput(op, operand))
      return 0;
  }
  Block &body = op->getRegion(0).front();
  for (Operation &o : body) {
    if (isa<linalg::YieldOp, linalg::IndexOp>(o))
      continue;
    Dialect *d = o.getDialect();
    bool math = d && d->getNamespace() == "math";
    if (!d || (d->getNamespace() != "arith" && !math) || o.getNumRegions() != 0)
      return 0;
    for (Type t : o.getResultTypes())
      if (!bodyType(t) || (math && !t.isF32()))
        return 0;
    for (Type t : o.getOperandTypes())
      if (!bodyType(t))
        return 0;
  }
  return widest;
}

/// The dims of `t` that the trailing loops [first, loops) index, through
/// `map`, can be collapsed into one dim of a view.
bool collapsible(MemRefType t, AffineMap map, int64_t first) {
  SmallVector<ReassociationIndices> groups;
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    bool trailing = map.getDimPosition(r) >= first;
    if (trailing && !groups.empty() && map.getDimPosition(r - 1) >= first)
      groups.back().push_back(r);
    else
      groups.push_back({static_cast<int64_t>(r)});
  }
  return memref::CollapseShapeOp::isGuaranteedCollapsible(t, groups);
}

/// `o`, an op of a linalg body, rebuilt at `b`: its operands looked up,
/// its result types mapped by `typeOf` (to vectors of a tile's lanes, or
/// kept scalar), a constant cloned and given to `splat`; its results are
/// mapped in `mapping`.
void rebuildBodyOp(OpBuilder &b, Operation &o, IRMapping &mapping,
                   function_ref<Value(Value)> lookup, function_ref<Value(Value)> splat,
                   function_ref<Type(Type)> typeOf) {
  if (auto constant = dyn_cast<arith::ConstantOp>(o)) {
    mapping.map(constant.getResult(), splat(b.clone(o)->getResult(0)));
    return;
  }
  OperationState state(o.getLoc(), o.getName());
  for (Value v : o.getOperands())
    state.addOperands(lookup(v));
  state.addAttributes(o.getAttrs());
  for (Type t : o.getResultTypes())
    state.addTypes(typeOf(t));
  mapping.map(o.getResults(), b.create(state)->getResults());
}

class ElementwiseVectorizer {
public:
  explicit ElementwiseVectorizer(MLIRContext *ctx) : ctx(ctx) {}

  void run(linalg::LinalgOp op, int64_t width) {
    IRRewriter r(ctx);
    r.setInsertionPoint(op);
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (!generic) {
      FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(r, op);
      if (failed(g))
        return;
      generic = *g;
    }
    dropUnitOperandDims(r, generic);
    generic = collapseTrailing(r, generic);
    if (emitTranspose(r, generic, width / kVectorsPerTile)) {
      r.eraseOp(generic);
      return;
    }
    // Unit dims collapsed into the innermost can leave it strided (a column
    // [?, 1] of a matrix): such an op stays as loops.
    if (!innermostContiguous(generic))
      return;
    emit(r, generic, width);
    r.eraseOp(generic);
  }

private:
  MLIRContext *ctx;

  /// Operands indexed by constants in unit dims are read through views
  /// without those dims.
  void dropUnitOperandDims(RewriterBase &r, linalg::GenericOp op) {
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    bool changed = false;
    for (OpOperand &operand : op->getOpOperands()) {
      auto t = llvm::dyn_cast<MemRefType>(operand.get().getType());
      AffineMap &map = maps[operand.getOperandNumber()];
      if (!t || llvm::none_of(map.getResults(), llvm::IsaPred<AffineConstantExpr>))
        continue;
      AffineMap reduced = dropUnitConstants(map, t);
      SmallVector<int64_t> shape;
      for (auto [d, e] : llvm::enumerate(map.getResults()))
        if (!llvm::isa<AffineConstantExpr>(e))
          shape.push_back(t.getDimSize(d));
      r.setInsertionPoint(op);
      Location loc = op.getLoc();
      SmallVector<OpFoldResult> offsets(t.getRank(), r.getIndexAttr(0)),
          steps(t.getRank(), r.getIndexAttr(1)),
          sizes = memref::getMixedSizes(r, loc, operand.get());
      auto type = memref::SubViewOp::inferRankReducedResultType(shape, t, offsets, sizes, steps);
      Value view = memref::SubViewOp::create(r, loc, llvm::cast<MemRefType>(type), operand.get(),
                                             offsets, sizes, steps);
      r.modifyOpInPlace(op, [&] { operand.set(view); });
      map = reduced;
      changed = true;
    }
    if (changed)
      r.modifyOpInPlace(op, [&] { op.setIndexingMapsAttr(r.getAffineMapArrayAttr(maps)); });
  }

  /// The longest run of trailing loops that every operand indexes
  /// contiguously, collapsed into one loop.
  linalg::GenericOp collapseTrailing(RewriterBase &r, linalg::GenericOp op) {
    int64_t loops = op.getNumLoops();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    if (!llvm::all_of(maps, [](AffineMap m) { return m.isProjectedPermutation(); }))
      return op;
    int64_t first = loops - 1;
    for (int64_t f = loops - 2; f >= 0; --f) {
      ReassociationIndices group;
      for (int64_t d = f; d < loops; ++d)
        group.push_back(d);
      if (!linalg::areDimSequencesPreserved(maps, {group}))
        break;
      bool ok = true;
      for (OpOperand &operand : op->getOpOperands())
        if (auto m = llvm::dyn_cast<MemRefType>(operand.get().getType()))
          ok &= collapsible(m, op.getMatchingIndexingMap(&operand), f);
      if (!ok)
        break;
      first = f;
    }
    if (first == loops - 1)
      return op;
    ReassociationIndices group;
    for (int64_t d = first; d < loops; ++d)
      group.push_back(d);
    r.setInsertionPoint(op);
    FailureOr<linalg::CollapseResult> collapsed = linalg::collapseOpIterationDims(op, {group}, r);
    if (failed(collapsed))
      return op;
    r.eraseOp(op);
    return cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
  }

  /// An elementwise op whose innermost loop walks the output's innermost
  /// dim but not that of one of its inputs (a transpose: a direct
  /// convolution's [.., positions, NR] result moved into NCHW, its bias
  /// and activation applied on the way), in square blocks of one vector
  /// per row: the block's rows of that input read as vectors along its
  /// innermost dim, transposed in registers by log2(lanes) rounds of
  /// two-vector shuffles (each swaps the off-diagonal sub-blocks of one
  /// size), the body applied to each row of the result with the other
  /// operands read as vectors along the output's innermost dim or as one
  /// scalar per row (a bias per channel), then written as vectors along
  /// the output's. Element by element, every read was a gather across cache
  /// lines: ResNet-50's 7x7 stem spent 1.2 ms moving its 3.2 MB result, a
  /// third of its convolution. What does not fill a block is computed an
  /// element at a time. False (nothing emitted) where `op` is no such op.
  bool emitTranspose(RewriterBase &r, linalg::GenericOp op, int64_t lanes) {
    if (op.getNumDpsInits() != 1 || op.getNumDpsInputs() == 0 || lanes < 2 ||
        !llvm::isPowerOf2_64(lanes))
      return false;
    Block &body = op.getRegion().front();
    if (llvm::any_of(body.getOperations(), llvm::IsaPred<linalg::IndexOp>))
      return false;
    OpOperand *init = op.getDpsInitOperand(0);
    Value out = init->get();
    auto outType = llvm::dyn_cast<MemRefType>(out.getType());
    AffineMap outMap = op.getMatchingIndexingMap(init);
    int64_t loops = op.getNumLoops(), inner = loops - 1;
    if (!outType || !outType.getElementType().isF32() || !unitInnerStride(outType) ||
        !outMap.isIdentity())
      return false;
    // The input read across the rows of a block: a permutation whose
    // innermost dim is walked by loop q.
    OpOperand *moved = nullptr;
    int64_t q = -1;
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto t = llvm::dyn_cast<MemRefType>(in->get().getType());
      AffineMap map = op.getMatchingIndexingMap(in);
      if (!t || !t.getElementType().isF32() || !unitInnerStride(t) || t.getRank() < 2 ||
          !map.isPermutation() || map.getDimPosition(map.getNumResults() - 1) == inner)
        continue;
      moved = in;
      q = map.getDimPosition(map.getNumResults() - 1);
      break;
    }
    if (!moved)
      return false;
    // The others: read along the output's innermost dim as it is, or not
    // along it at all.
    for (OpOperand &operand : op->getOpOperands()) {
      if (&operand == moved ||
          body.getArgument(operand.getOperandNumber()).use_empty())
        continue;
      auto t = llvm::dyn_cast<MemRefType>(operand.get().getType());
      AffineMap map = op.getMatchingIndexingMap(&operand);
      if (!t || !map.isProjectedPermutation() || !bodyType(t.getElementType()))
        return false;
      if (map.isFunctionOfDim(inner) &&
          (map.getDimPosition(map.getNumResults() - 1) != inner || !unitInnerStride(t) ||
           !vectorizableElement(t.getElementType())))
        return false;
    }
    // (A thread's tile can be dynamic along either dim: its whole blocks
    // are counted at run time.)
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    auto tooShort = [&](int64_t range) { return !ShapedType::isDynamic(range) && range < lanes; };
    if (tooShort(ranges[inner]) || tooShort(ranges[q]))
      return false;
    Location loc = op.getLoc();
    r.setInsertionPoint(op);
    SmallVector<Range, 4> loopRanges =
        cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(r, loc);
    Value zero = arith::ConstantIndexOp::create(r, loc, 0);
    Value one = arith::ConstantIndexOp::create(r, loc, 1);
    SmallVector<Value> lbs, ubs, steps;
    SmallVector<int64_t> looped;
    for (int64_t d = 0; d < loops; ++d) {
      if (d == inner || d == q || getConstantIntValue(loopRanges[d].size) == 1)
        continue;
      looped.push_back(d);
      lbs.push_back(zero);
      ubs.push_back(getValueOrCreateConstantIndexOp(r, loc, loopRanges[d].size));
      steps.push_back(one);
    }
    Value lanesValue = arith::ConstantIndexOp::create(r, loc, lanes);
    auto wholeBlocksEnd = [&](Value size) {
      return r.createOrFold<arith::SubIOp>(
          loc, size, r.createOrFold<arith::RemUIOp>(loc, size, lanesValue));
    };
    Value p = getValueOrCreateConstantIndexOp(r, loc, loopRanges[inner].size);
    Value n = getValueOrCreateConstantIndexOp(r, loc, loopRanges[q].size);
    Value pMain = wholeBlocksEnd(p), nMain = wholeBlocksEnd(n);
    auto vecType = VectorType::get({lanes}, r.getF32Type());
    AffineMap movedMap = op.getMatchingIndexingMap(moved);
    scf::buildLoopNest(r, loc, lbs, ubs, steps, [&](OpBuilder &b, Location l, ValueRange ivs) {
      SmallVector<Value> dims(loops, zero);
      for (auto [d, iv] : llvm::zip(looped, ivs))
        dims[d] = iv;
      auto at = [&](int64_t d, Value v) {
        SmallVector<Value> x = dims;
        x[d] = v;
        return x;
      };
      auto forRange = [&](Value from, Value to, int64_t step,
                          function_ref<void(OpBuilder &, Value)> f) {
        std::optional<int64_t> first = getConstantIntValue(from), last = getConstantIntValue(to);
        if (first && last && *first >= *last)
          return;
        auto loop = scf::ForOp::create(b, l, from, to, arith::ConstantIndexOp::create(b, l, step));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        f(b, loop.getInductionVar());
      };
      // The body at `x` (loop values; `len` lanes along the innermost loop
      // from x[inner], or one element where len is 0), the moved input's
      // value given.
      auto apply = [&](OpBuilder &b, ArrayRef<Value> x, Value movedValue, int64_t len) {
        IRMapping mapping;
        auto typeOf = [&](Type t) -> Type {
          return len ? Type(VectorType::get({len}, t)) : t;
        };
        auto splat = [&](Value v) -> Value {
          return len ? Value(vector::BroadcastOp::create(b, l, typeOf(v.getType()), v)) : v;
        };
        for (OpOperand &operand : op->getOpOperands()) {
          BlockArgument arg = body.getArgument(operand.getOperandNumber());
          if (arg.use_empty())
            continue;
          if (&operand == moved) {
            mapping.map(arg, movedValue);
            continue;
          }
          Value v = operand.get();
          if (!llvm::isa<MemRefType>(v.getType())) {
            mapping.map(arg, splat(v));
            continue;
          }
          AffineMap map = op.getMatchingIndexingMap(&operand);
          SmallVector<Value> idx = indicesAt(b, l, map, x);
          if (len && map.isFunctionOfDim(inner))
            mapping.map(arg, vector::LoadOp::create(b, l, typeOf(arg.getType()), v, idx));
          else
            mapping.map(arg, splat(memref::LoadOp::create(b, l, v, idx)));
        }
        auto lookup = [&](Value v) -> Value {
          if (Value m = mapping.lookupOrNull(v))
            return m;
          Value s = splat(v); // defined outside the body
          mapping.map(v, s);
          return s;
        };
        for (Operation &o : body.without_terminator())
          rebuildBodyOp(b, o, mapping, lookup, splat, typeOf);
        Value result = lookup(cast<linalg::YieldOp>(body.getTerminator()).getValues()[0]);
        SmallVector<Value> idx = indicesAt(b, l, outMap, x);
        if (len)
          vector::StoreOp::create(b, l, result, out, idx);
        else
          memref::StoreOp::create(b, l, result, out, idx);
      };
      // Whole blocks.
      forRange(zero, pMain, lanes, [&](OpBuilder &b, Value p0) {
        dims[inner] = p0;
        forRange(zero, nMain, lanes, [&](OpBuilder &b, Value q0) {
          dims[q] = q0;
          SmallVector<Value> rows;
          for (int64_t i = 0; i < lanes; ++i) {
            Value pi = arith::AddIOp::create(b, l, p0, arith::ConstantIndexOp::create(b, l, i));
            rows.push_back(vector::LoadOp::create(b, l, vecType, moved->get(),
                                                  indicesAt(b, l, movedMap, at(inner, pi))));
          }
          for (int64_t size = lanes / 2; size >= 1; size /= 2) {
            SmallVector<int64_t> low, high;
            for (int64_t x = 0; x < lanes; ++x) {
              low.push_back((x & size) ? lanes + x - size : x);
              high.push_back((x & size) ? lanes + x : x + size);
            }
            for (int64_t i = 0; i < lanes; ++i) {
              if (i & size)
                continue;
              Value a = rows[i], c = rows[i + size];
              rows[i] = vector::ShuffleOp::create(b, l, a, c, low);
              rows[i + size] = vector::ShuffleOp::create(b, l, a, c, high);
            }
          }
          for (int64_t k = 0; k < lanes; ++k) {
            Value qk = arith::AddIOp::create(b, l, q0, arith::ConstantIndexOp::create(b, l, k));
            apply(b, at(q, qk), rows[k], lanes);
          }
        });
      });
      // The rest, an element at a time: the columns past the last whole
      // block of every row, then the rows past the last whole block.
      auto element = [&](OpBuilder &b, Value pi, Value qi) {
        SmallVector<Value> x = dims;
        x[inner] = pi;
        x[q] = qi;
        apply(b, x, memref::LoadOp::create(b, l, moved->get(), indicesAt(b, l, movedMap, x)), 0);
      };
      forRange(zero, pMain, 1, [&](OpBuilder &b, Value pi) {
        forRange(nMain, n, 1, [&](OpBuilder &b, Value qi) { element(b, pi, qi); });
      });
      forRange(pMain, p, 1, [&](OpBuilder &b, Value pi) {
        forRange(zero, n, 1, [&](OpBuilder &b, Value qi) { element(b, pi, qi); });
      });
    });
    return true;
  }

  /// The indices `map` takes at `outer` of the other loops and `at` of the
  /// innermost.
  static SmallVector<Value> indices(OpBuilder &b, Location loc, AffineMap map,
                                    ValueRange outer, Value at) {
    SmallVector<Value> dims(outer.begin(), outer.end());
    dims.push_back(at);
    return indicesAt(b, loc, map, dims);
  }

  /// The buffer `v` is a view of.
  static Value bufferOf(Value v) {
    while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
      v = view.getViewSource();
    return v;
  }

  /// The unrolled epilogue `first`..`last` (the ops emitted for an op
  /// writing `out`) follows the stores of the kernel tile before it into
  /// `out`'s buffer: its reads of other buffers (a bias per row) move above
  /// those stores, with the pure ops they need. Its loads of `out` then
  /// read what the stores just wrote, with nothing in between that might
  /// read it, and LLVM both forwards the stored registers and drops the
  /// stores the epilogue overwrites (a bias read between them may alias the
  /// output, as far as LLVM knows, and kept every store: a quarter of
  /// small_cnn's first convolution). Other buffers are not views of
  /// `out`'s (as kiln-fuse-epilogues requires of the epilogue's inputs).
  static void hoistReadsAboveStores(Operation *first, Operation *last, Value out) {
    Value buffer = bufferOf(out);
    auto storesOut = [&](Operation *o) {
      if (auto s = dyn_cast<vector::StoreOp>(o))
        return bufferOf(s.getBase()) == buffer;
      if (auto s = dyn_cast<memref::StoreOp>(o))
        return bufferOf(s.getMemRef()) == buffer;
      return false;
    };
    // The run of stores into `out`'s buffer before the epilogue (pure
    // ops, views and constants, may sit among them).
    Operation *runStart = nullptr;
    for (Operation *o = first->getPrevNode(); o; o = o->getPrevNode()) {
      if (storesOut(o))
        runStart = o;
      else if (!isPure(o))
        break;
    }
    if (!runStart)
      return;
    Block *block = runStart->getBlock();
    auto afterRun = [&](Operation *o) {
      return o && o->getBlock() == block && !o->isBeforeInBlock(runStart);
    };
    // (Every op the load needs that is after the run's start is pure.)
    std::function<bool(Operation *, SetVector<Operation *> &)> gather =
        [&](Operation *o, SetVector<Operation *> &needed) {
          for (Value v : o->getOperands()) {
            Operation *def = v.getDefiningOp();
            if (!afterRun(def) || needed.contains(def))
              continue;
            if (!isPure(def) || def->getNumRegions() || !gather(def, needed))
              return false;
          }
          needed.insert(o);
          return true;
        };
    SmallVector<memref::LoadOp> reads;
    for (Operation *o = first; o; o = o == last ? nullptr : o->getNextNode())
      if (auto load = dyn_cast<memref::LoadOp>(o); load && bufferOf(load.getMemRef()) != buffer)
        reads.push_back(load);
    for (memref::LoadOp load : reads) {
      SetVector<Operation *> needed;
      if (!gather(load, needed))
        continue;
      // In block order: operands before their users.
      SmallVector<Operation *> ordered(needed.begin(), needed.end());
      llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
      for (Operation *o : ordered)
        o->moveBefore(runStart);
    }
  }

  /// Loops over every dim but the innermost, then the innermost by `width`
  /// elements, the remainder in tiles of powers of two (static) or an element at
  /// a time (unknown until the code runs).
  void emit(RewriterBase &r, linalg::GenericOp op, int64_t width) {
    Location loc = op.getLoc();
    Operation *before = op->getPrevNode();
    r.setInsertionPoint(op);
    SmallVector<Range, 4> ranges = cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(r, loc);
    int64_t loops = ranges.size();
    Value zero = arith::ConstantIndexOp::create(r, loc, 0);
    Value one = arith::ConstantIndexOp::create(r, loc, 1);
    // Loops over the other dims but those of one element.
    SmallVector<Value> lbs, ubs, steps;
    SmallVector<int64_t> looped;
    for (int64_t d = 0; d + 1 < loops; ++d) {
      if (getConstantIntValue(ranges[d].size) == 1)
        continue;
      looped.push_back(d);
      lbs.push_back(zero);
      ubs.push_back(getValueOrCreateConstantIndexOp(r, loc, ranges[d].size));
      steps.push_back(one);
    }
    OpFoldResult n = ranges.back().size;
    SmallVector<scf::ForOp> tileLoops;
    scf::LoopNest nest = scf::buildLoopNest(r, loc, lbs, ubs, steps, [&](OpBuilder &b, Location l, ValueRange loopIvs) {
      SmallVector<Value> ivs(loops - 1, zero);
      for (auto [d, iv] : llvm::zip(looped, loopIvs))
        ivs[d] = iv;
      // Operands the innermost loop does not walk: one scalar per row,
      // read before its loop.
      DenseMap<unsigned, Value> rowScalars;
      for (OpOperand &operand : op->getOpOperands()) {
        AffineMap map = op.getMatchingIndexingMap(&operand);
        if (llvm::isa<MemRefType>(operand.get().getType()) && !map.isFunctionOfDim(loops - 1) &&
            !op.getRegion().front().getArgument(operand.getOperandNumber()).use_empty())
          rowScalars[operand.getOperandNumber()] =
              memref::LoadOp::create(b, l, operand.get(), indices(b, l, map, ivs, zero));
      }
      std::optional<int64_t> known = getConstantIntValue(n);
      if (Operation *combiner = innermostReduction(op)) {
        reduceRow(b, l, op, combiner, ivs, n, width, rowScalars);
        return;
      }
      Value step = arith::ConstantIndexOp::create(b, l, width);
      auto tiles = [&](Value from, Value to, Value by, int64_t len) {
        auto loop = scf::ForOp::create(b, l, from, to, by);
        tileLoops.push_back(loop);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        tile(b, l, op, ivs, loop.getInductionVar(), len, rowScalars);
        moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
      };
      if (known) {
        int64_t main = *known - *known % width;
        if (main > 0)
          tiles(arith::ConstantIndexOp::create(b, l, 0), arith::ConstantIndexOp::create(b, l, main),
                step, width);
        // The remainder in vectors of powers of two: LLVM splits a vector
        // of 25 lanes into single elements.
        for (int64_t at = main, len = width; at < *known; len /= 2) {
          if (*known - at < len)
            continue;
          tile(b, l, op, ivs, arith::ConstantIndexOp::create(b, l, at), len, rowScalars);
          at += len;
        }
        return;
      }
      Value total = getValueOrCreateConstantIndexOp(b, l, n);
      Value main = arith::SubIOp::create(b, l, total, arith::RemUIOp::create(b, l, total, step));
      tiles(arith::ConstantIndexOp::create(b, l, 0), main, step, width);
      tiles(main, total, arith::ConstantIndexOp::create(b, l, 1), 1);
    });
    // A small op of static shape inside a loop (an epilogue's register
    // tile) is unrolled: its loads then read the very addresses the kernel
    // before it stored, which LLVM forwards from registers (and the
    // overwritten stores die), where a loop waited on each store to reach
    // its load. (Ops outside loops stay loops: kiln-outline-kernels makes
    // kernels, timed by the profiler, of loop nests.)
    auto trips = [](scf::ForOp f) -> int64_t {
      std::optional<APInt> t = f.getStaticTripCount();
      return t ? t->getSExtValue() : -1;
    };
    int64_t vectors = 1;
    for (scf::ForOp f : nest.loops)
      vectors = trips(f) < 0 ? -1 : vectors * trips(f);
    int64_t rowTiles = 0;
    for (scf::ForOp f : tileLoops)
      rowTiles = trips(f) < 0 || rowTiles < 0 ? -1 : rowTiles + trips(f);
    if (op->getParentOfType<scf::ForOp>() && vectors > 0 && rowTiles >= 0 &&
        vectors * std::max<int64_t>(rowTiles, 1) <= kMaxUnrolledVectors) {
      for (scf::ForOp f : tileLoops)
        (void)loopUnrollFull(f);
      for (scf::ForOp f : llvm::reverse(nest.loops))
        (void)loopUnrollFull(f);
      Operation *first = before ? before->getNextNode() : &op->getBlock()->front();
      if (first != op.getOperation())
        hoistReadsAboveStores(first, op->getPrevNode(), op.getDpsInits()[0]);
    }
  }

  /// `combiner` (an op of the body) applied to `x` and `y` (vectors or
  /// scalars of one type).
  static Value combine(OpBuilder &b, Location loc, Operation *combiner, Value x, Value y) {
    OperationState state(loc, combiner->getName());
    state.addOperands({x, y});
    state.addAttributes(combiner->getAttrs());
    state.addTypes(x.getType());
    return b.create(state)->getResult(0);
  }

  /// `v`'s lanes combined by `combiner` (reassociated: a tree of shuffles,
  /// not one lane after another).
  static Value acrossLanes(OpBuilder &b, Location loc, Operation *combiner, Value v) {
    auto reduction = vector::ReductionOp::create(b, loc, *combiningKind(combiner), v);
    if (isa<FloatType>(getElementTypeOrSelf(v.getType())))
      reduction.setFastmath(arith::FastMathFlags::reassoc);
    return reduction.getResult();
  }

  /// One row of a reduction along the innermost loop, at `outer` of the
  /// other loops: tiles of `width` elements combined into an accumulator
  /// of `width` lanes, the remainder in tiles of powers of two (static) or
  /// an element at a time, then the lanes, then the result's element.
  void reduceRow(OpBuilder &b, Location loc, linalg::GenericOp op, Operation *combiner,
                 ValueRange outer, OpFoldResult n, int64_t width,
                 const DenseMap<unsigned, Value> &rowScalars) {
    OpOperand *init = op.getDpsInitOperand(0);
    Type element = getElementTypeOrSelf(init->get().getType());
    TypedAttr neutral = *arith::getNeutralElement(combiner);
    auto vectorType = VectorType::get({width}, element);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value step = arith::ConstantIndexOp::create(b, loc, width);
    std::optional<int64_t> known = getConstantIntValue(n);
    Value total = getValueOrCreateConstantIndexOp(b, loc, n);
    Value main = known ? Value(arith::ConstantIndexOp::create(b, loc, *known - *known % width))
                       : Value(arith::SubIOp::create(b, loc, total,
                                                     arith::RemUIOp::create(b, loc, total, step)));
    Value start = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, neutral));
    auto loop = scf::ForOp::create(
        b, loc, zero, main, step, ValueRange{start},
        [&](OpBuilder &nb, Location l, Value at, ValueRange acc) {
          Value elements = tile(nb, l, op, outer, at, width, rowScalars, combiner);
          scf::YieldOp::create(nb, l, combine(nb, l, combiner, acc[0], elements));
        });
    moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
    Value sum = acrossLanes(b, loc, combiner, loop.getResult(0));
    if (known) {
      for (int64_t at = *known - *known % width, len = width; at < *known; len /= 2) {
        if (*known - at < len)
          continue;
        Value elements = tile(b, loc, op, outer, arith::ConstantIndexOp::create(b, loc, at), len,
                              rowScalars, combiner);
        sum = combine(b, loc, combiner, sum, acrossLanes(b, loc, combiner, elements));
        at += len;
      }
    } else {
      auto rest = scf::ForOp::create(
          b, loc, main, total, arith::ConstantIndexOp::create(b, loc, 1), ValueRange{sum},
          [&](OpBuilder &nb, Location l, Value at, ValueRange acc) {
            Value one = tile(nb, l, op, outer, at, 1, rowScalars, combiner);
            Value scalar = vector::ExtractOp::create(nb, l, one, ArrayRef<int64_t>{0});
            scf::YieldOp::create(nb, l, combine(nb, l, combiner, acc[0], scalar));
          });
      sum = rest.getResult(0);
    }
    Value result = combine(b, loc, combiner, rowScalars.lookup(init->getOperandNumber()), sum);
    memref::StoreOp::create(b, loc, result, init->get(),
                            indices(b, loc, op.getMatchingIndexingMap(init), outer, zero));
  }

  /// One tile of `len` elements of the innermost dim from `at`, at `outer`
  /// of the other dims: each operand read as a vector (or a broadcast
  /// scalar), the body applied to vectors, the results stored. For a
  /// reduction (its `combiner` given), the elements to combine are returned
  /// instead, and nothing is stored.
  Value tile(OpBuilder &b, Location loc, linalg::GenericOp op, ValueRange outer, Value at,
             int64_t len, const DenseMap<unsigned, Value> &rowScalars,
             Operation *combiner = nullptr) {
    int64_t inner = op.getNumLoops() - 1;
    auto vectorOf = [&](Type t) { return VectorType::get({len}, t); };
    IRMapping mapping;
    auto broadcast = [&](Value scalar) -> Value {
      return vector::BroadcastOp::create(b, loc, vectorOf(scalar.getType()), scalar);
    };
    Block &body = op.getRegion().front();
    for (OpOperand &operand : op->getOpOperands()) {
      BlockArgument arg = body.getArgument(operand.getOperandNumber());
      if (arg.use_empty() || (combiner && op.isDpsInit(&operand)))
        continue;
      Value v = operand.get();
      if (!llvm::isa<MemRefType>(v.getType())) {
        mapping.map(arg, broadcast(v));
        continue;
      }
      AffineMap map = op.getMatchingIndexingMap(&operand);
      if (map.isFunctionOfDim(inner)) {
        int64_t stride = rowAccess(map, inner)->stride;
        SmallVector<Value> idx = indices(b, loc, map, outer, at);
        mapping.map(arg, stride == 1
                             ? vector::LoadOp::create(b, loc, vectorOf(arg.getType()), v, idx)
                             : loadEveryNth(b, loc, v, idx, len, stride));
      } else
        mapping.map(arg, broadcast(rowScalars.lookup(operand.getOperandNumber())));
    }
    auto lookup = [&](Value v) -> Value {
      if (Value m = mapping.lookupOrNull(v))
        return m;
      // Defined outside the body: the same scalar in every lane.
      Value splat = broadcast(v);
      mapping.map(v, splat);
      return splat;
    };
    for (Operation &o : body.without_terminator()) {
      if (&o == combiner)
        continue;
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        int64_t d = index.getDim();
        Value v;
        if (d == inner) {
          auto type = vectorOf(b.getIndexType());
          v = arith::AddIOp::create(b, loc, vector::StepOp::create(b, loc, type),
                                    vector::BroadcastOp::create(b, loc, type, at));
        } else {
          v = broadcast(outer[d]);
        }
        mapping.map(index.getResult(), v);
        continue;
      }
      rebuildBodyOp(b, o, mapping, lookup, broadcast, [&](Type t) -> Type { return vectorOf(t); });
    }
    if (combiner) {
      BlockArgument result = body.getArgument(op.getDpsInitOperand(0)->getOperandNumber());
      return lookup(combiner->getOperand(combiner->getOperand(0) == result ? 1 : 0));
    }
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    for (auto [value, init] : llvm::zip(yield.getValues(), op.getDpsInitsMutable())) {
      vector::StoreOp::create(b, loc, lookup(value), init.get(),
                              indices(b, loc, op.getMatchingIndexingMap(&init), outer, at));
    }
    return {};
  }
};

struct VectorizeElementwisePass : impl::KilnVectorizeElementwiseBase<VectorizeElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> todo;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (int64_t bits = widestElement(op))
        todo.push_back({op, bits});
    });
    if (todo.empty())
      return;
    int64_t width = vectorBits > 0 ? vectorBits : TargetInfo::host().vectorBits;
    ElementwiseVectorizer vectorizer(&getContext());
    for (auto [op, bits] : todo)
      vectorizer.run(op, kVectorsPerTile * std::max<int64_t>(1, width / bits));
  }
};

} // namespace
} // namespace kiln
