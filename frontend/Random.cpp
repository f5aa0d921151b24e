//===- Random.cpp - random ops: uniform, normal, Bernoulli, Multinomial ---===//
//
// Every random op is kiln.Random (f32 or f64 samples, see the dialect)
// followed by the arithmetic ONNX defines on them; other float types are
// sampled in f32 and cast.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {

/// Samples shaped like `like` (a tensor) or as `shape`, of element type
/// `want` (a float type): uniform in [a, b) or normal (mean a, deviation b).
/// The node's `seed` attribute, if any, fixes them.
Value randomSamples(Importer &im, Value like, std::optional<std::vector<int64_t>> shape,
                    bool normal, double a, double b, Type want) {
  if (!llvm::isa<FloatType>(want))
    im.fail("random samples must be of a float type");
  Type gen = want.isF64() ? im.b.getF64Type() : im.b.getF32Type();
  llvm::SmallVector<NamedAttribute> attrs{
      NamedAttribute(im.b.getStringAttr("distribution"), im.b.getStringAttr(normal ? "normal" : "uniform")),
      NamedAttribute(im.b.getStringAttr("a"), im.b.getF64FloatAttr(a)),
      NamedAttribute(im.b.getStringAttr("b"), im.b.getF64FloatAttr(b)),
      NamedAttribute(im.b.getStringAttr("element"), TypeAttr::get(gen))};
  if (const auto *s = im.attr("seed"))
    attrs.push_back(NamedAttribute(im.b.getStringAttr("seed"), im.b.getF64FloatAttr(s->f())));
  if (shape)
    attrs.push_back(NamedAttribute(im.b.getStringAttr("shape"), im.b.getI64ArrayAttr(*shape)));
  return im.castTo(im.make("Random", {like ? like : im.none()}, attrs), want);
}

namespace {

double floatAttr(Importer &im, const char *name, double dflt) {
  const auto *a = im.attr(name);
  return a ? a->f() : dflt;
}

/// `dtype` if given, else `dflt`.
Type dtypeOr(Importer &im, Type dflt) {
  const auto *d = im.attr("dtype");
  return d ? im.elementType(d->i(), "dtype") : dflt;
}

Type elementOf(Value v) { return llvm::cast<TensorType>(v.getType()).getElementType(); }

void buildRandom(Importer &im, const onnx::NodeProto &n, bool normal, bool like) {
  Value x = like ? im.input(0) : Value();
  std::optional<std::vector<int64_t>> shape;
  if (!like) {
    const auto *s = im.attr("shape");
    if (!s)
      im.fail("attribute 'shape' is required");
    shape = std::vector<int64_t>(s->ints().begin(), s->ints().end());
    for (int64_t d : *shape)
      if (d < 0)
        im.fail("shape dims must not be negative");
    im.checkSize(RankedTensorType::get(*shape, im.b.getF64Type()));
  }
  Type want = dtypeOr(im, like ? elementOf(x) : im.b.getF32Type());
  double a = floatAttr(im, normal ? "mean" : "low", 0.0);
  double b = floatAttr(im, normal ? "scale" : "high", 1.0);
  im.values[n.output(0)] = randomSamples(im, x, shape, normal, a, b, want);
}

/// Bernoulli: 1 where a uniform sample in [0, 1) is below the probability.
void buildBernoulli(Importer &im, const onnx::NodeProto &n) {
  Value p = im.input(0);
  Value u = randomSamples(im, p, std::nullopt, false, 0.0, 1.0, elementOf(p));
  im.values[n.output(0)] = im.castTo(im.make("Less", {u, p}), dtypeOr(im, elementOf(p)));
}

/// Multinomial: for each batch row and sample, the first class whose
/// cumulative softmax probability exceeds a uniform sample in [0, 1).
void buildMultinomial(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt || xt.getRank() != 2 || !llvm::isa<FloatType>(xt.getElementType()))
    im.fail("input must be a float (batch_size, class_size) tensor");
  const auto *ss = im.attr("sample_size");
  int64_t samples = ss ? ss->i() : 1;
  if (samples < 1)
    im.fail("sample_size must be positive");
  Type want = dtypeOr(im, im.b.getIntegerType(32));
  if (!want.isInteger(32) && !want.isInteger(64))
    im.fail("dtype must be int32 or int64");
  Type elem = xt.getElementType();
  Value cdf = im.make("CumSum", {im.make("Softmax", {x}, {im.intAttr("axis", 1)}), im.i64Scalar(1)});
  // A (batch, samples, 1) tensor to shape the uniform samples.
  Value column = im.make("Unsqueeze", {im.slice(x, 1, 0, 1), im.i64Constant({2})});
  Value like = im.make("Expand", {column, im.i64Constant({1, samples, 1})});
  Value u = randomSamples(im, like, std::nullopt, false, 0.0, 1.0, elem);
  Value below = im.make("Less", {im.make("Unsqueeze", {cdf, im.i64Constant({1})}), u});
  Value index = im.make("ReduceSum", {im.castTo(below, im.b.getIntegerType(64)), im.i64Constant({2})},
                        {im.intAttr("keepdims", 0)});
  // Rounding may leave the last cumulative sum just under a sample.
  Value last = im.make("Sub", {im.make("Gather", {im.make("Shape", {x}), im.i64Scalar(1)}),
                               im.i64Scalar(1)});
  im.values[n.output(0)] = im.castTo(im.make("Min", {index, last}), want);
}

} // namespace

void addRandomBuilders(BuilderTable &t) {
  t["Multinomial"] = buildMultinomial;
  t["RandomUniform"] = [](Importer &im, const onnx::NodeProto &n) { buildRandom(im, n, false, false); };
  t["RandomNormal"] = [](Importer &im, const onnx::NodeProto &n) { buildRandom(im, n, true, false); };
  t["RandomUniformLike"] = [](Importer &im, const onnx::NodeProto &n) { buildRandom(im, n, false, true); };
  t["RandomNormalLike"] = [](Importer &im, const onnx::NodeProto &n) { buildRandom(im, n, true, true); };
  t["Bernoulli"] = buildBernoulli;
}

} // namespace kiln
