//===- Strings.cpp - string ops -> host kernel calls ----------------------===//
//
// Compiled code holds a string element as an i64: the address of a record
// of the runtime's (runtime/Strings.h). Ops that only move elements lower
// as for any i64; these patterns call the kernels of
// runtime/StringKernels.cpp for ops that read or make strings. Kernels take
// memrefs of any rank (memref<*xT>) of one element count; lists of strings
// known at compile time (stop words, keys, constants) are passed as one i8
// constant of packed records.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace kiln {
namespace {

bool isStringTensor(Type t) {
  auto s = llvm::dyn_cast<ShapedType>(t);
  return s && llvm::isa<StringType>(s.getElementType());
}

/// `bytes` as a 1-D i8 constant argument.
Value bytesArg(OpBuilder &b, Location loc, StringRef bytes) {
  auto type = RankedTensorType::get({(int64_t)bytes.size()}, b.getI8Type());
  auto attr = DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size()));
  return hostArg(b, loc, arith::ConstantOp::create(b, loc, type, attr));
}

/// Records as runtime/Strings.h lays them out: an int64 byte count, then
/// the bytes, padded to 8.
std::string packRecords(ArrayRef<StringRef> values) {
  std::string out;
  for (StringRef v : values) {
    int64_t n = v.size();
    out.append(reinterpret_cast<const char *>(&n), sizeof n);
    out.append(v.data(), v.size());
    out.append((8 - v.size() % 8) % 8, '\0');
  }
  return out;
}

SmallVector<StringRef> stringsOf(Attribute a) {
  SmallVector<StringRef> out;
  if (auto arr = llvm::dyn_cast<ArrayAttr>(a))
    for (Attribute s : arr)
      out.push_back(llvm::cast<StringAttr>(s).getValue());
  else
    for (StringRef s : llvm::cast<DenseElementsAttr>(a).getValues<StringRef>())
      out.push_back(s);
  return out;
}

/// Operands broadcast to `shape` (copies only where an operand's type differs).
SmallVector<Value> broadcastTo(OpBuilder &b, Location loc, RankedTensorType type,
                               ValueRange operands) {
  SmallVector<Value> out;
  for (Value v : operands) {
    if (v.getType() == type && type.hasStaticShape()) {
      out.push_back(v);
      continue;
    }
    out.push_back(broadcastGeneric(b, loc, type.getShape(), type.getElementType(), {v},
                                   [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
  }
  return out;
}

/// StringConcat and Equal on strings: operands broadcast to the result's
/// shape, then one kernel call.
template <typename Op>
struct BinaryStringLowering : OpConversionPattern<Op> {
  BinaryStringLowering(KilnTypeConverter &tc, MLIRContext *ctx, StringRef kernel)
      : OpConversionPattern<Op>(tc, ctx, /*benefit=*/2), kernel(kernel.str()) {}
  std::string kernel;
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (!isStringTensor(op->getOperand(0).getType()))
      return r.notifyMatchFailure(op, "not strings");
    auto res = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!res)
      return r.notifyMatchFailure(op, "unranked result");
    Location loc = op.getLoc();
    auto i64 = r.getI64Type();
    auto operands = broadcastTo(r, loc, RankedTensorType::get(res.getShape(), i64),
                                adaptor.getOperands());
    Type outElem = llvm::isa<StringType>(res.getElementType()) ? Type(i64) : res.getElementType();
    HostOutput out = allocateForHost(r, loc, res.getShape(), outElem, dynamicDims(r, loc, operands[0]));
    callHost(r, op, kernel,
         {anyRankArg(r, loc, operands[0]), anyRankArg(r, loc, operands[1]),
          anyRankArg(r, loc, out.buffer)});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

struct RegexFullMatchLowering : OpConversionPattern<RegexFullMatchOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RegexFullMatchOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!res)
      return r.notifyMatchFailure(op, "unranked result");
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    HostOutput out = allocateForHost(r, loc, res.getShape(), r.getI1Type(), dynamicDims(r, loc, x));
    callHost(r, op, "kiln_regex_full_match",
         {anyRankArg(r, loc, x), bytesArg(r, loc, op.getPattern()),
          anyRankArg(r, loc, out.buffer)});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

/// The kernel writes the kept strings into a buffer with room for all of
/// them (at least one); the result is its first `count`.
struct StringNormalizerLowering : OpConversionPattern<StringNormalizerOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StringNormalizerOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto xt = llvm::dyn_cast<RankedTensorType>(adaptor.getX().getType());
    if (!xt)
      return r.notifyMatchFailure(op, "unranked input");
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    Value n = dimValue(r, loc, x, xt.getRank() - 1);
    Value room = arith::MaxUIOp::create(r, loc, n, arith::ConstantIndexOp::create(r, loc, 1));
    int64_t q = ShapedType::kDynamic, rank = xt.getRank();
    SmallVector<int64_t> shape = rank == 1 ? SmallVector<int64_t>{q} : SmallVector<int64_t>{1, q};
    HostOutput out = allocateForHost(r, loc, shape, r.getI64Type(), {room});
    int64_t action = op.getCaseChangeAction() == "LOWER" ? 1 : op.getCaseChangeAction() == "UPPER" ? 2 : 0;
    Value count = callHost(
        r, op, "kiln_string_normalize",
        {anyRankArg(r, loc, x), bytesArg(r, loc, packRecords(stringsOf(op.getStopwords()))),
         anyRankArg(r, loc, out.buffer), arith::ConstantIntOp::create(r, loc, r.getI64Type(), action),
         arith::ConstantIntOp::create(r, loc, r.getI64Type(), op.getIsCaseSensitive())},
        r.getI64Type());
    count = arith::IndexCastOp::create(r, loc, r.getIndexType(), count);
    SmallVector<OpFoldResult> offsets(rank, r.getIndexAttr(0)), strides(rank, r.getIndexAttr(1)),
        sizes(rank, r.getIndexAttr(1));
    sizes.back() = count;
    r.replaceOp(op, tensor::ExtractSliceOp::create(r, loc, out.tensor(r, loc), offsets, sizes,
                                                   strides)
                        .getResult());
    return success();
  }
};

/// The runtime's code for a number type (see the string casts in runtime/HostKernels.h), or -1.
int64_t numberTypeCode(Type t) {
  if (t.isF32())
    return 0;
  if (t.isF64())
    return 1;
  auto i = llvm::dyn_cast<IntegerType>(t);
  if (!i)
    return -1;
  if (i.getWidth() == 1)
    return 10;
  int64_t base = i.isUnsigned() ? 6 : 2;
  switch (i.getWidth()) {
  case 8: return base;
  case 16: return base + 1;
  case 32: return base + 2;
  case 64: return base + 3;
  default: return -1;
  }
}

/// Cast from or to strings: a kernel parses or prints each element.
struct StringCastLowering : OpConversionPattern<CastOp> {
  StringCastLowering(const TypeConverter &tc, MLIRContext *ctx)
      : OpConversionPattern(tc, ctx, /*benefit=*/2) {}
  LogicalResult matchAndRewrite(CastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto in = llvm::dyn_cast<RankedTensorType>(op.getInput().getType());
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!in || !res)
      return failure();
    bool fromString = llvm::isa<StringType>(in.getElementType());
    bool toString = llvm::isa<StringType>(res.getElementType());
    if (fromString == toString)
      return failure();
    int64_t code = numberTypeCode(fromString ? res.getElementType() : in.getElementType());
    if (code < 0)
      return op.emitOpError("Cast between strings and this element type is not supported");
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Type elem = getTypeConverter()->convertType(res.getElementType());
    HostOutput out = allocateForHost(r, loc, res.getShape(), elem, dynamicDims(r, loc, x));
    // One kernel name per element type of the number operand (its declaration
    // fixes the memref type); the code says how to read the bits.
    Type numberElem = getTypeConverter()->convertType(fromString ? res.getElementType()
                                                                 : in.getElementType());
    std::string suffix;
    llvm::raw_string_ostream(suffix) << numberElem;
    std::string kernel = fromString ? "kiln_strings_to_" + suffix : "kiln_" + suffix + "_to_strings";
    callHost(r, op, kernel,
             {anyRankArg(r, loc, x), anyRankArg(r, loc, out.buffer),
              arith::ConstantIntOp::create(r, loc, r.getI64Type(), code)});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

/// Two passes: the first counts the substrings (the widest sizes Y), the
/// second writes them.
struct StringSplitLowering : OpConversionPattern<StringSplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StringSplitOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto xt = llvm::dyn_cast<RankedTensorType>(adaptor.getX().getType());
    if (!xt)
      return r.notifyMatchFailure(op, "unranked input");
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    Type i64 = r.getI64Type();
    SmallVector<Value> dims = dynamicDims(r, loc, x);
    HostOutput counts = allocateForHost(r, loc, xt.getShape(), i64, dims);
    Value xArg = anyRankArg(r, loc, x), delimiter = bytesArg(r, loc, op.getDelimiter());
    Value maxsplit = arith::ConstantIntOp::create(r, loc, i64, op.getMaxsplit());
    Value width = callHost(r, op, "kiln_string_split_count",
                       {xArg, delimiter, maxsplit, anyRankArg(r, loc, counts.buffer)}, i64);
    SmallVector<int64_t> shape(xt.getShape());
    shape.push_back(ShapedType::kDynamic);
    dims.push_back(arith::IndexCastOp::create(r, loc, r.getIndexType(), width));
    HostOutput parts = allocateForHost(r, loc, shape, i64, dims);
    callHost(r, op, "kiln_string_split",
         {xArg, delimiter, maxsplit, anyRankArg(r, loc, parts.buffer), width});
    r.replaceOp(op, SmallVector<Value>{parts.tensor(r, loc), counts.tensor(r, loc)});
    return success();
  }
};

/// The strings of `attr` as a 1-D tensor of their records' addresses.
Value stringTable(ConversionPatternRewriter &r, Operation *op, ArrayRef<StringRef> values,
                  ArrayRef<int64_t> shape) {
  Location loc = op->getLoc();
  HostOutput out = allocateForHost(r, loc, shape, r.getI64Type(), {});
  callHost(r, op, "kiln_strings_from_list",
       {bytesArg(r, loc, packRecords(values)), anyRankArg(r, loc, out.buffer)});
  return out.tensor(r, loc);
}

struct StringConstantLowering : OpConversionPattern<ConstantOp> {
  StringConstantLowering(KilnTypeConverter &tc, MLIRContext *ctx)
      : OpConversionPattern(tc, ctx, /*benefit=*/2) {}
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &r) const override {
    auto dense = llvm::dyn_cast<DenseElementsAttr>(op.getValue());
    if (!dense || !llvm::isa<StringType>(dense.getElementType()))
      return r.notifyMatchFailure(op, "not strings");
    r.replaceOp(op, stringTable(r, op, stringsOf(dense), dense.getType().getShape()));
    return success();
  }
};

/// A kernel finds each element's position among the keys (-1 if absent);
/// a generic then reads values[position], the default at the end.
struct LabelEncoderLowering : OpConversionPattern<LabelEncoderOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LabelEncoderOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!res)
      return r.notifyMatchFailure(op, "unranked result");
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    Type i64 = r.getI64Type();
    auto keys = llvm::cast<DenseElementsAttr>(op.getKeys());
    auto values = llvm::cast<DenseElementsAttr>(op.getValues());
    auto dflt = llvm::cast<DenseElementsAttr>(op.getDefaultValue());
    Value keyArg;
    StringRef kernel;
    if (llvm::isa<StringType>(keys.getElementType())) {
      keyArg = bytesArg(r, loc, packRecords(stringsOf(keys)));
      kernel = "kiln_lookup_strings";
    } else {
      auto kt = RankedTensorType::get(keys.getType().getShape(), signless(keys.getElementType()));
      keyArg = hostArg(r, loc, arith::ConstantOp::create(r, loc, kt, keys.bitcast(kt.getElementType())));
      kernel = keys.getElementType().isF32() ? "kiln_lookup_f32" : "kiln_lookup_i64";
    }
    HostOutput pos = allocateForHost(r, loc, res.getShape(), i64, dynamicDims(r, loc, x));
    callHost(r, op, kernel, {anyRankArg(r, loc, x), keyArg, anyRankArg(r, loc, pos.buffer)});

    int64_t k = keys.getNumElements();
    Type valueElem = signless(values.getElementType());
    Value table;
    if (llvm::isa<StringType>(values.getElementType())) {
      SmallVector<StringRef> all = stringsOf(values);
      all.push_back(*dflt.getValues<StringRef>().begin());
      table = stringTable(r, op, all, {k + 1});
    } else {
      SmallVector<Attribute> all(values.getValues<Attribute>());
      all.push_back(*dflt.getValues<Attribute>().begin());
      auto tt = RankedTensorType::get({k + 1}, values.getElementType());
      auto dense = DenseElementsAttr::get(tt, all);
      if (valueElem != values.getElementType())
        dense = dense.bitcast(valueElem);
      table = arith::ConstantOp::create(r, loc, dense.getType(), dense);
    }
    Value result = broadcastGeneric(
        r, loc, res.getShape(), valueElem, {pos.tensor(r, loc)},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value p = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
          Value missing = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, a[0],
                                                arith::ConstantIntOp::create(b, l, i64, 0));
          p = arith::SelectOp::create(b, l, missing, arith::ConstantIndexOp::create(b, l, k), p);
          return tensor::ExtractOp::create(b, l, table, ValueRange{p});
        });
    r.replaceOp(op, result);
    return success();
  }
};

/// The pool decoded into the kernel's n-gram list (see kiln_tfidf).
struct TfIdfVectorizerLowering : OpConversionPattern<TfIdfVectorizerOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TfIdfVectorizerOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!res)
      return r.notifyMatchFailure(op, "unranked result");
    Location loc = op.getLoc();
    SmallVector<int64_t> items;
    SmallVector<StringRef> poolStrings;
    if (auto p = op.getPoolInt64s()) {
      for (Attribute a : *p)
        items.push_back(llvm::cast<IntegerAttr>(a).getInt());
    } else {
      // A string item is the position of its first occurrence in the pool,
      // as the kernel numbers the input's strings.
      poolStrings = stringsOf(*op.getPoolStrings());
      llvm::StringMap<int64_t> first;
      for (size_t i = 0; i < poolStrings.size(); ++i)
        items.push_back(first.try_emplace(poolStrings[i], i).first->second);
    }
    SmallVector<int64_t> grams;
    SmallVector<float> weights;
    auto counts = op.getNgramCounts().getValue();
    int64_t id = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      int64_t n = i + 1, begin = llvm::cast<IntegerAttr>(counts[i]).getInt();
      int64_t end = i + 1 < counts.size() ? llvm::cast<IntegerAttr>(counts[i + 1]).getInt()
                                          : (int64_t)items.size();
      for (int64_t at = begin; at < end; at += n, ++id) {
        if (n < op.getMinGramLength() || n > op.getMaxGramLength())
          continue;
        grams.push_back(n);
        grams.push_back(llvm::cast<IntegerAttr>(op.getNgramIndexes()[id]).getInt());
        grams.append(items.begin() + at, items.begin() + at + n);
        weights.push_back(op.getWeights()
                              ? (float)llvm::cast<FloatAttr>((*op.getWeights())[id]).getValueAsDouble()
                              : 1.0f);
      }
    }
    auto gramsType = RankedTensorType::get({(int64_t)grams.size()}, r.getI64Type());
    auto weightsType = RankedTensorType::get({(int64_t)weights.size()}, r.getF32Type());
    Value gramsArg = hostArg(r, loc, arith::ConstantOp::create(
                                         r, loc, gramsType,
                                         DenseElementsAttr::get(gramsType, ArrayRef<int64_t>(grams))));
    Value weightsArg = hostArg(
        r, loc,
        arith::ConstantOp::create(r, loc, weightsType,
                                  DenseElementsAttr::get(weightsType, ArrayRef<float>(weights))));
    SmallVector<Value> sizes;
    if (res.isDynamicDim(0))
      sizes.push_back(dimValue(r, loc, adaptor.getX(), 0));
    HostOutput out = allocateForHost(r, loc, res.getShape(), r.getF32Type(), sizes);
    Type i64 = r.getI64Type();
    int64_t mode = op.getMode() == "TF" ? 0 : op.getMode() == "IDF" ? 1 : 2;
    callHost(r, op, "kiln_tfidf",
         {anyRankArg(r, loc, adaptor.getX()), gramsArg,
          bytesArg(r, loc, packRecords(poolStrings)), weightsArg, anyRankArg(r, loc, out.buffer),
          arith::ConstantIntOp::create(r, loc, i64, mode),
          arith::ConstantIntOp::create(r, loc, i64, op.getMinGramLength()),
          arith::ConstantIntOp::create(r, loc, i64, op.getMaxGramLength()),
          arith::ConstantIntOp::create(r, loc, i64, op.getMaxSkipCount())});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

} // namespace

void populateStringPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  MLIRContext *ctx = p.getContext();
  p.add<BinaryStringLowering<StringConcatOp>>(tc, ctx, "kiln_string_concat");
  p.add<BinaryStringLowering<EqualOp>>(tc, ctx, "kiln_string_equal");
  p.add<StringConstantLowering>(tc, ctx);
  p.add<StringCastLowering, RegexFullMatchLowering, StringNormalizerLowering, StringSplitLowering,
        LabelEncoderLowering, TfIdfVectorizerLowering>(tc, ctx);
}

} // namespace kiln
