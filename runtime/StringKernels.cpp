//===- StringKernels.cpp - host kernels on string tensors -----------------===//
#include "runtime/HostKernels.h"
#include "runtime/Allocation.h"
#include "runtime/Strings.h"
#include <re2/re2.h>
#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <limits>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <cwctype>
#include <locale.h>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using kiln::MemRef;
using kiln::UnrankedMemRef;
namespace strings = kiln::strings;

namespace {

/// Element access in row-major order over a memref of any rank and strides.
template <typename T> class Elements {
public:
  explicit Elements(const UnrankedMemRef *m) {
    kiln::StridedView v = kiln::stridedView(m, sizeof(T));
    base_ = reinterpret_cast<T *>(v.base);
    rank_ = v.rank;
    sizes_ = v.sizes;
    strides_ = v.strides;
  }
  int64_t count() const {
    int64_t n = 1;
    for (int64_t k = 0; k < rank_; ++k)
      n *= sizes_[k];
    return n;
  }
  T &operator[](int64_t linear) const {
    int64_t offset = 0;
    for (int64_t k = rank_ - 1; k >= 0; --k) {
      offset += (linear % sizes_[k]) * strides_[k];
      linear /= sizes_[k];
    }
    return base_[offset];
  }

private:
  int64_t rank_;
  T *base_;
  const int64_t *sizes_, *strides_;
};

using StringElements = Elements<const void *>;

std::string_view bytesOf(const MemRef<uint8_t, 1> *m) {
  // The lowering passes contiguous constants.
  return {reinterpret_cast<const char *>(m->aligned + m->offset), size_t(m->sizes[0])};
}

/// The records packed in `list`, in order.
std::vector<const void *> recordsOf(const MemRef<uint8_t, 1> *list) {
  std::vector<const void *> records;
  std::string_view all = bytesOf(list);
  for (size_t at = 0; at + sizeof(int64_t) <= all.size();) {
    records.push_back(all.data() + at);
    at += strings::recordSize(strings::view(all.data() + at).size());
  }
  return records;
}

strings::Arena &arena() {
  strings::Arena *a = strings::currentArena();
  if (!a) {
    // Only reachable if compiled code ran outside Executable::run.
    std::fputs("kiln: a string kernel ran outside a run\n", stderr);
    std::abort();
  }
  return *a;
}

/// Unicode simple case mapping (from the C.UTF-8 locale) of UTF-8 text;
/// bytes that are not valid UTF-8 are kept as they are.
std::string changeCase(std::string_view s, bool upper) {
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    bool valid = len > 0 && i + len <= s.size();
    for (int k = 1; valid && k < len; ++k) {
      unsigned char cc = s[i + k];
      valid = (cc >> 6) == 2;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!valid) {
      out += char(c);
      ++i;
      continue;
    }
    uint32_t m = cp;
    if (cp < 0x80)
      m = upper ? (cp >= 'a' && cp <= 'z' ? cp - 32 : cp) : (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    else if (utf8)
      m = upper ? towupper_l(wint_t(cp), utf8) : towlower_l(wint_t(cp), utf8);
    if (m < 0x80) {
      out += char(m);
    } else if (m < 0x800) {
      out += char(0xc0 | (m >> 6));
      out += char(0x80 | (m & 0x3f));
    } else if (m < 0x10000) {
      out += char(0xe0 | (m >> 12));
      out += char(0x80 | ((m >> 6) & 0x3f));
      out += char(0x80 | (m & 0x3f));
    } else {
      out += char(0xf0 | (m >> 18));
      out += char(0x80 | ((m >> 12) & 0x3f));
      out += char(0x80 | ((m >> 6) & 0x3f));
      out += char(0x80 | (m & 0x3f));
    }
    i += len;
  }
  return out;
}

/// Python's str.split(sep, maxsplit), which the ONNX reference uses: with
/// sep empty, runs of whitespace separate and leading ones are skipped.
std::vector<std::string_view> split(std::string_view s, std::string_view sep, int64_t maxsplit) {
  std::vector<std::string_view> parts;
  if (sep.empty()) {
    auto space = [](char c) {
      return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
    };
    size_t i = 0;
    while (true) {
      while (i < s.size() && space(s[i]))
        ++i;
      if (i == s.size())
        break;
      if (maxsplit >= 0 && (int64_t)parts.size() == maxsplit) {
        parts.push_back(s.substr(i)); // the rest, trailing whitespace included
        break;
      }
      size_t j = i;
      while (j < s.size() && !space(s[j]))
        ++j;
      parts.push_back(s.substr(i, j - i));
      i = j;
    }
    return parts;
  }
  size_t start = 0;
  while (maxsplit < 0 || (int64_t)parts.size() < maxsplit) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos)
      break;
    parts.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
  parts.push_back(s.substr(start));
  return parts;
}

const RE2 &compiled(std::string_view pattern) {
  // Patterns are checked when the model is imported; compiled once per process.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<RE2>, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    RE2::Options options;
    options.set_log_errors(false);
    it = cache.emplace(std::string(pattern), std::make_unique<RE2>(pattern, options)).first;
  }
  return *it->second;
}

template <typename Key, typename Keys>
void lookup(UnrankedMemRef *x, const Keys &keys, UnrankedMemRef *out,
            bool nanMatchesNan = false) {
  Elements<Key> in(x);
  Elements<int64_t> pos(out);
  std::unordered_map<Key, int64_t> index;
  int64_t nanAt = -1;
  for (int64_t k = (int64_t)keys.size() - 1; k >= 0; --k) {
    if constexpr (std::is_floating_point_v<Key>)
      if (keys[k] != keys[k]) {
        nanAt = k;
        continue;
      }
    index[keys[k]] = k; // the first of repeated keys wins
  }
  for (int64_t i = 0, n = in.count(); i < n; ++i) {
    Key v = in[i];
    if constexpr (std::is_floating_point_v<Key>)
      if (v != v) {
        pos[i] = nanMatchesNan ? nanAt : -1;
        continue;
      }
    auto it = index.find(v);
    pos[i] = it == index.end() ? -1 : it->second;
  }
}

} // namespace

extern "C" void _mlir_ciface_kiln_string_concat(UnrankedMemRef *x, UnrankedMemRef *y,
                                                UnrankedMemRef *out) {
  StringElements a(x), b(y), o(out);
  std::string joined;
  for (int64_t i = 0, n = o.count(); i < n; ++i) {
    joined.assign(strings::view(a[i]));
    joined += strings::view(b[i]);
    o[i] = arena().make(joined);
  }
}

extern "C" void _mlir_ciface_kiln_string_equal(UnrankedMemRef *x, UnrankedMemRef *y,
                                               UnrankedMemRef *out) {
  StringElements a(x), b(y);
  Elements<uint8_t> o(out);
  for (int64_t i = 0, n = o.count(); i < n; ++i)
    o[i] = strings::view(a[i]) == strings::view(b[i]);
}

extern "C" void _mlir_ciface_kiln_regex_full_match(UnrankedMemRef *x, MemRef<uint8_t, 1> *pattern,
                                                   UnrankedMemRef *out) {
  const RE2 &re = compiled(bytesOf(pattern));
  StringElements in(x);
  Elements<uint8_t> o(out);
  for (int64_t i = 0, n = o.count(); i < n; ++i) {
    std::string_view s = strings::view(in[i]);
    o[i] = re.ok() && RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
  }
}

extern "C" int64_t _mlir_ciface_kiln_string_normalize(UnrankedMemRef *x,
                                                      MemRef<uint8_t, 1> *stopwords,
                                                      UnrankedMemRef *out, int64_t caseAction,
                                                      int64_t caseSensitive) {
  if (x->rank == 2 && kiln::stridedView(x, sizeof(void *)).sizes[0] != 1)
    kiln::failRun("StringNormalizer's input must be [C] or [1, C]");
  StringElements in(x), o(out);
  std::unordered_set<std::string> stops;
  for (const void *r : recordsOf(stopwords))
    stops.emplace(caseSensitive ? std::string(strings::view(r))
                                : changeCase(strings::view(r), false));
  int64_t kept = 0;
  for (int64_t i = 0, n = in.count(); i < n; ++i) {
    std::string_view s = strings::view(in[i]);
    if (stops.count(caseSensitive ? std::string(s) : changeCase(s, false)))
      continue;
    o[kept++] = caseAction == 0 ? in[i] : arena().make(changeCase(s, caseAction == 2));
  }
  if (kept == 0)
    o[kept++] = nullptr; // ONNX: one empty string when every element was dropped
  return kept;
}

extern "C" int64_t _mlir_ciface_kiln_string_split_count(UnrankedMemRef *x,
                                                        MemRef<uint8_t, 1> *delimiter,
                                                        int64_t maxsplit,
                                                        UnrankedMemRef *counts) {
  StringElements in(x);
  Elements<int64_t> c(counts);
  int64_t widest = 0;
  for (int64_t i = 0, n = in.count(); i < n; ++i) {
    c[i] = split(strings::view(in[i]), bytesOf(delimiter), maxsplit).size();
    widest = std::max(widest, c[i]);
  }
  return widest;
}

extern "C" void _mlir_ciface_kiln_string_split(UnrankedMemRef *x, MemRef<uint8_t, 1> *delimiter,
                                               int64_t maxsplit, UnrankedMemRef *out,
                                               int64_t width) {
  StringElements in(x), o(out);
  for (int64_t i = 0, n = in.count(); i < n; ++i) {
    auto parts = split(strings::view(in[i]), bytesOf(delimiter), maxsplit);
    for (int64_t j = 0; j < width; ++j)
      o[i * width + j] = j < (int64_t)parts.size() ? arena().make(parts[j]) : nullptr;
  }
}

extern "C" void _mlir_ciface_kiln_lookup_strings(UnrankedMemRef *x, MemRef<uint8_t, 1> *keys,
                                                 UnrankedMemRef *out) {
  std::vector<std::string_view> k;
  for (const void *r : recordsOf(keys))
    k.push_back(strings::view(r));
  StringElements in(x);
  Elements<int64_t> pos(out);
  std::unordered_map<std::string_view, int64_t> index;
  for (int64_t i = (int64_t)k.size() - 1; i >= 0; --i)
    index[k[i]] = i;
  for (int64_t i = 0, n = in.count(); i < n; ++i) {
    auto it = index.find(strings::view(in[i]));
    pos[i] = it == index.end() ? -1 : it->second;
  }
}

extern "C" void _mlir_ciface_kiln_lookup_i64(UnrankedMemRef *x, MemRef<int64_t, 1> *keys,
                                             UnrankedMemRef *out) {
  std::vector<int64_t> k;
  for (int64_t i = 0; i < keys->sizes[0]; ++i)
    k.push_back(keys->aligned[keys->offset + i * keys->strides[0]]);
  lookup<int64_t>(x, k, out);
}

extern "C" void _mlir_ciface_kiln_lookup_f32(UnrankedMemRef *x, MemRef<float, 1> *keys,
                                             UnrankedMemRef *out) {
  std::vector<float> k;
  for (int64_t i = 0; i < keys->sizes[0]; ++i)
    k.push_back(keys->aligned[keys->offset + i * keys->strides[0]]);
  // ONNX LabelEncoder: a NaN key maps NaN inputs.
  lookup<float>(x, k, out, /*nanMatchesNan=*/true);
}

extern "C" void _mlir_ciface_kiln_strings_from_list(MemRef<uint8_t, 1> *list,
                                                    UnrankedMemRef *out) {
  StringElements o(out);
  std::vector<const void *> records = recordsOf(list);
  for (int64_t i = 0, n = o.count(); i < n && i < (int64_t)records.size(); ++i)
    o[i] = records[i];
}

extern "C" void _mlir_ciface_kiln_tfidf(UnrankedMemRef *x, MemRef<int64_t, 1> *grams,
                                        MemRef<uint8_t, 1> *pool, MemRef<float, 1> *weights,
                                        UnrankedMemRef *out, int64_t mode, int64_t minGram,
                                        int64_t maxGram, int64_t maxSkip) {
  Elements<int64_t> in(x);
  Elements<float> y(out);
  int64_t columns = out->rank == 2 ? kiln::stridedView(out, sizeof(float)).sizes[1] : y.count();
  int64_t rows = columns ? y.count() / columns : 0;
  int64_t length = rows ? in.count() / rows : 0;
  // Tokens: int64 items as they are; strings as their position in the pool
  // (-1, matching nothing, when absent).
  std::vector<int64_t> tokens(in.count());
  std::vector<const void *> poolStrings = recordsOf(pool);
  std::unordered_map<std::string_view, int64_t> position;
  for (int64_t i = (int64_t)poolStrings.size() - 1; i >= 0; --i)
    position[strings::view(poolStrings[i])] = i;
  for (int64_t i = 0; i < in.count(); ++i) {
    if (poolStrings.empty()) {
      tokens[i] = in[i];
    } else {
      auto it = position.find(strings::view(reinterpret_cast<const void *>(in[i])));
      tokens[i] = it == position.end() ? -1 : it->second;
    }
  }
  std::map<std::vector<int64_t>, int64_t> gramIndex;
  std::vector<int64_t> column;
  const int64_t *g = grams->aligned + grams->offset;
  for (int64_t at = 0; at < grams->sizes[0];) {
    int64_t n = g[at], col = g[at + 1];
    gramIndex.emplace(std::vector<int64_t>(g + at + 2, g + at + 2 + n), (int64_t)column.size());
    column.push_back(col);
    at += 2 + n;
  }
  std::vector<int64_t> counts(column.size());
  std::vector<int64_t> key;
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(counts.begin(), counts.end(), 0);
    const int64_t *row = tokens.data() + r * length;
    for (int64_t d = 1; d <= maxSkip + 1; ++d) {
      // Single items are counted once, not once per skip distance.
      for (int64_t n = std::max<int64_t>(minGram, d > 1 ? 2 : 1); n <= maxGram; ++n)
        for (int64_t start = 0; start + (n - 1) * d < length; ++start) {
          key.clear();
          for (int64_t k = 0; k < n; ++k)
            key.push_back(row[start + k * d]);
          auto it = gramIndex.find(key);
          if (it != gramIndex.end())
            ++counts[it->second];
        }
    }
    for (int64_t c = 0; c < columns; ++c)
      y[r * columns + c] = 0;
    for (size_t i = 0; i < column.size(); ++i) {
      float w = weights->sizes[0] ? weights->aligned[weights->offset + i * weights->strides[0]] : 1;
      float v = mode == 0 ? float(counts[i]) : mode == 1 ? (counts[i] ? w : 0) : w * counts[i];
      y[r * columns + column[i]] += v;
    }
  }
}

// --- Cast between strings and numbers -----------------------------------

namespace {

enum NumberType { F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool };

struct Number {
  double value = 0;
  /// Set when the text is an integer that fits 64 bits.
  std::optional<int64_t> integer;
};

/// ONNX's reading of a number: plain or scientific notation, "INF", "+INF",
/// "-INF" and "NaN" in any case; other text reads as 0.
Number parseNumber(std::string_view s) {
  while (!s.empty() && std::isspace((unsigned char)s.front()))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace((unsigned char)s.back()))
    s.remove_suffix(1);
  bool negative = !s.empty() && s.front() == '-';
  std::string_view body = !s.empty() && (s.front() == '+' || s.front() == '-') ? s.substr(1) : s;
  auto is = [&](const char *word) {
    return body.size() == std::strlen(word) &&
           std::equal(body.begin(), body.end(), word,
                      [](char a, char b) { return std::tolower((unsigned char)a) == b; });
  };
  Number n;
  if (is("inf") || is("infinity")) {
    n.value = negative ? -INFINITY : INFINITY;
    return n;
  }
  if (is("nan")) {
    n.value = NAN;
    return n;
  }
  // Integers keep all 64 bits (parsed with their sign); the rest is double.
  int64_t i = 0;
  auto [end, ec] = std::from_chars(s.data() + (!s.empty() && s.front() == '+'), s.data() + s.size(), i);
  if (ec == std::errc() && end == s.data() + s.size()) {
    n.integer = i;
    n.value = double(i);
    return n;
  }
  std::from_chars(body.data(), body.data() + body.size(), n.value);
  n.value = negative ? -n.value : n.value;
  return n;
}

/// To an integer type: exact integers that fit are kept, others saturate
/// (NaN gives 0) rather than overflow.
template <typename T> T toInteger(const Number &n) {
  using Limits = std::numeric_limits<T>;
  if (n.integer && (std::is_signed_v<T> ? *n.integer >= int64_t(Limits::min()) : *n.integer >= 0) &&
      (sizeof(T) == 8 || *n.integer <= int64_t(Limits::max())))
    return T(*n.integer);
  if (std::isnan(n.value))
    return 0;
  if (n.value <= double(Limits::min()))
    return Limits::min();
  if (n.value >= double(Limits::max()))
    return Limits::max();
  return T(n.value);
}

/// Calls f with a value of the C++ type of number type code `type` (bool
/// elements are bytes holding 0 or 1).
template <typename F> void withNumberType(int64_t type, F &&f) {
  switch (NumberType(type)) {
  case F32: return f(float{});
  case F64: return f(double{});
  case I8: return f(int8_t{});
  case I16: return f(int16_t{});
  case I32: return f(int32_t{});
  case I64: return f(int64_t{});
  case U8: return f(uint8_t{});
  case U16: return f(uint16_t{});
  case U32: return f(uint32_t{});
  case U64: return f(uint64_t{});
  case Bool: return f(bool{});
  }
}

template <typename T> void storeNumbers(StringElements &in, const UnrankedMemRef *out) {
  Elements<T> o(out);
  for (int64_t i = 0, n = o.count(); i < n; ++i) {
    Number v = parseNumber(strings::view(in[i]));
    if constexpr (std::is_same_v<T, bool>)
      o[i] = v.value != 0;
    else if constexpr (std::is_floating_point_v<T>)
      o[i] = T(v.value);
    else
      o[i] = toInteger<T>(v);
  }
}

/// The shortest text that reads back as the same value ("0.1", "1e+20").
template <typename T> std::string numberText(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v))
      return "NaN";
    if (std::isinf(v))
      return v > 0 ? "INF" : "-INF";
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

template <typename T> void storeStrings(const UnrankedMemRef *x, StringElements &o) {
  Elements<T> in(x);
  for (int64_t i = 0, n = o.count(); i < n; ++i) {
    if constexpr (std::is_same_v<T, bool>)
      o[i] = arena().make(in[i] ? "true" : "false");
    else
      o[i] = arena().make(numberText(in[i]));
  }
}

} // namespace

namespace {

void stringsToNumbers(UnrankedMemRef *x, UnrankedMemRef *out, int64_t type) {
  StringElements in(x);
  withNumberType(type, [&](auto t) { storeNumbers<decltype(t)>(in, out); });
}

void numbersToStrings(UnrankedMemRef *x, UnrankedMemRef *out, int64_t type) {
  StringElements o(out);
  withNumberType(type, [&](auto t) { storeStrings<decltype(t)>(x, o); });
}

} // namespace

// One entry point per element type the code declares them with; the type
// code says how to read the bits.
#define KILN_STRING_CAST(suffix)                                                               \
  extern "C" void _mlir_ciface_kiln_strings_to_##suffix(UnrankedMemRef *x, UnrankedMemRef *out, \
                                                        int64_t type) {                        \
    stringsToNumbers(x, out, type);                                                           \
  }                                                                                            \
  extern "C" void _mlir_ciface_kiln_##suffix##_to_strings(UnrankedMemRef *x, UnrankedMemRef *out, \
                                                          int64_t type) {                      \
    numbersToStrings(x, out, type);                                                           \
  }
KILN_STRING_CAST(f32)
KILN_STRING_CAST(f64)
KILN_STRING_CAST(i1)
KILN_STRING_CAST(i8)
KILN_STRING_CAST(i16)
KILN_STRING_CAST(i32)
KILN_STRING_CAST(i64)
#undef KILN_STRING_CAST
