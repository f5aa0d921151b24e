//===- ShapeHelpers.cpp - shape rules shared by inference and lowering ----===//
#include "dialect/ShapeHelpers.h"
#include "dialect/KilnDialect.h"
#include "llvm/ADT/STLExtras.h"
#include <algorithm>

using namespace mlir;

namespace kiln {

static constexpr int64_t kDyn = ShapedType::kDynamic;

std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<llvm::SmallVector<int64_t>> shapes) {
  size_t rank = 0;
  for (auto &s : shapes)
    rank = std::max(rank, s.size());
  llvm::SmallVector<int64_t> out(rank, 1);
  for (auto &s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i], &o = out[off + i];
      if (d == 1)
        continue;
      if (o == 1) {
        o = d;
      } else if (d == kDyn) {
        // Unknown against known: the known extent wins (the other must be 1 or equal).
      } else if (o == kDyn) {
        o = d;
      } else if (o != d) {
        return std::nullopt;
      }
    }
  }
  return out;
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<llvm::SmallVector<int64_t>> getConstantInts(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseIntElementsAttr>(cst.getValue());
  if (!dense)
    return std::nullopt;
  llvm::SmallVector<int64_t> out;
  for (const APInt &x : dense.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

llvm::SmallVector<int64_t> toInts(ArrayAttr attr) {
  llvm::SmallVector<int64_t> out;
  if (attr)
    for (Attribute a : attr)
      out.push_back(llvm::cast<IntegerAttr>(a).getInt());
  return out;
}

bool resolveSpatial(llvm::ArrayRef<int64_t> in, llvm::ArrayRef<int64_t> kernelFromWeights,
                    llvm::StringRef autoPad, ArrayAttr kernelShape, ArrayAttr stridesAttr,
                    ArrayAttr dilationsAttr, ArrayAttr padsAttr, bool ceilMode,
                    SpatialParams &out, std::string &error) {
  size_t n = in.size();
  out.kernel = toInts(kernelShape);
  if (out.kernel.empty())
    out.kernel.assign(kernelFromWeights.begin(), kernelFromWeights.end());
  if (out.kernel.size() != n) {
    error = "kernel_shape has " + std::to_string(out.kernel.size()) +
            " dims, input has " + std::to_string(n) + " spatial dims";
    return false;
  }
  out.strides = toInts(stridesAttr);
  if (out.strides.empty())
    out.strides.assign(n, 1);
  out.dilations = toInts(dilationsAttr);
  if (out.dilations.empty())
    out.dilations.assign(n, 1);
  auto pads = toInts(padsAttr);
  if (pads.empty())
    pads.assign(2 * n, 0);
  if (out.strides.size() != n || out.dilations.size() != n || pads.size() != 2 * n) {
    error = "strides, dilations or pads do not match the " + std::to_string(n) +
            " spatial dims";
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    if (out.strides[i] < 1 || out.dilations[i] < 1 || out.kernel[i] < 1 ||
        pads[i] < 0 || pads[n + i] < 0) {
      error = "strides, dilations and kernel must be positive and pads non-negative";
      return false;
    }
  }
  out.padBegin.assign(pads.begin(), pads.begin() + n);
  out.padEnd.assign(pads.begin() + n, pads.end());
  out.outSpatial.assign(n, kDyn);
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!same && autoPad != "VALID" && autoPad != "NOTSET") {
    error = "unknown auto_pad '" + autoPad.str() + "'";
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t k = (out.kernel[i] - 1) * out.dilations[i] + 1, s = out.strides[i];
    if (autoPad == "VALID") {
      out.padBegin[i] = out.padEnd[i] = 0;
    }
    if (in[i] == kDyn)
      continue;
    if (same) {
      int64_t o = (in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + k - in[i]);
      int64_t small = total / 2;
      out.padBegin[i] = autoPad == "SAME_UPPER" ? small : total - small;
      out.padEnd[i] = total - out.padBegin[i];
      out.outSpatial[i] = o;
      continue;
    }
    int64_t span = in[i] + out.padBegin[i] + out.padEnd[i] - k;
    if (span < 0) {
      error = "kernel extent " + std::to_string(k) + " exceeds the padded input " +
              std::to_string(in[i] + out.padBegin[i] + out.padEnd[i]);
      return false;
    }
    int64_t o = (ceilMode ? (span + s - 1) / s : span / s) + 1;
    // A ceil-mode window must start inside the input or its begin padding.
    if (ceilMode && (o - 1) * s >= in[i] + out.padBegin[i])
      --o;
    out.outSpatial[i] = o;
  }
  return true;
}

std::optional<llvm::SmallVector<int64_t>>
reshapeTarget(llvm::ArrayRef<int64_t> in, llvm::ArrayRef<int64_t> target, bool allowZero,
              std::string &error) {
  llvm::SmallVector<int64_t> out(target.begin(), target.end());
  int64_t inferAt = -1, known = 1;
  bool inDyn = llvm::is_contained(in, kDyn);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowZero) {
      if (i >= in.size()) {
        error = "shape copies dim " + std::to_string(i) + " the input does not have";
        return std::nullopt;
      }
      out[i] = in[i];
    }
    if (out[i] == -1) {
      if (inferAt >= 0) {
        error = "shape has more than one -1";
        return std::nullopt;
      }
      inferAt = i;
      continue;
    }
    if (out[i] < 0 && out[i] != kDyn) {
      error = "shape has a negative dim";
      return std::nullopt;
    }
    if (out[i] == kDyn)
      inDyn = true;
    else if (__builtin_mul_overflow(known, out[i], &known)) {
      error = "shape's element count overflows 64 bits";
      return std::nullopt;
    }
  }
  if (inDyn) {
    if (inferAt >= 0)
      out[inferAt] = kDyn;
    return out;
  }
  int64_t total = 1;
  for (int64_t d : in)
    total *= d;
  if (inferAt >= 0) {
    if (known == 0 || total % known) {
      error = "cannot infer -1: " + std::to_string(total) + " elements into " +
              std::to_string(known);
      return std::nullopt;
    }
    out[inferAt] = total / known;
  } else if (known != total) {
    error = "shape has " + std::to_string(known) + " elements, input has " +
            std::to_string(total);
    return std::nullopt;
  }
  return out;
}

std::optional<llvm::SmallVector<int64_t>>
reduceAxes(llvm::ArrayRef<int64_t> axes, int64_t rank, bool noopWithEmpty) {
  llvm::SmallVector<int64_t> out;
  if (axes.empty()) {
    if (!noopWithEmpty)
      for (int64_t i = 0; i < rank; ++i)
        out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    auto n = normalizeAxis(a, rank);
    if (!n)
      return std::nullopt;
    out.push_back(*n);
  }
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::pair<llvm::SmallVector<int64_t>, llvm::SmallVector<int64_t>>>
resolvePads(int64_t rank, llvm::ArrayRef<int64_t> pads, llvm::ArrayRef<int64_t> axes,
            std::string &error) {
  llvm::SmallVector<int64_t> all;
  for (int64_t i = 0; i < rank; ++i)
    all.push_back(i);
  if (axes.empty())
    axes = all;
  if ((int64_t)pads.size() != 2 * (int64_t)axes.size()) {
    error = "pads must hold two values per padded axis";
    return std::nullopt;
  }
  llvm::SmallVector<int64_t> begin(rank, 0), end(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = normalizeAxis(axes[i], rank);
    if (!a) {
      error = "pad axis out of range";
      return std::nullopt;
    }
    begin[*a] = pads[i];
    end[*a] = pads[i + axes.size()];
  }
  return std::make_pair(begin, end);
}

std::optional<llvm::SmallVector<SliceDim>>
resolveSlice(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> starts,
             llvm::ArrayRef<int64_t> ends, llvm::ArrayRef<int64_t> axes,
             llvm::ArrayRef<int64_t> steps, std::string &error) {
  int64_t rank = shape.size();
  llvm::SmallVector<SliceDim> dims;
  for (int64_t d : shape)
    dims.push_back({0, d, 1});
  if (starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
      (!steps.empty() && steps.size() != starts.size())) {
    error = "starts, ends, axes and steps must have one length";
    return std::nullopt;
  }
  llvm::SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto axis = normalizeAxis(axes.empty() ? (int64_t)i : axes[i], rank);
    if (!axis || seen[*axis]) {
      error = "invalid or repeated axis";
      return std::nullopt;
    }
    seen[*axis] = true;
    int64_t dim = shape[*axis], step = steps.empty() ? 1 : steps[i];
    if (step == 0) {
      error = "step must not be 0";
      return std::nullopt;
    }
    if (dim == kDyn) {
      // Start and size are computed when the code runs.
      dims[*axis] = {0, kDyn, step};
      continue;
    }
    auto clampTo = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(v, hi)); };
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0 && end > INT64_MIN / 2)
      end += dim;
    int64_t size;
    if (step > 0) {
      start = clampTo(start, 0, dim);
      end = clampTo(end, 0, dim);
      size = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = clampTo(start, 0, dim - 1);
      end = clampTo(end, -1, dim - 1);
      size = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    dims[*axis] = {size ? start : 0, size, step};
  }
  return dims;
}

std::optional<EinsumSpec> parseEinsum(llvm::StringRef equation,
                                      llvm::ArrayRef<llvm::SmallVector<int64_t>> shapes,
                                      std::string &error) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq += c;
  llvm::StringRef lhs = eq, rhs;
  bool explicitOutput = false;
  if (auto arrow = lhs.find("->"); arrow != llvm::StringRef::npos) {
    rhs = lhs.substr(arrow + 2);
    lhs = lhs.substr(0, arrow);
    explicitOutput = true;
  }
  llvm::SmallVector<llvm::StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != shapes.size()) {
    error = "equation has " + std::to_string(terms.size()) + " operands, the node " +
            std::to_string(shapes.size());
    return std::nullopt;
  }
  // Letters are labels 0..51; the ellipsis dims get 52, 53, ...
  EinsumSpec spec;
  spec.sizes.assign(52, -1);
  int64_t ellipsisRank = -1;
  auto labelOf = [](char c) -> int64_t {
    if (c >= 'a' && c <= 'z')
      return c - 'a';
    if (c >= 'A' && c <= 'Z')
      return 26 + c - 'A';
    return -1;
  };
  auto expand = [&](llvm::StringRef term, int64_t rank,
                    llvm::SmallVector<int64_t> &labels) -> bool {
    size_t dots = term.find("...");
    int64_t letters = term.size() - (dots == llvm::StringRef::npos ? 0 : 3);
    for (size_t i = 0; i < term.size(); ++i) {
      if (dots != llvm::StringRef::npos && i == dots) {
        // rank < 0: the output term, whose ellipsis is the operands'.
        int64_t n = rank >= 0 ? rank - letters : std::max<int64_t>(ellipsisRank, 0);
        if (n < 0 || (rank >= 0 && ellipsisRank >= 0 && n != ellipsisRank)) {
          error = "ellipsis covers a different number of dims in different operands";
          return false;
        }
        ellipsisRank = std::max(ellipsisRank, n);
        for (int64_t k = 0; k < n; ++k)
          labels.push_back(52 + (ellipsisRank - n) + k);
        i += 2;
        continue;
      }
      int64_t l = labelOf(term[i]);
      if (l < 0) {
        error = std::string("invalid label '") + term[i] + "'";
        return false;
      }
      labels.push_back(l);
    }
    return true;
  };
  for (size_t i = 0; i < terms.size(); ++i) {
    llvm::SmallVector<int64_t> labels;
    if (!expand(terms[i], shapes[i].size(), labels))
      return std::nullopt;
    if ((int64_t)labels.size() != (int64_t)shapes[i].size()) {
      error = "operand " + std::to_string(i) + " has rank " + std::to_string(shapes[i].size()) +
              ", its term names " + std::to_string(labels.size()) + " dims";
      return std::nullopt;
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      if ((int64_t)spec.sizes.size() <= labels[d])
        spec.sizes.resize(labels[d] + 1, -1);
      int64_t &size = spec.sizes[labels[d]];
      if (size >= 0 && size != shapes[i][d]) {
        error = "a label has extents " + std::to_string(size) + " and " +
                std::to_string(shapes[i][d]);
        return std::nullopt;
      }
      size = shapes[i][d];
    }
    spec.inputs.push_back(labels);
  }
  if (explicitOutput) {
    if (!expand(rhs, -1, spec.output))
      return std::nullopt;
  } else {
    for (int64_t k = 0; k < std::max<int64_t>(ellipsisRank, 0); ++k)
      spec.output.push_back(52 + k);
    for (int64_t l = 0; l < 52; ++l) {
      int count = 0;
      for (const auto &in : spec.inputs)
        count += llvm::count(in, l);
      if (count == 1)
        spec.output.push_back(l);
    }
  }
  for (int64_t l : spec.output)
    if (l >= (int64_t)spec.sizes.size() || spec.sizes[l] < 0) {
      error = "an output label appears in no operand";
      return std::nullopt;
    }
  return spec;
}

} // namespace kiln
