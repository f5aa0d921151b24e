//===- Strategy.cpp - lowering configurations for root ops ----------------===//
#include "lowering/Strategy.h"
#include "mlir/IR/BuiltinAttributes.h"
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

namespace {

/// Work below which splitting across threads costs more than it gains:
/// about 50 microseconds of FMAs on one core.
constexpr int64_t kFlopsPerTask = 4'000'000;

/// The innermost dim of `map`'s results that is one of `dims`, or -1.
int64_t innermostOf(AffineMap map, ArrayRef<unsigned> dims) {
  for (AffineExpr e : llvm::reverse(map.getResults()))
    if (auto d = llvm::dyn_cast<AffineDimExpr>(e))
      if (llvm::is_contained(dims, d.getPosition()))
        return d.getPosition();
  return -1;
}

/// GEMM-class ops: C[.., m, n] += A[.., m, k] * B[.., k, n] in any loop
/// order, whose result's innermost dim is an `n` dim that is also B's
/// innermost: the register tile holds MR x NR accumulators, NR along that
/// dim in full vectors, MR rows of A broadcast one scalar at a time.
std::optional<LoweringConfig> contractionConfig(linalg::LinalgOp op, const TargetInfo &target,
                                                int64_t maxTasks) {
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!getElementTypeOrSelf(v.getType()).isF32())
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, [](int64_t r) { return r == ShapedType::kDynamic || r == 0; }))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.empty() || dims->n.empty())
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto last = llvm::dyn_cast<AffineDimExpr>(out.getResults().back());
  if (!last || !llvm::is_contained(dims->n, last.getPosition()))
    return std::nullopt;
  int64_t nv = last.getPosition();
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
  bool gemv = m < 0 || ranges[m] == 1;
  // Accumulators fill the registers but one for B's vector and one for
  // A's broadcast: 6x16 with 16 ymm registers, 8x32 with 32 zmm (wider
  // tiles spill); a GEMV has one row, so it takes more vectors along n.
  int64_t nrVectors = gemv ? 4 : 2;
  nrVectors = std::max<int64_t>(1, std::min(nrVectors, ranges[nv] / lanes));
  int64_t nr = nrVectors * lanes;
  int64_t mr = gemv ? 1 : std::clamp<int64_t>((target.vectorRegisters - nrVectors - 1) / nrVectors, 1, 8);
  if (m >= 0)
    mr = std::min(mr, ranges[m]);

  LoweringConfig c;
  c.kind = "contraction";
  c.vectorDim = nv;
  c.lanes = lanes;
  size_t loops = ranges.size();
  c.threads.assign(loops, 0);
  c.cache.assign(loops, 0);
  c.registers.assign(loops, 1);
  c.registers[nv] = nr;
  if (m >= 0)
    c.registers[m] = mr;
  // Cache tiles: 256 columns of B by 256 of its rows (256 KiB, L2-sized).
  int64_t kc = innermostOf(op.getMatchingIndexingMap(op.getDpsInputOperand(0)), dims->k);
  if (kc >= 0 && ranges[kc] > 256)
    c.cache[kc] = 256;
  if (ranges[nv] > 256)
    c.cache[nv] = 256;

  // Threads by cost: at most one task per kFlopsPerTask.
  int64_t flops = 2;
  for (int64_t r : ranges)
    flops = flops > (int64_t{1} << 50) / std::max<int64_t>(r, 1) ? int64_t{1} << 50 : flops * r;
  int64_t tasks = std::clamp<int64_t>(flops / kFlopsPerTask, 1, std::max<int64_t>(maxTasks, 1));
  if (tasks > 1) {
    auto iters = op.getIteratorTypesArray();
    auto split = [&](int64_t dim, int64_t unit) {
      int64_t units = (ranges[dim] + unit - 1) / unit;
      c.threads[dim] = unit * ((units + tasks - 1) / tasks);
    };
    int64_t outer = -1;
    for (int64_t d = 0; d < static_cast<int64_t>(loops); ++d)
      if (iters[d] == utils::IteratorType::parallel && d != nv && d != m && ranges[d] > 1) {
        outer = d;
        break;
      }
    bool rows = m >= 0 && ranges[m] >= 2 * mr;
    if (outer >= 0 && (ranges[outer] >= tasks || !rows))
      split(outer, 1);
    else if (rows)
      split(m, mr);
    else if (ranges[nv] >= 2 * nr)
      split(nv, nr);
  }
  return c;
}

} // namespace

std::optional<LoweringConfig> chooseConfig(linalg::LinalgOp op, const TargetInfo &target,
                                           int64_t maxTasks) {
  return contractionConfig(op, target, maxTasks);
}

} // namespace kiln
