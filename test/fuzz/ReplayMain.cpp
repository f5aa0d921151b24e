//===- ReplayMain.cpp - runs a fuzz target over saved inputs --------------===//
//
// Built without libFuzzer in every build: each argument is an input file or
// a folder of them, fed to the target's LLVMFuzzerTestOneInput once. ctest
// replays test/fuzz/regressions/<target>/ this way on every run.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "replay: cannot read '%s'\n", path.c_str());
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    int n = 0;
    DIR *d = opendir(path.c_str());
    std::vector<std::string> names;
    while (dirent *e = d ? readdir(d) : nullptr)
      if (e->d_name[0] != '.')
        names.push_back(path + "/" + e->d_name);
    if (d)
      closedir(d);
    for (const std::string &name : names) {
      int r = replay(name);
      if (r < 0)
        return r;
      n += r;
    }
    return n;
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::fprintf(stderr, "replay: %s\n", path.c_str());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  return 1;
}

int main(int argc, char **argv) {
  int total = 0;
  for (int i = 1; i < argc; ++i) {
    int n = replay(argv[i]);
    if (n < 0)
      return 1;
    total += n;
  }
  std::printf("replayed %d inputs\n", total);
  return 0;
}
