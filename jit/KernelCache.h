//===- KernelCache.h - compiled models stored on disk ----------*- C++ -*-===//
#ifndef KILN_JIT_KERNELCACHE_H
#define KILN_JIT_KERNELCACHE_H

#include <cstdint>
#include <string>

namespace kiln {

/// The cache key and, one per line, the parts it hashes.
struct CacheKey {
  std::string hex, parts;
};

/// `specialization` describes the concrete shapes and shape-input values the
/// code is compiled for (empty for a static model).
/// SHA-256 of a model's bytes, in hex (computed once per session).
/// `mappedFile`: the bytes are a file mapping whose pages may be dropped
/// once hashed (detail::dropMappedPages).
std::string modelDigest(const void *modelBytes, size_t modelSize, bool mappedFile = false);

CacheKey makeCacheKey(const std::string &modelDigest, int optimizationLevel,
                      const std::string &targetCpu, const std::string &specialization);

std::string cacheEntryPath(const std::string &dir, const CacheKey &key);

/// Marks an entry as just used (least-recently-used order is by mtime).
void touchCacheEntry(const std::string &path);

/// Removes the least recently used entries until the folder's .kiln files
/// fit in `maxBytes` (the newest entry always stays).
void evictCacheEntries(const std::string &dir, uint64_t maxBytes);

/// Creates the folder and its parents; false if it cannot.
/// Creates `dir` and missing parents; the folders it creates are private
/// (0700: cache entries are code that gets loaded).
bool makeDirectories(const std::string &dir);

/// Why a cache folder or entry must not be trusted, or "": a cache entry
/// is native code Kiln loads, so like ssh with its keys Kiln refuses one
/// (or a folder) that another user owns or that group or others may write.
std::string untrustedReason(const std::string &path);

/// "$XDG_CACHE_HOME/kiln", else "$HOME/.cache/kiln"; empty if neither is set.
std::string defaultCacheDirectory();

void warn(const std::string &message);

} // namespace kiln
#endif
