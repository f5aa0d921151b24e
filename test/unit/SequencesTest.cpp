//===- SequencesTest.cpp - sequence and optional graph inputs and outputs -===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace kiln;
using kiln::test::expectError;
using kiln::test::ModelBuilder;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

/// Wraps the tensor type of graph value `v` in sequence_type and/or
/// optional_type.
void wrap(onnx::ValueInfoProto &v, bool sequence, bool optional) {
  onnx::TypeProto tensor = v.type();
  onnx::TypeProto inner = tensor;
  if (sequence) {
    inner.Clear();
    *inner.mutable_sequence_type()->mutable_elem_type() = tensor;
  }
  onnx::TypeProto outer = inner;
  if (optional) {
    outer.Clear();
    *outer.mutable_optional_type()->mutable_elem_type() = inner;
  }
  *v.mutable_type() = outer;
}

Tensor f32(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::fromVector(ElementType::Float32, std::move(shape), values);
}

std::vector<float> valuesOf(const Tensor &t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numElements());
}

/// xs (sequence of float[?]) and y (float[?]): ys = xs with y appended,
/// cat = xs concatenated, n = number of tensors in xs, none = an empty
/// sequence.
std::string sequenceModel() {
  ModelBuilder m;
  m.input("xs", F32, {-1}, {"len"}).input("y", F32, {-1}, {"ylen"});
  m.output("ys", F32).output("cat", F32).output("n", onnx::TensorProto::INT64).output("empty", F32);
  wrap(*m.model().mutable_graph()->mutable_input(0), true, false);
  wrap(*m.model().mutable_graph()->mutable_output(0), true, false);
  wrap(*m.model().mutable_graph()->mutable_output(3), true, false);
  m.node("SequenceInsert", {"xs", "y"}, {"ys"});
  auto &cat = m.node("ConcatFromSequence", {"xs"}, {"cat"});
  auto *axis = cat.add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  m.node("SequenceLength", {"xs"}, {"n"});
  m.node("SequenceEmpty", {}, {"empty"});
  return m.bytes();
}

TEST(Sequences, SequenceInputsAndOutputsCompiledPerStructure) {
  std::string bytes = sequenceModel();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "seq.onnx");
  ASSERT_EQ(s.inputs().size(), 2u);
  EXPECT_TRUE(s.inputs()[0].sequence);
  EXPECT_FALSE(s.inputs()[1].sequence);
  EXPECT_TRUE(s.outputs()[0].sequence);

  auto out = s.runValues({{"xs", OnnxValue::sequence({f32({2}, {1, 2}), f32({1}, {3})})},
                          {"y", f32({1}, {4})}});
  ASSERT_TRUE(out.at("ys").isSequence());
  const auto &ys = out.at("ys").items();
  ASSERT_EQ(ys.size(), 3u);
  EXPECT_EQ(valuesOf(ys[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(valuesOf(ys[2]), (std::vector<float>{4}));
  EXPECT_EQ(valuesOf(out.at("cat").tensor()), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(out.at("n").tensor().data<int64_t>()[0], 2);
  ASSERT_TRUE(out.at("empty").isSequence());
  EXPECT_TRUE(out.at("empty").items().empty());
  EXPECT_EQ(s.compileReport().shapes, "per-shape");

  // Another number of tensors: compiled again for it.
  out = s.runValues({{"xs", OnnxValue::sequence({f32({1}, {5}), f32({1}, {6}), f32({2}, {7, 8})})},
                     {"y", f32({2}, {9, 10})}});
  EXPECT_EQ(out.at("ys").items().size(), 4u);
  EXPECT_EQ(valuesOf(out.at("cat").tensor()), (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(out.at("n").tensor().data<int64_t>()[0], 3);

  // Concatenating no tensors is an error of the model's node, not a crash.
  expectError([&] { s.runValues({{"xs", OnnxValue::sequence({})}, {"y", f32({1}, {1})}}); },
              "ConcatFromSequence on an empty sequence");
}

TEST(Sequences, WrongKindsOfValuesAreRefused) {
  std::string bytes = sequenceModel();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "seq.onnx");
  expectError([&] { s.runValues({{"xs", f32({1}, {1})}, {"y", f32({1}, {1})}}); },
              "input 'xs' is float[1], the model expects a sequence");
  expectError([&] { s.runValues({{"xs", OnnxValue::none()}, {"y", f32({1}, {1})}}); },
              "input 'xs' is none, the model expects a sequence");
  expectError(
      [&] {
        s.runValues({{"xs", OnnxValue::sequence({f32({1, 1}, {1})})}, {"y", f32({1}, {1})}});
      },
      "tensor 0 of input 'xs' has rank 2");
  expectError([&] { s.run({{"y", f32({1}, {1})}}); }, "run it with Session::runValues");
  expectError([&] { OnnxValue::none().tensor(); }, "tensor() on none");
}

/// o: an optional float[2]. has = OptionalHasElement(o), same = Identity(o)
/// (an optional output).
std::string optionalModel() {
  ModelBuilder m(18);
  m.input("o", F32, {2});
  m.output("has", onnx::TensorProto::BOOL).output("same", F32);
  wrap(*m.model().mutable_graph()->mutable_input(0), false, true);
  wrap(*m.model().mutable_graph()->mutable_output(1), false, true);
  m.node("OptionalHasElement", {"o"}, {"has"});
  m.node("Identity", {"o"}, {"same"});
  return m.bytes();
}

TEST(Sequences, OptionalInputsGivenOrEmpty) {
  std::string bytes = optionalModel();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "opt.onnx");
  EXPECT_TRUE(s.inputs()[0].optional);
  auto out = s.runValues({{"o", OnnxValue::none()}});
  EXPECT_EQ(out.at("has").tensor().data<uint8_t>()[0], 0);
  EXPECT_TRUE(out.at("same").isNone());
  out = s.runValues({{"o", f32({2}, {1.5f, -2})}});
  EXPECT_EQ(out.at("has").tensor().data<uint8_t>()[0], 1);
  EXPECT_EQ(valuesOf(out.at("same").tensor()), (std::vector<float>{1.5f, -2}));
  expectError([&] { s.runValues({{"o", f32({3}, {1, 2, 3})}}); }, "input 'o' has shape [3]");
}

/// parts = SplitToSequence(x) along axis 0 into pieces of 2.
std::string splitModel() {
  ModelBuilder m;
  m.input("x", F32, {4});
  m.output("parts", F32);
  wrap(*m.model().mutable_graph()->mutable_output(0), true, false);
  m.initializer("two", {}, {2});
  m.model().mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::INT64);
  m.model().mutable_graph()->mutable_initializer(0)->clear_float_data();
  m.model().mutable_graph()->mutable_initializer(0)->add_int64_data(2);
  m.node("SplitToSequence", {"x", "two"}, {"parts"});
  return m.bytes();
}

TEST(Sequences, CachedCodeAndArtifactsKeepSequenceOutputs) {
  std::string dir = ::testing::TempDir() + "/kiln_seq_cache_" + std::to_string(getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  std::string bytes = splitModel();
  auto options = SessionOptions{}.withThreads(1).withCacheDirectory(dir);
  Tensor x = f32({4}, {1, 2, 3, 4});
  {
    Session cold(bytes.data(), bytes.size(), options, "split.onnx");
    EXPECT_EQ(cold.compileReport().cache, "miss");
    EXPECT_EQ(cold.runValues({{"x", x}}).at("parts").items().size(), 2u);
  }
  Session warm(bytes.data(), bytes.size(), options, "split.onnx");
  EXPECT_EQ(warm.compileReport().cache, "hit");
  auto parts = warm.runValues({{"x", x}}).at("parts").items();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(valuesOf(parts[1]), (std::vector<float>{3, 4}));
  // A cache entry is an artifact: opened alone, its output is a sequence again.
  std::string entry;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::string(e->d_name).find(".kiln") != std::string::npos)
        entry = dir + "/" + e->d_name;
    closedir(d);
  }
  ASSERT_FALSE(entry.empty());
  Session artifact(entry);
  ASSERT_EQ(artifact.outputs().size(), 1u);
  EXPECT_EQ(artifact.outputs()[0].name, "parts");
  EXPECT_TRUE(artifact.outputs()[0].sequence);
  parts = artifact.runValues({{"x", x}}).at("parts").items();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(valuesOf(parts[0]), (std::vector<float>{1, 2}));
}

} // namespace
