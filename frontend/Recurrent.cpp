//===- Recurrent.cpp - RNN, GRU and LSTM ----------------------------------===//
//
// The input projections of all steps are one MatMul; each step is a MatMul
// with the recurrent weights and the gate arithmetic of the ONNX
// definitions (gate orders: GRU z, r, h; LSTM i, o, f, c). Short sequences
// of known length are unrolled; longer ones, or lengths known only at run
// time, are a kiln.Loop over the steps (see runtimeLoop).
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {
namespace {

enum class Cell { RNN, GRU, LSTM };

struct Recurrence {
  Importer &im;
  const onnx::NodeProto &n;
  Cell cell;
  Type elem;
  int64_t seq = 0, hidden = 0, gates = 1, dirs = 1;
  std::vector<std::string> activations;
  std::vector<float> alphas, betas;
  double clip = 0;

  /// Sequences up to this long (and known when compiling) are unrolled.
  static constexpr int64_t kMaxUnrolled = 32;
  Value x;
  bool linearBeforeReset = false;
  /// The product of a left operand (X, or h at a step) by W or R of
  /// direction `dir`, transposed (a quantized LSTM computes it as its
  /// integer kernel does); a MatMul if null.
  std::function<Value(Value, Value, int64_t, bool)> product;
  Value times(Value v, Value weightT, int64_t dir, bool recurrent) {
    return product ? product(v, weightT, dir, recurrent) : make("MatMul", {v, weightT});
  }

  Value make(StringRef op, ValueRange v, llvm::ArrayRef<NamedAttribute> a = {}) { return im.make(op, v, a); }
  Value transpose(Value v, llvm::ArrayRef<int64_t> perm) { return im.transpose(v, perm); }
  Value at(Value v, int64_t i) { return make("Gather", {v, im.i64Scalar(i)}, {im.intAttr("axis", 0)}); }
  /// Gate `g` (hidden-wide) of the last axis.
  Value gate(Value v, int64_t g) {
    int64_t rank = llvm::cast<RankedTensorType>(v.getType()).getRank();
    return im.slice(v, rank - 1, g * hidden, (g + 1) * hidden);
  }

  /// Activation `index` of direction `dir` (defaults per cell).
  Value activate(Value x, int64_t dir, int64_t index) {
    static const char *defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int64_t perDir = cell == Cell::RNN ? 1 : cell == Cell::GRU ? 2 : 3;
    size_t k = dir * perDir + index;
    std::string f = k < activations.size() ? activations[k] : defaults[int(cell)][index];
    double alpha = k < alphas.size() ? alphas[k] : 0, beta = k < betas.size() ? betas[k] : 0;
    if (clip > 0)
      x = make("Clip", {x, im.scalar(elem, -clip), im.scalar(elem, clip)});
    std::string lower = llvm::StringRef(f).lower();
    if (lower == "tanh")
      return make("Tanh", {x});
    if (lower == "sigmoid")
      return make("Sigmoid", {x});
    if (lower == "relu")
      return make("Relu", {x});
    auto fattr = [&](const char *name, double v) {
      return NamedAttribute(im.b.getStringAttr(name), im.b.getF32FloatAttr(float(v)));
    };
    if (lower == "leakyrelu")
      return make("LeakyRelu", {x}, {fattr("alpha", k < alphas.size() ? alpha : 0.01)});
    if (lower == "hardsigmoid")
      return make("HardSigmoid", {x}, {fattr("alpha", k < alphas.size() ? alpha : 0.2),
                                       fattr("beta", k < betas.size() ? beta : 0.5)});
    if (lower == "affine")
      return make("Add", {make("Mul", {x, im.scalar(elem, alpha)}), im.scalar(elem, beta)});
    if (lower == "scaledtanh")
      return make("Mul", {make("Tanh", {make("Mul", {x, im.scalar(elem, beta)})}), im.scalar(elem, alpha)});
    if (lower == "softsign")
      return make("Softsign", {x});
    if (lower == "softplus")
      return make("Softplus", {x});
    im.fail("activation '" + f + "' is not supported");
  }

  /// One step from input projection `xt` (batch, G*H): updates h (and c).
  void step(Value xt, Value &h, Value &c, int64_t d, Value rT, Value rb, Value pd) {
    Value hr = times(h, rT, d, true);
    if (rb)
      hr = make("Add", {hr, rb});
    if (cell == Cell::RNN) {
      h = activate(make("Add", {xt, hr}), d, 0);
    } else if (cell == Cell::GRU) {
      Value z = activate(make("Add", {gate(xt, 0), gate(hr, 0)}), d, 0);
      Value rr = activate(make("Add", {gate(xt, 1), gate(hr, 1)}), d, 0);
      Value recurrent;
      if (linearBeforeReset) {
        recurrent = make("Mul", {rr, gate(hr, 2)});
      } else {
        Value rh = make("MatMul", {make("Mul", {rr, h}), gate(rT, 2)});
        recurrent = rb ? make("Add", {rh, gate(rb, 2)}) : rh;
      }
      Value cand = activate(make("Add", {gate(xt, 2), recurrent}), d, 1);
      Value one = im.scalar(elem, 1.0);
      h = make("Add", {make("Mul", {make("Sub", {one, z}), cand}), make("Mul", {z, h})});
    } else {
      auto pre = [&](int64_t g) { return make("Add", {gate(xt, g), gate(hr, g)}); };
      auto peephole = [&](Value v, int64_t g, Value cell_) {
        return pd ? make("Add", {v, make("Mul", {gate(pd, g), cell_})}) : v;
      };
      // Gate order i, o, f, c; peepholes P hold i, o, f.
      Value i = activate(peephole(pre(0), 0, c), d, 0);
      Value f = activate(peephole(pre(2), 2, c), d, 0);
      Value cand = activate(pre(3), d, 1);
      c = make("Add", {make("Mul", {f, c}), make("Mul", {i, cand})});
      Value o = activate(peephole(pre(1), 1, c), d, 0);
      h = make("Mul", {o, activate(c, d, 2)});
    }
  }

  void run() {
    Value w = im.input(1), r = im.input(2), b = im.input(3), lens = im.input(4),
          h0 = im.input(5), c0 = cell == Cell::LSTM ? im.input(6) : Value(),
          peep = cell == Cell::LSTM ? im.input(7) : Value();
    x = im.input(0);
    auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
    if (!xt || xt.getRank() != 3)
      im.fail("X must be (seq_length, batch_size, input_size)");
    elem = xt.getElementType();
    const auto *layoutA = im.attr("layout");
    bool batchFirst = layoutA && layoutA->i();
    if (batchFirst)
      x = transpose(x, {1, 0, 2});
    auto xs = llvm::cast<RankedTensorType>(x.getType()).getShape();
    seq = xs[0];
    bool unroll = seq != ShapedType::kDynamic && seq <= kMaxUnrolled;
    const auto *hs = im.attr("hidden_size");
    auto wt = llvm::dyn_cast<RankedTensorType>(w.getType());
    gates = cell == Cell::RNN ? 1 : cell == Cell::GRU ? 3 : 4;
    if (!wt || wt.getRank() != 3)
      im.fail("W must be of rank 3");
    if (!hs && wt.isDynamicDim(1))
      im.fail("hidden_size is needed when W's second dimension is known only at run time");
    hidden = hs ? hs->i() : wt.getDimSize(1) / gates;
    if (hidden <= 0 || (!wt.isDynamicDim(1) && wt.getDimSize(1) != gates * hidden))
      im.fail("W's second dimension must be " + std::to_string(gates) + " * hidden_size");
    std::string direction = im.attr("direction") ? im.attr("direction")->s() : "forward";
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
      im.fail("direction must be forward, reverse or bidirectional");
    dirs = direction == "bidirectional" ? 2 : 1;
    if (!wt.isDynamicDim(0) && wt.getDimSize(0) != dirs)
      im.fail("W's first dimension must be the number of directions");
    for (int64_t d = 0; d < dirs && unroll; ++d)
      im.reserveUnrolledSteps(seq, "a recurrence");
    if (!llvm::isa<NoneType>(lens.getType())) {
      auto l = getConstantInts(lens);
      if (seq == ShapedType::kDynamic)
        im.fail("sequence_lens with a sequence length known only at run time is not supported");
      if (!l || llvm::any_of(*l, [&](int64_t v) { return v != seq; }))
        im.fail("sequence_lens shorter than the sequence are not supported");
    }
    if (const auto *a = im.attr("activations"))
      for (const auto &s : a->strings())
        activations.push_back(s);
    if (const auto *a = im.attr("activation_alpha"))
      alphas.assign(a->floats().begin(), a->floats().end());
    if (const auto *a = im.attr("activation_beta"))
      betas.assign(a->floats().begin(), a->floats().end());
    if (const auto *a = im.attr("clip"))
      clip = a->f();
    if (const auto *a = im.attr("input_forget"); a && a->i())
      im.fail("input_forget is not supported");
    const auto *lbr = im.attr("linear_before_reset");
    linearBeforeReset = lbr && lbr->i();

    std::vector<Value> ys, lastH, lastC;
    for (int64_t d = 0; d < dirs; ++d) {
      bool reverse = direction == "reverse" || d == 1;
      Value wd = at(w, d), rd = at(r, d);
      // All steps' input projections: (seq, batch, G*H).
      Value xw = times(x, transpose(wd, {1, 0}), d, false);
      Value rb;
      if (!llvm::isa<NoneType>(b.getType())) {
        Value bd = at(b, d);
        auto slice = [&](int64_t from, int64_t to) {
          return im.slice(bd, 0, from, to);
        };
        // An LSTM's or RNN's two biases add up before the steps (as ONNX
        // Runtime's kernels do): the steps then add none. A GRU keeps its
        // recurrent bias, which its reset gate multiplies in part.
        Value wb = slice(0, gates * hidden), rbd = slice(gates * hidden, 2 * gates * hidden);
        if (cell == Cell::GRU)
          rb = rbd;
        else
          wb = make("Add", {wb, rbd});
        xw = make("Add", {xw, wb});
      }
      Value h = llvm::isa<NoneType>(h0.getType()) ? zeros() : at(h0, d);
      Value c = cell == Cell::LSTM ? (llvm::isa<NoneType>(c0.getType()) ? zeros() : at(c0, d)) : Value();
      Value pd = cell == Cell::LSTM && !llvm::isa<NoneType>(peep.getType()) ? at(peep, d) : Value();
      Value rT = transpose(rd, {1, 0});
      if (unroll) {
        std::vector<Value> steps(seq);
        for (int64_t s = 0; s < seq; ++s) {
          int64_t t = reverse ? seq - 1 - s : s;
          step(at(xw, t), h, c, d, rT, rb, pd);
          steps[t] = make("Unsqueeze", {h, im.i64Constant({0})});
        }
        ys.push_back(steps.size() == 1 ? steps[0] : make("Concat", steps, {im.intAttr("axis", 0)}));
      } else {
        // A loop over the steps carrying h (and c), h stacked per step.
        Value length = make("Gather", {make("Shape", {x}), im.i64Scalar(0)});
        Value last = make("Sub", {length, im.i64Scalar(1)});
        std::vector<Value> initial{h};
        if (c)
          initial.push_back(c);
        std::vector<Value> results = runtimeLoop(
            im, length, im.none(), initial, 1, [&](llvm::ArrayRef<Value> args) {
              Value t = reverse ? make("Sub", {last, args[0]}) : args[0];
              Value hs = args[2], cs = c ? args[3] : Value();
              step(make("Gather", {xw, t}), hs, cs, d, rT, rb, pd);
              std::vector<Value> out{args[1], hs};
              if (cs)
                out.push_back(cs);
              out.push_back(hs);
              return out;
            });
        h = results[0];
        if (c)
          c = results[1];
        Value y = results.back(); // in step order
        // The loop runs every step: with the length and batch known, so is
        // the stack's shape, which the next layer's projection (a GEMM)
        // needs to get its kernel.
        auto yt = llvm::cast<RankedTensorType>(y.getType());
        if (seq != ShapedType::kDynamic && yt.getRank() == 3 && !yt.isDynamicDim(1) &&
            !yt.isDynamicDim(2))
          y = im.reshape(y, {seq, yt.getDimSize(1), yt.getDimSize(2)});
        if (reverse)
          y = make("Gather", {y, make("Range", {last, im.i64Scalar(-1), im.i64Scalar(-1)})});
        ys.push_back(y);
      }
      lastH.push_back(make("Unsqueeze", {h, im.i64Constant({0})}));
      if (c)
        lastC.push_back(make("Unsqueeze", {c, im.i64Constant({0})}));
    }
    auto stack = [&](std::vector<Value> &v, int64_t axis) {
      if (v.size() == 1)
        return make("Unsqueeze", {v[0], im.i64Constant({axis})});
      std::vector<Value> u;
      for (Value x : v)
        u.push_back(make("Unsqueeze", {x, im.i64Constant({axis})}));
      return make("Concat", u, {im.intAttr("axis", axis)});
    };
    auto concat0 = [&](std::vector<Value> &v) {
      return v.size() == 1 ? v[0] : make("Concat", v, {im.intAttr("axis", 0)});
    };
    Value y = stack(ys, 1);              // (seq, dirs, batch, hidden)
    Value yh = concat0(lastH);           // (dirs, batch, hidden)
    Value yc = lastC.empty() ? Value() : concat0(lastC);
    if (batchFirst) {
      y = transpose(y, {2, 0, 1, 3});
      yh = transpose(yh, {1, 0, 2});
      if (yc)
        yc = transpose(yc, {1, 0, 2});
    }
    im.bindResults({y, yh, yc});
  }

  /// The default initial state: zeros of (batch, hidden).
  Value zeros() { return im.zerosLeading(x, 1, {hidden}, elem); }
};

} // namespace

void buildLstm(Importer &im, const onnx::NodeProto &n,
               std::function<Value(Value, Value, int64_t, bool)> product) {
  Recurrence r{im, n, Cell::LSTM};
  r.product = std::move(product);
  r.run();
}

void addRecurrentBuilders(BuilderTable &t) {
  t["RNN"] = [](Importer &im, const onnx::NodeProto &n) { Recurrence{im, n, Cell::RNN}.run(); };
  t["GRU"] = [](Importer &im, const onnx::NodeProto &n) { Recurrence{im, n, Cell::GRU}.run(); };
  t["LSTM"] = [](Importer &im, const onnx::NodeProto &n) { Recurrence{im, n, Cell::LSTM}.run(); };
}

} // namespace kiln
