//===- WeightsTest.cpp - weights as run-time data -------------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerInterface.h"
#include <gtest/gtest.h>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <unistd.h>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::expectError;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

std::vector<float> weightValues() {
  std::vector<float> w(4 * 8);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.25f * i - 3.0f;
  return w;
}

/// y = x · w with x of shape [n, 4], n symbolic.
std::string matmulModel() {
  ModelBuilder m;
  m.input("x", F32, {-1, 4}, {"n"}).initializer("w", {4, 8}, weightValues());
  m.output("y", F32);
  m.node("MatMul", {"x", "w"}, {"y"});
  return m.bytes();
}

std::vector<char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

size_t occurrences(const std::vector<char> &hay, const std::vector<float> &needle) {
  const char *n = reinterpret_cast<const char *>(needle.data());
  size_t size = needle.size() * sizeof(float), count = 0;
  for (size_t at = 0; at + size <= hay.size(); ++at)
    count += std::memcmp(hay.data() + at, n, size) == 0;
  return count;
}
} // namespace

TEST(Weights, ShapeVariantsOfOneSessionShareOneBlob) {
  detail::CompilerFactory factory = detail::compilerFactory();
  ASSERT_NE(factory, nullptr);
  std::string bytes = matmulModel();
  auto compiler = factory("matmul", bytes.data(), bytes.size(), /*mappedFile=*/false, SessionOptions{});
  detail::Specialization two, three;
  two.shapes["x"] = {2, 4};
  three.shapes["x"] = {3, 4};
  auto a = compiler->compile(two).executable, b = compiler->compile(three).executable;
  ASSERT_NE(a->weights, nullptr);
  EXPECT_EQ(a->weights.get(), b->weights.get());
  EXPECT_EQ(a->weightsSize, 4u * 8 * sizeof(float));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->weights.get()) % 64, 0u);
  EXPECT_EQ(std::memcmp(a->weights.get(), weightValues().data(), a->weightsSize), 0);
}

TEST(Weights, VariantsComputeWithTheirSharedWeights) {
  std::string bytes = matmulModel();
  Session s(bytes.data(), bytes.size(), SessionOptions{}, "matmul");
  std::vector<float> w = weightValues();
  for (int64_t n : {1, 5, 2}) {
    Tensor x(ElementType::Float32, {n, 4});
    for (int64_t i = 0; i < n * 4; ++i)
      x.data<float>()[i] = 0.5f * (i % 5) - 1.0f;
    Tensor y = s.run({{"x", x}}).at("y");
    ASSERT_EQ(y.shape(), (std::vector<int64_t>{n, 8}));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < 8; ++c) {
        float want = 0;
        for (int64_t k = 0; k < 4; ++k)
          want += x.data<float>()[r * 4 + k] * w[k * 8 + c];
        EXPECT_NEAR(y.data<float>()[r * 8 + c], want, 1e-5f) << "n=" << n;
      }
  }
}

TEST(Weights, ArtifactHoldsTheBlobOnceAndRefusesACorruptOne) {
  std::string dir = ::testing::TempDir() + "/kiln_weights_" + std::to_string(getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  ModelBuilder m;
  m.input("x", F32, {2, 4}).initializer("w", {4, 8}, weightValues());
  m.output("y", F32);
  m.node("MatMul", {"x", "w"}, {"y"});
  std::string bytes = m.bytes();
  Session cold(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
  std::string path = dir + "/" + cold.compileReport().cacheKey + ".kiln";
  std::vector<char> file = readFile(path);
  ASSERT_FALSE(file.empty()) << path;
  EXPECT_EQ(occurrences(file, weightValues()), 1u);

  // A warm session reads the weights from the artifact.
  Session warm(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
  EXPECT_EQ(warm.compileReport().cache, "hit");
  Tensor x(ElementType::Float32, {2, 4});
  for (int i = 0; i < 8; ++i)
    x.data<float>()[i] = 0.125f * i;
  Tensor hot = warm.run({{"x", x}}).at("y"), ref = cold.run({{"x", x}}).at("y");
  EXPECT_EQ(std::memcmp(hot.data(), ref.data(), ref.byteSize()), 0);

  // One flipped bit in the weights: refused like corrupt code.
  std::vector<float> w = weightValues();
  const char *n = reinterpret_cast<const char *>(w.data());
  for (size_t at = 0; at + 128 <= file.size(); ++at)
    if (std::memcmp(file.data() + at, n, 128) == 0) {
      file[at + 17] ^= 0x10;
      break;
    }
  std::string bad = dir + "/corrupt.kiln";
  std::ofstream(bad, std::ios::binary).write(file.data(), file.size());
  expectError([&] { loadArtifact(bad); }, "corrupted (checksum mismatch)");
  std::system(("rm -rf '" + dir + "'").c_str());
}
