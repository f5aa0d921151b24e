//===- StringsTest.cpp - string tensors, their kernels and sessions -------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include "runtime/HostKernels.h"
#include "runtime/Strings.h"
#include <cmath>
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::expectError;

namespace {
constexpr int STR = onnx::TensorProto::STRING;
constexpr int I64 = onnx::TensorProto::INT64;
constexpr int BOOL = onnx::TensorProto::BOOL;

std::vector<std::string> stringsOf(const Tensor &t) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < t.numElements(); ++i)
    out.emplace_back(t.stringAt(i));
  return out;
}

/// A contiguous memref<*x...> over `data` of `shape`.
struct AnyRank {
  std::vector<int64_t> words;
  UnrankedMemRef ref;
  AnyRank(void *data, std::vector<int64_t> shape) {
    int64_t r = shape.size();
    words.assign(3 + 2 * r, 0);
    words[0] = words[1] = reinterpret_cast<int64_t>(data);
    int64_t stride = 1;
    for (int64_t k = r - 1; k >= 0; --k) {
      words[3 + k] = shape[k];
      words[3 + r + k] = stride;
      stride *= shape[k];
    }
    ref = {r, words.data()};
  }
};

MemRef<uint8_t, 1> bytesRef(std::string &s) {
  auto *p = reinterpret_cast<uint8_t *>(s.data());
  return {p, p, 0, {(int64_t)s.size()}, {1}};
}

} // namespace

TEST(StringTensor, HoldsCopiesAndClonesDeeply) {
  std::vector<std::string> v{"", "a", std::string("nul\0inside", 10), std::string(100, 'x')};
  Tensor t = Tensor::fromStrings({2, 2}, v);
  EXPECT_EQ(t.type(), ElementType::String);
  EXPECT_EQ(stringsOf(t), v);
  Tensor c = t.clone();
  EXPECT_NE(c.data(), t.data());
  t = Tensor();
  EXPECT_EQ(stringsOf(c), v);
  // A fresh string tensor holds empty strings.
  EXPECT_EQ(stringsOf(Tensor(ElementType::String, {2})), (std::vector<std::string>{"", ""}));
  expectError([] { Tensor::fromStrings({3}, {"a"}); }, "was given 1 strings");
  expectError([&] { c.stringAt(4); }, "stringAt(4)");
}

TEST(StringKernels, SplitFollowsPythonStrSplit) {
  strings::Arena arena;
  strings::ArenaScope scope(&arena);
  Tensor x = Tensor::fromStrings({3}, {"  a  b c ", "a,,b", ""});
  AnyRank xr(x.data(), {3});
  std::vector<int64_t> counts(3);
  AnyRank cr(counts.data(), {3});
  std::string none, comma = ",";
  auto noneRef = bytesRef(none), commaRef = bytesRef(comma);
  // Whitespace runs, at most one split: the rest keeps its spaces.
  int64_t width = _mlir_ciface_kiln_string_split_count(&xr.ref, &noneRef, 1, &cr.ref);
  EXPECT_EQ(counts, (std::vector<int64_t>{2, 1, 0}));
  ASSERT_EQ(width, 2);
  std::vector<const void *> out(6);
  AnyRank outr(out.data(), {3, 2});
  _mlir_ciface_kiln_string_split(&xr.ref, &noneRef, 1, &outr.ref, width);
  EXPECT_EQ(strings::view(out[0]), "a");
  EXPECT_EQ(strings::view(out[1]), "b c ");
  EXPECT_EQ(strings::view(out[2]), "a,,b");
  // An explicit delimiter keeps empty parts, and "" splits into one "".
  width = _mlir_ciface_kiln_string_split_count(&xr.ref, &commaRef, -1, &cr.ref);
  EXPECT_EQ(counts, (std::vector<int64_t>{1, 3, 1}));
  EXPECT_EQ(width, 3);
}

TEST(Strings, SessionRunsStringOps) {
  ModelBuilder m(20);
  m.input("x", STR, {-1}, {"n"}).input("y", STR, {1}).output("z", STR).output("eq", BOOL)
      .output("m", BOOL).output("parts", STR).output("count", I64).output("norm", STR);
  m.node("StringConcat", {"x", "y"}, {"z"});
  m.node("Equal", {"x", "y"}, {"eq"});
  auto &re = m.node("RegexFullMatch", {"x"}, {"m"});
  re.add_attribute()->set_name("pattern");
  re.mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
  re.mutable_attribute(0)->set_s("[a-z]+ ?[0-9]*");
  m.node("StringSplit", {"x"}, {"parts", "count"});
  auto &norm = m.node("StringNormalizer", {"x"}, {"norm"});
  auto *a = norm.add_attribute();
  a->set_name("case_change_action");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("UPPER");
  a = norm.add_attribute();
  a->set_name("stopwords");
  a->set_type(onnx::AttributeProto::STRINGS);
  a->add_strings("ab 12");
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withSpecializeShapes(false), "strings");
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  auto out = s.run({{"x", Tensor::fromStrings({3}, {"ab 12", "!", "ünï"})},
                    {"y", Tensor::fromStrings({1}, {"!"})}});
  EXPECT_EQ(stringsOf(out.at("z")), (std::vector<std::string>{"ab 12!", "!!", "ünï!"}));
  auto *eq = out.at("eq").data<uint8_t>();
  EXPECT_EQ(std::vector<int>(eq, eq + 3), (std::vector<int>{0, 1, 0}));
  auto *match = out.at("m").data<uint8_t>();
  EXPECT_EQ(std::vector<int>(match, match + 3), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(out.at("parts").shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(stringsOf(out.at("parts")), (std::vector<std::string>{"ab", "12", "!", "", "ünï", ""}));
  EXPECT_EQ(stringsOf(out.at("norm")), (std::vector<std::string>{"!", "ÜNÏ"}));
  // Every string a stop word: one empty string.
  out = s.run({{"x", Tensor::fromStrings({1}, {"ab 12"})}, {"y", Tensor::fromStrings({1}, {""})}});
  EXPECT_EQ(stringsOf(out.at("norm")), (std::vector<std::string>{""}));
  // No elements at all.
  out = s.run({{"x", Tensor::fromStrings({0}, {})}, {"y", Tensor::fromStrings({1}, {""})}});
  EXPECT_EQ(out.at("parts").shape(), (std::vector<int64_t>{0, 0}));
}

TEST(Strings, ArithmeticOnStringsIsAnError) {
  ModelBuilder m(20);
  m.input("x", STR, {2}).input("y", STR, {2}).output("z", STR);
  m.node("Max", {"x", "y"}, {"z"}, "biggest");
  std::string bytes = m.bytes();
  expectError([&] { Session(bytes.data(), bytes.size(), {}, "max"); }, "Max on strings");
}

TEST(Strings, InvalidPatternIsAnImportError) {
  ModelBuilder m(20);
  m.input("x", STR, {2}).output("m", BOOL);
  auto &re = m.node("RegexFullMatch", {"x"}, {"m"}, "re");
  auto *a = re.add_attribute();
  a->set_name("pattern");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("(unclosed");
  std::string bytes = m.bytes();
  expectError([&] { Session(bytes.data(), bytes.size(), {}, "re"); },
              "node 're' (RegexFullMatch): pattern '(unclosed' is not valid RE2 syntax");
}

TEST(Strings, TfIdfCountsStringNgramsWithWeights) {
  ModelBuilder m(20);
  m.input("x", STR, {4}).output("y", onnx::TensorProto::FLOAT);
  auto &n = m.node("TfIdfVectorizer", {"x"}, {"y"});
  auto ints = [&](const char *name, std::vector<int64_t> v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
  };
  auto one = [&](const char *name, int64_t v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  };
  one("min_gram_length", 1);
  one("max_gram_length", 2);
  one("max_skip_count", 0);
  ints("ngram_counts", {0, 2});
  ints("ngram_indexes", {0, 1, 2});
  auto *a = n.add_attribute();
  a->set_name("mode");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("TFIDF");
  a = n.add_attribute();
  a->set_name("pool_strings");
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const char *s : {"a", "b", "a", "b"})
    a->add_strings(s);
  a = n.add_attribute();
  a->set_name("weights");
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float w : {1.0f, 2.0f, 3.0f})
    a->add_floats(w);
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), {}, "tfidf");
  auto out = s.run({{"x", Tensor::fromStrings({4}, {"a", "b", "a", "c"})}});
  // "a" twice (weight 1), "b" once (weight 2), "a b" once (weight 3).
  const float *y = out.at("y").data<float>();
  EXPECT_EQ(std::vector<float>(y, y + 3), (std::vector<float>{2, 2, 3}));
}

TEST(Strings, CastBetweenStringsAndNumbers) {
  // s -> f16, s -> int64, s -> uint8, f16 -> s, int64 -> s.
  ModelBuilder m(21);
  m.input("s", STR, {6});
  m.output("h", onnx::TensorProto::FLOAT16).output("i", I64).output("u", onnx::TensorProto::UINT8);
  m.output("hs", STR).output("is", STR);
  auto cast = [&](const std::string &in, const std::string &out, int to) {
    auto &n = m.node("Cast", {in}, {out});
    auto *a = n.add_attribute();
    a->set_name("to");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(to);
  };
  cast("s", "h", onnx::TensorProto::FLOAT16);
  cast("s", "i", I64);
  cast("s", "u", onnx::TensorProto::UINT8);
  cast("h", "hs", STR);
  cast("i", "is", STR);
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "cast.onnx");
  auto out = s.run({{"s", Tensor::fromStrings({6}, {"2.5", " +inf", "NaN", "-1e3",
                                                     "9007199254740993", "300"})}});
  std::vector<double> h;
  for (int i = 0; i < 6; ++i)
    h.push_back(elementAsDouble(out.at("h"), i));
  EXPECT_EQ(h[0], 2.5);
  EXPECT_TRUE(std::isinf(h[1]) && h[1] > 0);
  EXPECT_TRUE(std::isnan(h[2]));
  EXPECT_EQ(h[3], -1000);
  // Integers keep every bit; integer targets truncate and saturate.
  const int64_t *i = out.at("i").data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(i, i + 6),
            (std::vector<int64_t>{2, INT64_MAX, 0, -1000, 9007199254740993LL, 300}));
  const uint8_t *u = out.at("u").data<uint8_t>();
  EXPECT_EQ(std::vector<int>(u, u + 6), (std::vector<int>{2, 255, 0, 0, 255, 255}));
  EXPECT_EQ(stringsOf(out.at("hs")),
            (std::vector<std::string>{"2.5", "INF", "NaN", "-1000", "INF", "300"})); // past f16
  EXPECT_EQ(stringsOf(out.at("is")), (std::vector<std::string>{"2", "9223372036854775807", "0",
                                                              "-1000", "9007199254740993", "300"}));
}
