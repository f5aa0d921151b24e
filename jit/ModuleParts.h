//===- ModuleParts.h - an LLVM-dialect module divided by function -*- C++ -*-===//
#ifndef KILN_JIT_MODULEPARTS_H
#define KILN_JIT_MODULEPARTS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <vector>

namespace kiln {

/// `module` (LLVM dialect, as the pipeline leaves it) divided into at most
/// `count` modules (and at most one per two functions), heaviest first, each translatable and compilable on a
/// thread of its own: the defined functions are moved (not copied) into
/// the parts, balanced by their number of ops; every part declares the
/// functions the others define, and a global read from several parts is
/// defined in one of them (hidden, external) and declared in the rest.
/// Translating the parts concurrently replaces translating the whole module
/// on one thread and splitting the LLVM module (which copied every part).
/// `module` is left empty of functions and globals. One part (all of
/// `module`'s ops) when `count` is 1 or the module holds ops this does not
/// know how to divide.
std::vector<mlir::OwningOpRef<mlir::ModuleOp>> divideByFunction(mlir::ModuleOp module,
                                                               unsigned count);

} // namespace kiln
#endif
