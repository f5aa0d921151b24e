//===- ResizeTest.cpp - Resize compiled for sizes known only at run time --===//
//
// The run-time path (coordinates and taps computed by the code) must give
// what the compile-time path (taps computed when importing, checked by the
// ONNX conformance tests) gives for the same shapes.
//
//===----------------------------------------------------------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
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
    Session d(dynamic.data(), dynamic.size(), SessionOptions{}.withThreads(1), "dynamic.onnx");
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

} // namespace
