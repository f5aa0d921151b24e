//===- kiln-compile.cpp - ONNX model -> .kiln artifact --------------------===//
#include "jit/ArtifactWriter.h"
#include "kiln/Tensor.h"
#include <iostream>

namespace {
const char *kUsage = R"(usage: kiln-compile MODEL.onnx -o MODEL.kiln [options]

Compiles an ONNX model ahead of time into one self-contained artifact:
compiled code, execution plan, metadata and weights. kiln::Session (and
kiln-run) open .kiln files like .onnx files; loading one needs only the
kiln_runtime library, no compiler.

A .kiln file is native code that Kiln loads and runs with the rights of
the process that opens it: load artifacts only from a trusted source, as
you would a shared library. Its checksum detects corruption, not a file
planted on purpose.

options:
  -o FILE               the artifact to write (required)
  --target-cpu CPU      LLVM CPU name (e.g. x86-64-v3, skylake-avx512);
                        default: this machine's CPU and features
  --dim NAME=VALUE      value of a symbolic input dim (default 1)
  --threads N           threads compiling in parallel (default: every core);
                        the threads a run uses are chosen when the artifact
                        is loaded
  -O0 .. -O3            optimization level (default -O3)
  --help                this text
)";
}

int main(int argc, char **argv) {
  std::string model, out;
  kiln::ArtifactOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "kiln-compile: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "-o") {
      out = next();
    } else if (a == "--target-cpu") {
      options.targetCpu = next();
    } else if (a == "--threads") {
      options.threads = std::atoi(next().c_str());
    } else if (a == "--dim") {
      std::string v = next();
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::cerr << "kiln-compile: --dim expects NAME=VALUE\n";
        return 2;
      }
      options.dims[v.substr(0, eq)] = std::atoll(v.c_str() + eq + 1);
    } else if (a.size() == 3 && a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3') {
      options.optimizationLevel = a[2] - '0';
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "kiln-compile: unknown option '" << a << "' (see --help)\n";
      return 2;
    } else if (model.empty()) {
      model = a;
    } else {
      std::cerr << "kiln-compile: more than one model given\n";
      return 2;
    }
  }
  if (model.empty() || out.empty()) {
    std::cerr << "kiln-compile: need MODEL.onnx and -o FILE (see --help)\n";
    return 2;
  }
  try {
    auto summary = kiln::writeModelArtifact(model, out, options);
    std::cout << "wrote " << out << ": " << summary.bytes << " bytes for CPU " << summary.cpu
              << " in " << summary.compileMs << " ms\n";
    return 0;
  } catch (const std::exception &e) {
    std::cerr << "kiln-compile: error: " << e.what() << "\n";
    return 1;
  }
}
