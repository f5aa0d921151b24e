//===- FuzzModel.cpp - ModelProto bytes -> import, verify, shapes ---------===//
//
// Any bytes: parsed as a ModelProto, imported (attribute kinds, limits,
// shape inference, constant folding) and verified; graphs of a few nodes
// are also compiled (the lowering pipeline, LLVM and the JIT link). Every
// outcome but a kiln::Error is a finding. (Running the compiled code is
// left to the conformance and refusal tests: in the sanitizer build, code
// the JIT links does not run reliably, see README.)
//
//===----------------------------------------------------------------------===//
#include "FuzzTargets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::fuzz::importAndCompile(data, size);
  return 0;
}
