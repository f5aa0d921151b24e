//===- RandomTest.cpp - random ops: distributions, seeds, training Dropout ===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <cmath>
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

void floatAttr(onnx::NodeProto &n, const std::string &name, float v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

/// y = RandomNormalLike(x) (mean 3, scale 2) and u = RandomUniformLike(x)
/// in [-1, 5), both with `seed` when it is not NaN.
std::string samplesModel(float seed) {
  ModelBuilder m(21);
  m.input("x", F32, {-1}, {"n"});
  m.output("y", F32).output("u", F32);
  auto &normal = m.node("RandomNormalLike", {"x"}, {"y"});
  floatAttr(normal, "mean", 3);
  floatAttr(normal, "scale", 2);
  auto &uniform = m.node("RandomUniformLike", {"x"}, {"u"});
  floatAttr(uniform, "low", -1);
  floatAttr(uniform, "high", 5);
  if (!std::isnan(seed)) {
    floatAttr(normal, "seed", seed);
    floatAttr(uniform, "seed", seed);
  }
  return m.bytes();
}

std::map<std::string, Tensor> draw(Session &s, int64_t n) {
  return s.run({{"x", Tensor(ElementType::Float32, {n})}});
}

TEST(Random, DistributionsHaveTheirMomentsAndRange) {
  std::string bytes = samplesModel(NAN);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "random.onnx");
  const int64_t n = 20000;
  auto out = draw(s, n);
  const float *y = out.at("y").data<float>(), *u = out.at("u").data<float>();
  double sum = 0, sq = 0, usum = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += y[i];
    sq += y[i] * y[i];
    usum += u[i];
    ASSERT_GE(u[i], -1.0f);
    ASSERT_LT(u[i], 5.0f);
  }
  double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  // Standard errors: 2/sqrt(n) = 0.014 for the mean, 6/sqrt(12 n) = 0.012 for u's.
  EXPECT_NEAR(mean, 3.0, 0.07);
  EXPECT_NEAR(sd, 2.0, 0.07);
  EXPECT_NEAR(usum / n, 2.0, 0.06);
}

TEST(Random, SeedFixesSamplesAndNoSeedChangesThemEachRun) {
  std::string seeded = samplesModel(7), unseeded = samplesModel(NAN);
  Session a(seeded.data(), seeded.size(), SessionOptions{}.withThreads(1), "seeded.onnx");
  Session b(unseeded.data(), unseeded.size(), SessionOptions{}.withThreads(1), "unseeded.onnx");
  auto first = draw(a, 64), second = draw(a, 64);
  auto third = draw(b, 64), fourth = draw(b, 64);
  int same = 0, differ = 0;
  for (int i = 0; i < 64; ++i) {
    same += first.at("y").data<float>()[i] == second.at("y").data<float>()[i];
    differ += third.at("y").data<float>()[i] != fourth.at("y").data<float>()[i];
  }
  EXPECT_EQ(same, 64);
  EXPECT_EQ(differ, 64);
}

TEST(Random, BernoulliAndTrainingDropout) {
  ModelBuilder m(22);
  m.input("p", F32, {4}).input("x", F32, {1000}).input("ratio", F32, {}).input("train", onnx::TensorProto::BOOL, {});
  m.output("b", F32).output("y", F32).output("mask", onnx::TensorProto::BOOL);
  m.node("Bernoulli", {"p"}, {"b"});
  m.node("Dropout", {"x", "ratio", "train"}, {"y", "mask"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "bernoulli.onnx");
  std::vector<float> x(1000, 2.0f);
  auto run = [&](bool train) {
    return s.run({{"p", Tensor::fromVector<float>(ElementType::Float32, {4}, {0, 1, 0, 1})},
                  {"x", Tensor::fromVector(ElementType::Float32, {1000}, x)},
                  {"ratio", Tensor::fromVector<float>(ElementType::Float32, {}, {0.75f})},
                  {"train", Tensor::fromVector<uint8_t>(ElementType::Bool, {}, {train})}});
  };
  auto out = run(true);
  // Probabilities 0 and 1 leave nothing to chance.
  EXPECT_EQ((std::vector<float>(out.at("b").data<float>(), out.at("b").data<float>() + 4)),
            (std::vector<float>{0, 1, 0, 1}));
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    bool keep = out.at("mask").data<uint8_t>()[i];
    kept += keep;
    ASSERT_EQ(out.at("y").data<float>()[i], keep ? 8.0f : 0.0f); // 2 / (1 - 0.75)
  }
  EXPECT_NEAR(kept, 250, 60); // binomial(1000, 0.25): sd 13.7
  // Not training: the identity, and every element kept.
  out = run(false);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(out.at("y").data<float>()[i], 2.0f);
    ASSERT_TRUE(out.at("mask").data<uint8_t>()[i]);
  }
}

TEST(Random, MultinomialFollowsTheSoftmaxOfItsInput) {
  ModelBuilder m(7);
  m.input("x", F32, {-1, 3}, {"batch"});
  m.output("y", onnx::TensorProto::INT64);
  auto &node = m.node("Multinomial", {"x"}, {"y"});
  auto *a = node.add_attribute();
  a->set_name("sample_size");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(4000);
  a = node.add_attribute();
  a->set_name("dtype");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(onnx::TensorProto::INT64);
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "multinomial.onnx");
  // Row 0: probabilities 0.2, 0.3, 0.5; row 1: only class 1 is possible.
  std::vector<float> x{std::log(0.2f), std::log(0.3f), std::log(0.5f), -1e30f, 0.0f, -1e30f};
  Tensor y = s.run({{"x", Tensor::fromVector(ElementType::Float32, {2, 3}, x)}}).at("y");
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 4000}));
  int counts[2][3] = {};
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4000; ++i) {
      int64_t c = y.data<int64_t>()[r * 4000 + i];
      ASSERT_GE(c, 0);
      ASSERT_LT(c, 3);
      ++counts[r][c];
    }
  // Standard error of a share near 0.3 over 4000 draws: 0.007.
  EXPECT_NEAR(counts[0][0] / 4000.0, 0.2, 0.03);
  EXPECT_NEAR(counts[0][1] / 4000.0, 0.3, 0.03);
  EXPECT_NEAR(counts[0][2] / 4000.0, 0.5, 0.03);
  EXPECT_EQ(counts[1][1], 4000);
}

} // namespace
