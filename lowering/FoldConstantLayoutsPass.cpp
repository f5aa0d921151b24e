//===- FoldConstantLayoutsPass.cpp - kiln-fold-constant-layouts -----------===//
//
// Weights often reach a kernel through a layout change: Gemm's transB, the
// packing of a GEMM's B operand, a Reshape. Done on the constant once, at
// compile time, from its raw bytes, the change costs nothing at run time
// and little at compile time.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/FoldedConstant.h"
#include "dialect/ConstantData.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"
#include <tuple>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFOLDCONSTANTLAYOUTS
#include "lowering/Passes.h.inc"

namespace {

/// The value of `v` if it is a constant of a raw element type: a dense
/// attribute (splats included) or a resource.
ElementsAttr constantOf(Value v) {
  ElementsAttr value;
  if (!matchPattern(v, m_Constant(&value)) || !rawElementBytes(value.getElementType()))
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat())
    return value;
  return constantBytes(value) ? value : ElementsAttr();
}

/// A splat `value` resized to `type`, or nothing.
ElementsAttr resizedSplat(ElementsAttr value, RankedTensorType type) {
  auto dense = dyn_cast<DenseElementsAttr>(value);
  return dense && dense.isSplat() ? dense.resizeSplat(type) : ElementsAttr();
}

/// A constant as an op reads it: its value, and the type it has there
/// (another shape when read through a reshape, whose bytes are the same).
struct ConstantInput {
  ElementsAttr value;
  RankedTensorType type;
};

/// `v` if it is a constant, or a static reshape of one.
ConstantInput constantThroughReshape(Value v) {
  if (ElementsAttr value = constantOf(v))
    return {value, cast<RankedTensorType>(value.getShapedType())};
  Operation *def = v.getDefiningOp();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def) || !type ||
      !type.hasStaticShape())
    return {};
  if (ElementsAttr value = constantOf(def->getOperand(0)))
    return {value, type};
  return {};
}

/// Whether `op` only copies its one input to its one output in another
/// order (loops all parallel, maps permutations), into a static shape.
bool isPermutation(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op.getNumReductionLoops() != 0 || !op.hasPureTensorSemantics())
    return false;
  Block *body = op.getBlock();
  if (!body || body->getOperations().size() != 1)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield->getNumOperands() != 1 || yield->getOperand(0) != body->getArgument(0))
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps[0].isPermutation() || !maps[1].isPermutation())
    return false;
  auto out = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  return out && out.hasStaticShape();
}

/// The input of `op` if it permutes a constant (read through a reshape
/// too: the reshaped copy is never made).
ConstantInput permutedConstant(linalg::LinalgOp op) {
  if (!isPermutation(op))
    return {};
  return constantThroughReshape(op.getDpsInputs()[0]);
}

/// `input` moved by the permutations of `op` into `type`.
ElementsAttr permute(ConstantInput input, linalg::LinalgOp op, RankedTensorType type) {
  if (ElementsAttr splat = resizedSplat(input.value, type))
    return splat;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  RankedTensorType inType = input.type;
  int64_t rank = type.getRank(), bytes = rawElementBytes(type.getElementType());
  // Stride in the input of each loop, then of each output dim.
  SmallVector<int64_t> inStrides(rank, 1), loopStride(rank), outStride(rank);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * inType.getDimSize(i + 1);
  for (int64_t j = 0; j < rank; ++j)
    loopStride[maps[0].getDimPosition(j)] = inStrides[j];
  for (int64_t i = 0; i < rank; ++i)
    outStride[i] = loopStride[maps[1].getDimPosition(i)];
  ArrayRef<char> in = *constantBytes(input.value);
  ConstantBuffer result(type.getNumElements() * bytes);
  ArrayRef<int64_t> shape = type.getShape();
  if (rank == 2 && outStride[1] != 1 && bytes == 4) {
    // A matrix transpose, in 32x32 blocks (rows of both sides stay cached).
    int64_t rows = shape[0], cols = shape[1], inRow = outStride[1];
    const uint32_t *src = reinterpret_cast<const uint32_t *>(in.data());
    uint32_t *dst = result.as<uint32_t>();
    forEachPart(op->getContext(), llvm::divideCeil(rows, 32), result.size(),
                [&](int64_t begin, int64_t end) {
      for (int64_t i0 = begin * 32; i0 < std::min(rows, end * 32); i0 += 32)
        for (int64_t j0 = 0; j0 < cols; j0 += 32)
          for (int64_t i = i0; i < std::min(rows, i0 + 32); ++i)
            for (int64_t j = j0; j < std::min(cols, j0 + 32); ++j)
              dst[i * cols + j] = src[j * inRow + i];
    });
    return constantAttr(type, std::move(result));
  }
  // Whole rows when the innermost dim stays innermost (packing a weight
  // into slivers moves rows of a register tile's width), else elements.
  int64_t run = rank > 0 && outStride[rank - 1] == 1 ? shape[rank - 1] : 1;
  int64_t innermost = run > 1 ? rank - 2 : rank - 1;
  int64_t runs = run ? type.getNumElements() / run : 0;
  forEachPart(op->getContext(), runs, result.size(), [&](int64_t begin, int64_t end) {
    // The output index of run `begin` (row-major over the dims up to
    // `innermost`), and its input offset.
    SmallVector<int64_t> index(rank, 0);
    int64_t from = 0;
    for (int64_t d = innermost, rest = begin; d >= 0; --d) {
      index[d] = rest % shape[d];
      rest /= shape[d];
      from += index[d] * outStride[d];
    }
    for (int64_t n = begin * run, e = end * run; n < e; n += run) {
      std::memcpy(result.data() + n * bytes, in.data() + from * bytes, run * bytes);
      // Next output row or element (row-major), input offset kept in step.
      for (int64_t d = innermost; d >= 0; --d) {
        from += outStride[d];
        if (++index[d] < shape[d])
          break;
        from -= outStride[d] * shape[d];
        index[d] = 0;
      }
    }
  });
  return constantAttr(type, std::move(result));
}

/// A static, unit-stride slice of `value` into `type` (the slice's result,
/// possibly rank-reduced: the same elements in the same order).
ElementsAttr slice(ElementsAttr value, tensor::ExtractSliceOp op, RankedTensorType type) {
  if (!op.hasUnitStride() || !type.hasStaticShape() ||
      ShapedType::isDynamicShape(op.getStaticOffsets()) ||
      ShapedType::isDynamicShape(op.getStaticSizes()))
    return {};
  if (ElementsAttr splat = resizedSplat(value, type))
    return splat;
  auto inType = cast<RankedTensorType>(value.getShapedType());
  ArrayRef<int64_t> offsets = op.getStaticOffsets(), sizes = op.getStaticSizes();
  int64_t rank = inType.getRank(), bytes = rawElementBytes(type.getElementType());
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * inType.getDimSize(i + 1);
  // Copied a row (innermost run) at a time.
  int64_t row = sizes[rank - 1], rows = type.getNumElements() / std::max<int64_t>(row, 1);
  ArrayRef<char> in = *constantBytes(value);
  ConstantBuffer result(type.getNumElements() * bytes);
  SmallVector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < rows && row > 0; ++n) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += (offsets[d] + index[d]) * strides[d];
    std::memcpy(result.data() + n * row * bytes, in.data() + from * bytes, row * bytes);
    for (int64_t d = rank - 2; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return constantAttr(type, std::move(result));
}

struct FoldConstantLayoutsPass : impl::KilnFoldConstantLayoutsBase<FoldConstantLayoutsPass> {
  void runOnOperation() override {
    IRRewriter r(&getContext());
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::LinalgOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
              tensor::ExtractSliceOp>(op))
        ops.push_back(op);
    });
    BlobReferences blobs(getOperation());
    // Weights a rewrite left unused (the unpadded copy of a padded one).
    getOperation().walk([&](arith::ConstantOp c) {
      if (c->use_empty() && isa<DenseResourceElementsAttr>(c.getValue())) {
        blobs.erasing(c);
        c.erase();
      }
    });
    // The same weight moved the same way by several ops (each unrolled
    // step of a recurrence packs its recurrent weight) is moved once: the
    // ops share the result, which becomes one buffer.
    using Move = std::tuple<Attribute, Type, Attribute>;
    llvm::DenseMap<Move, ElementsAttr> moved;
    auto once = [&](Move key, llvm::function_ref<ElementsAttr()> move) {
      auto [it, isNew] = moved.try_emplace(key);
      if (isNew)
        it->second = move();
      return it->second;
    };
    // In program order: a reshape of a transposed constant folds too.
    for (Operation *op : ops) {
      ElementsAttr folded;
      if (auto sliceOp = dyn_cast<tensor::ExtractSliceOp>(op)) {
        if (ElementsAttr value = constantOf(sliceOp.getSource()))
          folded = once({value, sliceOp.getType(),
                         r.getDenseI64ArrayAttr(llvm::to_vector(llvm::concat<const int64_t>(
                             sliceOp.getStaticOffsets(), sliceOp.getStaticSizes(),
                             sliceOp.getStaticStrides())))},
                        [&] { return slice(value, sliceOp, sliceOp.getType()); });
      } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        if (ConstantInput input = permutedConstant(linalgOp); input.value) {
          auto type = cast<RankedTensorType>(op->getResult(0).getType());
          SmallVector<Attribute> key{TypeAttr::get(input.type), TypeAttr::get(type)};
          for (AffineMap m : linalgOp.getIndexingMapsArray())
            key.push_back(AffineMapAttr::get(m));
          folded = once({input.value, type, r.getArrayAttr(key)},
                        [&] { return permute(input, linalgOp, type); });
        }
      } else if (llvm::all_of(op->getUsers(), [](Operation *user) {
                   auto permuting = dyn_cast<linalg::LinalgOp>(user);
                   return permuting && isPermutation(permuting);
                 })) {
        // Every user permutes it: they read the constant through the
        // reshape, without a reshaped copy of the weight.
        continue;
      } else if (ElementsAttr value = constantOf(op->getOperand(0))) {
        auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
        if (type && type.hasStaticShape())
          folded = retypeConstant(value, type);
      }
      if (!folded)
        continue;
      replaceWithConstant(r, op, folded, blobs);
    }
  }
};
} // namespace

void replaceWithConstant(RewriterBase &r, Operation *op, ElementsAttr value,
                         BlobReferences &blobs) {
  // A set: an op may read one constant through several operands.
  llvm::SetVector<Operation *> inputs;
  for (Value v : op->getOperands())
    if (Operation *def = v.getDefiningOp())
      inputs.insert(def);
  r.setInsertionPoint(op);
  Operation *constant = r.replaceOpWithNewOp<arith::ConstantOp>(op, cast<TypedAttr>(value));
  blobs.added(constant);
  while (!inputs.empty()) {
    Operation *input = inputs.pop_back_val();
    if (!input->use_empty() || !isa<arith::ConstantOp, tensor::ExpandShapeOp,
                                    tensor::CollapseShapeOp, tensor::EmptyOp>(input))
      continue;
    for (Value v : input->getOperands())
      if (Operation *def = v.getDefiningOp())
        inputs.insert(def);
    blobs.erasing(input);
    r.eraseOp(input);
  }
}

} // namespace kiln
