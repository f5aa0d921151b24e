//===- KernelCache.cpp - compiled models stored on disk -------------------===//
//
// An entry is a .kiln artifact named by a SHA-256 key over everything that
// changes the generated code. Entries are written atomically (temporary
// file, fsync, rename), so concurrent writers of one key leave one valid
// entry; loading verifies a checksum first (runtime/Artifact.cpp).
//
//===----------------------------------------------------------------------===//
#include "jit/KernelCache.h"
#include "jit/Compiler.h"
#include "runtime/CompilerInterface.h"
#include "runtime/Artifact.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/SHA256.h"
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <iostream>
#include <sstream>
#include <csignal>
#include <ctime>
#include <sys/stat.h>
#include <vector>

namespace kiln {

static std::string hexOf(llvm::ArrayRef<uint8_t> bytes) {
  static const char *digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes)
    s += digits[b >> 4], s += digits[b & 15];
  return s;
}

std::string modelDigest(const void *modelBytes, size_t modelSize, bool mappedFile) {
  llvm::SHA256 modelHash;
  const auto *bytes = static_cast<const uint8_t *>(modelBytes);
  constexpr size_t kChunk = size_t(4) << 20;
  size_t dropped = 0;
  for (size_t at = 0; at < modelSize; at += kChunk) {
    size_t n = std::min(kChunk, modelSize - at);
    modelHash.update(llvm::ArrayRef<uint8_t>(bytes + at, n));
    if (mappedFile)
      detail::dropMappedPages(modelBytes, at + n, &dropped);
  }
  return hexOf(modelHash.final());
}

namespace {
/// The GNU build ID of the library this function is in (the compiler):
/// code compiled by another build of the compiler, with other strategies,
/// is compiled again rather than found in the cache. "unknown" when the
/// library carries none (then only the version tells builds apart).
const std::string &compilerBuild() {
  static const std::string id = [] {
    struct Search {
      uintptr_t address;
      std::string id;
    } search{reinterpret_cast<uintptr_t>(&compilerBuild), {}};
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) {
          auto *s = static_cast<Search *>(data);
          bool here = false;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr) &p = info->dlpi_phdr[i];
            uintptr_t start = info->dlpi_addr + p.p_vaddr;
            here |= p.p_type == PT_LOAD && s->address >= start && s->address < start + p.p_memsz;
          }
          if (!here)
            return 0;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr) &p = info->dlpi_phdr[i];
            if (p.p_type != PT_NOTE)
              continue;
            const char *at = reinterpret_cast<const char *>(info->dlpi_addr + p.p_vaddr);
            const char *end = at + p.p_memsz;
            while (at + sizeof(ElfW(Nhdr)) <= end) {
              auto *note = reinterpret_cast<const ElfW(Nhdr) *>(at);
              const char *name = at + sizeof(ElfW(Nhdr));
              const auto *desc = reinterpret_cast<const unsigned char *>(
                  name + ((note->n_namesz + 3) & ~3u));
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                  std::memcmp(name, "GNU", 4) == 0 &&
                  reinterpret_cast<const char *>(desc) + note->n_descsz <= end) {
                static const char hex[] = "0123456789abcdef";
                for (unsigned k = 0; k < note->n_descsz; ++k)
                  s->id += {hex[desc[k] >> 4], hex[desc[k] & 15]};
                return 1;
              }
              at = reinterpret_cast<const char *>(desc) + ((note->n_descsz + 3) & ~3u);
            }
          }
          return 1;
        },
        &search);
    return search.id.empty() ? std::string("unknown") : search.id;
  }();
  return id;
}
} // namespace

CacheKey makeCacheKey(const std::string &modelDigest, int optimizationLevel,
                      const std::string &targetCpu, const std::string &specialization) {
  TargetDescription target = describeTarget(targetCpu);
  llvm::SHA256 specHash;
  specHash.update(specialization);
  std::ostringstream parts;
  parts << "kiln-version " << kilnVersion() << "\n"
        << "compiler-build " << compilerBuild() << "\n"
        << "llvm-version " << LLVM_VERSION_STRING << "\n"
        << "triple " << target.triple << "\n"
        << "cpu " << target.cpu << "\n"
        << "cpu-features " << (target.features.empty() ? "(the CPU's defaults)" : target.features) << "\n"
        << "optimization-level " << optimizationLevel << "\n"
        << "model-sha256 " << modelDigest << "\n"
        << "specialization-sha256 " << hexOf(specHash.final())
        << (specialization.empty() ? " (static shapes)" : "") << "\n";
  llvm::SHA256 key;
  key.update(parts.str());
  return {hexOf(key.final()), parts.str()};
}

std::string cacheEntryPath(const std::string &dir, const CacheKey &key) {
  return dir + "/" + key.hex + ".kiln";
}

void touchCacheEntry(const std::string &path) { utimensat(AT_FDCWD, path.c_str(), nullptr, 0); }

void evictCacheEntries(const std::string &dir, uint64_t maxBytes) {
  struct Entry {
    std::string path;
    uint64_t size;
    struct timespec mtime;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      std::string path = dir + "/" + name;
      if (size_t tmp = name.find(".kiln.tmp."); tmp != std::string::npos) {
        // A writer killed mid-write leaves its temporary file (named by its
        // pid) behind; one whose process is gone, or an hour old, goes.
        char *end = nullptr;
        long pid = std::strtol(name.c_str() + tmp + 10, &end, 10);
        struct stat st;
        bool dead = *end == '\0' && pid > 0 && kill(pid_t(pid), 0) != 0 && errno == ESRCH;
        if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            (dead || time(nullptr) - st.st_mtim.tv_sec > 3600))
          unlink(path.c_str());
        continue;
      }
      if (name.size() < 6 || name.compare(name.size() - 5, 5, ".kiln") != 0)
        continue;
      struct stat st;
      if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        entries.push_back({path, (uint64_t)st.st_size, st.st_mtim});
        total += st.st_size;
      }
    }
    closedir(d);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec
                                            : a.mtime.tv_nsec < b.mtime.tv_nsec;
  });
  for (size_t i = 0; i + 1 < entries.size() && total > maxBytes; ++i)
    if (std::remove(entries[i].path.c_str()) == 0)
      total -= entries[i].size;
}

bool makeDirectories(const std::string &dir) {
  std::string partial;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/')
    partial = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty())
      continue;
    partial += part + "/";
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return false;
  }
  struct stat st;
  return stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string untrustedReason(const std::string &path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0)
    return std::string("cannot be examined: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return "is neither a regular file nor a folder (a link?)";
  if (st.st_uid != geteuid())
    return "is owned by another user (uid " + std::to_string(st.st_uid) + ")";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", unsigned(st.st_mode & 0777));
    return std::string("may be written by group or others (mode ") + mode + ")";
  }
  return "";
}

std::string defaultCacheDirectory() {
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/kiln";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/kiln";
  return "";
}

void warn(const std::string &message) { std::cerr << "kiln: warning: " << message << std::endl; }

} // namespace kiln
