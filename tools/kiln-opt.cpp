//===- kiln-opt.cpp - run Kiln and upstream passes on MLIR or ONNX --------===//
//
// mlir-opt with Kiln's dialect, passes and pipelines. An input file ending
// in .onnx (or given after --import-onnx) is imported first, so lit tests
// can check the importer and run any pipeline stage on a model.
// --import-int8-dot-products imports it as for a target with 8-bit dot
// products (AVX-512 VNNI): integer matmuls stay in integers.
//
//===----------------------------------------------------------------------===//
#include "frontend/Importer.h"
#include "lowering/Passes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/raw_ostream.h"
#include <onnx/onnx_pb.h>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace {
bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Imports `path` and writes the module as MLIR text to a temporary file.
std::string importToTempFile(const std::string &path, bool int8DotProducts) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw kiln::Error("model '" + path + "': cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  onnx::ModelProto model;
  kiln::parseModel(bytes.data(), bytes.size(), path, model);
  mlir::MLIRContext ctx;
  kiln::ImportOptions options;
  options.modelPath = path;
  options.integerDotProducts = int8DotProducts;
  auto module = kiln::importModel(model, ctx, options);
  char name[] = "/tmp/kiln-opt-XXXXXX.mlir";
  int fd = mkstemps(name, 5);
  if (fd < 0)
    throw kiln::Error("cannot create a temporary file");
  close(fd);
  std::error_code ec;
  llvm::raw_fd_ostream os(name, ec);
  mlir::OpPrintingFlags flags;
  flags.enableDebugInfo(true, /*prettyForm=*/false);
  module->print(os, flags);
  return name;
}
} // namespace

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  kiln::registerKilnPassesAndPipelines();
  mlir::DialectRegistry registry;
  kiln::registerPipelineDialects(registry);

  std::vector<char *> args(argv, argv + argc);
  bool int8DotProducts = false;
  for (size_t i = 1; i < args.size(); ++i)
    if (std::string(args[i]) == "--import-int8-dot-products") {
      int8DotProducts = true;
      args.erase(args.begin() + i);
      break;
    }
  std::string temp;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    bool flag = a == "--import-onnx";
    if (!flag && (a[0] == '-' || !endsWith(a, ".onnx")))
      continue;
    if (flag) {
      args.erase(args.begin() + i);
      if (i >= args.size()) {
        std::cerr << "kiln-opt: --import-onnx needs a model path\n";
        return 2;
      }
    }
    try {
      temp = importToTempFile(args[i], int8DotProducts);
    } catch (const kiln::Error &e) {
      std::cerr << "kiln-opt: error: " << e.what() << "\n";
      return 1;
    }
    args[i] = temp.data();
    break;
  }
  int argCount = args.size();
  auto result = mlir::MlirOptMain(
      argCount, args.data(),
      "Kiln optimizer: Kiln's ONNX dialect, upstream dialects, and all kiln-* passes and "
      "pipelines (kiln-to-linalg, kiln-tile, kiln-bufferize, kiln-to-loops, kiln-to-llvm, "
      "kiln-cpu). An .onnx input is imported first; --import-int8-dot-products imports it as "
      "for a target with 8-bit dot products (AVX-512 VNNI).\n",
      registry);
  if (!temp.empty())
    std::remove(temp.c_str());
  return mlir::asMainReturnCode(result);
}
