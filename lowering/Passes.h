//===- Passes.h - Kiln's compiler passes and pipelines ---------*- C++ -*-===//
#ifndef KILN_LOWERING_PASSES_H
#define KILN_LOWERING_PASSES_H

#include "dialect/KilnDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowering/Passes.h.inc"

/// The named phases of the CPU pipeline, in order; each is also registered
/// as a pipeline "kiln-<phase>" so kiln-opt can stop after any of them.
enum class Phase { Linalg, Configured, Tiled, Bufferized, Vectorized, Loops, LLVM };

struct PipelineOptions {
  /// Upper bound on tiles per parallel loop (kiln-tile-parallel chunks).
  int64_t parallelChunks = 64;
  /// Results stay function results, allocated by the compiled code and
  /// handed to the caller (for results whose dims are only known when the
  /// code runs); otherwise they become caller-provided out-params.
  bool returnAllocatedResults = false;
  /// The target's vector registers (0: this host's), for kiln-configure.
  int64_t vectorBits = 0;
  int64_t vectorRegisters = 0;
  /// 8-bit dot products: 1 or 0 (-1: the host's).
  int64_t int8DotProducts = -1;
};

/// Adds the passes from the Kiln dialect up to and including `last`.
void buildCpuPipeline(mlir::OpPassManager &pm, Phase last,
                      const PipelineOptions &options = {});

/// Registers Kiln's passes and the named pipelines kiln-to-linalg,
/// kiln-tile, kiln-bufferize, kiln-to-loops, kiln-to-llvm and kiln-cpu.
void registerKilnPassesAndPipelines();

/// Registers every dialect (and interface) the pipeline creates.
void registerPipelineDialects(mlir::DialectRegistry &registry);

} // namespace kiln
#endif
