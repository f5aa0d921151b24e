//===- ObjectCode.h - LLVM IR -> object files -> loaded code ---*- C++ -*-===//
#ifndef KILN_JIT_OBJECTCODE_H
#define KILN_JIT_OBJECTCODE_H

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include <functional>
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
  double translate = 0, optimize = 0, emit = 0;
};

/// Builds one part of the program as an LLVM module in `ctx`, on the
/// thread that compiles it.
using ModuleBuilder = std::function<std::unique_ptr<llvm::Module>(llvm::LLVMContext &ctx)>;

/// Builds, optimizes at `optLevel` and emits each part as a relocatable
/// object for the target `builder` describes, on up to `threads` threads
/// (each part in its own LLVM context), taking the parts in order; the
/// objects link together. `budget` is checked before each part is
/// optimized and emitted. Throws kiln::Error.
std::vector<std::vector<char>> compileToObjects(std::vector<ModuleBuilder> parts,
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
