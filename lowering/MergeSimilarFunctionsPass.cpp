//===- MergeSimilarFunctionsPass.cpp - kiln-merge-similar-functions -------===//
//
// Layers that differ only in a size (DenseNet's 1x1 convolutions, each over
// 32 more input channels than the last) become kernels whose code is the
// same but for some integer constants: a reduction's trip count, a row
// stride. LLVM would optimize and emit each of them; here each group of
// such functions becomes one function that takes the differing constants
// as arguments, and each member a call of it with its own values.
//
// Only vectorized kernels are merged: LLVM gives them clean-up passes only
// (their loops were tiled and unrolled before), so nothing LLVM does
// depends on a trip count being a constant. Scalar loops are left alone:
// LLVM unrolls and vectorizes those by their constant trip counts. A
// constant becomes an argument only where it is an operand of integer
// arithmetic, comparisons, addresses, descriptors or branches: never of a
// division (a division by a constant is a multiplication) or an intrinsic
// (whose operands may have to be immediates).
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNMERGESIMILARFUNCTIONS
#include "lowering/Passes.h.inc"

namespace {

/// Whether the integer constant `c` may become a function argument.
bool isParameter(LLVM::ConstantOp c) {
  if (!isa<IntegerType>(c.getType()) || !isa<IntegerAttr>(c.getValue()))
    return false;
  for (OpOperand &use : c->getUses()) {
    Operation *user = use.getOwner();
    if (isa<LLVM::AddOp, LLVM::SubOp, LLVM::MulOp, LLVM::ICmpOp, LLVM::GEPOp,
            LLVM::InsertValueOp, LLVM::BrOp, LLVM::CondBrOp, LLVM::SelectOp, LLVM::TruncOp,
            LLVM::SExtOp, LLVM::ZExtOp>(user))
      continue;
    if (isa<LLVM::StoreOp>(user) && use.getOperandNumber() == 0)
      continue; // the value stored, not the address
    return false;
  }
  return true;
}

/// A parameter constant's operand slot: (op index, operand number).
using Slot = std::pair<unsigned, unsigned>;

/// A function's body as a sequence: its blocks in order, each block's ops
/// in order (parameter constants left out), each op's operands named by
/// where they are defined, an operand that is a parameter constant by its
/// type alone. Two functions whose sequences match compute the same thing
/// from the values in their slots. (Equal constants are shared by their
/// users, so which constant op a use names depends on values: a trip
/// count of 32 may use the constant 32 a stride uses elsewhere.)
struct Shape {
  LLVM::LLVMFuncOp func;
  SmallVector<Operation *> ops;
  llvm::DenseMap<Operation *, unsigned> opIndex;
  llvm::DenseMap<Block *, unsigned> blockIndex;
  llvm::DenseSet<Operation *> parameters;
  /// Every use of a parameter constant, in order.
  SmallVector<Slot> slots;
  llvm::hash_code hash = 0;

  explicit Shape(LLVM::LLVMFuncOp f) : func(f) {
    f.walk<WalkOrder::PreOrder>([&](Block *b) { blockIndex[b] = blockIndex.size(); });
    f.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op == f)
        return;
      if (auto c = dyn_cast<LLVM::ConstantOp>(op); c && isParameter(c)) {
        parameters.insert(op);
        return;
      }
      opIndex[op] = ops.size();
      ops.push_back(op);
    });
    hash = llvm::hash_value(ops.size());
    for (auto [i, op] : llvm::enumerate(ops)) {
      hash = llvm::hash_combine(hash, op->getName().getAsOpaquePointer(),
                                op->getRawDictionaryAttrs().getAsOpaquePointer(),
                                op->hashProperties(), op->getNumOperands(), op->getNumRegions(),
                                op->getNumSuccessors());
      for (Type t : op->getResultTypes())
        hash = llvm::hash_combine(hash, t.getAsOpaquePointer());
      for (OpOperand &operand : op->getOpOperands())
        if (parameters.contains(operand.get().getDefiningOp()))
          slots.push_back({static_cast<unsigned>(i), operand.getOperandNumber()});
    }
    hash = llvm::hash_combine(hash, slots.size());
  }

  /// Where `v` is defined: (op index, result), (block index | top bit,
  /// argument), or (all ones, its type) for a parameter constant.
  std::pair<uint64_t, uint64_t> origin(Value v) const {
    if (auto r = dyn_cast<OpResult>(v)) {
      if (parameters.contains(r.getOwner()))
        return {~uint64_t(0), reinterpret_cast<uintptr_t>(v.getType().getAsOpaquePointer())};
      auto it = opIndex.find(r.getOwner());
      return {it == opIndex.end() ? ~uint64_t(1) : it->second, r.getResultNumber()};
    }
    auto a = cast<BlockArgument>(v);
    auto it = blockIndex.find(a.getOwner());
    return {it == blockIndex.end() ? ~uint64_t(1) : (uint64_t(1) << 63) | it->second,
            a.getArgNumber()};
  }

  int64_t value(Slot s) const {
    auto c = cast<LLVM::ConstantOp>(ops[s.first]->getOperand(s.second).getDefiningOp());
    return cast<IntegerAttr>(c.getValue()).getValue().getSExtValue();
  }
};

/// Whether `a` and `b` are the same function but for the values in their
/// slots.
bool similar(const Shape &a, const Shape &b) {
  LLVM::LLVMFuncOp fa = a.func, fb = b.func;
  if (a.ops.size() != b.ops.size() || a.blockIndex.size() != b.blockIndex.size() ||
      a.slots != b.slots || fa.getFunctionType() != fb.getFunctionType())
    return false;
  for (auto [x, y] : llvm::zip(fa.getBody().getBlocks(), fb.getBody().getBlocks()))
    if (x.getArgumentTypes() != y.getArgumentTypes())
      return false;
  for (unsigned i = 0, e = a.ops.size(); i < e; ++i) {
    Operation *x = a.ops[i], *y = b.ops[i];
    if (x->getName() != y->getName() || x->getNumOperands() != y->getNumOperands() ||
        x->getNumRegions() != y->getNumRegions() ||
        x->getNumSuccessors() != y->getNumSuccessors() ||
        x->getResultTypes() != y->getResultTypes() ||
        x->getRawDictionaryAttrs() != y->getRawDictionaryAttrs() ||
        a.blockIndex.lookup(x->getBlock()) != b.blockIndex.lookup(y->getBlock()) ||
        !x->getName().compareOpProperties(x->getPropertiesStorage(), y->getPropertiesStorage()))
      return false;
    for (auto [u, v] : llvm::zip(x->getOperands(), y->getOperands()))
      if (a.origin(u) != b.origin(v))
        return false;
    for (auto [s, t] : llvm::zip(x->getSuccessors(), y->getSuccessors()))
      if (a.blockIndex.lookup(s) != b.blockIndex.lookup(t))
        return false;
  }
  return true;
}

struct MergeSimilarFunctionsPass
    : impl::KilnMergeSimilarFunctionsBase<MergeSimilarFunctionsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<std::unique_ptr<Shape>> shapes;
    llvm::MapVector<llvm::hash_code, SmallVector<Shape *>> buckets;
    for (auto f : module.getOps<LLVM::LLVMFuncOp>()) {
      if (f.isExternal() || f.isVarArg() || !isVectorized(f))
        continue;
      shapes.push_back(std::make_unique<Shape>(f));
      buckets[shapes.back()->hash].push_back(shapes.back().get());
    }
    unsigned counter = 0;
    for (auto &bucket : buckets) {
      SmallVector<Shape *> &members = bucket.second;
      while (members.size() > 1) {
        Shape *first = members.front();
        SmallVector<Shape *> group{first}, rest;
        for (Shape *s : llvm::drop_begin(members))
          (similar(*first, *s) ? group : rest).push_back(s);
        if (group.size() > 1)
          merge(module, group, counter);
        members = std::move(rest);
      }
    }
  }

  static bool isVectorized(LLVM::LLVMFuncOp f) {
    return f
        .walk([](Operation *op) {
          for (Type t : op->getResultTypes())
            if (isa<VectorType>(t))
              return WalkResult::interrupt();
          return WalkResult::advance();
        })
        .wasInterrupted();
  }

  /// Replaces the functions of `group` by calls of one function taking the
  /// constants in which they differ as arguments.
  void merge(ModuleOp module, ArrayRef<Shape *> group, unsigned &counter) {
    const Shape &first = *group.front();
    // One argument per distinct column of differing values (and type).
    SmallVector<std::pair<Type, SmallVector<int64_t>>> columns;
    SmallVector<std::pair<Slot, unsigned>> replaced; // (slot, argument)
    for (Slot slot : first.slots) {
      std::pair<Type, SmallVector<int64_t>> column;
      column.first = first.ops[slot.first]->getOperand(slot.second).getType();
      for (Shape *s : group)
        column.second.push_back(s->value(slot));
      if (llvm::all_equal(column.second))
        continue;
      auto *it = llvm::find(columns, column);
      unsigned arg = it - columns.begin();
      if (it == columns.end())
        columns.push_back(column);
      replaced.push_back({slot, arg});
    }
    if (columns.empty() || columns.size() > maxArguments)
      return;

    LLVM::LLVMFuncOp proto = first.func;
    auto type = proto.getFunctionType();
    SmallVector<Type> params(type.getParams());
    SmallVector<Type> extra;
    for (auto &column : columns)
      extra.push_back(column.first);
    llvm::append_range(params, extra);
    OpBuilder b(proto);
    std::string name = (proto.getName() + "_shared" + Twine(counter++)).str();
    auto shared = LLVM::LLVMFuncOp::create(
        b, proto.getLoc(), name, LLVM::LLVMFunctionType::get(type.getReturnType(), params, false),
        LLVM::Linkage::Internal);
    shared.setNoInline(true);
    if (ArrayAttr attrs = proto.getArgAttrsAttr()) {
      SmallVector<Attribute> all(attrs.begin(), attrs.end());
      all.resize(params.size(), b.getDictionaryAttr({}));
      shared.setArgAttrsAttr(b.getArrayAttr(all));
    }
    IRMapping map;
    proto.getBody().cloneInto(&shared.getBody(), map);
    Block &entry = shared.getBody().front();
    SmallVector<Value> args;
    for (Type t : extra)
      args.push_back(entry.addArgument(t, proto.getLoc()));
    for (auto [slot, arg] : replaced) {
      Operation *user = map.lookup(first.ops[slot.first]);
      Operation *constant = user->getOperand(slot.second).getDefiningOp();
      user->setOperand(slot.second, args[arg]);
      if (constant->use_empty())
        constant->erase();
    }

    // Each member: a call of the shared function with its own values.
    for (auto [m, s] : llvm::enumerate(group)) {
      LLVM::LLVMFuncOp f = s->func;
      Location loc = f.getLoc();
      f.getBody().dropAllReferences();
      f.getBody().getBlocks().clear();
      Block *body = f.addEntryBlock(b);
      b.setInsertionPointToStart(body);
      SmallVector<Value> operands(body->getArguments());
      for (auto &[t, values] : columns)
        operands.push_back(LLVM::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, values[m])));
      auto call = LLVM::CallOp::create(b, loc, shared, operands);
      LLVM::ReturnOp::create(b, loc, call.getResults());
    }
  }
};

} // namespace
} // namespace kiln
