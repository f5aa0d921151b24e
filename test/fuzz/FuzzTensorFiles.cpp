//===- FuzzTensorFiles.cpp - .npy and TensorProto .pb readers -------------===//
//
// The first byte picks the reader (.npy; TensorProto; SequenceProto;
// OptionalProto), the rest is the file.
//
//===----------------------------------------------------------------------===//
#include "frontend/TensorProto.h"
#include "runtime/Npy.h"
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const std::string path = [] {
    char name[] = "/tmp/kiln-fuzz-tensor-XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0)
      close(fd);
    return std::string(name);
  }();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  try {
    switch (data[0] % 4) {
    case 0: kiln::readNpy(path); break;
    case 1: kiln::readTensorProtoFile(path); break;
    case 2: kiln::readValueProtoFile(path, /*sequence=*/true, /*optional=*/false); break;
    case 3: kiln::readValueProtoFile(path, /*sequence=*/false, /*optional=*/true); break;
    }
  } catch (const kiln::Error &) {
  }
  return 0;
}
