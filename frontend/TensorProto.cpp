//===- TensorProto.cpp - ONNX TensorProto decoding -------------------------===//
#include "frontend/TensorProto.h"
#include "frontend/ExternalData.h"
#include <onnx/onnx_pb.h>
#include <onnx/onnx-data_pb.h>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace kiln {

std::optional<ElementType> fromOnnxType(int t) {
  switch (t) {
  case onnx::TensorProto::FLOAT: return ElementType::Float32;
  case onnx::TensorProto::DOUBLE: return ElementType::Float64;
  case onnx::TensorProto::FLOAT16: return ElementType::Float16;
  case onnx::TensorProto::BFLOAT16: return ElementType::BFloat16;
  case onnx::TensorProto::INT8: return ElementType::Int8;
  case onnx::TensorProto::INT16: return ElementType::Int16;
  case onnx::TensorProto::INT32: return ElementType::Int32;
  case onnx::TensorProto::INT64: return ElementType::Int64;
  case onnx::TensorProto::UINT8: return ElementType::UInt8;
  case onnx::TensorProto::UINT16: return ElementType::UInt16;
  case onnx::TensorProto::UINT32: return ElementType::UInt32;
  case onnx::TensorProto::UINT64: return ElementType::UInt64;
  case onnx::TensorProto::BOOL: return ElementType::Bool;
  case onnx::TensorProto::STRING: return ElementType::String;
  // Numbered: newer than libonnx 1.12's enum.
  case 17: return ElementType::Float8E4M3FN;
  case 18: return ElementType::Float8E4M3FNUZ;
  case 19: return ElementType::Float8E5M2;
  case 20: return ElementType::Float8E5M2FNUZ;
  case 21: return ElementType::UInt4;
  case 22: return ElementType::Int4;
  case 23: return ElementType::Float4E2M1;
  case 24: return ElementType::Float8E8M0;
  case 25: return ElementType::UInt2;
  case 26: return ElementType::Int2;
  default: return std::nullopt;
  }
}

int toOnnxType(ElementType type) {
  switch (type) {
  case ElementType::Float32: return onnx::TensorProto::FLOAT;
  case ElementType::Float64: return onnx::TensorProto::DOUBLE;
  case ElementType::Float16: return onnx::TensorProto::FLOAT16;
  case ElementType::BFloat16: return onnx::TensorProto::BFLOAT16;
  case ElementType::Int8: return onnx::TensorProto::INT8;
  case ElementType::Int16: return onnx::TensorProto::INT16;
  case ElementType::Int32: return onnx::TensorProto::INT32;
  case ElementType::Int64: return onnx::TensorProto::INT64;
  case ElementType::UInt8: return onnx::TensorProto::UINT8;
  case ElementType::UInt16: return onnx::TensorProto::UINT16;
  case ElementType::UInt32: return onnx::TensorProto::UINT32;
  case ElementType::UInt64: return onnx::TensorProto::UINT64;
  case ElementType::Bool: return onnx::TensorProto::BOOL;
  case ElementType::Float8E4M3FN: return 17;
  case ElementType::Float8E4M3FNUZ: return 18;
  case ElementType::Float8E5M2: return 19;
  case ElementType::Float8E5M2FNUZ: return 20;
  case ElementType::UInt4: return 21;
  case ElementType::Int4: return 22;
  case ElementType::Float4E2M1: return 23;
  case ElementType::Float8E8M0: return 24;
  case ElementType::UInt2: return 25;
  case ElementType::Int2: return 26;
  case ElementType::String: return onnx::TensorProto::STRING;
  }
  return 0;
}

std::string onnxTypeName(int t) {
  // Types newer than libonnx 1.12's enum are named by number.
  static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
                                "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
                                "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
                                "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
                                "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
                                "FLOAT8E8M0", "UINT2", "INT2"};
  if (t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])))
    return names[t];
  return std::to_string(t) + " (not an ONNX element type)";
}

namespace {
/// Bits per element of the types ONNX packs several to a byte; 0 otherwise.
int packedBits(ElementType t) {
  switch (t) {
  case ElementType::Int4: case ElementType::UInt4: case ElementType::Float4E2M1: return 4;
  case ElementType::Int2: case ElementType::UInt2: return 2;
  default: return 0;
  }
}

/// Unpacks `n` elements of `bits` bits, lowest bits first, one per byte;
/// signed integers are sign-extended.
Tensor unpack(ElementType type, std::vector<int64_t> shape, const uint8_t *packed, int64_t n) {
  int bits = packedBits(type);
  bool isSigned = type == ElementType::Int4 || type == ElementType::Int2;
  Tensor t(type, std::move(shape));
  auto *out = t.data<uint8_t>();
  int perByte = 8 / bits;
  for (int64_t i = 0; i < n; ++i) {
    unsigned v = (packed[i / perByte] >> ((i % perByte) * bits)) & ((1u << bits) - 1);
    if (isSigned && (v >> (bits - 1)))
      v |= ~0u << bits;
    out[i] = uint8_t(v);
  }
  return t;
}

template <typename Dst, typename Field>
void copyField(Tensor &t, const Field &field, int64_t n, const std::string &what) {
  if ((int64_t)field.size() != n)
    throw Error(what + ": has " + std::to_string(field.size()) + " values, shape needs " +
                std::to_string(n));
  Dst *out = t.data<Dst>();
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<Dst>(field.Get(i));
}
} // namespace

Tensor tensorFromProto(const onnx::TensorProto &proto, const std::string &baseDir,
                       const std::string &what) {
  auto type = fromOnnxType(proto.data_type());
  if (!type)
    throw Error(what + ": element type " + onnxTypeName(proto.data_type()) +
                " is not supported");
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      throw Error(what + ": negative dim " + std::to_string(d));
  int bits = packedBits(*type);
  if (*type == ElementType::String) {
    // Strings live in string_data only (never raw or external).
    int64_t n = 1;
    for (int64_t d : shape)
      if (n >= 0 && __builtin_mul_overflow(n, d, &n))
        n = -1;
    if (n != proto.string_data_size())
      throw Error(what + ": has " + std::to_string(proto.string_data_size()) +
                  " strings, shape needs " + (n < 0 ? std::string("more") : std::to_string(n)));
    return Tensor::fromStrings(shape, std::vector<std::string>(proto.string_data().begin(),
                                                               proto.string_data().end()));
  }
  if (proto.has_data_location() &&
      proto.data_location() == onnx::TensorProto::EXTERNAL) {
    int64_t n = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(n, d, &n))
        throw Error(what + ": element count overflows");
    uint64_t bytes;
    if (bits ? __builtin_mul_overflow(uint64_t(n), uint64_t(bits), &bytes)
             : __builtin_mul_overflow(uint64_t(n), uint64_t(elementSize(*type)), &bytes))
      throw Error(what + ": byte count overflows");
    if (bits) {
      std::vector<uint8_t> packed;
      readExternalData(proto, baseDir, what, (bytes + 7) / 8, [&]() -> void * {
        packed.resize((bytes + 7) / 8);
        return packed.data();
      });
      return unpack(*type, shape, packed.data(), n);
    }
    std::optional<Tensor> t;
    readExternalData(proto, baseDir, what, bytes, [&]() -> void * {
      t.emplace(*type, shape);
      return t->data();
    });
    return std::move(*t);
  }
  // Size the buffer from the data actually present, never from dims alone:
  // a hostile model must not make us allocate what it does not carry.
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      throw Error(what + ": element count overflows");
  size_t es = elementSize(*type);
  if (bits) {
    std::vector<uint8_t> packed;
    if (proto.has_raw_data()) {
      packed.assign(proto.raw_data().begin(), proto.raw_data().end());
    } else {
      for (int32_t v : proto.int32_data())
        packed.push_back(uint8_t(v));
    }
    if ((uint64_t)packed.size() != ((uint64_t)n * bits + 7) / 8)
      throw Error(what + ": packed data has " + std::to_string(packed.size()) +
                  " bytes, shape needs " + std::to_string(((uint64_t)n * bits + 7) / 8));
    return unpack(*type, shape, packed.data(), n);
  }
  if (proto.has_raw_data()) {
    const std::string &raw = proto.raw_data();
    if ((uint64_t)raw.size() != (uint64_t)n * es)
      throw Error(what + ": raw_data has " + std::to_string(raw.size()) + " bytes, shape " +
                  "needs " + std::to_string((uint64_t)n * es));
    return Tensor::fromBytes(*type, shape, raw.data(), raw.size());
  }
  int64_t present = proto.float_data_size() + proto.int32_data_size() +
                    proto.int64_data_size() + proto.double_data_size() +
                    proto.uint64_data_size();
  if (present != n)
    throw Error(what + ": has " + std::to_string(present) + " values, shape needs " +
                std::to_string(n));
  Tensor t(*type, shape);
  switch (*type) {
  case ElementType::Float32: copyField<float>(t, proto.float_data(), n, what); break;
  case ElementType::Float64: copyField<double>(t, proto.double_data(), n, what); break;
  case ElementType::Int64: copyField<int64_t>(t, proto.int64_data(), n, what); break;
  case ElementType::UInt32: copyField<uint32_t>(t, proto.uint64_data(), n, what); break;
  case ElementType::UInt64: copyField<uint64_t>(t, proto.uint64_data(), n, what); break;
  case ElementType::Int32: copyField<int32_t>(t, proto.int32_data(), n, what); break;
  case ElementType::Int16: copyField<int16_t>(t, proto.int32_data(), n, what); break;
  case ElementType::Int8: copyField<int8_t>(t, proto.int32_data(), n, what); break;
  case ElementType::UInt16: copyField<uint16_t>(t, proto.int32_data(), n, what); break;
  case ElementType::UInt8: copyField<uint8_t>(t, proto.int32_data(), n, what); break;
  case ElementType::Bool: copyField<uint8_t>(t, proto.int32_data(), n, what); break;
  // int32_data holds the raw 16-bit patterns of half and bfloat16.
  case ElementType::Float16:
  case ElementType::BFloat16: copyField<uint16_t>(t, proto.int32_data(), n, what); break;
  default: copyField<uint8_t>(t, proto.int32_data(), n, what); break; // float8 bit patterns
  }
  return t;
}

static std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static OnnxValue sequenceFromProto(const onnx::SequenceProto &seq, const std::string &dir,
                                   const std::string &what) {
  if (seq.elem_type() != onnx::SequenceProto::TENSOR && seq.tensor_values_size() == 0 &&
      seq.elem_type() != onnx::SequenceProto::UNDEFINED)
    throw Error(what + " is a sequence of something other than tensors");
  std::vector<Tensor> items;
  for (int i = 0; i < seq.tensor_values_size(); ++i)
    items.push_back(tensorFromProto(seq.tensor_values(i), dir,
                                    what + ", tensor " + std::to_string(i)));
  return OnnxValue::sequence(std::move(items));
}

OnnxValue readValueProtoFile(const std::string &path, bool sequence, bool optional,
                             std::string *name) {
  if (!sequence && !optional)
    return readTensorProtoFile(path, name);
  std::string bytes = readFile(path);
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  dir = dir.empty() ? "." : dir;
  std::string what = "value file '" + path + "'";
  if (!optional) {
    onnx::SequenceProto proto;
    if (!proto.ParseFromString(bytes))
      throw Error("'" + path + "' is not a serialized ONNX SequenceProto");
    if (name)
      *name = proto.name();
    return sequenceFromProto(proto, dir, what);
  }
  onnx::OptionalProto proto;
  if (!proto.ParseFromString(bytes))
    throw Error("'" + path + "' is not a serialized ONNX OptionalProto");
  if (name)
    *name = proto.name();
  if (proto.has_sequence_value())
    return sequenceFromProto(proto.sequence_value(), dir, what);
  if (proto.has_tensor_value())
    return tensorFromProto(proto.tensor_value(), dir, what);
  if (proto.elem_type() != onnx::OptionalProto::UNDEFINED)
    throw Error(what + " holds a kind of value Kiln does not support");
  return OnnxValue::none();
}

Tensor readTensorProtoFile(const std::string &path, std::string *name) {
  std::string bytes = readFile(path);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    throw Error("'" + path + "' is not a serialized ONNX TensorProto");
  if (name)
    *name = proto.name();
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  return tensorFromProto(proto, dir.empty() ? "." : dir, "tensor file '" + path + "'");
}

} // namespace kiln
