//===- Npy.cpp - NumPy .npy files <-> kiln::Tensor ------------------------===//
#include "runtime/Npy.h"
#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln {

static const char *descrOf(ElementType t) {
  switch (t) {
  case ElementType::Float32: case ElementType::BFloat16: return "<f4";
  // numpy has no float8/float4: written decoded, as float32.
  case ElementType::Float8E4M3FN: case ElementType::Float8E4M3FNUZ:
  case ElementType::Float8E5M2: case ElementType::Float8E5M2FNUZ:
  case ElementType::Float8E8M0: case ElementType::Float4E2M1: return "<f4";
  case ElementType::Int4: case ElementType::Int2: return "|i1";
  case ElementType::UInt4: case ElementType::UInt2: return "|u1";
  case ElementType::Float64: return "<f8";
  case ElementType::Float16: return "<f2";
  case ElementType::Int8: return "|i1";
  case ElementType::Int16: return "<i2";
  case ElementType::Int32: return "<i4";
  case ElementType::Int64: return "<i8";
  case ElementType::UInt8: return "|u1";
  case ElementType::UInt16: return "<u2";
  case ElementType::UInt32: return "<u4";
  case ElementType::UInt64: return "<u8";
  case ElementType::Bool: return "|b1";
  }
  return "";
}

Tensor readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open '" + path + "'");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw Error("'" + path + "' is not a .npy file");
  uint32_t headerLen = 0;
  unsigned char lenBytes[4] = {0, 0, 0, 0};
  int lenSize = magic[6] == 1 ? 2 : 4;
  in.read(reinterpret_cast<char *>(lenBytes), lenSize);
  for (int i = lenSize - 1; i >= 0; --i)
    headerLen = headerLen * 256 + lenBytes[i];
  if (headerLen > 65536)
    throw Error("'" + path + "': .npy header too large");
  std::string header(headerLen, '\0');
  in.read(header.data(), headerLen);
  auto field = [&](const std::string &key) {
    auto p = header.find("'" + key + "'");
    if (p == std::string::npos)
      throw Error("'" + path + "': .npy header lacks '" + key + "'");
    return header.substr(header.find(':', p) + 1);
  };
  std::string descr = field("descr");
  descr = descr.substr(descr.find('\'') + 1);
  descr = descr.substr(0, descr.find('\''));
  if (field("fortran_order").find("True") < field("fortran_order").find(','))
    throw Error("'" + path + "': Fortran-ordered arrays are not supported");
  std::string shapeText = field("shape");
  shapeText = shapeText.substr(shapeText.find('(') + 1);
  shapeText = shapeText.substr(0, shapeText.find(')'));
  std::vector<int64_t> shape;
  std::stringstream ss(shapeText);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item.find_first_of("0123456789") != std::string::npos)
      shape.push_back(std::stoll(item));
  static const std::pair<const char *, ElementType> types[] = {
      {"f4", ElementType::Float32}, {"f8", ElementType::Float64}, {"f2", ElementType::Float16},
      {"i1", ElementType::Int8},    {"i2", ElementType::Int16},   {"i4", ElementType::Int32},
      {"i8", ElementType::Int64},   {"u1", ElementType::UInt8},   {"u2", ElementType::UInt16},
      {"u4", ElementType::UInt32},  {"u8", ElementType::UInt64},  {"b1", ElementType::Bool}};
  if (descr.size() != 3 || descr[0] == '>')
    throw Error("'" + path + "': unsupported dtype '" + descr + "'");
  for (const auto &t : types) {
    if (descr.substr(1) != t.first)
      continue;
    Tensor out(t.second, shape);
    if (!in.read(static_cast<char *>(out.data()), out.byteSize()))
      throw Error("'" + path + "': truncated data");
    return out;
  }
  throw Error("'" + path + "': unsupported dtype '" + descr + "'");
}

void writeNpy(const std::string &path, const Tensor &t) {
  Tensor data = t;
  if (std::string(descrOf(t.type())) == "<f4" && t.type() != ElementType::Float32) {
    data = Tensor(ElementType::Float32, t.shape());
    for (int64_t i = 0; i < t.numElements(); ++i)
      data.data<float>()[i] = static_cast<float>(elementAsDouble(t, i));
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 || i + 1 < t.shape().size() ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descrOf(t.type()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out)
    throw Error("cannot write '" + path + "'");
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = header.size();
  char lenBytes[2] = {char(len & 255), char(len >> 8)};
  out.write(lenBytes, 2);
  out.write(header.data(), header.size());
  out.write(static_cast<const char *>(data.data()), data.byteSize());
  if (!out)
    throw Error("cannot write '" + path + "'");
}

} // namespace kiln
