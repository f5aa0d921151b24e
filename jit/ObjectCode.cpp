//===- ObjectCode.cpp - LLVM IR -> object files -> loaded code ------------===//
//
// LLVM's optimization and instruction selection take most of a cold
// compilation; they work function by function, so the module is split and
// compiled on several threads. Each part gets its own LLVMContext (a
// context is single-threaded): parts travel as bitcode.
//
//===----------------------------------------------------------------------===//
#include "jit/ObjectCode.h"
#include "jit/CompileBudget.h"
#include "kiln/Tensor.h"
#include "runtime/Allocation.h"
#include "runtime/HostKernels.h"
#include "runtime/ParallelFor.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Target/TargetMachine.h"
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace kiln {
namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

/// Whether the strategy layer already vectorized `f` (its values include
/// vectors): such kernels are register-tiled and fully unrolled.
bool isVectorized(llvm::Function &f) {
  for (llvm::Instruction &i : llvm::instructions(f))
    if (i.getType()->isVectorTy())
      return true;
  return false;
}

/// Runs one of two function pipelines on each function, by whether it is
/// vectorized already.
struct ByKernelKind : llvm::PassInfoMixin<ByKernelKind> {
  llvm::FunctionPassManager vectorized, scalar;
  llvm::PreservedAnalyses run(llvm::Function &f, llvm::FunctionAnalysisManager &am) {
    return (isVectorized(f) ? vectorized : scalar).run(f, am);
  }
};

/// LLVM's O3 pipeline would re-optimize what the strategy layer emitted,
/// at a cost in proportion to its size (ResNet-50: 1.4 of the 2.2 s LLVM
/// took, for no faster code). Vectorized kernels need clean-up only:
/// scalar replacement of the memref descriptors, CSE, instruction
/// combining. Scalar loops (elementwise ops, pooling, fills, glue) also get
/// what makes them fast: invariant code hoisted, fills as memset, small
/// loops (pooling windows) unrolled, then LLVM's loop vectorizer.
void optimize(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // One round of instruction combining is enough between other passes.
  const std::string combine = "instcombine<no-verify-fixpoint>,simplifycfg";
  const std::string cleanUp = "sroa,early-cse<memssa>," + combine;
  const std::string loops = cleanUp +
                            ",loop-mssa(loop-rotate,licm),loop(loop-idiom,indvars,loop-deletion,"
                            "loop-unroll-full)," +
                            combine + ",loop-vectorize," + combine;
  ByKernelKind byKind;
  for (auto [fpm, text] : {std::pair{&byKind.vectorized, cleanUp}, std::pair{&byKind.scalar, loops}})
    if (llvm::Error e = pb.parsePassPipeline(*fpm, text))
      throw Error("LLVM optimization pipeline: " + errorText(std::move(e)));
  llvm::ModulePassManager mpm;
  mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(byKind)));
  mpm.run(m, mam);
}

/// Entry functions (compiled for size, see kiln-outline-kernels) without a
/// loop are buffer plumbing and calls, run once per run: they are compiled
/// by the fast instruction selector and register allocator. ResNet-50's
/// entry is 10k instructions that took 0.4 s of SelectionDAG, as much as
/// all its convolution kernels; it runs in microseconds either way.
void selectFastWhereStraightLine(llvm::Module &m) {
  for (llvm::Function &f : m) {
    if (f.isDeclaration() || !f.hasFnAttribute(llvm::Attribute::OptimizeForSize))
      continue;
    llvm::DominatorTree dom(f);
    llvm::LoopInfo loops(dom);
    if (!loops.empty())
      continue;
    f.removeFnAttr(llvm::Attribute::OptimizeForSize);
    f.removeFnAttr(llvm::Attribute::MinSize);
    f.addFnAttr(llvm::Attribute::NoInline);
    f.addFnAttr(llvm::Attribute::OptimizeNone);
  }
}

/// One part: optimized, then emitted as an object.
std::vector<char> compilePart(llvm::Module &m, llvm::TargetMachine &tm, int optLevel,
                              double &optimizeMs, double &emitMs, CompileBudget *budget) {
  if (budget)
    budget->check("LLVM optimization");
  auto start = std::chrono::steady_clock::now();
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple());
  if (optLevel > 0) {
    optimize(m, tm);
    selectFastWhereStraightLine(m);
  }
  optimizeMs += msSince(start);
  if (budget)
    budget->check("LLVM code generation");
  start = std::chrono::steady_clock::now();
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    throw Error("the target cannot emit object files");
  pm.run(m);
  emitMs += msSince(start);
  return std::vector<char>(buffer.begin(), buffer.end());
}

} // namespace

void addPackedWrapper(llvm::Module &module, const std::string &name) {
  llvm::Function *f = module.getFunction(name);
  if (!f)
    throw Error("the compiled module has no function '" + name + "'");
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *type = llvm::FunctionType::get(b.getVoidTy(), b.getPtrTy(), false);
  auto *wrapper = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                         "_mlir_" + name, module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value *args = wrapper->getArg(0);
  llvm::SmallVector<llvm::Value *> values;
  for (llvm::Argument &a : f->args()) {
    llvm::Value *slot = b.CreateConstGEP1_64(b.getPtrTy(), args, a.getArgNo());
    values.push_back(b.CreateLoad(a.getType(), b.CreateLoad(b.getPtrTy(), slot)));
  }
  llvm::Value *result = b.CreateCall(f, values);
  if (!result->getType()->isVoidTy()) {
    llvm::Value *slot = b.CreateConstGEP1_64(b.getPtrTy(), args, f->arg_size());
    b.CreateStore(result, b.CreateLoad(b.getPtrTy(), slot));
  }
  b.CreateRetVoid();
}

std::vector<std::vector<char>> compileToObjects(std::vector<ModuleBuilder> parts,
                                                const llvm::orc::JITTargetMachineBuilder &builder,
                                                int optLevel, unsigned threads,
                                                ObjectCodeTimes *times, CompileBudget *budget) {
  ObjectCodeTimes local;
  ObjectCodeTimes &t = times ? *times : local;
  threads = std::max(1u, std::min<unsigned>(threads, parts.size()));
  std::vector<std::vector<char>> objects(parts.size());
  std::vector<std::string> errors(parts.size());
  std::vector<ObjectCodeTimes> partTimes(parts.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < parts.size();) {
      try {
        auto start = std::chrono::steady_clock::now();
        llvm::LLVMContext ctx;
        std::unique_ptr<llvm::Module> part = parts[i](ctx);
        parts[i] = nullptr; // what it captured goes now
        partTimes[i].translate = msSince(start);
        auto tm = llvm::orc::JITTargetMachineBuilder(builder).createTargetMachine();
        if (!tm)
          throw Error("no code generator for the target: " + errorText(tm.takeError()));
        objects[i] = compilePart(*part, **tm, optLevel, partTimes[i].optimize, partTimes[i].emit,
                                 budget);
      } catch (const std::exception &e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned k = 1; k < threads; ++k)
    pool.emplace_back(work);
  work();
  for (std::thread &th : pool)
    th.join();
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!errors[i].empty())
      throw Error(errors[i]);
    t.translate += partTimes[i].translate;
    t.optimize += partTimes[i].optimize;
    t.emit += partTimes[i].emit;
  }
  return objects;
}

LoadedCode loadObjects(const std::vector<std::vector<char>> &objects,
                       const llvm::orc::JITTargetMachineBuilder &builder,
                       const std::string &entry) {
  using namespace llvm::orc;
  // LLJIT links ELF x86-64 objects with JITLink: each object is placed in one
  // allocation, with its own GOT and stubs. RuntimeDyld's section memory
  // manager maps sections one by one, and where they land more than 2 GiB
  // apart (address-space layouts of sanitizers, fragmented heaps) the small
  // code model's 32-bit displacements silently wrap.
  auto jit = LLJITBuilder().setJITTargetMachineBuilder(builder).create();
  if (!jit)
    throw Error("JIT failed: " + errorText(jit.takeError()));
  JITDylib &main = (*jit)->getMainJITDylib();
  char prefix = (*jit)->getDataLayout().getGlobalPrefix();
  auto process = DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
  if (!process)
    throw Error("JIT failed: " + errorText(process.takeError()));
  main.addGenerator(std::move(*process));
  MangleAndInterner interner(main.getExecutionSession(), (*jit)->getDataLayout());
  SymbolMap runtime;
  auto bind = [&](const char *name, auto *fn) {
    runtime[interner(name)] = {ExecutorAddr::fromPtr(fn), llvm::JITSymbolFlags::Exported};
  };
  bind("kiln_parallel_for", &kiln_parallel_for);
  bind("kiln_kernel_begin", &kiln_kernel_begin);
  bind("kiln_kernel_end", &kiln_kernel_end);
  bind("kiln_memref_copy", &kiln_memref_copy);
  bind("kiln_malloc", &kiln_malloc);
  bind("kiln_free", &kiln_free);
  for (const HostKernelSymbol *k = kHostKernels; k->name; ++k)
    bind(k->name, k->address);
  if (llvm::Error e = main.define(absoluteSymbols(std::move(runtime))))
    throw Error("JIT failed: " + errorText(std::move(e)));
  for (const std::vector<char> &o : objects)
    if (llvm::Error e = (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(
            llvm::StringRef(o.data(), o.size()), "kiln-object")))
      throw Error("JIT failed: " + errorText(std::move(e)));
  auto symbol = (*jit)->lookup(entry);
  if (!symbol)
    throw Error("JIT lookup failed: " + errorText(symbol.takeError()));
  LoadedCode code;
  code.entry = symbol->toPtr<void (*)(void **)>();
  code.owner = std::shared_ptr<LLJIT>(std::move(*jit));
  return code;
}

} // namespace kiln
