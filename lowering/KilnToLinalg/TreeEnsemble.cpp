//===- TreeEnsemble.cpp - ai.onnx.ml TreeEnsemble -> host kernel ----------===//
//
// The trees are packed into constant tables when compiling (9 numbers per
// node, see runtime/HostKernels.h) and walked by the runtime's kernel, one
// row at a time: branchy, data-dependent code that gains nothing from
// being generated.
//
//===----------------------------------------------------------------------===//
#include "lowering/KilnToLinalg/Common.h"

using namespace mlir;

namespace kiln {
namespace {

SmallVector<int64_t> intsOf(ArrayAttr a) {
  SmallVector<int64_t> v;
  for (Attribute x : a)
    v.push_back(llvm::cast<IntegerAttr>(x).getInt());
  return v;
}

SmallVector<double> numbersOf(ElementsAttr a) {
  SmallVector<double> v;
  auto dense = llvm::cast<DenseElementsAttr>(a);
  if (llvm::isa<FloatType>(dense.getElementType())) {
    for (APFloat f : dense.getValues<APFloat>())
      v.push_back(f.convertToDouble());
  } else {
    bool isUnsigned = dense.getElementType().isUnsignedInteger();
    for (APInt i : dense.getValues<APInt>())
      v.push_back(isUnsigned ? double(i.getZExtValue()) : double(i.getSExtValue()));
  }
  return v;
}

Value table(OpBuilder &b, Location loc, Type elem, ArrayRef<double> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, elem);
  DenseElementsAttr attr;
  if (elem.isF64()) {
    attr = DenseElementsAttr::get(type, values);
  } else {
    SmallVector<int64_t> ints(values.begin(), values.end());
    attr = DenseElementsAttr::get(type, ArrayRef<int64_t>(ints));
  }
  return hostArg(b, loc, arith::ConstantOp::create(b, loc, type, attr));
}

struct TreeEnsembleLowering : OpConversionPattern<TreeEnsembleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TreeEnsembleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &r) const override {
    auto res = llvm::dyn_cast<RankedTensorType>(op.getType());
    Type elem = res ? res.getElementType() : Type();
    if (!res || !(elem.isF32() || elem.isF64()))
      return r.notifyMatchFailure(op, "float or double X");
    Location loc = op.getLoc();
    SmallVector<double> splits = numbersOf(op.getNodesSplits()), modes = numbersOf(op.getNodesModes());
    SmallVector<double> members;
    if (auto m = op.getMembershipValues())
      members = numbersOf(*m);
    SmallVector<int64_t> features = intsOf(op.getNodesFeatureids()),
                         trueLeaf = intsOf(op.getNodesTrueleafs()),
                         trueId = intsOf(op.getNodesTruenodeids()),
                         falseLeaf = intsOf(op.getNodesFalseleafs()),
                         falseId = intsOf(op.getNodesFalsenodeids());
    SmallVector<int64_t> missing(features.size(), 0);
    if (auto m = op.getNodesMissingValueTracksTrue())
      missing = intsOf(*m);
    // Each MEMBER node takes the next NaN-terminated run of members.
    SmallVector<double> nodes;
    size_t nextSet = 0;
    for (size_t i = 0; i < features.size(); ++i) {
      double setStart = double(members.size());
      if (modes[i] == 6) {
        setStart = double(nextSet);
        while (nextSet < members.size() && !std::isnan(members[nextSet]))
          ++nextSet;
        if (nextSet >= members.size())
          return op.emitOpError("membership_values has fewer sets than set-membership nodes");
        ++nextSet;
      } else if (modes[i] < 0 || modes[i] > 6) {
        return op.emitOpError("node mode ") << modes[i] << " is not one ONNX defines";
      }
      nodes.append({modes[i], double(features[i]), splits[i], double(trueLeaf[i] != 0),
                    double(trueId[i]), double(falseLeaf[i] != 0), double(falseId[i]),
                    double(missing[i] != 0), setStart});
    }
    SmallVector<double> leaves;
    SmallVector<double> weights = numbersOf(op.getLeafWeights());
    SmallVector<int64_t> targets = intsOf(op.getLeafTargetids());
    for (size_t i = 0; i < weights.size(); ++i)
      leaves.append({weights[i], double(targets[i])});
    SmallVector<double> roots;
    for (int64_t root : intsOf(op.getTreeRoots()))
      roots.push_back(double(root));

    Type f64 = r.getF64Type(), i64 = r.getI64Type();
    SmallVector<Value> sizes;
    if (res.isDynamicDim(0))
      sizes.push_back(dimValue(r, loc, adaptor.getX(), 0));
    HostOutput out = allocateForHost(r, loc, res.getShape(), elem, sizes);
    callHost(r, op, elem.isF32() ? "kiln_tree_ensemble_f32" : "kiln_tree_ensemble_f64",
             {hostArg(r, loc, adaptor.getX()), table(r, loc, f64, nodes),
              table(r, loc, f64, members), table(r, loc, f64, leaves), table(r, loc, i64, roots),
              hostArg(r, loc, out.buffer),
              arith::ConstantIntOp::create(r, loc, i64, op.getAggregateFunction()),
              arith::ConstantIntOp::create(r, loc, i64, op.getPostTransform())});
    r.replaceOp(op, out.tensor(r, loc));
    return success();
  }
};

} // namespace

void populateTreeEnsemblePatterns(KilnTypeConverter &tc, RewritePatternSet &p) {
  p.add<TreeEnsembleLowering>(tc, p.getContext());
}

} // namespace kiln
