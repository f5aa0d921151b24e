//===- KilnDialect.cpp - the Kiln ONNX dialect and its verifiers ----------===//
#include "dialect/KilnDialect.h"
#include "dialect/ShapeHelpers.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace kiln;

#include "dialect/KilnDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/KilnTypes.cpp.inc"

void KilnDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialect/KilnTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/KilnOps.cpp.inc"
      >();
}

namespace {
std::optional<llvm::SmallVector<int64_t>> rankedShape(Value v) {
  if (auto t = llvm::dyn_cast<RankedTensorType>(v.getType()))
    return llvm::SmallVector<int64_t>(t.getShape());
  return std::nullopt;
}

Type elementType(Value v) { return llvm::cast<TensorType>(v.getType()).getElementType(); }

LogicalResult verifyBroadcastable(Operation *op, bool sameElementType) {
  llvm::SmallVector<llvm::SmallVector<int64_t>> shapes;
  for (Value v : op->getOperands()) {
    if (sameElementType && elementType(v) != elementType(op->getOperand(0)))
      return op->emitOpError("operands must have one element type, got ")
             << elementType(op->getOperand(0)) << " and " << elementType(v);
    if (auto s = rankedShape(v))
      shapes.push_back(*s);
  }
  if (!broadcastShapes(shapes))
    return op->emitOpError("operand shapes cannot be broadcast together");
  return success();
}

LogicalResult verifyRankAtLeast(Operation *op, Value v, int64_t rank, StringRef what) {
  if (auto s = rankedShape(v))
    if ((int64_t)s->size() < rank)
      return op->emitOpError(what) << " must have rank >= " << rank << ", got " << s->size();
  return success();
}

LogicalResult verifyAxis(Operation *op, Value v, int64_t axis, bool inclusiveEnd = false) {
  if (auto s = rankedShape(v)) {
    int64_t r = s->size();
    if (axis < -r || axis > (inclusiveEnd ? r : r - 1))
      return op->emitOpError("axis ") << axis << " is out of range for rank " << r;
  }
  return success();
}

LogicalResult verifySpatialAttrs(Operation *op, Value x, StringRef autoPad) {
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" &&
      autoPad != "VALID")
    return op->emitOpError("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  return verifyRankAtLeast(op, x, 3, "X");
}
} // namespace

#define KILN_BINARY_VERIFIER(OP, SAME)                                                  \
  LogicalResult OP::verify() { return verifyBroadcastable(*this, SAME); }
KILN_BINARY_VERIFIER(AddOp, true)
KILN_BINARY_VERIFIER(SubOp, true)
KILN_BINARY_VERIFIER(MulOp, true)
KILN_BINARY_VERIFIER(DivOp, true)
KILN_BINARY_VERIFIER(PowOp, false)
KILN_BINARY_VERIFIER(ModOp, true)
KILN_BINARY_VERIFIER(EqualOp, true)
KILN_BINARY_VERIFIER(LessOp, true)
KILN_BINARY_VERIFIER(LessOrEqualOp, true)
KILN_BINARY_VERIFIER(GreaterOp, true)
KILN_BINARY_VERIFIER(GreaterOrEqualOp, true)
KILN_BINARY_VERIFIER(AndOp, true)
KILN_BINARY_VERIFIER(OrOp, true)
KILN_BINARY_VERIFIER(XorOp, true)
KILN_BINARY_VERIFIER(MaxOp, true)
KILN_BINARY_VERIFIER(MinOp, true)
KILN_BINARY_VERIFIER(SumOp, true)
KILN_BINARY_VERIFIER(MeanOp, true)
KILN_BINARY_VERIFIER(PReluOp, true)
KILN_BINARY_VERIFIER(BitwiseAndOp, true)
KILN_BINARY_VERIFIER(BitwiseOrOp, true)
KILN_BINARY_VERIFIER(BitwiseXorOp, true)
KILN_BINARY_VERIFIER(BitShiftOp, true)
#undef KILN_BINARY_VERIFIER

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getType())
    return emitOpError("result type must match the value's type");
  return success();
}

LogicalResult CastOp::verify() {
  if (auto in = rankedShape(getInput()))
    if (auto out = rankedShape(getOutput()))
      if (*in != *out)
        return emitOpError("result shape must equal the input shape");
  return success();
}

LogicalResult BitCastOp::verify() {
  if (auto in = rankedShape(getInput()))
    if (auto out = rankedShape(getOutput()))
      if (*in != *out)
        return emitOpError("result shape must equal the input shape");
  // Booleans occupy a byte, as in ONNX tensors.
  auto bits = [](Type t) {
    unsigned w = t.getIntOrFloatBitWidth();
    return w == 1 ? 8u : w;
  };
  if (bits(elementType(getInput())) != bits(elementType(getOutput())))
    return emitOpError("input and result element types must have the same bit width");
  return success();
}

static LogicalResult verifyReduction(Operation *op, StringRef reduction) {
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return op->emitOpError("reduction must be none, add, mul, max or min");
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  auto i = rankedShape(getIndices()), u = rankedShape(getUpdates()), d = rankedShape(getData());
  if (i && u && *i != *u)
    return emitOpError("indices and updates must have the same shape");
  if (d && i && d->size() != i->size())
    return emitOpError("indices must have the rank of data");
  if (d && !normalizeAxis(getAxis(), d->size()))
    return emitOpError("axis is out of range");
  return verifyReduction(*this, getReduction());
}

LogicalResult ScatterNDOp::verify() {
  auto i = rankedShape(getIndices()), u = rankedShape(getUpdates()), d = rankedShape(getData());
  if (i && u && d && !i->empty()) {
    int64_t k = i->back(), q = i->size();
    if (k != ShapedType::kDynamic && (k < 1 || k > (int64_t)d->size()))
      return emitOpError("index tuples must have 1 to rank(data) elements");
    if (k != ShapedType::kDynamic && (int64_t)u->size() != q - 1 + (int64_t)d->size() - k)
      return emitOpError("updates must have rank q - 1 + r - k");
  }
  return verifyReduction(*this, getReduction());
}

LogicalResult GridSampleOp::verify() {
  if (!llvm::is_contained({"linear", "bilinear", "nearest", "cubic", "bicubic"}, getMode()))
    return emitOpError("mode must be linear, nearest or cubic");
  if (!llvm::is_contained({"zeros", "border", "reflection"}, getPaddingMode()))
    return emitOpError("padding_mode must be zeros, border or reflection");
  auto x = rankedShape(getX()), g = rankedShape(getGrid());
  if (x && g) {
    if (x->size() < 3 || g->size() != x->size() || (int64_t)g->back() != (int64_t)x->size() - 2)
      return emitOpError("grid must be (N, spatial..., rank(X) - 2) for X of rank 3 or more");
    if ((*x)[0] != ShapedType::kDynamic && (*g)[0] != ShapedType::kDynamic && (*x)[0] != (*g)[0])
      return emitOpError("X and grid must have the same batch size");
  }
  return success();
}

LogicalResult RoiAlignOp::verify() {
  if (getMode() != "avg" && getMode() != "max")
    return emitOpError("mode must be avg or max");
  if (getCoordinateTransformationMode() != "half_pixel" &&
      getCoordinateTransformationMode() != "output_half_pixel")
    return emitOpError("coordinate_transformation_mode must be half_pixel or output_half_pixel");
  if (getOutputHeight() <= 0 || getOutputWidth() <= 0 || getSamplingRatio() < 0)
    return emitOpError("output sizes must be positive and sampling_ratio non-negative");
  auto x = rankedShape(getX()), r = rankedShape(getRois());
  if (x && x->size() != 4)
    return emitOpError("X must be (N, C, H, W)");
  if (r && (r->size() != 2 || (*r)[1] != 4))
    return emitOpError("rois must be (num_rois, 4)");
  return success();
}

LogicalResult ClipOp::verify() {
  for (Value bound : {getMin(), getMax()}) {
    if (llvm::isa<NoneType>(bound.getType()))
      continue;
    if (elementType(bound) != elementType(getInput()))
      return emitOpError("min and max must have the input's element type");
    if (auto s = rankedShape(bound))
      if (!s->empty() && !(s->size() == 1 && (*s)[0] == 1))
        return emitOpError("min and max must be scalars");
  }
  return success();
}

LogicalResult MatMulOp::verify() {
  if (elementType(getA()) != elementType(getB()))
    return emitOpError("A and B must have one element type");
  if (failed(verifyRankAtLeast(*this, getA(), 1, "A")))
    return failure();
  return verifyRankAtLeast(*this, getB(), 1, "B");
}

LogicalResult MatMulIntegerOp::verify() {
  for (Value v : {getA(), getB()}) {
    auto t = llvm::dyn_cast<TensorType>(v.getType());
    if (!t || !t.getElementType().isInteger(8))
      return emitOpError("A and B must be tensors of 8-bit integers");
  }
  if (failed(verifyRankAtLeast(*this, getA(), 2, "A")))
    return failure();
  if (auto b = rankedShape(getB()))
    if (b->size() != 2)
      return emitOpError("B must be 2-D");
  return success();
}

LogicalResult GemmOp::verify() {
  for (Value v : {getA(), getB()})
    if (auto s = rankedShape(v))
      if (s->size() != 2)
        return emitOpError("A and B must be 2-D");
  if (auto c = rankedShape(getC()))
    if (c->size() > 2)
      return emitOpError("C must have rank <= 2");
  return success();
}

LogicalResult ConvOp::verify() {
  if (getGroup() < 1)
    return emitOpError("group must be positive");
  auto x = rankedShape(getX()), w = rankedShape(getW());
  if (x && w) {
    if (x->size() != w->size())
      return emitOpError("X and W must have the same rank");
    int64_t c = (*x)[1], wc = (*w)[1], m = (*w)[0];
    if (c != ShapedType::kDynamic && wc != ShapedType::kDynamic && c != wc * getGroup())
      return emitOpError("input channels ") << c << " != W channels " << wc << " * group "
                                            << getGroup();
    if (m != ShapedType::kDynamic && m % getGroup())
      return emitOpError("output channels ") << m << " not divisible by group " << getGroup();
  }
  return verifySpatialAttrs(*this, getX(), getAutoPad());
}

LogicalResult MaxPoolOp::verify() {
  if (getStorageOrder() != 0 && getStorageOrder() != 1)
    return emitOpError("storage_order must be 0 or 1");
  return verifySpatialAttrs(*this, getX(), getAutoPad());
}

LogicalResult AveragePoolOp::verify() {
  return verifySpatialAttrs(*this, getX(), getAutoPad());
}

LogicalResult GlobalAveragePoolOp::verify() {
  return verifyRankAtLeast(*this, getX(), 3, "X");
}
LogicalResult GlobalMaxPoolOp::verify() { return verifyRankAtLeast(*this, getX(), 3, "X"); }

LogicalResult BatchNormalizationOp::verify() {
  if (getTrainingMode() != 0)
    return emitOpError("training_mode=1 is not an inference computation");
  if (failed(verifyRankAtLeast(*this, getX(), 2, "X")))
    return failure();
  for (Value v : {getScale(), getB(), getInputMean(), getInputVar()})
    if (auto s = rankedShape(v))
      if (s->size() != 1)
        return emitOpError("scale, B, mean and var must be 1-D");
  return success();
}

LogicalResult LRNOp::verify() {
  if (getSize() < 1)
    return emitOpError("size must be positive");
  return verifyRankAtLeast(*this, getX(), 3, "X");
}

LogicalResult WhereOp::verify() {
  if (!elementType(getCondition()).isInteger(1))
    return emitOpError("condition must be bool");
  if (elementType(getX()) != elementType(getY()))
    return emitOpError("X and Y must have one element type");
  llvm::SmallVector<llvm::SmallVector<int64_t>> shapes;
  for (Value v : getOperands())
    if (auto s = rankedShape(v))
      shapes.push_back(*s);
  if (!broadcastShapes(shapes))
    return emitOpError("operand shapes cannot be broadcast together");
  return success();
}

LogicalResult NegativeLogLikelihoodLossOp::verify() {
  if (getReduction() != "none" && getReduction() != "sum" && getReduction() != "mean")
    return emitOpError("reduction must be none, sum or mean");
  auto in = rankedShape(getInput()), t = rankedShape(getTarget());
  if (in && t && in->size() != t->size() + 1)
    return emitOpError("target must have rank one less than input");
  return success();
}

LogicalResult SoftmaxOp::verify() { return verifyAxis(*this, getInput(), getAxis()); }
LogicalResult LogSoftmaxOp::verify() { return verifyAxis(*this, getInput(), getAxis()); }
LogicalResult FlattenOp::verify() { return verifyAxis(*this, getInput(), getAxis(), true); }

LogicalResult ReshapeOp::verify() {
  if (auto s = rankedShape(getShape()))
    if (s->size() != 1)
      return emitOpError("shape must be 1-D");
  return success();
}

LogicalResult TransposeOp::verify() {
  auto perm = toInts(getPerm());
  if (auto s = rankedShape(getData()))
    if (!perm.empty() && perm.size() != s->size())
      return emitOpError("perm has ") << perm.size() << " entries for rank " << s->size();
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  for (Value v : getInputs())
    if (elementType(v) != elementType(getInputs().front()))
      return emitOpError("inputs must have one element type");
  return verifyAxis(*this, getInputs().front(), getAxis());
}

#define GET_OP_CLASSES
#include "dialect/KilnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Strings
//===----------------------------------------------------------------------===//

static bool isString(Value v) { return llvm::isa<kiln::StringType>(elementType(v)); }

LogicalResult StringConcatOp::verify() {
  if (!isString(getX()) || !isString(getY()))
    return emitOpError("operands must be string tensors");
  return verifyBroadcastable(*this, /*sameElementType=*/true);
}

LogicalResult RegexFullMatchOp::verify() {
  if (!isString(getX()))
    return emitOpError("input must be a string tensor");
  return success();
}

LogicalResult StringNormalizerOp::verify() {
  if (!isString(getX()))
    return emitOpError("input must be a string tensor");
  StringRef action = getCaseChangeAction();
  if (action != "NONE" && action != "LOWER" && action != "UPPER")
    return emitOpError("case_change_action must be NONE, LOWER or UPPER, got '") << action << "'";
  if (auto s = rankedShape(getX()))
    if (!(s->size() == 1 || (s->size() == 2 && ((*s)[0] == 1 || (*s)[0] == ShapedType::kDynamic))))
      return emitOpError("input must be [C] or [1, C]");
  return success();
}

LogicalResult RandomOp::verify() {
  if (getDistribution() != "uniform" && getDistribution() != "normal")
    return emitOpError("distribution must be uniform or normal, got '") << getDistribution() << "'";
  if (!getElement().isF32() && !getElement().isF64())
    return emitOpError("element must be f32 or f64");
  bool like = llvm::isa<TensorType>(getLike().getType());
  if (like == getShape().has_value())
    return emitOpError("needs either a `like` operand or a `shape`, not both");
  if (auto shape = getShape())
    for (Attribute d : *shape)
      if (llvm::cast<IntegerAttr>(d).getInt() < 0)
        return emitOpError("shape dims must not be negative");
  return success();
}

LogicalResult ImageDecoderOp::verify() {
  auto t = llvm::dyn_cast<TensorType>(getEncodedStream().getType());
  if (!t || !t.getElementType().isUnsignedInteger(8) || (t.hasRank() && t.getRank() != 1))
    return emitOpError("encoded_stream must be a 1-D uint8 tensor");
  StringRef f = getPixelFormat();
  if (f != "RGB" && f != "BGR" && f != "Grayscale")
    return emitOpError("pixel_format must be RGB, BGR or Grayscale, got '") << f << "'";
  return success();
}

LogicalResult StringSplitOp::verify() {
  if (!isString(getX()))
    return emitOpError("input must be a string tensor");
  return success();
}

LogicalResult LabelEncoderOp::verify() {
  auto keys = llvm::cast<ShapedType>(getKeys().getType());
  auto values = llvm::cast<ShapedType>(getValues().getType());
  auto dflt = llvm::cast<ShapedType>(getDefaultValue().getType());
  if (keys.getRank() != 1 || values.getRank() != 1 || keys.getDimSize(0) != values.getDimSize(0))
    return emitOpError("keys and values must be 1-D and equally long");
  if (dflt.getNumElements() != 1 || dflt.getElementType() != values.getElementType())
    return emitOpError("default must be one value of the values' type");
  if (keys.getElementType() != elementType(getX()))
    return emitOpError("keys must have the input's element type");
  Type k = keys.getElementType();
  if (!llvm::isa<kiln::StringType>(k) && !k.isInteger(64) && !k.isF32())
    return emitOpError("keys must be strings, int64 or float, got ") << k;
  return success();
}

LogicalResult TfIdfVectorizerOp::verify() {
  int64_t minN = getMinGramLength(), maxN = getMaxGramLength();
  if (minN < 1 || maxN < minN)
    return emitOpError("needs 1 <= min_gram_length <= max_gram_length");
  if (getMaxSkipCount() < 0)
    return emitOpError("max_skip_count must be >= 0");
  StringRef mode = getMode();
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF")
    return emitOpError("mode must be TF, IDF or TFIDF, got '") << mode << "'";
  if (getPoolInt64s().has_value() == getPoolStrings().has_value())
    return emitOpError("needs exactly one of pool_int64s and pool_strings");
  Type x = elementType(getX());
  if (getPoolStrings() ? !llvm::isa<kiln::StringType>(x) : !x.isInteger(64))
    return emitOpError("input must be ") << (getPoolStrings() ? "strings" : "int64")
                                         << " like the pool, got " << x;
  int64_t items = getPoolStrings() ? getPoolStrings()->size() : getPoolInt64s()->size();
  // ngram_counts[i]: where the (i+1)-grams start in the pool.
  auto counts = getNgramCounts().getValue();
  int64_t grams = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t begin = llvm::cast<IntegerAttr>(counts[i]).getInt();
    int64_t end = i + 1 < counts.size() ? llvm::cast<IntegerAttr>(counts[i + 1]).getInt() : items;
    if (begin < 0 || end < begin || end > items || (end - begin) % int64_t(i + 1))
      return emitOpError("ngram_counts do not split the pool into whole n-grams");
    grams += (end - begin) / int64_t(i + 1);
  }
  if ((int64_t)getNgramIndexes().size() != grams)
    return emitOpError("has ") << grams << " n-grams but " << getNgramIndexes().size()
                               << " ngram_indexes";
  for (Attribute a : getNgramIndexes())
    if (llvm::cast<IntegerAttr>(a).getInt() < 0 || llvm::cast<IntegerAttr>(a).getInt() > (1 << 24))
      return emitOpError("ngram_indexes must be in [0, 2^24]");
  if (getWeights() && (int64_t)getWeights()->size() != grams)
    return emitOpError("needs one weight per n-gram");
  if (auto s = rankedShape(getX()); s && s->size() > 2)
    return emitOpError("input must be [C] or [B, C]");
  return success();
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

LogicalResult LoopOp::verify() {
  Block &body = getBody().front();
  size_t n = getInitial().size();
  if (body.getNumArguments() != n + 2)
    return emitOpError("body must take the iteration, the condition and ") << n << " carried values";
  if (getNumResults() < n)
    return emitOpError("must have a result per carried value");
  size_t scans = getNumResults() - n;
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() != n + 1 + scans)
    return emitOpError("body must end in kiln.yield of the condition, ")
           << n << " carried values and " << scans << " scan items";
  for (size_t i = 0; i < n; ++i) {
    Type arg = body.getArgument(i + 2).getType();
    if (getResult(i).getType() != arg)
      return emitOpError("result ") << i << " must have the type of its body argument";
    if (failed(verifyCompatibleShape(getInitial()[i].getType(), arg)) ||
        failed(verifyCompatibleShape(yield.getValues()[i + 1].getType(), arg)) ||
        elementType(getInitial()[i]) != elementType(getResult(i)) ||
        elementType(yield.getValues()[i + 1]) != elementType(getResult(i)))
      return emitOpError("carried value ") << i << " changes type or rank between iterations";
  }
  for (size_t k = 0; k < scans; ++k) {
    auto item = llvm::dyn_cast<RankedTensorType>(yield.getValues()[1 + n + k].getType());
    auto out = llvm::dyn_cast<RankedTensorType>(getResult(n + k).getType());
    if (!item || !out || out.getRank() != item.getRank() + 1 ||
        out.getElementType() != item.getElementType() ||
        failed(verifyCompatibleShape(out.getShape().drop_front(), item.getShape())))
      return emitOpError("scan output ") << k << " must stack its items along a new first dim";
  }
  return success();
}

LogicalResult IfOp::verify() {
  for (Region *branch : {&getThenBranch(), &getElseBranch()}) {
    auto yield = llvm::dyn_cast<YieldOp>(branch->front().getTerminator());
    if (!yield || yield.getValues().size() != getNumResults())
      return emitOpError("each branch must end in kiln.yield of ") << getNumResults() << " values";
    for (auto [v, r] : llvm::zip(yield.getValues(), getResults()))
      if (failed(verifyCompatibleShape(v.getType(), r.getType())) ||
          elementType(v) != elementType(r))
        return emitOpError("a branch output does not fit the result type ") << r.getType();
  }
  return success();
}

LogicalResult TreeEnsembleOp::verify() {
  auto ints = [](ArrayAttr a) {
    llvm::SmallVector<int64_t> v;
    for (Attribute x : a)
      v.push_back(llvm::cast<IntegerAttr>(x).getInt());
    return v;
  };
  int64_t nodes = getNodesFeatureids().size(), leaves = getLeafTargetids().size();
  if ((int64_t)getNodesSplits().getNumElements() != nodes ||
      (int64_t)getNodesModes().getNumElements() != nodes ||
      (int64_t)getNodesTrueleafs().size() != nodes || (int64_t)getNodesFalseleafs().size() != nodes ||
      (int64_t)getNodesTruenodeids().size() != nodes ||
      (int64_t)getNodesFalsenodeids().size() != nodes ||
      (getNodesMissingValueTracksTrue() && (int64_t)getNodesMissingValueTracksTrue()->size() != nodes))
    return emitOpError("node attributes must all have one entry per node");
  if ((int64_t)getLeafWeights().getNumElements() != leaves)
    return emitOpError("leaf_weights and leaf_targetids must be equally long");
  if (getNTargets() < 1)
    return emitOpError("n_targets must be >= 1");
  for (int64_t t : ints(getLeafTargetids()))
    if (t < 0 || t >= getNTargets())
      return emitOpError("leaf target ") << t << " is out of range";
  auto trueLeaf = ints(getNodesTrueleafs()), falseLeaf = ints(getNodesFalseleafs());
  auto trueId = ints(getNodesTruenodeids()), falseId = ints(getNodesFalsenodeids());
  for (int64_t i = 0; i < nodes; ++i)
    for (auto [leaf, id] : {std::pair(trueLeaf[i], trueId[i]), std::pair(falseLeaf[i], falseId[i])})
      if (id < 0 || id >= (leaf ? leaves : nodes))
        return emitOpError("node ") << i << " has a child out of range";
  for (int64_t r : ints(getTreeRoots()))
    if (r < 0 || r >= nodes)
      return emitOpError("tree root ") << r << " is out of range";
  if (getAggregateFunction() < 0 || getAggregateFunction() > 3)
    return emitOpError("aggregate_function must be 0..3");
  if (getPostTransform() < 0 || getPostTransform() > 2)
    return emitOpError("post_transform ") << getPostTransform() << " is not supported (NONE, SOFTMAX, LOGISTIC)";
  if (auto s = rankedShape(getX()); s && s->size() != 2)
    return emitOpError("X must be [N, F]");
  return success();
}
