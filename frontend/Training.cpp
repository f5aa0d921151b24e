//===- Training.cpp - ai.onnx.preview.training ops ------------------------===//
//
// The optimizers (Adagrad, Adam, Momentum) are their update formulas over
// each (X, G, state...) group. Gradient is reverse-mode differentiation of
// the nodes between xs and y, done here over the imported values with one
// rule per op kind; y is seeded with ones (the gradient of sum(y)).
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {
namespace {

double floatAttr(Importer &im, const char *name, double dflt) {
  const auto *a = im.attr(name);
  return a ? a->f() : dflt;
}

struct Optimizer {
  Importer &im;
  Value r, t, zero, one;
  Type elem;
  Value c(double v) { return im.scalar(elem, v); }
  Value add(Value a, Value b) { return im.make("Add", {a, b}); }
  Value sub(Value a, Value b) { return im.make("Sub", {a, b}); }
  Value mul(Value a, Value b) { return im.make("Mul", {a, b}); }
  Value div(Value a, Value b) { return im.make("Div", {a, b}); }
  Value sqrt(Value a) { return im.make("Sqrt", {a}); }
  /// T > 0 as a boolean scalar.
  Value started() { return im.make("Greater", {t, im.castTo(im.i64Constant({0}), llvm::cast<TensorType>(t.getType()).getElementType())}); }
};

/// Groups of `count` tensors after R and T: X..., then `count`-sized runs.
int64_t groupSize(Importer &im, const onnx::NodeProto &n, int runs) {
  int64_t rest = n.input_size() - 2;
  if (rest <= 0 || rest % runs)
    im.fail("expects R, T and " + std::to_string(runs) + " equal-length lists of tensors");
  return rest / runs;
}

Optimizer optimizer(Importer &im) {
  Value x = im.input(2);
  Type elem = llvm::cast<TensorType>(x.getType()).getElementType();
  if (!llvm::isa<FloatType>(elem))
    im.fail("the optimized tensors must be float");
  Optimizer o{im, im.castTo(im.input(0), elem), im.input(1), {}, {}, elem};
  return o;
}

void buildAdagrad(Importer &im, const onnx::NodeProto &n) {
  int64_t count = groupSize(im, n, 3);
  Optimizer o = optimizer(im);
  double decay = floatAttr(im, "decay_factor", 0), eps = floatAttr(im, "epsilon", 0),
         norm = floatAttr(im, "norm_coefficient", 0);
  Value rate = o.div(o.r, o.add(o.c(1), o.mul(im.castTo(o.t, o.elem), o.c(decay))));
  for (int64_t i = 0; i < count; ++i) {
    Value x = im.input(2 + i), g = im.input(2 + count + i), h = im.input(2 + 2 * count + i);
    Value gr = o.add(o.mul(o.c(norm), x), g);
    Value hNew = o.add(h, o.mul(gr, gr));
    Value xNew = o.sub(x, o.div(o.mul(rate, gr), o.add(o.sqrt(hNew), o.c(eps))));
    im.values[n.output(i)] = xNew;
    if (n.output_size() > count + i)
      im.values[n.output(count + i)] = hNew;
  }
}

void buildAdam(Importer &im, const onnx::NodeProto &n) {
  int64_t count = groupSize(im, n, 4);
  Optimizer o = optimizer(im);
  double alpha = floatAttr(im, "alpha", 0.9), beta = floatAttr(im, "beta", 0.999),
         eps = floatAttr(im, "epsilon", 0), norm = floatAttr(im, "norm_coefficient", 0),
         post = floatAttr(im, "norm_coefficient_post", 0);
  Value tf = im.castTo(o.t, o.elem);
  Value corrected = o.div(o.mul(o.r, o.sqrt(o.sub(o.c(1), im.make("Pow", {o.c(beta), tf})))),
                          o.sub(o.c(1), im.make("Pow", {o.c(alpha), tf})));
  Value rate = im.make("Where", {o.started(), corrected, o.r});
  for (int64_t i = 0; i < count; ++i) {
    Value x = im.input(2 + i), g = im.input(2 + count + i), v = im.input(2 + 2 * count + i),
          h = im.input(2 + 3 * count + i);
    Value gr = o.add(o.mul(o.c(norm), x), g);
    Value vNew = o.add(o.mul(o.c(alpha), v), o.mul(o.c(1 - alpha), gr));
    Value hNew = o.add(o.mul(o.c(beta), h), o.mul(o.c(1 - beta), o.mul(gr, gr)));
    Value xNew = o.sub(x, o.div(o.mul(rate, vNew), o.add(o.sqrt(hNew), o.c(eps))));
    im.values[n.output(i)] = o.mul(o.c(1 - post), xNew);
    if (n.output_size() > count + i)
      im.values[n.output(count + i)] = vNew;
    if (n.output_size() > 2 * count + i)
      im.values[n.output(2 * count + i)] = hNew;
  }
}

void buildMomentum(Importer &im, const onnx::NodeProto &n) {
  int64_t count = groupSize(im, n, 3);
  Optimizer o = optimizer(im);
  double alpha = floatAttr(im, "alpha", 0), beta = floatAttr(im, "beta", 0),
         norm = floatAttr(im, "norm_coefficient", 0);
  std::string mode = im.attr("mode") ? im.attr("mode")->s() : "standard";
  if (mode != "standard" && mode != "nesterov")
    im.fail("mode must be standard or nesterov");
  Value betaAdjusted = im.make("Where", {o.started(), o.c(beta), o.c(1)});
  for (int64_t i = 0; i < count; ++i) {
    Value x = im.input(2 + i), g = im.input(2 + count + i), v = im.input(2 + 2 * count + i);
    Value gr = o.add(o.mul(o.c(norm), x), g);
    Value vNew = o.add(o.mul(o.c(alpha), v), o.mul(betaAdjusted, gr));
    Value step = mode == "nesterov" ? o.add(gr, o.mul(o.c(alpha), vNew)) : vNew;
    im.values[n.output(i)] = o.sub(x, o.mul(o.r, step));
    if (n.output_size() > count + i)
      im.values[n.output(count + i)] = vNew;
  }
}

/// `g` summed down to `shape` (undoing broadcasting).
Value unbroadcast(Importer &im, Value g, Value like) {
  auto gt = llvm::cast<RankedTensorType>(g.getType());
  auto lt = llvm::dyn_cast<RankedTensorType>(like.getType());
  if (!lt || !lt.hasStaticShape())
    im.fail("gradients need static shapes");
  if (gt.getShape() == lt.getShape())
    return g;
  int64_t lead = gt.getRank() - lt.getRank();
  llvm::SmallVector<int64_t> axes;
  for (int64_t d = 0; d < gt.getRank(); ++d)
    if (d < lead || lt.getDimSize(d - lead) == 1)
      axes.push_back(d);
  Value s = im.make("ReduceSum", {g, im.i64Constant(axes)}, {im.intAttr("keepdims", 1)});
  return im.make("Reshape", {s, im.i64Constant(lt.getShape())});
}

void buildGradient(Importer &im, const onnx::NodeProto &n) {
  const auto *xsA = im.attr("xs"), *yA = im.attr("y");
  if (!xsA || !yA)
    im.fail("attributes 'xs' and 'y' are required");
  if (im.graph == nullptr)
    im.fail("Gradient is only supported in the main graph");
  std::map<std::string, Value> grads;
  auto yIt = im.values.find(yA->s());
  if (yIt == im.values.end())
    im.fail("y '" + yA->s() + "' is not computed before the Gradient node");
  Value y = yIt->second;
  Type elem = llvm::cast<TensorType>(y.getType()).getElementType();
  auto yt = llvm::dyn_cast<RankedTensorType>(y.getType());
  if (!yt || !yt.hasStaticShape())
    im.fail("y needs a static shape");
  grads[yA->s()] = im.make("Expand", {im.scalar(elem, 1.0), im.i64Constant(yt.getShape())});
  auto accumulate = [&](const std::string &name, Value g) {
    auto it = grads.find(name);
    grads[name] = it == grads.end() ? g : im.make("Add", {it->second, g});
  };
  // Nodes before this one, last first.
  std::vector<const onnx::NodeProto *> before;
  for (const auto &node : im.graph->node()) {
    if (&node == &n)
      break;
    before.push_back(&node);
  }
  for (auto it = before.rbegin(); it != before.rend(); ++it) {
    const onnx::NodeProto &node = **it;
    if (node.output_size() != 1 || !grads.count(node.output(0)))
      continue;
    Value g = grads[node.output(0)];
    auto in = [&](int i) { return im.values.at(node.input(i)); };
    const std::string &op = node.op_type();
    if (op == "Add" || op == "Sub") {
      accumulate(node.input(0), unbroadcast(im, g, in(0)));
      Value gb = op == "Add" ? g : im.make("Neg", {g});
      accumulate(node.input(1), unbroadcast(im, gb, in(1)));
    } else if (op == "Mul") {
      accumulate(node.input(0), unbroadcast(im, im.make("Mul", {g, in(1)}), in(0)));
      accumulate(node.input(1), unbroadcast(im, im.make("Mul", {g, in(0)}), in(1)));
    } else if (op == "Div") {
      accumulate(node.input(0), unbroadcast(im, im.make("Div", {g, in(1)}), in(0)));
      Value q = im.make("Div", {im.values.at(node.output(0)), in(1)});
      accumulate(node.input(1), unbroadcast(im, im.make("Neg", {im.make("Mul", {g, q})}), in(1)));
    } else if (op == "Neg") {
      accumulate(node.input(0), im.make("Neg", {g}));
    } else if (op == "Identity") {
      accumulate(node.input(0), g);
    } else {
      im.fail("the gradient of op '" + op + "' is not supported");
    }
  }
  for (int i = 0; i < xsA->strings_size() && i < n.output_size(); ++i) {
    const std::string &x = xsA->strings(i);
    auto it = grads.find(x);
    if (it == grads.end()) {
      // y does not depend on x.
      auto xt = llvm::dyn_cast<RankedTensorType>(im.values.at(x).getType());
      if (!xt || !xt.hasStaticShape())
        im.fail("xs needs static shapes");
      im.values[n.output(i)] = im.make("Expand", {im.scalar(elem, 0.0), im.i64Constant(xt.getShape())});
    } else {
      im.values[n.output(i)] = it->second;
    }
  }
}

} // namespace

void addTrainingBuilders(BuilderTable &t) {
  const std::string d = "ai.onnx.preview.training:";
  t[d + "Adagrad"] = buildAdagrad;
  t[d + "Adam"] = buildAdam;
  t[d + "Momentum"] = buildMomentum;
  t[d + "Gradient"] = buildGradient;
}

} // namespace kiln
