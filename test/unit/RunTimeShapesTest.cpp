//===- RunTimeShapesTest.cpp - ops compiled once for unknown dims ---------===//
//
// Ops whose sizes are computed by the code when dims are known only at run
// time (Resize's taps, SAME pads and channel groups of Conv, ConvTranspose's
// zero insertion, RotaryEmbedding's head split, CausalConvWithState's
// state) must give what the compile-time path (checked by the ONNX
// conformance tests) gives for the same shapes.
//
//===----------------------------------------------------------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <cmath>
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

void stringAttr(onnx::NodeProto &n, const std::string &name, const std::string &v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

/// y = Resize(x, scales) with x [1, 1, H, W], H and W given (static) or
/// left symbolic (-1).
std::string resizeModel(int64_t h, int64_t w, const std::string &mode,
                        const std::string &coordinates, std::vector<float> scales) {
  ModelBuilder m(19);
  m.input("x", F32, {1, 1, h, w}, {"", "", "h", "w"});
  m.initializer("scales", {4}, scales);
  m.output("y", F32);
  auto &node = m.node("Resize", {"x", "", "scales"}, {"y"});
  stringAttr(node, "mode", mode);
  stringAttr(node, "coordinate_transformation_mode", coordinates);
  if (mode == "cubic") {
    auto *a = node.add_attribute();
    a->set_name("exclude_outside");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
  }
  return m.bytes();
}

TEST(Resize, RunTimeSizesMatchCompileTimeTaps) {
  struct Case {
    std::string mode, coordinates;
    std::vector<float> scales;
  };
  std::vector<Case> cases = {{"nearest", "half_pixel", {1, 1, 2, 1.5f}},
                             {"nearest", "asymmetric", {1, 1, 0.6f, 2}},
                             {"linear", "half_pixel", {1, 1, 1.7f, 0.5f}},
                             {"linear", "align_corners", {1, 1, 2, 3}},
                             {"linear", "pytorch_half_pixel", {1, 1, 0.34f, 2}},
                             {"cubic", "half_pixel_symmetric", {1, 1, 2.5f, 0.8f}}};
  for (const Case &c : cases) {
    std::string dynamic = resizeModel(-1, -1, c.mode, c.coordinates, c.scales);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic") << c.mode << " " << c.coordinates;
    for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 5}, {4, 4}}) {
      Tensor x(ElementType::Float32, {1, 1, h, w});
      for (int64_t i = 0; i < h * w; ++i)
        x.data<float>()[i] = float((i * 7) % 11) - 3.5f;
      std::string fixed = resizeModel(h, w, c.mode, c.coordinates, c.scales);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      Tensor a = d.run({{"x", x}}).at("y"), b = f.run({{"x", x}}).at("y");
      ASSERT_EQ(a.shape(), b.shape()) << c.mode << " " << c.coordinates;
      for (int64_t i = 0; i < a.numElements(); ++i)
        ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-5)
            << c.mode << " " << c.coordinates << " " << h << "x" << w << " at " << i;
    }
  }
}

void intsAttr(onnx::NodeProto &n, const std::string &name, std::vector<int64_t> v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}

/// ConvTranspose of x [batch, 2, h, w] with a 2 -> 3 channel 3x3 kernel.
std::string convTransposeModel(int64_t batch, int64_t h, int64_t w, bool same) {
  ModelBuilder m;
  m.input("x", F32, {batch, 2, h, w}, {"n", "", "h", "w"});
  std::vector<float> weights(2 * 3 * 3 * 3);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = float(int(i * 5) % 7) * 0.25f - 0.5f;
  m.initializer("w", {2, 3, 3, 3}, weights);
  m.output("y", F32);
  auto &node = m.node("ConvTranspose", {"x", "w"}, {"y"});
  intsAttr(node, "strides", {2, 3});
  if (same) {
    stringAttr(node, "auto_pad", "SAME_UPPER");
  } else {
    intsAttr(node, "pads", {1, 0, 2, 1});
    intsAttr(node, "output_padding", {1, 0});
  }
  return m.bytes();
}

TEST(ConvTranspose, RunTimeDimsMatchCompileTimeShapes) {
  for (bool same : {false, true}) {
    std::string dynamic = convTransposeModel(-1, -1, -1, same);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic");
    for (auto [n, h, w] : {std::tuple<int64_t, int64_t, int64_t>{1, 3, 4}, {2, 5, 2}}) {
      Tensor x(ElementType::Float32, {n, 2, h, w});
      for (int64_t i = 0; i < x.numElements(); ++i)
        x.data<float>()[i] = float((i * 3) % 8) - 2.0f;
      std::string fixed = convTransposeModel(n, h, w, same);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      Tensor a = d.run({{"x", x}}).at("y"), b = f.run({{"x", x}}).at("y");
      ASSERT_EQ(a.shape(), b.shape());
      for (int64_t i = 0; i < a.numElements(); ++i)
        ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-5) << same << " at " << i;
    }
  }
}

/// RotaryEmbedding (opset 23) of x [batch, seq, 8] with 2 heads of 4, the
/// position ids an input, the caches initializers.
std::string rotaryModel(int64_t batch, int64_t seq, bool interleaved) {
  ModelBuilder m(23);
  m.input("x", F32, {batch, seq, 8}, {"b", "s", ""});
  m.input("pos", onnx::TensorProto::INT64, {batch, seq}, {"b", "s"});
  std::vector<float> cosines(32), sines(32);
  for (int i = 0; i < 32; ++i) {
    cosines[i] = std::cos(0.1f * float(i));
    sines[i] = std::sin(0.1f * float(i));
  }
  m.initializer("cos", {16, 2}, cosines).initializer("sin", {16, 2}, sines);
  m.output("y", F32);
  auto &node = m.node("RotaryEmbedding", {"x", "cos", "sin", "pos"}, {"y"});
  auto *a = node.add_attribute();
  a->set_name("num_heads");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(2);
  a = node.add_attribute();
  a->set_name("interleaved");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(interleaved);
  return m.bytes();
}

TEST(RotaryEmbedding, RunTimeBatchAndSequenceMatchCompileTimeShapes) {
  for (bool interleaved : {false, true}) {
    std::string dynamic = rotaryModel(-1, -1, interleaved);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic");
    for (auto [b, sq] : {std::pair<int64_t, int64_t>{1, 3}, {2, 5}}) {
      Tensor x(ElementType::Float32, {b, sq, 8});
      for (int64_t i = 0; i < x.numElements(); ++i)
        x.data<float>()[i] = float(i % 9) - 4.0f;
      Tensor pos(ElementType::Int64, {b, sq});
      for (int64_t i = 0; i < pos.numElements(); ++i)
        pos.data<int64_t>()[i] = (i * 5) % 16;
      std::string fixed = rotaryModel(b, sq, interleaved);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      Tensor p = d.run({{"x", x}, {"pos", pos}}).at("y"), q = f.run({{"x", x}, {"pos", pos}}).at("y");
      ASSERT_EQ(p.shape(), q.shape());
      for (int64_t i = 0; i < p.numElements(); ++i)
        ASSERT_NEAR(p.data<float>()[i], q.data<float>()[i], 1e-6) << interleaved << " at " << i;
    }
  }
}

/// CausalConvWithState (opset 27) of x [batch, 3, length] with a k = 3
/// kernel, the past state an input when `withPast`.
std::string causalConvModel(int64_t batch, int64_t length, bool withPast) {
  ModelBuilder m(27);
  m.input("x", F32, {batch, 3, length}, {"b", "", "l"});
  if (withPast)
    m.input("past", F32, {batch, 3, 2}, {"b", "", ""});
  std::vector<float> w(9);
  for (int i = 0; i < 9; ++i)
    w[i] = 0.3f * float(i % 4) - 0.4f;
  m.initializer("w", {3, 1, 3}, w);
  m.output("y", F32).output("state", F32);
  m.node("CausalConvWithState", {"x", "w", "", withPast ? "past" : ""}, {"y", "state"});
  return m.bytes();
}

TEST(CausalConvWithState, RunTimeBatchAndLengthMatchCompileTimeShapes) {
  for (bool withPast : {false, true}) {
    std::string dynamic = causalConvModel(-1, -1, withPast);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic");
    for (auto [b, l] : {std::pair<int64_t, int64_t>{1, 5}, {2, 1}}) {
      std::map<std::string, Tensor> in;
      Tensor x(ElementType::Float32, {b, 3, l}), past(ElementType::Float32, {b, 3, 2});
      for (int64_t i = 0; i < x.numElements(); ++i)
        x.data<float>()[i] = float(i % 5) - 2.0f;
      for (int64_t i = 0; i < past.numElements(); ++i)
        past.data<float>()[i] = 0.5f * float(i % 3);
      in["x"] = x;
      if (withPast)
        in["past"] = past;
      std::string fixed = causalConvModel(b, l, withPast);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      auto p = d.run(in), q = f.run(in);
      for (const char *name : {"y", "state"}) {
        ASSERT_EQ(p.at(name).shape(), q.at(name).shape()) << name;
        for (int64_t i = 0; i < p.at(name).numElements(); ++i)
          ASSERT_NEAR(p.at(name).data<float>()[i], q.at(name).data<float>()[i], 1e-6)
              << name << " " << withPast << " at " << i;
      }
    }
  }
}

/// Conv of x [batch, 4, h, w] by 6 filters in `group` groups, 3x3, stride 2,
/// with SAME_UPPER or explicit pads.
std::string convModel(int64_t batch, int64_t h, int64_t w, int64_t group, bool same) {
  ModelBuilder m;
  m.input("x", F32, {batch, 4, h, w}, {"n", "", "h", "w"});
  std::vector<float> weights(6 * (4 / group) * 9);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = float(int(i * 7) % 9) * 0.2f - 0.8f;
  m.initializer("w", {6, 4 / group, 3, 3}, weights);
  m.output("y", F32);
  auto &node = m.node("Conv", {"x", "w"}, {"y"});
  intsAttr(node, "strides", {2, 2});
  auto *a = node.add_attribute();
  a->set_name("group");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(group);
  if (same)
    stringAttr(node, "auto_pad", "SAME_UPPER");
  else
    intsAttr(node, "pads", {1, 0, 1, 2});
  return m.bytes();
}

TEST(Conv, GroupedAndSamePaddedOverRunTimeDimsMatchCompileTimeShapes) {
  for (auto [group, same] : {std::pair<int64_t, bool>{2, false}, {1, true}, {2, true}}) {
    std::string dynamic = convModel(-1, -1, -1, group, same);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic") << group << same;
    for (auto [n, h, w] : {std::tuple<int64_t, int64_t, int64_t>{1, 5, 6}, {2, 4, 3}}) {
      Tensor x(ElementType::Float32, {n, 4, h, w});
      for (int64_t i = 0; i < x.numElements(); ++i)
        x.data<float>()[i] = float((i * 5) % 11) - 5.0f;
      std::string fixed = convModel(n, h, w, group, same);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      Tensor a = d.run({{"x", x}}).at("y"), b = f.run({{"x", x}}).at("y");
      ASSERT_EQ(a.shape(), b.shape()) << group << same;
      for (int64_t i = 0; i < a.numElements(); ++i)
        ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-4) << group << same << " at " << i;
    }
  }
}

TEST(OneHot, IndicesOfRunTimeLengthWithAConstantDepth) {
  ModelBuilder m(11);
  m.input("i", onnx::TensorProto::INT64, {-1}, {"n"});
  m.initializer("values", {2}, {0.5f, 2.0f});
  auto &depth = *m.model().mutable_graph()->add_initializer();
  depth.set_name("depth");
  depth.set_data_type(onnx::TensorProto::INT64);
  depth.add_int64_data(4);
  m.output("y", F32);
  m.node("OneHot", {"i", "depth", "values"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(),
            SessionOptions{}.withThreads(1).withSpecializeShapes(false), "onehot.onnx");
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  // -1 counts from the end (3); 7 is out of range and matches nothing.
  Tensor y = s.run({{"i", Tensor::fromVector<int64_t>(ElementType::Int64, {3}, {1, -1, 7})}}).at("y");
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 12),
            (std::vector<float>{0.5f, 2, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 2, 0.5f, 0.5f, 0.5f, 0.5f}));
}

TEST(Tile, InputOfRunTimeShape) {
  ModelBuilder m(13);
  m.input("x", F32, {-1, 2}, {"n", ""});
  auto &repeats = *m.model().mutable_graph()->add_initializer();
  repeats.set_name("repeats");
  repeats.set_data_type(onnx::TensorProto::INT64);
  repeats.add_dims(2);
  repeats.add_int64_data(2);
  repeats.add_int64_data(3);
  m.output("y", F32);
  m.node("Tile", {"x", "repeats"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(),
            SessionOptions{}.withThreads(1).withSpecializeShapes(false), "tile.onnx");
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  Tensor y = s.run({{"x", Tensor::fromVector<float>(ElementType::Float32, {1, 2}, {1, 2})}}).at("y");
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 12),
            (std::vector<float>{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}));
}

TEST(TopK, RunTimeKAndLengthAreCheckedWhenTheCodeRuns) {
  ModelBuilder m(11);
  m.input("x", F32, {-1}, {"n"}).input("k", onnx::TensorProto::INT64, {1});
  m.output("values", F32).output("indices", onnx::TensorProto::INT64);
  m.node("TopK", {"x", "k"}, {"values", "indices"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(),
            SessionOptions{}.withThreads(1).withSpecializeShapes(false), "topk.onnx");
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  auto x = Tensor::fromVector<float>(ElementType::Float32, {5}, {3, 9, 1, 9, 4});
  auto k = [](int64_t v) { return Tensor::fromVector<int64_t>(ElementType::Int64, {1}, {v}); };
  auto out = s.run({{"x", x}, {"k", k(3)}});
  const Tensor &v = out.at("values"), &i = out.at("indices");
  ASSERT_EQ(v.shape(), (std::vector<int64_t>{3}));
  // Ties keep the lower index first.
  EXPECT_EQ(std::vector<float>(v.data<float>(), v.data<float>() + 3), (std::vector<float>{9, 9, 4}));
  EXPECT_EQ(std::vector<int64_t>(i.data<int64_t>(), i.data<int64_t>() + 3),
            (std::vector<int64_t>{1, 3, 4}));
  kiln::test::expectError([&] { s.run({{"x", x}, {"k", k(6)}}); },
                          "TopK: k given at run time is negative or exceeds the length of the axis");
}

} // namespace
