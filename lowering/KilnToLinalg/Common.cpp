//===- Common.cpp - helpers shared by the Kiln -> linalg patterns --------===//
#include "lowering/KilnToLinalg/Common.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include <limits>
#include <map>

using namespace mlir;

namespace kiln {

Type signless(Type t) {
  // A string element is a pointer to a record of the runtime's
  // (runtime/Strings.h); memrefs cannot hold pointers, so an i64 it is.
  if (llvm::isa<StringType>(t))
    return IntegerType::get(t.getContext(), 64);
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
  addConversion([](StringType t) { return signless(t); });
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

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem,
                  ValueRange dynamicSizes) {
  return tensor::EmptyOp::create(b, loc, shape, elem, dynamicSizes);
}

Value dimValue(OpBuilder &b, Location loc, Value v, int64_t i) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.isDynamicDim(i))
    return tensor::DimOp::create(b, loc, v, i);
  return arith::ConstantIndexOp::create(b, loc, t.getDimSize(i));
}

SmallVector<Value> allDims(OpBuilder &b, Location loc, Value v) {
  SmallVector<Value> dims;
  for (int64_t i = 0, e = llvm::cast<RankedTensorType>(v.getType()).getRank(); i < e; ++i)
    dims.push_back(dimValue(b, loc, v, i));
  return dims;
}

Value broadcastIndex(OpBuilder &b, Location loc, Value operandDim, Value resultDim, Value at) {
  Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, operandDim, resultDim);
  return arith::SelectOp::create(b, loc, same, at, arith::ConstantIndexOp::create(b, loc, 0));
}

SmallVector<Value> dynamicDims(OpBuilder &b, Location loc, Value v) {
  SmallVector<Value> sizes;
  auto t = llvm::cast<RankedTensorType>(v.getType());
  for (int64_t i = 0; i < t.getRank(); ++i)
    if (t.isDynamicDim(i))
      sizes.push_back(tensor::DimOp::create(b, loc, v, i));
  return sizes;
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value scalar,
                   ValueRange dynamicSizes) {
  Value e = emptyTensor(b, loc, shape, scalar.getType(), dynamicSizes);
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

void failRunUnless(OpBuilder &b, Location loc, Value condition, StringRef kernel) {
  Operation *anchor = b.getInsertionBlock()->getParentOp();
  func::FuncOp fn = hostKernel(anchor, b, kernel, b.getFunctionType({}, {}));
  Value failed = arith::XOrIOp::create(b, loc, condition,
                                       arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
  scf::IfOp::create(b, loc, failed, [&](OpBuilder &nb, Location nl) {
    func::CallOp::create(nb, nl, fn, ValueRange{});
    scf::YieldOp::create(nb, nl);
  });
}

Value broadcastGeneric(OpBuilder &b, Location loc, ArrayRef<int64_t> outShape, Type outElem,
                       ValueRange inputs, const ScalarBody &body, ValueRange givenSizes) {
  int64_t rank = outShape.size();
  MLIRContext *ctx = b.getContext();
  auto typeOf = [](Value v) { return llvm::cast<RankedTensorType>(v.getType()); };
  // Operand `j`'s dim for result dim `k`, or -1 where it has none.
  auto dimOf = [&](size_t j, int64_t k) { return k - (rank - typeOf(inputs[j]).getRank()); };

  // Sizes of the dims known only at run time. Where several operands may
  // decide one, ONNX broadcasting picks the one that is not 1.
  SmallVector<Value> dynamicSizes;
  // sole[k]: the only operand whose dim k may differ from 1, if only one.
  SmallVector<int64_t> sole(rank, -1);
  for (int64_t k = 0; k < rank; ++k) {
    SmallVector<size_t> deciding;
    for (size_t j = 0; j < inputs.size(); ++j) {
      int64_t d = dimOf(j, k);
      if (d >= 0 && typeOf(inputs[j]).getDimSize(d) != 1)
        deciding.push_back(j);
    }
    if (deciding.size() == 1 && givenSizes.empty())
      sole[k] = deciding[0];
    if (!ShapedType::isDynamic(outShape[k]))
      continue;
    if (!givenSizes.empty()) {
      dynamicSizes.push_back(givenSizes[dynamicSizes.size()]);
      continue;
    }
    Value size = arith::ConstantIndexOp::create(b, loc, 1);
    for (size_t j : deciding) {
      Value d = tensor::DimOp::create(b, loc, inputs[j], dimOf(j, k));
      Value isOne = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size,
                                          arith::ConstantIndexOp::create(b, loc, 1));
      size = arith::SelectOp::create(b, loc, isOne, d, size);
    }
    dynamicSizes.push_back(size);
  }
  auto resultSize = [&](int64_t k) -> Value {
    if (!ShapedType::isDynamic(outShape[k]))
      return arith::ConstantIndexOp::create(b, loc, outShape[k]);
    int64_t n = 0;
    for (int64_t i = 0; i < k; ++i)
      n += ShapedType::isDynamic(outShape[i]);
    return dynamicSizes[n];
  };

  // An operand dim known only at run time must then be 1 or the result's:
  // the run fails otherwise, rather than reading past the operand's end.
  Value compatible;
  for (size_t j = 0; j < inputs.size(); ++j) {
    auto t = typeOf(inputs[j]);
    int64_t off = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t in = t.getDimSize(i), out = outShape[off + i];
      if (in == 1 || (!ShapedType::isDynamic(in) && !ShapedType::isDynamic(out)) ||
          sole[off + i] == (int64_t)j)
        continue;
      Value d = dimValue(b, loc, inputs[j], i), full = resultSize(off + i);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      Value ok = arith::OrIOp::create(
          b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, d, one),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, d, full));
      compatible = compatible ? arith::AndIOp::create(b, loc, compatible, ok).getResult() : ok;
    }
  }
  if (compatible)
    failRunUnless(b, loc, compatible, "kiln_broadcast_mismatch");

  // An operand dim is read at the result index, at 0 (a static 1), or,
  // when it is only known at run time whether it broadcasts, at an index
  // chosen by the generated code; such operands are read with tensor.extract.
  SmallVector<Value> mapped;
  SmallVector<AffineMap> maps;
  SmallVector<int64_t> gathered; // operand positions read with tensor.extract
  for (size_t j = 0; j < inputs.size(); ++j) {
    auto t = typeOf(inputs[j]);
    int64_t off = rank - t.getRank();
    SmallVector<AffineExpr> exprs;
    bool uncertain = false;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t in = t.getDimSize(i), out = outShape[off + i];
      if (in == 1 && out != 1)
        exprs.push_back(getAffineConstantExpr(0, ctx));
      else
        exprs.push_back(getAffineDimExpr(off + i, ctx));
      if (ShapedType::isDynamic(in) && out != 1 && sole[off + i] != (int64_t)j)
        uncertain = true;
    }
    if (uncertain) {
      gathered.push_back(j);
      continue;
    }
    mapped.push_back(inputs[j]);
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  // Sizes the gathered operands are read with, computed once.
  std::map<int64_t, SmallVector<std::pair<Value, Value>>> gatherDims;
  for (int64_t j : gathered) {
    auto t = typeOf(inputs[j]);
    int64_t off = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      Value d = tensor::DimOp::create(b, loc, inputs[j], i);
      gatherDims[j].push_back({d, resultSize(off + i)});
    }
  }
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  Value init = emptyTensor(b, loc, outShape, outElem, dynamicSizes);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, mapped, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        SmallVector<Value> scalars;
        size_t next = 0;
        for (size_t j = 0; j < inputs.size(); ++j) {
          if (!llvm::is_contained(gathered, (int64_t)j)) {
            scalars.push_back(args[next++]);
            continue;
          }
          auto t = typeOf(inputs[j]);
          int64_t off = rank - t.getRank();
          SmallVector<Value> idx;
          for (int64_t i = 0; i < t.getRank(); ++i) {
            auto [size, full] = gatherDims[j][i];
            idx.push_back(broadcastIndex(nb, nl, size, full, linalg::IndexOp::create(nb, nl, off + i)));
          }
          scalars.push_back(tensor::ExtractOp::create(nb, nl, inputs[j], idx));
        }
        Value r = body(nb, nl, scalars);
        linalg::YieldOp::create(nb, nl, r);
      });
  return g.getResult(0);
}

/// Reshape where dims are dynamic: only static 1s may come or go; the
/// other dims pair up in order, and each dynamic target dim takes its
/// partner's size. Null when the shapes do not pair up so.
static Value reshapeDynamic(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> from, to;
  for (int64_t i = 0; i < t.getRank(); ++i)
    if (t.getDimSize(i) != 1)
      from.push_back(i);
  for (int64_t i = 0; i < (int64_t)shape.size(); ++i)
    if (shape[i] != 1)
      to.push_back(i);
  if (from.size() != to.size())
    return {};
  SmallVector<Value> dims;
  size_t next = 0;
  for (int64_t i = 0; i < (int64_t)shape.size(); ++i) {
    if (shape[i] == 1) {
      dims.push_back(arith::ConstantIndexOp::create(b, loc, 1));
      continue;
    }
    int64_t src = from[next++];
    if (!ShapedType::isDynamic(shape[i]))
      dims.push_back(arith::ConstantIndexOp::create(b, loc, shape[i]));
    else if (t.isDynamicDim(src))
      dims.push_back(tensor::DimOp::create(b, loc, v, src));
    else
      dims.push_back(arith::ConstantIndexOp::create(b, loc, t.getDimSize(src)));
  }
  auto shapeType = RankedTensorType::get({(int64_t)shape.size()}, b.getIndexType());
  Value target = tensor::FromElementsOp::create(b, loc, shapeType, dims);
  return tensor::ReshapeOp::create(b, loc, RankedTensorType::get(shape, t.getElementType()), v,
                                   target);
}

Value reshapeTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  if (!t.hasStaticShape() || ShapedType::isDynamicShape(shape)) {
    Value r = reshapeDynamic(b, loc, v, shape);
    if (!r)
      llvm::report_fatal_error("kiln: reshapeTo between dynamic shapes that differ by more than unit dims");
    return r;
  }
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
    if (!t.isDynamicDim(i))
      shape[i] += lo[i] + hi[i];
  auto outType = RankedTensorType::get(shape, t.getElementType());
  SmallVector<OpFoldResult> l, h;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    l.push_back(b.getIndexAttr(lo[i]));
    h.push_back(b.getIndexAttr(hi[i]));
  }
  return tensor::PadOp::create(b, loc, outType, v, l, h, value);
}

/// The rules of resolveSpatial (dialect/ShapeHelpers.cpp) on index values.
Padding runtimePadding(OpBuilder &b, Location loc, Value x, const SpatialParams &sp,
                       StringRef autoPad, bool ceilMode) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
  auto add = [&](Value a, Value v) { return arith::AddIOp::create(b, loc, a, v).getResult(); };
  auto sub = [&](Value a, Value v) { return arith::SubIOp::create(b, loc, a, v).getResult(); };
  auto mul = [&](Value a, Value v) { return arith::MulIOp::create(b, loc, a, v).getResult(); };
  auto div = [&](Value a, Value v) { return arith::DivSIOp::create(b, loc, a, v).getResult(); };
  auto max = [&](Value a, Value v) { return arith::MaxSIOp::create(b, loc, a, v).getResult(); };
  Padding p;
  for (size_t i = 0; i < sp.kernel.size(); ++i) {
    Value in = dimValue(b, loc, x, 2 + i), s = c(sp.strides[i]);
    Value k = c((sp.kernel[i] - 1) * sp.dilations[i] + 1);
    Value lo, hi, explicitHi, out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = div(add(in, sub(s, c(1))), s);
      Value total = max(c(0), sub(add(mul(sub(out, c(1)), s), k), in));
      Value half = div(total, c(2));
      lo = autoPad == "SAME_UPPER" ? half : sub(total, half);
      hi = explicitHi = sub(total, lo);
    } else {
      lo = c(sp.padBegin[i]);
      explicitHi = c(sp.padEnd[i]);
      Value span = max(c(0), sub(add(add(in, lo), explicitHi), k));
      out = add(div(ceilMode ? add(span, sub(s, c(1))) : span, s), c(1));
      if (ceilMode) {
        // A ceil-mode window must start inside the input or its begin padding.
        Value late = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                           mul(sub(out, c(1)), s), add(in, lo));
        out = arith::SelectOp::create(b, loc, late, sub(out, c(1)), out);
      }
      Value need = sub(sub(add(mul(sub(out, c(1)), s), k), in), lo);
      hi = max(explicitHi, need);
    }
    p.lo.push_back(lo);
    p.hi.push_back(hi);
    p.explicitHi.push_back(explicitHi);
    p.out.push_back(out);
  }
  return p;
}

Value padSpatialBy(OpBuilder &b, Location loc, Value v, ArrayRef<OpFoldResult> lo,
                   ArrayRef<OpFoldResult> hi, Value value) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> l(2, b.getIndexAttr(0)), h(2, b.getIndexAttr(0));
  l.append(lo.begin(), lo.end());
  h.append(hi.begin(), hi.end());
  SmallVector<int64_t> shape(t.getShape().take_front(2));
  shape.append(t.getRank() - 2, ShapedType::kDynamic);
  return tensor::PadOp::create(b, loc, RankedTensorType::get(shape, t.getElementType()), v, l, h,
                               value);
}

SmallVector<Value> outputSizes(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> outShape,
                               const Padding &p) {
  SmallVector<Value> sizes;
  for (size_t d = 0; d < outShape.size(); ++d)
    if (ShapedType::isDynamic(outShape[d]))
      sizes.push_back(d < 2 ? tensor::DimOp::create(b, loc, x, d).getResult() : p.out[d - 2]);
  return sizes;
}

SmallVector<Value> windowedSizes(OpBuilder &b, Location loc, Value padded, Value firstDim,
                                 ArrayRef<int64_t> outShape, ArrayRef<int64_t> kernel,
                                 ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  SmallVector<Value> sizes;
  if (ShapedType::isDynamic(outShape[0]))
    sizes.push_back(firstDim);
  auto pt = llvm::cast<RankedTensorType>(padded.getType());
  if (ShapedType::isDynamic(outShape[1]))
    sizes.push_back(tensor::DimOp::create(b, loc, padded, 1));
  for (size_t i = 0; i < kernel.size(); ++i) {
    if (!ShapedType::isDynamic(outShape[2 + i]))
      continue;
    Value in = dimValue(b, loc, padded, 2 + i);
    int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
    Value span = arith::SubIOp::create(b, loc, in, arith::ConstantIndexOp::create(b, loc, extent));
    Value o = arith::DivSIOp::create(b, loc, span, arith::ConstantIndexOp::create(b, loc, strides[i]));
    o = arith::AddIOp::create(b, loc, o, arith::ConstantIndexOp::create(b, loc, 1));
    sizes.push_back(arith::MaxSIOp::create(b, loc, o, arith::ConstantIndexOp::create(b, loc, 0)));
  }
  return sizes;
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
  return clampedIndex(b, l, raw, arith::ConstantIndexOp::create(b, l, dim), fromEnd);
}

Value clampedIndex(OpBuilder &b, Location l, Value raw, Value n, bool fromEnd) {
  Value k = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  if (fromEnd) {
    Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, k, zero);
    k = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, k, n), k);
  }
  Value last = arith::MaxSIOp::create(
      b, l, arith::SubIOp::create(b, l, n, arith::ConstantIndexOp::create(b, l, 1)), zero);
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, k, zero), last);
}

std::string nodeLabel(Operation *op) {
  std::string kind = op->getName().stripDialect().str();
  Location loc = op->getLoc();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  auto name = llvm::dyn_cast<NameLoc>(loc);
  if (!name)
    return kind;
  // The importer puts the node's ONNX op type below its name.
  if (auto below = llvm::dyn_cast<FusedLoc>(name.getChildLoc()))
    if (auto type = llvm::dyn_cast_or_null<StringAttr>(below.getMetadata()))
      kind = type.str();
  return "node '" + name.getName().str() + "' (" + kind + ")";
}

Value constantCString(OpBuilder &b, Location l, Operation *anchor, StringRef text) {
  auto module = anchor->getParentOfType<ModuleOp>();
  std::string name = "kiln_text_" + llvm::utohexstr(llvm::xxh3_64bits(text));
  auto global = module.lookupSymbol<LLVM::GlobalOp>(name);
  if (!global) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    std::string value = text.str() + '\0';
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), value.size());
    global = LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                                    LLVM::Linkage::Private, name, b.getStringAttr(value));
  }
  return LLVM::AddressOfOp::create(b, l, global);
}

namespace {
/// Calls kiln_index_out_of_range with `op`'s message when `outside`.
void failIfOutside(OpBuilder &b, Location l, Value outside, Operation *op) {
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  func::FuncOp fail =
      hostKernel(op, b, "kiln_index_out_of_range", b.getFunctionType({ptr}, {}));
  std::string message = nodeLabel(op) + ": an index is out of range (the spec makes it an error)";
  scf::IfOp::create(b, l, outside, [&](OpBuilder &nb, Location nl) {
    func::CallOp::create(nb, nl, fail, ValueRange{constantCString(nb, nl, op, message)});
    scf::YieldOp::create(nb, nl);
  });
}
} // namespace

Value reduceAll(OpBuilder &b, Location loc, Value input, Value init, const ScalarBody &combine) {
  int64_t rank = llvm::cast<RankedTensorType>(input.getType()).getRank();
  MLIRContext *ctx = b.getContext();
  Value acc = filledTensor(b, loc, {}, init);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              AffineMap::get(rank, 0, {}, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::reduction);
  auto reduced = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, ValueRange{input}, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, a));
      });
  return tensor::ExtractOp::create(b, loc, reduced.getResult(0), ValueRange{});
}

void checkIndices(OpBuilder &b, Location l, Value indices, Value n, Operation *op) {
  Value none = arith::ConstantIntOp::create(b, l, b.getI1Type(), 0);
  Value outside = reduceAll(b, l, indices, none, [&](OpBuilder &nb, Location nl, ValueRange a) {
    Value k = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
    Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
    Value negative = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, k, zero);
    k = arith::SelectOp::create(nb, nl, negative, arith::AddIOp::create(nb, nl, k, n), k);
    Value beyond = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::uge, k, n);
    return Value(arith::OrIOp::create(nb, nl, a[1], beyond));
  });
  failIfOutside(b, l, outside, op);
}

Value checkedIndex(OpBuilder &b, Location l, Value raw, Value n, Operation *op) {
  Value k = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, k, zero);
  k = arith::SelectOp::create(b, l, negative, arith::AddIOp::create(b, l, k, n), k);
  // One unsigned compare tests both ends.
  Value inRange = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, k, n);
  Value outside = arith::XOrIOp::create(b, l, inRange,
                                        arith::ConstantIntOp::create(b, l, b.getI1Type(), 1));
  failIfOutside(b, l, outside, op);
  // The run has failed when `outside`; the select keeps even the code that
  // the compiler may schedule before the failure within bounds.
  return arith::SelectOp::create(b, l, inRange, k, zero);
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

/// A memref type any buffer of `shape` casts to (strides and offset dynamic).
MemRefType anyLayout(ArrayRef<int64_t> shape, Type elem) {
  SmallVector<int64_t> strides(shape.size(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(elem.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elem, layout);
}

/// `v` (a tensor, which the kernel only reads, or a memref) as a host kernel
/// argument: every dim dynamic too, so one declaration serves every call.
Value hostArg(OpBuilder &b, Location loc, Value v) {
  auto shaped = llvm::cast<ShapedType>(v.getType());
  if (llvm::isa<RankedTensorType>(shaped))
    v = bufferization::ToBufferOp::create(
        b, loc, anyLayout(shaped.getShape(), shaped.getElementType()), v, /*readOnly=*/true);
  SmallVector<int64_t> dynamic(shaped.getRank(), ShapedType::kDynamic);
  return memref::CastOp::create(b, loc, anyLayout(dynamic, shaped.getElementType()), v);
}

Value anyRankArg(OpBuilder &b, Location loc, Value v) {
  Value ranked = hostArg(b, loc, v);
  Type elem = llvm::cast<ShapedType>(ranked.getType()).getElementType();
  return memref::CastOp::create(b, loc, UnrankedMemRefType::get(elem, Attribute()), ranked);
}

/// The declaration of host kernel `name` (see runtime/HostKernels.h).
func::FuncOp hostKernel(Operation *op, OpBuilder &b, StringRef name, FunctionType type) {
  auto module = op->getParentOfType<ModuleOp>();
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto f = func::FuncOp::create(b, op->getLoc(), name, type);
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

Value HostOutput::tensor(OpBuilder &b, Location loc) const {
  return bufferization::ToTensorOp::create(b, loc, type, buffer, /*restrict=*/true,
                                           /*writable=*/true);
}

HostOutput allocateForHost(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem,
                           ValueRange sizes) {
  auto buffer = memref::AllocOp::create(b, loc, MemRefType::get(shape, elem), sizes);
  return {buffer, RankedTensorType::get(shape, elem)};
}

Value callHost(OpBuilder &b, Operation *op, StringRef name, ValueRange args, TypeRange results) {
  auto fn = hostKernel(op, b, name, b.getFunctionType(args.getTypes(), results));
  auto c = func::CallOp::create(b, op->getLoc(), fn, args);
  return results.empty() ? Value() : c.getResult(0);
}

Value firstElement(OpBuilder &b, Location loc, Value t) {
  auto type = llvm::cast<RankedTensorType>(t.getType());
  SmallVector<Value> zeros(type.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
  return tensor::ExtractOp::create(b, loc, t, zeros);
}

} // namespace kiln
