//===- Image.cpp - ImageDecoder -> host kernels ---------------------------===//
//
// Image formats are decoded by their libraries in the runtime
// (runtime/ImageKernels.cpp). The first call decodes and reports the
// image's height and width; the code allocates the (H, W, C) output at that
// size and the second call fills it in the requested pixel format.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace kiln {
namespace {

struct ImageDecoderLowering : OpConversionPattern<ImageDecoderOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ImageDecoderOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    if (!res || !llvm::isa<RankedTensorType>(adaptor.getEncodedStream().getType()))
      return r.notifyMatchFailure(op, "unranked operand or result");
    Location loc = op.getLoc();
    Type i64 = r.getI64Type();
    HostOutput dims = allocateForHost(r, loc, {2}, i64, {});
    Value decoded = callHost(r, op, "kiln_image_decode",
                             {hostArg(r, loc, adaptor.getEncodedStream()), hostArg(r, loc, dims.buffer)},
                             i64);
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < 2; ++d) {
      Value at = arith::ConstantIndexOp::create(r, loc, d);
      Value v = memref::LoadOp::create(r, loc, dims.buffer, ValueRange{at});
      sizes.push_back(arith::IndexCastOp::create(r, loc, r.getIndexType(), v));
    }
    Type elem = getTypeConverter()->convertType(res.getElementType());
    HostOutput image = allocateForHost(r, loc, res.getShape(), elem, sizes);
    StringRef format = op.getPixelFormat();
    int64_t code = format == "RGB" ? 0 : format == "BGR" ? 1 : 2;
    callHost(r, op, "kiln_image_copy",
             {decoded, arith::ConstantIntOp::create(r, loc, i64, code), hostArg(r, loc, image.buffer)});
    r.replaceOp(op, image.tensor(r, loc));
    return success();
  }
};

} // namespace

void populateImagePatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<ImageDecoderLowering>(tc, p.getContext());
}

} // namespace kiln
