//===- HostKernels.h - C++ kernels compiled code calls ---------*- C++ -*-===//
//
// Ops that are sequential, branchy and rare in hot paths run as C++ in the
// runtime rather than as generated loops. Compiled code calls them through
// MLIR's C interface (llvm.emit_c_interface): each memref argument is a
// pointer to its descriptor {allocated, aligned, offset, sizes[r],
// strides[r]}, scalars are passed by value. The JIT binds these names to
// the runtime's functions; artifacts find them in the loaded kiln_runtime.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_HOSTKERNELS_H
#define KILN_RUNTIME_HOSTKERNELS_H

#include <cstdint>

namespace kiln {

template <typename T, int Rank> struct MemRef {
  T *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

} // namespace kiln

extern "C" {
/// ONNX NonMaxSuppression (float boxes and scores). Writes one row
/// (batch, class, box) per selected box into `out`, which has room for
/// every box of every class, and returns how many rows it wrote.
int64_t _mlir_ciface_kiln_non_max_suppression(kiln::MemRef<float, 3> *boxes,
                                              kiln::MemRef<float, 3> *scores,
                                              kiln::MemRef<int64_t, 2> *out,
                                              int64_t maxPerClass, float iouThreshold,
                                              float scoreThreshold, int64_t hasScoreThreshold,
                                              int64_t centerPointBox);

/// ONNX Unique over the slices x[:, j, :] of a (outer, n, inner) view.
/// Writes, per distinct slice in output order (ascending when `sorted`,
/// else by first occurrence), its first index into `first` and its count
/// into `counts` (both with room for n), and for every j the position of
/// its slice in that order into `inverse`. Returns the number of distinct
/// slices. Floats compare by value (-0 equals 0; NaNs sort last, each distinct).
int64_t _mlir_ciface_kiln_unique_f32(kiln::MemRef<float, 3> *x, kiln::MemRef<int64_t, 1> *first,
                                     kiln::MemRef<int64_t, 1> *inverse,
                                     kiln::MemRef<int64_t, 1> *counts, int64_t sorted);
int64_t _mlir_ciface_kiln_unique_i64(kiln::MemRef<int64_t, 3> *x,
                                     kiln::MemRef<int64_t, 1> *first,
                                     kiln::MemRef<int64_t, 1> *inverse,
                                     kiln::MemRef<int64_t, 1> *counts, int64_t sorted);
}

#endif
