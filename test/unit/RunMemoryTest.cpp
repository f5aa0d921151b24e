//===- RunMemoryTest.cpp - what a run takes from the heap -----------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include "runtime/Allocation.h"
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::testValues;

namespace {
/// Conv 3x3 -> Relu -> Conv 3x3 -> Relu -> MaxPool over [n, 4, 16, 16].
std::string convNetwork(int64_t batch) {
  ModelBuilder m;
  m.input("x", onnx::TensorProto::FLOAT, {batch, 4, 16, 16}, {"n"});
  m.initializer("w1", {8, 4, 3, 3}, testValues(8 * 4 * 9, 0.05f));
  m.initializer("w2", {8, 8, 3, 3}, testValues(8 * 8 * 9, 0.03f));
  m.output("y", onnx::TensorProto::FLOAT);
  auto pads = [](onnx::NodeProto &n) {
    auto *a = n.add_attribute();
    a->set_name("pads");
    a->set_type(onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i)
      a->add_ints(1);
  };
  pads(m.node("Conv", {"x", "w1"}, {"c1"}));
  m.node("Relu", {"c1"}, {"r1"});
  pads(m.node("Conv", {"r1", "w2"}, {"c2"}));
  m.node("Relu", {"c2"}, {"r2"});
  onnx::NodeProto &pool = m.node("MaxPool", {"r2"}, {"y"});
  auto *k = pool.add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(2);
  k->add_ints(2);
  auto *s = pool.add_attribute();
  s->set_name("strides");
  s->set_type(onnx::AttributeProto::INTS);
  s->add_ints(2);
  s->add_ints(2);
  return m.bytes();
}

Tensor input(int64_t batch) {
  Tensor x(ElementType::Float32, {batch, 4, 16, 16});
  std::vector<float> v = testValues(x.numElements(), 0.1f);
  std::copy(v.begin(), v.end(), x.data<float>());
  return x;
}
} // namespace

TEST(RunMemory, SteadyStateRunsTakeNoHeapForIntermediates) {
  std::string bytes = convNetwork(1);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2), "convnet");
  Tensor x = input(1);
  uint64_t before = heapAllocations();
  Tensor first = s.run({{"x", x}}).at("y");
  uint64_t firstRun = heapAllocations() - before;
  EXPECT_GT(firstRun, 0u) << "the network's intermediates should be heap buffers at first";
  MemoryReport memory = s.memoryReport();
  EXPECT_GE(memory.weightsBytes, (8u * 4 * 9 + 8 * 8 * 9) * sizeof(float));
  // At least both convolutions' outputs, [1, 8, 16, 16] each, at once.
  EXPECT_GE(memory.workspaceBytes, 2u * 8 * 16 * 16 * sizeof(float));
  for (int i = 0; i < 3; ++i) {
    uint64_t start = heapAllocations();
    Tensor y = s.run({{"x", x}}).at("y");
    EXPECT_EQ(heapAllocations() - start, 0u) << "run " << i + 2 << " allocated from the heap";
    ASSERT_EQ(y.shape(), first.shape());
    for (int64_t j = 0; j < y.numElements(); ++j)
      ASSERT_EQ(y.data<float>()[j], first.data<float>()[j]) << "run " << i + 2 << ", element " << j;
  }
}

TEST(RunMemory, OtherShapesStillComputeRight) {
  // Compiled once for unknown batch: each batch size asks for other
  // buffer sizes; kept blocks of sizes no longer asked for are dropped,
  // and no run reads another's leftovers.
  std::string bytes = convNetwork(-1);
  SessionOptions options;
  options.specializeShapes = false;
  Session dynamic(bytes.data(), bytes.size(), options, "convnet");
  std::string one = convNetwork(1), three = convNetwork(3);
  Session fixedOne(one.data(), one.size(), SessionOptions{}, "one");
  Session fixedThree(three.data(), three.size(), SessionOptions{}, "three");
  Tensor y1 = fixedOne.run({{"x", input(1)}}).at("y");
  Tensor y3 = fixedThree.run({{"x", input(3)}}).at("y");
  for (int64_t batch : {1, 3, 1, 3, 3, 1}) {
    Tensor y = dynamic.run({{"x", input(batch)}}).at("y");
    const Tensor &want = batch == 1 ? y1 : y3;
    ASSERT_EQ(y.shape(), want.shape());
    for (int64_t j = 0; j < y.numElements(); ++j)
      ASSERT_NEAR(y.data<float>()[j], want.data<float>()[j], 1e-5f) << "batch " << batch;
  }
}
