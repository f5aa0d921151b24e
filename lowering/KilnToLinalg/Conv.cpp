//===- Conv.cpp - Conv -> linalg convolution ops ---------------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "dialect/ShapeHelpers.h"

using namespace mlir;

namespace kiln {
namespace {

/// A depthwise convolution (one filter per channel) with unit strides, of
/// static NCHW shapes, as one generic over (n, c, position, tap row, tap
/// column): y[n, c, p] += x[n, c, p + offset(tap)] * w[c, tap]. LLVM
/// unrolls the taps (constant trip counts) and vectorizes the loop along
/// the output row around them (one input, one weight and the output: few
/// enough pointers for its alias checks), where linalg's grouped
/// convolution became scalar loops (a 5x5 one on 256 channels of 14x14:
/// 0.43 -> 0.09 ms). The rows are taken at the padded input's width, so
/// that the loop runs over the whole image in one contiguous stretch (rows
/// of 14 fill a 16-lane vector badly); the columns past the output's width
/// are computed and dropped. Strided ones keep linalg's convolution: along
/// the row their loads are strided, and this form was measured no faster
/// for them (3x3, stride 2, 96 channels of 112x112: 0.49 -> 0.54 ms).
Value depthwiseConv(ConversionPatternRewriter &r, Location loc, Value x, Value w,
                    const SpatialParams &sp, ArrayRef<int64_t> outShape, Value zero) {
  Type f32 = r.getF32Type();
  MLIRContext *ctx = r.getContext();
  int64_t n = outShape[0], c = outShape[1], oh = outShape[2], ow = outShape[3];
  int64_t kh = sp.kernel[0], kw = sp.kernel[1];
  // One row more at the bottom: the last row's last taps read up to kw - 1
  // elements past the padded image.
  SmallVector<int64_t> padEnd(sp.padEnd);
  padEnd[0] += 1;
  Value xp = padSpatial(r, loc, x, sp.padBegin, padEnd, zero);
  auto xps = llvm::cast<RankedTensorType>(xp.getType()).getShape();
  int64_t hp = xps[2], wp = xps[3];
  xp = reshapeTo(r, loc, xp, {n, c, hp * wp});
  // Loops (n, c, position, tap row, tap column), the taps reductions.
  AffineExpr dn, dc, dy, dx, q;
  bindDims(ctx, dn, dc, q, dy, dx);
  SmallVector<AffineMap> maps{
      AffineMap::get(5, 0, {dn, dc, q + dy * (sp.dilations[0] * wp) + dx * sp.dilations[1]}, ctx),
      AffineMap::get(5, 0, {dc, dy, dx}, ctx), AffineMap::get(5, 0, {dn, dc, q}, ctx)};
  SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
  iters[3] = iters[4] = utils::IteratorType::reduction;
  Value w3 = reshapeTo(r, loc, w, {c, kh, kw});
  Value empty = tensor::EmptyOp::create(r, loc, ArrayRef<int64_t>{n, c, oh * wp}, f32);
  Value init = linalg::FillOp::create(r, loc, zero, empty).getResult(0);
  Value y = linalg::GenericOp::create(
                r, loc, TypeRange{init.getType()}, ValueRange{xp, w3}, ValueRange{init}, maps,
                iters,
                [](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(b, l,
                                          ValueRange{math::FmaOp::create(b, l, a[0], a[1], a[2])});
                })
                .getResult(0);
  y = reshapeTo(r, loc, y, {n, c, oh, wp});
  auto index = [&](int64_t v) -> OpFoldResult { return r.getIndexAttr(v); };
  return tensor::ExtractSliceOp::create(
      r, loc, y, SmallVector<OpFoldResult>(4, index(0)),
      SmallVector<OpFoldResult>{index(n), index(c), index(oh), index(ow)},
      SmallVector<OpFoldResult>(4, index(1)));
}

struct ConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    Location loc = op.getLoc();
    auto xt = llvm::cast<RankedTensorType>(adaptor.getX().getType());
    auto wt = llvm::cast<RankedTensorType>(adaptor.getW().getType());
    auto outType = llvm::cast<RankedTensorType>(op.getType());
    Type elem = xt.getElementType();
    int64_t rank = xt.getRank(), g = op.getGroup();
    // Dims known only at run time: the weights must be known; SAME pads are
    // computed by the code; grouped convolutions split the channel dim.
    bool dynamic = !xt.hasStaticShape() || !outType.hasStaticShape();
    if (dynamic && (!wt.hasStaticShape() || (g != 1 && (xt.isDynamicDim(1) || rank == 5))))
      return r.notifyMatchFailure(op, "needs static shapes");
    SpatialParams sp;
    std::string error;
    if (!resolveSpatial(xt.getShape().drop_front(2), wt.getShape().drop_front(2),
                        op.getAutoPad(), op.getKernelShape(), op.getStrides(),
                        op.getDilations(), op.getPads(), false, sp, error))
      return r.notifyMatchFailure(op, error);
    Value zeroIn = scalarConstant(r, loc, elem, 0);
    bool samePads = dynamic && op.getAutoPad().starts_with("SAME");
    Value x;
    SmallVector<Value> dynamicOut; // sizes of the result's dynamic dims
    if (samePads) {
      Padding p = runtimePadding(r, loc, adaptor.getX(), sp, op.getAutoPad(), false);
      x = padSpatialBy(r, loc, adaptor.getX(), p.lo, p.hi, zeroIn);
      dynamicOut = outputSizes(r, loc, adaptor.getX(), outType.getShape(), p);
    } else {
      x = padSpatial(r, loc, adaptor.getX(), sp.padBegin, sp.padEnd, zeroIn);
      if (dynamic)
        dynamicOut = windowedSizes(r, loc, x, tensor::DimOp::create(r, loc, x, 0),
                                   outType.getShape(), sp.kernel, sp.strides, sp.dilations);
    }
    auto strides = r.getI64VectorAttr(sp.strides);
    auto dilations = r.getI64VectorAttr(sp.dilations);
    // Half-precision products are summed in f32, as for MatMul.
    Type accElem = elem.isF16() || elem.isBF16() ? Type(r.getF32Type()) : elem;
    Value zero = scalarConstant(r, loc, accElem, 0);
    auto outShape = outType.getShape();
    Value y;
    if (g > 1 && rank == 4 && !dynamic && elem.isF32() && wt.getDimSize(0) == g &&
        wt.getDimSize(1) == 1 && xt.getDimSize(1) == g && sp.strides[0] == 1 &&
        sp.strides[1] == 1) {
      y = depthwiseConv(r, loc, adaptor.getX(), adaptor.getW(), sp, outShape, zeroIn);
    } else if (g == 1) {
      Value init = filledTensor(r, loc, outShape, zero, dynamicOut);
      SmallVector<Type> rt{init.getType()};
      SmallVector<Value> ins{x, adaptor.getW()}, outs{init};
      if (rank == 3)
        y = linalg::Conv1DNcwFcwOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
      else if (rank == 4 && !dynamic && outShape[2] > 1 && outShape[3] == 1 &&
               wt.getDimSize(3) == 1 && llvm::cast<RankedTensorType>(x.getType()).getDimSize(3) == 1) {
        // A column (width 1) is computed as a row: [n, c, h, 1] read as
        // [n, c, 1, h], the same memory, so that the code generator's
        // register tiles run along the long dim (a 5x1 convolution over
        // 256 channels of 512x1 ran one output position per tile).
        auto asRow = [&](Value v) {
          auto t = llvm::cast<RankedTensorType>(v.getType());
          SmallVector<ReassociationIndices> keep{{0}, {1}, {2, 3}};
          Value flat = tensor::CollapseShapeOp::create(r, loc, v, keep);
          auto rowType = RankedTensorType::get({t.getDimSize(0), t.getDimSize(1), 1, t.getDimSize(2)},
                                               t.getElementType());
          return tensor::ExpandShapeOp::create(r, loc, rowType, flat, keep).getResult();
        };
        Value rowInit = asRow(init);
        auto swapped = [&](ArrayRef<int64_t> v) { return r.getI64VectorAttr({v[1], v[0]}); };
        Value row = linalg::Conv2DNchwFchwOp::create(r, loc, TypeRange{rowInit.getType()},
                                                     ValueRange{asRow(x), asRow(adaptor.getW())},
                                                     ValueRange{rowInit}, swapped(sp.strides),
                                                     swapped(sp.dilations))
                        .getResult(0);
        SmallVector<ReassociationIndices> keep{{0}, {1}, {2, 3}};
        Value flat = tensor::CollapseShapeOp::create(r, loc, row, keep);
        y = tensor::ExpandShapeOp::create(r, loc, init.getType(), flat, keep).getResult();
      } else if (rank == 4)
        y = linalg::Conv2DNchwFchwOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
      else if (rank == 5)
        y = linalg::Conv3DNcdhwFcdhwOp::create(r, loc, rt, ins, outs, strides, dilations).getResult(0);
    } else if (rank == 4 || rank == 3) {
      // A grouped 1-D convolution is the 2-D one over a height of 1.
      Value w = adaptor.getW();
      SmallVector<int64_t> out2d(outShape);
      if (rank == 3) {
        auto xs = llvm::cast<RankedTensorType>(x.getType()).getShape();
        x = reshapeTo(r, loc, x, {xs[0], xs[1], 1, xs[2]});
        w = reshapeTo(r, loc, w, {wt.getDimSize(0), wt.getDimSize(1), 1, wt.getDimSize(2)});
        out2d = {outShape[0], outShape[1], 1, outShape[2]};
        strides = r.getI64VectorAttr({1, sp.strides[0]});
        dilations = r.getI64VectorAttr({1, sp.dilations[0]});
      }
      auto xs = llvm::cast<RankedTensorType>(x.getType()).getShape();
      auto ws = llvm::cast<RankedTensorType>(w.getType()).getShape();
      int64_t f = ws[0];
      // (N, C, H, W) -> (N, g, C/g, H, W); N, H, W may be dynamic.
      SmallVector<ReassociationIndices> groups{{0}, {1, 2}, {3}, {4}};
      SmallVector<OpFoldResult> xgSizes{tensor::getMixedSize(r, loc, x, 0), r.getIndexAttr(g),
                                        r.getIndexAttr(xs[1] / g), tensor::getMixedSize(r, loc, x, 2),
                                        tensor::getMixedSize(r, loc, x, 3)};
      auto xgType = RankedTensorType::get({xs[0], g, xs[1] / g, xs[2], xs[3]}, elem);
      Value xg = tensor::ExpandShapeOp::create(r, loc, xgType, x, groups, xgSizes);
      Value wg = reshapeTo(r, loc, w, {g, f / g, ws[1], ws[2], ws[3]});
      // The result's dynamic dims (N, then spatial) in the same order.
      Value init = filledTensor(r, loc, {out2d[0], g, f / g, out2d[2], out2d[3]}, zero, dynamicOut);
      y = linalg::Conv2DNgchwGfchwOp::create(r, loc, TypeRange{init.getType()},
                                             ValueRange{xg, wg}, ValueRange{init}, strides,
                                             dilations)
              .getResult(0);
      y = tensor::CollapseShapeOp::create(r, loc, y, groups);
      y = reshapeTo(r, loc, y, outShape);
    } else if (rank == 5) {
      // linalg has no grouped 3-D convolution: one per group, side by side.
      auto xs = llvm::cast<RankedTensorType>(x.getType()).getShape();
      int64_t cg = xs[1] / g, fg = wt.getDimSize(0) / g;
      y = filledTensor(r, loc, outShape, zero);
      auto slice = [&](Value v, int64_t dim, int64_t offset, int64_t size) {
        auto s = llvm::cast<RankedTensorType>(v.getType()).getShape();
        SmallVector<OpFoldResult> offs(s.size(), r.getIndexAttr(0)), sizes, ones(s.size(), r.getIndexAttr(1));
        offs[dim] = r.getIndexAttr(offset);
        for (int64_t d : s)
          sizes.push_back(r.getIndexAttr(d));
        sizes[dim] = r.getIndexAttr(size);
        return std::make_tuple(offs, sizes, ones);
      };
      for (int64_t i = 0; i < g; ++i) {
        auto [xo, xsz, xst] = slice(x, 1, i * cg, cg);
        Value xi = tensor::ExtractSliceOp::create(r, loc, x, xo, xsz, xst);
        auto [wo, wsz, wst] = slice(adaptor.getW(), 0, i * fg, fg);
        Value wi = tensor::ExtractSliceOp::create(r, loc, adaptor.getW(), wo, wsz, wst);
        SmallVector<int64_t> partShape(outShape);
        partShape[1] = fg;
        Value init = filledTensor(r, loc, partShape, zero);
        Value part = linalg::Conv3DNcdhwFcdhwOp::create(r, loc, TypeRange{init.getType()},
                                                        ValueRange{xi, wi}, ValueRange{init},
                                                        strides, dilations)
                         .getResult(0);
        auto [yo, ysz, yst] = slice(y, 1, i * fg, fg);
        y = tensor::InsertSliceOp::create(r, loc, part, y, yo, ysz, yst);
      }
    }
    if (!y)
      return r.notifyMatchFailure(op, "convolution of this rank is not supported");
    if (accElem != elem)
      y = broadcastGeneric(r, loc, outShape, elem, ValueRange{y},
                           [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::TruncFOp::create(b, l, elem, a[0]);
                           });
    if (!isa<NoneType>(adaptor.getB().getType())) {
      SmallVector<int64_t> bshape(rank - 1, 1);
      bshape[0] = outShape[1];
      Value bias = reshapeTo(r, loc, adaptor.getB(), bshape);
      ElemKind k = ElemKind::of(elem);
      y = broadcastGeneric(r, loc, outShape, elem, ValueRange{y, bias},
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return addOf(b, l, k, a[0], a[1]);
                           });
    }
    r.replaceOp(op, y);
    return success();
  }
};

} // namespace

void populateConvPatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<ConvLowering>(tc, p.getContext());
}

} // namespace kiln
