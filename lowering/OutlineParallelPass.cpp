//===- OutlineParallelPass.cpp - kiln-outline-parallel --------------------===//
#include "lowering/BodyHash.h"
#include "lowering/KernelNames.h"
#include "lowering/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include <optional>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNOUTLINEPARALLEL
#include "lowering/Passes.h.inc"

namespace {
constexpr const char *kParallelFor = "kiln_parallel_for";
/// Marks the functions this pass outlined.
constexpr const char *kBodyAttr = "kiln.parallel_body";

/// The LLVM type a captured value travels as; null if it cannot travel.
Type contextFieldType(Type t) {
  MLIRContext *ctx = t.getContext();
  auto i64 = IntegerType::get(ctx, 64);
  if (isa<IndexType>(t))
    return i64;
  if (isa<IntegerType, FloatType>(t))
    return t;
  if (auto m = dyn_cast<MemRefType>(t)) {
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<Type> fields{ptr, ptr, i64};
    if (m.getRank() > 0) {
      auto arr = LLVM::LLVMArrayType::get(i64, m.getRank());
      fields.append({arr, arr});
    }
    return LLVM::LLVMStructType::getLiteral(ctx, fields);
  }
  return {};
}

struct OutlineParallelPass : impl::KilnOutlineParallelBase<OutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bodies.clear();
    SmallVector<scf::ParallelOp> loops;
    // (Loops inside a body outlined earlier run on its thread.)
    module.walk([&](scf::ParallelOp p) {
      if (!p->getParentOfType<scf::ParallelOp>() &&
          !p->getParentOfType<func::FuncOp>()->hasAttr(kBodyAttr))
        loops.push_back(p);
    });
    if (loops.empty())
      return;
    names.emplace(module);
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto bodyType = FunctionType::get(ctx, {i64, i64, ptr}, {});
    if (!module.lookupSymbol(kParallelFor)) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      auto decl = func::FuncOp::create(b, module.getLoc(), kParallelFor,
                                       FunctionType::get(ctx, {i64, i64, ptr, ptr, ptr}, {}));
      decl.setPrivate();
    }
    unsigned counter = 0;
    for (scf::ParallelOp loop : loops)
      if (failed(outline(loop, counter++, bodyType)))
        return signalPassFailure();
  }

  /// An earlier body that does the same (ops with the same shapes read the
  /// same way: repeated layers); the JIT then compiles it once.
  func::FuncOp sameBody(func::FuncOp body) {
    llvm::hash_code h = bodyHash(body.getBody());
    for (auto &[hash, earlier] : bodies)
      if (hash == h && OperationEquivalence::isRegionEquivalentTo(
                           &body.getBody(), &earlier.getBody(),
                           OperationEquivalence::IgnoreLocations))
        return earlier;
    bodies.push_back({h, body});
    return body;
  }

  SmallVector<std::pair<llvm::hash_code, func::FuncOp>> bodies;

  std::optional<KernelNameTable> names;

  LogicalResult outline(scf::ParallelOp loop, unsigned index, FunctionType bodyType) {
    MLIRContext *ctx = &getContext();
    Location loc = loop.getLoc();
    auto parent = loop->getParentOfType<func::FuncOp>();
    auto i64 = IntegerType::get(ctx, 64);
    auto ptr = LLVM::LLVMPointerType::get(ctx);

    llvm::SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    for (Value v : loop.getOperands())
      used.insert(v);
    SmallVector<Value> consts, captured;
    SmallVector<Type> fields;
    for (Value v : used) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>() && def->getNumResults() == 1) {
        consts.push_back(v);
        continue;
      }
      Type f = contextFieldType(v.getType());
      if (!f)
        return loop.emitError("cannot pass a value of type ") << v.getType()
                                                              << " to a parallel body";
      captured.push_back(v);
      fields.push_back(f);
    }
    auto contextType = LLVM::LLVMStructType::getLiteral(ctx, fields);

    // The body function: iterations [begin, end) of the first dimension.
    OpBuilder mb(parent);
    std::string name = (parent.getName() + "_parallel" + Twine(index)).str();
    auto body = func::FuncOp::create(mb, loc, name, bodyType);
    body.setPrivate();
    body->setAttr(kBodyAttr, UnitAttr::get(ctx));
    Block *entry = body.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Value c : consts)
      map.map(c, b.clone(*c.getDefiningOp())->getResult(0));
    if (!captured.empty()) {
      Value s = LLVM::LoadOp::create(b, loc, contextType, entry->getArgument(2));
      for (auto [i, v] : llvm::enumerate(captured)) {
        Value f = LLVM::ExtractValueOp::create(b, loc, s, ArrayRef<int64_t>{(int64_t)i});
        if (isa<IndexType>(v.getType()))
          f = arith::IndexCastOp::create(b, loc, b.getIndexType(), f);
        else if (isa<MemRefType>(v.getType()))
          f = UnrealizedConversionCastOp::create(b, loc, v.getType(), f).getResult(0);
        map.map(v, f);
      }
    }
    Value begin = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry->getArgument(0));
    Value end = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry->getArgument(1));
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value lb0 = map.lookup(loop.getLowerBound()[0]);
    Value step0 = map.lookup(loop.getStep()[0]);
    auto forOp = scf::ForOp::create(b, loc, begin, end, one);
    {
      OpBuilder fb = OpBuilder::atBlockBegin(forOp.getBody());
      Value iv0 = arith::AddIOp::create(
          fb, loc, lb0, arith::MulIOp::create(fb, loc, forOp.getInductionVar(), step0));
      map.map(loop.getInductionVars()[0], iv0);
      auto cloneBody = [&](OpBuilder &ib) {
        for (Operation &op : loop.getBody()->without_terminator())
          ib.clone(op, map);
      };
      if (loop.getNumLoops() == 1) {
        cloneBody(fb);
      } else {
        auto rest = [&](OperandRange r) {
          SmallVector<Value> v;
          for (Value x : r.drop_front())
            v.push_back(map.lookup(x));
          return v;
        };
        scf::ParallelOp::create(fb, loc, rest(loop.getLowerBound()), rest(loop.getUpperBound()),
                                rest(loop.getStep()),
                                [&](OpBuilder &ib, Location, ValueRange ivs) {
                                  for (auto [o, n] : llvm::zip(llvm::drop_begin(loop.getInductionVars()), ivs))
                                    map.map(o, n);
                                  cloneBody(ib);
                                });
      }
    }
    func::ReturnOp::create(b, loc);
    if (func::FuncOp earlier = sameBody(body); earlier != body) {
      body.erase();
      body = earlier;
    }

    // The call site: context on the stack, then the runtime call.
    OpBuilder cb(loop);
    Value span = arith::SubIOp::create(cb, loc, loop.getUpperBound()[0], loop.getLowerBound()[0]);
    Value count = arith::CeilDivSIOp::create(cb, loc, span, loop.getStep()[0]);
    Value count64 = arith::IndexCastOp::create(cb, loc, i64, count);
    Value zero64 = arith::ConstantIntOp::create(cb, loc, i64, 0);
    Value contextPtr;
    if (captured.empty()) {
      contextPtr = LLVM::ZeroOp::create(cb, loc, ptr);
    } else {
      // In the entry block, where an alloca of constant size is part of the
      // fixed frame. At the call site (inside a loop, after a branch) it was
      // a dynamic alloca: the stack grew on every trip of an enclosing loop
      // and was left aligned to 16 bytes only, while the function's later
      // calls stored their 64-byte arguments with aligned AVX-512 moves,
      // relative to the stack pointer it had realigned (a SIGSEGV on a
      // context of 224 bytes).
      OpBuilder eb = OpBuilder::atBlockBegin(
          &loop->getParentOfType<FunctionOpInterface>().getFunctionBody().front());
      Value one64 = arith::ConstantIntOp::create(eb, loc, i64, 1);
      contextPtr = LLVM::AllocaOp::create(eb, loc, ptr, contextType, one64, /*alignment=*/64);
      Value s = LLVM::UndefOp::create(cb, loc, contextType);
      for (auto [i, v] : llvm::enumerate(captured)) {
        Value f = v;
        if (isa<IndexType>(v.getType()))
          f = arith::IndexCastOp::create(cb, loc, i64, v);
        else if (isa<MemRefType>(v.getType()))
          f = UnrealizedConversionCastOp::create(cb, loc, fields[i], v).getResult(0);
        s = LLVM::InsertValueOp::create(cb, loc, s, f, ArrayRef<int64_t>{(int64_t)i});
      }
      LLVM::StoreOp::create(cb, loc, s, contextPtr);
    }
    Value fn = func::ConstantOp::create(cb, loc, bodyType, SymbolRefAttr::get(body));
    Value fnPtr = UnrealizedConversionCastOp::create(cb, loc, ptr, fn).getResult(0);
    Value label = LLVM::AddressOfOp::create(cb, loc, names->get(nodeNames(loop)));
    func::CallOp::create(cb, loc, kParallelFor, TypeRange{},
                         ValueRange{zero64, count64, fnPtr, contextPtr, label});
    loop.erase();
    return success();
  }
};
} // namespace
} // namespace kiln
