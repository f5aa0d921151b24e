//===- TensorProto.h - ONNX TensorProto <-> kiln::Tensor -------*- C++ -*-===//
#ifndef KILN_FRONTEND_TENSORPROTO_H
#define KILN_FRONTEND_TENSORPROTO_H

#include "kiln/Tensor.h"
#include <optional>
#include <string>

namespace onnx {
class TensorProto;
}

namespace kiln {

/// Maps an ONNX TensorProto_DataType value; nullopt for types Kiln lacks.
std::optional<ElementType> fromOnnxType(int onnxType);
int toOnnxType(ElementType type);
/// "FLOAT8E4M3FN", "STRING", ... for messages.
std::string onnxTypeName(int onnxType);

/// Decodes a TensorProto (raw_data, typed fields or external data). External
/// files are resolved inside `baseDir` only; see ExternalData.cpp. Throws
/// kiln::Error naming `what` on any inconsistency.
Tensor tensorFromProto(const onnx::TensorProto &proto, const std::string &baseDir,
                       const std::string &what);

/// Reads a serialized TensorProto file (the backend tests' input_N.pb).
Tensor readTensorProtoFile(const std::string &path, std::string *name = nullptr);

/// Reads a serialized TensorProto, SequenceProto (`sequence`) or
/// OptionalProto (`optional`, holding either) file.
OnnxValue readValueProtoFile(const std::string &path, bool sequence, bool optional,
                             std::string *name = nullptr);

} // namespace kiln
#endif
