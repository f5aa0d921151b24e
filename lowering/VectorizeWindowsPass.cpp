//===- VectorizeWindowsPass.cpp - kiln-vectorize-windows ------------------===//
//
// Linalg ops on f32 buffers that reduce a window of their input into each
// output element (pooling, depthwise and other convolutions that no
// strategy configured) become vector code along the output row:
//
//   loops       every parallel loop but the output's innermost one, an
//               element at a time; the innermost by two vectors, its
//               remainder in vectors of powers of two
//   window      the reduction loops inside, the output tile held in
//               registers across them (read once, written once)
//   operands    read along the output row as `s * j + tap`: one vector
//               where s = 1, s vectors' worth (masked: nothing past the last
//               element used) whose every s-th lane is kept where s > 1;
//               operands the row does not walk (a filter tap) as one scalar
//               broadcast
//
// As loops, LLVM left these scalar: their operands are memref descriptors
// it cannot prove distinct, so it reloads the filter and stores the sum at
// every tap (a 3x3 stride-2 depthwise convolution over 96 channels of
// 112x112 ran at 2.5 GFLOP/s; MaxPool 3x3/2 one element at a time).
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEWINDOWS
#include "lowering/Passes.h.inc"

namespace {
/// Vectors per tile of the output row: each is one chain of the window's
/// operations (a 3x3 window: 9 FMAs of 4 cycles' latency each, one after
/// the other), and it takes eight chains to keep two FMA units busy. With
/// two, a depthwise 3x3 convolution over 144 channels of 56x56 waited on
/// its FMAs' latency most of the time.
constexpr int64_t kVectorsPerTile = 8;
/// Windows of up to this many taps are unrolled: LLVM does not unroll the
/// loops of vector kernels (see kiln::compileToObjects), and a rolled 3x3
/// window spent as much on its loop as on its two FMAs per tap.
constexpr int64_t kUnrolledTaps = 49;
/// The output's innermost loop, if `op` is a window reduction this pass
/// vectorizes; -1 otherwise.
int64_t rowLoop(linalg::LinalgOp op, int64_t lanes) {
  if (!op.hasPureBufferSemantics() || configOf(op) || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0 || op->getNumRegions() != 1)
    return -1;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, [](int64_t r) { return r == 0; }))
    return -1;
  OpOperand *init = op.getDpsInitOperand(0);
  AffineMap out = op.getMatchingIndexingMap(init);
  if (!out.isProjectedPermutation() || out.getNumResults() == 0 ||
      static_cast<int64_t>(out.getNumResults()) != op.getNumParallelLoops())
    return -1;
  int64_t inner = out.getDimPosition(out.getNumResults() - 1);
  // The row and the window need static sizes; the other loops (a thread's
  // share of the channels) may end where the code runs.
  auto iters = op.getIteratorTypesArray();
  for (auto [d, r] : llvm::enumerate(ranges))
    if (ShapedType::isDynamic(r) &&
        (static_cast<int64_t>(d) == inner || iters[d] != utils::IteratorType::parallel))
      return -1;
  // A row too short for half a 256-bit vector is not worth vector code.
  // (Half a 512-bit one was the bound: 7x7 maps, 7 elements a row, stayed
  // scalar loops on AVX-512 hosts, whose sums LLVM keeps in memory; a 3x3
  // MaxPool over 1024 channels of 7x7 took 18 times ONNX Runtime's time.
  // Narrower rows are vectors of 4, 2 and 1 lanes, summed in registers.)
  if (2 * ranges[inner] < std::min<int64_t>(lanes, 8))
    return -1;
  Block &body = op->getRegion(0).front();
  for (OpOperand &operand : op->getOpOperands()) {
    auto t = llvm::dyn_cast<MemRefType>(operand.get().getType());
    if (!t || !t.getElementType().isF32())
      return -1;
    if (body.getArgument(operand.getOperandNumber()).use_empty() && !op.isDpsInit(&operand))
      continue;
    std::optional<RowAccess> a = rowAccess(op.getMatchingIndexingMap(&operand), inner);
    if (!a || (a->walks && !unitInnerStride(t)) || (op.isDpsInit(&operand) && a->stride != 1))
      return -1;
  }
  for (Operation &o : body.without_terminator()) {
    Dialect *d = o.getDialect();
    if (!d || (d->getNamespace() != "arith" && d->getNamespace() != "math") ||
        o.getNumRegions() != 0 || isa<arith::ConstantOp>(o))
      return -1;
    for (Type t : llvm::concat<const Type>(o.getResultTypes(), o.getOperandTypes()))
      if (!t.isF32() && !t.isInteger(1))
        return -1;
  }
  return inner;
}

class WindowVectorizer {
public:
  WindowVectorizer(linalg::GenericOp op, int64_t inner) : op(op), inner(inner) {}

  void emit(RewriterBase &r, int64_t width) {
    Location loc = op.getLoc();
    r.setInsertionPoint(op);
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<Range, 4> sizes = cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(r, loc);
    int64_t loops = ranges.size();
    Value zero = arith::ConstantIndexOp::create(r, loc, 0);
    Value one = arith::ConstantIndexOp::create(r, loc, 1);
    SmallVector<Value> lbs, ubs, steps;
    SmallVector<int64_t> outer;
    auto iters = op.getIteratorTypesArray();
    for (int64_t d = 0; d < loops; ++d) {
      if (d == inner || iters[d] != utils::IteratorType::parallel || ranges[d] == 1)
        continue;
      outer.push_back(d);
      lbs.push_back(zero);
      ubs.push_back(getValueOrCreateConstantIndexOp(r, loc, sizes[d].size));
      steps.push_back(one);
    }
    int64_t n = ranges[inner], main = n - n % width;
    scf::buildLoopNest(r, loc, lbs, ubs, steps, [&](OpBuilder &b, Location l, ValueRange ivs) {
      SmallVector<Value> dims(loops, zero);
      for (auto [d, iv] : llvm::zip(outer, ivs))
        dims[d] = iv;
      if (main > 0) {
        auto loop = scf::ForOp::create(b, l, arith::ConstantIndexOp::create(b, l, 0),
                                       arith::ConstantIndexOp::create(b, l, main),
                                       arith::ConstantIndexOp::create(b, l, width));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        dims[inner] = loop.getInductionVar();
        tile(b, l, dims, width);
      }
      // The remainder in vectors of powers of two: LLVM splits a vector of
      // 24 lanes into single elements.
      for (int64_t at = main, len = width; at < n; len /= 2) {
        if (n - at < len)
          continue;
        dims[inner] = arith::ConstantIndexOp::create(b, l, at);
        tile(b, l, dims, len);
        at += len;
      }
    });
  }

  /// The constant every output starts from when the op before `op` fills
  /// exactly its output with it (the zero a convolution accumulates onto):
  /// the tiles start from it in registers and the fill, a pass over the
  /// output, is erased.
  void startFromFill(RewriterBase &r) {
    // (A new buffer in between, a pooling's window shape, writes nothing.)
    Operation *prev = op->getPrevNode();
    while (prev && ((isMemoryEffectFree(prev) && prev->getNumRegions() == 0) ||
                    isa<memref::AllocOp, memref::AllocaOp>(prev)))
      prev = prev->getPrevNode();
    auto fill = dyn_cast_or_null<linalg::FillOp>(prev);
    if (!fill || !fill.hasPureBufferSemantics() ||
        fill.getOutputs()[0] != op.getDpsInitOperand(0)->get() ||
        !fill.getInputs()[0].getType().isF32())
      return;
    initial = fill.getInputs()[0];
    r.eraseOp(fill);
  }

private:
  linalg::GenericOp op;
  int64_t inner;
  Value initial;

  /// `len` outputs of the row from dims[inner]: the tile loaded (or set to
  /// `initial`), the window's taps applied to it on vectors, the tile
  /// stored.
  void tile(OpBuilder &b, Location loc, SmallVector<Value> dims, int64_t len) {
    auto vecType = VectorType::get({len}, b.getF32Type());
    OpOperand *init = op.getDpsInitOperand(0);
    AffineMap outMap = op.getMatchingIndexingMap(init);
    Value acc = initial ? Value(vector::BroadcastOp::create(b, loc, vecType, initial))
                        : Value(vector::LoadOp::create(b, loc, vecType, init->get(),
                                                       indicesAt(b, loc, outMap, dims)));
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    auto iters = op.getIteratorTypesArray();
    SmallVector<int64_t> window;
    int64_t taps = 1;
    for (int64_t d = 0; d < static_cast<int64_t>(ranges.size()); ++d)
      if (iters[d] == utils::IteratorType::reduction) {
        window.push_back(d);
        taps *= ranges[d];
      }
    if (taps <= kUnrolledTaps) {
      Value sawNaN;
      for (int64_t t = 0; t < taps; ++t) {
        for (int64_t i = window.size() - 1, rest = t; i >= 0; --i) {
          dims[window[i]] = arith::ConstantIndexOp::create(b, loc, rest % ranges[window[i]]);
          rest /= ranges[window[i]];
        }
        Value before = acc;
        acc = step(b, loc, dims, len, acc);
        if (auto max = acc.getDefiningOp<arith::MaximumFOp>())
          acc = deferNaN(b, loc, max, before, sawNaN);
      }
      if (sawNaN) {
        Value nan = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(vecType, APFloat::getQNaN(APFloat::IEEEsingle())));
        acc = arith::SelectOp::create(b, loc, sawNaN, nan, acc);
      }
      vector::StoreOp::create(b, loc, acc, init->get(), indicesAt(b, loc, outMap, dims));
      return;
    }
    // The window's loops, the tile carried through them.
    SmallVector<scf::ForOp> nest;
    Value carried = acc;
    OpBuilder::InsertionGuard guard(b);
    for (int64_t d : window) {
      auto loop = scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                                     arith::ConstantIndexOp::create(b, loc, ranges[d]),
                                     arith::ConstantIndexOp::create(b, loc, 1), ValueRange{carried});
      if (!nest.empty())
        scf::YieldOp::create(b, loc, loop.getResults());
      nest.push_back(loop);
      b.setInsertionPointToStart(loop.getBody());
      dims[d] = loop.getInductionVar();
      carried = loop.getRegionIterArgs()[0];
    }
    Value result = step(b, loc, dims, len, carried);
    scf::YieldOp::create(b, loc, result);
    b.setInsertionPointAfter(nest.front());
    for (scf::ForOp loop : llvm::reverse(nest))
      moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
    vector::StoreOp::create(b, loc, nest.front().getResult(0), init->get(),
                            indicesAt(b, loc, outMap, dims));
  }

  /// A NaN-propagating max of the running maximum `acc` and a tap `x`
  /// (`max`) as `x > acc ? x : acc`, one instruction (vmaxps), with the
  /// NaNs among the taps collected in `sawNaN` and put back once, after
  /// the window. As a compare and a blend per tap it was a chain through
  /// mask registers: a 3x3 MaxPool over rows of 7 ran at a tenth of ONNX
  /// Runtime's speed. (A NaN already in `acc` stays: `x > NaN` is false.
  /// Of +0 and -0, the one met first is kept.)
  Value deferNaN(OpBuilder &b, Location loc, arith::MaximumFOp max, Value acc, Value &sawNaN) {
    Value x = max.getLhs() == acc ? max.getRhs() : max.getLhs();
    if (x == acc || (max.getLhs() != acc && max.getRhs() != acc))
      return max;
    // The first tap after a start at -inf is the tap itself (a NaN in it
    // stays: nothing is greater than NaN).
    if (auto start = acc.getDefiningOp<vector::BroadcastOp>()) {
      FloatAttr c;
      if (matchPattern(start.getSource(), m_Constant(&c)) && c.getValue().isInfinity() &&
          c.getValue().isNegative()) {
        max.replaceAllUsesWith(x);
        max.erase();
        return x;
      }
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(max);
    Value greater = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, acc);
    Value kept = arith::SelectOp::create(b, loc, greater, x, acc);
    Value nan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
    sawNaN = sawNaN ? Value(arith::OrIOp::create(b, loc, sawNaN, nan)) : nan;
    max.replaceAllUsesWith(kept);
    max.erase();
    return kept;
  }

  /// One step of the window: each operand's vector (or broadcast scalar)
  /// at `dims`, the body applied to them and to `acc`.
  Value step(OpBuilder &b, Location loc, ArrayRef<Value> dims, int64_t len, Value acc) {
    Type f32 = b.getF32Type();
    auto vecType = VectorType::get({len}, f32);
    Block &body = op.getRegion().front();
    IRMapping mapping;
    for (OpOperand &operand : op->getOpOperands()) {
      BlockArgument arg = body.getArgument(operand.getOperandNumber());
      if (op.isDpsInit(&operand)) {
        mapping.map(arg, acc);
        continue;
      }
      if (arg.use_empty())
        continue;
      AffineMap map = op.getMatchingIndexingMap(&operand);
      RowAccess a = *rowAccess(map, inner);
      SmallVector<Value> idx = indicesAt(b, loc, map, dims);
      Value v;
      if (!a.walks) {
        v = vector::BroadcastOp::create(b, loc, vecType,
                                        memref::LoadOp::create(b, loc, operand.get(), idx));
      } else if (a.stride == 1) {
        v = vector::LoadOp::create(b, loc, vecType, operand.get(), idx);
      } else {
        v = loadEveryNth(b, loc, operand.get(), idx, len, a.stride);
      }
      mapping.map(arg, v);
    }
    auto lookup = [&](Value v) -> Value {
      if (Value m = mapping.lookupOrNull(v))
        return m;
      // Defined outside the body: the same scalar in every lane.
      auto type = VectorType::get({len}, v.getType());
      Value splat = vector::BroadcastOp::create(b, loc, type, v);
      mapping.map(v, splat);
      return splat;
    };
    for (Operation &o : body.without_terminator()) {
      OperationState state(o.getLoc(), o.getName());
      for (Value v : o.getOperands())
        state.addOperands(lookup(v));
      state.addAttributes(o.getAttrs());
      for (Type t : o.getResultTypes())
        state.addTypes(VectorType::get({len}, t));
      mapping.map(o.getResults(), b.create(state)->getResults());
    }
    return lookup(cast<linalg::YieldOp>(body.getTerminator()).getValues()[0]);
  }
};

struct VectorizeWindowsPass : impl::KilnVectorizeWindowsBase<VectorizeWindowsPass> {
  using Base::Base;

  void runOnOperation() override {
    int64_t bits = vectorBits > 0 ? vectorBits : TargetInfo::host().vectorBits;
    int64_t lanes = std::max<int64_t>(1, bits / 32);
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> todo;
    getOperation().walk([&](linalg::LinalgOp op) {
      int64_t inner = rowLoop(op, lanes);
      if (inner >= 0)
        todo.push_back({op, inner});
    });
    IRRewriter r(&getContext());
    for (auto [op, inner] : todo) {
      r.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(r, op);
        if (failed(g))
          continue;
        generic = *g;
      }
      WindowVectorizer vectorizer(generic, inner);
      vectorizer.startFromFill(r);
      vectorizer.emit(r, kVectorsPerTile * lanes);
      r.eraseOp(generic);
    }
  }
};

} // namespace
} // namespace kiln
