//===- ExternalData.h - tensors stored beside the model --------*- C++ -*-===//
#ifndef KILN_FRONTEND_EXTERNALDATA_H
#define KILN_FRONTEND_EXTERNALDATA_H

#include <cstddef>
#include <functional>
#include <string>

namespace onnx {
class TensorProto;
}

namespace kiln {
/// Reads the external data of `proto`, which must be exactly `size` bytes,
/// into the buffer `allocate` returns; it is called only once the file is
/// known to hold those bytes, so a declared shape cannot make Kiln allocate
/// what the file does not carry. The location must be a relative path that
/// stays inside `baseDir` after resolving symlinks; offset and length must
/// lie inside the file. Throws kiln::Error otherwise.
void readExternalData(const onnx::TensorProto &proto, const std::string &baseDir,
                      const std::string &what, size_t size,
                      const std::function<void *()> &allocate);
} // namespace kiln
#endif
