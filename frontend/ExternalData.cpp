//===- ExternalData.cpp - external tensor data, confined to the model dir --===//
#include "frontend/ExternalData.h"
#include "kiln/Tensor.h"
#include <onnx/onnx_pb.h>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

namespace kiln {

void readExternalData(const onnx::TensorProto &proto, const std::string &baseDir,
                      const std::string &what, size_t size,
                      const std::function<void *()> &allocate) {
  std::string location;
  long long offset = 0, length = -1;
  for (const auto &kv : proto.external_data()) {
    try {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    } catch (const std::exception &) {
      throw Error(what + ": external data '" + kv.key() + "' is not a number");
    }
  }
  if (location.empty())
    throw Error(what + ": external data has no location");
  if (location[0] == '/' || location.find('\\') != std::string::npos ||
      location.find(':') != std::string::npos)
    throw Error(what + ": external data location '" + location +
                "' must be a relative path inside the model's folder");
  size_t start = 0;
  while (start <= location.size()) {
    size_t end = location.find('/', start);
    if (end == std::string::npos)
      end = location.size();
    if (location.compare(start, end - start, "..") == 0)
      throw Error(what + ": external data location '" + location +
                  "' escapes the model's folder");
    start = end + 1;
  }
  char dirReal[PATH_MAX], fileReal[PATH_MAX];
  if (!realpath(baseDir.c_str(), dirReal))
    throw Error(what + ": cannot resolve the model's folder '" + baseDir + "'");
  std::string path = baseDir + "/" + location;
  if (!realpath(path.c_str(), fileReal))
    throw Error(what + ": external data file '" + location + "' not found");
  std::string dir = dirReal, file = fileReal;
  if (file.compare(0, dir.size() + 1, dir + "/") != 0)
    throw Error(what + ": external data file '" + location +
                "' resolves outside the model's folder");
  struct stat st;
  if (stat(fileReal, &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(what + ": external data '" + location + "' is not a regular file");
  if (offset < 0)
    throw Error(what + ": negative external data offset");
  if (length < 0)
    length = st.st_size - offset;
  if ((unsigned long long)offset + (unsigned long long)length > (unsigned long long)st.st_size)
    throw Error(what + ": external data range [" + std::to_string(offset) + ", " +
                std::to_string(offset + length) + ") lies beyond the end of '" + location +
                "' (" + std::to_string(st.st_size) + " bytes)");
  if ((size_t)length != size)
    throw Error(what + ": external data has " + std::to_string(length) +
                " bytes, shape needs " + std::to_string(size));
  void *out = allocate();
  FILE *f = std::fopen(fileReal, "rb");
  if (!f)
    throw Error(what + ": cannot open external data '" + location + "'");
  bool ok = std::fseek(f, offset, SEEK_SET) == 0 && std::fread(out, 1, size, f) == size;
  std::fclose(f);
  if (!ok && size)
    throw Error(what + ": cannot read external data '" + location + "'");
}

} // namespace kiln
