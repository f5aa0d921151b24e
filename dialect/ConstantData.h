//===- ConstantData.h - constant values stored once ------------*- C++ -*-===//
//
// Weights arrive as large constants. A DenseElementsAttr is uniqued: its
// bytes are hashed, copied into the context and kept until the context
// dies, so every transformation of a weight (a folded normalization, a
// packing) would add a copy for the rest of the compilation. Large
// constants are instead dense resources: a blob held once, not hashed,
// shared by reshapes of it, and freed (BlobReferences) once no op refers
// to it. Small constants stay dense attributes, which folders read.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_CONSTANTDATA_H
#define KILN_DIALECT_CONSTANTDATA_H

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"
#include <optional>
#include <vector>

namespace kiln {

/// Constants of at least this many bytes are stored as resource blobs.
constexpr int64_t kBlobConstantBytes = 16 * 1024;

/// Bytes per element when `t`'s values are stored as plain row-major bytes
/// (whole-byte integers and floats; not i1); 0 otherwise.
int64_t rawElementBytes(mlir::Type t);

/// The row-major bytes of `value`, one element after another, when it is
/// a non-splat dense attribute or a dense resource of a raw element type;
/// nothing otherwise (splats, strings, booleans, released blobs).
std::optional<llvm::ArrayRef<char>> constantBytes(mlir::Attribute value);

/// Alignment of a ConstantBuffer's bytes (a cache line: what the run-time
/// weight blob needs).
constexpr size_t kConstantAlignment = 64;

/// Zeroed memory for a constant's bytes, kConstantAlignment-aligned. Large buffers are mapped from the
/// system directly, so that freed they go back to it at once: malloc keeps
/// large freed blocks for reuse, and a compilation's memory would grow by
/// every weight it transformed.
class ConstantBuffer {
public:
  explicit ConstantBuffer(size_t size);
  ConstantBuffer(ConstantBuffer &&other) noexcept;
  ConstantBuffer &operator=(ConstantBuffer &&) = delete;
  ~ConstantBuffer();
  char *data() { return bytes; }
  size_t size() const { return length; }
  template <typename T> T *as() { return reinterpret_cast<T *>(bytes); }
  /// The bytes, now owned by a blob.
  mlir::AsmResourceBlob intoBlob() &&;

private:
  char *bytes;
  size_t length;
  bool mapped;
};

/// Calls `fn(begin, end)` over consecutive parts of [0, n), on the
/// context's threads when the work (`bytes` written) is large enough to
/// repay them: a model's weights are moved a few times while it compiles
/// (folded, transposed, packed, laid out in the run-time blob), and each
/// move, serial, held every other thread up. `fn` must be safe to call
/// concurrently on disjoint parts.
void forEachPart(mlir::MLIRContext *ctx, int64_t n, size_t bytes,
                 llvm::function_ref<void(int64_t begin, int64_t end)> fn);

/// A constant of `type` holding `bytes` (row-major raw storage): a resource
/// blob that takes `bytes` over when large, a dense attribute otherwise.
mlir::ElementsAttr constantAttr(mlir::ShapedType type, ConstantBuffer bytes);
mlir::ElementsAttr constantAttr(mlir::ShapedType type, std::vector<char> bytes);
/// The same for a blob that already holds the bytes (not copied when large).
mlir::ElementsAttr constantAttr(mlir::ShapedType type, mlir::AsmResourceBlob blob);

/// `value` with another type of the same element count and byte layout (a
/// reshape, a signless view): a resource shares its blob.
mlir::ElementsAttr retypeConstant(mlir::ElementsAttr value, mlir::ShapedType type);

/// Counts the ops under a root that hold each resource blob, and frees a
/// blob when the last of them is erased: a transformed weight's old copy
/// does not outlive the transformation.
class BlobReferences {
public:
  explicit BlobReferences(mlir::Operation *root);
  /// `op`, which is about to be erased, no longer holds its blobs.
  void erasing(mlir::Operation *op);
  /// `op` (new) holds its blobs.
  void added(mlir::Operation *op);

private:
  llvm::StringMap<int64_t> holders;
};

} // namespace kiln

#endif
