//===- Pipelines.cpp - the CPU pipeline and its named phases --------------===//
#include "lowering/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include <mutex>

using namespace mlir;

namespace kiln {

static std::string phasePipeline(Phase phase, const PipelineOptions &o) {
  switch (phase) {
  case Phase::Linalg:
    return "func.func(kiln-shape-inference,kiln-batch-shared-weights),kiln-fold-batch-norm,kiln-convert-to-linalg,canonicalize,"
           "kiln-fold-constant-elementwise,kiln-fold-constant-layouts,kiln-fuse-elementwise,canonicalize,cse";
  case Phase::Configured:
    return "func.func(kiln-configure{vector-bits=" + std::to_string(o.vectorBits) +
           " vector-registers=" + std::to_string(o.vectorRegisters) +
           " chunks=" + std::to_string(o.parallelChunks) +
           " int8-dot-products=" + std::to_string(o.int8DotProducts) + "}),kiln-fold-constant-layouts";
  case Phase::Tiled:
    return "func.func(kiln-tile-parallel{chunks=" + std::to_string(o.parallelChunks) +
           "}),canonicalize,cse";
  case Phase::Bufferized:
    return std::string("func.func(kiln-distinct-results,kiln-pad-in-place),eliminate-empty-tensors,"
                       "one-shot-bufferize{"
                       "bufferize-function-boundaries allow-return-allocs-from-loops "
                       "function-boundary-type-conversion=identity-layout-map},") +
           (o.returnAllocatedResults
                ? ""
                // (canonicalize first: a result computed through a view of
                // its buffer, expand_shape(collapse_shape(alloc)), is the
                // alloc, which can then be the caller's buffer.)
                : "canonicalize,buffer-results-to-out-params{modify-public-functions "
                  "hoist-static-allocs},") +
           "buffer-deallocation-pipeline,convert-bufferization-to-memref,canonicalize,"
           "func.func(kiln-early-dealloc),kiln-externalize-weights";
  case Phase::Vectorized:
    // Thread tiles are outlined first: repeated layers become one body,
    // lowered once, and the bodies are lowered in parallel.
    return "scf-forall-to-parallel,kiln-outline-parallel,"
           "func.func(kiln-fuse-epilogues,kiln-lower-contractions,kiln-expand-copies,kiln-vectorize-windows{vector-bits=" +
           std::to_string(o.vectorBits) + "},kiln-vectorize-elementwise{vector-bits=" +
           std::to_string(o.vectorBits) + "},kiln-approximate-math,canonicalize,cse)";
  case Phase::Loops:
    return "scf-forall-to-parallel,kiln-outline-parallel,func.func(convert-linalg-to-loops),"
           "kiln-outline-kernels,func.func(canonicalize,kiln-plan-memory)";
  case Phase::LLVM:
    // bf16 conversions are expanded to integer ops: a host without
    // AVX512-BF16 has no instruction for them, and the JIT cannot link
    // libgcc's __truncsfbf2.
    //
    // Vector ops first (the pass also lowers the vector ops that have no
    // LLVM counterpart), math ops with an LLVM intrinsic before those that
    // become libm calls, memrefs (convert-to-llvm leaves a memref.reshape of
    // a dynamic shape); then every other dialect in one conversion
    // (convert-to-llvm): one walk of the module instead of one per dialect,
    // half the time of this phase, the same code.
    // The per-function conversions run on each function (the kernels are
    // functions by now), in parallel where the context has threads.
    return "func.func(convert-vector-to-scf{full-unroll target-rank=1},"
           "expand-strided-metadata,lower-affine,convert-scf-to-cf,arith-expand{include-bf16},"
           "convert-vector-to-llvm,convert-math-to-llvm),convert-math-to-libm,"
           "finalize-memref-to-llvm,convert-to-llvm,reconcile-unrealized-casts,"
           "kiln-merge-similar-functions";
  }
  return "";
}

void buildCpuPipeline(OpPassManager &pm, Phase last, const PipelineOptions &options) {
  registerKilnPassesAndPipelines();
  for (Phase p : {Phase::Linalg, Phase::Configured, Phase::Tiled, Phase::Bufferized,
                  Phase::Vectorized, Phase::Loops, Phase::LLVM}) {
    std::string error;
    llvm::raw_string_ostream os(error);
    if (failed(parsePassPipeline(phasePipeline(p, options), pm, os)))
      llvm::report_fatal_error(llvm::Twine("kiln: bad pipeline: ") + error);
    if (p == last)
      break;
  }
}

void registerPipelineDialects(DialectRegistry &registry) {
  registry.insert<KilnDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
}

/// The upstream passes the phases name. Only these: registering a pass
/// builds an instance of it, and all of MLIR's passes cost a compiling
/// process tens of megabytes of memory (kiln-opt registers them all).
static void registerPipelinePasses() {
  registerCanonicalizerPass();
  registerCSEPass();
  bufferization::registerOneShotBufferizePass();
  bufferization::registerEmptyTensorEliminationPass();
  bufferization::registerBufferResultsToOutParamsPass();
  bufferization::registerBufferizationPipelines();
  registerConvertBufferizationToMemRefPass();
  registerSCFForallToParallelLoopPass();
  registerConvertLinalgToLoopsPass();
  registerConvertVectorToSCFPass();
  memref::registerExpandStridedMetadataPass();
  registerLowerAffinePass();
  registerSCFToControlFlowPass();
  arith::registerArithExpandOpsPass();
  registerConvertVectorToLLVMPass();
  registerConvertMathToLLVMPass();
  registerConvertMathToLibmPass();
  registerFinalizeMemRefToLLVMConversionPass();
  registerConvertToLLVMPass();
  registerReconcileUnrealizedCastsPass();
}

void registerKilnPassesAndPipelines() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerPipelinePasses();
    registerKilnPasses();
    struct Named {
      const char *name, *summary;
      Phase last;
      bool onlyThis;
    };
    static const Named named[] = {
        {"kiln-to-linalg", "Kiln dialect -> linalg on tensors, elementwise ops fused",
         Phase::Linalg, true},
        {"kiln-configure-strategies",
         "Lowering configurations for root ops (strategy layer, on linalg tensors)",
         Phase::Configured, true},
        {"kiln-tile", "Tile parallel loops into scf.forall (on linalg tensors)", Phase::Tiled,
         true},
        {"kiln-bufferize", "One-shot bufferization, out-params, deallocation",
         Phase::Bufferized, true},
        {"kiln-vectorize", "Configured ops to register-tiled vector kernels (on buffers)",
         Phase::Vectorized, true},
        {"kiln-to-loops",
         "Loops; parallel loops outlined to kiln_parallel_for, serial nests to functions",
         Phase::Loops,
         true},
        {"kiln-to-llvm", "Loops and memrefs -> LLVM dialect", Phase::LLVM, true},
        {"kiln-cpu", "The whole CPU pipeline: Kiln dialect -> LLVM dialect", Phase::LLVM,
         false},
    };
    for (const Named &n : named) {
      PassPipelineRegistration<>(n.name, n.summary, [n](OpPassManager &pm) {
        if (!n.onlyThis) {
          buildCpuPipeline(pm, n.last);
          return;
        }
        std::string error;
        llvm::raw_string_ostream os(error);
        if (failed(parsePassPipeline(phasePipeline(n.last, {}), pm, os)))
          llvm::report_fatal_error(llvm::Twine("kiln: bad pipeline: ") + error);
      });
    }
  });
}

} // namespace kiln
