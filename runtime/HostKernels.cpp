//===- HostKernels.cpp - C++ kernels compiled code calls ------------------===//
#include "runtime/HostKernels.h"
#include "runtime/Allocation.h"
#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <cmath>
#include <limits>
#include <vector>

using kiln::MemRef;

namespace {

struct Box {
  float xMin, yMin, xMax, yMax;
};

/// Corners ordered min/max (ONNX allows flipped corners), or from the
/// center form.
Box corners(const MemRef<float, 3> &b, int64_t batch, int64_t i, bool center) {
  auto at = [&](int64_t k) {
    return b.aligned[b.offset + batch * b.strides[0] + i * b.strides[1] + k * b.strides[2]];
  };
  if (center) {
    float x = at(0), y = at(1), hw = at(2) / 2, hh = at(3) / 2;
    return {x - hw, y - hh, x + hw, y + hh};
  }
  float y1 = at(0), x1 = at(1), y2 = at(2), x2 = at(3);
  return {std::min(x1, x2), std::min(y1, y2), std::max(x1, x2), std::max(y1, y2)};
}

/// True when IoU(a, b) > threshold; degenerate boxes never suppress.
bool suppresses(const Box &a, const Box &b, float threshold) {
  float ix = std::min(a.xMax, b.xMax) - std::max(a.xMin, b.xMin);
  float iy = std::min(a.yMax, b.yMax) - std::max(a.yMin, b.yMin);
  if (ix <= 0 || iy <= 0)
    return false;
  float inter = ix * iy;
  float areaA = (a.xMax - a.xMin) * (a.yMax - a.yMin);
  float areaB = (b.xMax - b.xMin) * (b.yMax - b.yMin);
  float uni = areaA + areaB - inter;
  if (areaA <= 0 || areaB <= 0 || uni <= 0)
    return false;
  return inter / uni > threshold;
}

} // namespace

extern "C" int64_t _mlir_ciface_kiln_non_max_suppression(
    MemRef<float, 3> *boxes, MemRef<float, 3> *scores, MemRef<int64_t, 2> *out,
    int64_t maxPerClass, float iouThreshold, float scoreThreshold, int64_t hasScoreThreshold,
    int64_t centerPointBox) {
  int64_t batches = scores->sizes[0], classes = scores->sizes[1], n = scores->sizes[2];
  // The caller checked boxes is (batches, n, 4) and out has batches*classes*n rows.
  int64_t rows = 0;
  std::vector<int64_t> order;
  std::vector<Box> kept;
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t c = 0; c < classes; ++c) {
      auto score = [&](int64_t i) {
        return scores->aligned[scores->offset + b * scores->strides[0] + c * scores->strides[1] +
                               i * scores->strides[2]];
      };
      order.clear();
      for (int64_t i = 0; i < n; ++i)
        if (!hasScoreThreshold || score(i) > scoreThreshold)
          order.push_back(i);
      // Highest score first; equal scores by lower box index.
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return score(x) > score(y); });
      kept.clear();
      for (int64_t i : order) {
        if ((int64_t)kept.size() >= maxPerClass)
          break;
        Box box = corners(*boxes, b, i, centerPointBox != 0);
        if (std::any_of(kept.begin(), kept.end(),
                        [&](const Box &k) { return suppresses(k, box, iouThreshold); }))
          continue;
        kept.push_back(box);
        int64_t *row = out->aligned + out->offset + rows * out->strides[0];
        row[0] = b;
        row[out->strides[1]] = c;
        row[2 * out->strides[1]] = i;
        ++rows;
      }
    }
  }
  return rows;
}

namespace {

template <typename T>
int64_t uniqueSlices(MemRef<T, 3> *x, MemRef<int64_t, 1> *first, MemRef<int64_t, 1> *inverse,
                     MemRef<int64_t, 1> *counts, bool sorted) {
  int64_t outer = x->sizes[0], n = x->sizes[1], inner = x->sizes[2];
  auto at = [&](int64_t o, int64_t j, int64_t i) {
    return x->aligned[x->offset + o * x->strides[0] + j * x->strides[1] + i * x->strides[2]];
  };
  // Numbers before NaN, so the order stays strict weak with NaNs present.
  auto before = [](T u, T v) { return u < v || (u == u && v != v); };
  // Lexicographic order of slices, element by element in row-major order.
  auto less = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        T u = at(o, a, i), v = at(o, b, i);
        if (before(u, v))
          return true;
        if (before(v, u))
          return false;
      }
    return false;
  };
  auto equal = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        if (!(at(o, a, i) == at(o, b, i)))
          return false;
    return true;
  };
  std::vector<int64_t> order(n);
  for (int64_t j = 0; j < n; ++j)
    order[j] = j;
  // Stable: equal slices stay in order, so each group starts at its first index.
  std::stable_sort(order.begin(), order.end(), less);
  std::vector<int64_t> group(n); // group of each slice, in sorted order
  std::vector<int64_t> groupFirst, groupCount;
  for (int64_t k = 0; k < n; ++k) {
    int64_t j = order[k];
    if (k == 0 || !equal(order[k - 1], j)) {
      groupFirst.push_back(j);
      groupCount.push_back(0);
    }
    group[j] = groupFirst.size() - 1;
    ++groupCount.back();
  }
  int64_t u = groupFirst.size();
  // Output position of each group: sorted order, or by first occurrence.
  std::vector<int64_t> position(u);
  for (int64_t g = 0; g < u; ++g)
    position[g] = g;
  if (!sorted) {
    std::vector<int64_t> byFirst(u);
    for (int64_t g = 0; g < u; ++g)
      byFirst[g] = g;
    std::sort(byFirst.begin(), byFirst.end(),
              [&](int64_t a, int64_t b) { return groupFirst[a] < groupFirst[b]; });
    for (int64_t p = 0; p < u; ++p)
      position[byFirst[p]] = p;
  }
  auto put = [](MemRef<int64_t, 1> *m, int64_t i, int64_t v) {
    m->aligned[m->offset + i * m->strides[0]] = v;
  };
  for (int64_t g = 0; g < u; ++g) {
    put(first, position[g], groupFirst[g]);
    put(counts, position[g], groupCount[g]);
  }
  for (int64_t j = 0; j < n; ++j)
    put(inverse, j, position[group[j]]);
  return u;
}

} // namespace

extern "C" int64_t _mlir_ciface_kiln_unique_f32(MemRef<float, 3> *x, MemRef<int64_t, 1> *first,
                                                MemRef<int64_t, 1> *inverse,
                                                MemRef<int64_t, 1> *counts, int64_t sorted) {
  return uniqueSlices(x, first, inverse, counts, sorted != 0);
}

extern "C" int64_t _mlir_ciface_kiln_unique_i64(MemRef<int64_t, 3> *x, MemRef<int64_t, 1> *first,
                                                MemRef<int64_t, 1> *inverse,
                                                MemRef<int64_t, 1> *counts, int64_t sorted) {
  return uniqueSlices(x, first, inverse, counts, sorted != 0);
}

namespace {

template <typename T>
void treeEnsemble(MemRef<T, 2> *x, MemRef<double, 1> *nodes, MemRef<double, 1> *members,
                  MemRef<double, 1> *leaves, MemRef<int64_t, 1> *roots, MemRef<T, 2> *out,
                  int64_t aggregate, int64_t postTransform) {
  auto at = [](MemRef<double, 1> *m, int64_t i) { return m->aligned[m->offset + i * m->strides[0]]; };
  int64_t rows = x->sizes[0], features = x->sizes[1], targets = out->sizes[1];
  int64_t numNodes = nodes->sizes[0] / 9, numTrees = roots->sizes[0];
  std::vector<double> acc(targets);
  for (int64_t r = 0; r < rows; ++r) {
    // As ONNX's reference: a target no leaf reaches keeps the initial value.
    double init = aggregate == 2   ? double(std::numeric_limits<T>::max())
                  : aggregate == 3 ? double(std::numeric_limits<T>::lowest())
                                   : 0;
    std::fill(acc.begin(), acc.end(), init);
    for (int64_t t = 0; t < numTrees; ++t) {
      int64_t node = roots->aligned[roots->offset + t * roots->strides[0]];
      // The verifier bounds every child; a cycle is cut after numNodes steps.
      for (int64_t steps = 0;; ++steps) {
        if (steps > numNodes)
          kiln::failRun("TreeEnsemble: a tree's nodes form a cycle");
        const int64_t base = node * 9;
        int mode = int(at(nodes, base));
        int64_t feature = int64_t(at(nodes, base + 1));
        double split = at(nodes, base + 2);
        double v = feature >= 0 && feature < features
                       ? double(x->aligned[x->offset + r * x->strides[0] + feature * x->strides[1]])
                       : NAN;
        bool go;
        if (std::isnan(v) && at(nodes, base + 7) != 0) {
          go = true;
        } else {
          switch (mode) {
          case 0: go = v <= split; break;
          case 1: go = v < split; break;
          case 2: go = v >= split; break;
          case 3: go = v > split; break;
          case 4: go = v == split; break;
          case 5: go = v != split; break;
          default: {
            go = false;
            for (int64_t m = int64_t(at(nodes, base + 8)); m < members->sizes[0]; ++m) {
              double s = at(members, m);
              if (std::isnan(s))
                break;
              go |= s == v;
            }
          }
          }
        }
        bool leaf = at(nodes, base + (go ? 3 : 5)) != 0;
        int64_t next = int64_t(at(nodes, base + (go ? 4 : 6)));
        if (!leaf) {
          node = next;
          continue;
        }
        double w = at(leaves, 2 * next);
        int64_t target = int64_t(at(leaves, 2 * next + 1));
        switch (aggregate) {
        case 2: acc[target] = std::min(acc[target], w); break;
        case 3: acc[target] = std::max(acc[target], w); break;
        default: acc[target] += w;
        }
        break;
      }
    }
    if (aggregate == 0)
      for (double &a : acc)
        a /= double(numTrees);
    if (postTransform == 1) {
      double top = *std::max_element(acc.begin(), acc.end()), sum = 0;
      for (double &a : acc)
        sum += (a = std::exp(a - top));
      for (double &a : acc)
        a /= sum;
    } else if (postTransform == 2) {
      for (double &a : acc)
        a = 1 / (1 + std::exp(-a));
    }
    for (int64_t k = 0; k < targets; ++k)
      out->aligned[out->offset + r * out->strides[0] + k * out->strides[1]] = T(acc[k]);
  }
}

} // namespace

extern "C" void _mlir_ciface_kiln_tree_ensemble_f32(
    MemRef<float, 2> *x, MemRef<double, 1> *nodes, MemRef<double, 1> *members,
    MemRef<double, 1> *leaves, MemRef<int64_t, 1> *roots, MemRef<float, 2> *out,
    int64_t aggregate, int64_t postTransform) {
  treeEnsemble(x, nodes, members, leaves, roots, out, aggregate, postTransform);
}

extern "C" void _mlir_ciface_kiln_tree_ensemble_f64(
    MemRef<double, 2> *x, MemRef<double, 1> *nodes, MemRef<double, 1> *members,
    MemRef<double, 1> *leaves, MemRef<int64_t, 1> *roots, MemRef<double, 2> *out,
    int64_t aggregate, int64_t postTransform) {
  treeEnsemble(x, nodes, members, leaves, roots, out, aggregate, postTransform);
}

extern "C" void _mlir_ciface_kiln_broadcast_mismatch() {
  kiln::failRun("operand shapes given at run time cannot be broadcast together (a dim is "
                "neither 1 nor the result's)");
}

extern "C" void _mlir_ciface_kiln_topk_k_out_of_range() {
  kiln::failRun("TopK: k given at run time is negative or exceeds the length of the axis");
}

extern "C" void _mlir_ciface_kiln_scan_shape_mismatch() {
  kiln::failRun("a loop's scan output items differ in shape between iterations");
}

namespace {

/// SplitMix64's finalizer: a well-mixed 64-bit value of each counter.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Where a run's samples start: from the seed, or from a per-process
/// random base and a counter, so that unseeded runs never repeat.
uint64_t randomStream(double seed, int64_t hasSeed) {
  if (hasSeed) {
    uint64_t bits;
    std::memcpy(&bits, &seed, sizeof bits);
    return mix64(bits ^ 0x6A09E667F3BCC909ULL);
  }
  static const uint64_t base = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  return mix64(base + counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
}

/// Element i: uniform in [a, b), or normal with mean a and deviation b
/// (Box-Muller on two uniforms of its own).
template <typename T>
void fillRandom(kiln::UnrankedMemRef *out, int64_t normal, double a, double b, double seed,
                int64_t hasSeed) {
  kiln::StridedView v = kiln::stridedView(out, sizeof(T));
  int64_t n = 1;
  for (int64_t d = 0; d < v.rank; ++d)
    n *= v.sizes[d];
  uint64_t stream = randomStream(seed, hasSeed);
  auto uniform = [&](uint64_t k) {
    return double(mix64(stream + k * 0x9E3779B97F4A7C15ULL) >> 11) * 0x1.0p-53;
  };
  T *data = reinterpret_cast<T *>(v.base); // a buffer the code allocated: contiguous
  for (int64_t i = 0; i < n; ++i) {
    if (!normal) {
      data[i] = T(a + (b - a) * uniform(uint64_t(i)));
      continue;
    }
    double u1 = 1.0 - uniform(2 * uint64_t(i)), u2 = uniform(2 * uint64_t(i) + 1);
    data[i] = T(a + b * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
}

} // namespace

extern "C" void _mlir_ciface_kiln_random_f32(kiln::UnrankedMemRef *out, int64_t normal, double a,
                                             double b, double seed, int64_t hasSeed) {
  fillRandom<float>(out, normal, a, b, seed, hasSeed);
}

extern "C" void _mlir_ciface_kiln_random_f64(kiln::UnrankedMemRef *out, int64_t normal, double a,
                                             double b, double seed, int64_t hasSeed) {
  fillRandom<double>(out, normal, a, b, seed, hasSeed);
}

const kiln::HostKernelSymbol kiln::kHostKernels[] = {
#define KILN_HOST_KERNEL(name) {"_mlir_ciface_" #name, reinterpret_cast<void *>(&_mlir_ciface_##name)}
    KILN_HOST_KERNEL(kiln_non_max_suppression),
    KILN_HOST_KERNEL(kiln_broadcast_mismatch),
    KILN_HOST_KERNEL(kiln_scan_shape_mismatch),
    KILN_HOST_KERNEL(kiln_topk_k_out_of_range),
    KILN_HOST_KERNEL(kiln_loop_iteration),
    KILN_HOST_KERNEL(kiln_index_out_of_range),
    KILN_HOST_KERNEL(kiln_unique_f32),
    KILN_HOST_KERNEL(kiln_unique_i64),
    KILN_HOST_KERNEL(kiln_tree_ensemble_f32),
    KILN_HOST_KERNEL(kiln_tree_ensemble_f64),
    KILN_HOST_KERNEL(kiln_string_concat),
    KILN_HOST_KERNEL(kiln_string_equal),
    KILN_HOST_KERNEL(kiln_regex_full_match),
    KILN_HOST_KERNEL(kiln_string_normalize),
    KILN_HOST_KERNEL(kiln_string_split_count),
    KILN_HOST_KERNEL(kiln_string_split),
    KILN_HOST_KERNEL(kiln_lookup_strings),
    KILN_HOST_KERNEL(kiln_lookup_i64),
    KILN_HOST_KERNEL(kiln_lookup_f32),
    KILN_HOST_KERNEL(kiln_strings_from_list),
    KILN_HOST_KERNEL(kiln_tfidf),
    KILN_HOST_KERNEL(kiln_strings_to_f32), KILN_HOST_KERNEL(kiln_f32_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_f64), KILN_HOST_KERNEL(kiln_f64_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_i1), KILN_HOST_KERNEL(kiln_i1_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_i8), KILN_HOST_KERNEL(kiln_i8_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_i16), KILN_HOST_KERNEL(kiln_i16_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_i32), KILN_HOST_KERNEL(kiln_i32_to_strings),
    KILN_HOST_KERNEL(kiln_strings_to_i64), KILN_HOST_KERNEL(kiln_i64_to_strings),
    KILN_HOST_KERNEL(kiln_image_decode),
    KILN_HOST_KERNEL(kiln_image_copy),
    KILN_HOST_KERNEL(kiln_random_f32),
    KILN_HOST_KERNEL(kiln_random_f64),
#undef KILN_HOST_KERNEL
    {nullptr, nullptr},
};
