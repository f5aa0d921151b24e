//===- SessionTest.cpp - the public kiln::Session API ---------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <gtest/gtest.h>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>
#include <cmath>
#include <cstring>
#include <functional>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::expectError;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;
constexpr int I64 = onnx::TensorProto::INT64;

/// y = Relu(MatMul(x, W) + b) with x: [N, 3] (N symbolic when `dynamic`).
std::string mlpModel(bool dynamic) {
  ModelBuilder m;
  m.input("x", F32, {dynamic ? -1 : 2, 3}, {"batch", ""})
      .initializer("W", {3, 2}, {1, 2, 3, 4, 5, 6})
      .initializer("b", {2}, {0.5f, -100})
      .output("y", F32);
  m.node("MatMul", {"x", "W"}, {"xw"});
  m.node("Add", {"xw", "b"}, {"z"});
  m.node("Relu", {"z"}, {"y"});
  return m.bytes();
}

Tensor input2x3() {
  return Tensor::fromVector<float>(ElementType::Float32, {2, 3}, {1, 0, -1, 2, 1, 0});
}

} // namespace

TEST(Session, Metadata) {
  std::string bytes = mlpModel(true);
  Session s(bytes.data(), bytes.size(), {}, "mlp");
  ASSERT_EQ(s.inputs().size(), 1u); // initializers are not inputs
  EXPECT_EQ(s.inputs()[0].name, "x");
  EXPECT_EQ(s.inputs()[0].type, ElementType::Float32);
  EXPECT_EQ(s.inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(s.inputs()[0].dimNames[0], "batch");
  ASSERT_EQ(s.outputs().size(), 1u);
  EXPECT_EQ(s.outputs()[0].name, "y");
}

TEST(Session, RunComputesTheModel) {
  std::string bytes = mlpModel(false);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2));
  EXPECT_GT(s.compileReport().total, 0);
  auto out = s.run({{"x", input2x3()}});
  const Tensor &y = out.at("y");
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 2}));
  // x.W = [[-4,-4],[5,8]]; + b = [[-3.5,-104],[5.5,-92]]; relu.
  const float *v = y.data<float>();
  EXPECT_FLOAT_EQ(v[0], 0);
  EXPECT_FLOAT_EQ(v[1], 0);
  EXPECT_FLOAT_EQ(v[2], 5.5f);
  EXPECT_FLOAT_EQ(v[3], 0);
}

TEST(Session, RunByPositionWritesIntoBoundOutputs) {
  std::string bytes = mlpModel(false);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2));
  std::vector<Tensor> out;
  s.run({input2x3()}, out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 5.5f);
  // The tensor the run returned is bound for the next: written in place.
  const void *at = out[0].data();
  std::fill_n(out[0].data<float>(), 4, 777.0f);
  s.run({Tensor::fromVector<float>(ElementType::Float32, {2, 3}, {2, 1, 0, 1, 0, -1})}, out);
  EXPECT_EQ(out[0].data(), at);
  // x.W = [[5,8],[-4,-4]]; + b; relu.
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 5.5f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 0);
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 0);
  EXPECT_FLOAT_EQ(out[0].data<float>()[3], 0);
  // A tensor of another shape is replaced, not written.
  out = {Tensor(ElementType::Float32, {3, 3})};
  const void *other = out[0].data();
  s.run({input2x3()}, out);
  EXPECT_NE(out[0].data(), other);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 5.5f);
  expectError([&] { s.run({}, out); }, "0 inputs given, the model has 1");
  expectError([&] { s.run({Tensor(ElementType::Float32, {2, 4})}, out); }, "input 'x'");
}

TEST(Session, RunByPositionDoesNotWriteIntoAnInput) {
  ModelBuilder m;
  m.input("x", F32, {2, 2}).output("y", F32);
  m.node("Relu", {"x"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size());
  Tensor x = Tensor::fromVector<float>(ElementType::Float32, {2, 2}, {-1, 2, -3, 4});
  std::vector<Tensor> out{x}; // the input's own bytes bound as the output
  s.run({x}, out);
  EXPECT_NE(out[0].data(), x.data());
  EXPECT_FLOAT_EQ(x.data<float>()[0], -1); // the input is unchanged
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 0);
  EXPECT_FLOAT_EQ(out[0].data<float>()[3], 4);
}

TEST(Session, RunByPositionWithUnknownDims) {
  std::string bytes = mlpModel(true);
  Session s(bytes.data(), bytes.size());
  std::vector<Tensor> out;
  s.run({input2x3()}, out);
  ASSERT_EQ(out.at(0).shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 5.5f);
  s.run({Tensor::fromVector<float>(ElementType::Float32, {1, 3}, {2, 1, 0})}, out);
  ASSERT_EQ(out.at(0).shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 5.5f);
}

TEST(Session, DynamicBatchCompilesOnce) {
  std::string bytes = mlpModel(true);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withSpecializeShapes(false));
  CompileReport atCreation = s.compileReport();
  EXPECT_EQ(atCreation.shapes, "dynamic");
  EXPECT_GT(atCreation.total, 0);
  auto a = s.run({{"x", input2x3()}});
  EXPECT_EQ(a.at("y").shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(a.at("y").data<float>()[2], 5.5f);
  Tensor one = Tensor::fromVector<float>(ElementType::Float32, {1, 3}, {2, 1, 0});
  auto b = s.run({{"x", one}});
  ASSERT_EQ(b.at("y").shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(b.at("y").data<float>()[0], 5.5f);
  // No compilation for the second shape.
  EXPECT_EQ(s.compileReport().total, atCreation.total);
  expectError([&] { s.run({{"x", Tensor(ElementType::Float32, {2, 4})}}); }, "expects [?,3]");
}

TEST(Session, FirstRunShapesAreCompiledIn) {
  // By default the batch the model leaves unknown is compiled in from the
  // first run; other batches run code compiled once with it unknown.
  std::string bytes = mlpModel(true);
  Session s(bytes.data(), bytes.size());
  EXPECT_EQ(s.compileReport().total, 0) << "nothing is compiled before the first run";
  auto a = s.run({{"x", input2x3()}});
  EXPECT_EQ(s.compileReport().shapes, "specialized");
  ASSERT_EQ(a.at("y").shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(a.at("y").data<float>()[2], 5.5f);
  Tensor one = Tensor::fromVector<float>(ElementType::Float32, {1, 3}, {2, 1, 0});
  auto b = s.run({{"x", one}});
  CompileReport fallback = s.compileReport();
  EXPECT_EQ(fallback.shapes, "dynamic");
  ASSERT_EQ(b.at("y").shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(b.at("y").data<float>()[0], 5.5f);
  // Neither a third batch nor the first one again compiles anything.
  Tensor three = Tensor::fromVector<float>(ElementType::Float32, {3, 3},
                                           {2, 1, 0, 1, 1, 1, 0, 0, 0});
  auto c = s.run({{"x", three}});
  ASSERT_EQ(c.at("y").shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(c.at("y").data<float>()[0], 5.5f);
  a = s.run({{"x", input2x3()}});
  EXPECT_FLOAT_EQ(a.at("y").data<float>()[2], 5.5f);
  EXPECT_EQ(s.compileReport().total, fallback.total);
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
}

TEST(Session, UnknownDimsBroadcastWhenTheCodeRuns) {
  // Whether a dim broadcasts is only known from the inputs given.
  ModelBuilder m;
  m.input("a", F32, {-1, -1}, {"p", "q"}).input("b", F32, {-1, -1}, {"r", "s"});
  m.output("sum", F32).output("same", F32).output("half", F32);
  m.initializer("h", {1}, {0.5f});
  m.node("Add", {"a", "b"}, {"sum"});
  m.node("Identity", {"a"}, {"same"});
  m.node("Identity", {"h"}, {"half"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withSpecializeShapes(false));
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  Tensor col = Tensor::fromVector<float>(ElementType::Float32, {3, 1}, {1, 2, 3});
  Tensor row = Tensor::fromVector<float>(ElementType::Float32, {1, 4}, {10, 20, 30, 40});
  auto out = s.run({{"a", col}, {"b", row}});
  ASSERT_EQ(out.at("sum").shape(), (std::vector<int64_t>{3, 4}));
  const float *v = out.at("sum").data<float>();
  EXPECT_FLOAT_EQ(v[0], 11);
  EXPECT_FLOAT_EQ(v[7], 42);
  EXPECT_FLOAT_EQ(v[11], 43);
  // Outputs are the caller's own copies, not views of inputs or constants.
  EXPECT_NE(out.at("same").data(), col.data());
  EXPECT_FLOAT_EQ(out.at("same").data<float>()[2], 3);
  EXPECT_FLOAT_EQ(out.at("half").data<float>()[0], 0.5f);
  out = s.run({{"a", row}, {"b", row}});
  ASSERT_EQ(out.at("sum").shape(), (std::vector<int64_t>{1, 4}));
  EXPECT_FLOAT_EQ(out.at("sum").data<float>()[3], 80);
  // 3 against 2: neither broadcasts. The run fails, the session lives on.
  Tensor two = Tensor::fromVector<float>(ElementType::Float32, {2, 1}, {1, 2});
  expectError([&] { s.run({{"a", col}, {"b", two}}); }, "cannot be broadcast together");
  out = s.run({{"a", col}, {"b", col}});
  EXPECT_FLOAT_EQ(out.at("sum").data<float>()[2], 6);
}

TEST(Session, InputErrors) {
  std::string bytes = mlpModel(false);
  Session s(bytes.data(), bytes.size(), {}, "mlp");
  expectError([&] { s.run({}); }, "missing input 'x'");
  expectError([&] { s.run({{"x", input2x3()}, {"nope", input2x3()}}); }, "unknown input 'nope'");
  expectError([&] { s.run({{"x", Tensor(ElementType::Int64, {2, 3})}}); },
              "element type int64, the model expects float");
  expectError([&] { s.run({{"x", Tensor(ElementType::Float32, {6})}}); }, "has rank 1");
  expectError([&] { s.run({{"x", Tensor(ElementType::Float32, {2, 4})}}); },
              "has shape [2,4], the model expects [2,3]");
}

TEST(Session, ModelErrors) {
  std::string garbage = "definitely not a protobuf";
  expectError([&] { Session(garbage.data(), garbage.size(), {}, "junk"); },
              "model 'junk': not a valid ONNX model");
  ModelBuilder m;
  m.input("x", F32, {2}).output("y", F32);
  m.node("NoSuchOp", {"x"}, {"y"}, "the_bad_node");
  std::string bytes = m.bytes();
  expectError([&] { Session(bytes.data(), bytes.size(), {}, "unsup"); },
              "unsupported ONNX op 'NoSuchOp' (domain 'ai.onnx', opset 21) at node 'the_bad_node'");
  expectError([&] { Session("/nonexistent/model.onnx"); }, "cannot open");
}

TEST(Session, InvalidNodeNamesNodeAndReason) {
  ModelBuilder m;
  m.input("a", F32, {2, 3}).input("b", F32, {4, 5}).output("y", F32);
  m.node("Add", {"a", "b"}, {"y"}, "adder");
  std::string bytes = m.bytes();
  expectError([&] { Session(bytes.data(), bytes.size(), {}, "bad"); },
              "node 'adder' (Add): operand shapes cannot be broadcast together");
}

TEST(Session, ExternalDataMayNotEscapeTheModelFolder) {
  for (const char *location : {"../secret.bin", "/etc/passwd", "missing.bin"}) {
    ModelBuilder m;
    m.input("x", F32, {2}).output("y", F32).externalInitializer("w", {2}, location);
    m.node("Add", {"x", "w"}, {"y"});
    std::string dir = ::testing::TempDir() + "/kiln_ext";
    std::system(("mkdir -p " + dir).c_str());
    std::ofstream(dir + "/model.onnx", std::ios::binary) << m.bytes();
    std::string want = std::string(location) == "missing.bin" ? "not found"
                       : location[0] == '/'                  ? "must be a relative path"
                                                             : "escapes the model's folder";
    expectError([&] { Session(dir + "/model.onnx"); }, want);
  }
}

TEST(Session, ExternalDataBeyondEndOfFileIsRefused) {
  std::string dir = ::testing::TempDir() + "/kiln_ext2";
  std::system(("mkdir -p " + dir).c_str());
  float w[2] = {1, 2};
  std::ofstream(dir + "/w.bin", std::ios::binary).write(reinterpret_cast<char *>(w), 8);
  auto build = [&](const std::string &offset) {
    ModelBuilder m;
    m.input("x", F32, {2}).output("y", F32).externalInitializer("w", {2}, "w.bin", offset);
    m.node("Add", {"x", "w"}, {"y"});
    std::ofstream(dir + "/model.onnx", std::ios::binary) << m.bytes();
  };
  build("4");
  expectError([&] { Session(dir + "/model.onnx"); }, "external data has 4 bytes, shape needs 8");
  build("0");
  Session s(dir + "/model.onnx");
  auto out = s.run({{"x", Tensor::fromVector<float>(ElementType::Float32, {2}, {10, 20})}});
  EXPECT_FLOAT_EQ(out.at("y").data<float>()[1], 22);
}

TEST(Session, ConcurrentRunsAgree) {
  ModelBuilder m;
  m.input("x", F32, {64, 64}).initializer("W", {64, 64}, std::vector<float>(64 * 64, 0.01f));
  m.output("y", F32);
  m.node("MatMul", {"x", "W"}, {"h"});
  m.node("Tanh", {"h"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2));
  Tensor x(ElementType::Float32, {64, 64});
  for (int i = 0; i < 64 * 64; ++i)
    x.data<float>()[i] = float(i % 17) - 8;
  Tensor reference = s.run({{"x", x}}).at("y");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int iter = 0; iter < 20; ++iter) {
        Tensor y = s.run({{"x", x}}).at("y");
        mismatches[t] += std::memcmp(y.data(), reference.data(), y.byteSize()) != 0;
      }
    });
  for (auto &t : threads)
    t.join();
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  float row0 = 0;
  for (int j = 0; j < 64; ++j)
    row0 += 0.01f * x.data<float>()[j];
  EXPECT_NEAR(reference.data<float>()[0], std::tanh(row0), 1e-5);
}

TEST(Session, ShapeInputIsSpecializedByValue) {
  ModelBuilder m;
  m.input("data", F32, {2, 3}).input("shape", I64, {2}).output("y", F32);
  m.node("Reshape", {"data", "shape"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size());
  auto out = s.run({{"data", input2x3()},
                    {"shape", Tensor::fromVector<int64_t>(ElementType::Int64, {2}, {3, -1})}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{3, 2}));
  out = s.run({{"data", input2x3()},
               {"shape", Tensor::fromVector<int64_t>(ElementType::Int64, {2}, {1, 6})}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{1, 6}));
  EXPECT_FLOAT_EQ(out.at("y").data<float>()[3], 2);
}

TEST(Session, SizesFromInputValuesAreBounded) {
  // The shape is data: compiled once, sized when the code runs.
  ModelBuilder m;
  m.input("shape", I64, {2}).output("y", F32);
  auto &n = m.node("ConstantOfShape", {"shape"}, {"y"});
  (void)n;
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withSpecializeShapes(false), "cos");
  EXPECT_EQ(s.compileReport().shapes, "dynamic");
  auto out = s.run({{"shape", Tensor::fromVector<int64_t>(ElementType::Int64, {2}, {2, 3})}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{2, 3}));
  expectError(
      [&] {
        s.run({{"shape", Tensor::fromVector<int64_t>(ElementType::Int64, {2},
                                                      {int64_t(1) << 20, int64_t(1) << 20})}});
      },
      "bytes at once, more than the limit");
  // The session still works afterwards.
  out = s.run({{"shape", Tensor::fromVector<int64_t>(ElementType::Int64, {2}, {1, 4})}});
  EXPECT_EQ(out.at("y").shape(), (std::vector<int64_t>{1, 4}));
}

TEST(Session, HugeTensorsAreRefused) {
  ModelBuilder m;
  m.input("x", F32, {2}).output("y", F32);
  auto *shape = m.model().mutable_graph()->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(3);
  for (int64_t d : {100000, 100000, 1000})
    shape->add_int64_data(d);
  m.node("ConstantOfShape", {"shape"}, {"big"}, "huge");
  m.node("Add", {"x", "big"}, {"y"});
  std::string bytes = m.bytes();
  expectError([&] { Session(bytes.data(), bytes.size(), {}, "bomb"); },
              "node 'huge' (ConstantOfShape): a tensor of shape [100000,100000,1000] exceeds the limit "
              "of 8 GiB (Limits::maxTensorBytes)");
}

TEST(Session, TablesComputedWhileCompilingAreBounded) {
  // A OneHot depth of 1e12 (999999995904 as a float) would need an iota that
  // long: refused, not allocated.
  ModelBuilder m(11);
  m.input("i", onnx::TensorProto::INT64, {2}).output("y", onnx::TensorProto::FLOAT);
  m.initializer("depth", {}, {1e12f}).initializer("values", {2}, {0.0f, 1.0f});
  m.node("OneHot", {"i", "depth", "values"}, {"y"}, "onehot");
  std::string bytes = m.bytes();
  expectError([&] { Session s(bytes.data(), bytes.size()); },
              "node 'onehot' (OneHot): depth would need 999999995904 entries computed while compiling");
}

TEST(Session, IndexOutOfRangeFailsTheRunAndTheSessionStaysUsable) {
  // A table lookup large enough to run as a parallel loop on two threads:
  // the bad index is found inside a chunk on whichever thread.
  ModelBuilder m;
  m.input("table", F32, {1000, 64}).input("ids", I64, {-1}, {"n"}).output("y", F32);
  m.node("Gather", {"table", "ids"}, {"y"}, "lookup");
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2), "embedding");
  Tensor table(ElementType::Float32, {1000, 64});
  for (int i = 0; i < 1000 * 64; ++i)
    table.data<float>()[i] = float(i);
  std::vector<int64_t> ids(4096);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int64_t(i % 1000) - (i % 2 ? 1000 : 0); // negative ones count from the end
  auto good = Tensor::fromVector<int64_t>(ElementType::Int64, {4096}, ids);
  for (int64_t bad : {int64_t(1000), int64_t(-1001), int64_t(1) << 40}) {
    std::vector<int64_t> withBad = ids;
    withBad[3000] = bad;
    expectError([&] {
      s.run({{"table", table}, {"ids", Tensor::fromVector<int64_t>(ElementType::Int64, {4096}, withBad)}});
    }, "model 'embedding': node 'lookup' (Gather): an index is out of range");
  }
  // Runs after the failures compute the right values.
  for (int run = 0; run < 3; ++run) {
    Tensor y = s.run({{"table", table}, {"ids", good}}).at("y");
    ASSERT_EQ(y.shape(), (std::vector<int64_t>{4096, 64}));
    for (int64_t i : {0, 1, 2999, 4095}) {
      int64_t row = ids[i] < 0 ? ids[i] + 1000 : ids[i];
      EXPECT_EQ(y.data<float>()[i * 64 + 5], float(row * 64 + 5)) << "row " << i;
    }
  }
}

TEST(Session, LoopIterationsAreBoundedPerRun) {
  // y = x + 1 added n times: a loop with a trip count from an input.
  ModelBuilder m;
  m.input("n", I64, {}).input("x", F32, {2}).output("y", F32);
  auto &loop = m.node("Loop", {"n", "", "x"}, {"y"}, "count");
  auto *body = loop.add_attribute();
  body->set_name("body");
  body->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto *g = body->mutable_g();
  g->set_name("body");
  auto declare = [](onnx::ValueInfoProto *v, const char *name, int type) {
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  };
  declare(g->add_input(), "i", I64);
  declare(g->add_input(), "c", onnx::TensorProto::BOOL);
  declare(g->add_input(), "v", F32);
  declare(g->add_output(), "c_out", onnx::TensorProto::BOOL);
  declare(g->add_output(), "v_out", F32);
  auto *one = g->add_initializer();
  one->set_name("one");
  one->set_data_type(F32);
  one->add_float_data(1);
  auto *keep = g->add_node();
  keep->set_op_type("Identity");
  keep->add_input("c");
  keep->add_output("c_out");
  auto *add = g->add_node();
  add->set_op_type("Add");
  add->add_input("v");
  add->add_input("one");
  add->add_output("v_out");
  std::string bytes = m.bytes();
  Limits limits;
  limits.maxLoopIterations = 100;
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withLimits(limits), "loop");
  Tensor x = Tensor::fromVector<float>(ElementType::Float32, {2}, {0, 10});
  auto runWith = [&](int64_t n) {
    return s.run({{"n", Tensor::fromVector<int64_t>(ElementType::Int64, {}, {n})}, {"x", x}}).at("y");
  };
  EXPECT_EQ(runWith(100).data<float>()[1], 110);
  expectError([&] { runWith(101); }, "loops ran more than 100 iterations in one run");
  // The bound is per run: the next one starts counting afresh.
  EXPECT_EQ(runWith(7).data<float>()[0], 7);
}

TEST(Session, StressConcurrentRunsWithDifferentInputs) {
  // One session, 8 threads x 500 runs, each with its own input: every
  // output must equal the single-threaded run of the same input.
  ModelBuilder m;
  m.input("x", F32, {16, 32}).initializer("W", {32, 24}, [] {
    std::vector<float> w(32 * 24);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 0.01f * float(int(i % 13) - 6);
    return w;
  }());
  m.output("y", F32);
  m.node("MatMul", {"x", "W"}, {"h"});
  m.node("Tanh", {"h"}, {"t"});
  m.node("Softmax", {"t"}, {"y"});
  std::string bytes = m.bytes();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2), "stress");
  constexpr int kThreads = 8, kRuns = 500, kInputs = 64;
  auto inputFor = [](int k) {
    Tensor x(ElementType::Float32, {16, 32});
    for (int i = 0; i < 16 * 32; ++i)
      x.data<float>()[i] = float((i * 7 + k * 13) % 29) * 0.1f - 1.4f;
    return x;
  };
  std::vector<Tensor> inputs, expected;
  for (int k = 0; k < kInputs; ++k) {
    inputs.push_back(inputFor(k));
    expected.push_back(s.run({{"x", inputs.back()}}).at("y"));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        int k = (t * 31 + r * 7) % kInputs;
        Tensor y = s.run({{"x", inputs[k]}}).at("y");
        mismatches[t] += std::memcmp(y.data(), expected[k].data(), y.byteSize()) != 0;
      }
    });
  for (auto &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(Session, StressConcurrentCreationAndDestruction) {
  // Sessions of different models created, run and destroyed from 4 threads
  // at once share the compiler's process-wide state.
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        float scale = float(t * 3 + i + 1);
        ModelBuilder m;
        m.input("x", F32, {2, 3}).initializer("s", {3}, {scale, scale, scale}).output("y", F32);
        m.node("Mul", {"x", "s"}, {"y"});
        std::string bytes = m.bytes();
        Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1));
        Tensor y = s.run({{"x", input2x3()}}).at("y");
        for (int e = 0; e < 6; ++e)
          wrong[t] += y.data<float>()[e] != input2x3().data<float>()[e] * scale;
      }
    });
  for (auto &t : threads)
    t.join();
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

TEST(Session, ConcurrentCompilationMatchesSerial) {
  // Compiled on two threads, passes nested on functions run in parallel and
  // the distinct register-tiled kernels (three convolutions of other
  // shapes, a batched GEMM) are lowered at once: the code must be the code
  // compiled on one thread, bit for bit.
  using kiln::test::testValues;
  ModelBuilder m;
  m.input("x", F32, {1, 8, 32, 32})
      .initializer("k1", {32, 8, 3, 3}, testValues(32 * 8 * 9, 0.1f))
      .initializer("k2", {64, 32, 1, 1}, testValues(64 * 32, 0.1f))
      .initializer("k3", {32, 64, 3, 3}, testValues(32 * 64 * 9, 0.05f))
      .initializer("w", {30, 48}, testValues(30 * 48, 0.1f))
      .output("y", F32);
  onnx::NodeProto &c1 = m.node("Conv", {"x", "k1"}, {"c1"});
  auto *pads = c1.add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i)
    pads->add_ints(1);
  m.node("Relu", {"c1"}, {"r1"});
  m.node("Conv", {"r1", "k2"}, {"c2"});
  m.node("Conv", {"c2", "k3"}, {"c3"});
  m.node("MatMul", {"c3", "w"}, {"y"});
  std::string bytes = m.bytes();
  Tensor x(ElementType::Float32, {1, 8, 32, 32});
  std::vector<float> v = testValues(x.numElements(), 1.0f);
  std::copy(v.begin(), v.end(), x.data<float>());
  Session serial(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "serial");
  Session parallel(bytes.data(), bytes.size(), SessionOptions{}.withThreads(2), "parallel");
  Tensor want = serial.run({{"x", x}}).at("y");
  Tensor got = parallel.run({{"x", x}}).at("y");
  ASSERT_EQ(got.shape(), (std::vector<int64_t>{1, 32, 30, 48}));
  ASSERT_EQ(want.shape(), got.shape());
  double sum = 0;
  for (int64_t i = 0; i < got.numElements(); ++i) {
    ASSERT_EQ(got.data<float>()[i], want.data<float>()[i]) << "element " << i;
    sum += std::fabs(want.data<float>()[i]);
  }
  EXPECT_GT(sum, 0.0) << "an all-zero result would agree without computing anything";
}
