//===- FoldedConstant.h - replacing an op by the constant it computes ----===//
#ifndef KILN_LOWERING_FOLDEDCONSTANT_H
#define KILN_LOWERING_FOLDEDCONSTANT_H

#include "dialect/ConstantData.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {

/// Replaces `op` by an arith.constant of `value` (what it computes from
/// constants), then erases the ops that held its inputs (constants,
/// reshapes of them, empty tensors) once nothing else reads them, and with
/// them the bytes of their blobs.
void replaceWithConstant(mlir::RewriterBase &r, mlir::Operation *op, mlir::ElementsAttr value,
                         BlobReferences &blobs);

} // namespace kiln

#endif
