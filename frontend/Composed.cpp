//===- Composed.cpp - ops imported as compositions of dialect ops ---------===//
//
// Ops whose definition is a short expression over ops the dialect already
// has are imported as that expression: the lowering, fusion and tiling of
// the parts apply to them with nothing new to maintain.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <limits>

namespace kiln {
namespace {

llvm::SmallVector<int64_t> intsAttr(Importer &im, const char *name,
                                    llvm::SmallVector<int64_t> dflt = {}) {
  if (const auto *a = im.attr(name))
    return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  return dflt;
}

void rejectAttributesBut(Importer &im, const onnx::NodeProto &n,
                         std::initializer_list<llvm::StringRef> known) {
  for (const auto &a : n.attribute())
    if (!llvm::is_contained(known, a.name()))
      im.fail("attribute '" + a.name() + "' is not supported");
}

/// x * sigmoid(alpha * x)
Value swish(Importer &im, Value x, double alpha) {
  Type elem = llvm::cast<TensorType>(x.getType()).getElementType();
  Value ax = alpha == 1.0 ? x : im.make("Mul", {x, im.scalar(elem, alpha)});
  return im.make("Mul", {x, im.make("Sigmoid", {ax})});
}

double alphaAttr(Importer &im) {
  const auto *a = im.attr("alpha");
  return a ? a->f() : 1.0;
}

void buildSwish(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"alpha"});
  im.values[n.output(0)] = swish(im, im.input(0), alphaAttr(im));
}

void buildSwiGLU(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"alpha"});
  Value a = im.input(0), b = im.input(1);
  if (a.getType() != b.getType())
    im.fail("A and B must have the same type and shape");
  im.values[n.output(0)] = im.make("Mul", {swish(im, a, alphaAttr(im)), b});
}

/// LpPool: the p-th root of the windowed sum of |x|^p, the sum being an
/// average pool over explicit and automatic pads (zeros) times the window.
void buildLpPool(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "p", "pads",
                              "strides"});
  if (const auto *a = im.attr("ceil_mode"); a && a->i())
    im.fail("ceil_mode is not supported for LpPool (windows past the pads)");
  Value x = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || !llvm::isa<FloatType>(t.getElementType()))
    im.fail("needs a float input of known rank");
  const auto *pa = im.attr("p");
  int64_t p = pa ? pa->i() : 2;
  if (p <= 0)
    im.fail("p must be positive");
  Type elem = t.getElementType();
  Value powered = p == 1   ? im.make("Abs", {x})
                  : p == 2 ? im.make("Mul", {x, x})
                           : im.make("Pow", {im.make("Abs", {x}), im.scalar(elem, double(p))});
  auto kernel = intsAttr(im, "kernel_shape");
  if (kernel.empty())
    im.fail("attribute 'kernel_shape' is required");
  llvm::SmallVector<NamedAttribute> attrs{im.intAttr("count_include_pad", 1)};
  for (const auto &a : n.attribute())
    if (a.name() != "p")
      attrs.push_back(NamedAttribute(im.b.getStringAttr(a.name()), im.convertAttribute(a)));
  Value avg = im.make("AveragePool", {powered}, attrs);
  double window = 1;
  for (int64_t k : kernel)
    window *= double(k);
  Value sum = im.make("Mul", {avg, im.scalar(elem, window)});
  im.values[n.output(0)] = p == 1   ? sum
                           : p == 2 ? im.make("Sqrt", {sum})
                                    : im.make("Pow", {sum, im.scalar(elem, 1.0 / double(p))});
}

/// Tile: (d0, d1, ...) unsqueezed to (1, d0, 1, d1, ...), expanded to
/// (r0, d0, r1, d1, ...) and reshaped to (r0 * d0, r1 * d1, ...), which the
/// code computes from Shape(x) when dims are known only at run time.
void buildTile(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {});
  Value x = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t)
    im.fail("input needs a known rank");
  auto repeats = getConstantInts(im.input(1));
  if (!repeats)
    im.fail("repeats must be known when compiling");
  if ((int64_t)repeats->size() != t.getRank())
    im.fail("repeats has " + std::to_string(repeats->size()) + " values for a rank-" +
            std::to_string(t.getRank()) + " input");
  llvm::SmallVector<int64_t> newAxes, target;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if ((*repeats)[i] < 0)
      im.fail("repeats must not be negative");
    newAxes.push_back(2 * i);
    target.append({(*repeats)[i], 1});
  }
  Value e = im.make("Expand", {im.make("Unsqueeze", {x, im.i64Constant(newAxes)}), im.i64Constant(target)});
  Value out = im.make("Mul", {im.make("Shape", {x}), im.i64Constant(*repeats)});
  im.values[n.output(0)] = im.make("Reshape", {e, out});
}

/// OneHot: indices compared with 0..depth-1 laid along the new axis.
void buildOneHot(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"axis"});
  Value indices = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(indices.getType());
  if (!t)
    im.fail("indices need a known rank");
  auto depthValue = constantScalar(im.input(1));
  if (!depthValue)
    im.fail("depth must be a constant scalar");
  int64_t depth = int64_t(*depthValue);
  if (depth <= 0)
    im.fail("depth must be positive");
  im.checkGenerated(double(depth), "depth");
  int64_t rank = t.getRank() + 1;
  const auto *a = im.attr("axis");
  auto axis = normalizeAxis(a ? a->i() : -1, rank);
  if (!axis)
    im.fail("axis is out of range");
  Value idx = im.castTo(indices, im.b.getIntegerType(64));
  Value d = im.i64Constant({depth});
  // Negative indices count from the end; others out of range match nothing.
  Value isNegative = im.make("Less", {idx, im.i64Constant({0})});
  idx = im.make("Where", {isNegative, im.make("Add", {idx, d}), idx});
  idx = im.make("Unsqueeze", {idx, im.i64Constant({*axis})});
  llvm::SmallVector<int64_t> iota, iotaShape(rank, 1);
  for (int64_t i = 0; i < depth; ++i)
    iota.push_back(i);
  iotaShape[*axis] = depth;
  Value hit = im.make("Equal", {idx, im.reshape(im.i64Constant(iota), iotaShape)});
  Value values = im.input(2);
  auto pick = [&](int64_t i) {
    return im.make("Gather", {values, im.i64Constant({i})}, {im.intAttr("axis", 0)});
  };
  im.values[n.output(0)] = im.make("Where", {hit, pick(1), pick(0)});
}

/// ConvTranspose whose strides equal its kernel (upsampling by 2 with a 2x2
/// kernel, the usual case), without groups, dilations or output padding:
/// every output element gets exactly one tap, so it is a 1x1 convolution to
/// Cout * k0 * k1 * .. channels (a GEMM, with the kernels' register tiles)
/// whose channels are then moved to their places in space (depth to
/// space), then the bias and the crop of `pads`. False where that does not
/// apply.
static bool buildNonOverlappingConvTranspose(Importer &im, const onnx::NodeProto &n,
                                             llvm::ArrayRef<int64_t> kernel,
                                             llvm::ArrayRef<int64_t> strides,
                                             llvm::ArrayRef<int64_t> dilations,
                                             llvm::ArrayRef<int64_t> outPad,
                                             llvm::ArrayRef<int64_t> pads) {
  Value x = im.input(0), w = im.input(1), bias = im.input(2);
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  auto wt = llvm::cast<RankedTensorType>(w.getType());
  int64_t spatial = xt.getRank() - 2;
  for (int64_t i = 0; i < spatial; ++i)
    if (kernel[i] != wt.getDimSize(2 + i) || strides[i] != kernel[i] || dilations[i] != 1 ||
        outPad[i] != 0 || pads[i] < 0 || pads[spatial + i] < 0)
      return false;
  int64_t cin = wt.getDimSize(0), cout = wt.getDimSize(1), taps = 1;
  for (int64_t k : kernel)
    taps *= k;
  // W (Cin, Cout, k..) -> (Cout, k.., Cin) -> (Cout * taps, Cin, 1..).
  llvm::SmallVector<int64_t> perm{1};
  for (int64_t i = 0; i < spatial; ++i)
    perm.push_back(2 + i);
  perm.push_back(0);
  Value w1 = im.make("Transpose", {w},
                     {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr(perm))});
  llvm::SmallVector<int64_t> w1Shape{cout * taps, cin};
  w1Shape.append(spatial, 1);
  w1 = im.reshape(w1, w1Shape);
  Value y = im.make("Conv", {x, w1, im.none()});
  // (N, Cout * taps, S..) -> (N, Cout, k.., S..) -> (N, Cout, S0, k0, S1, k1, ..)
  // -> (N, Cout, S0 * k0, ..); N and S from Shape(X), which folds when known.
  Value xShape = im.make("Shape", {x});
  auto dimOf = [&](int64_t d) { return im.slice(xShape, 0, d, d + 1); };
  std::vector<Value> split{dimOf(0), im.i64Constant({cout})}, merged(split);
  llvm::SmallVector<int64_t> interleave{0, 1};
  for (int64_t i = 0; i < spatial; ++i)
    split.push_back(im.i64Constant({kernel[i]}));
  for (int64_t i = 0; i < spatial; ++i) {
    split.push_back(dimOf(2 + i));
    merged.push_back(im.make("Mul", {dimOf(2 + i), im.i64Constant({kernel[i]})}));
    interleave.push_back(2 + spatial + i);
    interleave.push_back(2 + i);
  }
  auto shapeOf = [&](const std::vector<Value> &parts) {
    return im.make("Concat", parts, {im.intAttr("axis", 0)});
  };
  y = im.make("Reshape", {y, shapeOf(split)});
  y = im.make("Transpose", {y},
              {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr(interleave))});
  y = im.make("Reshape", {y, shapeOf(merged)});
  if (!llvm::isa<NoneType>(bias.getType())) {
    llvm::SmallVector<int64_t> biasShape{cout};
    biasShape.append(spatial, 1);
    y = im.make("Add", {y, im.reshape(bias, biasShape)});
  }
  if (llvm::any_of(pads, [](int64_t p) { return p != 0; })) {
    llvm::SmallVector<int64_t> starts, ends, axes;
    for (int64_t i = 0; i < spatial; ++i) {
      starts.push_back(pads[i]);
      ends.push_back(-pads[spatial + i]);
      if (pads[spatial + i] == 0)
        ends.back() = std::numeric_limits<int64_t>::max();
      axes.push_back(2 + i);
    }
    y = im.make("Slice", {y, im.i64Constant(starts), im.i64Constant(ends), im.i64Constant(axes),
                          im.none()});
  }
  im.values[n.output(0)] = y;
  return true;
}

/// ConvTranspose as a convolution: the input with stride-1 zeros between
/// its elements, padded by the dilated kernel extent minus the pads, against
/// the kernel flipped in space with its channel axes swapped per group.
void buildConvTranspose(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                              "output_shape", "pads", "strides"});
  Value x = im.input(0), w = im.input(1), bias = im.input(2);
  // X's batch and spatial dims may be known only at run time.
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  auto wt = im.staticType(w, n.input(1));
  if (!xt || xt.isDynamicDim(1))
    im.fail("X needs a known rank and channel count");
  int64_t spatial = xt.getRank() - 2;
  if (spatial < 1 || wt.getRank() != xt.getRank())
    im.fail("X and W must have the same rank, at least 3");
  const auto *ga = im.attr("group");
  int64_t group = ga ? ga->i() : 1;
  int64_t cin = xt.getDimSize(1), coutPerGroup = wt.getDimSize(1);
  if (group <= 0 || cin % group || wt.getDimSize(0) != cin)
    im.fail("W's first dimension must equal X's channels, a multiple of group");
  llvm::SmallVector<int64_t> ones(spatial, 1), zeros(spatial, 0);
  auto kernel = intsAttr(im, "kernel_shape", llvm::SmallVector<int64_t>(wt.getShape().drop_front(2)));
  auto strides = intsAttr(im, "strides", ones), dilations = intsAttr(im, "dilations", ones);
  auto outPad = intsAttr(im, "output_padding", zeros);
  auto pads = intsAttr(im, "pads", llvm::SmallVector<int64_t>(2 * spatial, 0));
  auto outShape = intsAttr(im, "output_shape");
  std::string autoPad = im.attr("auto_pad") ? im.attr("auto_pad")->s() : "NOTSET";
  if ((int64_t)kernel.size() != spatial || (int64_t)strides.size() != spatial ||
      (int64_t)dilations.size() != spatial || (int64_t)outPad.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial ||
      (!outShape.empty() && (int64_t)outShape.size() != spatial))
    im.fail("kernel_shape, strides, dilations, output_padding, pads or output_shape has the "
            "wrong length");
  for (int64_t i = 0; i < spatial; ++i) {
    if (strides[i] <= 0 || dilations[i] <= 0)
      im.fail("strides and dilations must be positive");
    int64_t in = xt.getDimSize(2 + i), extent = (kernel[i] - 1) * dilations[i] + 1;
    if (!outShape.empty() && xt.isDynamicDim(2 + i))
      im.fail("output_shape needs X's spatial dims known when compiling");
    if (!outShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      // full - target, where full = s * (in - 1) + output_padding + extent
      // and SAME's target is in * s (so in cancels out).
      int64_t total = outShape.empty() ? outPad[i] + extent - strides[i]
                                       : strides[i] * (in - 1) + outPad[i] + extent - outShape[i];
      bool upper = autoPad == "SAME_UPPER";
      // Floor division: a negative total (output_shape past the full
      // result) extends the end with zeros.
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      pads[i] = upper ? half : total - half;
      pads[spatial + i] = upper ? total - half : half;
    } else if (autoPad == "VALID") {
      pads[i] = pads[spatial + i] = 0;
    }
  }

  if (group == 1 && outShape.empty() && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" &&
      buildNonOverlappingConvTranspose(im, n, kernel, strides, dilations, outPad, pads))
    return;

  // Zeros between input elements: (.., d, ..) -> (.., d, 1, ..) padded to
  // (.., d, s, ..), merged to d*s; the trailing s-1 zeros come off below.
  // The shapes are computed from Shape(X), which folds when X's are known.
  Value y = x;
  Value xShape = im.make("Shape", {x});
  auto dimOf = [&](int64_t d) { return im.slice(xShape, 0, d, d + 1); };
  std::vector<Value> split{dimOf(0), dimOf(1)}, merged(split);
  llvm::SmallVector<int64_t> padBegin(2 * spatial + 2, 0), padEnd(2 * spatial + 2, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    split.push_back(dimOf(2 + i));
    split.push_back(im.i64Constant({1}));
    padEnd[2 + 2 * i + 1] = strides[i] - 1;
    merged.push_back(im.make("Mul", {dimOf(2 + i), im.i64Constant({strides[i]})}));
  }
  auto shapeOf = [&](const std::vector<Value> &parts) {
    return im.make("Concat", parts, {im.intAttr("axis", 0)});
  };
  bool strided = llvm::any_of(strides, [](int64_t s) { return s != 1; });
  Type elem = xt.getElementType();
  Value zero = im.scalar(elem, 0.0);
  if (strided) {
    llvm::SmallVector<int64_t> p(padBegin);
    p.append(padEnd);
    y = im.make("Pad", {im.make("Reshape", {y, shapeOf(split)}), im.i64Constant(p), zero, im.none()});
    y = im.make("Reshape", {y, shapeOf(merged)});
  }
  // Per spatial axis: begin/end padding of the dilated input; negative
  // amounts crop instead (an end counted from the end).
  llvm::SmallVector<int64_t> starts, ends, axes, pad(2 * xt.getRank(), 0);
  bool crop = false;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
    int64_t begin = extent - 1 - pads[i];
    int64_t end = extent - 1 - pads[spatial + i] + outPad[i] - (strides[i] - 1);
    starts.push_back(begin < 0 ? -begin : 0);
    ends.push_back(end < 0 ? end : std::numeric_limits<int64_t>::max());
    axes.push_back(2 + i);
    crop |= begin < 0 || end < 0;
    pad[2 + i] = std::max<int64_t>(begin, 0);
    pad[xt.getRank() + 2 + i] = std::max<int64_t>(end, 0);
  }
  if (crop)
    y = im.make("Slice", {y, im.i64Constant(starts), im.i64Constant(ends), im.i64Constant(axes),
                          im.none()});
  if (llvm::any_of(pad, [](int64_t v) { return v != 0; }))
    y = im.make("Pad", {y, im.i64Constant(pad), zero, im.none()});

  // W (Cin, Cout/g, k..) -> (Cout, Cin/g, k..), flipped in space.
  llvm::SmallVector<int64_t> grouped{group, cin / group, coutPerGroup}, perm{0, 2, 1};
  for (int64_t i = 0; i < spatial; ++i) {
    grouped.push_back(wt.getDimSize(2 + i));
    perm.push_back(3 + i);
  }
  Value wg = im.make("Transpose", {im.reshape(w, grouped)},
                     {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr(perm))});
  llvm::SmallVector<int64_t> convW{group * coutPerGroup, cin / group};
  convW.append(wt.getShape().drop_front(2).begin(), wt.getShape().drop_front(2).end());
  wg = im.reshape(wg, convW);
  llvm::SmallVector<int64_t> flipStarts(spatial, -1), flipEnds(spatial, std::numeric_limits<int64_t>::min()),
      flipSteps(spatial, -1);
  wg = im.make("Slice", {wg, im.i64Constant(flipStarts), im.i64Constant(flipEnds),
                         im.i64Constant(axes), im.i64Constant(flipSteps)});
  llvm::SmallVector<NamedAttribute> attrs{
      im.intAttr("group", group),
      NamedAttribute(im.b.getStringAttr("dilations"), im.b.getI64ArrayAttr(dilations))};
  im.values[n.output(0)] = im.make("Conv", {y, wg, bias}, attrs);
}

/// CausalConvWithState: the depthwise convolution of the past state (or
/// zeros) followed by the input; the present state is the last k-1 steps.
void buildCausalConvWithState(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"activation"});
  Value x = im.input(0), w = im.input(1), bias = im.input(2), past = im.input(3);
  // Batch and length may be known only at run time; channels and k not.
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  auto wt = im.staticType(w, n.input(1));
  if (!xt || xt.getRank() != 3 || wt.getRank() != 3 || wt.getDimSize(0) != xt.getDimSize(1) ||
      wt.getDimSize(1) != 1)
    im.fail("input must be (batch, channels, length) and weight (channels, 1, k)");
  int64_t channels = xt.getDimSize(1), k = wt.getDimSize(2);
  Type elem = xt.getElementType();
  // Zeros of (batch, channels, steps), batch from x.
  auto zerosLike = [&](int64_t steps) { return im.zerosLeading(x, 0, {channels, steps}, elem); };
  if (llvm::isa<NoneType>(past.getType())) {
    past = zerosLike(k - 1);
  } else {
    auto pt = llvm::dyn_cast<RankedTensorType>(past.getType());
    auto fits = [](int64_t have, int64_t want) {
      return have == want || ShapedType::isDynamic(have) || ShapedType::isDynamic(want);
    };
    if (!pt || pt.getRank() != 3 || !fits(pt.getDimSize(0), xt.getDimSize(0)) ||
        !fits(pt.getDimSize(1), channels) || !fits(pt.getDimSize(2), k - 1))
      im.fail("past_state must have shape (batch, channels, k - 1)");
  }
  Value padded = k > 1 ? im.make("Concat", {past, x}, {im.intAttr("axis", 2)}) : x;
  Value y = im.make("Conv", {padded, w, bias}, {im.intAttr("group", channels)});
  std::string act = im.attr("activation") ? im.attr("activation")->s() : "none";
  if (act == "silu" || act == "swish")
    y = swish(im, y, 1.0);
  else if (act != "none")
    im.fail("activation '" + act + "' is not one of silu, swish, none");
  im.values[n.output(0)] = y;
  if (n.output_size() > 1 && !n.output(1).empty())
    im.values[n.output(1)] = k > 1 ? im.slice(padded, 2, -(k - 1), std::numeric_limits<int64_t>::max())
                                   : zerosLike(0);
}

/// CenterCropPad: per axis, a centred Slice (crop, rounding the start down)
/// or a zero Pad (extra element on the right).
void buildCenterCropPad(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"axes"});
  Value x = im.input(0);
  auto t = im.staticType(x, n.input(0));
  auto target = getConstantInts(im.input(1));
  if (!target)
    im.fail("shape must be known when compiling");
  int64_t rank = t.getRank();
  llvm::SmallVector<int64_t> axes = intsAttr(im, "axes");
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  if (axes.size() != target->size())
    im.fail("shape has " + std::to_string(target->size()) + " values for " +
            std::to_string(axes.size()) + " axes");
  llvm::SmallVector<int64_t> starts, ends, sliceAxes, pads(2 * rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto ax = normalizeAxis(axes[i], rank);
    if (!ax)
      im.fail("axes holds an axis out of range");
    int64_t have = t.getDimSize(*ax), want = (*target)[i];
    if (want < 0)
      im.fail("shape must not be negative");
    if (want < have) {
      int64_t start = (have - want) / 2;
      starts.push_back(start);
      ends.push_back(start + want);
      sliceAxes.push_back(*ax);
    } else if (want > have) {
      pads[*ax] = (want - have) / 2;
      pads[rank + *ax] = want - have - (want - have) / 2;
    }
  }
  Value y = x;
  if (!starts.empty())
    y = im.make("Slice", {y, im.i64Constant(starts), im.i64Constant(ends),
                          im.i64Constant(sliceAxes), im.none()});
  if (llvm::any_of(pads, [](int64_t p) { return p != 0; }))
    y = im.make("Pad", {y, im.i64Constant(pads), im.zeros({}, t.getElementType()), im.none()});
  im.values[n.output(0)] = y;
}

/// GatherND: each index tuple becomes one row number of the data viewed as
/// (batch * indexed dims, rest...), then a Gather along that axis.
void buildGatherND(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"batch_dims"});
  Value data = im.input(0), indices = im.input(1);
  auto dt = im.staticType(data, n.input(0));
  auto it = im.staticType(indices, n.input(1));
  const auto *ba = im.attr("batch_dims");
  int64_t b = ba ? ba->i() : 0, r = dt.getRank(), q = it.getRank();
  if (q < 1 || b < 0 || b >= std::min(q, r))
    im.fail("batch_dims must be below the ranks of data and indices");
  int64_t k = it.getDimSize(q - 1);
  if (k < 1 || k > r - b)
    im.fail("the index tuples' length must be in [1, rank(data) - batch_dims]");
  for (int64_t i = 0; i < b; ++i)
    if (dt.getDimSize(i) != it.getDimSize(i))
      im.fail("data and indices must share their batch dimensions");
  llvm::SmallVector<int64_t> dims, strides(k, 1);
  int64_t batch = 1, block = 1;
  for (int64_t i = 0; i < b; ++i)
    batch *= dt.getDimSize(i);
  for (int64_t i = 0; i < k; ++i)
    dims.push_back(dt.getDimSize(b + i));
  for (int64_t i = k - 1; i >= 0; --i) {
    strides[i] = block;
    block *= dims[i];
  }
  Value idx = im.castTo(indices, im.b.getIntegerType(64));
  Value dimsV = im.i64Constant(dims);
  idx = im.make("Where", {im.make("Less", {idx, im.i64Constant({0})}), im.make("Add", {idx, dimsV}), idx});
  Value row = im.make("ReduceSum", {im.make("Mul", {idx, im.i64Constant(strides)}), im.i64Constant({-1})},
                      {im.intAttr("keepdims", 0)});
  if (b > 0) {
    // Rows of batch j start at j * block.
    llvm::SmallVector<int64_t> offsets, shape(it.getShape().take_front(b));
    shape.append(q - 1 - b, 1);
    for (int64_t j = 0; j < batch; ++j)
      offsets.push_back(j * block);
    row = im.make("Add", {row, im.reshape(im.i64Constant(offsets), shape)});
  }
  llvm::SmallVector<int64_t> flat{batch * block};
  flat.append(dt.getShape().begin() + b + k, dt.getShape().end());
  im.values[n.output(0)] =
      im.make("Gather", {im.reshape(data, flat), row}, {im.intAttr("axis", 0)});
}

/// TensorScatter: ScatterElements along the sequence axis with index
/// write_indices[batch] + position (modulo the cache length if circular).
void buildTensorScatter(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"axis", "mode"});
  Value past = im.input(0), update = im.input(1), writeAt = im.input(2);
  auto pt = im.staticType(past, n.input(0));
  auto ut = im.staticType(update, n.input(1));
  int64_t rank = pt.getRank();
  const auto *a = im.attr("axis");
  auto axis = normalizeAxis(a ? a->i() : -2, rank);
  if (!axis || *axis == 0 || ut.getRank() != rank)
    im.fail("axis must name a non-batch dimension of equal-rank past_cache and update");
  std::string mode = im.attr("mode") ? im.attr("mode")->s() : "linear";
  if (mode != "linear" && mode != "circular")
    im.fail("mode must be linear or circular");
  int64_t seq = ut.getDimSize(*axis), batch = ut.getDimSize(0);
  llvm::SmallVector<int64_t> iota, iotaShape(rank, 1), batchShape(rank, 1);
  for (int64_t i = 0; i < seq; ++i)
    iota.push_back(i);
  iotaShape[*axis] = seq;
  batchShape[0] = batch;
  Value idx = im.reshape(im.i64Constant(iota), iotaShape);
  if (!llvm::isa<NoneType>(writeAt.getType()))
    idx = im.make("Add", {idx, im.reshape(writeAt, batchShape)});
  if (mode == "circular")
    idx = im.make("Mod", {idx, im.i64Constant({pt.getDimSize(*axis)})});
  idx = im.make("Expand", {idx, im.i64Constant(ut.getShape())});
  im.values[n.output(0)] =
      im.make("ScatterElements", {past, idx, update}, {im.intAttr("axis", *axis)});
}

/// AffineGrid: the normalized coordinates of every output position,
/// (x, y[, z], 1) with x along the last axis, times theta transposed.
void buildAffineGrid(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"align_corners"});
  Value theta = im.input(0);
  auto tt = im.staticType(theta, n.input(0));
  auto size = getConstantInts(im.input(1));
  if (!size)
    im.fail("size must be known when compiling");
  int64_t dims = size->size() - 2;
  if ((dims != 2 && dims != 3) || tt.getRank() != 3 || tt.getDimSize(1) != dims ||
      tt.getDimSize(2) != dims + 1 || tt.getDimSize(0) != (*size)[0])
    im.fail("theta must be (N, 2, 3) for a 4-D size or (N, 3, 4) for a 5-D size");
  const auto *a = im.attr("align_corners");
  bool align = a && a->i();
  llvm::SmallVector<int64_t> spatial(size->begin() + 2, size->end());
  auto coord = [&](int64_t i, int64_t len) {
    if (align)
      return len == 1 ? 0.0 : -1.0 + 2.0 * double(i) / double(len - 1);
    return (2.0 * double(i) + 1.0) / double(len) - 1.0;
  };
  double count = double(dims + 1);
  for (int64_t d : spatial)
    count *= double(d);
  im.checkGenerated(count, "the base grid");
  int64_t points = 1;
  for (int64_t d : spatial)
    points *= d;
  std::vector<float> base;
  for (int64_t p = 0; p < points; ++p) {
    // Row-major position p over spatial; coordinates listed innermost first.
    llvm::SmallVector<int64_t> pos(dims);
    int64_t rem = p;
    for (int64_t d = dims - 1; d >= 0; --d) {
      pos[d] = rem % spatial[d];
      rem /= spatial[d];
    }
    for (int64_t d = dims - 1; d >= 0; --d)
      base.push_back(float(coord(pos[d], spatial[d])));
    base.push_back(1.0f);
  }
  Type elem = tt.getElementType();
  Value grid = im.castTo(im.constant(Tensor::fromVector(ElementType::Float32, {points, dims + 1}, base)), elem);
  Value thetaT = im.make("Transpose", {theta},
                         {NamedAttribute(im.b.getStringAttr("perm"), im.b.getI64ArrayAttr({0, 2, 1}))});
  Value out = im.make("MatMul", {grid, thetaT}); // (N, points, dims)
  llvm::SmallVector<int64_t> shape{(*size)[0]};
  shape.append(spatial.begin(), spatial.end());
  shape.push_back(dims);
  im.values[n.output(0)] = im.reshape(out, shape);
}

/// Optionals are known when compiling: an empty one is either built so in
/// the graph or a graph input given empty (a session compiles for each);
/// a present one is its tensor or sequence.
bool isEmptyOptional(Importer &im, const std::string &name) {
  if (name.empty())
    return true;
  Importer::GraphValue v = im.lookup(name);
  return v.kind == Importer::GraphValue::Empty ||
         (v.kind == Importer::GraphValue::Tensor && llvm::isa<NoneType>(v.tensor.getType()));
}

void buildOptionalHasElement(Importer &im, const onnx::NodeProto &n) {
  bool has = n.input_size() > 0 && !isEmptyOptional(im, n.input(0));
  im.values[n.output(0)] = im.constant(Tensor::fromVector(ElementType::Bool, {}, std::vector<uint8_t>{has}));
}

void buildOptional(Importer &im, const onnx::NodeProto &n) {
  if (n.input_size() == 0 || n.input(0).empty())
    im.bind(n.output(0), {Importer::GraphValue::Empty, {}, {}});
  else
    im.bind(n.output(0), im.lookup(n.input(0)));
}

void buildOptionalGetElement(Importer &im, const onnx::NodeProto &n) {
  if (n.input_size() == 0 || isEmptyOptional(im, n.input(0)))
    im.fail("the optional is empty");
  im.bind(n.output(0), im.lookup(n.input(0)));
}

/// Col2Im: each column entry is added into its image position, as
/// ScatterElements(add) over the flattened image; entries that fall in the
/// padding go to one extra slot that is dropped.
void buildCol2Im(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"dilations", "pads", "strides"});
  Value x = im.input(0);
  auto xt = im.staticType(x, n.input(0));
  auto image = getConstantInts(im.input(1)), block = getConstantInts(im.input(2));
  if (!image || !block)
    im.fail("image_shape and block_shape must be known when compiling");
  int64_t dims = image->size();
  if (xt.getRank() != 3 || (int64_t)block->size() != dims || dims < 1)
    im.fail("input must be (N, C * prod(block), L) with one block dim per image dim");
  llvm::SmallVector<int64_t> ones(dims, 1);
  auto dil = intsAttr(im, "dilations", ones), str = intsAttr(im, "strides", ones);
  auto pads = intsAttr(im, "pads", llvm::SmallVector<int64_t>(2 * dims, 0));
  int64_t blockSize = 1, imageSize = 1;
  llvm::SmallVector<int64_t> blocksPer(dims);
  int64_t count = 1;
  for (int64_t d = 0; d < dims; ++d) {
    blockSize *= (*block)[d];
    imageSize *= (*image)[d];
    int64_t extent = dil[d] * ((*block)[d] - 1) + 1;
    blocksPer[d] = ((*image)[d] + pads[d] + pads[dims + d] - extent) / str[d] + 1;
    count *= blocksPer[d];
  }
  int64_t batch = xt.getDimSize(0), channels = xt.getDimSize(1) / blockSize;
  if (xt.getDimSize(1) % blockSize || xt.getDimSize(2) != count)
    im.fail("input's dims do not match image_shape and block_shape");
  im.checkGenerated(double(blockSize) * double(count), "the column targets");
  // Target of (kernel offset k, block l) in the flattened image.
  std::vector<int64_t> target;
  for (int64_t k = 0; k < blockSize; ++k)
    for (int64_t l = 0; l < count; ++l) {
      int64_t flat = 0, kr = k, lr = l;
      bool inside = true;
      llvm::SmallVector<int64_t> kc(dims), lc(dims);
      for (int64_t d = dims - 1; d >= 0; --d) {
        kc[d] = kr % (*block)[d], kr /= (*block)[d];
        lc[d] = lr % blocksPer[d], lr /= blocksPer[d];
      }
      for (int64_t d = 0; d < dims; ++d) {
        int64_t pos = lc[d] * str[d] - pads[d] + kc[d] * dil[d];
        inside &= pos >= 0 && pos < (*image)[d];
        flat = flat * (*image)[d] + pos;
      }
      target.push_back(inside ? flat : imageSize);
    }
  Value cols = im.reshape(x, {batch, channels, blockSize * count});
  Value idx = im.make("Expand", {im.reshape(im.i64Constant(target), {1, 1, blockSize * count}),
                                 im.i64Constant({batch, channels, blockSize * count})});
  Value canvas = im.zeros({batch, channels, imageSize + 1}, xt.getElementType());
  Value summed = im.make("ScatterElements", {canvas, idx, cols},
                         {im.intAttr("axis", 2),
                          NamedAttribute(im.b.getStringAttr("reduction"), im.b.getStringAttr("add"))});
  summed = im.slice(summed, 2, 0, imageSize);
  llvm::SmallVector<int64_t> out{batch, channels};
  out.append(image->begin(), image->end());
  im.values[n.output(0)] = im.reshape(summed, out);
}

/// ReverseSequence: along the time axis, position t < len[b] reads
/// len[b] - 1 - t, later positions stay: a GatherElements.
void buildReverseSequence(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"batch_axis", "time_axis"});
  Value x = im.input(0), lens = im.input(1);
  auto xt = im.staticType(x, n.input(0));
  const auto *ba = im.attr("batch_axis"), *ta = im.attr("time_axis");
  int64_t batchAxis = ba ? ba->i() : 1, timeAxis = ta ? ta->i() : 0, rank = xt.getRank();
  if (rank < 2 || !normalizeAxis(batchAxis, rank) || !normalizeAxis(timeAxis, rank) ||
      *normalizeAxis(batchAxis, rank) == *normalizeAxis(timeAxis, rank))
    im.fail("batch_axis and time_axis must be two different axes");
  batchAxis = *normalizeAxis(batchAxis, rank);
  timeAxis = *normalizeAxis(timeAxis, rank);
  int64_t steps = xt.getDimSize(timeAxis);
  llvm::SmallVector<int64_t> tShape(rank, 1), bShape(rank, 1), iota;
  tShape[timeAxis] = steps;
  bShape[batchAxis] = xt.getDimSize(batchAxis);
  for (int64_t t = 0; t < steps; ++t)
    iota.push_back(t);
  Value t = im.reshape(im.i64Constant(iota), tShape);
  Value len = im.reshape(im.castTo(lens, im.b.getIntegerType(64)), bShape);
  Value reversed = im.make("Sub", {im.make("Sub", {len, im.i64Constant({1})}), t});
  Value idx = im.make("Where", {im.make("Less", {t, len}), reversed, t});
  idx = im.make("Expand", {idx, im.i64Constant(xt.getShape())});
  im.values[n.output(0)] = im.make("GatherElements", {x, idx}, {im.intAttr("axis", timeAxis)});
}

/// MaxUnpool: values written at their flat indices into zeros of the shape
/// the pooling attributes give, then placed at the origin of output_shape.
void buildMaxUnpool(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"kernel_shape", "pads", "strides"});
  Value x = im.input(0), indices = im.input(1);
  auto xt = im.staticType(x, n.input(0));
  int64_t spatial = xt.getRank() - 2;
  llvm::SmallVector<int64_t> inferred(xt.getShape().take_front(2));
  auto kernel = intsAttr(im, "kernel_shape");
  auto strides = intsAttr(im, "strides", llvm::SmallVector<int64_t>(spatial, 1));
  auto pads = intsAttr(im, "pads", llvm::SmallVector<int64_t>(2 * spatial, 0));
  if ((int64_t)kernel.size() != spatial)
    im.fail("kernel_shape must have one value per spatial dim");
  for (int64_t d = 0; d < spatial; ++d)
    inferred.push_back((xt.getDimSize(2 + d) - 1) * strides[d] + kernel[d] - pads[d] - pads[spatial + d]);
  int64_t total = 1;
  for (int64_t d : inferred)
    total *= d;
  Value flatIdx = im.reshape(im.castTo(indices, im.b.getIntegerType(64)), {-1});
  Value flatX = im.reshape(x, {-1});
  Value y = im.make("ScatterElements", {im.zeros({total}, xt.getElementType()), flatIdx, flatX},
                    {im.intAttr("axis", 0)});
  y = im.reshape(y, inferred);
  if (n.input_size() > 2 && !n.input(2).empty()) {
    auto s = getConstantInts(im.input(2));
    if (!s || (int64_t)s->size() != xt.getRank())
      im.fail("output_shape must be known when compiling and have X's rank");
    llvm::SmallVector<int64_t> pad(2 * xt.getRank(), 0);
    for (int64_t d = 0; d < xt.getRank(); ++d) {
      if ((*s)[d] < inferred[d])
        im.fail("output_shape is smaller than the unpooled shape");
      pad[xt.getRank() + d] = (*s)[d] - inferred[d];
    }
    if (llvm::any_of(pad, [](int64_t p) { return p != 0; }))
      y = im.make("Pad", {y, im.i64Constant(pad), im.zeros({}, xt.getElementType()), im.none()});
  }
  im.values[n.output(0)] = y;
}

/// Det: Gaussian elimination with partial pivoting, unrolled over the
/// (static) matrix size; the determinant is the signed product of the
/// pivots. Matrices are (..., n, n), flattened to one batch axis.
void buildDet(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {});
  Value x = im.input(0);
  auto t = im.staticType(x, n.input(0));
  int64_t rank = t.getRank();
  if (rank < 2 || t.getDimSize(rank - 1) != t.getDimSize(rank - 2) ||
      !llvm::isa<FloatType>(t.getElementType()))
    im.fail("input must be float matrices (..., n, n)");
  int64_t size = t.getDimSize(rank - 1), batch = t.getNumElements() / std::max<int64_t>(size * size, 1);
  if (size > 16)
    im.fail("matrices larger than 16x16 are not supported (the elimination is unrolled)");
  Type elem = t.getElementType();
  Value a = im.reshape(x, {batch, size, size});
  Value sign = im.make("Expand", {im.scalar(elem, 1.0), im.i64Constant({batch})});
  llvm::SmallVector<int64_t> iota;
  for (int64_t i = 0; i < size; ++i)
    iota.push_back(i);
  Value rows = im.reshape(im.i64Constant(iota), {1, size, 1});
  auto column = [&](Value m, int64_t k) { // (batch, n, 1)
    return im.slice(m, 2, k, k + 1);
  };
  auto row = [&](Value m, Value r) { // row r (batch,1,1) of m -> (batch, 1, n)
    Value idx = im.make("Expand", {r, im.i64Constant({batch, 1, size})});
    return im.make("GatherElements", {m, idx}, {im.intAttr("axis", 1)});
  };
  Value pivots = im.make("Expand", {im.scalar(elem, 1.0), im.i64Constant({batch})});
  for (int64_t k = 0; k < size; ++k) {
    // Pivot: the largest |a[i, k]| over rows i >= k.
    Value below = im.make("Where", {im.make("Less", {rows, im.i64Constant({k})}),
                                    im.scalar(elem, -1.0), im.make("Abs", {column(a, k)})});
    Value p = im.make("ArgMax", {below}, {im.intAttr("axis", 1), im.intAttr("keepdims", 1)}); // (batch,1,1)
    Value kk = im.i64Constant({k});
    Value rowK = row(a, im.reshape(kk, {1, 1, 1})), rowP = row(a, p);
    Value isK = im.make("Equal", {rows, kk}), isP = im.make("Equal", {rows, p});
    a = im.make("Where", {isK, rowP, im.make("Where", {isP, rowK, a})});
    Value swapped = im.reshape(im.make("Not", {im.make("Equal", {p, kk})}), {batch});
    sign = im.make("Where", {swapped, im.make("Neg", {sign}), sign});
    // Eliminate below the pivot.
    Value pivotRow = rowP; // now row k
    Value pivot = im.slice(pivotRow, 2, k, k + 1); // (batch,1,1)
    pivots = im.make("Mul", {pivots, im.reshape(pivot, {batch})});
    if (k + 1 < size) {
      Value factor = im.make("Div", {column(a, k), pivot});
      factor = im.make("Where", {im.make("Greater", {rows, kk}), factor, im.scalar(elem, 0.0)});
      a = im.make("Sub", {a, im.make("Mul", {factor, pivotRow})});
    }
  }
  llvm::SmallVector<int64_t> out(t.getShape().drop_back(2));
  im.values[n.output(0)] = im.reshape(im.make("Mul", {pivots, sign}), out);
}

/// DeformConv (2-D): each kernel tap samples the input bilinearly at its
/// offset position (GridSample with zeros outside, as the definition
/// says), scaled by the mask; the sampled taps form the columns of one
/// grouped MatMul with the weights.
void buildDeformConv(Importer &im, const onnx::NodeProto &n) {
  rejectAttributesBut(im, n, {"dilations", "group", "kernel_shape", "offset_group", "pads", "strides"});
  Value x = im.input(0), w = im.input(1), offset = im.input(2), bias = im.input(3), mask = im.input(4);
  auto xt = im.staticType(x, n.input(0));
  auto wt = im.staticType(w, n.input(1));
  auto ot = im.staticType(offset, n.input(2));
  if (xt.getRank() != 4 || wt.getRank() != 4 || ot.getRank() != 4)
    im.fail("only 2-D deformable convolution is supported");
  int64_t batch = xt.getDimSize(0), channels = xt.getDimSize(1), height = xt.getDimSize(2),
          width = xt.getDimSize(3), outC = wt.getDimSize(0), kh = wt.getDimSize(2),
          kw = wt.getDimSize(3), oh = ot.getDimSize(2), ow = ot.getDimSize(3), taps = kh * kw;
  const auto *ga = im.attr("group"), *oga = im.attr("offset_group");
  int64_t group = ga ? ga->i() : 1, offsetGroups = oga ? oga->i() : 1;
  if (group <= 0 || offsetGroups <= 0 || channels % group || outC % group ||
      channels % offsetGroups || wt.getDimSize(1) != channels / group ||
      ot.getDimSize(1) != offsetGroups * taps * 2)
    im.fail("the channel, group and offset shapes do not agree");
  auto strides = intsAttr(im, "strides", {1, 1}), dil = intsAttr(im, "dilations", {1, 1});
  auto pads = intsAttr(im, "pads", {0, 0, 0, 0});
  Type elem = xt.getElementType();
  std::vector<float> baseH, baseW;
  for (int64_t i = 0; i < oh; ++i)
    baseH.push_back(float(i * strides[0] - pads[0]));
  for (int64_t j = 0; j < ow; ++j)
    baseW.push_back(float(j * strides[1] - pads[1]));
  auto cst = [&](std::vector<float> v, std::vector<int64_t> shape) {
    return im.castTo(im.constant(Tensor::fromVector(ElementType::Float32, shape, v)), elem);
  };
  Value rowsH = cst(baseH, {1, oh, 1}), colsW = cst(baseW, {1, 1, ow});
  auto channel = [&](Value v, int64_t c) { // (N, oh, ow)
    return im.make("Squeeze", {im.slice(v, 1, c, c + 1), im.i64Constant({1})});
  };
  auto normalized = [&](Value pos, int64_t size) { // pixel -> [-1, 1] (align_corners)
    return im.make("Sub", {im.make("Mul", {pos, im.scalar(elem, 2.0 / double(size - 1))}),
                           im.scalar(elem, 1.0)});
  };
  int64_t perOffsetGroup = channels / offsetGroups;
  std::vector<Value> columns;
  for (int64_t k = 0; k < taps; ++k) {
    int64_t i = k / kw, j = k % kw;
    std::vector<Value> parts;
    for (int64_t g = 0; g < offsetGroups; ++g) {
      Value dy = channel(offset, g * 2 * taps + 2 * k), dx = channel(offset, g * 2 * taps + 2 * k + 1);
      Value py = im.make("Add", {im.make("Add", {rowsH, im.scalar(elem, double(i * dil[0]))}), dy});
      Value px = im.make("Add", {im.make("Add", {colsW, im.scalar(elem, double(j * dil[1]))}), dx});
      Value last = im.i64Constant({-1});
      Value grid = im.make("Concat", {im.make("Unsqueeze", {normalized(px, width), last}),
                                      im.make("Unsqueeze", {normalized(py, height), last})},
                           {im.intAttr("axis", 3)});
      Value xg = im.slice(x, 1, g * perOffsetGroup, (g + 1) * perOffsetGroup);
      Value sampled = im.make("GridSample", {xg, grid}, {im.intAttr("align_corners", 1)});
      if (!llvm::isa<NoneType>(mask.getType()))
        sampled = im.make("Mul", {sampled, im.make("Unsqueeze", {channel(mask, g * taps + k), im.i64Constant({1})})});
      parts.push_back(sampled);
    }
    Value tap = parts.size() == 1 ? parts[0] : im.make("Concat", parts, {im.intAttr("axis", 1)});
    columns.push_back(im.make("Unsqueeze", {tap, im.i64Constant({2})}));
  }
  Value cols = columns.size() == 1 ? columns[0] : im.make("Concat", columns, {im.intAttr("axis", 2)});
  int64_t perGroup = channels / group * taps;
  cols = im.reshape(cols, {batch, group, perGroup, oh * ow});
  Value wg = im.reshape(w, {group, outC / group, perGroup});
  Value y = im.reshape(im.make("MatMul", {wg, cols}), {batch, outC, oh, ow});
  if (!llvm::isa<NoneType>(bias.getType()))
    y = im.make("Add", {y, im.reshape(bias, {1, outC, 1, 1})});
  im.values[n.output(0)] = y;
}

/// ai.onnx.ml Binarizer: 1 where x > threshold, else 0, in x's type.
void buildBinarizer(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  Type elem = llvm::cast<TensorType>(x.getType()).getElementType();
  double threshold = im.attr("threshold") ? im.attr("threshold")->f() : 0.0;
  Value above = im.make("Greater", {x, im.scalar(elem, threshold)});
  im.values[n.output(0)] = im.make("Where", {above, im.scalar(elem, 1), im.scalar(elem, 0)});
}

/// ai.onnx.ml ArrayFeatureExtractor: the (flattened) indices gathered from
/// the last axis; a 1-D input gives one row, as ONNX Runtime does.
void buildArrayFeatureExtractor(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt)
    im.fail("needs an input of known rank");
  Value idx = im.reshape(im.input(1), {-1});
  Value y = im.make("Gather", {x, idx}, {im.intAttr("axis", xt.getRank() - 1)});
  im.values[n.output(0)] = xt.getRank() == 1 ? im.reshape(y, {1, -1}) : y;
}

} // namespace

void addComposedBuilders(BuilderTable &table) {
  table["ai.onnx.ml:Binarizer"] = buildBinarizer;
  table["ai.onnx.ml:ArrayFeatureExtractor"] = buildArrayFeatureExtractor;
  table["ai.onnx.ml:TreeEnsemble"] = generic("TreeEnsemble", 1);
  table["ImageDecoder"] = generic("ImageDecoder", 1);
  table["DeformConv"] = buildDeformConv;
  table["Det"] = buildDet;
  table["OptionalHasElement"] = buildOptionalHasElement;
  table["Optional"] = buildOptional;
  table["OptionalGetElement"] = buildOptionalGetElement;
  table["Col2Im"] = buildCol2Im;
  table["ReverseSequence"] = buildReverseSequence;
  table["MaxUnpool"] = buildMaxUnpool;
  table["AffineGrid"] = buildAffineGrid;
  table["TensorScatter"] = buildTensorScatter;
  table["CenterCropPad"] = buildCenterCropPad;
  table["GatherND"] = buildGatherND;
  table["CausalConvWithState"] = buildCausalConvWithState;
  table["Swish"] = buildSwish;
  table["SwiGLU"] = buildSwiGLU;
  table["LpPool"] = buildLpPool;
  table["Tile"] = buildTile;
  table["OneHot"] = buildOneHot;
  table["ConvTranspose"] = buildConvTranspose;
}

} // namespace kiln
