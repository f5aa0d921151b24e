//===- Npy.cpp - NumPy .npy files <-> kiln::Tensor ------------------------===//
#include "runtime/Npy.h"
#include <algorithm>
#include <cerrno>
#include <cstdlib>
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
  case ElementType::String: return "|S"; // + the width
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
  while (std::getline(ss, item, ',')) {
    if (item.find_first_of("0123456789") == std::string::npos)
      continue;
    char *end = nullptr;
    errno = 0;
    long long d = std::strtoll(item.c_str(), &end, 10);
    while (end && (*end == ' ' || *end == 'L'))
      ++end;
    if (errno || d < 0 || (end && *end) || shape.size() >= 64)
      throw Error("'" + path + "': .npy header has a bad shape '" + shapeText.substr(0, 80) + "'");
    shape.push_back(d);
  }
  int64_t elements = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(elements, d, &elements))
      throw Error("'" + path + "': .npy shape's element count overflows");
  // Buffers are sized from the bytes the file holds, never from its header
  // alone.
  std::streampos dataStart = in.tellg();
  in.seekg(0, std::ios::end);
  uint64_t available = uint64_t(in.tellg() - dataStart);
  in.seekg(dataStart);
  auto needBytes = [&](int64_t elementBytes) {
    int64_t need;
    if (__builtin_mul_overflow(elements, elementBytes, &need) || uint64_t(need) > available)
      throw Error("'" + path + "': truncated data (the header's shape needs more bytes than the "
                  "file holds)");
  };
  if (descr.size() > 2 && (descr[1] == 'S' || descr[1] == 'U') && descr[0] != '>') {
    // Fixed-width byte strings (|S) or UTF-32 (<U), padded with NULs.
    bool wide = descr[1] == 'U';
    char *end = nullptr;
    errno = 0;
    int64_t width = std::strtoll(descr.c_str() + 2, &end, 10), n = elements;
    if (errno || *end || width <= 0 || width > (1 << 20))
      throw Error("'" + path + "': implausible string dtype '" + descr + "'");
    needBytes(width * (wide ? 4 : 1));
    std::vector<std::string> values(n);
    std::string raw(width * (wide ? 4 : 1), '\0');
    for (std::string &v : values) {
      if (!in.read(raw.data(), raw.size()))
        throw Error("'" + path + "': truncated data");
      if (!wide) {
        v.assign(raw.c_str(), strnlen(raw.data(), raw.size()));
        continue;
      }
      for (int64_t k = 0; k < width; ++k) {
        uint32_t c;
        std::memcpy(&c, raw.data() + 4 * k, 4);
        if (!c)
          break;
        if (c < 0x80) {
          v += char(c);
        } else if (c < 0x800) {
          v += char(0xc0 | (c >> 6));
          v += char(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
          v += char(0xe0 | (c >> 12));
          v += char(0x80 | ((c >> 6) & 0x3f));
          v += char(0x80 | (c & 0x3f));
        } else {
          v += char(0xf0 | (c >> 18));
          v += char(0x80 | ((c >> 12) & 0x3f));
          v += char(0x80 | ((c >> 6) & 0x3f));
          v += char(0x80 | (c & 0x3f));
        }
      }
    }
    return Tensor::fromStrings(shape, values);
  }
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
    needBytes(int64_t(elementSize(t.second)));
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
  std::string descr = descrOf(t.type());
  size_t width = 1;
  if (t.type() == ElementType::String) {
    // NumPy's |S: each string NUL-padded to the longest.
    for (int64_t i = 0; i < t.numElements(); ++i)
      width = std::max(width, t.stringAt(i).size());
    descr += std::to_string(width);
  }
  std::string header = std::string("{'descr': '") + descr +
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
  if (t.type() == ElementType::String) {
    std::string padded;
    for (int64_t i = 0; i < t.numElements(); ++i) {
      padded.assign(t.stringAt(i));
      padded.resize(width, '\0');
      out.write(padded.data(), width);
    }
  } else {
    out.write(static_cast<const char *>(data.data()), data.byteSize());
  }
  if (!out)
    throw Error("cannot write '" + path + "'");
}

} // namespace kiln
