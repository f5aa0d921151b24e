//===- Resize.cpp - Resize and Upsample as per-axis gathers ---------------===//
//
// Resize is separable: each resized axis maps every output index to a few
// input taps with weights that depend only on the shapes, scales and
// attributes. With those known when compiling, the taps are computed here
// and each axis becomes Gather(taps) * weights summed over the taps (a
// single Gather for nearest), then Where for tf_crop_and_resize
// extrapolation. When the input's dims or the scales/sizes are known only
// at run time, the code computes the same coordinates and taps itself
// (resizeAtRunTime); antialiasing and tf_crop_and_resize still need them
// when compiling. The rules are those of the ONNX Resize specification.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <cmath>

namespace kiln {
namespace {

struct ResizeAttrs {
  std::string mode = "nearest", coordinates = "half_pixel", nearestMode = "round_prefer_floor",
              aspectPolicy = "stretch";
  double cubicA = -0.75, extrapolation = 0.0;
  bool antialias = false, excludeOutside = false;
};

/// Weights of the taps around an output position whose fractional source
/// offset is `ratio` in (0, 1].
std::vector<double> tapWeights(const ResizeAttrs &a, double ratio, double scale) {
  if (a.mode == "nearest") {
    if (ratio == 1.0)
      return {0, 1};
    const std::string &m = a.nearestMode;
    bool right = m == "round_prefer_floor" ? ratio > 0.5
                 : m == "round_prefer_ceil" ? ratio >= 0.5
                 : m == "ceil";
    return {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
  }
  double A = a.cubicA;
  auto cubic = [A](double x) {
    x = std::fabs(x);
    if (x <= 1)
      return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2)
      return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0.0;
  };
  std::vector<double> w;
  if (a.antialias && scale < 1.0) {
    // The kernel is stretched by 1/scale when downsampling.
    bool linear = a.mode == "linear";
    int64_t start = linear ? int64_t(std::floor(-1 / scale) + 1) : int64_t(std::floor(-2 / scale) + 1);
    int64_t end = linear ? 2 - start : 2 - start;
    int64_t count = linear ? 2 - 2 * start : end - start;
    double sum = 0;
    for (int64_t i = start; i < start + count; ++i) {
      double x = scale * (double(i) - ratio);
      double v = linear ? std::clamp(1 - std::fabs(x), 0.0, 1.0) : cubic(x);
      w.push_back(v);
      sum += v;
    }
    for (double &v : w)
      v /= sum;
    return w;
  }
  if (a.mode == "linear")
    return {1 - ratio, ratio};
  return {cubic(ratio + 1), cubic(ratio), cubic(1 - ratio), cubic(2 - ratio)};
}

struct AxisTaps {
  int64_t taps = 0;
  std::vector<int64_t> index;  // out * taps
  std::vector<double> weight;  // out * taps
  std::vector<uint8_t> outside; // per output: extrapolated (tf_crop_and_resize)
};

AxisTaps axisTaps(const ResizeAttrs &a, int64_t in, int64_t out, double scale, double roiStart,
                  double roiEnd) {
  AxisTaps t;
  double outWidth = scale * double(in);
  for (int64_t y = 0; y < out; ++y) {
    double yd = double(y), x;
    const std::string &c = a.coordinates;
    if (c == "align_corners")
      x = outWidth == 1 ? 0 : yd * double(in - 1) / (outWidth - 1);
    else if (c == "asymmetric")
      x = yd / scale;
    else if (c == "tf_crop_and_resize")
      x = (outWidth == 1 ? (roiEnd - roiStart) * double(in - 1) / 2
                         : yd * (roiEnd - roiStart) * double(in - 1) / (outWidth - 1)) +
          roiStart * double(in - 1);
    else if (c == "pytorch_half_pixel")
      x = outWidth == 1 ? -0.5 : (yd + 0.5) / scale - 0.5;
    else if (c == "tf_half_pixel_for_nn") // Resize-11 only
      x = (yd + 0.5) / scale;
    else if (c == "half_pixel_symmetric") {
      double adjustment = double(out) / outWidth, center = double(in) / 2;
      x = center * (1 - adjustment) + (yd + 0.5) / scale - 0.5;
    } else
      x = (yd + 0.5) / scale - 0.5;
    t.outside.push_back(c == "tf_crop_and_resize" && (x < 0 || x > double(in - 1)));
    double fl = std::floor(x);
    double ratio = x == fl ? 1.0 : x - fl;
    std::vector<double> w = tapWeights(a, ratio, scale);
    int64_t n = w.size();
    // The n taps nearest x, ties to the left: for an even n the window
    // starts n/2 - 1 left of floor(x) (n/2 at an integer x).
    int64_t p = int64_t(fl), start;
    if (n % 2 == 0)
      start = p - n / 2 + (x == fl ? 0 : 1);
    else
      start = p - (n - 1) / 2 + (x - fl <= 0.5 ? 0 : 1);
    if (a.excludeOutside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        if (start + k < 0 || start + k >= in)
          w[k] = 0;
        sum += w[k];
      }
      if (sum != 0)
        for (double &v : w)
          v /= sum;
    }
    t.taps = n;
    for (int64_t k = 0; k < n; ++k) {
      t.index.push_back(std::clamp<int64_t>(start + k, 0, in - 1));
      t.weight.push_back(w[k]);
    }
  }
  return t;
}

std::optional<std::vector<double>> constantFloats(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseFPElementsAttr>(cst.getValue());
  if (!dense)
    return std::nullopt;
  std::vector<double> r;
  for (const APFloat &f : dense.getValues<APFloat>())
    r.push_back(f.convertToDouble());
  return r;
}

/// Resizes `x` along one axis per the taps.
Value resizeAxis(Importer &im, Value x, int64_t axis, const AxisTaps &t, double extrapolation) {
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  int64_t rank = xt.getRank(), out = t.outside.size();
  Type elem = xt.getElementType();
  // Nearest (or any single-weight tap): a plain gather.
  bool single = true;
  std::vector<int64_t> pick;
  for (int64_t o = 0; o < out && single; ++o) {
    int64_t chosen = -1;
    for (int64_t k = 0; k < t.taps; ++k) {
      double w = t.weight[o * t.taps + k];
      if (w == 1.0 && chosen < 0)
        chosen = t.index[o * t.taps + k];
      else if (w != 0.0)
        single = false;
    }
    single &= chosen >= 0;
    pick.push_back(chosen);
  }
  auto axisAttr = im.intAttr("axis", axis);
  Value y;
  if (single) {
    y = im.make("Gather", {x, im.i64Constant(pick)}, {axisAttr});
  } else {
    Value idx = im.make("Reshape", {im.i64Constant(t.index), im.i64Constant({out, t.taps})});
    Value g = im.make("Gather", {x, idx}, {axisAttr});
    llvm::SmallVector<int64_t> wShape{out, t.taps};
    wShape.append(rank - axis - 1, 1);
    std::vector<float> w(t.weight.begin(), t.weight.end());
    Value weights = im.constant(Tensor::fromVector(ElementType::Float32, {out, t.taps}, w));
    weights = im.make("Reshape", {im.castTo(weights, elem), im.i64Constant(wShape)});
    y = im.make("ReduceSum", {im.make("Mul", {g, weights}), im.i64Constant({axis + 1})},
                {im.intAttr("keepdims", 0)});
  }
  if (llvm::is_contained(t.outside, 1)) {
    llvm::SmallVector<int64_t> mShape{out};
    mShape.append(rank - axis - 1, 1);
    std::vector<uint8_t> mask(t.outside.begin(), t.outside.end());
    Value m = im.constant(Tensor::fromVector(ElementType::Bool, {out}, mask));
    y = im.make("Where", {im.make("Reshape", {m, im.i64Constant(mShape)}),
                          im.scalar(elem, extrapolation), y});
  }
  return y;
}

/// The axes attribute resolved: every axis when empty, negatives from the end.
void resolveAxes(Importer &im, llvm::SmallVector<int64_t> &axes, int64_t rank) {
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  for (int64_t &ax : axes) {
    auto na = normalizeAxis(ax, rank);
    if (!na)
      im.fail("axes holds an axis out of range");
    ax = *na;
  }
}

/// Weighted taps are summed in f32 (or f64) and rounded once.
Type workType(Importer &im, const ResizeAttrs &a, Type elem) {
  bool weighted = a.mode != "nearest";
  return weighted && (!llvm::isa<FloatType>(elem) || elem.getIntOrFloatBitWidth() < 32)
             ? Type(im.b.getF32Type())
             : elem;
}

void resize(Importer &im, const onnx::NodeProto &n, Value x, const ResizeAttrs &a,
            std::optional<std::vector<double>> scales, std::optional<std::vector<int64_t>> sizes,
            std::vector<double> roi, llvm::SmallVector<int64_t> axes) {
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt || !xt.hasStaticShape())
    im.fail("X needs a static shape");
  int64_t rank = xt.getRank();
  resolveAxes(im, axes, rank);
  int64_t na = axes.size();
  if ((scales && (int64_t)scales->size() != na) || (sizes && (int64_t)sizes->size() != na))
    im.fail("scales or sizes has " + std::to_string(scales ? scales->size() : sizes->size()) +
            " values for " + std::to_string(na) + " axes");
  if (!roi.empty() && (int64_t)roi.size() != 2 * na)
    im.fail("roi must hold 2 values per axis");
  std::vector<double> scale(rank, 1.0);
  std::vector<int64_t> outSize(xt.getShape().begin(), xt.getShape().end());
  if (sizes) {
    for (int64_t i = 0; i < na; ++i)
      scale[axes[i]] = double((*sizes)[i]) / double(xt.getDimSize(axes[i]));
    if (a.aspectPolicy != "stretch") {
      double s = scale[axes[0]];
      for (int64_t ax : axes)
        s = a.aspectPolicy == "not_larger" ? std::min(s, scale[ax]) : std::max(s, scale[ax]);
      for (int64_t ax : axes) {
        scale[ax] = s;
        outSize[ax] = int64_t(s * double(xt.getDimSize(ax)) + 0.5);
      }
    } else {
      for (int64_t i = 0; i < na; ++i)
        outSize[axes[i]] = (*sizes)[i];
    }
  } else {
    for (int64_t i = 0; i < na; ++i) {
      if ((*scales)[i] <= 0)
        im.fail("scales must be positive");
      scale[axes[i]] = (*scales)[i];
      outSize[axes[i]] = int64_t((*scales)[i] * double(xt.getDimSize(axes[i])));
    }
  }
  Type elem = xt.getElementType();
  Value y = im.castTo(x, workType(im, a, elem));
  for (int64_t i = 0; i < na; ++i) {
    int64_t ax = axes[i];
    double start = roi.empty() ? 0.0 : roi[i], end = roi.empty() ? 1.0 : roi[na + i];
    bool identity = std::fabs(scale[ax] - 1.0) < 1e-12 && outSize[ax] == xt.getDimSize(ax) &&
                    start == 0.0 && end == 1.0;
    if (identity)
      continue;
    if (outSize[ax] <= 0)
      im.fail("the output would have no elements along axis " + std::to_string(ax));
    im.checkGenerated(double(outSize[ax]) * 4 / std::min(1.0, scale[ax]), "the resize taps");
    AxisTaps t = axisTaps(a, xt.getDimSize(ax), outSize[ax], scale[ax], start, end);
    y = resizeAxis(im, y, ax, t, a.extrapolation);
  }
  im.values[n.output(0)] = im.castTo(y, elem);
}

/// Scalar (rank-0) arithmetic on values computed when the code runs.
struct Scalars {
  Importer &im;
  Value c(double v) { return im.scalar(im.b.getF64Type(), v); }
  Value add(Value a, Value b) { return im.make("Add", {a, b}); }
  Value sub(Value a, Value b) { return im.make("Sub", {a, b}); }
  Value mul(Value a, Value b) { return im.make("Mul", {a, b}); }
  Value div(Value a, Value b) { return im.make("Div", {a, b}); }
  Value where(Value c, Value a, Value b) { return im.make("Where", {c, a, b}); }
  Value f64(Value v) { return im.castTo(v, im.b.getF64Type()); }
  Value i64(Value v) { return im.castTo(v, im.b.getIntegerType(64)); }
  Value element(Value v, int64_t i) { return im.make("Gather", {v, im.i64Scalar(i)}); }
};

/// The cubic convolution kernel of Resize at |x| <= 2.
Value cubicWeight(Scalars &s, Value x, double A) {
  Value near = s.add(s.mul(s.mul(s.sub(s.mul(s.c(A + 2), x), s.c(A + 3)), x), x), s.c(1));
  Value far = s.sub(s.mul(s.add(s.mul(s.sub(s.mul(s.c(A), x), s.c(5 * A)), x), s.c(8 * A)), x),
                    s.c(4 * A));
  return s.where(s.im.make("LessOrEqual", {x, s.c(1)}), near,
                 s.where(s.im.make("Less", {x, s.c(2)}), far, s.c(0)));
}

/// One axis resized with its input length, output length and scale known
/// only when the code runs: the same coordinate and tap rules as axisTaps,
/// computed by the code over Range(0, out).
Value resizeAxisAtRunTime(Importer &im, const ResizeAttrs &a, Value x, int64_t axis, Value inLen,
                          Value outLen, Value scale) {
  Scalars s{im};
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  Value inF = s.f64(inLen), outF = s.f64(outLen), half = s.c(0.5);
  Value ys = s.f64(im.make("Range", {im.i64Scalar(0), outLen, im.i64Scalar(1)}));
  Value outWidth = s.mul(scale, inF);
  Value halfPixel = s.sub(s.div(s.add(ys, half), scale), half);
  Value unitWidth = im.make("Equal", {outWidth, s.c(1)});
  const std::string &c = a.coordinates;
  Value xs;
  if (c == "asymmetric")
    xs = s.div(ys, scale);
  else if (c == "align_corners")
    xs = s.where(unitWidth, s.c(0), s.div(s.mul(ys, s.sub(inF, s.c(1))), s.sub(outWidth, s.c(1))));
  else if (c == "pytorch_half_pixel")
    xs = s.where(unitWidth, s.c(-0.5), halfPixel);
  else if (c == "half_pixel_symmetric")
    xs = s.add(s.mul(s.div(inF, s.c(2)), s.sub(s.c(1), s.div(outF, outWidth))), halfPixel);
  else if (c == "tf_half_pixel_for_nn")
    xs = s.div(s.add(ys, half), scale);
  else
    xs = halfPixel;
  Value floor = im.make("Floor", {xs}), frac = s.sub(xs, floor);
  Value last = s.f64(s.sub(inLen, im.i64Scalar(1)));
  // Tap k of each output: input index floor + offset, clamped.
  auto tap = [&](int64_t offset) {
    Value at = s.add(floor, s.c(double(offset)));
    return s.i64(im.make("Max", {im.make("Min", {at, last}), s.c(0)}));
  };
  auto axisAttr = im.intAttr("axis", axis);
  if (a.mode == "nearest") {
    const std::string &m = a.nearestMode;
    Value right = m == "round_prefer_floor" ? im.make("Greater", {frac, half})
                  : m == "round_prefer_ceil" ? im.make("GreaterOrEqual", {frac, half})
                  : m == "ceil"              ? im.make("Greater", {frac, s.c(0)})
                                             : Value();
    Value at = right ? s.add(floor, s.f64(right)) : floor;
    Value index = s.i64(im.make("Max", {im.make("Min", {at, last}), s.c(0)}));
    return im.make("Gather", {x, index}, {axisAttr});
  }
  // Linear: taps floor, floor + 1; cubic: floor - 1 ... floor + 2.
  std::vector<int64_t> offsets;
  std::vector<Value> weights;
  if (a.mode == "linear") {
    offsets = {0, 1};
    weights = {s.sub(s.c(1), frac), frac};
  } else {
    offsets = {-1, 0, 1, 2};
    weights = {cubicWeight(s, s.add(frac, s.c(1)), a.cubicA), cubicWeight(s, frac, a.cubicA),
               cubicWeight(s, s.sub(s.c(1), frac), a.cubicA),
               cubicWeight(s, s.sub(s.c(2), frac), a.cubicA)};
  }
  if (a.excludeOutside) {
    Value sum;
    for (size_t k = 0; k < offsets.size(); ++k) {
      Value at = s.add(floor, s.c(double(offsets[k])));
      Value inside = im.make("And", {im.make("GreaterOrEqual", {at, s.c(0)}),
                                     im.make("LessOrEqual", {at, last})});
      weights[k] = s.mul(weights[k], s.f64(inside));
      sum = sum ? s.add(sum, weights[k]) : weights[k];
    }
    Value nonzero = im.make("Not", {im.make("Equal", {sum, s.c(0)})});
    for (Value &w : weights)
      w = s.where(nonzero, s.div(w, sum), w);
  }
  Type elem = xt.getElementType();
  Value shape;
  {
    // Weights of shape [out, 1, ...] broadcast over the axes after `axis`.
    std::vector<Value> parts{im.make("Shape", {ys})};
    if (xt.getRank() - axis - 1 > 0)
      parts.push_back(im.i64Constant(std::vector<int64_t>(xt.getRank() - axis - 1, 1)));
    shape = parts.size() == 1 ? parts[0] : im.make("Concat", parts, {im.intAttr("axis", 0)});
  }
  Value y;
  for (size_t k = 0; k < offsets.size(); ++k) {
    Value w = im.make("Reshape", {im.castTo(weights[k], elem), shape});
    Value term = s.mul(im.make("Gather", {x, tap(offsets[k])}, {axisAttr}), w);
    y = y ? s.add(y, term) : term;
  }
  return y;
}

/// Resize whose input dims or scales/sizes are known only when the code
/// runs: each listed axis resized by resizeAxisAtRunTime.
void resizeAtRunTime(Importer &im, const onnx::NodeProto &n, Value x, const ResizeAttrs &a,
                     Value scalesV, Value sizesV, llvm::SmallVector<int64_t> axes) {
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt)
    im.fail("X needs a known rank");
  if (a.coordinates == "tf_crop_and_resize")
    im.fail("tf_crop_and_resize needs X's shape and the scales or sizes known when compiling");
  if (a.antialias)
    im.fail("antialias needs X's shape and the scales or sizes known when compiling");
  int64_t rank = xt.getRank();
  resolveAxes(im, axes, rank);
  int64_t na = axes.size();
  Value given = scalesV ? scalesV : sizesV;
  auto gt = llvm::dyn_cast<RankedTensorType>(given.getType());
  if (!gt || gt.getRank() != 1 || (!gt.isDynamicDim(0) && gt.getDimSize(0) != na))
    im.fail(std::string(scalesV ? "scales" : "sizes") + " must hold one value per axis (" +
            std::to_string(na) + ")");
  Scalars s{im};
  Value shapeOfX = im.make("Shape", {x});
  std::vector<Value> in(na), out(na), scale(na);
  auto constantScales = scalesV ? constantFloats(scalesV) : std::nullopt;
  for (int64_t i = 0; i < na; ++i) {
    in[i] = s.element(shapeOfX, axes[i]);
    if (scalesV) {
      scale[i] = s.f64(s.element(scalesV, i));
      out[i] = s.i64(im.make("Floor", {s.mul(scale[i], s.f64(in[i]))}));
    } else {
      out[i] = s.i64(s.element(sizesV, i));
      scale[i] = s.div(s.f64(out[i]), s.f64(in[i]));
    }
  }
  if (sizesV && a.aspectPolicy != "stretch") {
    Value common = scale[0];
    for (int64_t i = 1; i < na; ++i)
      common = im.make(a.aspectPolicy == "not_larger" ? "Min" : "Max", {common, scale[i]});
    for (int64_t i = 0; i < na; ++i) {
      scale[i] = common;
      out[i] = s.i64(im.make("Floor", {s.add(s.mul(common, s.f64(in[i])), s.c(0.5))}));
    }
  }
  Type elem = xt.getElementType();
  Value y = im.castTo(x, workType(im, a, elem));
  for (int64_t i = 0; i < na; ++i) {
    if (constantScales && (*constantScales)[i] == 1.0)
      continue; // the identity
    // An empty input axis gives an empty output axis: no tap to read.
    Value emptyIn = im.make("Equal", {in[i], im.i64Scalar(0)});
    Value length = s.where(emptyIn, im.i64Scalar(0), out[i]);
    y = resizeAxisAtRunTime(im, a, y, axes[i], in[i], length, scale[i]);
  }
  im.values[n.output(0)] = im.castTo(y, elem);
}

ResizeAttrs readAttrs(Importer &im, const onnx::NodeProto &n) {
  ResizeAttrs a;
  for (const auto &at : n.attribute()) {
    const std::string &name = at.name();
    if (name == "mode")
      a.mode = at.s();
    else if (name == "coordinate_transformation_mode")
      a.coordinates = at.s();
    else if (name == "nearest_mode")
      a.nearestMode = at.s();
    else if (name == "keep_aspect_ratio_policy")
      a.aspectPolicy = at.s();
    else if (name == "cubic_coeff_a")
      a.cubicA = at.f();
    else if (name == "extrapolation_value")
      a.extrapolation = at.f();
    else if (name == "antialias")
      a.antialias = at.i() != 0;
    else if (name == "exclude_outside")
      a.excludeOutside = at.i() != 0;
    else if (name != "axes" && name != "scales")
      im.fail("attribute '" + name + "' is not supported");
  }
  if (a.mode == "bilinear" || a.mode == "trilinear")
    a.mode = "linear";
  if (a.mode != "nearest" && a.mode != "linear" && a.mode != "cubic")
    im.fail("mode '" + a.mode + "' is not nearest, linear or cubic");
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                           "align_corners", "asymmetric", "tf_crop_and_resize",
                           "tf_half_pixel_for_nn"},
                          a.coordinates))
    im.fail("coordinate_transformation_mode '" + a.coordinates + "' is not supported");
  if (!llvm::is_contained({"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
                          a.nearestMode))
    im.fail("nearest_mode '" + a.nearestMode + "' is not supported");
  if (!llvm::is_contained({"stretch", "not_larger", "not_smaller"}, a.aspectPolicy))
    im.fail("keep_aspect_ratio_policy '" + a.aspectPolicy + "' is not supported");
  return a;
}

bool present(Value v) {
  if (llvm::isa<NoneType>(v.getType()))
    return false;
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return !t || t.getNumElements() != 0; // an empty tensor stands for "absent"
}

void buildResize(Importer &im, const onnx::NodeProto &n) {
  ResizeAttrs a = readAttrs(im, n);
  Value x = im.input(0);
  if (im.opset < 11) {
    // Resize-10: (X, scales); asymmetric coordinates, floor for nearest.
    a.coordinates = "asymmetric";
    a.nearestMode = "floor";
    auto scales = constantFloats(im.input(1));
    auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
    if (!scales || !xt || !xt.hasStaticShape())
      return resizeAtRunTime(im, n, x, a, im.input(1), Value(), {});
    resize(im, n, x, a, scales, std::nullopt, {}, {});
    return;
  }
  Value roiV = im.input(1), scalesV = im.input(2), sizesV = im.input(3);
  std::vector<double> roi;
  if (a.coordinates == "tf_crop_and_resize" && present(roiV)) {
    auto r = constantFloats(roiV);
    if (!r)
      im.fail("roi must be known when compiling");
    roi = *r;
  }
  llvm::SmallVector<int64_t> axes;
  if (const auto *ax = im.attr("axes"))
    axes.assign(ax->ints().begin(), ax->ints().end());
  std::optional<std::vector<double>> scales;
  std::optional<std::vector<int64_t>> sizes;
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  bool staticX = xt && xt.hasStaticShape();
  if (present(scalesV)) {
    scales = constantFloats(scalesV);
    if (!scales || !staticX)
      return resizeAtRunTime(im, n, x, a, scalesV, Value(), axes);
  } else if (present(sizesV)) {
    auto s = getConstantInts(sizesV);
    if (!s || !staticX)
      return resizeAtRunTime(im, n, x, a, Value(), sizesV, axes);
    sizes = std::vector<int64_t>(s->begin(), s->end());
  } else {
    im.fail("one of scales and sizes is required");
  }
  if (!roi.empty() && axes.empty() && (int64_t)roi.size() != 2 * llvm::cast<RankedTensorType>(x.getType()).getRank())
    im.fail("roi must hold 2 values per axis");
  resize(im, n, x, a, scales, sizes, roi, axes);
}

/// Upsample (opsets 7 and 9): Resize with asymmetric coordinates.
void buildUpsample(Importer &im, const onnx::NodeProto &n) {
  ResizeAttrs a = readAttrs(im, n);
  a.coordinates = "asymmetric";
  a.nearestMode = "floor";
  std::optional<std::vector<double>> scales;
  Value x = im.input(0);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  Value scalesV;
  if (const auto *s = im.attr("scales")) {
    scales = std::vector<double>(s->floats().begin(), s->floats().end());
    std::vector<float> values(s->floats().begin(), s->floats().end());
    scalesV = im.constant(Tensor::fromVector(ElementType::Float32, {(int64_t)values.size()}, values));
  } else {
    scalesV = im.input(1);
    scales = constantFloats(scalesV);
  }
  if (!scales || !xt || !xt.hasStaticShape())
    return resizeAtRunTime(im, n, x, a, scalesV, Value(), {});
  resize(im, n, x, a, scales, std::nullopt, {}, {});
}

} // namespace

void addResizeBuilders(BuilderTable &t) {
  t["Resize"] = buildResize;
  t["Upsample"] = buildUpsample;
}

} // namespace kiln
