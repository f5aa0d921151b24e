//===- Importer.h - ONNX ModelProto -> Kiln dialect ------------*- C++ -*-===//
#ifndef KILN_FRONTEND_IMPORTER_H
#define KILN_FRONTEND_IMPORTER_H

#include "kiln/Session.h"
#include "kiln/Tensor.h"
#include "runtime/Executable.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <map>
#include <set>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class GraphProto;
}

namespace kiln {

/// The name of the function the importer creates.
inline constexpr const char *kEntryFunction = "main_graph";

struct ImportOptions {
  /// Path of the model file: names it in messages and locations; its folder
  /// is where external data may live. Empty: "<memory>", no external data.
  std::string modelPath;
  /// Concrete shapes for graph inputs (override the model's dims).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Graph inputs replaced by constants (values known when compiling).
  std::map<std::string, Tensor> constantInputs;
  /// Sequence inputs: the shapes of the tensors they hold. The function
  /// takes the tensors of sequence "x" as arguments "x[0]", "x[1]", ...
  std::map<std::string, std::vector<std::vector<int64_t>>> sequenceInputs;
  /// Optional inputs given empty (no argument).
  std::set<std::string> absentInputs;
  /// The caller compiles this model once and drops it: the importer frees
  /// each initializer's bytes in the model as soon as the IR holds them,
  /// so a model's weights are not held twice while it compiles.
  bool releaseInitializerData = false;
  /// Nodes, nesting, tensor and weight bytes (kiln::Limits): a model past
  /// one is refused before its weights are read.
  Limits limits;
  /// The target multiplies 8-bit integers into 32-bit sums (AVX-512 VNNI):
  /// integer matmuls with constant 8-bit weights are kept in integers
  /// (MatMulInteger) instead of f32.
  bool integerDotProducts = false;
};


/// Parses a serialized ModelProto; throws kiln::Error naming `what` if the
/// bytes are not one.
/// `mappedFile`: `data` is a private mapping of the model's file, whose
/// pages are dropped as the parser moves past them.
void parseModel(const void *data, size_t size, const std::string &what,
                onnx::ModelProto &model, bool mappedFile = false);

/// Imports the main graph into a module holding one func.func named
/// kEntryFunction whose arguments are the graph inputs that are not
/// initializers or constant inputs, in graph order, and whose results are
/// the graph outputs (sequences and optionals as in runtime/Executable.h). Throws kiln::Error naming the model, node and op.
mlir::OwningOpRef<mlir::ModuleOp> importModel(const onnx::ModelProto &model,
                                              mlir::MLIRContext &context,
                                              const ImportOptions &options);

/// Throws the "unsupported ONNX op" error for the first node Kiln has no
/// builder for (op type, domain or opset).
void checkOpsSupported(const onnx::ModelProto &model, const std::string &modelName);

/// Graph inputs whose values decide shapes (Reshape's shape, reduce axes, ...):
/// compiling for concrete shapes needs their values too.
std::set<std::string> shapeDefiningInputs(const onnx::GraphProto &graph);

/// Registers the dialects the importer produces.
void registerImportDialects(mlir::MLIRContext &context);

} // namespace kiln
#endif
