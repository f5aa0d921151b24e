//===- run_artifact.cpp - run a .kiln artifact with the runtime alone -----===//
//
// Links only kiln_runtime (plus oneTBB and the C/C++ runtime): no compiler.
//
//   kiln-compile model.onnx -o model.kiln
//   run_artifact model.kiln
//
// Prints each output's first values, then checks that neither libMLIR nor
// libLLVM was mapped into the process; exits 1 if one was.
//
//===----------------------------------------------------------------------===//
#include "kiln/Session.h"
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char **argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: run_artifact MODEL.kiln\n";
    return 2;
  }
  try {
    kiln::Session session(argv[1], kiln::SessionOptions{}.withThreads(2));
    std::map<std::string, kiln::Tensor> inputs;
    for (const kiln::TensorInfo &info : session.inputs()) {
      kiln::Tensor t(info.type, info.shape);
      if (info.type == kiln::ElementType::Float32)
        for (int64_t i = 0; i < t.numElements(); ++i)
          t.data<float>()[i] = float(i % 13) / 13.0f;
      inputs.emplace(info.name, t);
    }
    auto outputs = session.run(inputs);
    for (const auto &[name, tensor] : outputs) {
      std::cout << name << " " << tensor.describe() << ":";
      for (int64_t i = 0; i < std::min<int64_t>(4, tensor.numElements()); ++i)
        std::cout << " " << kiln::elementAsDouble(tensor, i);
      std::cout << "\n";
    }
  } catch (const kiln::Error &e) {
    std::cerr << "run_artifact: error: " << e.what() << "\n";
    return 1;
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find("libMLIR") != std::string::npos || line.find("libLLVM") != std::string::npos) {
      std::cerr << "run_artifact: a compiler library is loaded: " << line << "\n";
      return 1;
    }
  std::cout << "no libMLIR or libLLVM in this process\n";
  return 0;
}
