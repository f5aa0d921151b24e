//===- KilnDialect.h - the Kiln ONNX dialect -------------------------------===//
#ifndef KILN_DIALECT_KILNDIALECT_H
#define KILN_DIALECT_KILNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/KilnDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/KilnTypes.h.inc"

#define GET_OP_CLASSES
#include "dialect/KilnOps.h.inc"

namespace kiln {
/// Types every result of `op` from its operands and attributes, where they
/// determine it; leaves dims it cannot know as `?`. Fails with a diagnostic
/// at the op when the operands are inconsistent.
mlir::LogicalResult inferShapes(mlir::Operation *op);

/// The value of `op` when it computes on small constants (shape arithmetic
/// on integers, and the float scalars that feed shapes); nullopt otherwise.
std::optional<mlir::DenseElementsAttr> foldConstantOp(mlir::Operation *op);
} // namespace kiln

#endif
