//===- CacheTest.cpp - kernel cache and .kiln artifacts -------------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include "runtime/Artifact.h"
#include <gtest/gtest.h>
#include <cstring>
#include <functional>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace kiln;
using kiln::test::ModelBuilder;
using kiln::test::expectError;

namespace {
constexpr int F32 = onnx::TensorProto::FLOAT;

std::string model(float scale) {
  ModelBuilder m;
  m.input("x", F32, {4, 8}).initializer("w", {8, 3}, std::vector<float>(24, scale));
  m.output("y", F32);
  m.node("MatMul", {"x", "w"}, {"h"});
  m.node("Sigmoid", {"h"}, {"y"});
  return m.bytes();
}

std::string freshDir(const std::string &name) {
  std::string dir = ::testing::TempDir() + "/kiln_cache_" + name + "_" + std::to_string(getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  return dir;
}

std::vector<std::string> entries(const std::string &dir) {
  std::vector<std::string> out;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::strstr(e->d_name, ".kiln"))
        out.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  return out;
}

Tensor input() {
  Tensor x(ElementType::Float32, {4, 8});
  for (int i = 0; i < 32; ++i)
    x.data<float>()[i] = 0.1f * (i % 7) - 0.3f;
  return x;
}

} // namespace

TEST(KernelCache, HitIsBitIdenticalAndCompilesNothing) {
  std::string dir = freshDir("hit"), bytes = model(0.5f);
  auto options = SessionOptions{}.withCacheDirectory(dir);
  Session cold(bytes.data(), bytes.size(), options, "m");
  EXPECT_EQ(cold.compileReport().cache, "miss");
  Tensor a = cold.run({{"x", input()}}).at("y");
  ASSERT_EQ(entries(dir).size(), 1u);
  Session warm(bytes.data(), bytes.size(), options, "m");
  CompileReport r = warm.compileReport();
  EXPECT_EQ(r.cache, "hit");
  EXPECT_EQ(r.passes, 0);
  EXPECT_EQ(r.codegen, 0);
  Tensor b = warm.run({{"x", input()}}).at("y");
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.byteSize()), 0);
  // A different model is a different key.
  std::string other = model(0.25f);
  Session third(other.data(), other.size(), options, "m2");
  EXPECT_EQ(third.compileReport().cache, "miss");
  EXPECT_NE(third.compileReport().cacheKey, r.cacheKey);
}

TEST(KernelCache, ConcurrentWritersLeaveOneValidEntry) {
  std::string dir = freshDir("concurrent"), bytes = model(0.75f);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      try {
        Session s(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
        s.run({{"x", input()}});
        _exit(0);
      } catch (...) {
        _exit(1);
      }
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto files = entries(dir);
  ASSERT_EQ(files.size(), 1u); // no temporary files left behind either
  EXPECT_NO_THROW(loadArtifact(files[0]));
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
  EXPECT_EQ(s.compileReport().cache, "hit");
}

TEST(KernelCache, LeastRecentlyUsedEntriesAreEvicted) {
  std::string dir = freshDir("lru");
  std::string first = model(0.1f), second = model(0.2f);
  Session a(first.data(), first.size(), SessionOptions{}.withCacheDirectory(dir), "a");
  auto files = entries(dir);
  ASSERT_EQ(files.size(), 1u);
  struct stat st;
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  SessionOptions bounded = SessionOptions{}.withCacheDirectory(dir);
  bounded.cacheMaxBytes = st.st_size + st.st_size / 2; // room for one entry
  Session b(second.data(), second.size(), bounded, "b");
  auto after = entries(dir);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], files[0]);
  EXPECT_EQ(b.compileReport().cacheKey + ".kiln", after[0].substr(after[0].rfind('/') + 1));
}

TEST(Artifact, MissingCpuFeatureIsRefusedBeforeLoading) {
  std::string path = freshDir("feature") + ".kiln";
  ArtifactInfo info;
  info.kilnVersion = kilnVersion();
  info.requiredFeatures = {"avx512f", "a-feature-no-cpu-has"};
  writeArtifact(path, std::vector<char>(4096, 0), info);
  expectError([&] { loadArtifact(path); }, "compiled for CPU features this machine lacks");
}

TEST(Artifact, OtherKilnVersionIsRefused) {
  std::string path = freshDir("version") + ".kiln";
  ArtifactInfo info;
  info.kilnVersion = "0.0.1-older";
  writeArtifact(path, std::vector<char>(4096, 0), info);
  expectError([&] { Session s(path); }, "written by Kiln 0.0.1-older, this is Kiln");
}

TEST(Artifact, HostFeaturesAreCheckable) {
  auto host = hostFeatures();
  auto filtered = checkableFeatures({"+avx2", "-avx512f", "+made-up", "sse4.2"});
  for (const auto &f : filtered)
    EXPECT_TRUE(f == "avx2" || f == "sse4.2") << f;
  EXPECT_EQ(filtered.size(), 2u);
  EXPECT_FALSE(host.empty()); // every x86-64 machine Kiln targets has sse4.2
}

TEST(KernelCache, FoldersAndEntriesArePrivate) {
  std::string dir = freshDir("private") + "/nested/cache", bytes = model(0.5f);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
  ASSERT_EQ(s.compileReport().cache, "miss");
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto found = entries(dir);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(stat(found[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(KernelCache, EntryWritableByOthersIsRecompiled) {
  std::string dir = freshDir("writable"), bytes = model(0.5f);
  auto options = SessionOptions{}.withCacheDirectory(dir);
  { Session cold(bytes.data(), bytes.size(), options, "m"); }
  auto found = entries(dir);
  ASSERT_EQ(found.size(), 1u);
  for (mode_t mode : {0620, 0602}) {
    ASSERT_EQ(chmod(found[0].c_str(), mode), 0);
    ::testing::internal::CaptureStderr();
    Session warm(bytes.data(), bytes.size(), options, "m");
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(warm.compileReport().cache, "miss") << "mode " << std::oct << mode;
    EXPECT_NE(err.find("may be written by group or others"), std::string::npos) << err;
    EXPECT_NEAR(warm.run({{"x", input()}}).at("y").data<float>()[0],
                Session(bytes.data(), bytes.size()).run({{"x", input()}}).at("y").data<float>()[0], 0);
    // The recompiled entry replaced it, private again.
    struct stat st;
    ASSERT_EQ(stat(found[0].c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
}

TEST(KernelCache, FolderWritableByOthersIsNotUsed) {
  std::string dir = freshDir("shared"), bytes = model(0.5f);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  ::testing::internal::CaptureStderr();
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withCacheDirectory(dir), "m");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.compileReport().cache, "off");
  EXPECT_NE(err.find("not using the kernel cache folder"), std::string::npos) << err;
  EXPECT_TRUE(entries(dir).empty());
}

TEST(KernelCache, EntryOwnedByAnotherUserIsRecompiled) {
  if (geteuid() != 0)
    GTEST_SKIP() << "giving a file to another user needs root";
  std::string dir = freshDir("owner"), bytes = model(0.5f);
  auto options = SessionOptions{}.withCacheDirectory(dir);
  { Session cold(bytes.data(), bytes.size(), options, "m"); }
  auto found = entries(dir);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(chown(found[0].c_str(), 65534, 65534), 0);
  ::testing::internal::CaptureStderr();
  Session warm(bytes.data(), bytes.size(), options, "m");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(warm.compileReport().cache, "miss");
  EXPECT_NE(err.find("is owned by another user"), std::string::npos) << err;
}
