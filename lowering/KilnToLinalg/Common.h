//===- Common.h - helpers shared by the Kiln -> linalg patterns -*- C++ -*-===//
#ifndef KILN_LOWERING_KILNTOLINALG_COMMON_H
#define KILN_LOWERING_KILNTOLINALG_COMMON_H

#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include <functional>

namespace kiln {

/// Signless types for arith/linalg: ui8 -> i8 etc.
class KilnTypeConverter : public mlir::TypeConverter {
public:
  KilnTypeConverter();
};

/// How to compute on an element type from the dialect (which keeps signedness).
struct ElemKind {
  bool isFloat = false, isUnsigned = false, isBool = false;
  static ElemKind of(mlir::Type t);
};

/// The type compiled code holds an element in: signless integers; float8,
/// float4 and 2/4-bit integers as i8 (see SubByteTypes.cpp); strings as i64.
mlir::Type signless(mlir::Type t);

/// float8, float4, int4/uint4 and int2/uint2: stored one per byte, only cast.
bool isSubByteType(mlir::Type t);

/// Cast of scalar `v` (in compiled-code form) from dialect type `from` to
/// `to` where either is a sub-byte type.
mlir::Value castSubByte(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Type from,
                        mlir::Type to, bool saturate, llvm::StringRef roundMode);
mlir::RankedTensorType staticType(mlir::Value v);

/// Fails the pattern unless every operand and result is statically shaped.
mlir::LogicalResult requireStatic(mlir::Operation *op, mlir::ConversionPatternRewriter &r);

/// tensor.empty; `dynamicSizes` gives the dims of `shape` that are dynamic.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                        mlir::Type elem, mlir::ValueRange dynamicSizes = {});
/// Dim `i` of `v` as an index: a constant where static, else tensor.dim.
mlir::Value dimValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, int64_t i);
/// Every dim of `v` as an index (dimValue of each).
llvm::SmallVector<mlir::Value> allDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
/// The index to read an operand dim of size `operandDim` at, for result
/// index `at` of a dim of size `resultDim`: `at` where they agree, 0 where
/// the operand's is 1 (broadcast, known only when the code runs).
mlir::Value broadcastIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value operandDim,
                           mlir::Value resultDim, mlir::Value at);
/// tensor.dim of each dynamic dim of `v`, in order.
llvm::SmallVector<mlir::Value> dynamicDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                         mlir::Value scalar, mlir::ValueRange dynamicSizes = {});
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elem, double v);
/// Smallest / largest value of the element type (-inf / +inf for floats).
mlir::Value lowestValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elem, bool isUnsigned);
mlir::Value highestValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elem, bool isUnsigned);

using ScalarBody =
    std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// Reduces every element of `input` into one scalar starting from `init`:
/// `combine(element, accumulator)` (as ValueRange{element, accumulator})
/// gives the next accumulator. Returns the scalar.
mlir::Value reduceAll(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input, mlir::Value init,
                      const ScalarBody &combine);

/// A parallel linalg.generic over `outShape` whose inputs are broadcast to
/// it with ONNX (right-aligned) rules; `body` maps input scalars to the result.
/// Dims may be dynamic: the result's are computed from the operands', and
/// an operand whose dim may or may not broadcast (only known when the code
/// runs) is read with an index chosen at run time. `givenSizes`, when not
/// empty, are the result's dynamic dims (for Expand, whose target decides).
mlir::Value broadcastGeneric(mlir::OpBuilder &b, mlir::Location loc,
                             llvm::ArrayRef<int64_t> outShape, mlir::Type outElem,
                             mlir::ValueRange inputs, const ScalarBody &body,
                             mlir::ValueRange givenSizes = {});

/// Reshape between static shapes with the same element count (collapse to
/// 1-D, then expand); with dynamic dims, only dims of static size 1 may be
/// added or removed.
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                      llvm::ArrayRef<int64_t> shape);

/// Pads the trailing `padBegin.size()` dims with `value`.
mlir::Value padSpatial(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                       llvm::ArrayRef<int64_t> padBegin, llvm::ArrayRef<int64_t> padEnd,
                       mlir::Value value);

/// Dynamic dims of a windowed op's result (N, C or F, spatial...) from its
/// padded input: N is `firstDim`, a dynamic second dim the padded input's,
/// spatial dims (padded - extent) / stride + 1. Only for dims dynamic in
/// `outShape`, in order.
/// Pads and output sizes per spatial dim as the code computes them (for
/// spatial dims known only at run time): `hi` includes ceil mode's extra
/// end padding, `explicitHi` only the pads proper (which
/// count_include_pad counts).
struct Padding {
  llvm::SmallVector<mlir::OpFoldResult> lo, hi, explicitHi;
  llvm::SmallVector<mlir::Value> out;
};
/// The rules of resolveSpatial (dialect/ShapeHelpers.cpp) on index values,
/// for `x` (N, C, spatial...).
Padding runtimePadding(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       const SpatialParams &sp, llvm::StringRef autoPad, bool ceilMode);
/// `v` padded on its spatial dims (after N and C) by `lo`/`hi` with `value`.
mlir::Value padSpatialBy(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         llvm::ArrayRef<mlir::OpFoldResult> lo,
                         llvm::ArrayRef<mlir::OpFoldResult> hi, mlir::Value value);
/// Sizes of the dynamic dims of `outShape` (N, C, spatial...): N and C from
/// `x`, spatial ones from `p`.
llvm::SmallVector<mlir::Value> outputSizes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                                           llvm::ArrayRef<int64_t> outShape, const Padding &p);
llvm::SmallVector<mlir::Value> windowedSizes(mlir::OpBuilder &b, mlir::Location loc,
                                             mlir::Value padded, mlir::Value firstDim,
                                             llvm::ArrayRef<int64_t> outShape,
                                             llvm::ArrayRef<int64_t> kernel,
                                             llvm::ArrayRef<int64_t> strides,
                                             llvm::ArrayRef<int64_t> dilations);

/// x + y, x * y, max and min of scalars of kind `k` (float max/min
/// propagate NaN; unsigned and bool compare unsigned).
mlir::Value addOf(mlir::OpBuilder &b, mlir::Location loc, ElemKind k, mlir::Value x, mlir::Value y);
mlir::Value mulOf(mlir::OpBuilder &b, mlir::Location loc, ElemKind k, mlir::Value x, mlir::Value y);
mlir::Value maxOf(mlir::OpBuilder &b, mlir::Location loc, ElemKind k, mlir::Value x, mlir::Value y);
mlir::Value minOf(mlir::OpBuilder &b, mlir::Location loc, ElemKind k, mlir::Value x, mlir::Value y);

/// Converts a scalar between element kinds with ONNX Cast semantics.
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, ElemKind from,
                       mlir::Type toType, ElemKind to);

/// Sum of `v` over `axes`, with the summed dims kept as 1.
mlir::Value sumOver(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                    llvm::ArrayRef<int64_t> axes, ElemKind k);

/// A memref type any buffer of `shape` casts to (strides and offset dynamic).
mlir::MemRefType anyLayout(llvm::ArrayRef<int64_t> shape, mlir::Type elem);
/// `v` (a tensor, which the kernel only reads, or a memref) as a host kernel
/// argument: every dim dynamic too, so one declaration serves every call.
mlir::Value hostArg(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
/// `v` (tensor or memref) as a kernel argument of any rank (memref<*xT>).
mlir::Value anyRankArg(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
/// The declaration of host kernel `name` (see runtime/HostKernels.h).
mlir::func::FuncOp hostKernel(mlir::Operation *op, mlir::OpBuilder &b, llvm::StringRef name,
                              mlir::FunctionType type);

/// Element 0 of `t` (a one-element tensor of any rank, such as an ONNX scalar
/// input given as [1]).
mlir::Value firstElement(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t);

/// A new buffer of `shape` (dynamic dims from `sizes`) a host kernel fills,
/// and the tensor it becomes afterwards.
struct HostOutput {
  mlir::Value buffer;
  mlir::RankedTensorType type;
  mlir::Value tensor(mlir::OpBuilder &b, mlir::Location loc) const;
};
HostOutput allocateForHost(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                           mlir::Type elem, mlir::ValueRange sizes);
/// Calls host kernel `name` (declared on first use) with `args`; its one
/// result, if `results` names one.
mlir::Value callHost(mlir::OpBuilder &b, mlir::Operation *op, llvm::StringRef name,
                     mlir::ValueRange args, mlir::TypeRange results = {});

/// Fails the run (a host kernel `kernel` with no arguments that calls
/// kiln::failRun, see runtime/HostKernels.h) unless `condition` holds.
void failRunUnless(mlir::OpBuilder &b, mlir::Location loc, mlir::Value condition,
                   llvm::StringRef kernel);

void populateElementwisePatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateMathPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateConvPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populatePoolingPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateTensorPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateReductionPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateIndexingPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateScatterPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateDataDependentPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateGridSamplePatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateStringPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateControlFlowPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateTreeEnsemblePatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateImagePatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);
void populateRandomPatterns(KilnTypeConverter &tc, mlir::RewritePatternSet &p);

/// An index read from an indices tensor, made usable: negative values
/// count from the end (when `fromEnd`), and the result is clamped to
/// [0, dim) so a bad index never reads or writes out of bounds.
mlir::Value clampedIndex(mlir::OpBuilder &b, mlir::Location l, mlir::Value raw, int64_t dim,
                         bool fromEnd = true);
/// The same with a dim known only when the code runs.
mlir::Value clampedIndex(mlir::OpBuilder &b, mlir::Location l, mlir::Value raw, mlir::Value dim,
                         bool fromEnd = true);

/// An index read from an indices tensor that the ONNX spec requires to lie
/// in [-dim, dim - 1] (Scatter*, in their sequential loops): negative
/// values count from the end, and one out of range fails the run with an
/// error naming `op`'s node instead of writing outside the tensor.
mlir::Value checkedIndex(mlir::OpBuilder &b, mlir::Location l, mlir::Value raw, mlir::Value dim,
                         mlir::Operation *op);

/// Fails the run, naming `op`'s node, when any element of `indices` lies
/// outside [-dim, dim - 1]: one reduction over the indices (one unsigned
/// compare each, vectorizable) before the op reads with them, so that the
/// op's own body stays free of side effects (fusable, and removed when its
/// result is unused) and reads with clampedIndex.
void checkIndices(mlir::OpBuilder &b, mlir::Location l, mlir::Value indices, mlir::Value dim,
                  mlir::Operation *op);

/// "node 'conv1' (Conv)" from an imported op's name location, or the op's
/// name alone.
std::string nodeLabel(mlir::Operation *op);
/// A pointer to a NUL-terminated constant holding `text` (one global per
/// text in `anchor`'s module), for host kernels that take a message.
mlir::Value constantCString(mlir::OpBuilder &b, mlir::Location l, mlir::Operation *anchor,
                            llvm::StringRef text);

} // namespace kiln
#endif
