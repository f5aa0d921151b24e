//===- Strategy.cpp - lowering configurations for root ops ----------------===//
#include "lowering/Strategy.h"
#include "dialect/ConstantData.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include <cstring>
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace kiln {

TargetInfo TargetInfo::fromFeatures(llvm::ArrayRef<std::string> enabled) {
  auto has = [&](llvm::StringRef f) { return llvm::is_contained(enabled, f.str()); };
  TargetInfo t;
  if (has("avx512f")) {
    t.vectorBits = 512;
    t.vectorRegisters = 32;
  } else if (has("avx")) {
    t.vectorBits = 256;
    t.vectorRegisters = 16;
  } else {
    t.vectorBits = 128;
    t.vectorRegisters = 16;
  }
  t.int8DotProducts = has("avx512f") && has("avx512bw") && has("avx512vnni");
  return t;
}

TargetInfo TargetInfo::host() {
  std::vector<std::string> enabled;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      enabled.push_back(f.first().str());
  return fromFeatures(enabled);
}

DictionaryAttr LoweringConfig::toAttr(MLIRContext *ctx) const {
  Builder b(ctx);
  SmallVector<NamedAttribute> entries{
      b.getNamedAttr("kind", b.getStringAttr(kind)),
      b.getNamedAttr("threads", b.getDenseI64ArrayAttr(threads)),
      b.getNamedAttr("cache", b.getDenseI64ArrayAttr(cache)),
      b.getNamedAttr("registers", b.getDenseI64ArrayAttr(registers)),
      b.getNamedAttr("vector_dim", b.getI64IntegerAttr(vectorDim)),
      b.getNamedAttr("lanes", b.getI64IntegerAttr(lanes))};
  return b.getDictionaryAttr(entries);
}

std::optional<LoweringConfig> LoweringConfig::fromAttr(Attribute attr) {
  auto dict = llvm::dyn_cast_or_null<DictionaryAttr>(attr);
  if (!dict)
    return std::nullopt;
  auto kind = dict.getAs<StringAttr>("kind");
  auto threads = dict.getAs<DenseI64ArrayAttr>("threads");
  auto cache = dict.getAs<DenseI64ArrayAttr>("cache");
  auto registers = dict.getAs<DenseI64ArrayAttr>("registers");
  auto vectorDim = dict.getAs<IntegerAttr>("vector_dim");
  auto lanes = dict.getAs<IntegerAttr>("lanes");
  if (!kind || !threads || !cache || !registers || !vectorDim || !lanes)
    return std::nullopt;
  LoweringConfig c;
  c.kind = kind.str();
  c.threads.assign(threads.asArrayRef().begin(), threads.asArrayRef().end());
  c.cache.assign(cache.asArrayRef().begin(), cache.asArrayRef().end());
  c.registers.assign(registers.asArrayRef().begin(), registers.asArrayRef().end());
  c.vectorDim = vectorDim.getInt();
  c.lanes = lanes.getInt();
  return c;
}

std::optional<LoweringConfig> configOf(Operation *op) {
  return LoweringConfig::fromAttr(op->getAttr(kConfigAttrName));
}

SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map, ValueRange dims) {
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults()) {
    if (auto d = llvm::dyn_cast<AffineDimExpr>(e))
      idx.push_back(dims[d.getPosition()]);
    else
      idx.push_back(affine::AffineApplyOp::create(b, loc, AffineMap::get(map.getNumDims(), 0, e),
                                                  dims));
  }
  return idx;
}

bool unitInnerStride(MemRefType t) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return t.getRank() > 0 && succeeded(t.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

std::optional<RowAccess> rowAccess(AffineMap map, int64_t inner) {
  RowAccess a;
  if (!map.isFunctionOfDim(inner))
    return a;
  unsigned n = map.getNumResults();
  for (unsigned r = 0; r + 1 < n; ++r)
    if (map.getResult(r).isFunctionOfDim(inner))
      return std::nullopt;
  MLIRContext *ctx = map.getContext();
  AffineExpr last = map.getResult(n - 1);
  for (int64_t s = 1; s <= kMaxRowStride; ++s) {
    AffineExpr rest = simplifyAffineExpr(last - getAffineDimExpr(inner, ctx) * s,
                                         map.getNumDims(), map.getNumSymbols());
    if (!rest.isFunctionOfDim(inner)) {
      a.walks = true;
      a.stride = s;
      return a;
    }
  }
  return std::nullopt;
}

Value loadEveryNth(OpBuilder &b, Location loc, Value memref, ValueRange idx, int64_t len,
                   int64_t stride) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  if (len == 1)
    return vector::LoadOp::create(b, loc, VectorType::get({1}, element), memref, idx);
  int64_t wide = stride * len;
  auto wideType = VectorType::get({wide}, element);
  SmallVector<bool> lanes(wide, false);
  for (int64_t i = 0; i <= stride * (len - 1); ++i)
    lanes[i] = true;
  Value mask = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(VectorType::get({wide}, b.getI1Type()), lanes));
  Value pass = arith::ConstantOp::create(b, loc, b.getZeroAttr(wideType));
  Value all = vector::MaskedLoadOp::create(b, loc, wideType, memref, idx, mask, pass);
  SmallVector<int64_t> kept;
  for (int64_t i = 0; i < len; ++i)
    kept.push_back(i * stride);
  return vector::ShuffleOp::create(b, loc, all, all, kept);
}

namespace {

/// Work below which splitting across threads costs more than it gains:
/// about 25 microseconds of FMAs on one core.
constexpr int64_t kFlopsPerTask = 2'000'000;
constexpr int64_t kRowsPerTask = 64;
constexpr int64_t kGemvBytesPerTask = 256 * 1024;
/// A core's L2 on the machines measured (1-2 MiB).
constexpr int64_t kL2Bytes = int64_t{2} << 20;

/// The size of the thread tiles that split `range` into about `tasks`
/// tiles: one that divides `range` when there is one near, so every tile
/// has the same static size (the register tiles are then static too, and
/// only one remainder is peeled), preferring multiples of `unit`.
int64_t threadTile(int64_t range, int64_t unit, int64_t tasks) {
  int64_t units = (range + unit - 1) / unit;
  int64_t ideal = unit * ((units + tasks - 1) / tasks);
  int64_t best = 0, bestScore = 0;
  for (int64_t t = std::max<int64_t>(1, ideal / 2); t <= std::min(range, 2 * ideal); ++t) {
    if (range % t != 0)
      continue;
    int64_t score = std::abs(t - ideal) + (t % unit == 0 ? 0 : ideal);
    if (!best || score < bestScore) {
      best = t;
      bestScore = score;
    }
  }
  return best ? best : ideal;
}

/// 2 x the product of `ranges` (the FLOPs of a multiply-add over them),
/// saturating at 2^50.
int64_t mulAddFlops(ArrayRef<int64_t> ranges) {
  int64_t flops = 2;
  for (int64_t r : ranges)
    flops = flops > (int64_t{1} << 50) / std::max<int64_t>(r, 1) ? int64_t{1} << 50 : flops * r;
  return flops;
}

/// The innermost dim of `map`'s results that is one of `dims`, or -1.
int64_t innermostOf(AffineMap map, ArrayRef<unsigned> dims) {
  for (AffineExpr e : llvm::reverse(map.getResults()))
    if (auto d = llvm::dyn_cast<AffineDimExpr>(e))
      if (llvm::is_contained(dims, d.getPosition()))
        return d.getPosition();
  return -1;
}

} // namespace

FailureOr<linalg::ContractionDimensions> contractionDims(linalg::LinalgOp op, int64_t vectorDim) {
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (succeeded(dims) && llvm::is_contained(dims->m, vectorDim))
    std::swap(dims->m, dims->n);
  return dims;
}

namespace {

/// The loop ranges of an op on f32 tensors whose every range is static and
/// non-empty (what the strategies handle today), or nothing.
std::optional<SmallVector<int64_t>> staticF32Ranges(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!getElementTypeOrSelf(v.getType()).isF32())
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, [](int64_t r) { return r == ShapedType::kDynamic || r == 0; }))
    return std::nullopt;
  return ranges;
}

/// The configuration both strategies start from: a register tile of MR
/// rows along `rowDim` (-1: none) by up to `maxVectors` vectors along
/// `vectorDim`, unit tiles for every other loop, no thread or cache tiles.
/// The accumulators fill the registers but one for B's vector and one for
/// A's broadcast: 6x16 with 16 ymm registers, 8x32 or 6x64 with 32 zmm
/// (wider tiles spill, measured); `fewerRows` rows fewer where more values
/// stay live.
LoweringConfig registerTiled(StringRef kind, ArrayRef<int64_t> ranges, int64_t rowDim,
                             int64_t vectorDim, int64_t maxVectors, const TargetInfo &target,
                             int64_t fewerRows = 0) {
  int64_t lanes = target.f32Lanes();
  int64_t vectors = std::max<int64_t>(1, std::min(maxVectors, ranges[vectorDim] / lanes));
  LoweringConfig c;
  c.kind = kind.str();
  c.vectorDim = vectorDim;
  c.lanes = lanes;
  c.threads.assign(ranges.size(), 0);
  c.cache.assign(ranges.size(), 0);
  c.registers.assign(ranges.size(), 1);
  c.registers[vectorDim] = vectors * lanes;
  if (rowDim >= 0) {
    int64_t rows = ranges[rowDim];
    int64_t mr = std::min(
        rows, std::max<int64_t>(
                  1, std::clamp<int64_t>((target.vectorRegisters - vectors - 1) / vectors, 1, 8) -
                         fewerRows));
    // A last tile of one row has too few accumulators to hide the FMAs'
    // latency: up to two rows fewer per tile where that leaves none (49
    // rows: 7 tiles of 7, not 6 of 8 and one of 1).
    auto tinyLast = [&](int64_t r) { return r > 1 && rows % r == 1; };
    int64_t best = mr;
    for (int64_t r = mr - 1; tinyLast(best) && r >= std::max<int64_t>(mr - 2, 4); --r)
      if (!tinyLast(r))
        best = r;
    c.registers[rowDim] = best;
  }
  return c;
}

/// GEMM-class ops: C[.., m, n] += A[.., m, k] * B[.., k, n] in any loop
/// order, whose result's innermost dim is an `n` dim that is also B's
/// innermost: the register tile holds MR x NR accumulators, NR along that
/// dim in full vectors, MR rows of A broadcast one scalar at a time.
std::optional<LoweringConfig> contractionConfig(linalg::LinalgOp op, const TargetInfo &target,
                                                int64_t maxTasks) {
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> staticRanges = staticF32Ranges(op);
  if (!staticRanges)
    return std::nullopt;
  SmallVector<int64_t> ranges = *staticRanges;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto last = llvm::dyn_cast<AffineDimExpr>(out.getResults().back());
  if (!last)
    return std::nullopt;
  int64_t nv = last.getPosition();
  FailureOr<linalg::ContractionDimensions> dims = contractionDims(op, nv);
  if (failed(dims) || dims->k.empty() || !llvm::is_contained(dims->n, nv))
    return std::nullopt;
  // B: the input that has the vector dim, as its innermost dim.
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    if (!map.isFunctionOfDim(nv))
      continue;
    auto inner = llvm::dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!inner || inner.getPosition() != nv)
      return std::nullopt;
  }
  int64_t lanes = target.f32Lanes();
  if (ranges[nv] < lanes)
    return std::nullopt;
  int64_t m = innermostOf(out, dims->m);
  // A GEMV has one row, so it takes more vectors along n. So does a GEMM
  // where 32 vector registers hold 6 rows of 4 vectors (24 accumulators):
  // each k step broadcasts 6 scalars for 24 FMAs where 8 x 2 vectors
  // broadcast 8 for 16. ResNet-50's 1x1 convolutions, 1 thread, AVX-512:
  // 42.4 -> 41.9 ms in all (1-2.5% by image size, alternating runs).
  // Only where that leaves no more columns to the last, narrower tile
  // than 8 x 32 would (its partial vector keeps its accumulators in
  // memory): SqueezeNet's last convolution over 169 positions, 41 columns
  // left by 6 x 64 tiles and 9 by 8 x 32, took 1.8 -> 2.7 ms.
  bool gemv = m < 0 || ranges[m] == 1;
  bool wide = target.vectorRegisters >= 32 && ranges[nv] % (4 * lanes) == ranges[nv] % (2 * lanes);
  LoweringConfig c = registerTiled("contraction", ranges, m, nv, gemv || wide ? 4 : 2, target);
  // Rows that 6 does not divide but 4 does (64, 128, 256... filters) take
  // tiles of 4 rows: 6 left a tile of 4 or 2 rows in every such op, code
  // of its own, and ResNet-50's LLVM code generation went from 400 to 600
  // ms (session creation 1.53 -> 1.80 s at 2 threads); 4 x 64 tiles run
  // its 1x1 convolutions as fast as 6 x 64 (within 1%, alternating runs).
  if (wide && !gemv && m >= 0 && ranges[m] % c.registers[m] != 0 && ranges[m] % 4 == 0)
    c.registers[m] = 4;
  int64_t mr = m >= 0 ? c.registers[m] : 1, nr = c.registers[nv];
  size_t loops = ranges.size();
  // Cache tiles: 256 columns of B by about 256 of its rows (256 KiB,
  // L2-sized). The rows' tile divides their number where a multiple of 4
  // from 192 to 320 does (the k loop is unrolled by 4): a last, shorter
  // tile would be a copy of the micro-kernels of its own, and DenseNet's
  // 1x1 convolutions over 544, 576, 608... channels would each have a
  // differently shaped one (K = 544: tiles of 272 instead of 256, 256, 32).
  int64_t kc = innermostOf(op.getMatchingIndexingMap(op.getDpsInputOperand(0)), dims->k);
  if (kc >= 0 && ranges[kc] > 256) {
    int64_t k = ranges[kc], tile = 256;
    for (int64_t d = 0; d <= 64; d += 4) {
      if (k % (256 + d) == 0) {
        tile = 256 + d;
        break;
      }
      if (d && k % (256 - d) == 0) {
        tile = 256 - d;
        break;
      }
    }
    c.cache[kc] = tile;
  }
  if (ranges[nv] > 256)
    c.cache[nv] = 256;

  // Other column dims (the blocks of a packed B, images of a 1x1
  // convolution): enough of them per cache tile for about 256 columns.
  for (unsigned d : dims->n)
    if (static_cast<int64_t>(d) != nv && ranges[nv] < 256) {
      int64_t blocks = std::max<int64_t>(1, 256 / ranges[nv]);
      if (ranges[d] > blocks)
        c.cache[d] = blocks;
    }

  // Threads by cost: at most one task per kFlopsPerTask, and at least
  // kRowsPerTask rows of A each (every task streams all of B's columns),
  // but for a GEMV.
  int64_t flops = mulAddFlops(ranges);
  int64_t tasks = flops / kFlopsPerTask;
  // A GEMV reads each element of B once: its time is B's bytes, not its
  // FLOPs. Split by bytes, each task's part of B stays in its core's L2
  // when the GEMV runs again (a recurrence's steps).
  if (gemv)
    tasks = std::max(tasks, flops * static_cast<int64_t>(sizeof(float)) / 2 / kGemvBytesPerTask);
  tasks = std::clamp<int64_t>(tasks, 1, std::max<int64_t>(maxTasks, 1));
  auto iters = op.getIteratorTypesArray();
  auto split = [&](int64_t dim, int64_t unit) { c.threads[dim] = threadTile(ranges[dim], unit, tasks); };
  int64_t batch = -1, other = -1;
  for (int64_t d = 0; d < static_cast<int64_t>(loops); ++d) {
    if (iters[d] != utils::IteratorType::parallel || d == nv || d == m || ranges[d] <= 1)
      continue;
    if (batch < 0 && llvm::is_contained(dims->batch, d))
      batch = d;
    if (other < 0)
      other = d;
  }
  // Tasks that split A's rows each stream all of B, so each takes at least
  // kRowsPerTask rows. With too few rows for two such tasks (a GEMV, an MLP
  // at a small batch) and B packed, the tasks split B's slivers, each streaming
  // its own part of B and all of the small A. (Splitting the vector dim
  // itself, as a GEMV does, leaves a GEMM's tiles dynamic: measured slower.)
  //
  // A convolution's B (its image) is usually the large operand and A (its
  // weight) the small one: where B is larger than a core's L2 and than A,
  // tasks that split A's rows would each stream all of B from memory, so
  // they split B's columns (each reads its own part of B and all of A).
  // 256 -> 128 channels of 56x56 (B 3.2 MB, A 128 KB) ran 1.43x faster
  // on 2 threads than on 1 by rows.
  int64_t aSize = 1, bSize = 1;
  for (unsigned d : dims->m)
    aSize *= ranges[d];
  for (unsigned d : dims->n)
    bSize *= ranges[d];
  for (unsigned d : dims->k) {
    aSize *= ranges[d];
    bSize *= ranges[d];
  }
  bool largeB = bSize * static_cast<int64_t>(sizeof(float)) > kL2Bytes && bSize > 4 * aSize;
  int64_t rowTasks = m >= 0 && !gemv && !largeB
                         ? std::max<int64_t>(1, ranges[m] / kRowsPerTask)
                         : (largeB ? 1 : tasks);
  bool blocks = other >= 0 && llvm::is_contained(dims->n, static_cast<unsigned>(other));
  bool byColumns = rowTasks == 1 && tasks > 1 && blocks;
  // Without slivers (B computed, as a convolution's image), tasks take
  // whole register tiles of the vector dim, as long as they divide it:
  // dynamic tiles would be computed a row at a time.
  int64_t columnTile = threadTile(ranges[nv], nr, tasks);
  bool byVectors = rowTasks == 1 && tasks > 1 && other < 0 && ranges[nv] >= 2 * nr &&
                   columnTile % nr == 0 && ranges[nv] % columnTile == 0 &&
                   columnTile < ranges[nv];
  byColumns |= byVectors;
  // Columns that no whole number of register tiles divides (a 55x55
  // image) cannot be split statically: the tasks split the rows finer
  // than kRowsPerTask instead, each reading all of B, rather than leave
  // one core to do the whole op.
  if (!byColumns && rowTasks == 1 && m >= 0 && !gemv)
    rowTasks = std::max<int64_t>(1, ranges[m] / (2 * mr));
  if (!byColumns)
    tasks = std::min(tasks, rowTasks);
  if (tasks > 1) {
    if (batch >= 0 && ranges[batch] >= tasks)
      split(batch, 1);
    else if (!byColumns && m >= 0 && ranges[m] >= 2 * mr)
      split(m, mr);
    else if (byVectors)
      c.threads[nv] = columnTile;
    else if (other >= 0)
      split(other, 1);
    else if (ranges[nv] >= 2 * nr)
      split(nv, nr);
  }
  return c;
}

/// Direct convolutions over NCHW (and NCW): each tile of the register
/// tile (MR output channels x NR output columns of one output row) is a
/// GEMM over the input channels for each filter tap: W[f, c, kh, kw]
/// broadcast, a row of the input read as vectors along the output columns.
} // namespace

/// Convolutions whose reduction (channels times taps) is shallower than
/// this keep the GEMM forms.
constexpr int64_t kMinDirectDepth = 64;

bool isDirectConv(linalg::LinalgOp op) {
  auto g = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!g || g.getNumLoops() != 8 || g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      g.getNumReductionLoops() != 3)
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr dn, db, dh, dw, dc, th, tw, dj;
  bindDims(ctx, dn, db, dh, dw, dc, th, tw, dj);
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  AffineMap x = maps[0];
  return maps[1] == AffineMap::get(8, 0, {db, dc, th, tw, dj}, ctx) &&
         maps[2] == AffineMap::get(8, 0, {dn, db, dh, dw, dj}, ctx) && x.getNumResults() == 4 &&
         x.getResult(0) == dn && x.getResult(1) == dc;
}

bool directFilters(linalg::LinalgOp conv, const TargetInfo &target) {
  if (!isa<linalg::Conv2DNchwFchwOp>(conv) || !conv.hasPureTensorSemantics())
    return false;
  auto w = dyn_cast<RankedTensorType>(conv.getDpsInputs()[1].getType());
  // A shallow reduction (3 channels of 3x3: 27 steps) leaves each register
  // tile too little work beside its loads and stores of the accumulators
  // (small_cnn's first convolution: 13 -> 21 us directly).
  return w && w.hasStaticShape() && w.getElementType().isF32() &&
         w.getDimSize(0) % target.f32Lanes() == 0 && w.getDimSize(2) * w.getDimSize(3) > 1 &&
         w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3) >= kMinDirectDepth &&
         matchPattern(conv.getDpsInputs()[1], m_Constant());
}

namespace {

std::optional<LoweringConfig> convConfig(linalg::LinalgOp op, const TargetInfo &target,
                                         int64_t maxTasks) {
  // Loops: (n, f, oh, ow, c, kh, kw) and (n, f, ow, c, kw).
  int64_t f = 1, ow, oh = -1;
  SmallVector<int64_t> reductions;
  if (isa<linalg::Conv2DNchwFchwOp>(op)) {
    oh = 2;
    ow = 3;
    reductions = {4, 5, 6};
  } else if (isa<linalg::Conv1DNcwFcwOp>(op)) {
    ow = 2;
    reductions = {3, 4};
  } else if (isDirectConv(op)) {
    // (n, b, oh, ow, c, kh, kw, j): MR output columns by a sliver of filters.
    std::optional<SmallVector<int64_t>> ranges = staticF32Ranges(op);
    if (!ranges)
      return std::nullopt;
    // A kernel wider than one tap reads each input value for several taps
    // of a row (column ow + kw serves ow + 1 at tap kw - 1): LLVM loads it
    // once and keeps it live across those taps, so a full GEMM tile spilled
    // its accumulators (8x32 on AVX-512, 6x16 on AVX2). One row fewer does
    // not: 256 channels of 14x14, 3x3, 1 thread: AVX2 code 4.8 -> 3.4 ms,
    // AVX-512 2.26 -> 2.15 ms.
    int64_t fewerRows = (*ranges)[6] > 1 ? 1 : 0;
    LoweringConfig c = registerTiled("conv", *ranges, 3, 7, 2, target, fewerRows);
    // Cache tiles: one sliver of filters, and as many input channels as
    // keep its part of W' within 256 KiB (in L2) while the output
    // positions pass by; a divisor of the channels, so each tile is
    // static. Each cache tile of channels stores the register tile's
    // accumulators and loads them back: tiles sized for L1 (32 KiB, 16
    // channels of a 3x3 sliver of 32) did that 32 times over 512 channels,
    // and cost more than reading the weight from L2 (VGG-19's 512 -> 512
    // channels of 28x28: 33.0 -> 32.3 ms, ONNX Runtime 32.0; ResNet-50's
    // 3x3 convolutions on 256 channels of 14x14: 2.05 -> 1.99 ms each).
    int64_t taps = (*ranges)[5] * (*ranges)[6], nr = c.registers[7];
    int64_t limit = std::max<int64_t>(1, (256 * 1024) / (taps * nr * 4));
    int64_t channels = (*ranges)[4], block = 1;
    for (int64_t d = 1; d <= std::min(channels, limit); ++d)
      if (channels % d == 0)
        block = d;
    c.cache[1] = 1;
    if (block < channels)
      c.cache[4] = block;
    int64_t tasks = std::clamp<int64_t>(mulAddFlops(*ranges) / kFlopsPerTask, 1,
                                        std::max<int64_t>(maxTasks, 1));
    if (tasks > 1) {
      if ((*ranges)[0] >= tasks)
        c.threads[0] = 1;
      else if ((*ranges)[2] > 1)
        c.threads[2] = threadTile((*ranges)[2], 1, tasks);
      // One output row (a 1-D convolution, lowered as a row): its slivers
      // of filters are split (each task reads the input row and only its
      // own part of the weight). A 5x1 convolution over 256 channels of
      // 512 ran on one core of two: 5.3 ms at 1 thread and at 2.
      else if ((*ranges)[1] > 1)
        c.threads[1] = threadTile((*ranges)[1], 1, tasks);
    }
    return c;
  } else {
    return std::nullopt;
  }
  std::optional<SmallVector<int64_t>> staticRanges = staticF32Ranges(op);
  if (!staticRanges)
    return std::nullopt;
  SmallVector<int64_t> ranges = *staticRanges;
  int64_t lanes = target.f32Lanes();
  if (ranges[ow] < lanes)
    return std::nullopt;
  LoweringConfig c = registerTiled("conv", ranges, f, ow, 2, target);
  int64_t mr = c.registers[f];
  int64_t flops = mulAddFlops(ranges);
  int64_t tasks = std::clamp<int64_t>(flops / kFlopsPerTask, 1, std::max<int64_t>(maxTasks, 1));
  // Output rows split best: each task reads its own input rows and all of
  // the (small) filter.
  if (tasks > 1) {
    if (ranges[0] >= tasks)
      c.threads[0] = 1;
    else if (oh >= 0 && ranges[oh] > 1)
      c.threads[oh] = threadTile(ranges[oh], 1, tasks);
    else if (ranges[f] >= 2 * mr)
      c.threads[f] = threadTile(ranges[f], mr, tasks);
  }
  return c;
}

} // namespace

linalg::GenericOp buildMulAdd(OpBuilder &b, Location loc, Value lhs, Value rhs, Value init,
                              ArrayRef<AffineMap> maps) {
  SmallVector<utils::IteratorType> iters(maps.front().getNumDims() - 1,
                                         utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  SmallVector<Type> results;
  if (llvm::isa<RankedTensorType>(init.getType()))
    results.push_back(init.getType());
  return linalg::GenericOp::create(
      b, loc, results, ValueRange{lhs, rhs}, ValueRange{init}, maps, iters,
      [](OpBuilder &nb, Location l, ValueRange x) {
        Value p = arith::MulFOp::create(nb, l, x[0], x[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, x[2], p)});
      });
}

namespace {

/// B's value when it is a constant of raw row-major f32 storage (a weight).
ElementsAttr constantRhs(linalg::MatmulOp op) {
  ElementsAttr value;
  if (!matchPattern(op.getDpsInputs()[1], m_Constant(&value)) || !value.getElementType().isF32())
    return {};
  auto dense = llvm::dyn_cast<DenseElementsAttr>(value);
  if (!(dense && dense.isSplat()) && !constantBytes(value))
    return {};
  return value;
}

/// The width of a packed sliver of B: the register tile's columns, two
/// vectors, or four for a GEMV (see registerTiled).
int64_t packedColumns(int64_t m, const TargetInfo &target) {
  return (m == 1 ? 4 : 2) * target.f32Lanes();
}

/// `value` [k][n] with zero columns appended up to `width`.
ElementsAttr padColumns(ElementsAttr value, int64_t width) {
  auto type = llvm::cast<RankedTensorType>(value.getShapedType());
  int64_t k = type.getDimSize(0), n = type.getDimSize(1);
  auto padded = RankedTensorType::get({k, width}, type.getElementType());
  ConstantBuffer data(static_cast<size_t>(k * width) * sizeof(float));
  float *to = data.as<float>();
  if (std::optional<ArrayRef<char>> raw = constantBytes(value)) {
    for (int64_t i = 0; i < k; ++i)
      std::memcpy(to + i * width, raw->data() + i * n * sizeof(float), n * sizeof(float));
  } else {
    float v = llvm::cast<DenseElementsAttr>(value).getSplatValue<float>();
    for (int64_t i = 0; i < k; ++i)
      std::fill_n(to + i * width, n, v);
  }
  return constantAttr(padded, std::move(data));
}

/// A product computed over column slivers, [m][width / NR][NR], as the
/// [m, n] matrix it stands for (the columns past n dropped).
Value fromSlivers(RewriterBase &r, Location loc, Value product, int64_t m, int64_t n) {
  SmallVector<ReassociationIndices> split{{0}, {1, 2}};
  Value y = tensor::CollapseShapeOp::create(r, loc, product, split);
  if (llvm::cast<RankedTensorType>(y.getType()).getDimSize(1) == n)
    return y;
  return tensor::ExtractSliceOp::create(
      r, loc, y, SmallVector<OpFoldResult>{r.getIndexAttr(0), r.getIndexAttr(0)},
      SmallVector<OpFoldResult>{r.getIndexAttr(m), r.getIndexAttr(n)},
      SmallVector<OpFoldResult>{r.getIndexAttr(1), r.getIndexAttr(1)});
}

} // namespace

bool shouldPackRhs(linalg::MatmulOp op, const TargetInfo &target) {
  auto types = llvm::map_range(op->getOperandTypes(), [](Type t) {
    return llvm::dyn_cast<RankedTensorType>(t);
  });
  for (RankedTensorType t : types)
    if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
      return false;
  auto bt = llvm::cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  auto at = llvm::cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1), m = at.getDimSize(0);
  int64_t nr = packedColumns(m, target);
  // Rows of B wider than a cache tile are read a sliver at a time, far
  // apart (4 KiB apart for N = 1024, which also aliases in L1, and a page
  // or more apart for a GEMV's long columns, which defeats the prefetcher).
  // A constant B (a weight) is packed at compile time, for free; a computed
  // one costs a copy, paid back only by enough rows of A. Only a constant
  // can be padded to whole slivers.
  if (n <= 256 || k < 64)
    return false;
  bool weight = static_cast<bool>(constantRhs(op));
  return weight ? true : n % nr == 0 && m >= 16;
}

linalg::GenericOp packRhs(RewriterBase &r, linalg::MatmulOp op, const TargetInfo &target) {
  Location loc = op.getLoc();
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1], c = op.getDpsInits()[0];
  Type f32 = r.getF32Type();
  auto bt = llvm::cast<RankedTensorType>(b.getType());
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1);
  int64_t m = llvm::cast<RankedTensorType>(a.getType()).getDimSize(0);
  int64_t nr = packedColumns(m, target);
  int64_t width = llvm::alignTo(n, nr);
  r.setInsertionPoint(op);
  if (width != n) {
    // Zero columns complete the last sliver; C is computed as wide and
    // sliced back.
    b = arith::ConstantOp::create(r, loc, cast<TypedAttr>(padColumns(constantRhs(op), width)));
    Value zero = arith::ConstantOp::create(r, loc, r.getZeroAttr(f32));
    SmallVector<OpFoldResult> low(2, r.getIndexAttr(0));
    SmallVector<OpFoldResult> high{r.getIndexAttr(0), r.getIndexAttr(width - n)};
    c = tensor::PadOp::create(r, loc, RankedTensorType::get({m, width}, f32), c, low, high, zero);
  }
  SmallVector<ReassociationIndices> split{{0}, {1, 2}};
  Value b3 = tensor::ExpandShapeOp::create(r, loc, RankedTensorType::get({k, width / nr, nr}, f32),
                                           b, split);
  Value empty = tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{width / nr, k, nr}, f32);
  Value packed =
      linalg::TransposeOp::create(r, loc, b3, empty, ArrayRef<int64_t>{1, 0, 2}).getResult()[0];
  Value c3 = tensor::ExpandShapeOp::create(
      r, loc, RankedTensorType::get({m, width / nr, nr}, f32), c, split);
  MLIRContext *ctx = r.getContext();
  AffineExpr dm, db, dj, dk;
  bindDims(ctx, dm, db, dj, dk);
  linalg::GenericOp generic = buildMulAdd(r, loc, a, packed, c3,
                                          {AffineMap::get(4, 0, {dm, dk}, ctx),
                                           AffineMap::get(4, 0, {db, dk, dj}, ctx),
                                           AffineMap::get(4, 0, {dm, db, dj}, ctx)});
  r.replaceOp(op, fromSlivers(r, loc, generic.getResult(0), m, n));
  return generic;
}

bool isInt8DotProduct(linalg::LinalgOp op, const TargetInfo &target) {
  if (!target.int8DotProducts || target.vectorBits != 512 || !op.hasPureTensorSemantics() ||
      !isa<linalg::GenericOp>(op) || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 3 || op.getNumReductionLoops() != 1)
    return false;
  auto a = llvm::dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto b = llvm::dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  auto c = llvm::dyn_cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (!a || !b || !c || !a.hasStaticShape() || !b.hasStaticShape() || !c.hasStaticShape() ||
      !a.getElementType().isInteger(8) || !b.getElementType().isInteger(8) ||
      !c.getElementType().isInteger(32) || b.getDimSize(0) % 4 != 0)
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr dm, dn, dk;
  bindDims(ctx, dm, dn, dk);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(3, 0, {dm, dk}, ctx) || maps[1] != AffineMap::get(3, 0, {dk, dn}, ctx) ||
      maps[2] != AffineMap::get(3, 0, {dm, dn}, ctx) ||
      op.getIteratorTypesArray()[2] != utils::IteratorType::reduction)
    return false;
  // The body: acc + extui(a) * extsi(b).
  Block &body = op->getRegion(0).front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddIOp>();
  if (!add || body.getOperations().size() != 5)
    return false;
  Value acc = body.getArgument(2);
  Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = prod.getDefiningOp<arith::MulIOp>();
  if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
    return false;
  auto x = mul.getLhs().getDefiningOp<arith::ExtUIOp>();
  auto y = mul.getRhs().getDefiningOp<arith::ExtSIOp>();
  if (!x || !y || x.getIn() != body.getArgument(0) || y.getIn() != body.getArgument(1))
    return false;
  ElementsAttr value;
  if (!matchPattern(op.getDpsInputs()[1], m_Constant(&value)))
    return false;
  auto dense = llvm::dyn_cast<DenseElementsAttr>(value);
  return (dense && dense.isSplat()) || constantBytes(value).has_value();
}

linalg::GenericOp packInt8DotProduct(RewriterBase &r, linalg::LinalgOp op, int64_t maxTasks,
                                     llvm::DenseMap<Value, Value> &packedWeights) {
  Location loc = op.getLoc();
  MLIRContext *ctx = r.getContext();
  Value a = op.getDpsInputs()[0];
  ElementsAttr value;
  matchPattern(op.getDpsInputs()[1], m_Constant(&value));
  auto bt = llvm::cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  int64_t k = bt.getDimSize(0), n = bt.getDimSize(1);
  int64_t m = llvm::cast<RankedTensorType>(a.getType()).getDimSize(0);
  constexpr int64_t nr = kDotI8Columns;
  int64_t blocks = (n + nr - 1) / nr, width = blocks * nr;
  Type i8 = r.getIntegerType(8), i32 = r.getI32Type();
  Value &packed = packedWeights[op.getDpsInputs()[1]];
  if (!packed) {
    std::optional<ArrayRef<char>> raw = constantBytes(value);
    char splat = raw ? 0
                     : static_cast<char>(
                           llvm::cast<DenseElementsAttr>(value).getSplatValue<APInt>().getZExtValue());
    auto packedType = RankedTensorType::get({blocks, k / 4, nr, 4}, i8);
    ConstantBuffer data(static_cast<size_t>(blocks * k * nr));
    char *to = data.data();
    std::memset(to, 0, data.size());
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j)
        to[(((j / nr) * (k / 4) + kk / 4) * nr + j % nr) * 4 + kk % 4] = raw ? (*raw)[kk * n + j] : splat;
    // Right after the weight, so it dominates every op that reads it.
    r.setInsertionPointAfterValue(op.getDpsInputs()[1]);
    packed = arith::ConstantOp::create(r, loc, cast<TypedAttr>(constantAttr(packedType, std::move(data))));
  }
  r.setInsertionPoint(op);
  // The kernel starts its sums at zero and writes every element (see
  // kZeroInitAttrName): the destination needs no fill.
  Value c3 = tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{m, blocks, nr}, i32);
  AffineExpr dm, db, dj, dk, dq;
  bindDims(ctx, dm, db, dj, dk, dq);
  SmallVector<AffineMap> maps{AffineMap::get(5, 0, {dm, dk * 4 + dq}, ctx),
                              AffineMap::get(5, 0, {db, dk, dj, dq}, ctx),
                              AffineMap::get(5, 0, {dm, db, dj}, ctx)};
  SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
  iters.append(2, utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      r, loc, TypeRange{c3.getType()}, ValueRange{a, packed}, ValueRange{c3}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange x) {
        Value p = arith::MulIOp::create(nb, l, arith::ExtUIOp::create(nb, l, i32, x[0]),
                                        arith::ExtSIOp::create(nb, l, i32, x[1]));
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddIOp::create(nb, l, x[2], p)});
      });
  // Four dot-product lanes per multiply-add of an f32 FMA: tasks by a
  // quarter of the f32 cost.
  LoweringConfig c;
  c.kind = "dot-i8";
  c.threads.assign(5, 0);
  c.cache.assign(5, 0);
  c.registers = {kDotI8Rows, 1, nr, 1, 4};
  c.vectorDim = 2;
  c.lanes = 16;
  int64_t tasks = std::clamp<int64_t>(mulAddFlops({m, width, k}) / (4 * kFlopsPerTask), 1,
                                      std::max<int64_t>(maxTasks, 1));
  // Twice as many tasks as the cost allows: a few slivers split in halves
  // would leave a core idle (6 slivers as 3 tasks: 2 threads at 75%); the
  // team's threads take the finer tasks as they come.
  if (tasks > 1 && blocks > 1)
    c.threads[1] = threadTile(blocks, 1, 2 * tasks);
  generic->setAttr(kConfigAttrName, c.toAttr(ctx));
  generic->setAttr(kZeroInitAttrName, UnitAttr::get(ctx));
  r.replaceOp(op, fromSlivers(r, loc, generic.getResult(0), m, n));
  return generic;
}

bool convAsGemm(linalg::LinalgOp op, const TargetInfo &target) {
  if (!isa<linalg::Conv2DNchwFchwOp, linalg::Conv1DNcwFcwOp>(op) || !op.hasPureTensorSemantics())
    return false;
  for (Value v : op->getOperands()) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
      return false;
  }
  auto w = llvm::cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  if (llvm::all_of(w.getShape().drop_front(2), [](int64_t k) { return k == 1; }))
    return true; // 1x1: already a GEMM per image
  // The direct kernel reads input rows as vectors along the output width:
  // it needs unit stride along the width and a width of whole vectors.
  // Otherwise the input windows are gathered once (im2col) and the
  // convolution is a GEMM over them.
  if (directFilters(op, target))
    return true;
  auto out = llvm::cast<RankedTensorType>(op.getDpsInits()[0].getType());
  int64_t width = out.getShape().back(), lanes = target.f32Lanes();
  auto strides = llvm::cast<DenseIntElementsAttr>(op->getAttr("strides")).getValues<int64_t>();
  bool unitStride = *std::prev(strides.end()) == 1;
  return !unitStride || !(width >= 4 * lanes || width % (2 * lanes) == 0);
}

namespace {

/// Convolutions whose GEMM is shallower than this read too little of each
/// packed sliver to pay for packing it.
constexpr int64_t kMinPackedDepth = 64;

/// What the GEMM forms of a static NCHW/NCW convolution need to know.
struct ConvGeometry {
  Value x, w, init;
  RankedTensorType wType, outType;
  int64_t rank, spatialDims, images, channels, filters, positions = 1, taps = 1;
  SmallVector<int64_t> strides, dilations;
};

ConvGeometry convGeometry(linalg::LinalgOp conv) {
  ConvGeometry g;
  g.x = conv.getDpsInputs()[0];
  g.w = conv.getDpsInputs()[1];
  g.init = conv.getDpsInits()[0];
  g.wType = llvm::cast<RankedTensorType>(g.w.getType());
  g.outType = llvm::cast<RankedTensorType>(g.init.getType());
  g.rank = g.outType.getRank();
  g.spatialDims = g.rank - 2;
  g.images = g.outType.getDimSize(0);
  g.channels = g.wType.getDimSize(1);
  g.filters = g.outType.getDimSize(1);
  for (int64_t i = 2; i < g.rank; ++i) {
    g.positions *= g.outType.getDimSize(i);
    g.taps *= g.wType.getDimSize(i);
  }
  g.strides = llvm::to_vector(
      llvm::cast<DenseIntElementsAttr>(conv->getAttr("strides")).getValues<int64_t>());
  g.dilations = llvm::to_vector(
      llvm::cast<DenseIntElementsAttr>(conv->getAttr("dilations")).getValues<int64_t>());
  return g;
}

/// Reassociation of [n, f, o...] into [n, f, positions].
SmallVector<ReassociationIndices> flattenPositions(int64_t rank) {
  SmallVector<ReassociationIndices> spatial{{0}, {1}, {}};
  for (int64_t i = 2; i < rank; ++i)
    spatial[2].push_back(i);
  return spatial;
}

/// A new f32 tensor of `shape` whose element at each index i of it is
/// `x[in(i)]` (a gather of windows, strided positions).
Value gatherCopy(RewriterBase &r, Location loc, Value x, ArrayRef<int64_t> shape,
                 ArrayRef<AffineExpr> in) {
  MLIRContext *ctx = r.getContext();
  int64_t loops = shape.size();
  Value empty = tensor::EmptyOp::create(r, loc, shape, r.getF32Type());
  return linalg::GenericOp::create(
             r, loc, TypeRange{empty.getType()}, ValueRange{x}, ValueRange{empty},
             SmallVector<AffineMap>{AffineMap::get(loops, 0, in, ctx),
                                    AffineMap::getMultiDimIdentityMap(loops, ctx)},
             SmallVector<utils::IteratorType>(loops, utils::IteratorType::parallel),
             [](OpBuilder &b, Location l, ValueRange a) { linalg::YieldOp::create(b, l, a[0]); })
      .getResult(0);
}

/// The input windows gathered once (im2col), over loops (n, c, k..., o...)
/// or, `positionsFirst`, (n, o..., c, k...):
/// windows[...] = X[n, c, o * s + k * d ...].
Value gatherWindows(RewriterBase &r, Location loc, const ConvGeometry &g, bool positionsFirst) {
  MLIRContext *ctx = r.getContext();
  int64_t s = g.spatialDims, loops = 2 + 2 * s;
  // One tap at every position of the image (a 1x1 convolution, unit
  // strides, no padding): positions first, the windows are the image
  // transposed, [n, c, p] -> [n, p, c]. As a transpose of whole images it
  // is vectorized in square blocks (kiln-vectorize-elementwise); as a
  // gather its loops over a 7x7 image were too short for blocks, and moved
  // an element at a time (2048 channels of 7x7: 70 us, a 14th of the
  // convolution after it).
  auto xType = llvm::cast<RankedTensorType>(g.x.getType());
  if (positionsFirst && g.taps == 1 && xType.hasStaticShape() &&
      llvm::all_of(g.strides, [](int64_t v) { return v == 1; }) &&
      xType.getShape().drop_front(2) == g.outType.getShape().drop_front(2)) {
    Type f32 = r.getF32Type();
    SmallVector<ReassociationIndices> flat = flattenPositions(g.rank);
    Value x3 = tensor::CollapseShapeOp::create(
        r, loc, RankedTensorType::get({g.images, g.channels, g.positions}, f32), g.x, flat);
    Value empty = tensor::EmptyOp::create(
        r, loc, ArrayRef<int64_t>{g.images, g.positions, g.channels}, f32);
    Value moved =
        linalg::TransposeOp::create(r, loc, x3, empty, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
    // [n, p, c] as [n, o..., c, 1...].
    SmallVector<int64_t> shape{g.images};
    ReassociationIndices positions, channels;
    for (int64_t i = 0; i < s; ++i) {
      positions.push_back(1 + i);
      shape.push_back(g.outType.getDimSize(2 + i));
    }
    shape.push_back(g.channels);
    for (int64_t i = 0; i <= s; ++i)
      channels.push_back(1 + s + i);
    shape.append(s, 1);
    return tensor::ExpandShapeOp::create(r, loc, RankedTensorType::get(shape, f32), moved,
                                         SmallVector<ReassociationIndices>{{0}, positions, channels});
  }
  // Loop positions of c, the first tap and the first output position.
  int64_t c = positionsFirst ? 1 + s : 1, k = c + 1, o = positionsFirst ? 1 : 2 + s;
  SmallVector<AffineExpr> in{getAffineDimExpr(0, ctx), getAffineDimExpr(c, ctx)};
  for (int64_t i = 0; i < s; ++i)
    in.push_back(getAffineDimExpr(o + i, ctx) * g.strides[i] +
                 getAffineDimExpr(k + i, ctx) * g.dilations[i]);
  SmallVector<int64_t> shape(loops);
  shape[0] = g.images;
  shape[c] = g.channels;
  for (int64_t i = 0; i < s; ++i) {
    shape[k + i] = g.wType.getDimSize(2 + i);
    shape[o + i] = g.outType.getDimSize(2 + i);
  }
  return gatherCopy(r, loc, g.x, shape, in);
}

/// W [f, c, k...] as [f, c * taps].
Value flattenFilters(RewriterBase &r, Location loc, const ConvGeometry &g) {
  SmallVector<ReassociationIndices> filter{{0}, {}};
  for (int64_t i = 1; i < g.rank; ++i)
    filter[1].push_back(i);
  return tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({g.filters, g.channels * g.taps}, r.getF32Type()), g.w,
      filter);
}

/// The constant weight of `g` moved into `type` by `move(from, to, begin,
/// end)` (row-major f32 both) for each part [begin, end) of [0, parts), or
/// null when the weight is no constant with raw data.
/// A splat stays a splat.
Value movedFilters(RewriterBase &r, Location loc, const ConvGeometry &g, RankedTensorType type,
                   int64_t parts,
                   llvm::function_ref<void(const float *, float *, int64_t, int64_t)> move) {
  ElementsAttr w;
  if (!matchPattern(g.w, m_Constant(&w)))
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(w); dense && dense.isSplat())
    return arith::ConstantOp::create(r, loc, dense.resizeSplat(type));
  std::optional<ArrayRef<char>> raw = constantBytes(w);
  if (!raw)
    return {};
  ConstantBuffer data(static_cast<size_t>(type.getNumElements()) * sizeof(float));
  const float *from = reinterpret_cast<const float *>(raw->data());
  float *to = data.as<float>();
  forEachPart(r.getContext(), parts, data.size(),
              [&](int64_t begin, int64_t end) { move(from, to, begin, end); });
  return arith::ConstantOp::create(r, loc, cast<TypedAttr>(constantAttr(type, std::move(data))));
}

/// W [f, c, k...] as the constant [c * taps, f] (transposed now, so that
/// the GEMM's packing can pad it to whole slivers), or null.
Value transposedFilters(RewriterBase &r, Location loc, const ConvGeometry &g,
                        bool tapsFirst = false) {
  int64_t f = g.filters, depth = g.channels * g.taps, c = g.channels, taps = g.taps;
  auto type = RankedTensorType::get({depth, f}, r.getF32Type());
  // In blocks that stay in L1 both ways: element by element, every store
  // of a large weight would miss the cache. Row j of the result is
  // (c, tap) = (j / taps, j % taps), or with the taps first
  // (tap, c) = (j / c, j % c).
  constexpr int64_t kBlock = 16;
  return movedFilters(r, loc, g, type, llvm::divideCeil(f, kBlock),
                      [&](const float *from, float *to, int64_t begin, int64_t end) {
    for (int64_t i0 = begin * kBlock; i0 < std::min(f, end * kBlock); i0 += kBlock)
      for (int64_t j0 = 0; j0 < depth; j0 += kBlock)
        for (int64_t i = i0, ie = std::min(f, i0 + kBlock); i < ie; ++i)
          for (int64_t j = j0, je = std::min(depth, j0 + kBlock); j < je; ++j)
            to[j * f + i] = from[i * depth + (tapsFirst ? (j % c) * taps + j / c : j)];
  });
}

/// The windows of `g`'s input for T[n * p, f] = cols[n * p, k] * W[k, f],
/// taps first: [n, o..., k..., c] read from the image moved channels
/// last, [n, h..., c] (one transpose of whole images, in square blocks).
/// Each window is then rows of all channels, copied as vectors, where
/// gathered channels first its rows were a tap's few positions (3 for a
/// 3x3), copied an element at a time: 512 channels of 7x7, 70 us.
Value gatherWindowsChannelsLast(RewriterBase &r, Location loc, const ConvGeometry &g) {
  MLIRContext *ctx = r.getContext();
  Type f32 = r.getF32Type();
  int64_t s = g.spatialDims, loops = 2 + 2 * s;
  auto xType = llvm::cast<RankedTensorType>(g.x.getType());
  int64_t pixels = 1;
  for (int64_t i = 2; i < g.rank; ++i)
    pixels *= xType.getDimSize(i);
  SmallVector<ReassociationIndices> flat = flattenPositions(g.rank);
  Value x3 = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({g.images, g.channels, pixels}, f32), g.x, flat);
  Value empty =
      tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{g.images, pixels, g.channels}, f32);
  Value moved =
      linalg::TransposeOp::create(r, loc, x3, empty, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
  SmallVector<int64_t> lastShape{g.images};
  ReassociationIndices positions;
  for (int64_t i = 0; i < s; ++i) {
    lastShape.push_back(xType.getDimSize(2 + i));
    positions.push_back(1 + i);
  }
  lastShape.push_back(g.channels);
  Value xt = tensor::ExpandShapeOp::create(
      r, loc, RankedTensorType::get(lastShape, f32), moved,
      SmallVector<ReassociationIndices>{{0}, positions, {1 + s}});
  // Loops (n, o..., k..., c).
  SmallVector<AffineExpr> in{getAffineDimExpr(0, ctx)};
  SmallVector<int64_t> shape{g.images};
  for (int64_t i = 0; i < s; ++i) {
    in.push_back(getAffineDimExpr(1 + i, ctx) * g.strides[i] +
                 getAffineDimExpr(1 + s + i, ctx) * g.dilations[i]);
    shape.push_back(g.outType.getDimSize(2 + i));
  }
  for (int64_t i = 0; i < s; ++i)
    shape.push_back(g.wType.getDimSize(2 + i));
  in.push_back(getAffineDimExpr(loops - 1, ctx));
  shape.push_back(g.channels);
  return gatherCopy(r, loc, xt, shape, in);
}

/// Whether a convolution's GEMM is computed with the output channels as
/// its vector dim: `positions` fill whole vectors poorly (fewer than two,
/// or more than a tenth of the lanes idle) while the filters fill at least
/// one vector (the last sliver of the packed weight is padded with zero
/// filters), and the weight is a constant (packed at compile time).
bool filtersAsVectors(const ConvGeometry &g, const TargetInfo &target) {
  int64_t lanes = target.f32Lanes();
  if (g.filters < lanes || !matchPattern(g.w, m_Constant()))
    return false;
  int64_t padded = llvm::alignTo(g.positions, lanes);
  return g.positions < 2 * lanes || g.positions * 10 < padded * 9;
}

/// The convolution `conv` as T[n * p, f] = cols[n * p, k] * W[k, f] (see
/// convAsContraction), transposed back into its result's layout.
linalg::GenericOp convWithFiltersAsVectors(RewriterBase &r, linalg::LinalgOp conv,
                                           const ConvGeometry &g, const TargetInfo &target) {
  Location loc = conv.getLoc();
  Type f32 = r.getF32Type();
  int64_t rows = g.images * g.positions, depth = g.channels * g.taps;
  r.setInsertionPoint(conv);
  // Windows positions first: [n, o..., c, k...] as [n * p, c * taps].
  SmallVector<ReassociationIndices> rowsCols{{}, {}};
  for (int64_t i = 0; i <= g.spatialDims; ++i)
    rowsCols[0].push_back(i);
  for (int64_t i = g.spatialDims + 1; i < 2 + 2 * g.spatialDims; ++i)
    rowsCols[1].push_back(i);
  // W[f, k] transposed; with several taps, taps first where the weight is
  // a constant moved now, to match windows gathered channels last.
  Value wT = g.taps > 1 && llvm::cast<RankedTensorType>(g.x.getType()).hasStaticShape()
                 ? transposedFilters(r, loc, g, /*tapsFirst=*/true)
                 : Value();
  Value cols = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({rows, depth}, f32),
      wT ? gatherWindowsChannelsLast(r, loc, g) : gatherWindows(r, loc, g, true), rowsCols);
  if (!wT)
    wT = transposedFilters(r, loc, g);
  if (!wT) {
    Value wEmpty = tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{depth, g.filters}, f32);
    wT = linalg::TransposeOp::create(r, loc, flattenFilters(r, loc, g), wEmpty,
                                     ArrayRef<int64_t>{1, 0})
             .getResult()[0];
  }
  // The accumulator, transposed the same way: a fill is filled again.
  SmallVector<ReassociationIndices> spatial = flattenPositions(g.rank);
  SmallVector<ReassociationIndices> imageRows{{0, 1}, {2}};
  auto t3 = RankedTensorType::get({g.images, g.positions, g.filters}, f32);
  auto t2 = RankedTensorType::get({rows, g.filters}, f32);
  Value tInit;
  if (auto fill = g.init.getDefiningOp<linalg::FillOp>()) {
    Value e = tensor::EmptyOp::create(r, loc, t2.getShape(), f32);
    tInit = linalg::FillOp::create(r, loc, fill.getInputs()[0], e).getResult(0);
  } else {
    Value o3 = tensor::CollapseShapeOp::create(
        r, loc, RankedTensorType::get({g.images, g.filters, g.positions}, f32), g.init, spatial);
    Value e = tensor::EmptyOp::create(r, loc, t3.getShape(), f32);
    Value t = linalg::TransposeOp::create(r, loc, o3, e, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
    tInit = tensor::CollapseShapeOp::create(r, loc, t2, t, imageRows);
  }
  auto mm = linalg::MatmulOp::create(r, loc, TypeRange{t2}, ValueRange{cols, wT}, ValueRange{tInit});
  Value product = tensor::ExpandShapeOp::create(r, loc, t3, mm.getResult(0), imageRows);
  Value yEmpty =
      tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{g.images, g.filters, g.positions}, f32);
  Value y3 =
      linalg::TransposeOp::create(r, loc, product, yEmpty, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
  r.replaceOp(conv, tensor::ExpandShapeOp::create(r, loc, g.outType, y3, spatial));
  return packRhs(r, mm, target);
}


/// A 2-D convolution with unit strides and dilations as a GEMM over its
/// input windows gathered into packed slivers, [n, blocks, c * taps, NR]:
/// each k step of the micro-kernel reads NR contiguous floats, where the
/// plain im2col form reads a sliver of a row an image apart (a new page at
/// every step, which the TLB and the prefetchers of some CPUs cannot
/// follow: a 3x3 convolution on 64 channels of 56x56 ran at 43 GFLOP/s on
/// an AVX-512 Xeon, 74 packed). Positions are taken at the padded input's
/// width, p = oh * Wp + ow, so the window of p starts at p + kh * Wp + kw of
/// the flattened padded image (no division in the gather, which keeps it
/// tileable); the columns past the output's width, and the positions that
/// complete the last sliver, are computed and dropped. Null when the
/// convolution does not fit (the caller keeps the plain im2col form).
linalg::GenericOp convOverPackedRows(RewriterBase &r, linalg::LinalgOp conv, const ConvGeometry &g,
                                     const TargetInfo &target) {
  if (g.spatialDims != 2 || g.taps == 1 ||
      llvm::any_of(g.strides, [](int64_t s) { return s != 1; }) ||
      llvm::any_of(g.dilations, [](int64_t d) { return d != 1; }))
    return {};
  auto fill = g.init.getDefiningOp<linalg::FillOp>();
  int64_t depth = g.channels * g.taps;
  // Also where the plain form's rows are less than a page apart: their
  // rows of 27 or 28 floats start off vector alignment, and its k steps
  // still stride across cache lines (Xeon, 1 thread: 32 -> 128 channels of
  // 27x27, 0.83 -> 0.63 ms; 96 channels of 28x28, 3.2 -> 2.0-2.9 ms).
  if (!fill || depth < kMinPackedDepth)
    return {};
  auto xType = llvm::cast<RankedTensorType>(g.x.getType());
  int64_t n = g.images, kh = g.wType.getDimSize(2), kw = g.wType.getDimSize(3);
  int64_t oh = g.outType.getDimSize(2), ow = g.outType.getDimSize(3);
  int64_t hp = xType.getDimSize(2), wp = xType.getDimSize(3);
  int64_t nr = packedColumns(g.filters, target);
  int64_t rows = llvm::alignTo(oh * wp, nr), blocks = rows / nr;
  // Wasted work: the dropped columns and the last sliver's padding.
  if (rows * 4 > g.positions * 5)
    return {};
  Location loc = conv.getLoc();
  MLIRContext *ctx = r.getContext();
  Type f32 = r.getF32Type();
  // The last windows read past the padded image: more zero rows below it.
  int64_t reach = rows - 1 + (kh - 1) * wp + kw;
  int64_t extra = std::max<int64_t>(0, llvm::divideCeil(reach - hp * wp, wp));
  Value x = g.x;
  if (extra > 0) {
    // The convolution's own padding, when it is a zero tensor.pad, grows
    // by those rows (one copy of the input, not two).
    Value source = g.x;
    SmallVector<OpFoldResult> low(4, r.getIndexAttr(0)), high(4, r.getIndexAttr(0));
    if (auto pad = g.x.getDefiningOp<tensor::PadOp>();
        pad && matchPattern(pad.getConstantPaddingValue(), m_AnyZeroFloat())) {
      low = pad.getMixedLowPad();
      high = pad.getMixedHighPad();
      source = pad.getSource();
    }
    std::optional<int64_t> h = getConstantIntValue(high[2]);
    if (!h)
      return {};
    high[2] = r.getIndexAttr(*h + extra);
    Value zero = arith::ConstantOp::create(r, loc, r.getZeroAttr(f32));
    x = tensor::PadOp::create(r, loc, RankedTensorType::get({n, g.channels, hp + extra, wp}, f32),
                              source, low, high, zero);
  }
  int64_t flat = (hp + extra) * wp;
  Value xFlat = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({n, g.channels, flat}, f32), x,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  // Gather: loops (n, block, c, kh, kw, j), windows[...] = X[n, c, block * NR + j + kh * Wp + kw].
  AffineExpr dn, db, dc, dh, dw, dj;
  bindDims(ctx, dn, db, dc, dh, dw, dj);
  SmallVector<int64_t> shape{n, blocks, g.channels, kh, kw, nr};
  Value empty = tensor::EmptyOp::create(r, loc, shape, f32);
  SmallVector<AffineMap> maps{
      AffineMap::get(6, 0, {dn, dc, db * nr + dj + dh * wp + dw}, ctx),
      AffineMap::getMultiDimIdentityMap(6, ctx)};
  Value windows =
      linalg::GenericOp::create(
          r, loc, TypeRange{empty.getType()}, ValueRange{xFlat}, ValueRange{empty}, maps,
          SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
          [](OpBuilder &b, Location l, ValueRange a) { linalg::YieldOp::create(b, l, a[0]); })
          .getResult(0);
  Value packed = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({n, blocks, depth, nr}, f32), windows,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}, {5}});
  Value init = linalg::FillOp::create(
                   r, loc, fill.getInputs()[0],
                   tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{n, g.filters, blocks, nr}, f32)
                       .getResult())
                   .getResult(0);
  AffineExpr mf, mk;
  bindDims(ctx, dn, mf, db, dj, mk);
  linalg::GenericOp generic = buildMulAdd(r, loc, flattenFilters(r, loc, g), packed, init,
                                          {AffineMap::get(5, 0, {mf, mk}, ctx),
                                           AffineMap::get(5, 0, {dn, db, mk, dj}, ctx),
                                           AffineMap::get(5, 0, {dn, mf, db, dj}, ctx)});
  // [n, f, blocks * NR] -> the first oh * Wp positions as [n, f, oh, Wp] -> [.., :ow].
  Value y = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({n, g.filters, rows}, f32), generic.getResult(0),
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  auto one = r.getIndexAttr(1), zeroIdx = r.getIndexAttr(0);
  y = tensor::ExtractSliceOp::create(
      r, loc, RankedTensorType::get({n, g.filters, oh * wp}, f32), y,
      SmallVector<OpFoldResult>(3, zeroIdx),
      SmallVector<OpFoldResult>{r.getIndexAttr(n), r.getIndexAttr(g.filters), r.getIndexAttr(oh * wp)},
      SmallVector<OpFoldResult>(3, one));
  y = tensor::ExpandShapeOp::create(r, loc, RankedTensorType::get({n, g.filters, oh, wp}, f32), y,
                                    SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  y = tensor::ExtractSliceOp::create(
      r, loc, g.outType, y, SmallVector<OpFoldResult>(4, zeroIdx),
      SmallVector<OpFoldResult>{r.getIndexAttr(n), r.getIndexAttr(g.filters), r.getIndexAttr(oh),
                                r.getIndexAttr(ow)},
      SmallVector<OpFoldResult>(4, one));
  r.replaceOp(conv, y);
  return generic;
}
} // namespace

/// W [f, c, kh, kw] as the constant W' [f / nr, c, kh, kw, nr]: slivers of
/// `nr` filters, each contiguous over the reduction (a panel of filters read
/// a row of W^T apart would use a sixteenth of the cache's sets when the
/// filters are 256), or null.
Value packedFilters(RewriterBase &r, Location loc, const ConvGeometry &g, int64_t nr) {
  int64_t f = g.filters, depth = g.channels * g.taps;
  auto type = RankedTensorType::get(
      {f / nr, g.channels, g.wType.getDimSize(2), g.wType.getDimSize(3), nr}, r.getF32Type());
  return movedFilters(r, loc, g, type, f / nr,
                      [&](const float *from, float *to, int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int64_t j = 0; j < nr; ++j)
        for (int64_t k = 0; k < depth; ++k)
          to[(b * depth + k) * nr + j] = from[(b * nr + j) * depth + k];
  });
}

/// A 2-D convolution computed directly, with no gathered windows, in
/// slivers of NR filters (NCHWc, c = NR):
/// T[n, b, oh, ow, j] = sum over (c, kh, kw) of
///   X[n, c, oh*sh + kh*dh, ow*sw + kw*dw] * W'[b, c, kh, kw, j],
/// then T moved back into NCHW. The register tile is MR output columns by
/// the NR filters of a sliver: per input channel and tap, MR input values
/// broadcast (read with the convolution's stride) times NR contiguous
/// filters. Nothing is copied but the output; where a GEMM over gathered
/// windows copies each input value once per tap. Null where it does not
/// apply (the output is not zero-initialized, the weight is not constant).
linalg::GenericOp convDirect(RewriterBase &r, linalg::LinalgOp conv, const ConvGeometry &g,
                             const TargetInfo &target) {
  auto fill = g.init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return {};
  Location loc = conv.getLoc();
  MLIRContext *ctx = r.getContext();
  Type f32 = r.getF32Type();
  int64_t lanes = target.f32Lanes();
  int64_t nr = g.filters % (2 * lanes) == 0 ? 2 * lanes : lanes;
  Value w = packedFilters(r, loc, g, nr);
  if (!w)
    return {};
  int64_t n = g.images, blocks = g.filters / nr;
  int64_t oh = g.outType.getDimSize(2), ow = g.outType.getDimSize(3);
  auto tType = RankedTensorType::get({n, blocks, oh, ow, nr}, f32);
  Value tInit = linalg::FillOp::create(r, loc, fill.getInputs()[0],
                                       tensor::EmptyOp::create(r, loc, tType.getShape(), f32).getResult())
                    .getResult(0);
  // Loops (n, b, oh, ow, c, kh, kw, j): a sliver of filters outermost, so
  // each thread keeps it in cache while its output positions pass by.
  AffineExpr dn, db, dh, dw, dc, th, tw, dj;
  bindDims(ctx, dn, db, dh, dw, dc, th, tw, dj);
  SmallVector<AffineMap> maps{
      AffineMap::get(8, 0,
                     {dn, dc, dh * g.strides[0] + th * g.dilations[0],
                      dw * g.strides[1] + tw * g.dilations[1]},
                     ctx),
      AffineMap::get(8, 0, {db, dc, th, tw, dj}, ctx),
      AffineMap::get(8, 0, {dn, db, dh, dw, dj}, ctx)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  iters.append(3, utils::IteratorType::reduction);
  iters.push_back(utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      r, loc, TypeRange{tType}, ValueRange{g.x, w}, ValueRange{tInit}, maps, iters,
      [](OpBuilder &b, Location l, ValueRange a) {
        Value p = arith::MulFOp::create(b, l, a[0], a[1]);
        linalg::YieldOp::create(b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
      });
  // [n, b, oh, ow, j] -> [n, b, j, oh, ow] -> [n, b * NR + j, oh, ow].
  Value moved = linalg::TransposeOp::create(
                    r, loc, generic.getResult(0),
                    tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{n, blocks, nr, oh, ow}, f32),
                    ArrayRef<int64_t>{0, 1, 4, 2, 3})
                    .getResult()[0];
  Value y = tensor::CollapseShapeOp::create(r, loc, g.outType, moved,
                                            SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  r.replaceOp(conv, y);
  return generic;
}

linalg::GenericOp convAsContraction(RewriterBase &r, linalg::LinalgOp conv,
                                    const TargetInfo &target) {
  ConvGeometry g = convGeometry(conv);
  // Small images (ResNet's 7x7) first: their GEMM over gathered windows
  // is deep enough to be cache-tiled, and ran faster than the direct form
  // (512 channels of 7x7, Xeon, 1 thread: 3.5 against 4.1 ms).
  if (filtersAsVectors(g, target))
    return convWithFiltersAsVectors(r, conv, g, target);
  if (directFilters(conv, target)) {
    r.setInsertionPoint(conv);
    if (linalg::GenericOp direct = convDirect(r, conv, g, target))
      return direct;
  }
  Location loc = conv.getLoc();
  MLIRContext *ctx = r.getContext();
  Type f32 = r.getF32Type();
  int64_t n = g.images, c = g.channels, positions = g.positions, rank = g.rank;
  r.setInsertionPoint(conv);
  if (linalg::GenericOp packed = convOverPackedRows(r, conv, g, target))
    return packed;
  SmallVector<ReassociationIndices> spatial = flattenPositions(rank);
  Value cols; // [N, C * taps, positions]
  if (g.taps == 1) {
    // A strided 1x1 convolution reads every s-th position: take them first,
    // by an elementwise copy that threads split and that reads each row as
    // vectors (kiln-vectorize-elementwise). As a strided slice it was one
    // serial copy an element at a time (ResNet-50's 256 x 56 x 56 ->
    // 28 x 28: 70-80 us at 1 and 2 threads).
    Value x = g.x;
    if (llvm::any_of(g.strides, [](int64_t s) { return s != 1; })) {
      SmallVector<int64_t> shape{n, c};
      SmallVector<AffineExpr> in{getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)};
      for (int64_t i = 2; i < rank; ++i) {
        shape.push_back(g.outType.getDimSize(i));
        in.push_back(getAffineDimExpr(i, ctx) * g.strides[i - 2]);
      }
      x = gatherCopy(r, loc, x, shape, in);
    }
    cols = tensor::CollapseShapeOp::create(r, loc, RankedTensorType::get({n, c, positions}, f32),
                                           x, spatial);
  } else {
    // im2col: windows[n, c, k..., o...] as [n, c * taps, positions].
    SmallVector<ReassociationIndices> groups{{0}, {1}, {}};
    for (int64_t i = 2; i < 2 + g.spatialDims; ++i)
      groups[1].push_back(i);
    for (int64_t i = 2 + g.spatialDims; i < 2 + 2 * g.spatialDims; ++i)
      groups[2].push_back(i);
    cols = tensor::CollapseShapeOp::create(
        r, loc, RankedTensorType::get({n, c * g.taps, positions}, f32),
        gatherWindows(r, loc, g, false), groups);
  }
  Value o3 = tensor::CollapseShapeOp::create(
      r, loc, RankedTensorType::get({n, g.filters, positions}, f32), g.init, spatial);
  AffineExpr dn, df, dp, dc;
  bindDims(ctx, dn, df, dp, dc);
  linalg::GenericOp generic = buildMulAdd(r, loc, flattenFilters(r, loc, g), cols, o3,
                                          {AffineMap::get(4, 0, {df, dc}, ctx),
                                           AffineMap::get(4, 0, {dn, dc, dp}, ctx),
                                           AffineMap::get(4, 0, {dn, df, dp}, ctx)});
  Value y = tensor::ExpandShapeOp::create(r, loc, g.outType, generic.getResult(0), spatial);
  r.replaceOp(conv, y);
  return generic;
}

std::optional<LoweringConfig> chooseConfig(linalg::LinalgOp op, const TargetInfo &target,
                                           int64_t maxTasks) {
  if (std::optional<LoweringConfig> c = contractionConfig(op, target, maxTasks))
    return c;
  return convConfig(op, target, maxTasks);
}

} // namespace kiln
