//===- ObjectCode.h - LLVM IR -> object files -> loaded code ---*- C++ -*-===//
#ifndef KILN_JIT_OBJECTCODE_H
#define KILN_JIT_OBJECTCODE_H

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include <memory>
#include <string>
#include <vector>

namespace kiln {
class CompileBudget;

/// Adds `_mlir_<name>(void **args)`, which calls `name` with each argument
/// loaded from the pointer args[i] points to (the runtime's calling
/// convention for the entry, see runtime/Executable.h).
void addPackedWrapper(llvm::Module &module, const std::string &name);

/// Time spent in each step of compileToObjects, in milliseconds (summed
/// over threads).
struct ObjectCodeTimes {
  double split = 0, optimize = 0, emit = 0;
};

/// Optimizes `module` at `optLevel` and emits relocatable objects for the
/// target `builder` describes. With more than one thread the module is
/// split by function into as many parts, each optimized and compiled on
/// its own thread (in its own LLVM context); the objects link together.
/// `budget` is checked before each part is optimized and emitted.
/// Throws kiln::Error.
std::vector<std::vector<char>> compileToObjects(std::unique_ptr<llvm::Module> module,
                                                const llvm::orc::JITTargetMachineBuilder &builder,
                                                int optLevel, unsigned threads,
                                                ObjectCodeTimes *times = nullptr,
                                                CompileBudget *budget = nullptr);

/// Objects linked in this process, their undefined symbols resolved to
/// Kiln's runtime and the process's libraries.
struct LoadedCode {
  std::shared_ptr<void> owner; // keeps the code mapped
  void (*entry)(void **) = nullptr;
};
LoadedCode loadObjects(const std::vector<std::vector<char>> &objects,
                       const llvm::orc::JITTargetMachineBuilder &builder,
                       const std::string &entry);

} // namespace kiln
#endif
