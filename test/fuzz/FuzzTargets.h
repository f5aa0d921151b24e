//===- FuzzTargets.h - what the fuzz targets exercise ----------*- C++ -*-===//
#ifndef KILN_TEST_FUZZ_FUZZTARGETS_H
#define KILN_TEST_FUZZ_FUZZTARGETS_H

#include <cstddef>
#include <cstdint>

namespace kiln::fuzz {
/// Model bytes -> import -> verify -> shape inference; graphs of up to
/// three nodes are also compiled. Swallows kiln::Error only.
void importAndCompile(const uint8_t *data, size_t size);
} // namespace kiln::fuzz
#endif
