//===- ShapeHelpers.h - shape rules shared by inference and lowering ------===//
#ifndef KILN_DIALECT_SHAPEHELPERS_H
#define KILN_DIALECT_SHAPEHELPERS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>
#include <string>

namespace kiln {

/// ONNX multidirectional broadcast of static-or-dynamic shapes
/// (ShapedType::kDynamic for unknown dims). Empty on incompatible shapes.
std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<llvm::SmallVector<int64_t>> shapes);

/// Normalizes a possibly negative axis into [0, rank); nullopt if out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Reads an integer tensor produced by a kiln.Constant, if `v` is one.
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value v);

/// Everything Conv and the pools need about their spatial dims, resolved from
/// the attributes (defaults filled, auto_pad applied).
struct SpatialParams {
  llvm::SmallVector<int64_t> kernel, strides, dilations;
  llvm::SmallVector<int64_t> padBegin, padEnd;
  llvm::SmallVector<int64_t> outSpatial; // kDynamic where the input is dynamic
};

/// `inSpatial` are the input's spatial dims, `kernelFromWeights` the weight
/// tensor's spatial dims (Conv) or empty (pools, which need kernel_shape).
/// On failure returns false and sets `error`.
bool resolveSpatial(llvm::ArrayRef<int64_t> inSpatial,
                    llvm::ArrayRef<int64_t> kernelFromWeights,
                    llvm::StringRef autoPad, mlir::ArrayAttr kernelShape,
                    mlir::ArrayAttr strides, mlir::ArrayAttr dilations,
                    mlir::ArrayAttr pads, bool ceilMode, SpatialParams &out,
                    std::string &error);

llvm::SmallVector<int64_t> toInts(mlir::ArrayAttr attr);

/// Result shape of ONNX Reshape with the given target (0 copies, -1 infers).
std::optional<llvm::SmallVector<int64_t>>
reshapeTarget(llvm::ArrayRef<int64_t> in, llvm::ArrayRef<int64_t> target,
              bool allowZero, std::string &error);

/// Sorted, normalized reduce axes for a rank; all axes when `axes` is empty
/// and `noopWithEmpty` is false.
std::optional<llvm::SmallVector<int64_t>>
reduceAxes(llvm::ArrayRef<int64_t> axes, int64_t rank, bool noopWithEmpty);

/// One dim of an ONNX Slice, resolved: element i of the result is input
/// element start + i * step.
struct SliceDim {
  int64_t start = 0, size = 0, step = 1;
};

/// Resolves Slice's starts/ends/axes/steps (clamped per the spec) for a
/// static input shape. Empty axes means 0..n-1, empty steps all ones.
std::optional<llvm::SmallVector<SliceDim>>
resolveSlice(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> starts,
             llvm::ArrayRef<int64_t> ends, llvm::ArrayRef<int64_t> axes,
             llvm::ArrayRef<int64_t> steps, std::string &error);

/// Per-dim (begin, end) padding of ONNX Pad for a given rank: `pads` is
/// [begins..., ends...] over `axes` (all dims when empty).
std::optional<std::pair<llvm::SmallVector<int64_t>, llvm::SmallVector<int64_t>>>
resolvePads(int64_t rank, llvm::ArrayRef<int64_t> pads, llvm::ArrayRef<int64_t> axes,
            std::string &error);

/// An Einsum equation with "..." expanded: each operand's dims and the
/// output's as label numbers; `sizes[label]` is the label's extent.
struct EinsumSpec {
  llvm::SmallVector<llvm::SmallVector<int64_t>> inputs;
  llvm::SmallVector<int64_t> output, sizes;
};

/// Parses `equation` for operands of the given static shapes (implicit
/// output: labels used once, alphabetically, after the ellipsis dims).
std::optional<EinsumSpec> parseEinsum(llvm::StringRef equation,
                                      llvm::ArrayRef<llvm::SmallVector<int64_t>> shapes,
                                      std::string &error);

} // namespace kiln
#endif
