//===- kiln/Tensor.h - tensors and errors of the Kiln API ------*- C++ -*-===//
#ifndef KILN_TENSOR_H
#define KILN_TENSOR_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

/// Every failure of the Kiln API: bad models, bad inputs, compile errors.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Sub-byte and 8-bit float types (Int4 ... Float4E2M1) take one byte per
/// element in a Tensor: 4- and 2-bit integers unpacked (signed ones
/// sign-extended), float8/float4 as their bit pattern. ONNX files pack
/// them; Kiln unpacks them on load. String tensors hold byte strings of any
/// length (UTF-8 by ONNX convention); make them with Tensor::fromStrings
/// and read them with stringAt.
enum class ElementType {
  Float32, Float64, Float16, BFloat16,
  Int8, Int16, Int32, Int64,
  UInt8, UInt16, UInt32, UInt64,
  Bool,
  Int4, UInt4, Int2, UInt2,
  Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float8E8M0, Float4E2M1,
  String,
};
inline constexpr int kNumElementTypes = int(ElementType::String) + 1;

size_t elementSize(ElementType type);
/// Bytes per element in a Tensor's buffer (a String element is a pointer).
/// ONNX spelling: "float", "double", "float16", "bfloat16", "int8", ..., "bool", "string".
const char *elementTypeName(ElementType type);

/// A dense, row-major tensor that owns (or shares) a 64-byte aligned buffer.
/// Copies share the buffer; use clone() for a deep copy.
class Tensor {
public:
  Tensor() = default;
  /// Zero-initialized tensor of the given type and shape (dims must be >= 0).
  Tensor(ElementType type, std::vector<int64_t> shape);
  /// Copies `bytes` (which must be numElements * elementSize long); not
  /// for strings.
  static Tensor fromBytes(ElementType type, std::vector<int64_t> shape, const void *bytes,
                          size_t size);
  template <typename T>
  static Tensor fromVector(ElementType type, std::vector<int64_t> shape,
                           const std::vector<T> &values) {
    return fromBytes(type, std::move(shape), values.data(), values.size() * sizeof(T));
  }

  /// A string tensor holding copies of `values` (one per element, row-major).
  static Tensor fromStrings(std::vector<int64_t> shape, const std::vector<std::string> &values);

  ElementType type() const { return type_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const;
  size_t byteSize() const { return numElements() * elementSize(type_); }
  void *data() { return data_.get(); }
  const void *data() const { return data_.get(); }
  template <typename T> T *data() { return static_cast<T *>(data_.get()); }
  template <typename T> const T *data() const { return static_cast<const T *>(data_.get()); }
  /// Element `index` of a string tensor; valid while the tensor's buffer lives.
  std::string_view stringAt(int64_t index) const;
  Tensor clone() const;
  /// "float[2,3]"
  std::string describe() const;

private:
  ElementType type_ = ElementType::Float32;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> data_;
};

/// Any value a graph input or output can hold: a tensor, a sequence of
/// tensors, or nothing (an empty optional). A Tensor converts implicitly.
class OnnxValue {
public:
  enum class Kind { Tensor, Sequence, None };
  /// An empty optional.
  OnnxValue() = default;
  OnnxValue(Tensor tensor) : kind_(Kind::Tensor), tensor_(std::move(tensor)) {}
  static OnnxValue sequence(std::vector<Tensor> items);
  static OnnxValue none() { return {}; }

  Kind kind() const { return kind_; }
  bool isTensor() const { return kind_ == Kind::Tensor; }
  bool isSequence() const { return kind_ == Kind::Sequence; }
  bool isNone() const { return kind_ == Kind::None; }
  /// The tensor, or the sequence's tensors; throw kiln::Error for another kind.
  const Tensor &tensor() const;
  const std::vector<Tensor> &items() const;
  /// "float[2,3]", "sequence(float[2], float[3])" or "none".
  std::string describe() const;

private:
  Kind kind_ = Kind::None;
  Tensor tensor_;
  std::vector<Tensor> items_;
};

/// Element value as double, for printing and comparison (f16/bf16 decoded;
/// NaN for strings).
double elementAsDouble(const Tensor &t, int64_t index);

} // namespace kiln
#endif
