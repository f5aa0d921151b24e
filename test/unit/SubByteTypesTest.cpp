//===- SubByteTypesTest.cpp - float8 / float4 / int4 through Session ------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include "frontend/TensorProto.h"
#include <gtest/gtest.h>
#include <cmath>
#include <limits>

using namespace kiln;
using kiln::test::ModelBuilder;

namespace {

constexpr int kFloat = 1, kFloat8E4M3FN = 17, kFloat8E5M2 = 19, kInt4 = 22, kFloat4E2M1 = 23;

/// float -> `type` -> float, with Cast's `saturate`.
std::vector<float> roundTrip(int type, const std::vector<float> &x, int saturate = 1) {
  ModelBuilder m(21);
  m.input("x", kFloat, {(int64_t)x.size()}).output("y", kFloat);
  auto &to = m.node("Cast", {"x"}, {"q"});
  auto *a = to.add_attribute();
  a->set_name("to"), a->set_type(onnx::AttributeProto::INT), a->set_i(type);
  if (type != kInt4) {
    auto *s = to.add_attribute();
    s->set_name("saturate"), s->set_type(onnx::AttributeProto::INT), s->set_i(saturate);
  }
  auto &back = m.node("Cast", {"q"}, {"y"});
  auto *b = back.add_attribute();
  b->set_name("to"), b->set_type(onnx::AttributeProto::INT), b->set_i(kFloat);
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size());
  auto out = s.run({{"x", Tensor::fromVector(ElementType::Float32, {(int64_t)x.size()}, x)}});
  const Tensor &y = out.at("y");
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numElements());
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

} // namespace

TEST(SubByteTypes, Float8E4M3FNRoundsToNearestEvenAndSaturates) {
  auto y = roundTrip(kFloat8E4M3FN, {0.3f, 1.0625f, 1.1875f, -3.0f, 500.0f, -kInf, kNaN, 0.001f});
  EXPECT_FLOAT_EQ(y[0], 0.3125f);  // 1.25 * 2^-2
  EXPECT_FLOAT_EQ(y[1], 1.0f);     // tie between 1 and 1.125 -> even mantissa
  EXPECT_FLOAT_EQ(y[2], 1.25f);    // tie between 1.125 and 1.25 -> even
  EXPECT_FLOAT_EQ(y[3], -3.0f);
  EXPECT_FLOAT_EQ(y[4], 448.0f);   // saturates to the largest finite value
  EXPECT_FLOAT_EQ(y[5], -448.0f);
  EXPECT_TRUE(std::isnan(y[6]));
  EXPECT_FLOAT_EQ(y[7], 0.001953125f); // smallest subnormal, 2^-9
}

TEST(SubByteTypes, Float8WithoutSaturationOverflowsToNaNOrInf) {
  auto fn = roundTrip(kFloat8E4M3FN, {500.0f, kInf}, 0);
  EXPECT_TRUE(std::isnan(fn[0]));
  EXPECT_TRUE(std::isnan(fn[1]));
  auto e5 = roundTrip(kFloat8E5M2, {70000.0f, -kInf}, 0);
  EXPECT_EQ(e5[0], kInf);
  EXPECT_EQ(e5[1], -kInf);
}

TEST(SubByteTypes, Float4AndInt4) {
  auto f4 = roundTrip(kFloat4E2M1, {0.25f, 0.75f, 2.5f, 5.0f, 100.0f, -1.5f});
  EXPECT_EQ(f4, (std::vector<float>{0.0f, 1.0f, 2.0f, 4.0f, 6.0f, -1.5f}));
  // Out-of-range integers wrap like any narrowing integer cast.
  auto i4 = roundTrip(kInt4, {-9.0f, -8.0f, 7.0f, 8.0f, 3.7f});
  EXPECT_EQ(i4, (std::vector<float>{7.0f, -8.0f, 7.0f, -8.0f, 3.0f}));
}

TEST(SubByteTypes, PackedTensorProtosAreUnpacked) {
  onnx::TensorProto p;
  p.set_data_type(kInt4);
  p.add_dims(3);
  p.set_raw_data(std::string("\x8F\x07", 2)); // -1, -8, 7 (low nibble first)
  Tensor t = tensorFromProto(p, ".", "t");
  ASSERT_EQ(t.type(), ElementType::Int4);
  EXPECT_EQ(t.data<int8_t>()[0], -1);
  EXPECT_EQ(t.data<int8_t>()[1], -8);
  EXPECT_EQ(t.data<int8_t>()[2], 7);
  p.set_raw_data(std::string("\x8F", 1));
  kiln::test::expectError([&] { tensorFromProto(p, ".", "t"); }, "packed data has 1 bytes");
}

TEST(SubByteTypes, ArithmeticOnFloat8IsRefusedClearly) {
  ModelBuilder m(21);
  m.input("x", kFloat8E4M3FN, {2}).output("y", kFloat8E4M3FN);
  m.node("Add", {"x", "x"}, {"y"}, "add");
  std::string bytes = m.bytes();
  kiln::test::expectError([&] { Session s(bytes.data(), bytes.size()); },
                          "node 'add' (Add): element type f8E4M3FN is only supported by Cast");
}
