//===- Compiler.cpp - ONNX model -> JIT-compiled entry point --------------===//
#include "jit/Compiler.h"
#include "lowering/Passes.h"
#include "runtime/ParallelFor.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Host.h"
#include <functional>
#include <onnx/onnx_pb.h>
#include <chrono>
#include <cstdlib>
#include <mutex>

using namespace mlir;

namespace kiln {
namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::optional<ElementType> kilnType(Type t) {
  if (t.isF32()) return ElementType::Float32;
  if (t.isF64()) return ElementType::Float64;
  if (t.isF16()) return ElementType::Float16;
  if (t.isBF16()) return ElementType::BFloat16;
  if (auto i = llvm::dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1: return ElementType::Bool;
    case 8: return u ? ElementType::UInt8 : ElementType::Int8;
    case 16: return u ? ElementType::UInt16 : ElementType::Int16;
    case 32: return u ? ElementType::UInt32 : ElementType::Int32;
    case 64: return u ? ElementType::UInt64 : ElementType::Int64;
    }
  }
  return std::nullopt;
}

/// "node 'conv1': reason" from a diagnostic located at an imported node.
std::string describe(Diagnostic &d) {
  std::string where;
  Location loc = d.getLocation();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc))
    loc = fused.getLocations().front();
  if (auto name = llvm::dyn_cast<NameLoc>(loc))
    where = "node '" + name.getName().str() + "': ";
  return where + d.str();
}

/// Tunes every function for this CPU; with AVX-512 the backend is asked for
/// 512-bit vectors (by default it prefers 256-bit ones).
void setHostAttributes(llvm::Module &m) {
  std::string cpu = llvm::sys::getHostCPUName().str();
  std::string features;
  bool avx512 = false;
  for (const auto &f : llvm::sys::getHostCPUFeatures()) {
    features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") + f.first().str();
    avx512 |= f.first() == "avx512f" && f.second;
  }
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu);
    f.addFnAttr("target-features", features);
    if (avx512)
      f.addFnAttr("prefer-vector-width", "512");
  }
}

void initializeLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    registerKilnPassesAndPipelines();
  });
}

} // namespace

CompiledModel compileModel(const onnx::ModelProto &model, const ImportOptions &import,
                           const SessionOptions &options) {
  initializeLLVM();
  std::string modelName = import.modelPath.empty() ? "<memory>" : import.modelPath;
  CompiledModel out;
  auto start = std::chrono::steady_clock::now();

  DialectRegistry registry;
  registerPipelineDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  registerBuiltinDialectTranslation(ctx);
  registerLLVMDialectTranslation(ctx);

  OwningOpRef<ModuleOp> module = importModel(model, ctx, import);
  out.times.import = msSince(start);

  auto func = llvm::cast<func::FuncOp>(module->lookupSymbol(kEntryFunction));
  auto names = [](Attribute a) {
    std::vector<std::string> v;
    for (Attribute s : llvm::cast<ArrayAttr>(a))
      v.push_back(llvm::cast<StringAttr>(s).str());
    return v;
  };
  auto describeArgs = [&](TypeRange types, const std::vector<std::string> &n,
                          std::vector<CompiledModel::Arg> &args) {
    for (auto [i, t] : llvm::enumerate(types)) {
      auto rt = llvm::dyn_cast<RankedTensorType>(t);
      if (!rt || !rt.hasStaticShape())
        throw Error("model '" + modelName + "': '" + n[i] +
                    "' has no static shape after shape inference");
      auto et = kilnType(rt.getElementType());
      if (!et)
        throw Error("model '" + modelName + "': '" + n[i] + "' has an unsupported type");
      args.push_back({n[i], *et, std::vector<int64_t>(rt.getShape().begin(), rt.getShape().end())});
    }
  };
  describeArgs(func.getArgumentTypes(), names(func->getAttr("kiln.input_names")), out.inputs);
  describeArgs(func.getResultTypes(), names(func->getAttr("kiln.output_names")), out.outputs);

  // The runtime calls the entry through its C interface: one pointer to a
  // memref descriptor per argument (see CompiledModel).
  func->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
  auto passStart = std::chrono::steady_clock::now();
  std::string diag;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      // The last error is the most specific (the conversion's own complaint
      // comes before Kiln's explanation).
      if (d.getSeverity() == DiagnosticSeverity::Error)
        diag = describe(d);
      return success();
    });
    PassManager pm(&ctx);
    buildCpuPipeline(pm, Phase::LLVM);
    if (failed(pm.run(*module)))
      throw Error("model '" + modelName + "': compilation failed: " +
                  (diag.empty() ? std::string("a pass failed") : diag));
  }
  out.times.passes = msSince(passStart);
  // For compiler developers: the LLVM-dialect module the JIT receives.
  if (const char *dump = std::getenv("KILN_DUMP_LLVM_DIALECT")) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dump, ec);
    module->print(os);
  }

  auto codegenStart = std::chrono::steady_clock::now();
  ExecutionEngineOptions eo;
  int opt = std::clamp(options.optimizationLevel, 0, 3);
  auto optimize = makeOptimizingTransformer(opt, 0, nullptr);
  std::function<llvm::Error(llvm::Module *)> transformer = [&](llvm::Module *m) {
    setHostAttributes(*m);
    return optimize(m);
  };
  eo.transformer = transformer;
  eo.jitCodeGenOptLevel = static_cast<llvm::CodeGenOptLevel>(opt);
  eo.enableGDBNotificationListener = false;
  eo.enablePerfNotificationListener = false;
  auto engine = ExecutionEngine::create(*module, eo);
  if (!engine)
    throw Error("model '" + modelName + "': JIT failed: " + llvm::toString(engine.takeError()));
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    map[interner("kiln_parallel_for")] = {llvm::orc::ExecutorAddr::fromPtr(&kiln_parallel_for),
                                          llvm::JITSymbolFlags::Exported};
    map[interner("memrefCopy")] = {llvm::orc::ExecutorAddr::fromPtr(&kiln_memref_copy),
                                   llvm::JITSymbolFlags::Exported};
    return map;
  });
  auto fn = (*engine)->lookupPacked(std::string("_mlir_ciface_") + kEntryFunction);
  if (!fn)
    throw Error("model '" + modelName + "': JIT lookup failed: " + llvm::toString(fn.takeError()));
  out.entry = *fn;
  out.engine = std::shared_ptr<ExecutionEngine>(std::move(*engine));
  out.times.codegen = msSince(codegenStart);
  out.times.total = msSince(start);
  return out;
}

} // namespace kiln
