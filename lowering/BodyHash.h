//===- BodyHash.h - structural hash of a region --------------*- C++ -*-===//
#ifndef KILN_LOWERING_BODYHASH_H
#define KILN_LOWERING_BODYHASH_H

#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Region.h"

namespace kiln {

/// Structural hash of a region: its ops, attributes and types, not value
/// names or locations. Regions that OperationEquivalence finds equal (with
/// IgnoreLocations) hash alike, so outlined bodies can be shared.
inline llvm::hash_code bodyHash(mlir::Region &body) {
  llvm::hash_code h = 0;
  body.walk([&](mlir::Operation *op) {
    h = llvm::hash_combine(h, mlir::OperationEquivalence::computeHash(
                                  op, mlir::OperationEquivalence::ignoreHashValue,
                                  mlir::OperationEquivalence::ignoreHashValue,
                                  mlir::OperationEquivalence::IgnoreLocations));
  });
  return h;
}

} // namespace kiln
#endif
