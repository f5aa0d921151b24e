//===- Npy.h - NumPy .npy files <-> kiln::Tensor ---------------*- C++ -*-===//
#ifndef KILN_RUNTIME_NPY_H
#define KILN_RUNTIME_NPY_H

#include "kiln/Tensor.h"
#include <string>

namespace kiln {
/// Reads a C-ordered .npy file (format 1.x/2.x). Throws kiln::Error.
Tensor readNpy(const std::string &path);
/// Writes `t` as .npy; bfloat16 is written as float32 (NumPy has no bfloat16).
void writeNpy(const std::string &path, const Tensor &t);
} // namespace kiln
#endif
