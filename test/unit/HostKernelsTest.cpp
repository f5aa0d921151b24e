//===- HostKernelsTest.cpp - runtime kernels compiled code calls ----------===//
#include "runtime/HostKernels.h"
#include <gtest/gtest.h>
#include <cmath>
#include <vector>

using kiln::MemRef;

namespace {

template <typename T, int R> MemRef<T, R> view(T *data, std::vector<int64_t> sizes) {
  MemRef<T, R> m{data, data, 0, {}, {}};
  int64_t stride = 1;
  for (int i = R - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

} // namespace

TEST(HostKernels, UniqueOrdersNaNLastAndKeepsFirstOccurrence) {
  float nan = std::nanf("");
  std::vector<float> x{2, nan, -0.0f, 1, 0, 2};
  std::vector<int64_t> first(6, -1), inverse(6, -1), counts(6, -1);
  auto xv = view<float, 3>(x.data(), {1, 6, 1});
  auto f = view<int64_t, 1>(first.data(), {6});
  auto inv = view<int64_t, 1>(inverse.data(), {6});
  auto c = view<int64_t, 1>(counts.data(), {6});
  int64_t n = _mlir_ciface_kiln_unique_f32(&xv, &f, &inv, &c, /*sorted=*/1);
  // -0 and 0 are one value; NaN is distinct and sorts last.
  ASSERT_EQ(n, 4);
  EXPECT_EQ(first, (std::vector<int64_t>{2, 3, 0, 1, -1, -1}));
  EXPECT_EQ(counts, (std::vector<int64_t>{2, 1, 2, 1, -1, -1}));
  EXPECT_EQ(inverse, (std::vector<int64_t>{2, 3, 0, 1, 0, 2}));
  n = _mlir_ciface_kiln_unique_f32(&xv, &f, &inv, &c, /*sorted=*/0);
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::vector<int64_t>(first.begin(), first.begin() + 4),
            (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(HostKernels, NonMaxSuppressionHonorsLimitAndThresholds) {
  // Three boxes: the first two overlap heavily, the third is apart.
  std::vector<float> boxes{0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6};
  std::vector<float> scores{0.9f, 0.8f, 0.7f};
  std::vector<int64_t> out(9, -1);
  auto b = view<float, 3>(boxes.data(), {1, 3, 4});
  auto s = view<float, 3>(scores.data(), {1, 1, 3});
  auto o = view<int64_t, 2>(out.data(), {3, 3});
  int64_t rows = _mlir_ciface_kiln_non_max_suppression(&b, &s, &o, 10, 0.5f, 0, 0, 0);
  ASSERT_EQ(rows, 2);
  EXPECT_EQ(out[2], 0);
  EXPECT_EQ(out[5], 2);
  // At most one box per class.
  rows = _mlir_ciface_kiln_non_max_suppression(&b, &s, &o, 1, 0.5f, 0, 0, 0);
  EXPECT_EQ(rows, 1);
  // Scores must exceed the threshold.
  rows = _mlir_ciface_kiln_non_max_suppression(&b, &s, &o, 10, 0.5f, 0.75f, 1, 0);
  EXPECT_EQ(rows, 1);
}

TEST(HostKernels, TreeEnsembleAggregatesLeavesPerTarget) {
  // Tree 0 (root 0): x0 <= 0.5 ? leaf 0 : leaf 1. Tree 1 (root 1): x1 in
  // {2, 3} ? leaf 2 : leaf 0. Leaves: (1, target 0), (2, target 1), (4, target 1).
  std::vector<double> nodes{0, 0, 0.5, 1, 0, 1, 1, 0, 2,
                            6, 1, 0, 1, 2, 1, 0, 0, 0};
  std::vector<double> members{2, 3, NAN}, leaves{1, 0, 2, 1, 4, 1};
  std::vector<int64_t> roots{0, 1};
  std::vector<double> x{0, 2, 1, 5};
  std::vector<double> y(4, -7);
  auto n = view<double, 1>(nodes.data(), {18});
  auto m = view<double, 1>(members.data(), {3});
  auto l = view<double, 1>(leaves.data(), {6});
  auto r = view<int64_t, 1>(roots.data(), {2});
  auto xv = view<double, 2>(x.data(), {2, 2});
  auto yv = view<double, 2>(y.data(), {2, 2});
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, /*sum*/ 1, 0);
  EXPECT_EQ(y, (std::vector<double>{1, 4, 1, 2}));
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, /*average*/ 0, 0);
  EXPECT_EQ(y, (std::vector<double>{0.5, 2, 0.5, 1}));
  // Max: row 0 reaches target 0 once (1) and target 1 once (4).
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, /*max*/ 3, 0);
  EXPECT_EQ(y, (std::vector<double>{1, 4, 1, 2}));
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, /*sum*/ 1, /*logistic*/ 2);
  EXPECT_DOUBLE_EQ(y[1], 1 / (1 + std::exp(-4.0)));
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, /*sum*/ 1, /*softmax*/ 1);
  EXPECT_DOUBLE_EQ(y[0] + y[1], 1);
  EXPECT_DOUBLE_EQ(y[0], 1 / (1 + std::exp(3.0)));
  // A NaN feature goes the way the node says (here: false, leaf 1).
  x[0] = NAN;
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, 1, 0);
  EXPECT_EQ(y[1], 2 + 4);
  nodes[7] = 1; // missing values track true
  _mlir_ciface_kiln_tree_ensemble_f64(&xv, &n, &m, &l, &r, &yv, 1, 0);
  EXPECT_EQ(y[0], 1);
}
