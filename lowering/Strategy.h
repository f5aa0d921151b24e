//===- Strategy.h - lowering configurations for root ops -------*- C++ -*-===//
//
// The strategy layer: each op that decides performance (the root of its
// fusion group) gets a lowering configuration chosen from its kind, its
// shapes and the target's vector registers. The configuration is an
// attribute on the op (`kiln.config`) that later passes read:
//
//   kiln-tile-parallel        `threads`   tile sizes of the parallel loop
//   kiln-lower-contractions   `cache`     cache tiles (scf.for, on buffers)
//                             `registers` register tile (vectorized)
//
// Each tile array has one entry per loop of the op; 0 leaves a loop untiled.
// `vector_dim` names the loop read as contiguous vectors of `lanes` elements.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_STRATEGY_H
#define KILN_LOWERING_STRATEGY_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include <optional>

namespace kiln {

/// What the code generator needs to know of the target CPU.
struct TargetInfo {
  /// Width of the widest floating-point vector register (128, 256, 512).
  int64_t vectorBits = 256;
  /// Number of such registers (16 with AVX2, 32 with AVX-512).
  int64_t vectorRegisters = 16;

  /// 8-bit dot products into 32-bit sums (AVX-512 VNNI's vpdpbusd).
  bool int8DotProducts = false;

  /// The CPU this process runs on.
  static TargetInfo host();
  /// A target described by LLVM feature names ("+avx512f", ...).
  static TargetInfo fromFeatures(llvm::ArrayRef<std::string> enabled);
  int64_t f32Lanes() const { return vectorBits / 32; }
};

/// The configuration of one root op (see the file comment).
struct LoweringConfig {
  std::string kind; // "contraction"
  llvm::SmallVector<int64_t> threads, cache, registers;
  int64_t vectorDim = -1;
  /// Elements per vector register.
  int64_t lanes = 0;

  mlir::DictionaryAttr toAttr(mlir::MLIRContext *ctx) const;
  static std::optional<LoweringConfig> fromAttr(mlir::Attribute attr);
};

constexpr const char *kConfigAttrName = "kiln.config";
/// On a configured contraction whose accumulator was a zero fill: its
/// destination is left uninitialized and the kernel's accumulators start
/// at zero in registers (kiln-configure sets it, kiln-lower-contractions
/// carries it out).
constexpr const char *kZeroInitAttrName = "kiln.zero_init";

/// The configuration of `op` on `target`, or nothing when no strategy
/// applies (the op then becomes plain loops). `maxTasks` bounds the
/// number of parallel tiles.
std::optional<LoweringConfig> chooseConfig(mlir::linalg::LinalgOp op, const TargetInfo &target,
                                           int64_t maxTasks);

/// The contraction dims of `op` with the roles of its inputs set by the
/// vector dim: `n` holds the dims of the input read as vectors (B), `m` those
/// of the input broadcast one scalar at a time (A), whichever operand each is.
mlir::FailureOr<mlir::linalg::ContractionDimensions> contractionDims(mlir::linalg::LinalgOp op,
                                                                     int64_t vectorDim);

/// init += lhs * rhs as a linalg.generic over `maps` (lhs, rhs, init) whose
/// last loop is the reduction: on tensors it returns the sum, on buffers it
/// accumulates into `init`.
mlir::linalg::GenericOp buildMulAdd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                                    mlir::Value rhs, mlir::Value init,
                                    llvm::ArrayRef<mlir::AffineMap> maps);

/// Whether a GEMM's B should be packed into [N/NR][K][NR] slivers.
bool shouldPackRhs(mlir::linalg::MatmulOp op, const TargetInfo &target);

/// Rewrites `op` as a contraction over B packed into column slivers as wide
/// as the register tile, Bp[n / NR][k][n % NR] (a transpose of B's expanded
/// view, so each k step of the micro-kernel reads NR contiguous floats), and
/// C viewed as [M][N / NR][NR]. Returns the new contraction.
mlir::linalg::GenericOp packRhs(mlir::RewriterBase &r, mlir::linalg::MatmulOp op,
                                const TargetInfo &target);

/// Whether a convolution over NCHW or NCW (static f32) is computed as a
/// GEMM rather than by the direct kernel: 1x1 convolutions always; others
/// when the direct kernel would not read whole vectors of an input row
/// (strided, or output rows narrower than its vectors).
bool convAsGemm(mlir::linalg::LinalgOp op, const TargetInfo &target);

/// Whether a 2-D convolution is computed directly with its filters as the
/// vector dim: a constant weight whose filters fill whole vectors, a
/// window of more than one tap (see convAsContraction).
bool directFilters(mlir::linalg::LinalgOp conv, const TargetInfo &target);

/// Whether `op` is the generic of such a convolution, over slivers of NR
/// filters: T[n, b, oh, ow, j] += X[n, c, window(oh, kh), window(ow, kw)] *
/// W'[b, c, kh, kw, j] over loops (n, b, oh, ow, c, kh, kw, j).
bool isDirectConv(mlir::linalg::LinalgOp op);

/// Rewrites a convolution as the matrix product it is per image,
/// Y[n, f, p] = sum_k W[f, k] * cols[n, k, p] over the flattened output
/// positions p: for a 1x1 convolution cols is the input (the strided
/// positions taken first), otherwise the input windows gathered once
/// (im2col: k runs over channels and filter taps). The contraction's
/// vector dim is as long as the image, whatever its width.
///
/// When the output positions fill vectors poorly (ResNet's 7x7 images: 49
/// positions are 3 vectors of 16 and one of 1) and the weights are
/// constants, the product is computed transposed instead, the output
/// channels as the vector dim: T[n * p, f] = cols[n * p, k] * W[k, f], a
/// matmul whose weight is packed at compile time (packRhs), then
/// transposed back into NCHW.
mlir::linalg::GenericOp convAsContraction(mlir::RewriterBase &r, mlir::linalg::LinalgOp conv,
                                          const TargetInfo &target);

/// Register tile of an 8-bit dot-product contraction ("dot-i8"): rows of A
/// by columns of packed B (four 16-lane i32 accumulators per row).
constexpr int64_t kDotI8Rows = 6, kDotI8Columns = 64;

/// Whether `op` is a 2-D product of 8-bit integers summed in i32, A's
/// elements zero-extended and B's sign-extended (kiln.MatMulInteger of a
/// u8 A and an i8 B), with a constant B whose rows come in groups of 4:
/// what the target's 8-bit dot products compute.
bool isInt8DotProduct(mlir::linalg::LinalgOp op, const TargetInfo &target);

/// Rewrites such a product over B packed at compile time as
/// Bp[n / 64][k / 4][n % 64][k % 4] (each dot-product step reads 64 bytes:
/// 4 consecutive k of 16 columns per 32-bit lane, four times), C viewed as
/// [M][N / 64][64] (N padded to whole slivers, sliced back), with the
/// "dot-i8" configuration (threads split the slivers). Returns the new op.
/// `packed` maps each weight already packed to its packed constant (the
/// steps of an unrolled recurrence share one).
mlir::linalg::GenericOp packInt8DotProduct(mlir::RewriterBase &r, mlir::linalg::LinalgOp op,
                                           int64_t maxTasks,
                                           llvm::DenseMap<mlir::Value, mlir::Value> &packed);

/// The configuration attached to `op`, if any.
std::optional<LoweringConfig> configOf(mlir::Operation *op);

/// The indices `map` takes at the loop values `dims` (affine.apply for
/// results that are not a plain dim): how the vector code of ops without
/// a configuration addresses their operands.
llvm::SmallVector<mlir::Value> indicesAt(mlir::OpBuilder &b, mlir::Location loc,
                                         mlir::AffineMap map, mlir::ValueRange dims);

/// The innermost stride of `t` is one.
bool unitInnerStride(mlir::MemRefType t);

/// Strides along a row beyond this read too many lanes to keep few.
constexpr int64_t kMaxRowStride = 4;

/// How an operand of an op without a configuration is read along loop
/// `inner` (the row the vector code walks).
struct RowAccess {
  bool walks = false; // depends on `inner`
  int64_t stride = 0; // its last index is stride * inner + (independent of inner)
};

/// The access of `map` along loop `inner`: only its last result may depend
/// on it, as a constant multiple from 1 to kMaxRowStride plus what does
/// not; nothing if it reads otherwise.
std::optional<RowAccess> rowAccess(mlir::AffineMap map, int64_t inner);

/// `len` elements of `memref` read from `idx` along its innermost dim,
/// every `stride`-th: a wide masked load, no lane past the last one kept
/// (the row may end there), then a shuffle that keeps lanes 0, s, 2s, ...
mlir::Value loadEveryNth(mlir::OpBuilder &b, mlir::Location loc, mlir::Value memref,
                         mlir::ValueRange idx, int64_t len, int64_t stride);

} // namespace kiln
#endif
