//===- RecurrentTest.cpp - RNN/GRU/LSTM as loops over run-time lengths ----===//
//
// A sequence of unknown length is a loop over its steps; a short one of
// known length is unrolled (that path is checked by the ONNX conformance
// tests). Both must agree.
//
//===----------------------------------------------------------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <cmath>
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::testValues;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

/// op(X [seq, batch, 3]) with hidden size 4, bidirectional, bias and
/// initial state from initializers; seq and batch static or symbolic.
std::string recurrentModel(const std::string &op, int64_t seq, int64_t batch) {
  int64_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1, hidden = 4, input = 3;
  ModelBuilder m;
  m.input("x", F32, {seq, batch, input}, {"seq", "batch", ""});
  m.initializer("w", {2, gates * hidden, input}, testValues(2 * gates * hidden * input, 0.5f));
  m.initializer("r", {2, gates * hidden, hidden}, testValues(2 * gates * hidden * hidden, 0.4f));
  m.initializer("b", {2, 2 * gates * hidden}, testValues(2 * 2 * gates * hidden, 0.1f));
  m.output("y", F32).output("y_h", F32);
  auto &node = m.node(op, {"x", "w", "r", "b"}, {"y", "y_h"});
  auto *a = node.add_attribute();
  a->set_name("hidden_size");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(hidden);
  a = node.add_attribute();
  a->set_name("direction");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("bidirectional");
  return m.bytes();
}

TEST(Recurrent, LoopOverRunTimeLengthMatchesUnrolledSteps) {
  for (const char *op : {"RNN", "GRU", "LSTM"}) {
    std::string dynamic = recurrentModel(op, -1, -1);
    Session d(dynamic.data(), dynamic.size(),
              SessionOptions{}.withThreads(1).withSpecializeShapes(false), "dynamic.onnx");
    EXPECT_EQ(d.compileReport().shapes, "dynamic") << op;
    for (auto [seq, batch] : {std::pair<int64_t, int64_t>{5, 2}, {1, 3}}) {
      Tensor x = Tensor::fromVector(ElementType::Float32, {seq, batch, 3},
                                    testValues(seq * batch * 3, 1.0f));
      std::string fixed = recurrentModel(op, seq, batch);
      Session f(fixed.data(), fixed.size(), SessionOptions{}.withThreads(1), "fixed.onnx");
      auto a = d.run({{"x", x}}), b = f.run({{"x", x}});
      for (const char *name : {"y", "y_h"}) {
        const Tensor &p = a.at(name), &q = b.at(name);
        ASSERT_EQ(p.shape(), q.shape()) << op << " " << name;
        for (int64_t i = 0; i < p.numElements(); ++i)
          ASSERT_NEAR(p.data<float>()[i], q.data<float>()[i], 1e-5)
              << op << " " << name << " seq " << seq << " at " << i;
      }
    }
  }
}

TEST(Recurrent, LongSequencesAreLoopsNotUnrolled) {
  // 600 steps: past the unrolling limit (512), which used to refuse it.
  std::string bytes = recurrentModel("GRU", 600, 2);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "long.onnx");
  Tensor x = Tensor::fromVector(ElementType::Float32, {600, 2, 3}, testValues(3600, 1.0f));
  auto out = s.run({{"x", x}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{600, 2, 2, 4}));
  // The forward direction's last step and the reverse direction's first are y_h.
  const float *y = out.at("y").data<float>(), *yh = out.at("y_h").data<float>();
  for (int64_t k = 0; k < 8; ++k) {
    EXPECT_EQ(yh[k], y[599 * 16 + k]);        // direction 0, step 599
    EXPECT_EQ(yh[8 + k], y[0 * 16 + 8 + k]); // direction 1, step 0
  }
}

} // namespace
