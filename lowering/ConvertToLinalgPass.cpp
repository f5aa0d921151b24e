//===- ConvertToLinalgPass.cpp - kiln-convert-to-linalg -------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "lowering/Passes.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNCONVERTTOLINALG
#include "lowering/Passes.h.inc"

namespace {
struct ConvertToLinalgPass : impl::KilnConvertToLinalgBase<ConvertToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    KilnTypeConverter tc;
    RewritePatternSet patterns(ctx);
    populateElementwisePatterns(tc, patterns);
    populateMathPatterns(tc, patterns);
    populateConvPatterns(tc, patterns);
    populatePoolingPatterns(tc, patterns);
    populateTensorPatterns(tc, patterns);
    populateReductionPatterns(tc, patterns);
    populateIndexingPatterns(tc, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, tc);
    populateReturnOpTypeConversionPattern(patterns, tc);
    populateCallOpTypeConversionPattern(patterns, tc);

    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect>();
    target.addIllegalDialect<KilnDialect>();
    target.addLegalOp<NoneOp>();
    target.addDynamicallyLegalOp<func::FuncOp>(
        [&](func::FuncOp f) { return tc.isSignatureLegal(f.getFunctionType()); });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return tc.isLegal(op); });

    // Name the first op that cannot be lowered, at its location.
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns)))) {
      getOperation().walk([](Operation *op) {
        if (isa<KilnDialect>(op->getDialect()) && !isa<NoneOp>(op)) {
          op->emitError("") << op->getName().getStringRef().drop_front(5)
                            << " with operand types " << op->getOperandTypes()
                            << " and these attributes is not supported";
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      return signalPassFailure();
    }
    getOperation().walk([](NoneOp op) {
      if (op->use_empty())
        op->erase();
    });
  }
};
} // namespace
} // namespace kiln
