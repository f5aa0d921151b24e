//===- GridSample.cpp - GridSample and RoiAlign -> gathering generics ------===//
//
// Each output element reads its r normalized coordinates from the grid,
// maps them to input positions, and combines 1 (nearest), 2 (linear) or 4
// (cubic) taps per spatial dim, the product of which is unrolled in the
// body. Positions outside the input follow padding_mode: zeros (taps read
// 0), border (clamped) or reflection (mirrored at the borders), as in the
// ONNX GridSample definition.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

struct Scalar {
  OpBuilder &b;
  Location l;
  Type f;
  Value c(double v) { return arith::ConstantOp::create(b, l, f, b.getFloatAttr(f, v)); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, l, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, l, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, l, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, l, x, y); }
  Value floor(Value x) { return math::FloorOp::create(b, l, x); }
  Value lt(Value x, Value y) { return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, y); }
  Value gt(Value x, Value y) { return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, y); }
  Value sel(Value c, Value x, Value y) { return arith::SelectOp::create(b, l, c, x, y); }
  Value clamp(Value x, double lo, double hi) {
    return arith::MinimumFOp::create(b, l, arith::MaximumFOp::create(b, l, x, c(lo)), c(hi));
  }

  /// Mirrors x at lo and hi until it lies between them.
  Value reflect(Value x, double lo, double hi) {
    Value range = c(hi - lo);
    auto fold = [&](Value dx, Value near, Value far, bool below) {
      Value n = floor(div(dx, range));
      Value rest = sub(dx, mul(n, range));
      Value odd = arith::TruncIOp::create(b, l, b.getI1Type(),
                                          arith::FPToSIOp::create(b, l, b.getI64Type(), n));
      Value towards = below ? add(near, rest) : sub(near, rest);
      Value back = below ? sub(far, rest) : add(far, rest);
      return sel(odd, back, towards);
    };
    Value under = fold(sub(c(lo), x), c(lo), c(hi), true);
    Value over = fold(sub(x, c(hi)), c(hi), c(lo), false);
    return sel(lt(x, c(lo)), under, sel(gt(x, c(hi)), over, x));
  }

  /// Keys' cubic convolution weights (A = -0.75) of the 4 taps at t in [0, 1).
  SmallVector<Value> cubic(Value t) {
    const double A = -0.75;
    auto poly = [&](Value x, bool inner) {
      // inner: ((A+2)x - (A+3))x^2 + 1; outer: ((Ax - 5A)x + 8A)x - 4A
      if (inner)
        return add(mul(mul(sub(mul(c(A + 2), x), c(A + 3)), x), x), c(1));
      return sub(mul(add(mul(sub(mul(c(A), x), c(5 * A)), x), c(8 * A)), x), c(4 * A));
    };
    Value one = c(1);
    return {poly(add(t, one), false), poly(t, true), poly(sub(one, t), true),
            poly(sub(c(2), t), false)};
  }
};

struct GridSampleLowering : OpConversionPattern<GridSampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GridSampleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    Value x = adaptor.getX(), grid = adaptor.getGrid();
    auto xt = llvm::cast<RankedTensorType>(x.getType());
    auto outType = llvm::cast<RankedTensorType>(op.getType());
    Type elem = xt.getElementType();
    if (!isa<FloatType>(elem))
      return r.notifyMatchFailure(op, "X must be a float tensor");
    int64_t rank = xt.getRank(), dims = rank - 2;
    SmallVector<int64_t> size(xt.getShape().drop_front(2));
    StringRef mode = op.getMode(), padding = op.getPaddingMode();
    bool nearest = mode == "nearest", cubic = mode == "cubic" || mode == "bicubic";
    bool align = op.getAlignCorners() != 0;
    Location loc = op.getLoc();
    Value init = emptyTensor(r, loc, outType.getShape(), elem);
    auto generic = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, r.getContext())},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          Type f32 = b.getF32Type();
          Scalar s{b, l, f32};
          SmallVector<Value> idx;
          for (int64_t d = 0; d < rank; ++d)
            idx.push_back(linalg::IndexOp::create(b, l, d));
          // Input positions per spatial dim (the grid lists them innermost first).
          SmallVector<SmallVector<Value>> tapIndex(dims);
          SmallVector<SmallVector<Value>> tapWeight(dims);
          for (int64_t i = 0; i < dims; ++i) {
            SmallVector<Value> gi{idx[0]};
            gi.append(idx.begin() + 2, idx.end());
            gi.push_back(arith::ConstantIndexOp::create(b, l, dims - 1 - i));
            Value g = tensor::ExtractOp::create(b, l, grid, gi);
            g = g.getType() == f32 ? g : castScalar(b, l, g, ElemKind::of(g.getType()), f32, ElemKind::of(f32));
            double d = double(size[i]);
            Value p = align ? s.mul(s.div(s.add(g, s.c(1)), s.c(2)), s.c(d - 1))
                            : s.div(s.sub(s.mul(s.add(g, s.c(1)), s.c(d)), s.c(1)), s.c(2));
            if (nearest)
              p = math::RoundEvenOp::create(b, l, p);
            double lo = align ? 0 : -0.5, hi = align ? d - 1 : d - 0.5;
            if (padding == "border")
              p = s.sel(s.lt(p, s.c(lo)), s.clamp(p, 0, d - 1), s.sel(s.gt(p, s.c(hi)), s.clamp(p, 0, d - 1), p));
            else if (padding == "reflection")
              p = s.reflect(p, lo, hi);
            if (nearest) {
              tapIndex[i] = {p};
              tapWeight[i] = {s.c(1)};
              continue;
            }
            Value p0 = s.floor(p), t = s.sub(p, p0);
            int64_t first = cubic ? -1 : 0, taps = cubic ? 4 : 2;
            for (int64_t k = 0; k < taps; ++k)
              tapIndex[i].push_back(s.add(p0, s.c(double(first + k))));
            tapWeight[i] = cubic ? s.cubic(t) : SmallVector<Value>{s.sub(s.c(1), t), t};
          }
          // Sum over the product of taps.
          Value acc = s.c(0);
          SmallVector<int64_t> choice(dims, 0);
          while (true) {
            Value w = s.c(1);
            Value inside = arith::ConstantIntOp::create(b, l, b.getI1Type(), 1);
            SmallVector<Value> at{idx[0], idx[1]};
            for (int64_t i = 0; i < dims; ++i) {
              Value pos = tapIndex[i][choice[i]];
              w = s.mul(w, tapWeight[i][choice[i]]);
              double d = double(size[i]);
              if (padding == "reflection") {
                double lo = align ? 0 : -0.5, hi = align ? d - 1 : d - 0.5;
                pos = s.reflect(pos, lo, hi);
              }
              Value ip = arith::FPToSIOp::create(b, l, b.getI64Type(), pos);
              Value ok = arith::AndIOp::create(
                  b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, ip,
                                              arith::ConstantIntOp::create(b, l, b.getI64Type(), 0)),
                  arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, ip,
                                        arith::ConstantIntOp::create(b, l, b.getI64Type(), size[i])));
              inside = arith::AndIOp::create(b, l, inside, ok);
              // Border (and any stray tap) reads the nearest edge element.
              at.push_back(clampedIndex(b, l, ip, size[i], /*fromEnd=*/false));
            }
            Value v = tensor::ExtractOp::create(b, l, x, at);
            if (v.getType() != f32)
              v = castScalar(b, l, v, ElemKind::of(elem), f32, ElemKind::of(f32));
            if (padding == "zeros")
              v = s.sel(inside, v, s.c(0));
            acc = s.add(acc, s.mul(w, v));
            int64_t i = dims - 1;
            while (i >= 0 && ++choice[i] == (int64_t)tapIndex[i].size())
              choice[i--] = 0;
            if (i < 0)
              break;
          }
          if (elem != f32)
            acc = castScalar(b, l, acc, ElemKind::of(f32), elem, ElemKind::of(elem));
          linalg::YieldOp::create(b, l, acc);
        });
    r.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// RoiAlign: per output bin, a fixed sampling_ratio x sampling_ratio grid of
/// bilinear samples (zero outside [-1, size], clamped at the far edge),
/// averaged or maxed, as in the ONNX definition.
struct RoiAlignLowering : OpConversionPattern<RoiAlignOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RoiAlignOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    if (failed(requireStatic(op, r)))
      return failure();
    int64_t ratio = op.getSamplingRatio();
    if (ratio <= 0 || ratio > 16)
      return r.notifyMatchFailure(op, "sampling_ratio must be in [1, 16] (adaptive sampling is not supported)");
    Value x = adaptor.getX(), rois = adaptor.getRois(), batchIdx = adaptor.getBatchIndices();
    auto xt = llvm::cast<RankedTensorType>(x.getType());
    Type elem = xt.getElementType();
    if (!isa<FloatType>(elem))
      return r.notifyMatchFailure(op, "X must be a float tensor");
    int64_t batch = xt.getDimSize(0), height = xt.getDimSize(2), width = xt.getDimSize(3);
    int64_t outH = op.getOutputHeight(), outW = op.getOutputWidth();
    bool halfPixel = op.getCoordinateTransformationMode() == "half_pixel";
    bool isMax = op.getMode() == "max";
    double scale = op.getSpatialScale().convertToDouble();
    auto outType = llvm::cast<RankedTensorType>(op.getType());
    Location loc = op.getLoc();
    Value init = emptyTensor(r, loc, outType.getShape(), elem);
    auto generic = linalg::GenericOp::create(
        r, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(4, r.getContext())},
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          Type f32 = b.getF32Type();
          Scalar s{b, l, f32};
          Value ri = linalg::IndexOp::create(b, l, 0), ci = linalg::IndexOp::create(b, l, 1);
          Value ph = linalg::IndexOp::create(b, l, 2), pw = linalg::IndexOp::create(b, l, 3);
          auto toF = [&](Value v) { return castScalar(b, l, v, ElemKind::of(v.getType()), f32, ElemKind::of(f32)); };
          auto roi = [&](int64_t k) {
            Value v = tensor::ExtractOp::create(b, l, rois, ValueRange{ri, arith::ConstantIndexOp::create(b, l, k)});
            return s.sub(s.mul(toF(v), s.c(scale)), s.c(halfPixel ? 0.5 : 0.0));
          };
          Value x1 = roi(0), y1 = roi(1), x2 = roi(2), y2 = roi(3);
          Value roiW = s.sub(x2, x1), roiH = s.sub(y2, y1);
          if (!halfPixel) {
            roiW = arith::MaximumFOp::create(b, l, roiW, s.c(1));
            roiH = arith::MaximumFOp::create(b, l, roiH, s.c(1));
          }
          Value binH = s.div(roiH, s.c(double(outH))), binW = s.div(roiW, s.c(double(outW)));
          Value rawBatch = tensor::ExtractOp::create(b, l, batchIdx, ValueRange{ri});
          Value bi = clampedIndex(b, l, rawBatch, batch, /*fromEnd=*/false);
          auto indexF = [&](Value i) {
            return arith::UIToFPOp::create(b, l, f32, arith::IndexCastOp::create(b, l, b.getI64Type(), i));
          };
          Value phF = indexF(ph), pwF = indexF(pw);
          Value acc;
          for (int64_t iy = 0; iy < ratio; ++iy)
            for (int64_t ix = 0; ix < ratio; ++ix) {
              Value y = s.add(s.add(y1, s.mul(phF, binH)), s.mul(s.c((iy + 0.5) / double(ratio)), binH));
              Value xx = s.add(s.add(x1, s.mul(pwF, binW)), s.mul(s.c((ix + 0.5) / double(ratio)), binW));
              Value outside = arith::OrIOp::create(
                  b, l, arith::OrIOp::create(b, l, s.lt(y, s.c(-1)), s.gt(y, s.c(double(height)))),
                  arith::OrIOp::create(b, l, s.lt(xx, s.c(-1)), s.gt(xx, s.c(double(width)))));
              // Clamp to [0, size - 1]; at the far edge both taps are the last row/column.
              auto axis = [&](Value p, int64_t size, Value &lo, Value &hi) {
                p = arith::MaximumFOp::create(b, l, p, s.c(0));
                Value low = s.floor(p);
                Value atEnd = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, low, s.c(double(size - 1)));
                low = s.sel(atEnd, s.c(double(size - 1)), low);
                p = s.sel(atEnd, low, p);
                Value frac = s.sub(p, low);
                Value lowI = arith::FPToSIOp::create(b, l, b.getI64Type(), low);
                lo = clampedIndex(b, l, lowI, size, false);
                Value highI = arith::AddIOp::create(b, l, lowI, arith::ConstantIntOp::create(b, l, b.getI64Type(), 1));
                hi = clampedIndex(b, l, highI, size, false);
                return frac;
              };
              Value yl, yh, xl, xh;
              Value ly = axis(y, height, yl, yh), lx = axis(xx, width, xl, xh);
              Value hy = s.sub(s.c(1), ly), hx = s.sub(s.c(1), lx);
              auto px = [&](Value yi, Value xi) { return toF(tensor::ExtractOp::create(b, l, x, ValueRange{bi, ci, yi, xi})); };
              Value t1 = s.mul(s.mul(hy, hx), px(yl, xl)), t2 = s.mul(s.mul(hy, lx), px(yl, xh));
              Value t3 = s.mul(s.mul(ly, hx), px(yh, xl)), t4 = s.mul(s.mul(ly, lx), px(yh, xh));
              Value v;
              if (isMax) {
                auto mx = [&](Value a, Value c) { return Value(arith::MaximumFOp::create(b, l, a, c)); };
                v = mx(mx(t1, t2), mx(t3, t4));
              } else {
                v = s.add(s.add(t1, t2), s.add(t3, t4));
              }
              v = s.sel(outside, s.c(0), v);
              acc = !acc ? v : isMax ? Value(arith::MaximumFOp::create(b, l, acc, v)) : s.add(acc, v);
            }
          if (!isMax)
            acc = s.div(acc, s.c(double(ratio * ratio)));
          if (elem != f32)
            acc = castScalar(b, l, acc, ElemKind::of(f32), elem, ElemKind::of(elem));
          linalg::YieldOp::create(b, l, acc);
        });
    r.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void populateGridSamplePatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<GridSampleLowering, RoiAlignLowering>(tc, p.getContext());
}

} // namespace kiln
