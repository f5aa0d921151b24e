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
#include "dialect/ConstantData.h"
#include "llvm/ADT/SetVector.h"
#include <cmath>
#include <cstring>

using namespace mlir;

namespace kiln {
#define GEN_PASS_DEF_KILNFOLDBATCHNORM
#include "lowering/Passes.h.inc"

namespace {

/// The f32 values of a constant `v` with `n` elements, or nothing.
std::optional<ConstantBuffer> constantValues(Value v, int64_t n) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c || !c.getValue().getElementType().isF32() || c.getValue().getNumElements() != n)
    return std::nullopt;
  ConstantBuffer values(n * sizeof(float));
  if (auto dense = llvm::dyn_cast<DenseElementsAttr>(c.getValue())) {
    llvm::copy(dense.getValues<float>(), values.as<float>());
    return values;
  }
  std::optional<ArrayRef<char>> bytes = constantBytes(c.getValue());
  if (!bytes)
    return std::nullopt;
  std::memcpy(values.data(), bytes->data(), values.size());
  return values;
}

struct FoldBatchNormPass : impl::KilnFoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    SmallVector<BatchNormalizationOp> norms;
    getOperation().walk([&](BatchNormalizationOp bn) { norms.push_back(bn); });
    BlobReferences blobs(getOperation());
    for (BatchNormalizationOp bn : norms)
      fold(bn, blobs);
  }

  void fold(BatchNormalizationOp bn, BlobReferences &blobs) {
    auto conv = bn.getX().getDefiningOp<ConvOp>();
    if (bn.getTrainingMode() != 0 || !conv || !conv->hasOneUse())
      return;
    auto wType = llvm::dyn_cast<RankedTensorType>(conv.getW().getType());
    if (!wType || !wType.hasStaticShape() || wType.getRank() < 3 ||
        bn.getY().getType() != conv.getY().getType())
      return;
    int64_t f = wType.getDimSize(0), per = wType.getNumElements() / std::max<int64_t>(f, 1);
    // The weight is read where it is (scaled into its new buffer), or
    // copied first when it is no raw data (a splat).
    int64_t n = wType.getNumElements();
    auto weightOp = conv.getW().getDefiningOp<ConstantOp>();
    std::optional<ArrayRef<char>> weightBytes =
        weightOp ? constantBytes(weightOp.getValue()) : std::nullopt;
    bool raw = weightBytes && wType.getElementType().isF32() &&
               weightBytes->size() == n * sizeof(float);
    std::optional<ConstantBuffer> copied = raw ? std::nullopt : constantValues(conv.getW(), n);
    if (!raw && !copied)
      return;
    const float *from = raw ? reinterpret_cast<const float *>(weightBytes->data())
                            : copied->as<float>();
    std::optional<ConstantBuffer> scales = constantValues(bn.getScale(), f),
                                  betas = constantValues(bn.getB(), f),
                                  means = constantValues(bn.getInputMean(), f),
                                  vars = constantValues(bn.getInputVar(), f);
    std::optional<ConstantBuffer> biases =
        llvm::isa<NoneType>(conv.getB().getType())
            ? std::optional<ConstantBuffer>(std::in_place, f * sizeof(float)) // zeros
            : constantValues(conv.getB(), f);
    if (!biases || !scales || !betas || !means || !vars)
      return;
    ConstantBuffer weights(n * sizeof(float));
    float *w = weights.as<float>(), *bias = biases->as<float>();
    const float *scale = scales->as<float>(), *beta = betas->as<float>(),
                *mean = means->as<float>(), *var = vars->as<float>();
    double epsilon = bn.getEpsilon().convertToFloat();
    SmallVector<double> factors(f);
    for (int64_t i = 0; i < f; ++i) {
      factors[i] = scale[i] / std::sqrt(double(var[i]) + epsilon);
      bias[i] = float((bias[i] - double(mean[i])) * factors[i] + beta[i]);
    }
    forEachPart(bn->getContext(), f, weights.size(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        for (int64_t j = 0; j < per; ++j)
          w[i * per + j] = float(from[i * per + j] * factors[i]);
    });
    OpBuilder b(bn);
    Location loc = bn.getLoc();
    auto biasType = RankedTensorType::get({f}, b.getF32Type());
    auto newW = ConstantOp::create(b, loc, wType, constantAttr(wType, std::move(weights)));
    auto newB = ConstantOp::create(b, loc, biasType, constantAttr(biasType, std::move(*biases)));
    blobs.added(newW);
    blobs.added(newB);
    Operation *folded = b.clone(*conv);
    folded->setOperand(1, newW);
    folded->setOperand(2, newB);
    // Profiles name kernels by the ONNX nodes they compute: both.
    folded->setLoc(b.getFusedLoc({conv.getLoc(), loc}));
    bn.getY().replaceAllUsesWith(folded->getResult(0));
    // The old weights and parameters, unless something else reads them.
    llvm::SetVector<ConstantOp> inputs;
    for (Value v : llvm::concat<Value>(bn->getOperands(), conv->getOperands()))
      if (auto c = v.getDefiningOp<ConstantOp>())
        inputs.insert(c);
    bn.erase();
    conv.erase();
    for (ConstantOp c : inputs)
      if (c->use_empty()) {
        blobs.erasing(c);
        c.erase();
      }
  }
};
} // namespace
} // namespace kiln
