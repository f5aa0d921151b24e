//===- ModuleParts.cpp - an LLVM-dialect module divided by function -------===//
#include "jit/ModuleParts.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include <algorithm>
#include <numeric>

using namespace mlir;

namespace kiln {

namespace {
bool isLocal(LLVM::Linkage l) {
  return l == LLVM::Linkage::Private || l == LLVM::Linkage::Internal;
}
} // namespace

std::vector<OwningOpRef<ModuleOp>> divideByFunction(ModuleOp module, unsigned count) {
  auto whole = [&] {
    OwningOpRef<ModuleOp> one = ModuleOp::create(module.getLoc());
    one->getOperation()->setAttrs(module->getAttrDictionary());
    Block *to = one->getBody();
    while (!module.getBody()->empty())
      module.getBody()->front().moveBefore(to, to->end());
    std::vector<OwningOpRef<ModuleOp>> parts;
    parts.push_back(std::move(one));
    return parts;
  };
  SmallVector<LLVM::LLVMFuncOp> defined;
  for (Operation &op : *module.getBody()) {
    if (auto f = dyn_cast<LLVM::LLVMFuncOp>(op)) {
      if (!f.isExternal())
        defined.push_back(f);
    } else if (auto g = dyn_cast<LLVM::GlobalOp>(op)) {
      if (!g.getInitializerRegion().empty())
        return whole(); // may refer to other symbols
    } else {
      return whole(); // comdats, constructors, aliases: not divided
    }
  }
  // At least two functions a part: a part's fixed costs (a target
  // machine, a context) are not worth it for less.
  count = std::min<unsigned>(count, defined.size() / 2);
  if (count <= 1)
    return whole();

  // Heaviest first, each to the lightest part so far.
  SmallVector<uint64_t> weight;
  for (LLVM::LLVMFuncOp f : defined) {
    uint64_t ops = 0;
    f.walk([&](Operation *) { ++ops; });
    weight.push_back(ops);
  }
  SmallVector<size_t> order(defined.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return weight[a] > weight[b]; });
  SmallVector<uint64_t> load(count, 0);
  llvm::DenseMap<Operation *, unsigned> partOf;
  for (size_t i : order) {
    unsigned p = std::min_element(load.begin(), load.end()) - load.begin();
    load[p] += weight[i];
    partOf[defined[i]] = p;
  }

  // The parts reading each global.
  llvm::DenseMap<StringAttr, SmallVector<unsigned, 2>> readers;
  for (LLVM::LLVMFuncOp f : defined) {
    unsigned p = partOf[f];
    f.walk([&](LLVM::AddressOfOp a) {
      SmallVector<unsigned, 2> &r = readers[a.getGlobalNameAttr().getAttr()];
      if (!llvm::is_contained(r, p))
        r.push_back(p);
    });
  }

  std::vector<OwningOpRef<ModuleOp>> parts;
  for (unsigned p = 0; p < count; ++p) {
    parts.push_back(ModuleOp::create(module.getLoc()));
    parts.back()->getOperation()->setAttrs(module->getAttrDictionary());
  }
  auto append = [](ModuleOp part, Operation *op) { op->moveBefore(part.getBody(), part.getBody()->end()); };
  auto declareIn = [&](ModuleOp part, Operation *op) {
    part.getBody()->push_back(op->cloneWithoutRegions());
  };
  for (Operation &op : llvm::make_early_inc_range(*module.getBody())) {
    if (auto f = dyn_cast<LLVM::LLVMFuncOp>(op)) {
      if (f.isExternal()) {
        for (auto &part : parts)
          declareIn(*part, f);
        continue;
      }
      // Called or taken the address of from other parts: visible to them
      // (not outside the linked code).
      if (isLocal(f.getLinkage())) {
        f.setLinkage(LLVM::Linkage::External);
        f.setVisibility_(LLVM::Visibility::Hidden);
      }
      unsigned home = partOf[f];
      for (unsigned p = 0; p < count; ++p)
        if (p != home)
          declareIn(*parts[p], f);
      append(*parts[home], f);
      continue;
    }
    auto g = cast<LLVM::GlobalOp>(op);
    ArrayRef<unsigned> r = readers[g.getSymNameAttr()];
    unsigned home = r.empty() ? 0 : r.front();
    if (r.size() > 1) {
      if (isLocal(g.getLinkage())) {
        g.setLinkage(LLVM::Linkage::External);
        g.setVisibility_(LLVM::Visibility::Hidden);
      }
      for (unsigned p : r.drop_front()) {
        auto decl = cast<LLVM::GlobalOp>(g->cloneWithoutRegions());
        decl.removeValueAttr();
        decl.setLinkage(LLVM::Linkage::External);
        parts[p]->getBody()->push_back(decl);
      }
    }
    append(*parts[home], g);
  }
  std::vector<size_t> byLoad(count);
  std::iota(byLoad.begin(), byLoad.end(), 0);
  std::stable_sort(byLoad.begin(), byLoad.end(), [&](size_t a, size_t b) { return load[a] > load[b]; });
  std::vector<OwningOpRef<ModuleOp>> sorted;
  for (size_t p : byLoad)
    sorted.push_back(std::move(parts[p]));
  return sorted;
}

} // namespace kiln
