//===- ShapeInferencePass.cpp - kiln-shape-inference ----------------------===//
#include "lowering/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSHAPEINFERENCE
#include "lowering/Passes.h.inc"

namespace {
struct ShapeInferencePass : impl::KilnShapeInferenceBase<ShapeInferencePass> {
  void runOnOperation() override {
    mlir::func::FuncOp func = getOperation();
    auto result = func.walk([](mlir::Operation *op) {
      if (!llvm::isa<KilnDialect>(op->getDialect()))
        return mlir::WalkResult::advance();
      return mlir::failed(inferShapes(op)) ? mlir::WalkResult::interrupt()
                                           : mlir::WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    // Results may have been refined: keep the signature in step.
    auto ret = llvm::cast<mlir::func::ReturnOp>(func.getBody().back().getTerminator());
    func.setType(mlir::FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                         ret.getOperandTypes()));
  }
};
} // namespace
} // namespace kiln
