//===- ExternalData.h - tensors stored beside the model --------*- C++ -*-===//
#ifndef KILN_FRONTEND_EXTERNALDATA_H
#define KILN_FRONTEND_EXTERNALDATA_H

#include <cstddef>
#include <string>

namespace onnx {
class TensorProto;
}

namespace kiln {
/// Reads the external data of `proto` into `out` (exactly `size` bytes).
/// The location must be a relative path that stays inside `baseDir` after
/// resolving symlinks; offset and length must lie inside the file. Throws
/// kiln::Error otherwise.
void readExternalData(const onnx::TensorProto &proto, const std::string &baseDir,
                      const std::string &what, void *out, size_t size);
} // namespace kiln
#endif
