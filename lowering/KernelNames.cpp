//===- KernelNames.cpp - profiler names of outlined kernels ---------------===//
#include "lowering/KernelNames.h"
#include "llvm/ADT/SetVector.h"
#include <functional>

using namespace mlir;

namespace kiln {
namespace {
constexpr llvm::StringLiteral kPrefix = "kiln_kernel_name_";
}

std::string nodeNames(Operation *root) {
  llvm::SetVector<StringRef> names;
  std::function<void(Location)> collect = [&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l))
      names.insert(n.getName().strref());
    else if (auto f = dyn_cast<FusedLoc>(l))
      for (Location inner : f.getLocations())
        collect(inner);
    else if (auto c = dyn_cast<CallSiteLoc>(l))
      collect(c.getCallee());
  };
  // (Not constants': folding merges equal constants of many nodes into
  // one, whose location then names them all.)
  root->walk([&](Operation *op) {
    if (op != root && !op->hasTrait<OpTrait::ConstantLike>())
      collect(op->getLoc());
  });
  collect(root->getLoc());
  std::string label;
  for (StringRef n : names)
    label += (label.empty() ? "" : "+") + n.str();
  return label.empty() ? "kernel" : label;
}

KernelNameTable::KernelNameTable(ModuleOp module) : module(module) {
  for (auto g : module.getOps<LLVM::GlobalOp>()) {
    StringRef name = g.getSymName();
    if (!name.starts_with(kPrefix))
      continue;
    unsigned index = 0;
    if (!name.drop_front(kPrefix.size()).getAsInteger(10, index))
      next = std::max(next, index + 1);
    if (auto value = llvm::dyn_cast_or_null<StringAttr>(g.getValueOrNull()))
      globals[value.getValue().drop_back().str()] = g;
  }
}

LLVM::GlobalOp KernelNameTable::get(const std::string &text) {
  auto &global = globals[text];
  if (global)
    return global;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  MLIRContext *ctx = module.getContext();
  std::string value = text + '\0';
  auto type = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), value.size());
  global = LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                                  LLVM::Linkage::Private, (kPrefix + Twine(next++)).str(),
                                  b.getStringAttr(value));
  return global;
}

} // namespace kiln
