//===- Tensor.cpp - runtime tensors ----------------------------------------===//
#include "kiln/Tensor.h"
#include "runtime/Strings.h"
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <limits>

namespace kiln {

size_t elementSize(ElementType type) {
  switch (type) {
  case ElementType::Float64: case ElementType::Int64: case ElementType::UInt64: return 8;
  case ElementType::String: return sizeof(void *);
  case ElementType::Float32: case ElementType::Int32: case ElementType::UInt32: return 4;
  case ElementType::Float16: case ElementType::BFloat16:
  case ElementType::Int16: case ElementType::UInt16: return 2;
  default: return 1;
  }
}

const char *elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::Float32: return "float";
  case ElementType::Float64: return "double";
  case ElementType::Float16: return "float16";
  case ElementType::BFloat16: return "bfloat16";
  case ElementType::Int8: return "int8";
  case ElementType::Int16: return "int16";
  case ElementType::Int32: return "int32";
  case ElementType::Int64: return "int64";
  case ElementType::UInt8: return "uint8";
  case ElementType::UInt16: return "uint16";
  case ElementType::UInt32: return "uint32";
  case ElementType::UInt64: return "uint64";
  case ElementType::Bool: return "bool";
  case ElementType::Int4: return "int4";
  case ElementType::UInt4: return "uint4";
  case ElementType::Int2: return "int2";
  case ElementType::UInt2: return "uint2";
  case ElementType::Float8E4M3FN: return "float8e4m3fn";
  case ElementType::Float8E4M3FNUZ: return "float8e4m3fnuz";
  case ElementType::Float8E5M2: return "float8e5m2";
  case ElementType::Float8E5M2FNUZ: return "float8e5m2fnuz";
  case ElementType::Float8E8M0: return "float8e8m0";
  case ElementType::Float4E2M1: return "float4e2m1";
  case ElementType::String: return "string";
  }
  return "?";
}

static int64_t countElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error("tensor dims must be non-negative");
    if (d && n > std::numeric_limits<int64_t>::max() / d)
      throw Error("tensor element count overflows");
    n *= d;
  }
  return n;
}

Tensor::Tensor(ElementType type, std::vector<int64_t> shape)
    : type_(type), shape_(std::move(shape)) {
  size_t bytes = countElements(shape_) * elementSize(type_);
  // Compiled kernels assume 64-byte alignment; never hand them a null pointer.
  size_t padded = (bytes + 63) / 64 * 64 + 64;
  void *p = std::aligned_alloc(64, padded);
  if (!p)
    throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, padded);
  data_ = std::shared_ptr<void>(p, std::free);
}

Tensor Tensor::fromBytes(ElementType type, std::vector<int64_t> shape, const void *bytes,
                         size_t size) {
  if (type == ElementType::String)
    throw Error("string tensors are made with Tensor::fromStrings, not from bytes");
  Tensor t(type, std::move(shape));
  if (size != t.byteSize())
    throw Error("tensor " + t.describe() + " needs " + std::to_string(t.byteSize()) +
                " bytes, got " + std::to_string(size));
  if (size)
    std::memcpy(t.data(), bytes, size);
  return t;
}

int64_t Tensor::numElements() const { return countElements(shape_); }

Tensor Tensor::fromStrings(std::vector<int64_t> shape, const std::vector<std::string> &values) {
  int64_t n = countElements(shape);
  if ((int64_t)values.size() != n)
    throw Error("a string tensor of " + std::to_string(n) + " elements was given " +
                std::to_string(values.size()) + " strings");
  // One buffer: the element pointers, then the records they point to, so
  // copies of the Tensor share both.
  size_t bytes = n * sizeof(void *);
  for (const std::string &v : values)
    bytes += strings::recordSize(v.size());
  void *p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (!p)
    throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  Tensor t;
  t.type_ = ElementType::String;
  t.shape_ = std::move(shape);
  t.data_ = std::shared_ptr<void>(p, std::free);
  auto **elements = static_cast<const void **>(p);
  char *record = static_cast<char *>(p) + n * sizeof(void *);
  for (int64_t i = 0; i < n; ++i) {
    strings::writeRecord(record, values[i]);
    elements[i] = record;
    record += strings::recordSize(values[i].size());
  }
  return t;
}

std::string_view Tensor::stringAt(int64_t index) const {
  if (type_ != ElementType::String)
    throw Error("stringAt on a " + describe() + " tensor");
  if (index < 0 || index >= numElements())
    throw Error("stringAt(" + std::to_string(index) + ") on a " + describe() + " tensor");
  return strings::view(static_cast<const void *const *>(data())[index]);
}

Tensor Tensor::clone() const {
  if (type_ == ElementType::String) {
    std::vector<std::string> values;
    for (int64_t i = 0; i < numElements(); ++i)
      values.emplace_back(stringAt(i));
    return fromStrings(shape_, values);
  }
  return fromBytes(type_, shape_, data(), byteSize());
}

std::string Tensor::describe() const {
  std::string s = elementTypeName(type_);
  s += "[";
  for (size_t i = 0; i < shape_.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape_[i]);
  return s + "]";
}

static double halfToDouble(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 0)
    v = mant * (1.0 / (1 << 24));
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = (1.0 + mant / 1024.0) * std::ldexp(1.0, exp - 15);
  return sign ? -v : v;
}

/// Decodes a float8/float4 bit pattern: `exp` exponent and `man` mantissa
/// bits, `bias`; `special` says which codes are NaN and infinity.
enum class Special { Ieee, FiniteNaNMax, NegZeroNaN, None };
static double minifloatToDouble(unsigned bits, int exp, int man, int bias, Special special) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  int sign = (bits >> (exp + man)) & 1;
  int e = (bits >> man) & ((1 << exp) - 1), m = bits & ((1 << man) - 1);
  int maxE = (1 << exp) - 1, maxM = (1 << man) - 1;
  if (special == Special::NegZeroNaN && bits == (1u << (exp + man)))
    return nan;
  if (special == Special::FiniteNaNMax && e == maxE && m == maxM)
    return nan;
  if (special == Special::Ieee && e == maxE)
    return m ? nan : (sign ? -1 : 1) * std::numeric_limits<double>::infinity();
  double v = e == 0 ? std::ldexp(double(m), 1 - bias - man)
                    : std::ldexp(1.0 + double(m) / (1 << man), e - bias);
  return sign ? -v : v;
}

double elementAsDouble(const Tensor &t, int64_t i) {
  const char *p = static_cast<const char *>(t.data());
  switch (t.type()) {
  case ElementType::Float32: return reinterpret_cast<const float *>(p)[i];
  case ElementType::Float64: return reinterpret_cast<const double *>(p)[i];
  case ElementType::Float16: return halfToDouble(reinterpret_cast<const uint16_t *>(p)[i]);
  case ElementType::BFloat16: {
    uint32_t bits = uint32_t(reinterpret_cast<const uint16_t *>(p)[i]) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case ElementType::Int8: return reinterpret_cast<const int8_t *>(p)[i];
  case ElementType::Int16: return reinterpret_cast<const int16_t *>(p)[i];
  case ElementType::Int32: return reinterpret_cast<const int32_t *>(p)[i];
  case ElementType::Int64: return double(reinterpret_cast<const int64_t *>(p)[i]);
  case ElementType::UInt8: return reinterpret_cast<const uint8_t *>(p)[i];
  case ElementType::UInt16: return reinterpret_cast<const uint16_t *>(p)[i];
  case ElementType::UInt32: return reinterpret_cast<const uint32_t *>(p)[i];
  case ElementType::UInt64: return double(reinterpret_cast<const uint64_t *>(p)[i]);
  case ElementType::Bool: return p[i] ? 1 : 0;
  case ElementType::Int4: case ElementType::Int2: return reinterpret_cast<const int8_t *>(p)[i];
  case ElementType::UInt4: case ElementType::UInt2: return reinterpret_cast<const uint8_t *>(p)[i];
  case ElementType::Float8E4M3FN: return minifloatToDouble(uint8_t(p[i]), 4, 3, 7, Special::FiniteNaNMax);
  case ElementType::Float8E4M3FNUZ: return minifloatToDouble(uint8_t(p[i]), 4, 3, 8, Special::NegZeroNaN);
  case ElementType::Float8E5M2: return minifloatToDouble(uint8_t(p[i]), 5, 2, 15, Special::Ieee);
  case ElementType::Float8E5M2FNUZ: return minifloatToDouble(uint8_t(p[i]), 5, 2, 16, Special::NegZeroNaN);
  case ElementType::Float4E2M1: return minifloatToDouble(uint8_t(p[i]) & 15, 2, 1, 1, Special::None);
  case ElementType::String: return std::numeric_limits<double>::quiet_NaN();
  case ElementType::Float8E8M0:
    return uint8_t(p[i]) == 255 ? std::numeric_limits<double>::quiet_NaN()
                                : std::ldexp(1.0, int(uint8_t(p[i])) - 127);
  }
  return 0;
}

} // namespace kiln

namespace kiln {

OnnxValue OnnxValue::sequence(std::vector<Tensor> items) {
  OnnxValue v;
  v.kind_ = Kind::Sequence;
  v.items_ = std::move(items);
  return v;
}

const Tensor &OnnxValue::tensor() const {
  if (kind_ != Kind::Tensor)
    throw Error("OnnxValue::tensor() on " + describe());
  return tensor_;
}

const std::vector<Tensor> &OnnxValue::items() const {
  if (kind_ != Kind::Sequence)
    throw Error("OnnxValue::items() on " + describe());
  return items_;
}

std::string OnnxValue::describe() const {
  switch (kind_) {
  case Kind::Tensor: return tensor_.describe();
  case Kind::None: return "none";
  case Kind::Sequence: break;
  }
  std::string r = "sequence(";
  for (size_t i = 0; i < items_.size(); ++i)
    r += (i ? ", " : "") + items_[i].describe();
  return r + ")";
}

} // namespace kiln
