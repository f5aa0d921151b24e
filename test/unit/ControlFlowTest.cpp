//===- ControlFlowTest.cpp - loops whose trip count is known at run time --===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::ModelBuilder;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int I64 = onnx::TensorProto::INT64;
constexpr int BOOL = onnx::TensorProto::BOOL;

void addValue(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> *list,
              const std::string &name, int type) {
  auto *v = list->Add();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
}

/// Loop(n, cond) over (acc, total): each iteration appends acc's last value
/// + 1 to acc (so its length changes) and adds the iteration number to
/// total; stops early once total reaches `stop` (a graph input). Scan
/// output `nexts` stacks the appended values; with `scanAcc`, `accs` stacks
/// acc itself, whose shape changes (an error when it runs).
std::string growingLoop(bool scanAcc = false) {
  ModelBuilder m;
  m.input("n", I64, {}).input("stop", I64, {}).input("acc0", F32, {1}).input("t0", I64, {});
  m.output("acc", F32).output("total", I64).output("nexts", F32);
  if (scanAcc)
    m.output("accs", F32);
  m.node("Constant", {}, {"cond0"}).add_attribute()->set_name("value");
  auto &c = *m.model().mutable_graph()->mutable_node(0)->mutable_attribute(0);
  c.set_type(onnx::AttributeProto::TENSOR);
  c.mutable_t()->set_data_type(BOOL);
  c.mutable_t()->add_int32_data(1);
  std::vector<std::string> outs{"acc", "total", "nexts"};
  if (scanAcc)
    outs.push_back("accs");
  auto &loop = m.node("Loop", {"n", "cond0", "acc0", "t0"}, outs);
  auto *a = loop.add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto &g = *a->mutable_g();
  g.set_name("body");
  addValue(g.mutable_input(), "i", I64);
  addValue(g.mutable_input(), "c", BOOL);
  addValue(g.mutable_input(), "acc_in", F32);
  addValue(g.mutable_input(), "t_in", I64);
  auto node = [&](const char *op, std::vector<std::string> in, std::vector<std::string> out) {
    auto *n = g.add_node();
    n->set_op_type(op);
    for (auto &s : in)
      n->add_input(s);
    for (auto &s : out)
      n->add_output(s);
    return n;
  };
  auto *one = node("Constant", {}, {"one"})->add_attribute();
  one->set_name("value");
  one->set_type(onnx::AttributeProto::TENSOR);
  one->mutable_t()->set_data_type(F32);
  one->mutable_t()->add_dims(1);
  one->mutable_t()->add_float_data(1);
  auto *last = node("Constant", {}, {"minus1"})->add_attribute();
  last->set_name("value");
  last->set_type(onnx::AttributeProto::TENSOR);
  last->mutable_t()->set_data_type(I64);
  last->mutable_t()->add_dims(1);
  last->mutable_t()->add_int64_data(-1);
  node("Gather", {"acc_in", "minus1"}, {"tail"});
  node("Add", {"tail", "one"}, {"next"});
  auto *cat = node("Concat", {"acc_in", "next"}, {"acc_out"})->add_attribute();
  cat->set_name("axis");
  cat->set_type(onnx::AttributeProto::INT);
  cat->set_i(0);
  node("Add", {"t_in", "i"}, {"t_out"});
  node("Less", {"t_out", "stop"}, {"c_out"});
  addValue(g.mutable_output(), "c_out", BOOL);
  addValue(g.mutable_output(), "acc_out", F32);
  addValue(g.mutable_output(), "t_out", I64);
  addValue(g.mutable_output(), "next", F32);
  if (scanAcc)
    addValue(g.mutable_output(), "acc_out", F32);
  return m.bytes();
}

Tensor i64(int64_t v) { return Tensor::fromVector<int64_t>(ElementType::Int64, {}, {v}); }

} // namespace

TEST(ControlFlow, LoopWithRunTimeTripCountCompilesOnce) {
  std::string bytes = growingLoop();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withSpecializeShapes(false), "loop");
  // Compiled once, at creation; acc's length is only known when it runs.
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  Tensor acc0 = Tensor::fromVector<float>(ElementType::Float32, {1}, {5});
  // Four iterations: acc grows to five values, total = 0+1+2+3.
  auto out = s.run({{"n", i64(4)}, {"stop", i64(100)}, {"acc0", acc0}, {"t0", i64(0)}});
  ASSERT_EQ(out.at("acc").shape(), (std::vector<int64_t>{5}));
  const float *acc = out.at("acc").data<float>();
  EXPECT_EQ(std::vector<float>(acc, acc + 5), (std::vector<float>{5, 6, 7, 8, 9}));
  EXPECT_EQ(out.at("total").data<int64_t>()[0], 6);
  // One row per iteration.
  ASSERT_EQ(out.at("nexts").shape(), (std::vector<int64_t>{4, 1}));
  const float *nexts = out.at("nexts").data<float>();
  EXPECT_EQ(std::vector<float>(nexts, nexts + 4), (std::vector<float>{6, 7, 8, 9}));
  // The condition ends it early: after i = 0, 1, 2 the total is 3.
  out = s.run({{"n", i64(10)}, {"stop", i64(3)}, {"acc0", acc0}, {"t0", i64(0)}});
  EXPECT_EQ(out.at("acc").shape(), (std::vector<int64_t>{4}));
  EXPECT_EQ(out.at("total").data<int64_t>()[0], 3);
  // Zero iterations return the initial values.
  out = s.run({{"n", i64(0)}, {"stop", i64(3)}, {"acc0", acc0}, {"t0", i64(7)}});
  EXPECT_EQ(out.at("acc").shape(), (std::vector<int64_t>{1}));
  EXPECT_EQ(out.at("total").data<int64_t>()[0], 7);
  EXPECT_EQ(out.at("nexts").shape()[0], 0);
  // Many iterations: the scan buffer grows several times.
  out = s.run({{"n", i64(300)}, {"stop", i64(1 << 30)}, {"acc0", acc0}, {"t0", i64(0)}});
  ASSERT_EQ(out.at("nexts").shape(), (std::vector<int64_t>{300, 1}));
  EXPECT_EQ(out.at("nexts").data<float>()[299], 305);
}

TEST(ControlFlow, ScanItemsThatChangeShapeFailTheRun) {
  std::string bytes = growingLoop(/*scanAcc=*/true);
  Session s(bytes.data(), bytes.size(), {}, "loop");
  Tensor acc0 = Tensor::fromVector<float>(ElementType::Float32, {1}, {5});
  // One iteration is fine; a second item of another length is not.
  auto out = s.run({{"n", i64(1)}, {"stop", i64(100)}, {"acc0", acc0}, {"t0", i64(0)}});
  EXPECT_EQ(out.at("accs").shape(), (std::vector<int64_t>{1, 2}));
  kiln::test::expectError(
      [&] { s.run({{"n", i64(3)}, {"stop", i64(100)}, {"acc0", acc0}, {"t0", i64(0)}}); },
      "scan output items differ in shape");
}

TEST(ControlFlow, IfBranchesOfDifferentShapesRunOnlyTheBranchTaken) {
  // y = cond ? Concat(x, x) : x, with cond an input.
  ModelBuilder m;
  m.input("cond", BOOL, {}).input("x", F32, {2}).output("y", F32);
  auto &n = m.node("If", {"cond"}, {"y"});
  for (int branch = 0; branch < 2; ++branch) {
    auto *a = n.add_attribute();
    a->set_name(branch == 0 ? "then_branch" : "else_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto &g = *a->mutable_g();
    g.set_name(a->name());
    auto *node = g.add_node();
    node->set_op_type(branch == 0 ? "Concat" : "Identity");
    node->add_input("x");
    if (branch == 0) {
      node->add_input("x");
      auto *axis = node->add_attribute();
      axis->set_name("axis");
      axis->set_type(onnx::AttributeProto::INT);
      axis->set_i(0);
    }
    node->add_output("out");
    addValue(g.mutable_output(), "out", F32);
  }
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), {}, "if");
  Tensor x = Tensor::fromVector<float>(ElementType::Float32, {2}, {1, 2});
  auto flag = [](bool v) { return Tensor::fromVector<uint8_t>(ElementType::Bool, {}, {v}); };
  auto out = s.run({{"cond", flag(true)}, {"x", x}});
  ASSERT_EQ(out.at("y").shape(), (std::vector<int64_t>{4}));
  EXPECT_EQ(out.at("y").data<float>()[3], 2);
  out = s.run({{"cond", flag(false)}, {"x", x}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{2}));
}

namespace {
/// Scan over x [T, 2] from the end, state s += x_t, items s * x_t stacked
/// from the end along axis 1; T symbolic when `dynamic`.
std::string reversedScan(bool dynamic) {
  ModelBuilder m(16);
  m.input("s0", F32, {2}).input("x", F32, {dynamic ? -1 : 3, 2}, {"T", ""});
  m.output("s", F32).output("ys", F32);
  auto &n = m.node("Scan", {"s0", "x"}, {"s", "ys"});
  auto ints = [&](const char *name, int64_t v) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(v);
  };
  auto *a = n.add_attribute();
  a->set_name("num_scan_inputs");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  ints("scan_input_directions", 1);
  ints("scan_output_directions", 1);
  ints("scan_output_axes", 1);
  a = n.add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto &g = *a->mutable_g();
  g.set_name("body");
  addValue(g.mutable_input(), "s_in", F32);
  addValue(g.mutable_input(), "x_t", F32);
  auto *add = g.add_node();
  add->set_op_type("Add");
  add->add_input("s_in");
  add->add_input("x_t");
  add->add_output("s_out");
  auto *mul = g.add_node();
  mul->set_op_type("Mul");
  mul->add_input("s_out");
  mul->add_input("x_t");
  mul->add_output("y");
  addValue(g.mutable_output(), "s_out", F32);
  addValue(g.mutable_output(), "y", F32);
  return m.bytes();
}
} // namespace

TEST(ControlFlow, ScanOverRunTimeLengthMatchesTheUnrolledScan) {
  std::string unrolled = reversedScan(false), looped = reversedScan(true);
  Session a(unrolled.data(), unrolled.size(), {}, "unrolled");
  Session b(looped.data(), looped.size(), SessionOptions{}.withSpecializeShapes(false), "looped");
  EXPECT_EQ(b.compileReport().shapes, "dynamic");
  std::map<std::string, Tensor> in{
      {"s0", Tensor::fromVector<float>(ElementType::Float32, {2}, {1, -1})},
      {"x", Tensor::fromVector<float>(ElementType::Float32, {3, 2}, {1, 2, 3, 4, 5, 6})}};
  auto ra = a.run(in), rb = b.run(in);
  ASSERT_EQ(rb.at("ys").shape(), (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(ra.at("ys").shape(), rb.at("ys").shape());
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(ra.at("ys").data<float>()[i], rb.at("ys").data<float>()[i]) << i;
  // s = s0 + sum of rows.
  EXPECT_EQ(rb.at("s").data<float>()[0], 10);
  EXPECT_EQ(rb.at("s").data<float>()[1], 11);
}
