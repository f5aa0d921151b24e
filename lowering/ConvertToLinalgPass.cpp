//===- ConvertToLinalgPass.cpp - kiln-convert-to-linalg -------------------===//
#include "lowering/KilnToLinalg/Common.h"
#include "lowering/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNCONVERTTOLINALG
#include "lowering/Passes.h.inc"

namespace {

/// Compiled code holds strings as i64 addresses, so only ops that move
/// elements (and the string ops) may see them; any other would compute on
/// addresses. Emits an error at the first other op with a string operand
/// or result.
LogicalResult checkStringUses(ModuleOp module) {
  static const llvm::StringSet<> moving = {
      "kiln.None", "kiln.Constant", "kiln.Identity", "kiln.Flatten", "kiln.Reshape",
      "kiln.Transpose", "kiln.Concat", "kiln.Unsqueeze", "kiln.Squeeze", "kiln.Shape",
      "kiln.Where", "kiln.Slice", "kiln.Gather", "kiln.GatherElements", "kiln.Expand",
      "kiln.Split", "kiln.Equal", "kiln.StringConcat", "kiln.RegexFullMatch",
      "kiln.StringNormalizer", "kiln.StringSplit", "kiln.LabelEncoder", "kiln.TfIdfVectorizer",
      "kiln.ScatterElements", "kiln.ScatterND", "kiln.Loop", "kiln.If", "kiln.yield",
      "kiln.Cast"};
  auto isString = [](Type t) {
    auto s = llvm::dyn_cast<ShapedType>(t);
    return s && llvm::isa<StringType>(s.getElementType());
  };
  WalkResult walk = module.walk([&](Operation *op) {
    if (!llvm::isa<KilnDialect>(op->getDialect()))
      return WalkResult::advance();
    if (!llvm::any_of(op->getOperandTypes(), isString) &&
        !llvm::any_of(op->getResultTypes(), isString))
      return WalkResult::advance();
    StringRef name = op->getName().getStringRef();
    auto reduction = op->getAttrOfType<StringAttr>("reduction");
    if (moving.contains(name) && (!reduction || reduction.getValue() == "none"))
      return WalkResult::advance();
    op->emitError() << name.drop_front(5) << " on strings is not supported";
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

struct ConvertToLinalgPass : impl::KilnConvertToLinalgBase<ConvertToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    if (failed(checkStringUses(getOperation())))
      return signalPassFailure();
    KilnTypeConverter tc;
    RewritePatternSet patterns(ctx);
    populateElementwisePatterns(tc, patterns);
    populateMathPatterns(tc, patterns);
    populateConvPatterns(tc, patterns);
    populatePoolingPatterns(tc, patterns);
    populateTensorPatterns(tc, patterns);
    populateReductionPatterns(tc, patterns);
    populateIndexingPatterns(tc, patterns);
    populateScatterPatterns(tc, patterns);
    populateDataDependentPatterns(tc, patterns);
    populateGridSamplePatterns(tc, patterns);
    populateStringPatterns(tc, patterns);
    populateControlFlowPatterns(tc, patterns);
    populateTreeEnsemblePatterns(tc, patterns);
    populateImagePatterns(tc, patterns);
    populateRandomPatterns(tc, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, tc);
    populateReturnOpTypeConversionPattern(patterns, tc);
    populateCallOpTypeConversionPattern(patterns, tc);

    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, scf::SCFDialect, memref::MemRefDialect,
                           bufferization::BufferizationDialect, LLVM::LLVMDialect>();
    target.addIllegalDialect<KilnDialect>();
    target.addLegalOp<NoneOp>();
    target.addDynamicallyLegalOp<func::FuncOp>(
        [&](func::FuncOp f) { return tc.isSignatureLegal(f.getFunctionType()); });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return tc.isLegal(op); });

    // Restate the conversion's "failed to legalize" for the op it names, at
    // that op's location, in terms a model author can act on.
    std::optional<std::pair<Location, std::string>> failedOp;
    LogicalResult result = success();
    {
      ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) -> LogicalResult {
        std::string text = d.str();
        auto at = text.find("failed to legalize operation '");
        if (at == std::string::npos)
          return failure(); // not ours: let it through
        if (!failedOp) {
          size_t begin = at + 30, end = text.find('\'', begin);
          failedOp.emplace(d.getLocation(), text.substr(begin, end - begin));
        }
        return success();
      });
      result = applyPartialConversion(getOperation(), target, std::move(patterns));
    }
    if (failed(result)) {
      std::string name = failedOp ? failedOp->second : "an op";
      if (llvm::StringRef(name).starts_with("kiln."))
        name = name.substr(5);
      emitError(failedOp ? failedOp->first : getOperation().getLoc())
          << name << " with these operand types, shapes or attributes is not supported";
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
