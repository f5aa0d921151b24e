//===- FoldBatchNormPass.cpp - kiln-fold-batch-norm -----------------------===//
//
// An inference BatchNormalization after a convolution is an affine map per
// output channel, y = (conv(x) + b - mean) * s + beta with
// s = scale / sqrt(var + epsilon). When the convolution's weights and the
// normalization's parameters are constants (as exported CNNs have them),
// the map is folded into them once, at compile time:
// W'[f] = W[f] * s[f], b'[f] = (b[f] - mean[f]) * s[f] + beta[f].
// The run then computes neither the normalization's square roots and
// divisions nor its pass over the convolution's output.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include <cmath>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFOLDBATCHNORM
#include "lowering/Passes.h.inc"

namespace {

/// The f32 values of a constant `v` with `n` elements, or nothing.
std::optional<std::vector<float>> constantValues(Value v, int64_t n) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto value = c ? llvm::dyn_cast<DenseElementsAttr>(c.getValue()) : DenseElementsAttr();
  if (!value || !value.getElementType().isF32() || value.getNumElements() != n)
    return std::nullopt;
  auto range = value.getValues<float>();
  return std::vector<float>(range.begin(), range.end());
}

struct FoldBatchNormPass : impl::KilnFoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    SmallVector<BatchNormalizationOp> norms;
    getOperation().walk([&](BatchNormalizationOp bn) { norms.push_back(bn); });
    for (BatchNormalizationOp bn : norms)
      fold(bn);
  }

  void fold(BatchNormalizationOp bn) {
    auto conv = bn.getX().getDefiningOp<ConvOp>();
    if (bn.getTrainingMode() != 0 || !conv || !conv->hasOneUse())
      return;
    auto wType = llvm::dyn_cast<RankedTensorType>(conv.getW().getType());
    if (!wType || !wType.hasStaticShape() || wType.getRank() < 3 ||
        bn.getY().getType() != conv.getY().getType())
      return;
    int64_t f = wType.getDimSize(0), per = wType.getNumElements() / std::max<int64_t>(f, 1);
    std::optional<std::vector<float>> w = constantValues(conv.getW(), wType.getNumElements());
    std::optional<std::vector<float>> scale = constantValues(bn.getScale(), f),
                                      beta = constantValues(bn.getB(), f),
                                      mean = constantValues(bn.getInputMean(), f),
                                      var = constantValues(bn.getInputVar(), f);
    std::vector<float> bias(f, 0.0f);
    if (!llvm::isa<NoneType>(conv.getB().getType())) {
      std::optional<std::vector<float>> b = constantValues(conv.getB(), f);
      if (!b)
        return;
      bias = *b;
    }
    if (!w || !scale || !beta || !mean || !var)
      return;
    double epsilon = bn.getEpsilon().convertToFloat();
    for (int64_t i = 0; i < f; ++i) {
      double s = (*scale)[i] / std::sqrt(double((*var)[i]) + epsilon);
      for (int64_t j = 0; j < per; ++j)
        (*w)[i * per + j] = float((*w)[i * per + j] * s);
      bias[i] = float((bias[i] - double((*mean)[i])) * s + (*beta)[i]);
    }
    OpBuilder b(bn);
    Location loc = bn.getLoc();
    auto biasType = RankedTensorType::get({f}, b.getF32Type());
    Value newW = ConstantOp::create(b, loc, wType, DenseElementsAttr::get(wType, ArrayRef<float>(*w)));
    Value newB = ConstantOp::create(b, loc, biasType, DenseElementsAttr::get(biasType, ArrayRef<float>(bias)));
    Operation *folded = b.clone(*conv);
    folded->setOperand(1, newW);
    folded->setOperand(2, newB);
    // Profiles name kernels by the ONNX nodes they compute: both.
    folded->setLoc(b.getFusedLoc({conv.getLoc(), loc}));
    bn.getY().replaceAllUsesWith(folded->getResult(0));
    bn.erase();
    conv.erase();
  }
};
} // namespace
} // namespace kiln
