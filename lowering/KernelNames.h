//===- KernelNames.h - profiler names of outlined kernels ------*- C++ -*-===//
#ifndef KILN_LOWERING_KERNELNAMES_H
#define KILN_LOWERING_KERNELNAMES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include <map>
#include <string>

namespace kiln {

/// The ONNX nodes whose ops `root` runs ("conv1+bn1+relu1"), from the name
/// locations of the ops inside it and of itself: the profiler's name for
/// the kernel it becomes.
std::string nodeNames(mlir::Operation *root);

/// The private constant C strings that name kernels in a module, one per
/// distinct text, shared by the passes that outline kernels.
class KernelNameTable {
public:
  explicit KernelNameTable(mlir::ModuleOp module);
  mlir::LLVM::GlobalOp get(const std::string &text);

private:
  mlir::ModuleOp module;
  std::map<std::string, mlir::LLVM::GlobalOp> globals;
  unsigned next = 0;
};

} // namespace kiln
#endif
