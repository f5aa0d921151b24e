//===- Elementwise.cpp - elementwise Kiln ops -> linalg.generic -----------===//
#include "lowering/KilnToLinalg/Common.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln {
namespace {

Value cst(OpBuilder &b, Location loc, Type t, double v) { return scalarConstant(b, loc, t, v); }

Value select(OpBuilder &b, Location loc, Value c, Value t, Value f) {
  return arith::SelectOp::create(b, loc, c, t, f);
}

Value cmp(OpBuilder &b, Location loc, ElemKind k, arith::CmpFPredicate fp,
          arith::CmpIPredicate sp, arith::CmpIPredicate up, Value x, Value y) {
  if (k.isFloat)
    return arith::CmpFOp::create(b, loc, fp, x, y);
  return arith::CmpIOp::create(b, loc, k.isUnsigned || k.isBool ? up : sp, x, y);
}

Value lessThan(OpBuilder &b, Location loc, ElemKind k, Value x, Value y) {
  return cmp(b, loc, k, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
             arith::CmpIPredicate::ult, x, y);
}

Value maxOf(OpBuilder &b, Location loc, ElemKind k, Value x, Value y) {
  if (k.isFloat)
    return arith::MaximumFOp::create(b, loc, x, y);
  if (k.isUnsigned || k.isBool)
    return arith::MaxUIOp::create(b, loc, x, y);
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value minOf(OpBuilder &b, Location loc, ElemKind k, Value x, Value y) {
  if (k.isFloat)
    return arith::MinimumFOp::create(b, loc, x, y);
  if (k.isUnsigned || k.isBool)
    return arith::MinUIOp::create(b, loc, x, y);
  return arith::MinSIOp::create(b, loc, x, y);
}

/// The scalar computation of one elementwise op. `k` describes the first
/// operand's element type as the dialect sees it (with signedness).
FailureOr<Value> scalarOf(Operation *op, OpBuilder &b, Location loc, ValueRange a, ElemKind k) {
  Type t = a.empty() ? Type() : a[0].getType();
  auto f = [&](auto fop) { return Value(fop); };
  return llvm::TypeSwitch<Operation *, FailureOr<Value>>(op)
      .Case<AddOp, SumOp>([&](Operation *) -> FailureOr<Value> {
        Value r = a[0];
        for (Value x : a.drop_front())
          r = k.isFloat ? f(arith::AddFOp::create(b, loc, r, x))
                        : f(arith::AddIOp::create(b, loc, r, x));
        return r;
      })
      .Case<MeanOp>([&](MeanOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value r = a[0];
        for (Value x : a.drop_front())
          r = arith::AddFOp::create(b, loc, r, x);
        return f(arith::DivFOp::create(b, loc, r, cst(b, loc, t, a.size())));
      })
      .Case<SubOp>([&](SubOp) -> FailureOr<Value> {
        return k.isFloat ? f(arith::SubFOp::create(b, loc, a[0], a[1]))
                         : f(arith::SubIOp::create(b, loc, a[0], a[1]));
      })
      .Case<MulOp>([&](MulOp) -> FailureOr<Value> {
        return k.isFloat ? f(arith::MulFOp::create(b, loc, a[0], a[1]))
                         : f(arith::MulIOp::create(b, loc, a[0], a[1]));
      })
      .Case<DivOp>([&](DivOp) -> FailureOr<Value> {
        if (k.isFloat)
          return f(arith::DivFOp::create(b, loc, a[0], a[1]));
        if (k.isUnsigned)
          return f(arith::DivUIOp::create(b, loc, a[0], a[1]));
        return f(arith::DivSIOp::create(b, loc, a[0], a[1]));
      })
      .Case<ModOp>([&](ModOp m) -> FailureOr<Value> {
        if (k.isFloat) // fmod: the result takes the dividend's sign
          return f(arith::RemFOp::create(b, loc, a[0], a[1]));
        if (k.isUnsigned)
          return f(arith::RemUIOp::create(b, loc, a[0], a[1]));
        Value r = arith::RemSIOp::create(b, loc, a[0], a[1]);
        if (m.getFmod())
          return r;
        // Python-style modulo: the result takes the divisor's sign.
        Value zero = cst(b, loc, t, 0);
        Value rNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
        Value dNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[1], zero);
        Value nz = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
        Value fix = arith::AndIOp::create(b, loc, nz,
                                          arith::XOrIOp::create(b, loc, rNeg, dNeg));
        return select(b, loc, fix, arith::AddIOp::create(b, loc, r, a[1]), r);
      })
      .Case<PowOp>([&](PowOp p) -> FailureOr<Value> {
        ElemKind ek = ElemKind::of(p.getB().getType());
        if (k.isFloat) {
          Value e = castScalar(b, loc, a[1], ek, t, k);
          return f(math::PowFOp::create(b, loc, a[0], e));
        }
        // Integer base: compute in f64, exact for the integer range tests use.
        Type f64 = b.getF64Type();
        ElemKind fk = ElemKind::of(f64);
        Value x = castScalar(b, loc, a[0], k, f64, fk);
        Value e = castScalar(b, loc, a[1], ek, f64, fk);
        Value r = math::PowFOp::create(b, loc, x, e);
        return castScalar(b, loc, r, fk, t, k);
      })
      .Case<EqualOp>([&](EqualOp) -> FailureOr<Value> {
        return cmp(b, loc, k, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
                   arith::CmpIPredicate::eq, a[0], a[1]);
      })
      .Case<LessOp>([&](LessOp) -> FailureOr<Value> { return lessThan(b, loc, k, a[0], a[1]); })
      .Case<LessOrEqualOp>([&](LessOrEqualOp) -> FailureOr<Value> {
        return cmp(b, loc, k, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle,
                   arith::CmpIPredicate::ule, a[0], a[1]);
      })
      .Case<GreaterOp>([&](GreaterOp) -> FailureOr<Value> {
        return cmp(b, loc, k, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
                   arith::CmpIPredicate::ugt, a[0], a[1]);
      })
      .Case<GreaterOrEqualOp>([&](GreaterOrEqualOp) -> FailureOr<Value> {
        return cmp(b, loc, k, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge,
                   arith::CmpIPredicate::uge, a[0], a[1]);
      })
      .Case<AndOp>([&](AndOp) -> FailureOr<Value> { return f(arith::AndIOp::create(b, loc, a[0], a[1])); })
      .Case<OrOp>([&](OrOp) -> FailureOr<Value> { return f(arith::OrIOp::create(b, loc, a[0], a[1])); })
      .Case<XorOp>([&](XorOp) -> FailureOr<Value> { return f(arith::XOrIOp::create(b, loc, a[0], a[1])); })
      .Case<NotOp>([&](NotOp) -> FailureOr<Value> {
        return f(arith::XOrIOp::create(b, loc, a[0], cst(b, loc, t, 1)));
      })
      .Case<MaxOp, MinOp>([&](Operation *o) -> FailureOr<Value> {
        Value r = a[0];
        for (Value x : a.drop_front())
          r = isa<MaxOp>(o) ? maxOf(b, loc, k, r, x) : minOf(b, loc, k, r, x);
        return r;
      })
      .Case<NegOp>([&](NegOp) -> FailureOr<Value> {
        return k.isFloat ? f(arith::NegFOp::create(b, loc, a[0]))
                         : f(arith::SubIOp::create(b, loc, cst(b, loc, t, 0), a[0]));
      })
      .Case<AbsOp>([&](AbsOp) -> FailureOr<Value> {
        if (k.isFloat)
          return f(math::AbsFOp::create(b, loc, a[0]));
        if (k.isUnsigned)
          return a[0];
        return f(math::AbsIOp::create(b, loc, a[0]));
      })
      .Case<ReluOp>([&](ReluOp) -> FailureOr<Value> {
        Value zero = cst(b, loc, t, 0);
        return select(b, loc, lessThan(b, loc, k, a[0], zero), zero, a[0]);
      })
      .Case<LeakyReluOp>([&](LeakyReluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value alpha = cst(b, loc, t, o.getAlpha().convertToDouble());
        Value neg = lessThan(b, loc, k, a[0], cst(b, loc, t, 0));
        return select(b, loc, neg, arith::MulFOp::create(b, loc, alpha, a[0]), a[0]);
      })
      .Case<EluOp>([&](EluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value alpha = cst(b, loc, t, o.getAlpha().convertToDouble());
        Value neg = lessThan(b, loc, k, a[0], cst(b, loc, t, 0));
        Value em1 = math::ExpM1Op::create(b, loc, a[0]);
        return select(b, loc, neg, arith::MulFOp::create(b, loc, alpha, em1), a[0]);
      })
      .Case<SeluOp>([&](SeluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value alpha = cst(b, loc, t, o.getAlpha().convertToDouble());
        Value gamma = cst(b, loc, t, o.getGamma().convertToDouble());
        Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a[0], cst(b, loc, t, 0));
        Value em1 = arith::MulFOp::create(b, loc, alpha, math::ExpM1Op::create(b, loc, a[0]));
        return f(arith::MulFOp::create(b, loc, gamma, select(b, loc, pos, a[0], em1)));
      })
      .Case<HardSigmoidOp>([&](HardSigmoidOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value v = arith::AddFOp::create(
            b, loc, arith::MulFOp::create(b, loc, cst(b, loc, t, o.getAlpha().convertToDouble()), a[0]),
            cst(b, loc, t, o.getBeta().convertToDouble()));
        return minOf(b, loc, k, maxOf(b, loc, k, v, cst(b, loc, t, 0)), cst(b, loc, t, 1));
      })
      .Case<SigmoidOp>([&](SigmoidOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, a[0]));
        Value one = cst(b, loc, t, 1);
        return f(arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e)));
      })
      .Case<SoftplusOp>([&](SoftplusOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        return f(math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, a[0])));
      })
      .Case<SoftsignOp>([&](SoftsignOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value d = arith::AddFOp::create(b, loc, cst(b, loc, t, 1), math::AbsFOp::create(b, loc, a[0]));
        return f(arith::DivFOp::create(b, loc, a[0], d));
      })
      .Case<SignOp>([&](SignOp) -> FailureOr<Value> {
        Value zero = cst(b, loc, t, 0);
        Value pos = lessThan(b, loc, k, zero, a[0]);
        Value neg = lessThan(b, loc, k, a[0], zero);
        Value r = select(b, loc, pos, cst(b, loc, t, 1), zero);
        return k.isUnsigned ? r : select(b, loc, neg, cst(b, loc, t, -1), r);
      })
      .Case<ReciprocalOp>([&](ReciprocalOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        return f(arith::DivFOp::create(b, loc, cst(b, loc, t, 1), a[0]));
      })
      .Case<TanhOp>([&](TanhOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::TanhOp::create(b, loc, a[0]));
      })
      .Case<ExpOp>([&](ExpOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::ExpOp::create(b, loc, a[0]));
      })
      .Case<LogOp>([&](LogOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::LogOp::create(b, loc, a[0]));
      })
      .Case<SqrtOp>([&](SqrtOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::SqrtOp::create(b, loc, a[0]));
      })
      .Case<FloorOp>([&](FloorOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::FloorOp::create(b, loc, a[0]));
      })
      .Case<CeilOp>([&](CeilOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::CeilOp::create(b, loc, a[0]));
      })
      .Case<SinOp>([&](SinOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::SinOp::create(b, loc, a[0]));
      })
      .Case<CosOp>([&](CosOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::CosOp::create(b, loc, a[0]));
      })
      .Case<ErfOp>([&](ErfOp) -> FailureOr<Value> {
        if (!k.isFloat) return failure();
        return f(math::ErfOp::create(b, loc, a[0]));
      })
      .Case<ClipOp>([&](ClipOp c) -> FailureOr<Value> {
        Value r = a[0];
        unsigned i = 1;
        if (!isa<NoneType>(c.getMin().getType())) {
          Value lo = a[i++];
          r = select(b, loc, lessThan(b, loc, k, r, lo), lo, r);
        }
        if (!isa<NoneType>(c.getMax().getType())) {
          Value hi = a[i++];
          r = select(b, loc, lessThan(b, loc, k, hi, r), hi, r);
        }
        return r;
      })
      .Case<WhereOp>([&](WhereOp) -> FailureOr<Value> { return select(b, loc, a[0], a[1], a[2]); })
      .Case<CastOp>([&](CastOp c) -> FailureOr<Value> {
        Type to = c.getType().getElementType();
        return castScalar(b, loc, a[0], k, signless(to), ElemKind::of(to));
      })
      .Default([](Operation *) { return failure(); });
}

/// Any elementwise op: a broadcasting linalg.generic around scalarOf.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Operation *o = op.getOperation();
    auto resultType = llvm::cast<RankedTensorType>(o->getResult(0).getType());
    SmallVector<Value> ins;
    for (Value v : adaptor.getOperands())
      if (!isa<NoneType>(v.getType()))
        ins.push_back(v);
    ElemKind k = ElemKind::of(o->getOperand(0).getType());
    bool ok = true;
    Value out = broadcastGeneric(
        r, op.getLoc(), resultType.getShape(), signless(resultType.getElementType()), ins,
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          auto v = scalarOf(o, b, loc, args, k);
          if (failed(v)) {
            ok = false;
            return args[0];
          }
          return *v;
        });
    if (!ok) {
      out.getDefiningOp()->erase();
      return r.notifyMatchFailure(op, "element type not supported");
    }
    r.replaceOp(op, out);
    return success();
  }
};

} // namespace

void populateElementwisePatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>, ElementwiseLowering<MulOp>,
        ElementwiseLowering<DivOp>, ElementwiseLowering<PowOp>, ElementwiseLowering<ModOp>,
        ElementwiseLowering<EqualOp>, ElementwiseLowering<LessOp>,
        ElementwiseLowering<LessOrEqualOp>, ElementwiseLowering<GreaterOp>,
        ElementwiseLowering<GreaterOrEqualOp>, ElementwiseLowering<AndOp>,
        ElementwiseLowering<OrOp>, ElementwiseLowering<XorOp>, ElementwiseLowering<NotOp>,
        ElementwiseLowering<MaxOp>, ElementwiseLowering<MinOp>, ElementwiseLowering<SumOp>,
        ElementwiseLowering<MeanOp>, ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
        ElementwiseLowering<ReluOp>, ElementwiseLowering<LeakyReluOp>,
        ElementwiseLowering<EluOp>, ElementwiseLowering<SeluOp>,
        ElementwiseLowering<HardSigmoidOp>, ElementwiseLowering<SigmoidOp>,
        ElementwiseLowering<SoftplusOp>, ElementwiseLowering<SoftsignOp>,
        ElementwiseLowering<SignOp>, ElementwiseLowering<ReciprocalOp>,
        ElementwiseLowering<TanhOp>, ElementwiseLowering<ExpOp>, ElementwiseLowering<LogOp>,
        ElementwiseLowering<SqrtOp>, ElementwiseLowering<FloorOp>, ElementwiseLowering<CeilOp>,
        ElementwiseLowering<SinOp>, ElementwiseLowering<CosOp>, ElementwiseLowering<ErfOp>,
        ElementwiseLowering<ClipOp>, ElementwiseLowering<CastOp>, ElementwiseLowering<WhereOp>>(tc, p.getContext());
}

} // namespace kiln
