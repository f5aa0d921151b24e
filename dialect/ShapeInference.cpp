//===- ShapeInference.cpp - result types of Kiln ops ----------------------===//
//
// One rule per op, used by the importer as it builds each op and by the
// kiln-shape-inference pass. Lowering reads the resulting static types and
// the same helpers (ShapeHelpers.h), so shapes are computed in one place.
//
//===----------------------------------------------------------------------===//
#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln {
namespace {
using Shape = llvm::SmallVector<int64_t>;
constexpr int64_t kDyn = ShapedType::kDynamic;

std::optional<Shape> shapeOf(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return std::nullopt;
  return Shape(t.getShape());
}

Type elementOf(Value v) {
  if (auto t = llvm::dyn_cast<TensorType>(v.getType()))
    return t.getElementType();
  return {};
}

LogicalResult setResult(Operation *op, unsigned i, std::optional<Shape> shape, Type elem) {
  if (!elem)
    elem = llvm::cast<TensorType>(op->getResult(i).getType()).getElementType();
  Type t = shape ? Type(RankedTensorType::get(*shape, elem))
                 : Type(UnrankedTensorType::get(elem));
  op->getResult(i).setType(t);
  return success();
}

LogicalResult inferBroadcast(Operation *op, Type elem) {
  llvm::SmallVector<Shape> shapes;
  for (Value v : op->getOperands()) {
    auto s = shapeOf(v);
    if (!s)
      return setResult(op, 0, std::nullopt, elem);
    shapes.push_back(*s);
  }
  auto out = broadcastShapes(shapes);
  if (!out)
    return op->emitOpError("operand shapes cannot be broadcast together");
  return setResult(op, 0, out, elem);
}

LogicalResult inferSpatial(Operation *op, Value x, Value w, StringRef autoPad,
                           ArrayAttr kernel, ArrayAttr strides, ArrayAttr dilations,
                           ArrayAttr pads, bool ceilMode, int64_t outChannels) {
  auto xs = shapeOf(x);
  if (!xs)
    return setResult(op, 0, std::nullopt, elementOf(x));
  if (xs->size() < 3)
    return op->emitOpError("input must have rank >= 3 (N, C, spatial...)");
  Shape wk;
  if (w) {
    auto ws = shapeOf(w);
    if (!ws || ws->size() != xs->size())
      return op->emitOpError("weight rank must equal input rank");
    wk.assign(ws->begin() + 2, ws->end());
  }
  SpatialParams p;
  std::string error;
  if (!resolveSpatial(llvm::ArrayRef<int64_t>(*xs).drop_front(2), wk, autoPad, kernel,
                      strides, dilations, pads, ceilMode, p, error))
    return op->emitOpError(error);
  Shape out{(*xs)[0], outChannels == 0 ? (*xs)[1] : outChannels};
  out.append(p.outSpatial);
  return setResult(op, 0, out, elementOf(x));
}

LogicalResult inferReduce(Operation *op, Value data, Value axes, int64_t keepdims,
                          int64_t noop) {
  auto s = shapeOf(data);
  if (!s)
    return setResult(op, 0, std::nullopt, elementOf(data));
  Shape axesList;
  if (!llvm::isa<NoneType>(axes.getType())) {
    auto c = getConstantInts(axes);
    if (!c)
      return setResult(op, 0, std::nullopt, elementOf(data));
    axesList = *c;
  }
  auto norm = reduceAxes(axesList, s->size(), noop != 0);
  if (!norm)
    return op->emitOpError("reduce axis out of range");
  Shape out;
  for (int64_t i = 0; i < (int64_t)s->size(); ++i) {
    if (llvm::is_contained(*norm, i)) {
      if (keepdims)
        out.push_back(1);
    } else {
      out.push_back((*s)[i]);
    }
  }
  return setResult(op, 0, out, elementOf(data));
}

} // namespace

LogicalResult inferShapes(Operation *op) {
  MLIRContext *ctx = op->getContext();
  Type i1 = IntegerType::get(ctx, 1);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, AndOp, OrOp, XorOp, MaxOp, MinOp,
            SumOp, MeanOp, PReluOp, BitwiseAndOp, BitwiseOrOp, BitwiseXorOp, BitShiftOp>([&](Operation *op) -> LogicalResult {
        return inferBroadcast(op, elementOf(op->getOperand(0)));
      })
      .Case<EqualOp, LessOp, LessOrEqualOp, GreaterOp, GreaterOrEqualOp>(
          [&](Operation *op) { return inferBroadcast(op, i1); })
      .Case<TriluOp>([&](TriluOp op) -> LogicalResult {
        auto s = shapeOf(op.getInput());
        if (s && s->size() < 2)
          return op.emitOpError("input must have rank >= 2");
        return setResult(op, 0, s, elementOf(op.getInput()));
      })
      .Case<ArgMaxOp, ArgMinOp>([&](auto op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        Type i64 = IntegerType::get(ctx, 64);
        if (!s)
          return setResult(op, 0, std::nullopt, i64);
        auto axis = normalizeAxis(op.getAxis(), s->size());
        if (!axis)
          return op.emitOpError("axis out of range");
        Shape out;
        for (int64_t i = 0; i < (int64_t)s->size(); ++i)
          if (i != *axis)
            out.push_back((*s)[i]);
          else if (op.getKeepdims())
            out.push_back(1);
        return setResult(op, 0, out, i64);
      })
      .Case<LayerNormalizationOp>([&](LayerNormalizationOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        Type elem = elementOf(op.getX()), f32 = Float32Type::get(ctx);
        if (failed(setResult(op, 0, s, elem)))
          return failure();
        std::optional<Shape> stats = s;
        if (s) {
          auto axis = normalizeAxis(op.getAxis(), s->size());
          if (!axis)
            return op.emitOpError("axis out of range");
          for (size_t i = *axis; i < s->size(); ++i)
            (*stats)[i] = 1;
        }
        setResult(op, 1, stats, f32);
        return setResult(op, 2, stats, f32);
      })
      .Case<RMSNormalizationOp>([&](RMSNormalizationOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        if (s && !normalizeAxis(op.getAxis(), s->size()))
          return op.emitOpError("axis out of range");
        return setResult(op, 0, s, elementOf(op.getX()));
      })
      .Case<GatherOp>([&](GatherOp op) -> LogicalResult {
        auto d = shapeOf(op.getData()), i = shapeOf(op.getIndices());
        Type elem = elementOf(op.getData());
        if (!d || !i)
          return setResult(op, 0, std::nullopt, elem);
        auto axis = normalizeAxis(op.getAxis(), d->size());
        if (!axis || d->empty())
          return op.emitOpError("axis out of range");
        Shape out(d->begin(), d->begin() + *axis);
        out.append(i->begin(), i->end());
        out.append(d->begin() + *axis + 1, d->end());
        return setResult(op, 0, out, elem);
      })
      .Case<ExpandOp>([&](ExpandOp op) -> LogicalResult {
        auto s = shapeOf(op.getInput());
        auto target = getConstantInts(op.getShape());
        Type elem = elementOf(op.getInput());
        auto targetType = llvm::dyn_cast<RankedTensorType>(op.getShape().getType());
        if (s && !target && targetType && targetType.getRank() == 1 &&
            !targetType.isDynamicDim(0)) {
          // A target read at run time: only the input's dims other than 1
          // are known (the target may only broadcast them).
          int64_t rank = std::max<int64_t>(s->size(), targetType.getDimSize(0));
          Shape out(rank, kDyn);
          for (size_t i = 0; i < s->size(); ++i) {
            int64_t d = (*s)[i];
            if (d != kDyn && d != 1)
              out[rank - s->size() + i] = d;
          }
          return setResult(op, 0, out, elem);
        }
        if (!s || !target)
          return setResult(op, 0, std::nullopt, elem);
        auto out = broadcastShapes({*s, Shape(target->begin(), target->end())});
        if (!out)
          return op.emitOpError("shape cannot be broadcast with the input");
        return setResult(op, 0, out, elem);
      })
      .Case<SplitOp>([&](SplitOp op) -> LogicalResult {
        auto s = shapeOf(op.getInput());
        Type elem = elementOf(op.getInput());
        auto sizes = toInts(op.getSizes());
        if (sizes.size() != op.getNumResults())
          return op.emitOpError("needs one size per result");
        for (unsigned i = 0; i < op.getNumResults(); ++i) {
          std::optional<Shape> out = s;
          if (s) {
            auto axis = normalizeAxis(op.getAxis(), s->size());
            if (!axis)
              return op.emitOpError("axis out of range");
            (*out)[*axis] = sizes[i] < 0 ? kDyn : sizes[i];
          }
          setResult(op, i, out, elem);
        }
        if (s) {
          int64_t axis = *normalizeAxis(op.getAxis(), s->size()), sum = 0;
          bool known = true;
          for (int64_t v : sizes) {
            sum += v;
            known &= v >= 0;
          }
          if (known && (*s)[axis] != kDyn && sum != (*s)[axis])
            return op.emitOpError("split sizes add up to ") << sum << ", the axis has " << (*s)[axis];
        }
        return success();
      })
      .Case<GatherElementsOp>([&](GatherElementsOp op) -> LogicalResult {
        auto d = shapeOf(op.getData()), i = shapeOf(op.getIndices());
        if (d && i && d->size() != i->size())
          return op.emitOpError("data and indices must have one rank");
        return setResult(op, 0, i, elementOf(op.getData()));
      })
      .Case<PadOp>([&](PadOp op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        Type elem = elementOf(op.getData());
        auto pads = getConstantInts(op.getPads());
        std::optional<Shape> axes = Shape{};
        if (!isa<NoneType>(op.getAxes().getType()))
          axes = getConstantInts(op.getAxes());
        if (!s || !pads || !axes)
          return setResult(op, 0, s ? std::optional<Shape>(Shape(s->size(), kDyn)) : std::nullopt, elem);
        std::string error;
        auto be = resolvePads(s->size(), *pads, *axes, error);
        if (!be)
          return op.emitOpError(error);
        Shape out = *s;
        for (size_t i = 0; i < out.size(); ++i)
          if (out[i] != kDyn)
            out[i] += be->first[i] + be->second[i];
        return setResult(op, 0, out, elem);
      })
      .Case<NegativeLogLikelihoodLossOp>([&](NegativeLogLikelihoodLossOp op) -> LogicalResult {
        Type elem = elementOf(op.getInput());
        if (op.getReduction() != "none")
          return setResult(op, 0, Shape{}, elem);
        return setResult(op, 0, shapeOf(op.getTarget()), elem);
      })
      .Case<WhereOp>([&](WhereOp op) -> LogicalResult {
        return inferBroadcast(op, elementOf(op.getX()));
      })
      .Case<SliceOp>([&](SliceOp op) -> LogicalResult {
        Type elem = elementOf(op.getData());
        auto s = shapeOf(op.getData());
        auto starts = getConstantInts(op.getStarts()), ends = getConstantInts(op.getEnds());
        std::optional<Shape> axes = Shape{}, steps = Shape{};
        if (!isa<NoneType>(op.getAxes().getType()))
          axes = getConstantInts(op.getAxes());
        if (!isa<NoneType>(op.getSteps().getType()))
          steps = getConstantInts(op.getSteps());
        if (!s || !starts || !ends || !axes || !steps)
          return setResult(op, 0, s ? std::optional<Shape>(Shape(s->size(), kDyn)) : std::nullopt, elem);
        std::string error;
        auto dims = resolveSlice(*s, *starts, *ends, *axes, *steps, error);
        if (!dims)
          return op.emitOpError(error);
        Shape out;
        for (auto &d : *dims)
          out.push_back(d.size);
        return setResult(op, 0, out, elem);
      })
      .Case<CumSumOp, CumProdOp>([&](auto op) -> LogicalResult {
        auto axis = getConstantInts(op.getAxis());
        auto rank = shapeOf(op.getX()) ? std::optional<int64_t>(shapeOf(op.getX())->size()) : std::nullopt;
        if (axis && rank && (axis->size() != 1 || !normalizeAxis((*axis)[0], *rank)))
          return op.emitOpError("axis must be one value in [-rank, rank)");
        return setResult(op, 0, shapeOf(op.getX()), elementOf(op.getX()));
      })
      .Case<EinsumOp>([&](EinsumOp op) -> LogicalResult {
        llvm::SmallVector<llvm::SmallVector<int64_t>> shapes;
        for (Value v : op.getInputs()) {
          auto s = shapeOf(v);
          if (!s || llvm::is_contained(*s, ShapedType::kDynamic))
            return setResult(op, 0, std::nullopt, elementOf(op.getInputs()[0]));
          shapes.push_back(*s);
        }
        std::string error;
        auto spec = parseEinsum(op.getEquation(), shapes, error);
        if (!spec)
          return op.emitOpError(error);
        Shape out;
        for (int64_t l : spec->output)
          out.push_back(spec->sizes[l]);
        return setResult(op, 0, out, elementOf(op.getInputs()[0]));
      })
      .Case<ScatterElementsOp, ScatterNDOp>([&](auto op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getData()), elementOf(op.getData()));
      })
      .Case<RangeOp>([&](RangeOp op) -> LogicalResult {
        for (Value v : op->getOperands())
          if (auto s = shapeOf(v); s && !s->empty())
            return op.emitOpError("start, limit and delta must be scalars");
        return setResult(op, 0, Shape{ShapedType::kDynamic}, elementOf(op.getStart()));
      })
      .Case<StringConcatOp>([&](StringConcatOp op) -> LogicalResult {
        return inferBroadcast(op, elementOf(op.getX()));
      })
      .Case<RegexFullMatchOp>([&](RegexFullMatchOp op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getX()), i1);
      })
      .Case<StringNormalizerOp>([&](StringNormalizerOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        if (s && !(s->size() == 1 || (s->size() == 2 && ((*s)[0] == 1 || (*s)[0] == kDyn))))
          return op.emitOpError("input must be [C] or [1, C]");
        std::optional<Shape> out;
        if (s)
          out = s->size() == 1 ? Shape{kDyn} : Shape{1, kDyn};
        return setResult(op, 0, out, elementOf(op.getX()));
      })
      .Case<RandomOp>([&](RandomOp op) -> LogicalResult {
        std::optional<Shape> shape;
        if (auto attr = op.getShape()) {
          shape = Shape{};
          for (Attribute d : *attr)
            shape->push_back(llvm::cast<IntegerAttr>(d).getInt());
        } else {
          shape = shapeOf(op.getLike());
        }
        return setResult(op, 0, shape, op.getElement());
      })
      .Case<ImageDecoderOp>([&](ImageDecoderOp op) -> LogicalResult {
        int64_t channels = op.getPixelFormat() == "Grayscale" ? 1 : 3;
        return setResult(op, 0, Shape{kDyn, kDyn, channels},
                         IntegerType::get(op.getContext(), 8, IntegerType::Unsigned));
      })
      .Case<StringSplitOp>([&](StringSplitOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        std::optional<Shape> y;
        if (s) {
          y = *s;
          y->push_back(kDyn);
        }
        if (failed(setResult(op, 0, y, elementOf(op.getX()))))
          return failure();
        return setResult(op, 1, s, IntegerType::get(op.getContext(), 64));
      })
      .Case<TfIdfVectorizerOp>([&](TfIdfVectorizerOp op) -> LogicalResult {
        int64_t width = 0;
        for (Attribute a : op.getNgramIndexes())
          width = std::max<int64_t>(width, llvm::cast<IntegerAttr>(a).getInt() + 1);
        auto s = shapeOf(op.getX());
        std::optional<Shape> out;
        if (s)
          out = s->size() == 2 ? Shape{(*s)[0], width} : Shape{width};
        return setResult(op, 0, out, Float32Type::get(op.getContext()));
      })
      .Case<TreeEnsembleOp>([&](TreeEnsembleOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        std::optional<Shape> out;
        if (s)
          out = Shape{(*s)[0], op.getNTargets()};
        return setResult(op, 0, out, elementOf(op.getX()));
      })
      .Case<LabelEncoderOp>([&](LabelEncoderOp op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getX()), op.getValues().getElementType());
      })
      .Case<NonMaxSuppressionOp>([&](NonMaxSuppressionOp op) -> LogicalResult {
        auto b = shapeOf(op.getBoxes()), sc = shapeOf(op.getScores());
        if (b && (b->size() != 3 || ((*b)[2] != kDyn && (*b)[2] != 4)))
          return op.emitOpError("boxes must be (batches, boxes, 4)");
        if (sc && sc->size() != 3)
          return op.emitOpError("scores must be (batches, classes, boxes)");
        if (b && sc && (((*b)[0] != kDyn && (*sc)[0] != kDyn && (*b)[0] != (*sc)[0]) ||
                        ((*b)[1] != kDyn && (*sc)[2] != kDyn && (*b)[1] != (*sc)[2])))
          return op.emitOpError("boxes and scores disagree on batches or boxes");
        return setResult(op, 0, Shape{kDyn, 3}, IntegerType::get(op.getContext(), 64));
      })
      .Case<UniqueSlicesOp>([&](UniqueSlicesOp op) -> LogicalResult {
        auto x = shapeOf(op.getX());
        if (x && x->size() != 3)
          return op.emitOpError("needs a 3-D (outer, n, inner) view");
        Type i64 = IntegerType::get(op.getContext(), 64);
        if (failed(setResult(op, 0, Shape{kDyn}, i64)) ||
            failed(setResult(op, 1, Shape{x ? (*x)[1] : kDyn}, i64)))
          return failure();
        return setResult(op, 2, Shape{kDyn}, i64);
      })
      .Case<NonZeroOp>([&](NonZeroOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        std::optional<Shape> out;
        if (s)
          out = Shape{(int64_t)s->size(), ShapedType::kDynamic};
        return setResult(op, 0, out, IntegerType::get(op.getContext(), 64));
      })
      .Case<TopKOp>([&](TopKOp op) -> LogicalResult {
        auto s = shapeOf(op.getX());
        auto k = getConstantInts(op.getK());
        std::optional<Shape> out = s;
        if (s) {
          auto axis = normalizeAxis(op.getAxis(), s->size());
          if (!axis)
            return op.emitOpError("axis out of range");
          if (k && (k->size() != 1 || (*k)[0] < 0 ||
                    ((*s)[*axis] != ShapedType::kDynamic && (*k)[0] > (*s)[*axis])))
            return op.emitOpError("K must be one value in [0, the axis length]");
          (*out)[*axis] = k ? (*k)[0] : ShapedType::kDynamic;
        }
        if (failed(setResult(op, 0, out, elementOf(op.getX()))))
          return failure();
        return setResult(op, 1, out, IntegerType::get(op.getContext(), 64));
      })
      .Case<GridSampleOp>([&](GridSampleOp op) -> LogicalResult {
        auto x = shapeOf(op.getX()), g = shapeOf(op.getGrid());
        if (!x || !g)
          return setResult(op, 0, std::nullopt, elementOf(op.getX()));
        Shape out{(*x)[0], (*x)[1]};
        out.append(g->begin() + 1, g->end() - 1);
        return setResult(op, 0, out, elementOf(op.getX()));
      })
      .Case<RoiAlignOp>([&](RoiAlignOp op) -> LogicalResult {
        auto x = shapeOf(op.getX()), r = shapeOf(op.getRois());
        if (!x || !r || x->size() != 4 || r->empty())
          return setResult(op, 0, std::nullopt, elementOf(op.getX()));
        return setResult(op, 0, Shape{(*r)[0], (*x)[1], op.getOutputHeight(), op.getOutputWidth()},
                         elementOf(op.getX()));
      })
      .Case<ClipOp>([&](ClipOp op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getInput()), elementOf(op.getInput()));
      })
      .Case<BitCastOp>([&](BitCastOp op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getInput()), Type());
      })
      .Case<CastOp>([&](CastOp op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op.getInput()), Type());
      })
      .Case<ConstantOp>([&](ConstantOp op) -> LogicalResult {
        auto t = llvm::cast<ShapedType>(op.getValue().getType());
        return setResult(op, 0, Shape(t.getShape()), t.getElementType());
      })
      .Case<NoneOp>([&](NoneOp) -> LogicalResult { return success(); })
      .Case<MatMulOp>([&](MatMulOp op) -> LogicalResult {
        auto a = shapeOf(op.getA()), b = shapeOf(op.getB());
        Type elem = elementOf(op.getA());
        if (!a || !b)
          return setResult(op, 0, std::nullopt, elem);
        if (a->empty() || b->empty())
          return op.emitOpError("operands must have rank >= 1");
        Shape as = *a, bs = *b;
        bool aVec = as.size() == 1, bVec = bs.size() == 1;
        if (aVec)
          as.insert(as.begin(), 1);
        if (bVec)
          bs.push_back(1);
        int64_t k1 = as.back(), k2 = bs[bs.size() - 2];
        if (k1 != kDyn && k2 != kDyn && k1 != k2)
          return op.emitOpError("contraction dims differ: ") << k1 << " vs " << k2;
        Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
        auto batch = broadcastShapes({ab, bb});
        if (!batch)
          return op.emitOpError("batch dims cannot be broadcast");
        Shape out = *batch;
        if (!aVec)
          out.push_back(as[as.size() - 2]);
        if (!bVec)
          out.push_back(bs.back());
        return setResult(op, 0, out, elem);
      })
      .Case<MatMulIntegerOp>([&](MatMulIntegerOp op) -> LogicalResult {
        Type i32 = IntegerType::get(op.getContext(), 32);
        auto a = shapeOf(op.getA()), b = shapeOf(op.getB());
        if (!a || !b)
          return setResult(op, 0, std::nullopt, i32);
        if (a->size() < 2 || b->size() != 2)
          return op.emitOpError("A must have rank >= 2 and B rank 2");
        int64_t k1 = a->back(), k2 = (*b)[0];
        if (k1 != kDyn && k2 != kDyn && k1 != k2)
          return op.emitOpError("contraction dims differ: ") << k1 << " vs " << k2;
        Shape out = *a;
        out.back() = (*b)[1];
        return setResult(op, 0, out, i32);
      })
      .Case<GemmOp>([&](GemmOp op) -> LogicalResult {
        auto a = shapeOf(op.getA()), b = shapeOf(op.getB());
        Type elem = elementOf(op.getA());
        if (!a || !b)
          return setResult(op, 0, std::nullopt, elem);
        if (a->size() != 2 || b->size() != 2)
          return op.emitOpError("A and B must be 2-D");
        int64_t m = (*a)[op.getTransA() ? 1 : 0], ka = (*a)[op.getTransA() ? 0 : 1];
        int64_t kb = (*b)[op.getTransB() ? 1 : 0], n = (*b)[op.getTransB() ? 0 : 1];
        if (ka != kDyn && kb != kDyn && ka != kb)
          return op.emitOpError("contraction dims differ: ") << ka << " vs " << kb;
        if (auto c = shapeOf(op.getC()))
          if (!broadcastShapes({Shape{m, n}, *c}) || c->size() > 2)
            return op.emitOpError("C cannot be broadcast to (M, N)");
        return setResult(op, 0, Shape{m, n}, elem);
      })
      .Case<ConvOp>([&](ConvOp op) -> LogicalResult {
        auto w = shapeOf(op.getW());
        int64_t oc = w && !w->empty() ? (*w)[0] : kDyn;
        return inferSpatial(op, op.getX(), op.getW(), op.getAutoPad(), op.getKernelShape(),
                            op.getStrides(), op.getDilations(), op.getPads(), false, oc);
      })
      .Case<MaxPoolOp>([&](MaxPoolOp op) -> LogicalResult {
        if (op.getKernelShape().empty())
          return op.emitOpError("kernel_shape is required");
        return inferSpatial(op, op.getX(), Value(), op.getAutoPad(), op.getKernelShape(),
                            op.getStrides(), op.getDilations(), op.getPads(),
                            op.getCeilMode() != 0, 0);
      })
      .Case<AveragePoolOp>([&](AveragePoolOp op) -> LogicalResult {
        if (op.getKernelShape().empty())
          return op.emitOpError("kernel_shape is required");
        return inferSpatial(op, op.getX(), Value(), op.getAutoPad(), op.getKernelShape(),
                            op.getStrides(), op.getDilations(), op.getPads(),
                            op.getCeilMode() != 0, 0);
      })
      .Case<GlobalAveragePoolOp, GlobalMaxPoolOp>([&](Operation *op) -> LogicalResult {
        auto s = shapeOf(op->getOperand(0));
        if (s)
          for (size_t i = 2; i < s->size(); ++i)
            (*s)[i] = 1;
        return setResult(op, 0, s, elementOf(op->getOperand(0)));
      })
      .Case<IsNaNOp, IsInfOp>([&](Operation *op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op->getOperand(0)), i1);
      })
      .Case<AcosOp, AsinOp, AtanOp, TanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp, RoundOp,
            HardSwishOp, MishOp, BitwiseNotOp, CeluOp, ThresholdedReluOp, ShrinkOp, GeluOp,
            BatchNormalizationOp, LRNOp, SoftmaxOp, LogSoftmaxOp, IdentityOp, NegOp, AbsOp, ReluOp,
            SigmoidOp, TanhOp, ExpOp, LogOp, SqrtOp, ReciprocalOp, FloorOp, CeilOp, NotOp,
            SinOp, CosOp, ErfOp, SoftplusOp, SoftsignOp, SignOp, LeakyReluOp, EluOp,
            HardSigmoidOp, SeluOp>([&](Operation *op) -> LogicalResult {
        return setResult(op, 0, shapeOf(op->getOperand(0)), elementOf(op->getOperand(0)));
      })
      .Case<FlattenOp>([&](FlattenOp op) -> LogicalResult {
        auto s = shapeOf(op.getInput());
        if (!s)
          return setResult(op, 0, std::nullopt, elementOf(op.getInput()));
        int64_t rank = s->size();
        int64_t axis = op.getAxis();
        if (axis < -rank || axis > rank)
          return op.emitOpError("axis ") << axis << " out of range for rank " << rank;
        if (axis < 0)
          axis += rank;
        int64_t outer = 1, inner = 1;
        for (int64_t i = 0; i < rank; ++i) {
          int64_t &acc = i < axis ? outer : inner;
          acc = ((*s)[i] == kDyn || acc == kDyn) ? kDyn : acc * (*s)[i];
        }
        return setResult(op, 0, Shape{outer, inner}, elementOf(op.getInput()));
      })
      .Case<ReshapeOp>([&](ReshapeOp op) -> LogicalResult {
        Type elem = elementOf(op.getData());
        auto s = shapeOf(op.getData());
        auto target = getConstantInts(op.getShape());
        if (!target) {
          auto ts = shapeOf(op.getShape());
          if (ts && ts->size() == 1 && (*ts)[0] != kDyn)
            return setResult(op, 0, Shape((*ts)[0], kDyn), elem);
          return setResult(op, 0, std::nullopt, elem);
        }
        if (!s) {
          for (int64_t &d : *target)
            if (d <= 0)
              d = kDyn;
          return setResult(op, 0, *target, elem);
        }
        std::string error;
        auto out = reshapeTarget(*s, *target, op.getAllowzero() != 0, error);
        if (!out)
          return op.emitOpError(error);
        return setResult(op, 0, out, elem);
      })
      .Case<TransposeOp>([&](TransposeOp op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        if (!s)
          return setResult(op, 0, std::nullopt, elementOf(op.getData()));
        auto perm = toInts(op.getPerm());
        if (perm.empty())
          for (int64_t i = s->size() - 1; i >= 0; --i)
            perm.push_back(i);
        if (perm.size() != s->size())
          return op.emitOpError("perm has ") << perm.size() << " entries for rank "
                                             << s->size();
        Shape out;
        llvm::SmallVector<bool> seen(s->size(), false);
        for (int64_t p : perm) {
          if (p < 0 || p >= (int64_t)s->size() || seen[p])
            return op.emitOpError("perm is not a permutation");
          seen[p] = true;
          out.push_back((*s)[p]);
        }
        return setResult(op, 0, out, elementOf(op.getData()));
      })
      .Case<ConcatOp>([&](ConcatOp op) -> LogicalResult {
        Type elem = elementOf(op.getInputs().front());
        std::optional<Shape> out;
        int64_t axis = 0;
        for (Value v : op.getInputs()) {
          auto s = shapeOf(v);
          if (!s)
            return setResult(op, 0, std::nullopt, elem);
          if (!out) {
            auto a = normalizeAxis(op.getAxis(), s->size());
            if (!a)
              return op.emitOpError("axis out of range");
            axis = *a;
            out = *s;
            continue;
          }
          if (s->size() != out->size())
            return op.emitOpError("inputs differ in rank");
          for (size_t i = 0; i < s->size(); ++i) {
            if ((int64_t)i == axis) {
              (*out)[i] = ((*out)[i] == kDyn || (*s)[i] == kDyn) ? kDyn : (*out)[i] + (*s)[i];
            } else if ((*out)[i] != (*s)[i] && (*out)[i] != kDyn && (*s)[i] != kDyn) {
              return op.emitOpError("inputs differ in dim ") << i;
            }
          }
        }
        return setResult(op, 0, out, elem);
      })
      .Case<UnsqueezeOp>([&](UnsqueezeOp op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        auto axes = getConstantInts(op.getAxes());
        if (!s || !axes)
          return setResult(op, 0, std::nullopt, elementOf(op.getData()));
        int64_t rank = s->size() + axes->size();
        llvm::SmallVector<bool> inserted(rank, false);
        for (int64_t a : *axes) {
          auto n = normalizeAxis(a, rank);
          if (!n || inserted[*n])
            return op.emitOpError("invalid or repeated axis ") << a;
          inserted[*n] = true;
        }
        Shape out;
        size_t j = 0;
        for (int64_t i = 0; i < rank; ++i)
          out.push_back(inserted[i] ? 1 : (*s)[j++]);
        return setResult(op, 0, out, elementOf(op.getData()));
      })
      .Case<SqueezeOp>([&](SqueezeOp op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        Type elem = elementOf(op.getData());
        if (!s)
          return setResult(op, 0, std::nullopt, elem);
        Shape axes;
        if (!llvm::isa<NoneType>(op.getAxes().getType())) {
          auto c = getConstantInts(op.getAxes());
          if (!c)
            return setResult(op, 0, std::nullopt, elem);
          for (int64_t a : *c) {
            auto n = normalizeAxis(a, s->size());
            // A dim known only at run time must be 1 then.
            if (!n || ((*s)[*n] != 1 && (*s)[*n] != kDyn))
              return op.emitOpError("cannot squeeze axis ") << a;
            axes.push_back(*n);
          }
        } else {
          for (size_t i = 0; i < s->size(); ++i) {
            if ((*s)[i] == kDyn)
              return op.emitOpError("squeezing without axes a dim known only at run time is not "
                                    "supported (it may or may not be 1)");
            if ((*s)[i] == 1)
              axes.push_back(i);
          }
        }
        Shape out;
        for (size_t i = 0; i < s->size(); ++i)
          if (!llvm::is_contained(axes, (int64_t)i))
            out.push_back((*s)[i]);
        return setResult(op, 0, out, elem);
      })
      .Case<ShapeOp>([&](ShapeOp op) -> LogicalResult {
        auto s = shapeOf(op.getData());
        Type i64 = IntegerType::get(ctx, 64);
        if (!s)
          return setResult(op, 0, Shape{kDyn}, i64);
        int64_t rank = s->size();
        auto clampIdx = [&](int64_t v) {
          if (v < 0)
            v += rank;
          return std::clamp<int64_t>(v, 0, rank);
        };
        int64_t b = clampIdx(op.getStart()), e = clampIdx(op.getEnd().value_or(rank));
        return setResult(op, 0, Shape{std::max<int64_t>(0, e - b)}, i64);
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp, ReduceL1Op,
            ReduceL2Op, ReduceLogSumOp, ReduceLogSumExpOp, ReduceSumSquareOp>([&](auto op) -> LogicalResult {
        return inferReduce(op, op.getData(), op.getAxes(), op.getKeepdims(),
                           op.getNoopWithEmptyAxes());
      })
      // The importer types these from their regions.
      .Case<LoopOp, IfOp, YieldOp>([&](Operation *) { return success(); })
      .Default([&](Operation *op) -> LogicalResult {
        return op->emitOpError("has no shape rule");
      });
}

} // namespace kiln
