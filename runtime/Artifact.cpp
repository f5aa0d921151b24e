//===- Artifact.cpp - .kiln files: compiled code plus its plan -----------===//
#include "runtime/Artifact.h"
#include <algorithm>
#include <cerrno>
#include <optional>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln {

const char *kilnVersion() { return "0.1.0"; }

namespace {
constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'A', 'R', 'T', '\0'};
constexpr uint32_t kFormat = 3;
/// Where the weight blob starts is a multiple of this (it is mapped as is).
constexpr uint64_t kWeightsAlignment = 64;
/// The file: the shared object, the weight blob (aligned), the metadata
/// text, this trailer. The checksum covers everything before the trailer.
struct Trailer {
  char magic[8];
  uint32_t format, reserved;
  uint64_t objectSize, weightsOffset, weightsSize, metadataSize, checksum;
};
static_assert(sizeof(Trailer) == 56, "trailer layout");

/// Features the runtime can test, with their probe.
struct Feature {
  const char *name;
  bool (*present)();
};
#define KILN_FEATURE(n) {n, [] { return (bool)__builtin_cpu_supports(n); }}
const Feature kFeatures[] = {
    KILN_FEATURE("sse4.2"),   KILN_FEATURE("avx"),      KILN_FEATURE("avx2"),
    KILN_FEATURE("fma"),      KILN_FEATURE("f16c"),     KILN_FEATURE("bmi2"),
    KILN_FEATURE("avx512f"),  KILN_FEATURE("avx512bw"), KILN_FEATURE("avx512dq"),
    KILN_FEATURE("avx512vl"), KILN_FEATURE("avx512cd"), KILN_FEATURE("avx512vnni"),
    KILN_FEATURE("avx512bf16"), KILN_FEATURE("avx512fp16"),
};
#undef KILN_FEATURE

std::string escape(const std::string &s) {
  std::string o;
  for (unsigned char c : s) {
    if (c <= ' ' || c == '%' || c >= 127) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      o += buf;
    } else {
      o += char(c);
    }
  }
  return o.empty() ? "%" : o;
}

std::string unescape(const std::string &s) {
  if (s == "%")
    return "";
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && i + 2 <= s.size() - 1) {
      auto hex = [&](char c) -> int {
        if (c >= '0' && c <= '9')
          return c - '0';
        if (c >= 'a' && c <= 'f')
          return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
          return c - 'A' + 10;
        throw Error("corrupted metadata (escape '%" + s.substr(i + 1, 2) + "')");
      };
      o += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      o += s[i];
    }
  }
  return o;
}

std::string dims(const std::vector<int64_t> &d) {
  std::string r;
  for (size_t i = 0; i < d.size(); ++i)
    r += (i ? "," : "") + std::to_string(d[i]);
  return r.empty() ? "-" : r;
}

std::optional<ElementType> typeNamed(const std::string &n) {
  for (int t = 0; t < kNumElementTypes; ++t)
    if (n == elementTypeName(ElementType(t)))
      return ElementType(t);
  return std::nullopt;
}

std::string serialize(const ArtifactInfo &info) {
  std::ostringstream os;
  os << "kiln-version " << escape(info.kilnVersion) << "\n"
     << "compiler " << escape(info.compilerVersion) << "\n"
     << "triple " << escape(info.triple) << "\n"
     << "cpu " << escape(info.cpu) << "\n"
     << "model " << escape(info.model) << "\n"
     << "key " << escape(info.key) << "\n";
  os << "requires";
  for (const auto &f : info.requiredFeatures)
    os << " " << escape(f);
  os << "\n";
  for (const auto &a : info.inputs)
    os << "input " << escape(a.name) << " " << elementTypeName(a.type) << " " << dims(a.shape) << "\n";
  for (const auto &a : info.outputs)
    os << "output " << escape(a.name) << " " << elementTypeName(a.type) << " " << dims(a.shape) << "\n";
  return os.str();
}

/// More dims than any tensor Kiln compiles has.
constexpr size_t kMaxRank = 64;

ArtifactInfo parse(const std::string &text, const std::string &what) {
  ArtifactInfo info;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    auto word = [&] {
      std::string w;
      ls >> w;
      return unescape(w);
    };
    if (key == "kiln-version") info.kilnVersion = word();
    else if (key == "compiler") info.compilerVersion = word();
    else if (key == "triple") info.triple = word();
    else if (key == "cpu") info.cpu = word();
    else if (key == "model") info.model = word();
    else if (key == "key") info.key = word();
    else if (key == "requires") {
      std::string f;
      while (ls >> f)
        info.requiredFeatures.push_back(unescape(f));
    } else if (key == "input" || key == "output") {
      ArgSpec a;
      a.name = word();
      std::string type, shape;
      ls >> type >> shape;
      auto t = typeNamed(type);
      if (!t)
        throw Error(what + ": corrupted metadata (type '" + type + "')");
      a.type = *t;
      if (shape != "-") {
        std::stringstream ss(shape);
        std::string d;
        while (std::getline(ss, d, ',')) {
          char *end = nullptr;
          errno = 0;
          long long v = std::strtoll(d.c_str(), &end, 10);
          if (d.empty() || *end || errno || v < -1 || a.shape.size() >= kMaxRank)
            throw Error(what + ": corrupted metadata (shape '" + shape.substr(0, 64) + "')");
          a.shape.push_back(v);
        }
      }
      (key == "input" ? info.inputs : info.outputs).push_back(a);
    }
  }
  return info;
}

struct Mapping {
  void *base = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (base != MAP_FAILED)
      munmap(base, size);
  }
};
} // namespace

namespace {
/// checksum64 over bytes given in pieces.
class Checksum {
public:
  void add(const void *data, size_t size) {
    if (!size)
      return; // `data` may be null then
    const unsigned char *p = static_cast<const unsigned char *>(data);
    total += size;
    if (pending) {
      size_t take = std::min(size, sizeof block - pending);
      std::memcpy(block + pending, p, take);
      pending += take, p += take, size -= take;
      if (pending < sizeof block)
        return;
      mix(block);
      pending = 0;
    }
    for (; size >= 32; p += 32, size -= 32)
      mix(p);
    std::memcpy(block, p, size);
    pending = size;
  }
  uint64_t finish() const {
    const uint64_t k = 0x9E3779B97F4A7C15ULL;
    uint64_t r = total;
    for (int l = 0; l < 4; ++l)
      r = (r ^ h[l]) * k, r ^= r >> 29;
    for (size_t i = 0; i < pending; ++i)
      r = (r ^ block[i]) * 0x100000001b3ULL;
    return r ^ (r >> 31);
  }

private:
  // Four independent multiply-xor lanes over 8-byte words, then the tail.
  void mix(const unsigned char *p) {
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, p + 8 * l, 8);
      h[l] = (h[l] ^ w) * 0xff51afd7ed558ccdULL;
      h[l] ^= h[l] >> 32;
    }
  }
  uint64_t h[4] = {0x9E3779B97F4A7C15ULL, 0x9E3779B97F4A7C15ULL ^ 1,
                   0x9E3779B97F4A7C15ULL ^ 2, 0x9E3779B97F4A7C15ULL ^ 3};
  unsigned char block[32];
  size_t pending = 0, total = 0;
};
} // namespace

uint64_t checksum64(const void *data, size_t size) {
  Checksum c;
  c.add(data, size);
  return c.finish();
}

std::vector<std::string> checkableFeatures(const std::vector<std::string> &features) {
  std::vector<std::string> out;
  for (std::string f : features) {
    if (!f.empty() && f[0] == '-')
      continue;
    if (!f.empty() && f[0] == '+')
      f = f.substr(1);
    for (const auto &k : kFeatures)
      if (f == k.name)
        out.push_back(f);
  }
  return out;
}

std::vector<std::string> hostFeatures() {
  std::vector<std::string> out;
  __builtin_cpu_init();
  for (const auto &k : kFeatures)
    if (k.present())
      out.push_back(k.name);
  return out;
}

void writeArtifact(const std::string &path, const std::vector<char> &object,
                   const ArtifactInfo &info, const char *weights, size_t weightsSize,
                   unsigned mode) {
  std::string meta = serialize(info);
  Trailer t{};
  std::memcpy(t.magic, kMagic, 8);
  t.format = kFormat;
  t.objectSize = object.size();
  t.weightsOffset = (object.size() + kWeightsAlignment - 1) / kWeightsAlignment * kWeightsAlignment;
  t.weightsSize = weightsSize;
  t.metadataSize = meta.size();
  std::vector<char> padding(t.weightsOffset - object.size(), 0);
  struct Piece {
    const char *data;
    size_t size;
  } pieces[] = {{object.data(), object.size()},
                {padding.data(), padding.size()},
                {weights, weightsSize},
                {meta.data(), meta.size()}};
  Checksum sum;
  for (const Piece &p : pieces)
    sum.add(p.data, p.size);
  t.checksum = sum.finish();

  std::string tmp = path + ".tmp." + std::to_string(getpid());
  // A fresh file (never one planted at the temporary name, nor a link).
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  if (fd < 0)
    throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
  auto fail = [&](int e) {
    close(fd);
    unlink(tmp.c_str());
    throw Error("cannot write '" + tmp + "': " + std::strerror(e));
  };
  auto writeAll = [&](const char *data, size_t size) {
    for (size_t done = 0; done < size;) {
      ssize_t n = write(fd, data + done, size - done);
      if (n <= 0)
        fail(n < 0 ? errno : EIO);
      done += n;
    }
  };
  for (const Piece &p : pieces)
    writeAll(p.data, p.size);
  writeAll(reinterpret_cast<const char *>(&t), sizeof t);
  if (fsync(fd) != 0)
    fail(errno);
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw Error("cannot write '" + tmp + "': " + std::strerror(e));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
}

ArtifactInfo verifyArtifact(const char *bytes, size_t size, const std::string &what) {
  Trailer t;
  if (size < sizeof t)
    throw Error(what + ": truncated (" + std::to_string(size) + " bytes)");
  std::memcpy(&t, bytes + size - sizeof t, sizeof t);
  if (std::memcmp(t.magic, kMagic, 8) != 0)
    throw Error(what + ": not a Kiln artifact, or truncated");
  if (t.format != kFormat)
    throw Error(what + ": format " + std::to_string(t.format) + ", this Kiln reads format " +
                std::to_string(kFormat));
  uint64_t objectEnd = (t.objectSize + kWeightsAlignment - 1) / kWeightsAlignment * kWeightsAlignment;
  if (t.objectSize > size || t.weightsOffset != objectEnd || t.weightsSize > size ||
      t.metadataSize > size ||
      t.weightsOffset + t.weightsSize + t.metadataSize + sizeof t != size)
    throw Error(what + ": truncated or padded (sizes do not add up)");
  if (checksum64(bytes, size - sizeof t) != t.checksum)
    throw Error(what + ": corrupted (checksum mismatch)");
  ArtifactInfo info =
      parse(std::string(bytes + t.weightsOffset + t.weightsSize, t.metadataSize), what);
  if (info.kilnVersion != kilnVersion())
    throw Error(what + ": written by Kiln " + info.kilnVersion + ", this is Kiln " + kilnVersion());
  auto host = hostFeatures();
  for (const auto &f : info.requiredFeatures)
    if (std::find(host.begin(), host.end(), f) == host.end())
      throw Error(what + ": compiled for CPU features this machine lacks (" + f + ")");
  return info;
}

std::shared_ptr<const Executable> loadArtifact(const std::string &path, ArtifactInfo *infoOut) {
  std::string what = "artifact '" + path + "'";
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    throw Error(what + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw Error(what + ": not a regular file");
  }
  if ((size_t)st.st_size < sizeof(Trailer)) {
    close(fd);
    throw Error(what + ": truncated (" + std::to_string(st.st_size) + " bytes)");
  }
  auto mapping = std::make_shared<Mapping>();
  Mapping &m = *mapping;
  m.size = st.st_size;
  m.base = mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m.base == MAP_FAILED) {
    int e = errno;
    close(fd);
    throw Error(what + ": cannot map: " + std::strerror(e));
  }
  const char *bytes = static_cast<const char *>(m.base);
  ArtifactInfo info;
  try {
    info = verifyArtifact(bytes, m.size, what);
  } catch (...) {
    close(fd);
    throw;
  }
  Trailer t;
  std::memcpy(&t, bytes + m.size - sizeof t, sizeof t);
  close(fd);
  // Verified: now let the dynamic loader map the object part.
  // A name without a slash would be looked up on the library search path.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    throw Error(what + ": cannot load: " + dlerror());
  auto exe = std::make_shared<Executable>();
  exe->code = std::shared_ptr<void>(handle, [](void *h) { dlclose(h); });
  exe->entry = reinterpret_cast<void (*)(void **)>(dlsym(handle, "_mlir__mlir_ciface_main_graph"));
  if (!exe->entry)
    throw Error(what + ": has no entry point");
  exe->inputs = info.inputs;
  exe->outputs = info.outputs;
  if (t.weightsSize) {
    // The weights are read in place from the verified mapping.
    exe->weights = std::shared_ptr<const char>(mapping, bytes + t.weightsOffset);
    exe->weightsSize = t.weightsSize;
  }
  if (infoOut)
    *infoOut = std::move(info);
  return exe;
}

} // namespace kiln
