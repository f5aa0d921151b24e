//===- BatchSharedWeightsPass.cpp - kiln-batch-shared-weights -------------===//
//
// A recurrence exported unrolled (one LSTM or GRU cell per time step, as
// PyTorch traces a loop over nn.LSTMCell) multiplies every step's input by
// the same weight: twenty 1 x 4096 by 4096 x 400 products, each reading
// all 6.5 MB of the weight and doing 2 flops per weight read. Their left
// operands are slices of the input sequence, known before the first step.
// Such products are computed as one: the left operands stacked by rows,
// one product (the weight read once, a GEMM instead of GEMVs), its rows
// handed back to each user.
//
// The products batched: Gemm (not transposing A) and MatMul of a 2-D left
// operand by one constant 2-D weight, with the same bias (none, or one row
// broadcast over the rows) and attributes, whose left operands do not
// depend on any of them (the recurrent products, h(t-1) times a weight, do
// and stay apart). The producers of the left operands move before the
// first product.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNBATCHSHAREDWEIGHTS
#include "lowering/Passes.h.inc"

namespace {

/// What products must share to be computed as one.
struct ProductKey {
  OperationName name;
  Value weight, bias;
  DictionaryAttr attributes;
};

/// `op`'s key when it is a product this pass batches.
std::optional<ProductKey> keyOf(Operation *op) {
  Value a, b, c;
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    if (gemm.getTransA() != 0)
      return std::nullopt;
    a = gemm.getA(), b = gemm.getB(), c = gemm.getC();
  } else if (auto matmul = dyn_cast<MatMulOp>(op)) {
    a = matmul.getA(), b = matmul.getB();
  } else {
    return std::nullopt;
  }
  auto at = dyn_cast<RankedTensorType>(a.getType());
  auto bt = dyn_cast<RankedTensorType>(b.getType());
  auto yt = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!at || !bt || !yt || at.getRank() != 2 || bt.getRank() != 2 || yt.getRank() != 2 ||
      !at.hasStaticShape() || !bt.hasStaticShape() || !yt.hasStaticShape() ||
      !b.getDefiningOp<ConstantOp>())
    return std::nullopt;
  if (c && !isa<NoneType>(c.getType())) {
    // One bias row for all rows (a [m, n] bias differs per product).
    auto ct = dyn_cast<RankedTensorType>(c.getType());
    if (!ct || !ct.hasStaticShape() || ct.getRank() > 2 || (ct.getRank() == 2 && ct.getDimSize(0) != 1))
      return std::nullopt;
  } else {
    c = {};
  }
  return ProductKey{op->getName(), b, c, op->getAttrDictionary()};
}

struct BatchSharedWeightsPass : impl::KilnBatchSharedWeightsBase<BatchSharedWeightsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *b) { blocks.push_back(b); });
    DominanceInfo dominance(getOperation());
    for (Block *b : blocks)
      batchIn(*b, dominance);
  }

  void batchIn(Block &block, DominanceInfo &dominance) {
    // Products by weight, in block order.
    SmallVector<std::pair<ProductKey, SmallVector<Operation *>>> groups;
    for (Operation &op : block) {
      std::optional<ProductKey> key = keyOf(&op);
      if (!key)
        continue;
      auto same = llvm::find_if(groups, [&](auto &g) {
        return g.first.name == key->name && g.first.weight == key->weight &&
               g.first.bias == key->bias && g.first.attributes == key->attributes;
      });
      if (same == groups.end())
        groups.push_back({*key, {&op}});
      else
        same->second.push_back(&op);
    }
    for (auto &[key, products] : groups)
      if (products.size() > 1)
        batch(products, dominance);
  }

  void batch(ArrayRef<Operation *> products, DominanceInfo &dominance) {
    // What depends on any of them (a recurrent product and what follows).
    llvm::SetVector<Operation *> dependent;
    for (Operation *p : products)
      getForwardSlice(p, &dependent);
    SmallVector<Operation *> independent;
    for (Operation *p : products)
      if (!dependent.contains(p))
        independent.push_back(p);
    if (independent.size() < 2)
      return;
    Operation *first = independent.front();
    SmallVector<Value> lefts;
    for (Operation *p : independent)
      lefts.push_back(p->getOperand(0));
    IRRewriter r(first->getContext());
    if (failed(moveValueDefinitions(r, lefts, first, dominance)))
      return;

    Location loc = r.getFusedLoc(llvm::map_to_vector(independent, [](Operation *p) { return p->getLoc(); }));
    r.setInsertionPoint(first);
    auto leftType = cast<RankedTensorType>(lefts.front().getType());
    auto resultType = cast<RankedTensorType>(first->getResult(0).getType());
    int64_t k = leftType.getDimSize(1), n = resultType.getDimSize(1), rows = 0;
    for (Value a : lefts)
      rows += cast<RankedTensorType>(a.getType()).getDimSize(0);
    Type element = leftType.getElementType();
    Value stacked = tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{rows, k}, element);
    int64_t at = 0;
    for (Value a : lefts) {
      int64_t m = cast<RankedTensorType>(a.getType()).getDimSize(0);
      stacked = tensor::InsertSliceOp::create(
          r, loc, a, stacked, ArrayRef<OpFoldResult>{r.getIndexAttr(at), r.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{r.getIndexAttr(m), r.getIndexAttr(k)},
          ArrayRef<OpFoldResult>{r.getIndexAttr(1), r.getIndexAttr(1)});
      at += m;
    }
    Operation *whole = r.clone(*first);
    whole->setOperand(0, stacked);
    whole->getResult(0).setType(RankedTensorType::get({rows, n}, resultType.getElementType()));
    whole->setLoc(loc);
    at = 0;
    for (Operation *p : independent) {
      auto type = cast<RankedTensorType>(p->getResult(0).getType());
      int64_t m = type.getDimSize(0);
      r.setInsertionPoint(p);
      Value rowsOf = tensor::ExtractSliceOp::create(
          r, p->getLoc(), type, whole->getResult(0),
          ArrayRef<OpFoldResult>{r.getIndexAttr(at), r.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{r.getIndexAttr(m), r.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{r.getIndexAttr(1), r.getIndexAttr(1)});
      r.replaceOp(p, rowsOf);
      at += m;
    }
  }
};

} // namespace
} // namespace kiln
