//===- Normalization.cpp - group and instance normalization ---------------===//
//
// Both normalize each instance over groups of channels: reshaped to
// (N, G, rest), mean and variance over `rest`, reshaped back, then scaled and
// shifted per channel. InstanceNormalization is the case G = C.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {
namespace {

/// (x - mean) / sqrt(var + eps) * scale + bias over `groups` channel groups;
/// `scale` and `bias` hold one value per channel.
Value groupNormalize(Importer &im, Value x, Value scale, Value bias, int64_t groups,
                     double epsilon, bool stashF32) {
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || !t.hasStaticShape() || t.getRank() < 2)
    im.fail("X needs a static shape of rank 2 or more");
  if (!llvm::isa<FloatType>(t.getElementType()))
    im.fail("X must be a float tensor");
  int64_t n = t.getDimSize(0), c = t.getDimSize(1);
  if (groups <= 0 || c % groups)
    im.fail("the channel count " + std::to_string(c) + " is not a multiple of num_groups " +
            std::to_string(groups));
  Type elem = t.getElementType();
  Type work = stashF32 && elem.getIntOrFloatBitWidth() < 32 ? im.b.getF32Type() : elem;
  Value g = im.reshape(im.castTo(x, work), {n, groups, -1});
  auto axes = im.i64Constant({2});
  Value mean = im.make("ReduceMean", {g, axes}, {im.intAttr("keepdims", 1)});
  Value d = im.make("Sub", {g, mean});
  Value var = im.make("ReduceMean", {im.make("Mul", {d, d}), axes}, {im.intAttr("keepdims", 1)});
  Value normed = im.make("Div", {d, im.make("Sqrt", {im.make("Add", {var, im.scalar(work, epsilon)})})});
  normed = im.castTo(im.reshape(normed, t.getShape()), elem);
  llvm::SmallVector<int64_t> perChannel(t.getRank() - 1, 1);
  perChannel[0] = c;
  Value y = im.make("Mul", {normed, im.reshape(im.castTo(scale, elem), perChannel)});
  return im.make("Add", {y, im.reshape(im.castTo(bias, elem), perChannel)});
}

double epsilonAttr(Importer &im) {
  const auto *a = im.attr("epsilon");
  return a ? a->f() : 1e-5;
}

void buildInstanceNormalization(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || t.getRank() < 2)
    im.fail("input needs a rank of 2 or more");
  im.values[n.output(0)] =
      groupNormalize(im, x, im.input(1), im.input(2), t.getDimSize(1), epsilonAttr(im), false);
}

void buildGroupNormalization(Importer &im, const onnx::NodeProto &n) {
  const auto *g = im.attr("num_groups");
  if (!g)
    im.fail("attribute 'num_groups' is required");
  const auto *stash = im.attr("stash_type");
  Value x = im.input(0), scale = im.input(1), bias = im.input(2);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || !t.hasStaticShape() || t.getRank() < 2)
    im.fail("X needs a static shape of rank 2 or more");
  int64_t c = t.getDimSize(1), groups = g->i();
  if (im.opset < 21 && groups > 0 && c % groups == 0) {
    // Opset 18 scales and shifts per group: repeat each value C/G times.
    auto perChannel = [&](Value v) {
      Value e = im.make("Expand", {im.reshape(v, {groups, 1}), im.i64Constant({groups, c / groups})});
      return im.reshape(e, {c});
    };
    scale = perChannel(scale);
    bias = perChannel(bias);
  }
  im.values[n.output(0)] = groupNormalize(im, x, scale, bias, groups, epsilonAttr(im),
                                          !stash || stash->i() == 1);
}

} // namespace

void addNormalizationBuilders(BuilderTable &t) {
  t["InstanceNormalization"] = buildInstanceNormalization;
  t["GroupNormalization"] = buildGroupNormalization;
}

} // namespace kiln
