//===- OutlineKernelsPass.cpp - kiln-outline-kernels ----------------------===//
//
// Serial loop nests of the entry function become functions of their own, so
// LLVM optimizes and emits many small functions (in parallel, one part per
// compiling thread) instead of one function holding the whole model.
//
//===----------------------------------------------------------------------===//
#include "lowering/BodyHash.h"
#include "lowering/KernelNames.h"
#include "lowering/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNOUTLINEKERNELS
#include "lowering/Passes.h.inc"

namespace {
constexpr const char *kBegin = "kiln_kernel_begin";
constexpr const char *kEnd = "kiln_kernel_end";

struct OutlineKernelsPass : impl::KilnOutlineKernelsBase<OutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ForOp> nests;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f.isPrivate() || f.isExternal())
        continue;
      // What stays (buffer plumbing, calls, loops too small to be worth a
      // function) is compiled for size: LLVM's loop vectorizer would
      // otherwise version each of its small loops with run-time checks and
      // remainders, at a large cost in compile time and no gain.
      f->setAttr("passthrough", ArrayAttr::get(&getContext(),
                                               {StringAttr::get(&getContext(), "optsize")}));
      f.walk([&](scf::ForOp loop) {
        if (loop->getParentOfType<scf::ForOp>() || loop->getParentOfType<scf::ParallelOp>())
          return;
        // A nest of two or more loops (a copy into a padded buffer, say)
        // goes too: in the entry, compiled for size, it would stay scalar.
        unsigned ops = 0;
        bool nested = false;
        loop->walk([&](Operation *op) {
          ++ops;
          nested |= op != loop && isa<scf::ForOp>(op);
        });
        if (ops >= minOps || nested)
          nests.push_back(loop);
      });
    }
    if (nests.empty())
      return;
    names.emplace(module);
    declareTimers();
    unsigned counter = 0;
    for (scf::ForOp loop : nests)
      outline(loop, counter++);
  }

  std::optional<KernelNameTable> names;

  /// kiln_kernel_begin() -> f64 and kiln_kernel_end(f64, name): the
  /// runtime's profiler hooks around each call of a serial kernel (a check
  /// of one thread-local pointer when the run is not profiled).
  void declareTimers() {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto f64 = Float64Type::get(ctx);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    if (!module.lookupSymbol(kBegin))
      func::FuncOp::create(b, module.getLoc(), kBegin, FunctionType::get(ctx, {}, {f64}))
          .setPrivate();
    if (!module.lookupSymbol(kEnd))
      func::FuncOp::create(b, module.getLoc(), kEnd, FunctionType::get(ctx, {f64, ptr}, {}))
          .setPrivate();
  }

  /// Whether a value of type `t` can be passed as a bare pointer: not a
  /// buffer, or a buffer whose shape, strides and offset are static.
  static bool passesAsPointer(Type t) {
    auto m = dyn_cast<MemRefType>(t);
    if (!m)
      return !isa<UnrankedMemRefType>(t);
    int64_t offset;
    SmallVector<int64_t> strides;
    return m.hasStaticShape() && succeeded(m.getStridesAndOffset(strides, offset)) &&
           !ShapedType::isDynamic(offset) && llvm::none_of(strides, ShapedType::isDynamic);
  }

  /// An earlier function that does the same, or `f` itself.
  func::FuncOp sameFunction(func::FuncOp f) {
    llvm::hash_code h =
        llvm::hash_combine(hash_value(f.getFunctionType()), bodyHash(f.getBody()));
    for (auto &[hash, earlier] : functions)
      if (hash == h && earlier.getFunctionType() == f.getFunctionType() &&
          OperationEquivalence::isRegionEquivalentTo(&f.getBody(), &earlier.getBody(),
                                                     OperationEquivalence::IgnoreLocations))
        return earlier;
    functions.push_back({h, f});
    return f;
  }
  SmallVector<std::pair<llvm::hash_code, func::FuncOp>> functions;

  void outline(scf::ForOp loop, unsigned index) {
    Location loc = loop.getLoc();
    auto parent = loop->getParentOfType<func::FuncOp>();
    // What the nest reads from outside: constants are cloned into the new
    // function, everything else becomes an argument.
    llvm::SetVector<Value> used;
    for (Value v : loop->getOperands())
      used.insert(v);
    getUsedValuesDefinedAbove(loop->getRegions(), used);
    SmallVector<Value> consts, arguments;
    for (Value v : used) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>() && def->getNumResults() == 1)
        consts.push_back(v);
      else
        arguments.push_back(v);
    }
    SmallVector<Type> argumentTypes;
    for (Value v : arguments)
      argumentTypes.push_back(v.getType());
    auto type = FunctionType::get(&getContext(), argumentTypes, loop.getResultTypes());

    OpBuilder mb(parent);
    auto kernel = func::FuncOp::create(mb, loc, (parent.getName() + "_kernel" + Twine(index)).str(),
                                       type);
    kernel.setPrivate();
    // Inlined back, it would rebuild the one large function.
    // (func-to-llvm carries `passthrough` over to the LLVM function.)
    kernel->setAttr("passthrough", ArrayAttr::get(&getContext(),
                                                  {StringAttr::get(&getContext(), "noinline")}));
    // Buffers whose shape and strides are in their type travel as one
    // pointer each (func-to-llvm's bare-pointer convention for this
    // function and its calls): a descriptor would be taken apart into
    // 3 + 2 x rank values at every call, most of the entry's code.
    if (llvm::all_of(argumentTypes, passesAsPointer) &&
        llvm::none_of(loop.getResultTypes(), [](Type t) { return isa<BaseMemRefType>(t); }))
      kernel->setAttr("llvm.bareptr", UnitAttr::get(&getContext()));
    Block *entry = kernel.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Value c : consts)
      map.map(c, b.clone(*c.getDefiningOp())->getResult(0));
    for (auto [v, a] : llvm::zip(arguments, entry->getArguments()))
      map.map(v, a);
    Operation *copy = b.clone(*loop.getOperation(), map);
    func::ReturnOp::create(b, loc, copy->getResults());
    if (func::FuncOp earlier = sameFunction(kernel); earlier != kernel) {
      kernel.erase();
      kernel = earlier;
    }
    OpBuilder cb(loop);
    Value label = LLVM::AddressOfOp::create(cb, loc, names->get(nodeNames(loop)));
    auto f64 = cb.getF64Type();
    Value start = func::CallOp::create(cb, loc, kBegin, TypeRange{f64}, ValueRange{}).getResult(0);
    auto call = func::CallOp::create(cb, loc, kernel, arguments);
    func::CallOp::create(cb, loc, kEnd, TypeRange{}, ValueRange{start, label});
    loop->replaceAllUsesWith(call.getResults());
    loop.erase();
  }
};

} // namespace
} // namespace kiln
