//===- Passes.td - Kiln's compiler passes ----------------------*- tablegen -*-===//
#ifndef KILN_LOWERING_PASSES_TD
#define KILN_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnShapeInference : Pass<"kiln-shape-inference", "mlir::func::FuncOp"> {
  let summary = "Types every Kiln op's results from its operands (static dims where known)";
  let dependentDialects = ["kiln::KilnDialect"];
}

def KilnBatchSharedWeights : Pass<"kiln-batch-shared-weights", "mlir::func::FuncOp"> {
  let summary = "Computes products by one constant weight whose left operands do not depend on each other as one product (an unrolled recurrence's input projections)";
  let description = [{
    Gemm and MatMul ops of 2-D left operands by the same constant weight,
    with the same bias row and attributes, and none of whose left operands
    depends on another of them: the left operands are stacked by rows (their
    producers moved before the first product), multiplied once, and each
    user gets its rows back as a slice.
  }];
  let dependentDialects = ["kiln::KilnDialect", "mlir::tensor::TensorDialect"];
}

def KilnFoldBatchNorm : Pass<"kiln-fold-batch-norm", "mlir::ModuleOp"> {
  let summary = "Folds an inference BatchNormalization into the convolution before it (constant weights and parameters)";
  let description = [{
    W'[f] = W[f] * s[f] and b'[f] = (b[f] - mean[f]) * s[f] + beta[f] with
    s = scale / sqrt(var + epsilon), computed once at compile time; the
    convolution must have no other user.
  }];
  let dependentDialects = ["kiln::KilnDialect"];
}

def KilnConvertToLinalg : Pass<"kiln-convert-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lowers Kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Named linalg ops where they exist (matmul, batch_matmul, convolutions,
    pooling), linalg.generic with ONNX broadcasting otherwise. Unsigned
    element types become signless; the ops keep the signedness they need.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def KilnFoldConstantElementwise : Pass<"kiln-fold-constant-elementwise", "mlir::ModuleOp"> {
  let summary = "Evaluates elementwise arithmetic on constants (dequantized, widened, centred weights) at compile time";
  let description = [{
    An all-parallel linalg.generic whose inputs are all constants (directly
    or through a reshape) and whose body is integer and float arithmetic,
    casts and selects becomes a constant, computed once by interpreting the
    body on each element. Results larger than their largest input (a
    broadcast) stay computed.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def KilnFoldConstantLayouts : Pass<"kiln-fold-constant-layouts", "mlir::ModuleOp"> {
  let summary = "Evaluates transposes and reshapes of constants (weights) at compile time, at memcpy speed";
  let description = [{
    A linalg op that only moves the elements of a constant (a transpose, a
    pure permuting generic) and a reshape of a constant become a constant in
    the new layout, computed from raw storage. Upstream's element-wise
    constant folding builds an attribute per element, which takes seconds
    and gigabytes for a large weight.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def KilnFuseElementwise : Pass<"kiln-fuse-elementwise"> {
  let summary = "Fuses elementwise producers into their users where each producer element is still computed once";
  let description = [{
    Upstream's linalg-fuse-elementwise-ops (elementwise fusion, reshapes
    folded by expansion, linalg constant folding), except that a producer is
    not fused into an op with reduction loops that reads its elements more
    than once, such as a GEMM's operands: there it would be recomputed for
    every use and would hide the contraction from the strategy layer.
  }];
  let dependentDialects = ["mlir::affine::AffineDialect", "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
}

def KilnConfigure : Pass<"kiln-configure", "mlir::func::FuncOp"> {
  let summary = "Gives each root op with a code-generation strategy its lowering configuration";
  let description = [{
    The strategy layer (lowering/Strategy.h): from the op's kind, its shapes
    and the target's vector registers, picks thread tiles, cache tiles and a
    register tile, and records them as the op's `kiln.config` attribute.
    Ops without a strategy get none and become plain loops.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"0",
           "Width of the target's vector registers in bits (0: this host's)">,
    Option<"vectorRegisters", "vector-registers", "int64_t", /*default=*/"0",
           "Number of vector registers (0: this host's)">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"64",
           "Upper bound on the number of parallel tasks of one op">,
    Option<"int8DotProducts", "int8-dot-products", "int64_t", /*default=*/"-1",
           "Whether the target has 8-bit dot products (AVX-512 VNNI): 1 or 0 (-1: this host's)">
  ];
}

def KilnTileParallel : Pass<"kiln-tile-parallel", "mlir::func::FuncOp"> {
  let summary = "Tiles each linalg op's outermost parallel loop into scf.forall, fusing producers computable per tile";
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"64",
           "Upper bound on the number of tiles of the parallel loop">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
                           "mlir::affine::AffineDialect"];
}

def KilnFuseEpilogues : Pass<"kiln-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "Tiles a configured contraction and the elementwise epilogue after it together, on buffers";
  let description = [{
    The epilogue (bias, activation, residual add) of a contraction reads
    its result in place. Both are tiled by the same loops, columns (about a
    cache tile's, in whole vectors) then rows (one register tile's), all of
    k in each contraction tile, so each epilogue tile runs on a result
    still in L1. Only static tiles that divide the ranges are made.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::affine::AffineDialect"];
}

def KilnLowerContractions : Pass<"kiln-lower-contractions", "mlir::func::FuncOp"> {
  let summary = "Cache- and register-tiles configured contractions on buffers and lowers them to vector FMAs";
  let description = [{
    For each linalg op whose `kiln.config` is a contraction: tiles its loops
    by the cache tiles, then by the register tile (k innermost), peels the
    remainders so every tile has static sizes, vectorizes each tile, hoists
    the accumulators out of the k loop and lowers `vector.contract` to
    `vector.fma` on broadcast rows of A and full vectors of B. An 8-bit
    dot-product contraction ("dot-i8", over B packed by kiln-configure)
    becomes loops of AVX-512 VNNI dot products (`vpdpbusd`) on register
    tiles of 6 rows by 64 columns.
  }];
  let dependentDialects = ["mlir::vector::VectorDialect", "mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect", "mlir::LLVM::LLVMDialect"];
}

def KilnVectorizeElementwise : Pass<"kiln-vectorize-elementwise", "mlir::func::FuncOp"> {
  let summary = "Vectorizes linalg ops on buffers whose loops are all parallel (epilogues, activations, fills, copies)";
  let description = [{
    Collapses the trailing loops that every operand indexes contiguously,
    tiles the innermost loop by two vectors of the target's width (every
    other loop by one), peels the partial tile and vectorizes each tile of
    static sizes. Ops that read across their innermost dim (transposes,
    strided views) or compute on types whose vectors are not laid out as
    memory is (i1) stay loops.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"0",
           "Width of the target's vector registers in bits (0: this host's)">
  ];
  let dependentDialects = ["mlir::vector::VectorDialect", "mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect"];
}

def KilnVectorizeWindows : Pass<"kiln-vectorize-windows", "mlir::func::FuncOp"> {
  let summary = "Vectorizes window reductions on f32 buffers along the output row (pooling, depthwise convolutions)";
  let description = [{
    Linalg ops that no strategy configured, whose output is indexed by
    their parallel loops and whose operands read along the output's
    innermost loop as `s * j + tap` (s up to 4) or not at all: every other
    parallel loop an element at a time, the output row by two vectors (the
    remainder in vectors of powers of two), the window's loops inside with the
    output tile held in registers. Strided operands are read as s vectors'
    worth, masked past the last lane kept, and every s-th lane is kept.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"0",
           "Width of the target's vector registers in bits (0: this host's)">
  ];
  let dependentDialects = ["mlir::vector::VectorDialect", "mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect"];
}

def KilnEarlyDealloc : Pass<"kiln-early-dealloc", "mlir::func::FuncOp"> {
  let summary = "Allocates each buffer just before its first use and frees it right after its last, not at the ends of its block";
  let description = [{
    Bufferization's deallocation frees a block's buffers at the end of the
    block: every intermediate of a model then lives until the run ends
    (ResNet-50: 145 MB held at once). A `memref.dealloc` of a buffer
    allocated in the same block moves to just after the last op of the
    block that uses the buffer or a view of it (ops in nested regions count
    as the op that holds them), so the runtime can hand the memory to the
    buffers allocated after it; its `memref.alloc` moves down to just
    before the first such op. A buffer used by anything that could keep it
    (a call, a return, an op Kiln does not know) keeps its dealloc.
  }];
}

def KilnPlanMemory : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Places a block's fixed-size buffers at offsets of one workspace, by their lifetimes";
  let description = [{
    A static memory plan. Each `memref.alloc` of a static shape whose only
    `memref.dealloc` is in the same block becomes a `memref.view` at an
    offset of one workspace, allocated at the start of the block and freed
    before its terminator. Two buffers share bytes only when their
    lifetimes (alloc to dealloc, in block order) do not overlap; offsets are
    assigned largest buffer first, each at the lowest 64-byte-aligned
    offset clear of the buffers already placed that live at the same time.
    A run then allocates one block where it allocated one per intermediate.
    Buffers of dynamic size, returned, or freed in another block are left
    alone.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "mlir::func::FuncOp"> {
  let summary = "Replaces f32 tanh, erf, erfc, exp, expm1, log, log1p and log2 by polynomial approximations that vectorize";
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect", "mlir::vector::VectorDialect"];
}

def KilnExpandCopies : Pass<"kiln-expand-copies", "mlir::func::FuncOp"> {
  let summary = "Strided copies become linalg.copy loops instead of runtime calls";
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::scf::SCFDialect", "mlir::vector::VectorDialect"];
}

def KilnExternalizeWeights : Pass<"kiln-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Moves constant buffers out of the code into one weight blob the entry receives";
  let description = [{
    Every constant `memref.global` read only by the entry function (the one
    public function with a body) is laid out in one blob, each at a 64-byte
    aligned offset, and read through `memref.view` of a new last argument of
    the entry, `memref<?xi8>`: the weights are run-time data, not LLVM
    constants (which cost code-generation time and object size, and are
    repeated by every compiled shape variant). The blob itself is attached
    to the module as `kiln.weights`, a `dense_resource` of i8, for the
    compiler to hand to the runtime. The entry always gets the argument.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def KilnDistinctResults : Pass<"kiln-distinct-results", "mlir::func::FuncOp"> {
  let summary = "Gives distinct values distinct buffers, before bufferization: repeated results, shared empty tensors";
  let description = [{
    Each result becomes its own output buffer, so a value returned twice (a
    graph listing one value as two outputs, or two outputs CSE made equal)
    is returned once and copied for the repeats. A tensor.empty that CSE
    shared between ops that each fill it (a pooling's output and the zeros
    a convolution accumulates into) is cloned per use: shared, the second
    writer's buffer would be a copy of the first's.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def KilnPadInPlace : Pass<"kiln-pad-in-place", "mlir::func::FuncOp"> {
  let summary = "Computes a padded tensor's interior in place: its producer writes into a slice of the filled padded tensor";
  let description = [{
    For a `tensor.pad` (static shapes, constant padding) of a value whose
    producer writes into an empty tensor of its own: the padded tensor is
    created and filled before the producer, which writes into its interior
    (an extract_slice); the pad becomes the matching insert_slice, which
    bufferizes in place. The padded copy of a convolution's input is gone.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def KilnOutlineParallel : Pass<"kiln-outline-parallel", "mlir::ModuleOp"> {
  let summary = "Outlines outermost scf.parallel loops into bodies run by kiln_parallel_for";
  let description = [{
    Each outermost scf.parallel becomes a private function
    `(i64 begin, i64 end, !llvm.ptr context)` that runs iterations
    [begin, end) of its first dimension, and a call of the runtime's
    `kiln_parallel_for(begin, end, body, context, name)`, `name` naming the
    ONNX nodes the loop computes (for the profiler). The captured values are
    stored in a stack-allocated context struct: memrefs as their LLVM
    descriptors, index values as i64.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::func::FuncDialect",
                           "mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

def KilnOutlineKernels : Pass<"kiln-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Outlines the serial loop nests of entry functions into functions of their own";
  let description = [{
    Each outermost `scf.for` of a public function whose nest holds at least
    `min-ops` operations, or more than one loop, becomes a private,
    never-inlined function taking the
    values the nest reads (memrefs, indices, scalars) and returning the
    loop's results, and a call of it. LLVM's optimizations and instruction
    selection grow faster than linearly with the size of a function: one
    entry function holding every kernel of a model took most of the
    compilation time, and could not be split across the compiling threads.
    Nests that do the same work on the same types (repeated layers) share
    one function. What stays in the entry function (buffer plumbing, calls,
    small loops) is marked `optsize`, so LLVM does not version its small
    loops for vectorization. Each call is bracketed by the runtime's
    `kiln_kernel_begin`/`kiln_kernel_end`, which time it when the run is
    profiled, under the names of the ONNX nodes it computes.
  }];
  let options = [
    Option<"minOps", "min-ops", "unsigned", "12",
           "Smallest nest (operations, the loops included) that is outlined">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::scf::SCFDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def KilnMergeSimilarFunctions : Pass<"kiln-merge-similar-functions", "mlir::ModuleOp"> {
  let summary = "Merges vectorized LLVM functions that differ only in integer constants";
  let description = [{
    On the LLVM dialect: vectorized functions whose bodies are the same but
    for the values of some integer constants (kernels of layers that differ
    in a size only: a trip count, a row stride) become one internal,
    never-inlined function taking those constants as trailing arguments;
    each original function keeps its name and signature and calls it with
    its own values. A constant becomes an argument only where all its users
    are integer arithmetic (add, sub, mul), comparisons, selects, casts,
    addresses, descriptor fields, branch operands or stored values: never a
    division's operand or an intrinsic's. LLVM then optimizes and emits the
    shared code once.
  }];
  let options = [
    Option<"maxArguments", "max-arguments", "unsigned", "16",
           "Most constants a group's shared function may take as arguments">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif
