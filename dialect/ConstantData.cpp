//===- ConstantData.cpp - constant values stored once ---------------------===//
#include "dialect/ConstantData.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Threading.h"
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <utility>

using namespace mlir;

namespace kiln {

int64_t rawElementBytes(Type t) {
  if (!isa<IntegerType, FloatType>(t))
    return 0;
  unsigned bits = t.getIntOrFloatBitWidth();
  return bits % 8 == 0 ? bits / 8 : 0;
}

std::optional<ArrayRef<char>> constantBytes(Attribute value) {
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value)) {
    if (dense.isSplat() || !rawElementBytes(dense.getElementType()))
      return std::nullopt;
    return dense.getRawData();
  }
  auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value);
  if (!resource || !rawElementBytes(resource.getElementType()))
    return std::nullopt;
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  int64_t bytes = resource.getNumElements() * rawElementBytes(resource.getElementType());
  if (!blob || static_cast<int64_t>(blob->getData().size()) != bytes)
    return std::nullopt;
  return blob->getData();
}

namespace {
/// Buffers from this size on are mapped (a few pages: the system's call
/// costs little beside filling them).
constexpr size_t kMappedBufferBytes = size_t(1) << 20;
} // namespace

void forEachPart(MLIRContext *ctx, int64_t n, size_t bytes,
                 llvm::function_ref<void(int64_t, int64_t)> fn) {
  // Below this, a part would take about as long as waking a thread.
  constexpr size_t kParallelBytes = size_t(1) << 20;
  if (n <= 1 || bytes < kParallelBytes || !ctx->isMultithreadingEnabled()) {
    fn(0, n);
    return;
  }
  // A few parts per thread: the threads may be busy with other work.
  int64_t parts = std::min<int64_t>(n, 4 * ctx->getThreadPool().getMaxConcurrency());
  parallelFor(ctx, 0, parts, [&](size_t part) {
    fn(n * static_cast<int64_t>(part) / parts, n * static_cast<int64_t>(part + 1) / parts);
  });
}

ConstantBuffer::ConstantBuffer(size_t size) : length(size), mapped(size >= kMappedBufferBytes) {
  if (mapped) {
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::bad_alloc();
    // Not asked for huge pages: where the host backs a VM's memory lazily
    // (and takes freed memory back), a huge page is memory nobody touched
    // yet, and faulting one in cost up to 10 ms per MB (AMD EPYC VM: 512
    // MB in 0.35-5.1 s, in 4 KiB pages 0.2-0.27 s). VGG-19's session (548
    // MB of weights, moved a few times while compiling) took 9.2-12.2 s
    // that way, 3.8-4.1 s in 4 KiB pages; ResNet-50's 2.5-3.6 s, 2.1-2.8 s.
    bytes = static_cast<char *>(p);
  } else {
    size_t rounded = llvm::alignTo(std::max<size_t>(size, 1), kConstantAlignment);
    bytes = static_cast<char *>(std::aligned_alloc(kConstantAlignment, rounded));
    if (!bytes)
      throw std::bad_alloc();
    std::memset(bytes, 0, rounded);
  }
}

ConstantBuffer::ConstantBuffer(ConstantBuffer &&other) noexcept
    : bytes(other.bytes), length(other.length), mapped(other.mapped) {
  other.bytes = nullptr;
}

ConstantBuffer::~ConstantBuffer() {
  if (!bytes)
    return;
  if (mapped)
    munmap(bytes, length);
  else
    std::free(bytes);
}

AsmResourceBlob ConstantBuffer::intoBlob() && {
  char *data = std::exchange(bytes, nullptr);
  bool isMapped = mapped;
  // Mapped memory is page-aligned, the rest kConstantAlignment-aligned.
  return AsmResourceBlob(ArrayRef<char>(data, length), kConstantAlignment,
                         [isMapped](void *p, size_t size, size_t) {
                           if (isMapped)
                             munmap(p, size);
                           else
                             std::free(p);
                         },
                         /*dataIsMutable=*/false);
}

namespace {
/// Whether a constant of `type` and `bytes` bytes is stored as a blob.
bool asBlob(ShapedType type, size_t bytes) {
  return static_cast<int64_t>(bytes) >= kBlobConstantBytes &&
         rawElementBytes(type.getElementType()) != 0;
}
} // namespace

ElementsAttr constantAttr(ShapedType type, std::vector<char> bytes) {
  if (!asBlob(type, bytes.size()))
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  // The blob owns the vector's buffer: no copy.
  auto *owned = new std::vector<char>(std::move(bytes));
  AsmResourceBlob blob(ArrayRef<char>(owned->data(), owned->size()), alignof(std::max_align_t),
                       [owned](void *, size_t, size_t) { delete owned; },
                       /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, "kiln_constant", std::move(blob));
}

ElementsAttr constantAttr(ShapedType type, ConstantBuffer bytes) {
  if (!asBlob(type, bytes.size()))
    return DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size()));
  return DenseResourceElementsAttr::get(type, "kiln_constant", std::move(bytes).intoBlob());
}

ElementsAttr constantAttr(ShapedType type, AsmResourceBlob blob) {
  if (!asBlob(type, blob.getData().size()))
    return DenseElementsAttr::getFromRawBuffer(type, blob.getData());
  return DenseResourceElementsAttr::get(type, "kiln_constant", std::move(blob));
}

ElementsAttr retypeConstant(ElementsAttr value, ShapedType type) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return DenseResourceElementsAttr::get(type, resource.getRawHandle());
  auto dense = cast<DenseElementsAttr>(value);
  if (dense.getElementType() != type.getElementType())
    dense = dense.bitcast(type.getElementType());
  return dense.getType() == type ? dense : dense.reshape(type);
}

namespace {
template <typename Fn> void forEachBlob(Operation *op, Fn fn) {
  for (NamedAttribute a : op->getAttrs())
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(a.getValue()))
      fn(resource.getRawHandle());
}
} // namespace

BlobReferences::BlobReferences(Operation *root) {
  root->walk([&](Operation *op) { added(op); });
}

void BlobReferences::added(Operation *op) {
  forEachBlob(op, [&](DenseResourceElementsHandle h) { ++holders[h.getKey()]; });
}

void BlobReferences::erasing(Operation *op) {
  forEachBlob(op, [&](DenseResourceElementsHandle h) {
    auto it = holders.find(h.getKey());
    if (it == holders.end() || --it->second > 0)
      return;
    holders.erase(it);
    // An empty blob frees the old one's memory (through its deleter).
    if (h.getBlob())
      h.getResource()->setBlob(AsmResourceBlob());
  });
}

} // namespace kiln
