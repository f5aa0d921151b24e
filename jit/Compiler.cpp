//===- Compiler.cpp - ONNX model -> JIT-compiled entry point --------------===//
#include "jit/Compiler.h"
#include "jit/CompileBudget.h"
#include "jit/ModuleParts.h"
#include "jit/ObjectCode.h"
#include "lowering/Passes.h"
#include "lowering/Strategy.h"
#include "runtime/Artifact.h"
#include "llvm/Config/llvm-config.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Host.h"
#include <functional>
#include <onnx/onnx_pb.h>
#include <chrono>
#include <fstream>
#include <unistd.h>
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"
#include <cstdlib>
#include <mutex>
#include <thread>
#include "mlir/Target/LLVMIR/Export.h"

using namespace mlir;

namespace kiln {
namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::optional<ElementType> kilnType(Type t) {
  if (llvm::isa<StringType>(t)) return ElementType::String;
  if (t.isF32()) return ElementType::Float32;
  if (t.isF64()) return ElementType::Float64;
  if (t.isF16()) return ElementType::Float16;
  if (t.isBF16()) return ElementType::BFloat16;
  if (llvm::isa<Float8E4M3FNType>(t)) return ElementType::Float8E4M3FN;
  if (llvm::isa<Float8E4M3FNUZType>(t)) return ElementType::Float8E4M3FNUZ;
  if (llvm::isa<Float8E5M2Type>(t)) return ElementType::Float8E5M2;
  if (llvm::isa<Float8E5M2FNUZType>(t)) return ElementType::Float8E5M2FNUZ;
  if (llvm::isa<Float8E8M0FNUType>(t)) return ElementType::Float8E8M0;
  if (llvm::isa<Float4E2M1FNType>(t)) return ElementType::Float4E2M1;
  if (auto i = llvm::dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 2: return u ? ElementType::UInt2 : ElementType::Int2;
    case 4: return u ? ElementType::UInt4 : ElementType::Int4;
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

/// Tunes every function for the target CPU; with AVX-512 the backend is
/// asked for 512-bit vectors (by default it prefers 256-bit ones). The
/// strided-copy helper upstream lowering calls is Kiln's runtime one.
void setTargetAttributes(llvm::Module &m, const TargetDescription &target, bool wide) {
  if (llvm::Function *copy = m.getFunction("memrefCopy"))
    copy->setName("kiln_memref_copy");
  // Allocations go through the runtime's bound (runtime/Allocation.h).
  if (llvm::Function *alloc = m.getFunction("malloc"))
    alloc->setName("kiln_malloc");
  if (llvm::Function *release = m.getFunction("free"))
    release->setName("kiln_free");
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty())
      f.addFnAttr("target-features", target.features);
    if (wide)
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

TargetDescription describeTarget(const std::string &targetCpu) {
  initializeLLVM();
  TargetDescription t;
  t.triple = llvm::sys::getProcessTriple();
  if (!targetCpu.empty() && targetCpu != "native" && targetCpu != "host") {
    t.cpu = targetCpu; // the CPU's own default features
    t.isHost = false;
    return t;
  }
  t.cpu = llvm::sys::getHostCPUName().str();
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    t.features += (t.features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
                  f.first().str();
  return t;
}

std::vector<char> linkSharedObject(const std::vector<std::vector<char>> &objects) {
  char dir[] = "/tmp/kiln-link-XXXXXX";
  if (!mkdtemp(dir))
    throw Error("cannot create a temporary folder to link in");
  std::string out = std::string(dir) + "/model.so", log = std::string(dir) + "/link.log";
  std::string cmd = "cc -shared -o '" + out + "'";
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string in = std::string(dir) + "/part" + std::to_string(i) + ".o";
    std::ofstream(in, std::ios::binary).write(objects[i].data(), objects[i].size());
    cmd += " '" + in + "'";
  }
  cmd += " -lm > '" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream so(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(so)), {});
  std::ifstream logIn(log);
  std::string message((std::istreambuf_iterator<char>(logIn)), {});
  std::string clean = "rm -rf '" + std::string(dir) + "'";
  (void)std::system(clean.c_str());
  if (rc != 0 || bytes.empty())
    throw Error("linking the shared object failed (cc -shared, exit " + std::to_string(rc) +
                "): " + message.substr(0, 300));
  return bytes;
}

void writeCompiledArtifact(const CompiledModel &m, const std::string &modelName,
                           const std::string &key, const std::string &path, unsigned mode) {
  ArtifactInfo info;
  info.kilnVersion = kilnVersion();
  info.compilerVersion = "LLVM " LLVM_VERSION_STRING;
  info.triple = m.triple;
  info.cpu = m.cpu;
  info.model = modelName;
  info.key = key;
  info.requiredFeatures = m.requiredFeatures;
  info.inputs = m.executable->inputs;
  info.outputs = m.executable->outputs;
  writeArtifact(path, linkSharedObject(m.objects), info, m.executable->weights.get(),
                m.executable->weightsSize, mode);
}

CompiledModel compileModel(const onnx::ModelProto &model, const ImportOptions &import,
                           const CodegenOptions &options) {
  initializeLLVM();
  std::string modelName = import.modelPath.empty() ? "<memory>" : import.modelPath;
  CompiledModel out;
  auto start = std::chrono::steady_clock::now();

  DialectRegistry registry;
  registerPipelineDialects(registry);
  // Passes nested on functions run on the session's threads (the kernels
  // are functions once outlined); the pool outlives the context. A small
  // model compiles in milliseconds on one thread: starting threads would
  // only add to that.
  unsigned threads = options.threads > 0 ? options.threads
                                         : std::max(1u, std::thread::hardware_concurrency());
  constexpr int kNodesWorthThreads = 16;
  std::unique_ptr<llvm::DefaultThreadPool> passThreads;
  if (threads > 1 && model.graph().node_size() >= kNodesWorthThreads)
    passThreads = std::make_unique<llvm::DefaultThreadPool>(llvm::hardware_concurrency(threads));
  // Owned apart: freed once the module is LLVM IR, before LLVM's own work.
  auto context = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  MLIRContext &ctx = *context;
  if (passThreads)
    ctx.setThreadPool(*passThreads);
  registerBuiltinDialectTranslation(ctx);
  registerLLVMDialectTranslation(ctx);

  // The target first: the importer keeps 8-bit matmuls in integers where it
  // has 8-bit dot products, and the strategy layer sizes tiles by its
  // vector registers.
  TargetDescription target = describeTarget(options.targetCpu);
  out.triple = target.triple;
  out.cpu = target.cpu;
  auto jtmb = llvm::orc::JITTargetMachineBuilder(llvm::Triple(target.triple));
  jtmb.setCPU(target.cpu);
  if (!target.features.empty()) {
    std::vector<std::string> f;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(target.features).split(parts, ',');
    for (auto p : parts)
      f.push_back(p.str());
    jtmb.addFeatures(f);
  }
  // Position-independent, small code model: the same object loads as a
  // shared library from the cache or an artifact.
  jtmb.setRelocationModel(llvm::Reloc::PIC_);
  jtmb.setCodeModel(llvm::CodeModel::Small);
  int opt = std::clamp(options.optimizationLevel, 0, 3);
  jtmb.setCodeGenOptLevel(static_cast<llvm::CodeGenOptLevel>(opt));
  auto tm = llvm::orc::JITTargetMachineBuilder(jtmb).createTargetMachine();
  if (!tm)
    throw Error("model '" + modelName + "': no code generator for " + target.triple + " " +
                target.cpu + ": " + llvm::toString(tm.takeError()));
  for (const char *name : {"sse4.2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f",
                           "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx512vnni",
                           "avx512bf16", "avx512fp16"})
    if ((*tm)->getMCSubtargetInfo()->checkFeatures(std::string("+") + name))
      out.requiredFeatures.push_back(name);
  ImportOptions forTarget = import;
  forTarget.integerDotProducts = llvm::is_contained(out.requiredFeatures, "avx512vnni") &&
                                 llvm::is_contained(out.requiredFeatures, "avx512bw");
  CompileBudget budget(import.limits, modelName);
  OwningOpRef<ModuleOp> module = importModel(model, ctx, forTarget);
  out.report.import = msSince(start);
  budget.check("the passes");

  auto func = llvm::cast<func::FuncOp>(module->lookupSymbol(kEntryFunction));
  auto names = [](Attribute a) {
    std::vector<std::string> v;
    for (Attribute s : llvm::cast<ArrayAttr>(a))
      v.push_back(llvm::cast<StringAttr>(s).str());
    return v;
  };
  auto exe = std::make_shared<Executable>();
  auto describeArgs = [&](TypeRange types, const std::vector<std::string> &n,
                          std::vector<ArgSpec> &args) {
    for (auto [i, t] : llvm::enumerate(types)) {
      auto rt = llvm::dyn_cast<RankedTensorType>(t);
      if (!rt)
        throw Error("model '" + modelName + "': '" + n[i] +
                    "' has no known rank: values whose rank depends on run-time data are not supported");
      auto et = kilnType(rt.getElementType());
      if (!et)
        throw Error("model '" + modelName + "': '" + n[i] + "' has an unsupported type");
      std::vector<int64_t> shape;
      for (int64_t d : rt.getShape())
        shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
      args.push_back({n[i], *et, shape});
    }
  };
  describeArgs(func.getArgumentTypes(), names(func->getAttr("kiln.input_names")), exe->inputs);
  describeArgs(func.getResultTypes(), names(func->getAttr("kiln.output_names")), exe->outputs);

  // The runtime calls the entry through its C interface: one pointer to a
  // memref descriptor per argument (see CompiledModel).
  func->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
  auto passStart = std::chrono::steady_clock::now();
  std::string diag;
  {
    // Passes may run on several threads: what they report is guarded.
    std::mutex reported;
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      // The last error is the most specific (the conversion's own complaint
      // comes before Kiln's explanation).
      if (d.getSeverity() == DiagnosticSeverity::Error) {
        std::lock_guard<std::mutex> lock(reported);
        diag = describe(d);
      }
      return success();
    });
    PassManager pm(&ctx);
    // Verifying the whole module after every pass costs a third of the
    // passes' time; it is verified once, before translation, instead.
    pm.enableVerifier(false);
    PipelineOptions po;
    po.returnAllocatedResults = exe->returnsOutputs();
    TargetInfo vectors = TargetInfo::fromFeatures(out.requiredFeatures);
    po.vectorBits = vectors.vectorBits;
    po.vectorRegisters = vectors.vectorRegisters;
    po.int8DotProducts = vectors.int8DotProducts ? 1 : 0;
    buildCpuPipeline(pm, Phase::LLVM, po);
    // For compiler developers: each pass's time, on stderr.
    if (std::getenv("KILN_TIME_PASSES"))
      pm.enableTiming();
    // Every pass and pattern application is an action: once the budget is
    // spent, the rest are skipped and the error names the pass.
    // (The pass each thread is in, for the error: nested passes run on the
    // pool's threads.)
    ctx.registerActionHandler([&](llvm::function_ref<void()> transform, const tracing::Action &action) {
      static thread_local std::string pass = "the first pass";
      if (action.getTag() == PassExecutionAction::tag) {
        const Pass &p = static_cast<const PassExecutionAction &>(action).getPass();
        if (!p.getArgument().empty())
          pass = "pass '" + p.getArgument().str() + "'";
      }
      if (!budget.spent(pass))
        transform();
    });
    bool failedRun = failed(pm.run(*module));
    ctx.registerActionHandler(nullptr);
    if (!budget.reason().empty())
      throw Error(budget.reason());
    if (failedRun)
      throw Error("model '" + modelName + "': compilation failed: " +
                  (diag.empty() ? std::string("a pass failed") : diag));
    if (failed(verify(*module)))
      throw Error("model '" + modelName + "': compilation produced invalid code (an internal error): " +
                  (diag.empty() ? std::string("the module does not verify") : diag));
  }
  out.report.passes = msSince(passStart);
  // The weight blob kiln-externalize-weights laid out: taken from the
  // module (the context frees its attributes with the compilation) and
  // owned by the executable.
  if (auto blobAttr = (*module)->getAttrOfType<DenseResourceElementsAttr>("kiln.weights")) {
    if (AsmResourceBlob *blob = blobAttr.getRawHandle().getBlob()) {
      auto owned = std::make_shared<AsmResourceBlob>(std::move(*blob));
      exe->weightsSize = owned->getData().size();
      exe->weights = std::shared_ptr<const char>(owned, owned->getData().data());
    }
    (*module)->removeAttr("kiln.weights");
  }
  // For compiler developers: the LLVM-dialect module the JIT receives.
  if (const char *dump = std::getenv("KILN_DUMP_LLVM_DIALECT")) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dump, ec);
    module->print(os);
  }

  auto codegenStart = std::chrono::steady_clock::now();
  bool wide = llvm::is_contained(out.requiredFeatures, "avx512f");
  std::string entryName = std::string("_mlir_ciface_") + kEntryFunction;
  // Four parts per thread, heaviest first, taken from a queue: a part's
  // compile time is not in proportion to its size (the entry's code is
  // cheap per instruction, unrolled kernels are not), and the threads stay
  // busy to the end. Each part is translated on the thread that compiles it.
  std::vector<ModuleBuilder> parts;
  for (OwningOpRef<ModuleOp> &part : divideByFunction(*module, threads > 1 ? 4 * threads : 1)) {
    auto owned = std::make_shared<OwningOpRef<ModuleOp>>(std::move(part));
    parts.push_back([owned, &entryName, &target, wide](llvm::LLVMContext &ctx) {
      std::unique_ptr<llvm::Module> m = translateModuleToLLVMIR(owned->get(), ctx);
      if (!m)
        throw Error("translation to LLVM IR failed");
      // The part's MLIR ops are no longer needed.
      *owned = nullptr;
      if (llvm::Function *entry = m->getFunction(entryName); entry && !entry->isDeclaration())
        addPackedWrapper(*m, entryName);
      setTargetAttributes(*m, target, wide);
      return m;
    });
  }
  ObjectCodeTimes times;
  std::vector<std::vector<char>> objects;
  try {
    objects = compileToObjects(std::move(parts), jtmb, opt, threads, &times, &budget);
  } catch (const Error &e) {
    if (!budget.reason().empty())
      throw;
    throw Error("model '" + modelName + "': " + e.what());
  }
  // The MLIR module and context (its attributes, types, resources) are no
  // longer needed.
  module = nullptr;
  context.reset();
  out.report.optimize = times.optimize;
  out.report.emit = times.emit;
  if (target.isHost) {
    LoadedCode code;
    try {
      code = loadObjects(objects, jtmb, "_mlir_" + entryName);
    } catch (const Error &e) {
      throw Error("model '" + modelName + "': " + e.what());
    }
    exe->entry = code.entry;
    exe->code = code.owner;
  }
  if (options.keepObject)
    out.objects = std::move(objects);
  out.executable = exe;
  out.report.codegen = msSince(codegenStart);
  out.report.total = msSince(start);
  return out;
}

} // namespace kiln
