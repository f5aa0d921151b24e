//===- Elementwise.cpp - elementwise Kiln ops -> linalg.generic -----------===//
#include "lowering/KilnToLinalg/Common.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>

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
        // max(x, 0) + log1p(exp(-|x|)): log1p(exp(x)) overflows to inf
        // from x = 89 on, where softplus(x) = x.
        Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, a[0]));
        return f(arith::AddFOp::create(
            b, loc, arith::MaximumFOp::create(b, loc, a[0], cst(b, loc, t, 0)),
            math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs))));
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
      .Case<AcosOp, AsinOp, AtanOp, TanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp,
            RoundOp>([&](Operation *o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value x = a[0];
        return llvm::TypeSwitch<Operation *, Value>(o)
            .Case<AcosOp>([&](auto) { return f(math::AcosOp::create(b, loc, x)); })
            .Case<AsinOp>([&](auto) { return f(math::AsinOp::create(b, loc, x)); })
            .Case<AtanOp>([&](auto) { return f(math::AtanOp::create(b, loc, x)); })
            .Case<TanOp>([&](auto) { return f(math::TanOp::create(b, loc, x)); })
            .Case<SinhOp>([&](auto) { return f(math::SinhOp::create(b, loc, x)); })
            .Case<CoshOp>([&](auto) { return f(math::CoshOp::create(b, loc, x)); })
            .Case<AsinhOp>([&](auto) { return f(math::AsinhOp::create(b, loc, x)); })
            .Case<AcoshOp>([&](auto) { return f(math::AcoshOp::create(b, loc, x)); })
            .Case<AtanhOp>([&](auto) { return f(math::AtanhOp::create(b, loc, x)); })
            .Default([&](auto) { return f(math::RoundEvenOp::create(b, loc, x)); });
      })
      .Case<IsNaNOp>([&](IsNaNOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        return f(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a[0], a[0]));
      })
      .Case<IsInfOp>([&](IsInfOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value inf = highestValue(b, loc, t, false), ninf = lowestValue(b, loc, t, false);
        Value r = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
        if (o.getDetectPositive())
          r = arith::OrIOp::create(b, loc, r, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a[0], inf));
        if (o.getDetectNegative())
          r = arith::OrIOp::create(b, loc, r, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a[0], ninf));
        return r;
      })
      .Case<HardSwishOp>([&](HardSwishOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value v = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, a[0], cst(b, loc, t, 1.0 / 6)),
                                        cst(b, loc, t, 0.5));
        v = minOf(b, loc, k, maxOf(b, loc, k, v, cst(b, loc, t, 0)), cst(b, loc, t, 1));
        return f(arith::MulFOp::create(b, loc, a[0], v));
      })
      .Case<MishOp>([&](MishOp) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value sp = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, a[0]));
        return f(arith::MulFOp::create(b, loc, a[0], math::TanhOp::create(b, loc, sp)));
      })
      .Case<CeluOp>([&](CeluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value alpha = cst(b, loc, t, o.getAlpha().convertToDouble());
        Value e = math::ExpM1Op::create(b, loc, arith::DivFOp::create(b, loc, a[0], alpha));
        Value neg = minOf(b, loc, k, cst(b, loc, t, 0), arith::MulFOp::create(b, loc, alpha, e));
        return f(arith::AddFOp::create(b, loc, maxOf(b, loc, k, cst(b, loc, t, 0), a[0]), neg));
      })
      .Case<ThresholdedReluOp>([&](ThresholdedReluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value above = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a[0],
                                            cst(b, loc, t, o.getAlpha().convertToDouble()));
        return select(b, loc, above, a[0], cst(b, loc, t, 0));
      })
      .Case<ShrinkOp>([&](ShrinkOp o) -> FailureOr<Value> {
        double lambd = o.getLambd().convertToDouble(), bias = o.getBias().convertToDouble();
        auto addc = [&](Value v, double c) { return addOf(b, loc, k, v, cst(b, loc, t, c)); };
        Value low = lessThan(b, loc, k, a[0], cst(b, loc, t, -lambd));
        Value high = lessThan(b, loc, k, cst(b, loc, t, lambd), a[0]);
        return select(b, loc, low, addc(a[0], bias),
                      select(b, loc, high, addc(a[0], -bias), cst(b, loc, t, 0)));
      })
      .Case<GeluOp>([&](GeluOp o) -> FailureOr<Value> {
        if (!k.isFloat)
          return failure();
        Value x = a[0], half = cst(b, loc, t, 0.5), one = cst(b, loc, t, 1);
        if (o.getApproximate() != "tanh") {
          // 0.5 x erfc(-x / sqrt 2): 1 + erf(x / sqrt 2) cancels to a few
          // bits where x < -3.
          Value c = math::ErfcOp::create(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, t, -M_SQRT1_2)));
          return f(arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, half, x), c));
        }
        Value x3 = arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
        Value u = arith::MulFOp::create(
            b, loc, cst(b, loc, t, std::sqrt(2.0 / M_PI)),
            arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, cst(b, loc, t, 0.044715), x3)));
        Value inner = math::TanhOp::create(b, loc, u);
        return f(arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, half, x),
                                       arith::AddFOp::create(b, loc, one, inner)));
      })
      .Case<PReluOp>([&](PReluOp) -> FailureOr<Value> {
        Value neg = lessThan(b, loc, k, a[0], cst(b, loc, t, 0));
        Value scaled = k.isFloat ? f(arith::MulFOp::create(b, loc, a[0], a[1]))
                                 : f(arith::MulIOp::create(b, loc, a[0], a[1]));
        return select(b, loc, neg, scaled, a[0]);
      })
      .Case<BitwiseAndOp>([&](auto) -> FailureOr<Value> { if (k.isFloat) return failure(); return f(arith::AndIOp::create(b, loc, a[0], a[1])); })
      .Case<BitwiseOrOp>([&](auto) -> FailureOr<Value> { if (k.isFloat) return failure(); return f(arith::OrIOp::create(b, loc, a[0], a[1])); })
      .Case<BitwiseXorOp>([&](auto) -> FailureOr<Value> { if (k.isFloat) return failure(); return f(arith::XOrIOp::create(b, loc, a[0], a[1])); })
      .Case<BitwiseNotOp>([&](auto) -> FailureOr<Value> {
        if (k.isFloat)
          return failure();
        return f(arith::XOrIOp::create(b, loc, a[0], cst(b, loc, t, -1)));
      })
      .Case<BitShiftOp>([&](BitShiftOp o) -> FailureOr<Value> {
        if (k.isFloat || !k.isUnsigned)
          return failure();
        if (o.getDirection() == "LEFT")
          return f(arith::ShLIOp::create(b, loc, a[0], a[1]));
        return f(arith::ShRUIOp::create(b, loc, a[0], a[1]));
      })
      .Case<WhereOp>([&](WhereOp) -> FailureOr<Value> { return select(b, loc, a[0], a[1], a[2]); })
      .Case<BitCastOp>([&](BitCastOp c) -> FailureOr<Value> {
        Type from = c.getInput().getType().getElementType(), to = c.getType().getElementType();
        auto subByteInt = [](Type t) {
          auto i = dyn_cast<IntegerType>(t);
          return i && i.getWidth() < 8 && i.getWidth() > 1;
        };
        // 2/4-bit integers are held widened: their bits are not the storage's.
        if (subByteInt(from) || subByteInt(to))
          return failure();
        Value v = c.getInput().getType().getElementType().isF16() ||
                          c.getInput().getType().getElementType().isBF16()
                      ? Value(arith::TruncFOp::create(b, loc, from, a[0])) // widened by the caller
                      : a[0];
        Type target = signless(to);
        if (v.getType() == target)
          return v;
        if (v.getType().isInteger(1))
          return f(arith::ExtUIOp::create(b, loc, target, v));
        if (target.isInteger(1))
          return f(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                         arith::ConstantIntOp::create(b, loc, v.getType(), 0)));
        return f(arith::BitcastOp::create(b, loc, target, v));
      })
      .Case<CastOp>([&](CastOp c) -> FailureOr<Value> {
        Type to = c.getType().getElementType();
        Type from = c.getInput().getType().getElementType();
        if (isSubByteType(from) || isSubByteType(to)) {
          Value v = a[0];
          if (from.isF16() || from.isBF16()) // widened by the caller
            from = b.getF32Type();
          return castSubByte(b, loc, v, from, to, c.getSaturate() != 0, c.getRoundMode());
        }
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
          // Half-precision floats compute in f32 and round once at the end,
          // as the reference does.
          SmallVector<Value> wide(args.begin(), args.end());
          Type narrow;
          for (Value &a : wide)
            if (a.getType().isF16() || a.getType().isBF16()) {
              narrow = a.getType();
              a = arith::ExtFOp::create(b, loc, b.getF32Type(), a);
            }
          auto v = scalarOf(o, b, loc, wide, k);
          if (failed(v)) {
            ok = false;
            return args[0];
          }
          Value r = *v;
          if (narrow && r.getType().isF32() && !isa<CastOp, BitCastOp>(o))
            r = arith::TruncFOp::create(b, loc, narrow, r);
          return r;
        });
    if (!ok) {
      r.eraseOp(out.getDefiningOp());
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
        ElementwiseLowering<ClipOp>, ElementwiseLowering<CastOp>, ElementwiseLowering<WhereOp>,
        ElementwiseLowering<AcosOp>, ElementwiseLowering<AsinOp>, ElementwiseLowering<AtanOp>,
        ElementwiseLowering<TanOp>, ElementwiseLowering<SinhOp>, ElementwiseLowering<CoshOp>,
        ElementwiseLowering<AsinhOp>, ElementwiseLowering<AcoshOp>, ElementwiseLowering<AtanhOp>,
        ElementwiseLowering<RoundOp>, ElementwiseLowering<IsNaNOp>, ElementwiseLowering<IsInfOp>,
        ElementwiseLowering<HardSwishOp>, ElementwiseLowering<MishOp>, ElementwiseLowering<CeluOp>,
        ElementwiseLowering<ThresholdedReluOp>, ElementwiseLowering<ShrinkOp>,
        ElementwiseLowering<GeluOp>, ElementwiseLowering<PReluOp>,
        ElementwiseLowering<BitwiseAndOp>, ElementwiseLowering<BitwiseOrOp>,
        ElementwiseLowering<BitwiseXorOp>, ElementwiseLowering<BitwiseNotOp>,
        ElementwiseLowering<BitShiftOp>, ElementwiseLowering<BitCastOp>>(tc, p.getContext());
}

} // namespace kiln
