//===- Common.cpp - helpers shared by the Kiln -> linalg patterns --------===//
#include "lowering/KilnToLinalg/Common.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include <limits>

using namespace mlir;

namespace kiln {

Type signless(Type t) {
  if (isSubByteType(t))
    return IntegerType::get(t.getContext(), 8);
  if (auto i = llvm::dyn_cast<IntegerType>(t))
    return i.isSignless() ? t : IntegerType::get(t.getContext(), i.getWidth());
  return t;
}

KilnTypeConverter::KilnTypeConverter() {
  addConversion([](Type t) { return t; });
  addConversion([](IntegerType t) { return signless(t); });
  addConversion([](FloatType t) { return signless(t); });
  addConversion([](RankedTensorType t) {
    return RankedTensorType::get(t.getShape(), signless(t.getElementType()));
  });
  auto cast = [](OpBuilder &b, Type type, ValueRange inputs, Location loc) -> Value {
    return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
  };
  addSourceMaterialization(cast);
  addTargetMaterialization(cast);
}

ElemKind ElemKind::of(Type t) {
  if (auto tt = llvm::dyn_cast<ShapedType>(t))
    t = tt.getElementType();
  ElemKind k;
  k.isFloat = llvm::isa<FloatType>(t);
  if (auto i = llvm::dyn_cast<IntegerType>(t)) {
    k.isUnsigned = i.isUnsigned();
    k.isBool = i.getWidth() == 1;
  }
  return k;
}

RankedTensorType staticType(Value v) { return llvm::dyn_cast<RankedTensorType>(v.getType()); }

LogicalResult requireStatic(Operation *op, ConversionPatternRewriter &r) {
  auto isStatic = [](Type t) {
    if (llvm::isa<NoneType>(t))
      return true;
    auto rt = llvm::dyn_cast<RankedTensorType>(t);
    return rt && rt.hasStaticShape();
  };
  for (Type t : op->getOperandTypes())
    if (!isStatic(t))
      return r.notifyMatchFailure(op, "needs static shapes");
  for (Type t : op->getResultTypes())
    if (!isStatic(t))
      return r.notifyMatchFailure(op, "needs static shapes");
  return success();
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem) {
  return tensor::EmptyOp::create(b, loc, shape, elem);
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value scalar) {
  Value e = emptyTensor(b, loc, shape, scalar.getType());
  return linalg::FillOp::create(b, loc, scalar, e).getResult(0);
}

Value scalarConstant(OpBuilder &b, Location loc, Type elem, double v) {
  if (auto f = llvm::dyn_cast<FloatType>(elem))
    return arith::ConstantOp::create(b, loc, elem, b.getFloatAttr(elem, v));
  return arith::ConstantOp::create(b, loc, elem, b.getIntegerAttr(elem, (int64_t)v));
}

static Value extremeValue(OpBuilder &b, Location loc, Type elem, bool isUnsigned, bool high) {
  if (auto f = llvm::dyn_cast<FloatType>(elem))
    return arith::ConstantOp::create(
        b, loc, elem, b.getFloatAttr(elem, APFloat::getInf(f.getFloatSemantics(), !high)));
  unsigned w = elem.getIntOrFloatBitWidth();
  APInt v = isUnsigned ? (high ? APInt::getMaxValue(w) : APInt::getMinValue(w))
                       : (high ? APInt::getSignedMaxValue(w) : APInt::getSignedMinValue(w));
  return arith::ConstantOp::create(b, loc, elem, b.getIntegerAttr(elem, v));
}
Value lowestValue(OpBuilder &b, Location loc, Type elem, bool isUnsigned) {
  return extremeValue(b, loc, elem, isUnsigned, false);
}
Value highestValue(OpBuilder &b, Location loc, Type elem, bool isUnsigned) {
  return extremeValue(b, loc, elem, isUnsigned, true);
}

Value broadcastGeneric(OpBuilder &b, Location loc, ArrayRef<int64_t> outShape, Type outElem,
                       ValueRange inputs, const ScalarBody &body) {
  int64_t rank = outShape.size();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs) {
    auto t = llvm::cast<RankedTensorType>(in.getType());
    int64_t off = rank - t.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      bool broadcast = t.getDimSize(i) == 1 && outShape[off + i] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(off + i, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  Value init = emptyTensor(b, loc, outShape, outElem);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return g.getResult(0);
}

Value reshapeTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  auto collapse = [&](Value x) -> Value {
    auto xt = llvm::cast<RankedTensorType>(x.getType());
    if (xt.getRank() == 1)
      return x;
    SmallVector<ReassociationIndices> re;
    if (xt.getRank() > 0) {
      re.emplace_back();
      for (int64_t i = 0; i < xt.getRank(); ++i)
        re.back().push_back(i);
      return tensor::CollapseShapeOp::create(b, loc, x, re);
    }
    // 0-D -> 1-D of one element.
    auto one = RankedTensorType::get({1}, xt.getElementType());
    return tensor::ExpandShapeOp::create(b, loc, one, x, re);
  };
  Value flat = collapse(v);
  auto target = RankedTensorType::get(shape, t.getElementType());
  if (shape.size() == 1)
    return flat;
  SmallVector<ReassociationIndices> re;
  if (!shape.empty()) {
    re.emplace_back();
    for (size_t i = 0; i < shape.size(); ++i)
      re.back().push_back(i);
    return tensor::ExpandShapeOp::create(b, loc, target, flat, re);
  }
  return tensor::CollapseShapeOp::create(b, loc, target, flat, re);
}

Value padSpatial(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> padBegin,
                 ArrayRef<int64_t> padEnd, Value value) {
  if (llvm::all_of(padBegin, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(padEnd, [](int64_t p) { return p == 0; }))
    return v;
  auto t = llvm::cast<RankedTensorType>(v.getType());
  int64_t lead = t.getRank() - padBegin.size();
  SmallVector<int64_t> lo(lead, 0), hi(lead, 0), shape(t.getShape());
  lo.append(padBegin.begin(), padBegin.end());
  hi.append(padEnd.begin(), padEnd.end());
  for (int64_t i = 0; i < t.getRank(); ++i)
    shape[i] += lo[i] + hi[i];
  auto outType = RankedTensorType::get(shape, t.getElementType());
  SmallVector<OpFoldResult> l, h;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    l.push_back(b.getIndexAttr(lo[i]));
    h.push_back(b.getIndexAttr(hi[i]));
  }
  return tensor::PadOp::create(b, loc, outType, v, l, h, value);
}

Value castScalar(OpBuilder &b, Location loc, Value v, ElemKind from, Type to, ElemKind toKind) {
  Type src = v.getType();
  if (src == to && from.isUnsigned == toKind.isUnsigned)
    return v;
  if (toKind.isBool) {
    if (from.isFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                   scalarConstant(b, loc, src, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                 scalarConstant(b, loc, src, 0));
  }
  if (from.isFloat && toKind.isFloat) {
    unsigned a = src.getIntOrFloatBitWidth(), c = to.getIntOrFloatBitWidth();
    if (a < c || (a == c && src != to)) {
      if (a == c) // f16 <-> bf16 goes through f32
        v = arith::ExtFOp::create(b, loc, b.getF32Type(), v), src = b.getF32Type();
      else
        return arith::ExtFOp::create(b, loc, to, v);
    }
    return src == to ? v : arith::TruncFOp::create(b, loc, to, v).getResult();
  }
  if (from.isFloat) {
    if (toKind.isUnsigned)
      return arith::FPToUIOp::create(b, loc, to, v);
    return arith::FPToSIOp::create(b, loc, to, v);
  }
  bool srcUnsigned = from.isUnsigned || from.isBool;
  if (toKind.isFloat) {
    if (srcUnsigned)
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::SIToFPOp::create(b, loc, to, v);
  }
  unsigned a = src.getIntOrFloatBitWidth(), c = to.getIntOrFloatBitWidth();
  if (a == c)
    return v;
  if (a > c)
    return arith::TruncIOp::create(b, loc, to, v);
  if (srcUnsigned)
    return arith::ExtUIOp::create(b, loc, to, v);
  return arith::ExtSIOp::create(b, loc, to, v);
}

Value clampedIndex(OpBuilder &b, Location l, Value raw, int64_t dim, bool fromEnd) {
  Value k = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value n = arith::ConstantIndexOp::create(b, l, dim);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  if (fromEnd) {
    Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, k, zero);
    k = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, k, n), k);
  }
  Value last = arith::ConstantIndexOp::create(b, l, std::max<int64_t>(dim - 1, 0));
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, k, zero), last);
}


Value addOf(OpBuilder &b, Location loc, ElemKind k, Value x, Value y) {
  if (k.isFloat)
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

Value mulOf(OpBuilder &b, Location loc, ElemKind k, Value x, Value y) {
  if (k.isFloat)
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
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

} // namespace kiln
