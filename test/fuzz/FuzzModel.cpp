//===- FuzzModel.cpp - ModelProto bytes -> import, verify, shapes ---------===//
//
// Any bytes: parsed as a ModelProto, imported (attribute kinds, limits,
// shape inference, constant folding) and verified; graphs of a few nodes
// are also compiled (the lowering pipeline and LLVM) and, where their
// inputs are all fixed, small and numeric, run once. Every outcome but a
// kiln::Error is a finding.
//
//===----------------------------------------------------------------------===//
#include "FuzzTargets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::fuzz::importCompileRun(data, size);
  return 0;
}
