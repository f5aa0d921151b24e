//===- GridSample.cpp - GridSample -> linalg.generic with gathers ---------===//
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

} // namespace

void populateGridSamplePatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<GridSampleLowering>(tc, p.getContext());
}

} // namespace kiln
