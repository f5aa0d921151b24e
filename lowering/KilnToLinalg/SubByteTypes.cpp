//===- SubByteTypes.cpp - casts to and from float8, float4, int4, int2 ----===//
//
// Compiled code holds these types as one byte per element (the converted
// type is i8): 4- and 2-bit integers sign- or zero-extended, float8/float4
// as their bit pattern. LLVM has no arithmetic on them, so Cast decodes a
// source to f32 (or i8) and encodes a destination from f32 (or i32) with
// integer arithmetic on the bits, following the ONNX Cast tables:
// round-to-nearest-even, and out-of-range values saturating or becoming
// Inf/NaN per `saturate`.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

/// Which codes of a minifloat are NaN / infinity.
enum class Special {
  Ieee,         // all-ones exponent: Inf (mantissa 0) or NaN (E5M2)
  FiniteNaNMax, // only all-ones exponent and mantissa is NaN (E4M3FN)
  NegZeroNaN,   // 0x80 is the only NaN, no Inf, no -0 (FNUZ)
  None,         // no NaN or Inf (E2M1)
};

struct Minifloat {
  int exp, man, bias;
  Special special;
  double max;
  unsigned maxCode;
};

std::optional<Minifloat> minifloatOf(Type t) {
  if (isa<Float8E4M3FNType>(t)) return Minifloat{4, 3, 7, Special::FiniteNaNMax, 448, 0x7E};
  if (isa<Float8E4M3FNUZType>(t)) return Minifloat{4, 3, 8, Special::NegZeroNaN, 240, 0x7F};
  if (isa<Float8E5M2Type>(t)) return Minifloat{5, 2, 15, Special::Ieee, 57344, 0x7B};
  if (isa<Float8E5M2FNUZType>(t)) return Minifloat{5, 2, 16, Special::NegZeroNaN, 57344, 0x7F};
  if (isa<Float4E2M1FNType>(t)) return Minifloat{2, 1, 1, Special::None, 6, 0x7};
  return std::nullopt;
}

bool isE8M0(Type t) { return isa<Float8E8M0FNUType>(t); }

/// Width of a 2- or 4-bit integer type; 0 for anything else.
unsigned subByteIntWidth(Type t) {
  auto i = dyn_cast<IntegerType>(t);
  return i && (i.getWidth() == 2 || i.getWidth() == 4) ? i.getWidth() : 0;
}

struct Bits {
  OpBuilder &b;
  Location loc;
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Value c(int64_t v) { return arith::ConstantIntOp::create(b, loc, i32, v); }
  Value f(double v) { return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32), APFloat(float(v))); }
  Value shr(Value x, int n) { return arith::ShRUIOp::create(b, loc, x, c(n)); }
  Value shl(Value x, int n) { return arith::ShLIOp::create(b, loc, x, c(n)); }
  Value band(Value x, int64_t m) { return arith::AndIOp::create(b, loc, x, c(m)); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t v) { return arith::AddIOp::create(b, loc, x, c(v)); }
  Value eq(Value x, int64_t v) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, c(v)); }
  Value cmp(arith::CmpIPredicate p, Value x, int64_t v) { return arith::CmpIOp::create(b, loc, p, x, c(v)); }
  Value sel(Value cond, Value x, Value y) { return arith::SelectOp::create(b, loc, cond, x, y); }
  Value sel(Value cond, int64_t x, Value y) { return sel(cond, c(x), y); }
  Value asFloat(Value x) { return arith::BitcastOp::create(b, loc, f32, x); }
  Value asInt(Value x) { return arith::BitcastOp::create(b, loc, i32, x); }
  /// 2^e as an f32 (e within the normal range).
  Value pow2(int e) { return f(std::ldexp(1.0, e)); }
};

/// Bit pattern (as i32) -> f32.
Value decodeMinifloat(Bits &k, Value bits, const Minifloat &fmt) {
  Value sign = k.band(k.shr(bits, fmt.exp + fmt.man), 1);
  Value e = k.band(k.shr(bits, fmt.man), (1 << fmt.exp) - 1);
  Value m = k.band(bits, (1 << fmt.man) - 1);
  Value normal = k.asFloat(k.bor(k.shl(sign, 31), k.bor(k.shl(k.add(e, 127 - fmt.bias), 23),
                                                       k.shl(m, 23 - fmt.man))));
  Value sub = arith::MulFOp::create(k.b, k.loc, arith::UIToFPOp::create(k.b, k.loc, k.f32, m),
                                    k.pow2(1 - fmt.bias - fmt.man));
  sub = k.sel(k.eq(sign, 1), arith::NegFOp::create(k.b, k.loc, sub), sub);
  Value v = k.sel(k.eq(e, 0), sub, normal);
  Value nan = k.f(std::numeric_limits<double>::quiet_NaN());
  int maxE = (1 << fmt.exp) - 1, maxM = (1 << fmt.man) - 1;
  switch (fmt.special) {
  case Special::Ieee: {
    Value inf = k.sel(k.eq(sign, 1), k.f(-INFINITY), k.f(INFINITY));
    Value top = k.sel(k.eq(m, 0), inf, nan);
    return k.sel(k.eq(e, maxE), top, v);
  }
  case Special::FiniteNaNMax:
    return k.sel(k.eq(k.band(bits, (maxE << fmt.man) | maxM), (maxE << fmt.man) | maxM), nan, v);
  case Special::NegZeroNaN:
    return k.sel(k.eq(bits, 1 << (fmt.exp + fmt.man)), nan, v);
  case Special::None:
    return v;
  }
  return v;
}

/// f32 -> bit pattern (as i32), rounding to nearest even.
Value encodeMinifloat(Bits &k, Value x, const Minifloat &fmt, bool saturate) {
  Value u = k.asInt(x);
  Value sign = k.shr(u, 31);
  Value a = k.band(u, 0x7FFFFFFF);
  Value ax = k.asFloat(a);
  Value isNaN = k.cmp(arith::CmpIPredicate::ugt, a, 0x7F800000);
  // Quantum of the target at x's binade (clamped to the subnormal one):
  // dividing and multiplying by a power of two is exact, so the rounding is
  // the only inexact step.
  Value e = arith::MaxSIOp::create(k.b, k.loc, k.add(k.shr(a, 23), -127), k.c(1 - fmt.bias));
  Value quantum = k.asFloat(k.shl(k.add(e, 127 - fmt.man), 23));
  Value r = arith::MulFOp::create(
      k.b, k.loc,
      math::RoundEvenOp::create(k.b, k.loc, arith::DivFOp::create(k.b, k.loc, ax, quantum)),
      quantum);
  Value rb = k.asInt(r);
  Value subCode = arith::FPToUIOp::create(
      k.b, k.loc, k.i32, arith::MulFOp::create(k.b, k.loc, r, k.pow2(fmt.bias - 1 + fmt.man)));
  Value normCode = k.bor(k.shl(k.add(k.shr(rb, 23), fmt.bias - 127), fmt.man),
                         k.band(k.shr(rb, 23 - fmt.man), (1 << fmt.man) - 1));
  Value isSub = arith::CmpFOp::create(k.b, k.loc, arith::CmpFPredicate::OLT, r, k.pow2(1 - fmt.bias));
  Value code = k.sel(isSub, subCode, normCode);
  Value overflow = arith::CmpFOp::create(k.b, k.loc, arith::CmpFPredicate::OGT, r, k.f(fmt.max));
  int signShift = fmt.exp + fmt.man;
  int64_t nanCode = 0, overflowCode = fmt.maxCode;
  switch (fmt.special) {
  case Special::Ieee:
    nanCode = 0x7F;
    overflowCode = saturate ? fmt.maxCode : ((1 << fmt.exp) - 1) << fmt.man; // Inf
    break;
  case Special::FiniteNaNMax:
    nanCode = 0x7F;
    overflowCode = saturate ? fmt.maxCode : 0x7F;
    break;
  case Special::NegZeroNaN:
    nanCode = 0x80;
    overflowCode = saturate ? fmt.maxCode : 0x80;
    break;
  case Special::None:
    // E2M1 has no NaN; the ONNX reference maps it to -0.
    nanCode = 1 << (fmt.exp + fmt.man);
    break;
  }
  code = k.sel(overflow, overflowCode, code);
  Value signed_ = k.bor(code, k.shl(sign, signShift));
  if (fmt.special == Special::NegZeroNaN) {
    // No negative zero; the NaN code carries no sign.
    Value plain = k.bor(k.eq(code, 0), k.eq(code, 0x80));
    code = k.sel(plain, code, signed_);
  } else {
    code = signed_;
  }
  bool signedNaN = fmt.special == Special::Ieee || fmt.special == Special::FiniteNaNMax;
  Value nan = signedNaN ? k.bor(k.c(nanCode), k.shl(sign, signShift)) : k.c(nanCode);
  return k.sel(isNaN, nan, code);
}

/// E8M0 is 2^(code - 127), 255 is NaN; casts to it round per `mode`.
Value decodeE8M0(Bits &k, Value bits) {
  Value v = k.asFloat(k.shl(bits, 23));
  v = k.sel(k.eq(bits, 0), k.pow2(-127) /* f32 subnormal */, v);
  return k.sel(k.eq(bits, 255), k.f(std::numeric_limits<double>::quiet_NaN()), v);
}

Value encodeE8M0(Bits &k, Value x, bool saturate, StringRef mode) {
  Value a = k.band(k.asInt(x), 0x7FFFFFFF);
  Value expBits = k.shr(a, 23), mant = k.band(a, 0x7FFFFF);
  Value up;
  if (mode == "down")
    up = k.cmp(arith::CmpIPredicate::ugt, mant, 0x7FFFFF); // never: mant < 2^23
  else if (mode == "nearest")
    up = k.cmp(arith::CmpIPredicate::uge, mant, 0x400000);
  else
    up = k.cmp(arith::CmpIPredicate::ne, mant, 0);
  Value code = k.sel(up, k.add(expBits, 1), expBits);
  // f32 subnormals lie below 2^-126: the smallest code or, rounding up
  // past 2^-127, the next.
  Value tiny = k.eq(expBits, 0);
  Value tinyUp = mode == "down" ? k.cmp(arith::CmpIPredicate::ugt, mant, 0x7FFFFF)
                 : mode == "nearest" ? k.cmp(arith::CmpIPredicate::ugt, mant, 0x600000)
                                     : k.cmp(arith::CmpIPredicate::ugt, mant, 0x400000);
  code = k.sel(tiny, k.sel(tinyUp, k.c(1), k.c(0)), code);
  Value overflow = k.cmp(arith::CmpIPredicate::ugt, code, 254);
  code = k.sel(overflow, saturate ? 254 : 255, code);
  if (!saturate) // below the smallest power, including zero
    code = k.sel(k.cmp(arith::CmpIPredicate::ult, a, 0x400000), k.c(255), code);
  return k.sel(k.cmp(arith::CmpIPredicate::ugt, a, 0x7F800000), k.c(255), code);
}

} // namespace

bool isSubByteType(Type t) {
  return subByteIntWidth(t) || minifloatOf(t) || isE8M0(t);
}

Value castSubByte(OpBuilder &b, Location loc, Value v, Type from, Type to, bool saturate,
                  StringRef roundMode) {
  Bits k{b, loc};
  Type f32 = b.getF32Type();
  ElemKind floatKind = ElemKind::of(f32);
  // Decode the source to an ordinary scalar.
  Type srcType = from;
  if (unsigned w = subByteIntWidth(from)) {
    Value x = k.shl(arith::ExtUIOp::create(b, loc, k.i32, v), 32 - w);
    bool isSigned = !from.isUnsignedInteger();
    x = isSigned ? Value(arith::ShRSIOp::create(b, loc, x, k.c(32 - w))) : k.shr(x, 32 - w);
    v = x;
    srcType = isSigned ? Type(b.getIntegerType(32)) : Type(b.getIntegerType(32, false));
  } else if (auto fmt = minifloatOf(from)) {
    v = decodeMinifloat(k, arith::ExtUIOp::create(b, loc, k.i32, v), *fmt);
    srcType = f32;
  } else if (isE8M0(from)) {
    v = decodeE8M0(k, arith::ExtUIOp::create(b, loc, k.i32, v));
    srcType = f32;
  }
  ElemKind srcKind = ElemKind::of(srcType);
  // Encode the destination from f32 or i32.
  if (unsigned w = subByteIntWidth(to)) {
    // Out-of-range values wrap (two's complement), as for wider integers.
    Value x = castScalar(b, loc, v, srcKind, k.i32, ElemKind::of(b.getIntegerType(32)));
    x = k.shl(x, 32 - w);
    x = to.isUnsignedInteger() ? k.shr(x, 32 - w)
                               : Value(arith::ShRSIOp::create(b, loc, x, k.c(32 - w)));
    return arith::TruncIOp::create(b, loc, b.getI8Type(), x);
  }
  if (auto fmt = minifloatOf(to)) {
    Value x = castScalar(b, loc, v, srcKind, f32, floatKind);
    return arith::TruncIOp::create(b, loc, b.getI8Type(), encodeMinifloat(k, x, *fmt, saturate));
  }
  if (isE8M0(to)) {
    Value x = castScalar(b, loc, v, srcKind, f32, floatKind);
    return arith::TruncIOp::create(b, loc, b.getI8Type(), encodeE8M0(k, x, saturate, roundMode));
  }
  return castScalar(b, loc, v, srcKind, signless(to), ElemKind::of(to));
}

} // namespace kiln
