//===- FoldConstantElementwisePass.cpp - kiln-fold-constant-elementwise ---===//
//
// Quantized models store weights as 8-bit integers and widen them in the
// graph: DequantizeLinear ((w - zero point) * scale), the centring of an
// integer matmul's operand, a Cast. Left in the graph, that arithmetic runs
// on the whole weight at every run, and the kernels that read the result
// cannot pack it at compile time because it is no constant. An elementwise
// linalg.generic whose inputs are all constants is evaluated here instead,
// once, by interpreting its body on each element (the arithmetic of one
// element rounds as the compiled code would: every f32 operation on f32
// operands computed in double and rounded, which is exact for +, -, *, /).
//
// Only results no larger than their largest input are folded: a constant
// broadcast to a large tensor is cheaper computed than stored.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/FoldedConstant.h"
#include "dialect/ConstantData.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>
#include <cstring>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFOLDCONSTANTELEMENTWISE
#include "lowering/Passes.h.inc"

namespace {

/// One value of the interpreter: integers as their bits (zero-extended
/// from their width), floats as a double rounded to their type.
struct Scalar {
  uint64_t bits = 0;
  double f = 0;
};

/// Element types the interpreter handles: f32, f64 and integers up to 64
/// bits.
bool isInterpretable(Type t) {
  if (t.isF32() || t.isF64())
    return true;
  auto it = dyn_cast<IntegerType>(t);
  return it && it.getWidth() <= 64;
}

uint64_t mask(uint64_t bits, unsigned width) {
  return width >= 64 ? bits : bits & ((uint64_t{1} << width) - 1);
}

int64_t signExtend(uint64_t bits, unsigned width) {
  if (width >= 64)
    return static_cast<int64_t>(bits);
  uint64_t sign = uint64_t{1} << (width - 1);
  return static_cast<int64_t>((mask(bits, width) ^ sign) - sign);
}


/// A constant read element by element: raw row-major bytes, or a splat.
struct ConstantReader {
  ArrayRef<char> bytes;
  Scalar splat;
  bool isSplat = false;
  Type elem;
  int64_t elemBytes = 0;
  /// Of `elem`, looked up once (not per element).
  bool isF32 = false, isF64 = false;
  unsigned width = 0;

  Scalar at(int64_t i) const {
    if (isSplat)
      return splat;
    Scalar s;
    const char *p = bytes.data() + i * elemBytes;
    if (isF32) {
      float v;
      std::memcpy(&v, p, 4);
      s.f = v;
    } else if (isF64) {
      std::memcpy(&s.f, p, 8);
    } else {
      std::memcpy(&s.bits, p, elemBytes);
      s.bits = mask(s.bits, width);
    }
    return s;
  }
};

Scalar fromAttr(TypedAttr attr) {
  Scalar s;
  if (auto f = dyn_cast<FloatAttr>(attr))
    s.f = f.getValueAsDouble();
  else if (auto i = dyn_cast<IntegerAttr>(attr))
    s.bits = mask(i.getValue().getZExtValue(), i.getType().getIntOrFloatBitWidth());
  return s;
}

/// The constant `v` reads, directly or through a static reshape (whose
/// bytes are the same), with the type it has at `v`.
std::optional<ConstantReader> readerOf(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() || !isInterpretable(type.getElementType()))
    return std::nullopt;
  Operation *def = v.getDefiningOp();
  if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
    v = def->getOperand(0);
  ElementsAttr value;
  if (!matchPattern(v, m_Constant(&value)))
    return std::nullopt;
  ConstantReader r;
  r.elem = type.getElementType();
  r.elemBytes = rawElementBytes(r.elem);
  r.isF32 = r.elem.isF32();
  r.isF64 = r.elem.isF64();
  r.width = r.elem.getIntOrFloatBitWidth();
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat()) {
    r.isSplat = true;
    r.splat = fromAttr(dense.getSplatValue<TypedAttr>());
    return r;
  }
  std::optional<ArrayRef<char>> bytes = constantBytes(value);
  if (!bytes || !r.elemBytes)
    return std::nullopt;
  r.bytes = *bytes;
  return r;
}

/// The body of an elementwise generic as a list of steps over value slots:
/// the block's input arguments first, then constants, then each op's result.
class Program {
public:
  /// Nothing when the body has an op or type the interpreter lacks, or
  /// reads the output's current value.
  static std::optional<Program> of(linalg::GenericOp op) {
    Program p;
    Block &body = op.getRegion().front();
    for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
      p.slots[body.getArgument(i)] = i;
    p.size = op.getNumDpsInputs();
    if (!body.getArgument(op.getNumDpsInputs()).use_empty())
      return std::nullopt;
    for (Operation &inner : body.without_terminator()) {
      if (inner.getNumResults() != 1 || inner.getNumRegions() != 0 ||
          !isInterpretable(inner.getResult(0).getType()))
        return std::nullopt;
      if (auto c = dyn_cast<arith::ConstantOp>(inner)) {
        p.constant(c.getResult(), fromAttr(cast<TypedAttr>(c.getValue())));
        continue;
      }
      std::optional<Kind> kind = kindOf(&inner);
      if (!kind)
        return std::nullopt;
      Type out = inner.getResult(0).getType();
      Step s{*kind, {}, 0, out.getIntOrFloatBitWidth(),
             inner.getOperand(0).getType().getIntOrFloatBitWidth(), out.isF32()};
      for (Value operand : inner.getOperands()) {
        if (!p.slots.count(operand)) {
          // A scalar constant from above the generic.
          auto c = operand.getDefiningOp<arith::ConstantOp>();
          if (!c || !isInterpretable(operand.getType()))
            return std::nullopt;
          p.constant(operand, fromAttr(cast<TypedAttr>(c.getValue())));
        }
        s.operands.push_back(p.slots[operand]);
      }
      s.result = p.size++;
      p.slots[inner.getResult(0)] = s.result;
      p.steps.push_back(std::move(s));
    }
    Value yielded = body.getTerminator()->getOperand(0);
    if (!p.slots.count(yielded))
      return std::nullopt;
    p.result = p.slots[yielded];
    return p;
  }

  /// Runs the body on `values` (the inputs in their first slots).
  Scalar run(SmallVectorImpl<Scalar> &values) const {
    values.resize(size);
    for (auto [slot, value] : constants)
      values[slot] = value;
    for (const Step &s : steps)
      values[s.result] = step(s, values);
    return values[result];
  }

private:
  /// The ops the interpreter runs, decided once per op rather than by a
  /// type switch on every element (ten million elements for a recurrent
  /// model's weights).
  enum class Kind {
    ExtUI, ExtSI, TruncI, SIToFP, UIToFP, FPToSI, ExtF, TruncF, AddI, SubI, MulI,
    AddF, SubF, MulF, DivF, NegF, MaxF, MinF, Select
  };
  struct Step {
    Kind kind;
    SmallVector<unsigned> operands;
    unsigned result;
    /// Bits of the result and of the first operand; whether the result
    /// rounds to f32.
    unsigned width, inWidth;
    bool outF32;
  };

  /// Nothing for an op the interpreter lacks.
  static std::optional<Kind> kindOf(Operation *op) {
    return llvm::TypeSwitch<Operation *, std::optional<Kind>>(op)
        .Case([](arith::ExtUIOp) { return Kind::ExtUI; })
        .Case([](arith::ExtSIOp) { return Kind::ExtSI; })
        .Case([](arith::TruncIOp) { return Kind::TruncI; })
        .Case([](arith::SIToFPOp) { return Kind::SIToFP; })
        .Case([](arith::UIToFPOp) { return Kind::UIToFP; })
        .Case([](arith::FPToSIOp) { return Kind::FPToSI; })
        .Case([](arith::ExtFOp) { return Kind::ExtF; })
        .Case([](arith::TruncFOp) { return Kind::TruncF; })
        .Case([](arith::AddIOp) { return Kind::AddI; })
        .Case([](arith::SubIOp) { return Kind::SubI; })
        .Case([](arith::MulIOp) { return Kind::MulI; })
        .Case([](arith::AddFOp) { return Kind::AddF; })
        .Case([](arith::SubFOp) { return Kind::SubF; })
        .Case([](arith::MulFOp) { return Kind::MulF; })
        .Case([](arith::DivFOp) { return Kind::DivF; })
        .Case([](arith::NegFOp) { return Kind::NegF; })
        .Case([](arith::MaximumFOp) { return Kind::MaxF; })
        .Case([](arith::MinimumFOp) { return Kind::MinF; })
        .Case([](arith::SelectOp) { return Kind::Select; })
        .Default([](Operation *) { return std::nullopt; });
  }

  void constant(Value v, Scalar s) {
    slots[v] = size;
    constants.push_back({size++, s});
  }

  static Scalar step(const Step &s, ArrayRef<Scalar> values) {
    auto in = [&](unsigned i) { return values[s.operands[i]]; };
    auto round = [&](double v) { return s.outF32 ? double(float(v)) : v; };
    Scalar r;
    switch (s.kind) {
    case Kind::ExtUI: r.bits = in(0).bits; break;
    case Kind::ExtSI: r.bits = mask(signExtend(in(0).bits, s.inWidth), s.width); break;
    case Kind::TruncI: r.bits = mask(in(0).bits, s.width); break;
    case Kind::SIToFP: r.f = round(double(signExtend(in(0).bits, s.inWidth))); break;
    case Kind::UIToFP: r.f = round(double(in(0).bits)); break;
    case Kind::FPToSI: {
      double v = std::trunc(in(0).f);
      // Out of range is poison in the compiled code; any value will do.
      r.bits = std::isfinite(v) && std::fabs(v) < 9.2e18 ? mask(uint64_t(int64_t(v)), s.width) : 0;
      break;
    }
    case Kind::ExtF: r.f = in(0).f; break;
    case Kind::TruncF: r.f = round(in(0).f); break;
    case Kind::AddI: r.bits = mask(in(0).bits + in(1).bits, s.width); break;
    case Kind::SubI: r.bits = mask(in(0).bits - in(1).bits, s.width); break;
    case Kind::MulI: r.bits = mask(in(0).bits * in(1).bits, s.width); break;
    case Kind::AddF: r.f = round(in(0).f + in(1).f); break;
    case Kind::SubF: r.f = round(in(0).f - in(1).f); break;
    case Kind::MulF: r.f = round(in(0).f * in(1).f); break;
    case Kind::DivF: r.f = round(in(0).f / in(1).f); break;
    case Kind::NegF: r.f = -in(0).f; break;
    case Kind::MaxF: {
      double a = in(0).f, b = in(1).f;
      r.f = round(std::isnan(a) || std::isnan(b) ? NAN : std::fmax(a, b));
      break;
    }
    case Kind::MinF: {
      double a = in(0).f, b = in(1).f;
      r.f = round(std::isnan(a) || std::isnan(b) ? NAN : std::fmin(a, b));
      break;
    }
    case Kind::Select: r = (in(0).bits & 1) ? in(1) : in(2); break;
    }
    return r;
  }

  DenseMap<Value, unsigned> slots;
  SmallVector<std::pair<unsigned, Scalar>> constants;
  SmallVector<Step> steps;
  unsigned size = 0, result = 0;
};

void store(char *to, Type t, Scalar s) {
  if (t.isF32()) {
    float v = static_cast<float>(s.f);
    std::memcpy(to, &v, 4);
  } else if (t.isF64()) {
    std::memcpy(to, &s.f, 8);
  } else {
    std::memcpy(to, &s.bits, rawElementBytes(t));
  }
}

/// The value of elementwise `op` on constant inputs, or nothing.
ElementsAttr evaluate(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1 || op.getNumReductionLoops() != 0 ||
      !op.hasPureTensorSemantics() || op.getNumDpsInputs() == 0)
    return {};
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || !type.hasStaticShape() || !isInterpretable(type.getElementType()) ||
      !rawElementBytes(type.getElementType()))
    return {};
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!maps.back().isPermutation() ||
      !llvm::all_of(maps, [](AffineMap m) { return m.isProjectedPermutation(/*allowZeroInResults=*/true); }))
    return {};
  SmallVector<ConstantReader> readers;
  int64_t largest = 0;
  bool allSplat = true;
  for (Value v : op.getDpsInputs()) {
    std::optional<ConstantReader> r = readerOf(v);
    if (!r)
      return {};
    if (!r->isSplat)
      largest = std::max(largest, cast<ShapedType>(v.getType()).getNumElements());
    allSplat &= r->isSplat;
    readers.push_back(*r);
  }
  int64_t n = type.getNumElements();
  if (!allSplat && n > largest)
    return {};
  std::optional<Program> program = Program::of(op);
  if (!program)
    return {};
  Type elem = type.getElementType();
  auto runAt = [&](ArrayRef<int64_t> inputIndex, SmallVectorImpl<Scalar> &values) {
    values.assign(readers.size(), Scalar());
    for (size_t i = 0; i < readers.size(); ++i)
      values[i] = readers[i].at(inputIndex[i]);
    return program->run(values);
  };
  if (allSplat) {
    SmallVector<int64_t> zeros(readers.size(), 0);
    SmallVector<Scalar> values;
    Scalar s = runAt(zeros, values);
    std::vector<char> one(rawElementBytes(elem));
    store(one.data(), elem, s);
    return DenseElementsAttr::getFromRawBuffer(RankedTensorType::get({}, elem), one)
        .resizeSplat(type);
  }
  // Loop index -> flat index, per input: the stride of each loop in it.
  int64_t loops = op.getNumLoops();
  SmallVector<SmallVector<int64_t>> loopStrides;
  for (size_t i = 0; i < readers.size(); ++i) {
    auto inType = cast<ShapedType>(op.getDpsInputs()[i].getType());
    SmallVector<int64_t> strides(loops, 0);
    int64_t stride = 1;
    for (int64_t d = inType.getRank() - 1; d >= 0; --d) {
      // A broadcast dim (size 1, or read at a constant 0) moves with no loop.
      if (inType.getDimSize(d) != 1 && isa<AffineDimExpr>(maps[i].getResult(d)))
        strides[maps[i].getDimPosition(d)] = stride;
      stride *= inType.getDimSize(d);
    }
    loopStrides.push_back(strides);
  }
  // Output dims in row-major order, as loops.
  AffineMap out = maps.back();
  SmallVector<int64_t> outLoop(loops), extent(loops);
  for (int64_t d = 0; d < loops; ++d) {
    outLoop[d] = out.getDimPosition(d);
    extent[d] = type.getDimSize(d);
  }
  int64_t bytes = rawElementBytes(elem);
  ConstantBuffer result(n * bytes);
  char *to = result.data();
  bool elemF32 = elem.isF32(), elemF64 = elem.isF64();
  // In parts of consecutive output elements, on the context's threads.
  constexpr int64_t kPartElements = int64_t{1} << 16;
  forEachPart(op->getContext(), llvm::divideCeil(n, kPartElements), n * bytes,
              [&](int64_t beginPart, int64_t endPart) {
    int64_t first = beginPart * kPartElements, last = std::min(n, endPart * kPartElements);
    // The output's index of element `first`, and each input's flat index
    // there; both then advance element by element.
    SmallVector<int64_t> index(loops, 0), flat(readers.size(), 0);
    for (int64_t d = loops - 1, rest = first; d >= 0; --d) {
      index[d] = rest % extent[d];
      rest /= extent[d];
      for (size_t i = 0; i < readers.size(); ++i)
        flat[i] += index[d] * loopStrides[i][outLoop[d]];
    }
    SmallVector<Scalar> values;
    for (int64_t e = first; e < last; ++e) {
      Scalar v = runAt(flat, values);
      if (elemF32) {
        float f = static_cast<float>(v.f);
        std::memcpy(to + e * bytes, &f, 4);
      } else {
        std::memcpy(to + e * bytes, elemF64 ? static_cast<const void *>(&v.f) : &v.bits, bytes);
      }
      for (int64_t d = loops - 1; d >= 0; --d) {
        int64_t loop = outLoop[d];
        for (size_t i = 0; i < readers.size(); ++i)
          flat[i] += loopStrides[i][loop];
        if (++index[d] < extent[d])
          break;
        for (size_t i = 0; i < readers.size(); ++i)
          flat[i] -= loopStrides[i][loop] * extent[d];
        index[d] = 0;
      }
    }
  });
  return constantAttr(type, std::move(result));
}

struct FoldConstantElementwisePass
    : impl::KilnFoldConstantElementwiseBase<FoldConstantElementwisePass> {
  void runOnOperation() override {
    IRRewriter r(&getContext());
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    BlobReferences blobs(getOperation());
    // In program order: a chain of elementwise ops on a weight folds whole.
    for (linalg::GenericOp op : ops) {
      ElementsAttr folded = evaluate(op);
      if (!folded)
        continue;
      replaceWithConstant(r, op, folded, blobs);
    }
  }
};

} // namespace
} // namespace kiln
