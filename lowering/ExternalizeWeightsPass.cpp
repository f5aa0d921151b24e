//===- ExternalizeWeightsPass.cpp - kiln-externalize-weights --------------===//
//
// Constant buffers (initializers, folded constants) become views of one
// weight blob passed to the entry at run time. An LLVM constant costs
// code-generation time in proportion to its size, and large ones break
// the small code model; a view of an argument costs nothing to compile.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "dialect/ConstantData.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNEXTERNALIZEWEIGHTS
#include "lowering/Passes.h.inc"

namespace {
/// Each weight starts on a cache line (and on any vector's alignment).
constexpr int64_t kWeightAlignment = 64;

struct ExternalizeWeightsPass : impl::KilnExternalizeWeightsBase<ExternalizeWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp entry;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (!f.isPublic() || f.isDeclaration())
        continue;
      if (entry)
        return; // no single entry: nothing to pass the blob to
      entry = f;
    }
    if (!entry)
      return;

    struct Weight {
      memref::GlobalOp global;
      ElementsAttr value;
      int64_t offset, bytes;
    };
    // Every symbol use, by the symbol it names (one walk of the module).
    llvm::DenseMap<StringAttr, SmallVector<Operation *>> users;
    if (auto uses = SymbolTable::getSymbolUses(&module.getBodyRegion()))
      for (const SymbolTable::SymbolUse &u : *uses)
        users[u.getSymbolRef().getRootReference()].push_back(u.getUser());

    SmallVector<Weight> weights;
    int64_t size = 0;
    for (auto g : module.getOps<memref::GlobalOp>()) {
      auto value = llvm::dyn_cast_or_null<ElementsAttr>(g.getInitialValueAttr());
      auto dense = llvm::dyn_cast_or_null<DenseElementsAttr>(value);
      MemRefType type = g.getType();
      int64_t elementBytes = rawElementBytes(type.getElementType());
      if (!g.getConstant() || !value || !elementBytes || !((dense && dense.isSplat()) || constantBytes(value)) || !type.getLayout().isIdentity() ||
          !type.hasStaticShape() || type.getMemorySpace())
        continue;
      bool onlyEntry = llvm::all_of(users[g.getSymNameAttr()], [&](Operation *user) {
        return isa<memref::GetGlobalOp>(user) && user->getParentOfType<func::FuncOp>() == entry;
      });
      if (!onlyEntry)
        continue;
      size = llvm::alignTo(size, kWeightAlignment);
      int64_t bytes = type.getNumElements() * elementBytes;
      weights.push_back({g, value, size, bytes});
      size += bytes;
    }

    MLIRContext *ctx = &getContext();
    Location loc = entry.getLoc();
    auto blobType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    if (failed(entry.insertArgument(entry.getNumArguments(), blobType, {}, loc)))
      return signalPassFailure();
    if (weights.empty())
      return;
    Value blobArg = entry.getArgument(entry.getNumArguments() - 1);

    BlobReferences references(module);
    static_assert(kConstantAlignment % kWeightAlignment == 0);
    ConstantBuffer buffer(size);
    MutableArrayRef<char> data(buffer.data(), buffer.size());
    // Padding is zeros (the buffer's own): equal weights give equal blobs
    // (and checksums). Each weight is copied (in parts, on the context's
    // threads) and its constant freed before the next: copying them all
    // first held every weight twice at once.
    constexpr int64_t kPartBytes = int64_t(1) << 20;
    OpBuilder b(ctx);
    for (Weight &w : weights) {
      char *to = data.data() + w.offset;
      if (std::optional<ArrayRef<char>> raw = constantBytes(w.value)) {
        const char *from = raw->data();
        int64_t bytes = w.bytes;
        forEachPart(ctx, llvm::divideCeil(bytes, kPartBytes), bytes, [&](int64_t begin, int64_t end) {
          int64_t at = begin * kPartBytes, until = std::min(end * kPartBytes, bytes);
          if (until > at)
            std::memcpy(to + at, from + at, until - at);
        });
      } else {
        // A splat stores one element: repeat it.
        ArrayRef<char> one = cast<DenseElementsAttr>(w.value).getRawData();
        for (int64_t at = 0; at < w.bytes; at += one.size())
          std::memcpy(to + at, one.data(), one.size());
      }
      // Anew each time: the op the last insertion point was before may have
      // been a replaced get_global.
      b.setInsertionPointToStart(&entry.getBody().front());
      Value offset = arith::ConstantIndexOp::create(b, loc, w.offset);
      Value view = memref::ViewOp::create(b, loc, w.global.getType(), blobArg, offset, ValueRange{});
      for (Operation *get : users[w.global.getSymNameAttr()]) {
        get->getResult(0).replaceAllUsesWith(view);
        get->erase();
      }
      // Copied: the constant's own bytes go now, not with the context.
      references.erasing(w.global);
      w.global.erase();
    }
    auto tensorType = RankedTensorType::get({size}, IntegerType::get(ctx, 8));
    module->setAttr("kiln.weights",
                    DenseResourceElementsAttr::get(tensorType, "kiln_weights", std::move(buffer).intoBlob()));
  }
};
} // namespace
} // namespace kiln
