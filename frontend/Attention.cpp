//===- Attention.cpp - attention blocks composed from dialect ops ---------===//
//
// Attention (opset 23/24) is imported as the graph its definition describes:
// scaled Q·Kᵀ, softcap, an additive bias built from the mask, the causal
// frontier and the padding lengths, a softmax whose fully-masked rows are
// zeroed, and the product with V. The matmuls, softmax and elementwise ops
// it becomes are the ones every other model uses, so fusion and tiling apply
// to it unchanged.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <cmath>
#include <limits>

namespace kiln {
namespace {

RankedTensorType rankedType(Importer &im, Value v, const char *what) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    im.fail(std::string("input '") + what + "' needs a known rank");
  return t;
}

/// Dim `i` of `v` as a 1-element int64 tensor: a constant when known, read
/// by the code otherwise.
Value dimOf(Importer &im, Value v, int64_t i) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (!t.isDynamicDim(i))
    return im.i64Constant({t.getDimSize(i)});
  return im.make("Shape", {v}, {im.intAttr("start", i), im.intAttr("end", i + 1)});
}

/// 0, 1, ..., n - 1 for a 1-element int64 `n`.
Value iota(Importer &im, Value n) {
  if (auto c = getConstantInts(n)) {
    llvm::SmallVector<int64_t> ids;
    for (int64_t i = 0; i < (*c)[0]; ++i)
      ids.push_back(i);
    return im.i64Constant(ids);
  }
  return im.make("Range", {im.i64Scalar(0), im.reshape(n, {}), im.i64Scalar(1)});
}

/// (B, S, heads*D) -> (B, heads, S, D).
Value splitHeads(Importer &im, Value v, int64_t heads, const char *what) {
  auto t = rankedType(im, v, what);
  if (heads <= 0 || (!t.isDynamicDim(2) && t.getDimSize(2) % heads))
    im.fail(std::string("hidden size of '") + what + "' is not a multiple of its head count");
  if (!t.hasStaticShape()) // 0 keeps the input's dim
    return im.transpose(im.reshape(v, {0, 0, heads, -1}), {0, 2, 1, 3});
  return im.transpose(im.reshape(v, {t.getDimSize(0), t.getDimSize(1), heads, -1}), {0, 2, 1, 3});
}

/// Repeats each of the kv heads of (B, kvHeads, T, D) `groups` times. With
/// dims known only at run time (then `q` is given), query head h reads kv
/// head h / (qHeads / kvHeads), a Gather along the head axis.
Value repeatHeads(Importer &im, Value v, int64_t groups, Value q = {}) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (q && (!t.hasStaticShape() || llvm::cast<RankedTensorType>(q.getType()).isDynamicDim(1))) {
    Value qHeads = dimOf(im, q, 1);
    Value ratio = im.make("Div", {qHeads, dimOf(im, v, 1)});
    Value heads = im.make("Div", {iota(im, qHeads), ratio});
    return im.make("Gather", {v, heads}, {im.intAttr("axis", 1)});
  }
  if (groups == 1)
    return v;
  auto s = t.getShape();
  Value u = im.make("Unsqueeze", {v, im.i64Constant({2})});
  Value e = im.make("Expand", {u, im.i64Constant({s[0], s[1], groups, s[2], s[3]})});
  return im.reshape(e, {s[0], s[1] * groups, s[2], s[3]});
}

int64_t intAttr(Importer &im, const char *name, int64_t dflt) {
  const auto *a = im.attr(name);
  return a ? a->i() : dflt;
}

void buildAttention(Importer &im, const onnx::NodeProto &n) {
  for (const auto &a : n.attribute())
    if (!llvm::is_contained({"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode",
                             "scale", "softcap", "softmax_precision"},
                            a.name()))
      im.fail("attribute '" + a.name() + "' is not supported");
  Value q = im.input(0), k = im.input(1), v = im.input(2);
  Value mask = im.input(3), pastK = im.input(4), pastV = im.input(5), nonpad = im.input(6);
  auto qType = rankedType(im, q, "Q");
  rankedType(im, k, "K");
  rankedType(im, v, "V");
  Type elem = qType.getElementType();
  if (!llvm::isa<FloatType>(elem))
    im.fail("Q must be a float tensor");
  bool isNone[] = {llvm::isa<NoneType>(pastK.getType()), llvm::isa<NoneType>(pastV.getType())};
  if (isNone[0] != isNone[1])
    im.fail("past_key and past_value must be given together");
  bool hasPast = !isNone[0], hasMask = !llvm::isa<NoneType>(mask.getType()),
       hasNonpad = !llvm::isa<NoneType>(nonpad.getType());

  int64_t rank = qType.getRank();
  if (rank == 3) {
    int64_t qHeads = intAttr(im, "q_num_heads", 0), kvHeads = intAttr(im, "kv_num_heads", 0);
    if (qHeads <= 0 || kvHeads <= 0)
      im.fail("3-D inputs need the q_num_heads and kv_num_heads attributes");
    q = splitHeads(im, q, qHeads, "Q");
    k = splitHeads(im, k, kvHeads, "K");
    v = splitHeads(im, v, kvHeads, "V");
  } else if (rank != 4) {
    im.fail("Q must be 3-D or 4-D");
  }
  auto qs = llvm::cast<RankedTensorType>(q.getType()).getShape();
  int64_t batch = qs[0], qHeads = qs[1], qLen = qs[2], headSize = qs[3];
  Value pastLen;
  if (hasPast) {
    rankedType(im, pastK, "past_key");
    pastLen = dimOf(im, pastK, 2);
    auto axis2 = im.intAttr("axis", 2);
    k = im.make("Concat", {pastK, k}, {axis2});
    v = im.make("Concat", {pastV, v}, {axis2});
  }
  auto ks = llvm::cast<RankedTensorType>(k.getType()).getShape();
  int64_t kvHeads = ks[1], total = ks[2];
  bool headsKnown = !ShapedType::isDynamic(qHeads) && !ShapedType::isDynamic(kvHeads);
  if (headsKnown && (kvHeads <= 0 || qHeads % kvHeads))
    im.fail("q_num_heads must be a multiple of kv_num_heads");
  int64_t groups = headsKnown ? qHeads / kvHeads : 1;

  // Q and K are each scaled by sqrt(scale) so Q·Kᵀ cannot overflow first.
  Value rootScale;
  if (const auto *a = im.attr("scale"))
    rootScale = im.scalar(elem, std::sqrt(double(a->f())));
  else if (!ShapedType::isDynamic(headSize))
    rootScale = im.scalar(elem, std::sqrt(1.0 / std::sqrt(double(headSize))));
  else // head size ** -1/4, computed when the code runs
    rootScale = im.make("Pow", {im.castTo(im.reshape(dimOf(im, q, 3), {}), elem),
                                im.scalar(elem, -0.25)});
  Value qScaled = im.make("Mul", {q, rootScale});
  Value kScaled = im.make("Mul", {im.transpose(repeatHeads(im, k, groups, q), {0, 1, 3, 2}),
                                  rootScale});
  Value qk = im.make("MatMul", {qScaled, kScaled});

  Value capped = qk;
  if (const auto *a = im.attr("softcap"); a && a->f() != 0) {
    Value cap = im.scalar(elem, a->f());
    capped = im.make("Mul", {im.make("Tanh", {im.make("Div", {qk, cap})}), cap});
  }

  // The additive bias: user mask, causal frontier and padding lengths.
  const double negInf = -std::numeric_limits<double>::infinity();
  Value zero = im.scalar(elem, 0.0), minusInf = im.scalar(elem, negInf);
  Value bias;
  auto addBias = [&](Value term) { bias = bias ? im.make("Add", {bias, term}) : term; };
  if (hasMask) {
    auto mt = rankedType(im, mask, "attn_mask");
    Value m = mt.getElementType().isInteger(1) ? im.make("Where", {mask, zero, minusInf})
                                               : im.castTo(mask, elem);
    // A mask shorter than the total sequence is padded with -inf.
    int64_t last = mt.getShape().back();
    if (!ShapedType::isDynamic(last) && !ShapedType::isDynamic(total)) {
      if (last > total)
        im.fail("attn_mask's last dimension exceeds the total sequence length");
      if (last < total)
        m = im.make("Pad", {m, im.i64Constant({0, total - last}), minusInf, im.i64Constant({-1})});
    } else {
      // Lengths known at run time: -inf columns up to the total (maybe none).
      int64_t r = mt.getRank();
      Value lead = r > 1 ? im.make("Shape", {m}, {im.intAttr("end", r - 1)}) : Value();
      Value missing = im.make("Sub", {dimOf(im, k, 2), dimOf(im, m, r - 1)});
      Value padShape = lead ? im.make("Concat", {lead, missing}, {im.intAttr("axis", 0)}) : missing;
      m = im.make("Concat", {m, im.make("Expand", {minusInf, padShape})},
                  {im.intAttr("axis", -1)});
    }
    addBias(m);
  }
  Value cols = im.reshape(iota(im, dimOf(im, k, 2)), {1, 1, 1, -1});
  if (intAttr(im, "is_causal", 0)) {
    // Query i sees key j iff j <= i + offset (bottom-right alignment).
    Value rows = im.reshape(iota(im, dimOf(im, q, 2)), {1, 1, -1, 1});
    if (hasPast)
      rows = im.make("Add", {rows, pastLen});
    else if (hasNonpad)
      rows = im.make("Add", {rows, im.reshape(im.make("Sub", {nonpad, dimOf(im, q, 2)}),
                                           {-1, 1, 1, 1})});
    addBias(im.make("Where", {im.make("Less", {rows, cols}), minusInf, zero}));
  }
  if (hasNonpad) {
    Value valid = im.make("Less", {cols, im.reshape(nonpad, {-1, 1, 1, 1})});
    addBias(im.make("Where", {valid, zero, minusInf}));
  }
  Value scores = bias ? im.make("Add", {capped, bias}) : capped;

  Value probs = scores;
  if (const auto *a = im.attr("softmax_precision"))
    probs = im.castTo(probs, im.elementType(a->i(), "softmax_precision"));
  probs = im.castTo(im.make("Softmax", {probs}, {im.intAttr("axis", -1)}), elem);
  if (bias) {
    // Rows with every key masked give zeros, not the NaN softmax makes of them.
    Value rowMax = im.make("ReduceMax", {bias, im.i64Constant({-1})}, {im.intAttr("keepdims", 1)});
    probs = im.make("Where", {im.make("Equal", {rowMax, minusInf}), zero, probs});
  }
  Value y = im.make("MatMul", {probs, repeatHeads(im, v, groups, q)});
  if (rank == 3)
    y = im.reshape(im.transpose(y, {0, 2, 1, 3}),
                   {ShapedType::isDynamic(batch) ? 0 : batch, ShapedType::isDynamic(qLen) ? 0 : qLen, -1});

  Value qkOutputs[] = {qk, capped, scores, probs};
  int64_t mode = intAttr(im, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    im.fail("qk_matmul_output_mode must be 0, 1, 2 or 3");
  if (n.output_size() > 4)
    im.fail("has more than 4 outputs");
  im.bindResults({y, k, v, qkOutputs[mode]});
}

/// RotaryEmbedding: on (B, S, heads, D), the first rotary_embedding_dim
/// features are rotated pairwise (halves, or even/odd when interleaved) by
/// the angles whose cos/sin the caches hold for each position.
void buildRotaryEmbedding(Importer &im, const onnx::NodeProto &n) {
  for (const auto &a : n.attribute())
    if (!llvm::is_contained({"interleaved", "num_heads", "rotary_embedding_dim"}, a.name()))
      im.fail("attribute '" + a.name() + "' is not supported");
  Value x = im.input(0), cosCache = im.input(1), sinCache = im.input(2), positions = im.input(3);
  // Batch and sequence may be known only at run time (reshapes copy them
  // with 0); the head size (or hidden size) must be known.
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt || (xt.getRank() != 3 && xt.getRank() != 4) || xt.isDynamicDim(xt.getRank() - 1))
    im.fail("X must be 3-D or 4-D with its last dim known when compiling");
  int64_t rank = xt.getRank();
  Value h;
  if (rank == 4) {
    h = im.transpose(x, {0, 2, 1, 3});
  } else {
    int64_t heads = intAttr(im, "num_heads", 0);
    if (heads <= 0 || xt.getDimSize(2) % heads)
      im.fail("3-D input needs num_heads dividing its hidden size");
    h = im.reshape(x, {0, 0, heads, xt.getDimSize(2) / heads});
  }
  int64_t headSize = llvm::cast<RankedTensorType>(h.getType()).getDimSize(3);
  int64_t rd = intAttr(im, "rotary_embedding_dim", 0);
  if (rd == 0)
    rd = headSize;
  if (rd < 0 || rd > headSize || rd % 2)
    im.fail("rotary_embedding_dim must be even and at most the head size");
  Value rotated = rd == headSize ? h : im.slice(h, 3, 0, rd);
  auto angles = [&](Value cache) {
    if (!llvm::isa<NoneType>(positions.getType()))
      cache = im.make("Gather", {cache, positions}, {im.intAttr("axis", 0)});
    return im.make("Unsqueeze", {cache, im.i64Constant({2})});
  };
  Value c = angles(cosCache), s = angles(sinCache);
  bool interleaved = intAttr(im, "interleaved", 0) != 0;
  Value x1 = interleaved ? im.slice(rotated, 3, 0, rd, 2) : im.slice(rotated, 3, 0, rd / 2);
  Value x2 = interleaved ? im.slice(rotated, 3, 1, rd, 2) : im.slice(rotated, 3, rd / 2, rd);
  Value real = im.make("Sub", {im.make("Mul", {c, x1}), im.make("Mul", {s, x2})});
  Value imag = im.make("Add", {im.make("Mul", {s, x1}), im.make("Mul", {c, x2})});
  auto axis = [&](int64_t a) { return im.intAttr("axis", a); };
  Value out;
  if (interleaved) {
    auto last = im.i64Constant({-1});
    out = im.make("Concat", {im.make("Unsqueeze", {real, last}), im.make("Unsqueeze", {imag, last})},
                  {axis(4)});
    out = im.reshape(out, {0, 0, 0, rd});
  } else {
    out = im.make("Concat", {real, imag}, {axis(3)});
  }
  if (rd < headSize)
    out = im.make("Concat", {out, im.slice(h, 3, rd, headSize)}, {axis(3)});
  im.values[n.output(0)] = rank == 4 ? im.transpose(out, {0, 2, 1, 3})
                                     : im.reshape(out, {0, 0, xt.getDimSize(2)});
}

/// LinearAttention: the recurrence over tokens, unrolled (T is static),
/// in f32. Per token: S <- exp(g) * S (gated rules); the written value is
/// v, or beta * (v - S^T k) for the delta rules; S <- S + k (x) written;
/// o = scale * q^T S with each KV head's state shared by its query heads.
void buildLinearAttention(Importer &im, const onnx::NodeProto &n) {
  for (const auto &a : n.attribute())
    if (!llvm::is_contained({"chunk_size", "kv_num_heads", "q_num_heads", "scale", "update_rule"},
                            a.name()))
      im.fail("attribute '" + a.name() + "' is not supported");
  Value q = im.input(0), k = im.input(1), v = im.input(2), past = im.input(3),
        decay = im.input(4), beta = im.input(5);
  auto qt = im.staticType(q, "query");
  im.staticType(k, "key");
  im.staticType(v, "value");
  int64_t qHeads = intAttr(im, "q_num_heads", 0), kvHeads = intAttr(im, "kv_num_heads", 0);
  if (qHeads <= 0 || kvHeads <= 0 || qHeads % kvHeads)
    im.fail("q_num_heads must be a positive multiple of kv_num_heads");
  std::string rule = im.attr("update_rule") ? im.attr("update_rule")->s() : "gated_delta";
  bool gated = rule == "gated" || rule == "gated_delta", delta = rule == "delta" || rule == "gated_delta";
  if (!gated && !delta && rule != "linear")
    im.fail("update_rule must be linear, gated, delta or gated_delta");
  if (gated && llvm::isa<NoneType>(decay.getType()))
    im.fail("update_rule '" + rule + "' needs decay");
  if (delta && llvm::isa<NoneType>(beta.getType()))
    im.fail("update_rule '" + rule + "' needs beta");
  int64_t batch = qt.getDimSize(0), tokens = qt.getDimSize(1);
  im.reserveUnrolledSteps(tokens, "a recurrence");
  Type f32 = im.b.getF32Type(), elem = qt.getElementType();
  // (B, T, H*D) -> (T, B, H, D) in f32, so token t is Gather(t, axis 0).
  auto perToken = [&](Value x, int64_t heads) {
    Value r = im.reshape(im.castTo(x, f32), {batch, tokens, heads, -1});
    return im.transpose(r, {1, 0, 2, 3});
  };
  Value Q = perToken(q, qHeads), K = perToken(k, kvHeads), V = perToken(v, kvHeads);
  int64_t dk = llvm::cast<RankedTensorType>(K.getType()).getDimSize(3);
  int64_t dv = llvm::cast<RankedTensorType>(V.getType()).getDimSize(3);
  Value G = gated ? perToken(decay, kvHeads) : Value();
  Value Bt = delta ? perToken(beta, llvm::cast<RankedTensorType>(beta.getType()).getDimSize(2)) : Value();
  double scale = 1.0 / std::sqrt(double(llvm::cast<RankedTensorType>(Q.getType()).getDimSize(3)));
  if (const auto *a = im.attr("scale"); a && a->f() != 0)
    scale = a->f();
  Value state;
  if (llvm::isa<NoneType>(past.getType())) {
    state = im.zeros({batch, kvHeads, dk, dv}, f32);
  } else {
    state = im.castTo(past, f32);
  }
  auto at = [&](Value x, int64_t t) {
    return im.make("Gather", {x, im.i64Scalar(t)}, {im.intAttr("axis", 0)});
  };
  auto unsq = [&](Value x, int64_t axis) { return im.make("Unsqueeze", {x, im.i64Constant({axis})}); };
  auto sq = [&](Value x, int64_t axis) { return im.make("Squeeze", {x, im.i64Constant({axis})}); };
  std::vector<Value> outs;
  for (int64_t t = 0; t < tokens; ++t) {
    Value kt = unsq(at(K, t), -1); // (B, Hkv, dk, 1)
    if (gated)
      state = im.make("Mul", {state, unsq(im.make("Exp", {at(G, t)}), -1)});
    Value write = at(V, t); // (B, Hkv, dv)
    if (delta) {
      Value retrieved = sq(im.make("MatMul", {im.transpose(state, {0, 1, 3, 2}), kt}), -1);
      write = im.make("Mul", {at(Bt, t), im.make("Sub", {write, retrieved})});
    }
    state = im.make("Add", {state, im.make("MatMul", {kt, unsq(write, -2)})});
    Value read = repeatHeads(im, state, qHeads / kvHeads); // (B, Hq, dk, dv)
    Value o = sq(im.make("MatMul", {unsq(at(Q, t), -2), read}), -2);
    outs.push_back(unsq(im.make("Mul", {o, im.scalar(f32, scale)}), 1)); // (B, 1, Hq, dv)
  }
  Value y = outs.size() == 1 ? outs[0] : im.make("Concat", outs, {im.intAttr("axis", 1)});
  im.values[n.output(0)] = im.castTo(im.reshape(y, {batch, tokens, qHeads * dv}), elem);
  if (n.output_size() > 1 && !n.output(1).empty())
    im.values[n.output(1)] = im.castTo(state, llvm::isa<NoneType>(past.getType())
                                                  ? elem
                                                  : llvm::cast<TensorType>(past.getType()).getElementType());
}

/// FlexAttention: softmax(score_mod(Q Kᵀ * scale)) -> prob_mod -> @ V, the
/// modifiers being subgraphs imported inline; scores and probabilities in
/// softmax_precision (f32, or f64 for double inputs).
void buildFlexAttention(Importer &im, const onnx::NodeProto &n) {
  for (const auto &a : n.attribute())
    if (!llvm::is_contained({"prob_mod", "scale", "score_mod", "softmax_precision"}, a.name()))
      im.fail("attribute '" + a.name() + "' is not supported");
  Value q = im.input(0), k = im.input(1), v = im.input(2);
  auto qt = im.staticType(q, "Q"), kt = im.staticType(k, "K");
  im.staticType(v, "V");
  if (qt.getRank() != 4 || kt.getRank() != 4)
    im.fail("Q, K and V must be rank 4");
  int64_t qHeads = qt.getDimSize(1), kvHeads = kt.getDimSize(1);
  if (kvHeads <= 0 || qHeads % kvHeads)
    im.fail("q_num_heads must be a multiple of kv_num_heads");
  Type elem = qt.getElementType();
  Type precision = elem.isF64() ? Type(im.b.getF64Type()) : Type(im.b.getF32Type());
  if (const auto *p = im.attr("softmax_precision"))
    precision = im.elementType(p->i(), "softmax_precision");
  double scale = 1.0 / std::sqrt(double(qt.getDimSize(3)));
  if (const auto *a = im.attr("scale"))
    scale = a->f();
  Value root = im.scalar(elem, std::sqrt(scale));
  Value kAligned = repeatHeads(im, k, qHeads / kvHeads);
  Value scores = im.make("MatMul", {im.make("Mul", {q, root}),
                                    im.transpose(im.make("Mul", {kAligned, root}), {0, 1, 3, 2})});
  scores = im.castTo(scores, precision);
  auto modify = [&](const char *name, Value x) {
    const auto *g = im.attr(name);
    if (!g)
      return x;
    std::vector<Value> out = im.importSubgraph(g->g(), {x});
    if (out.size() != 1 || out[0].getType() != x.getType())
      im.fail(std::string(name) + " must give one tensor of its input's shape and type");
    return out[0];
  };
  scores = modify("score_mod", scores);
  Value probs = modify("prob_mod", im.make("Softmax", {scores}, {im.intAttr("axis", -1)}));
  Value y = im.make("MatMul", {probs, im.castTo(repeatHeads(im, v, qHeads / kvHeads), precision)});
  im.values[n.output(0)] = im.castTo(y, elem);
}

} // namespace

void addAttentionBuilders(BuilderTable &table) {
  table["ai.onnx.preview:FlexAttention"] = buildFlexAttention;
  table["LinearAttention"] = buildLinearAttention;
  table["Attention"] = buildAttention;
  table["RotaryEmbedding"] = buildRotaryEmbedding;
}

} // namespace kiln
