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

/// A memref of any rank (memref<*xT>): its rank and its ranked descriptor.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

/// What an UnrankedMemRef describes: its first element, sizes and strides.
struct StridedView {
  char *base;
  const int64_t *sizes, *strides;
  int64_t rank;
};
inline StridedView stridedView(const UnrankedMemRef *m, int64_t elementSize) {
  auto *d = static_cast<char *const *>(m->descriptor); // {allocated, aligned, offset, ...}
  auto *ints = reinterpret_cast<const int64_t *>(d + 2);
  return {d[1] + ints[0] * elementSize, ints + 1, ints + 1 + m->rank, m->rank};
}

/// Name and address of each host kernel, for the JIT to bind; ends with
/// a null name.
struct HostKernelSymbol {
  const char *name;
  void *address;
};
extern const HostKernelSymbol kHostKernels[];

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

/// Fails the run: operand dims known only at run time that are neither 1
/// nor the broadcast result's.
void _mlir_ciface_kiln_broadcast_mismatch();
/// Fails the run: a loop's scan items changed shape between iterations.
void _mlir_ciface_kiln_scan_shape_mismatch();
/// Counts one loop iteration against the run's bound (runtime/Allocation.h).
void _mlir_ciface_kiln_loop_iteration();
/// Fails the run: an index read from a tensor is out of range. `what` is a
/// constant string of the compiled code naming the node.
void _mlir_ciface_kiln_index_out_of_range(const char *what);
/// Fails the run: TopK's k, given at run time, is outside [0, axis length].
void _mlir_ciface_kiln_topk_k_out_of_range();

/// ai.onnx.ml TreeEnsemble over the rows of x [N, F] into out [N, targets].
/// `nodes` holds 9 numbers per node: mode (0 LEQ .. 6 MEMBER), feature,
/// split, true child is a leaf, true child, false child is a leaf, false
/// child, NaN goes true, start of its set in `members` (NaN-terminated);
/// `leaves` holds (weight, target) pairs. Aggregate 0 average, 1 sum,
/// 2 min, 3 max; post transform 0 none, 1 softmax, 2 logistic. Computes in
/// double.
void _mlir_ciface_kiln_tree_ensemble_f32(kiln::MemRef<float, 2> *x, kiln::MemRef<double, 1> *nodes,
                                         kiln::MemRef<double, 1> *members,
                                         kiln::MemRef<double, 1> *leaves,
                                         kiln::MemRef<int64_t, 1> *roots,
                                         kiln::MemRef<float, 2> *out, int64_t aggregate,
                                         int64_t postTransform);
void _mlir_ciface_kiln_tree_ensemble_f64(kiln::MemRef<double, 2> *x, kiln::MemRef<double, 1> *nodes,
                                         kiln::MemRef<double, 1> *members,
                                         kiln::MemRef<double, 1> *leaves,
                                         kiln::MemRef<int64_t, 1> *roots,
                                         kiln::MemRef<double, 2> *out, int64_t aggregate,
                                         int64_t postTransform);

/// Fills out (a buffer the code allocated) with samples: uniform in [a, b)
/// or (normal != 0) normal with mean a and standard deviation b. The same
/// seed gives the same samples; without one (hasSeed 0) every call differs.
void _mlir_ciface_kiln_random_f32(kiln::UnrankedMemRef *out, int64_t normal, double a, double b,
                                  double seed, int64_t hasSeed);
void _mlir_ciface_kiln_random_f64(kiln::UnrankedMemRef *out, int64_t normal, double a, double b,
                                  double seed, int64_t hasSeed);
// ImageDecoder (runtime/ImageKernels.cpp), in two calls so that compiled
// code can size the output between them.
/// Decodes a BMP, JPEG, JPEG 2000, TIFF, PNG, WebP or netpbm stream as RGB
/// into the run's arena; writes its height and width into dims and
/// returns a handle for kiln_image_copy (0 and 0 x 0 when the stream
/// cannot be decoded). Fails the run for images over 1 GiB.
int64_t _mlir_ciface_kiln_image_decode(kiln::MemRef<uint8_t, 1> *encoded,
                                       kiln::MemRef<int64_t, 1> *dims);
/// Writes the decoded image into out (H, W, C): pixel format 0 RGB, 1 BGR,
/// 2 grayscale (C = 1).
void _mlir_ciface_kiln_image_copy(int64_t decoded, int64_t pixelFormat,
                                  kiln::MemRef<uint8_t, 3> *out);
// String kernels (runtime/StringKernels.cpp). Operands of one call have the
// same element count and are walked in row-major order whatever their
// strides; string elements are as runtime/Strings.h describes, new strings
// go to the run's arena. `list` arguments hold packed string records.

/// out = x ++ y, element by element.
void _mlir_ciface_kiln_string_concat(kiln::UnrankedMemRef *x, kiln::UnrankedMemRef *y,
                                     kiln::UnrankedMemRef *out);
/// ONNX Cast from strings to numbers, one entry per element type of `out`
/// (f32, f64, i1, i8, i16, i32, i64); `type` says how to read it: 0 f32,
/// 1 f64, 2..5 i8..i64, 6..9 u8..u64, 10 bool. Plain or scientific
/// notation, INF/-INF/NaN in any case; integers saturate.
#define KILN_DECLARE_STRING_CAST(suffix)                                                       \
  void _mlir_ciface_kiln_strings_to_##suffix(kiln::UnrankedMemRef *x, kiln::UnrankedMemRef *out, \
                                             int64_t type);                                    \
  void _mlir_ciface_kiln_##suffix##_to_strings(kiln::UnrankedMemRef *x, kiln::UnrankedMemRef *out, \
                                               int64_t type);
/// And from numbers to strings: the shortest text that reads back as the
/// same value; INF, -INF, NaN; true/false.
KILN_DECLARE_STRING_CAST(f32)
KILN_DECLARE_STRING_CAST(f64)
KILN_DECLARE_STRING_CAST(i1)
KILN_DECLARE_STRING_CAST(i8)
KILN_DECLARE_STRING_CAST(i16)
KILN_DECLARE_STRING_CAST(i32)
KILN_DECLARE_STRING_CAST(i64)
#undef KILN_DECLARE_STRING_CAST
/// out (bool) = x == y, bytewise.
void _mlir_ciface_kiln_string_equal(kiln::UnrankedMemRef *x, kiln::UnrankedMemRef *y,
                                    kiln::UnrankedMemRef *out);
/// out (bool) = whether x fully matches the RE2 `pattern` (raw bytes).
void _mlir_ciface_kiln_regex_full_match(kiln::UnrankedMemRef *x,
                                        kiln::MemRef<uint8_t, 1> *pattern,
                                        kiln::UnrankedMemRef *out);
/// ONNX StringNormalizer: writes the elements of x that are not stop words,
/// case-changed (action 0 none, 1 lower, 2 upper), into out (room for
/// max(n, 1)); returns how many it wrote (1, an empty string, when none is left).
int64_t _mlir_ciface_kiln_string_normalize(kiln::UnrankedMemRef *x,
                                           kiln::MemRef<uint8_t, 1> *stopwords,
                                           kiln::UnrankedMemRef *out, int64_t caseAction,
                                           int64_t caseSensitive);
/// ONNX StringSplit, first pass: the number of substrings of each element
/// into counts (int64); returns the largest.
int64_t _mlir_ciface_kiln_string_split_count(kiln::UnrankedMemRef *x,
                                             kiln::MemRef<uint8_t, 1> *delimiter,
                                             int64_t maxsplit, kiln::UnrankedMemRef *counts);
/// Second pass: the substrings into out (x's shape + [width]), padded with
/// empty strings.
void _mlir_ciface_kiln_string_split(kiln::UnrankedMemRef *x, kiln::MemRef<uint8_t, 1> *delimiter,
                                    int64_t maxsplit, kiln::UnrankedMemRef *out, int64_t width);
/// Position of each element of x among `keys` (int64), or -1.
void _mlir_ciface_kiln_lookup_strings(kiln::UnrankedMemRef *x, kiln::MemRef<uint8_t, 1> *keys,
                                      kiln::UnrankedMemRef *out);
void _mlir_ciface_kiln_lookup_i64(kiln::UnrankedMemRef *x, kiln::MemRef<int64_t, 1> *keys,
                                  kiln::UnrankedMemRef *out);
void _mlir_ciface_kiln_lookup_f32(kiln::UnrankedMemRef *x, kiln::MemRef<float, 1> *keys,
                                  kiln::UnrankedMemRef *out);
/// ONNX TfIdfVectorizer over the rows of x (int64 items, or strings when
/// `pool` holds records: then gram items are positions in it). `grams`
/// holds, per n-gram, its length, its output column and its items; `out`
/// (float, rows x columns) is overwritten. Mode 0 TF, 1 IDF, 2 TFIDF.
void _mlir_ciface_kiln_tfidf(kiln::UnrankedMemRef *x, kiln::MemRef<int64_t, 1> *grams,
                             kiln::MemRef<uint8_t, 1> *pool, kiln::MemRef<float, 1> *weights,
                             kiln::UnrankedMemRef *out, int64_t mode, int64_t minGram,
                             int64_t maxGram, int64_t maxSkip);
/// String constants: points the elements of out at the records in list.
void _mlir_ciface_kiln_strings_from_list(kiln::MemRef<uint8_t, 1> *list,
                                         kiln::UnrankedMemRef *out);
}

#endif
