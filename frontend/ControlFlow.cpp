//===- ControlFlow.cpp - If, Loop and Scan with structure known up front --===//
//
// Control flow whose shape is fixed when compiling is imported inline:
//  - If with a constant condition imports the branch taken; with a run-time
//    condition, branches whose outputs have one static type are both
//    imported and each output selected with Where (branches are side-effect
//    free, so computing both is safe); other branches become a kiln.If with
//    a region each, lowered to scf.if.
//  - Loop with a trip count known when compiling and a condition that stays
//    true (or folds), and Scan over static sequence lengths, are unrolled,
//    within the importer's unrolling limits (reserveUnrolledSteps).
//  - Other loops become kiln.Loop regions, lowered to scf.while
//    (lowering/KilnToLinalg/ControlFlow.cpp).
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {
namespace {

const onnx::GraphProto &graphAttr(Importer &im, const char *name) {
  const auto *a = im.attr(name);
  if (!a || a->type() != onnx::AttributeProto::GRAPH)
    im.fail(std::string("attribute '") + name + "' (a graph) is required");
  return a->g();
}

/// The value of a constant boolean or integer scalar, if it is one.
std::optional<int64_t> constantInt(Value v) {
  auto ints = getConstantInts(v);
  if (!ints || ints->size() != 1)
    return std::nullopt;
  return (*ints)[0];
}

Value scalarOf(Importer &im, Value v) {
  return im.make("Reshape", {v, im.i64Constant({})});
}

Type joinTypes(Type a, Type b);

/// If under a run-time condition whose branches differ in type: a kiln.If
/// with both branches as regions (lowered to scf.if), so only the branch
/// taken runs and each output may have either branch's shape.
void buildBranchingIf(Importer &im, const onnx::NodeProto &n, Value cond,
                      const onnx::GraphProto &thenG, const onnx::GraphProto &elseG) {
  OperationState state(im.loc, "kiln.If");
  state.addOperands(scalarOf(im, cond));
  state.addTypes(llvm::SmallVector<Type>(thenG.output_size(), im.b.getNoneType()));
  state.addRegion();
  state.addRegion();
  Operation *op = im.b.create(state);
  std::vector<std::vector<Value>> outs;
  const onnx::NodeProto *outer = im.node;
  for (int r = 0; r < 2; ++r) {
    Block *block = new Block;
    op->getRegion(r).push_back(block);
    OpBuilder::InsertionGuard guard(im.b);
    im.b.setInsertionPointToStart(block);
    outs.push_back(im.importSubgraph(r == 0 ? thenG : elseG, {}));
    im.node = outer;
    if ((int)outs.back().size() != thenG.output_size())
      im.fail("the branches have different numbers of outputs");
    YieldOp::create(im.b, im.loc, ValueRange(outs.back()));
  }
  for (int i = 0; i < thenG.output_size(); ++i) {
    Type joined = joinTypes(outs[0][i].getType(), outs[1][i].getType());
    if (!joined) {
      std::string types;
      llvm::raw_string_ostream os(types);
      os << outs[0][i].getType() << " and " << outs[1][i].getType();
      im.fail("the branches give output " + std::to_string(i) + " different element types or ranks (" +
              types + "); a condition computed from tensor data cannot choose between them (one " +
              "computed from scalar inputs is compiled in per value)");
    }
    op->getResult(i).setType(joined);
  }
  if (failed(verify(op)))
    im.fail("the branches do not verify");
  if ((int)op->getNumResults() < n.output_size())
    im.fail("the branch has fewer outputs than the node");
  im.bindResults(std::vector<Value>(op->result_begin(), op->result_end()));
}

void buildIf(Importer &im, const onnx::NodeProto &n) {
  const onnx::GraphProto &thenG = graphAttr(im, "then_branch"), &elseG = graphAttr(im, "else_branch");
  Value cond = im.input(0);
  std::vector<Value> outs;
  if (auto c = constantInt(cond)) {
    // The branch may give sequences and optionals, bound as they are.
    std::vector<Importer::GraphValue> taken = im.importSubgraphValues(*c ? thenG : elseG, {});
    if ((int)taken.size() < n.output_size())
      im.fail("the branch has fewer outputs than the node");
    for (int i = 0; i < n.output_size(); ++i)
      if (!n.output(i).empty())
        im.bind(n.output(i), taken[i]);
    return;
  } else {
    std::vector<Value> t = im.importSubgraph(thenG, {}), e = im.importSubgraph(elseG, {});
    if (t.size() != e.size())
      im.fail("the branches have different numbers of outputs");
    bool sameStatic = true;
    for (size_t i = 0; i < t.size(); ++i) {
      auto tt = llvm::dyn_cast<RankedTensorType>(t[i].getType());
      sameStatic &= tt && tt.hasStaticShape() && t[i].getType() == e[i].getType();
    }
    if (!sameStatic)
      return buildBranchingIf(im, n, cond, thenG, elseG); // what was imported is left unused
    Value pick = scalarOf(im, cond);
    for (size_t i = 0; i < t.size(); ++i)
      outs.push_back(im.make("Where", {pick, t[i], e[i]}));
  }
  if ((int)outs.size() < n.output_size())
    im.fail("the branch has fewer outputs than the node");
  im.bindResults(outs);
}

/// Stacks per-iteration values along a new axis.
Value stack(Importer &im, const std::vector<Value> &parts, int64_t axis) {
  if (parts.empty())
    im.fail("a scan output over zero iterations is not supported");
  std::vector<Value> expanded;
  for (Value v : parts)
    expanded.push_back(im.make("Unsqueeze", {v, im.i64Constant({axis})}));
  return expanded.size() == 1 ? expanded[0] : im.make("Concat", expanded, {im.intAttr("axis", axis)});
}

/// `a` and `b` made one type: dims that differ become dynamic. Null when
/// the element types or ranks differ.
Type joinTypes(Type a, Type b) {
  auto x = llvm::dyn_cast<RankedTensorType>(a), y = llvm::dyn_cast<RankedTensorType>(b);
  if (!x || !y || x.getElementType() != y.getElementType() || x.getRank() != y.getRank())
    return {};
  llvm::SmallVector<int64_t> dims;
  for (int64_t i = 0; i < x.getRank(); ++i)
    dims.push_back(x.getDimSize(i) == y.getDimSize(i) ? x.getDimSize(i) : ShapedType::kDynamic);
  return RankedTensorType::get(dims, x.getElementType());
}

} // namespace

std::vector<Value> runtimeLoop(Importer &im, Value trip, Value cond,
                               const std::vector<Value> &initial, int numScan,
                               const LoopBody &importBody) {
  std::vector<Type> types;
  for (Value v : initial) {
    if (!llvm::isa<RankedTensorType>(v.getType()))
      im.fail("loop-carried values need a known rank");
    types.push_back(v.getType());
  }
  Type i64 = RankedTensorType::get({}, im.b.getI64Type());
  Type i1 = RankedTensorType::get({}, im.b.getI1Type());
  for (int attempt = 0; attempt <= (int)types.size() + 1; ++attempt) {
    OperationState state(im.loc, "kiln.Loop");
    state.addOperands({trip, cond});
    state.addOperands(initial);
    state.addTypes(types);
    // Scan outputs are typed once the body is: placeholders until then.
    state.addTypes(llvm::SmallVector<Type>(numScan, i64));
    state.addRegion();
    Operation *loop = im.b.create(state);
    Block *block = new Block;
    loop->getRegion(0).push_back(block);
    block->addArgument(i64, im.loc);
    block->addArgument(i1, im.loc);
    for (Type t : types)
      block->addArgument(t, im.loc);
    std::vector<Value> outs;
    {
      OpBuilder::InsertionGuard guard(im.b);
      im.b.setInsertionPointToStart(block);
      const onnx::NodeProto *outer = im.node;
      outs = importBody(llvm::SmallVector<Value>(block->getArguments()));
      im.node = outer;
      if (outs.size() != 1 + types.size() + numScan)
        im.fail("the loop body has " + std::to_string(outs.size()) + " outputs, " +
                std::to_string(1 + types.size() + numScan) + " expected");
      bool settled = true;
      for (size_t i = 0; i < types.size(); ++i) {
        Type joined = joinTypes(types[i], outs[1 + i].getType());
        if (!joined)
          im.fail("loop-carried value " + std::to_string(i) +
                  " changes element type or rank between iterations");
        settled &= joined == types[i];
        types[i] = joined;
      }
      if (settled) {
        outs[0] = im.make("Reshape", {outs[0], im.i64Constant({})});
        if (outs[0].getType() != i1)
          im.fail("the loop body's condition must be one bool");
        for (int k = 0; k < numScan; ++k) {
          auto item = llvm::dyn_cast<RankedTensorType>(outs[1 + types.size() + k].getType());
          if (!item)
            im.fail("scan output " + std::to_string(k) + " needs a known rank");
          llvm::SmallVector<int64_t> dims{ShapedType::kDynamic};
          dims.append(item.getShape().begin(), item.getShape().end());
          loop->getResult(types.size() + k)
              .setType(RankedTensorType::get(dims, item.getElementType()));
        }
        YieldOp::create(im.b, im.loc, ValueRange(outs));
      }
    }
    if (block->empty() || !llvm::isa<YieldOp>(block->back())) {
      loop->erase();
      continue;
    }
    if (failed(verify(loop)))
      im.fail("the loop does not verify");
    return std::vector<Value>(loop->result_begin(), loop->result_end());
  }
  im.fail("the types of loop-carried values do not settle");
}

namespace {

void buildRuntimeLoop(Importer &im, const onnx::GraphProto &body, Value trip, Value cond,
                      const std::vector<Value> &initial) {
  int numScan = body.output_size() - 1 - (int)initial.size();
  im.bindResults(runtimeLoop(im, trip, cond, initial, numScan, [&](llvm::ArrayRef<Value> args) {
    return im.importSubgraph(body, args);
  }));
}

void buildLoop(Importer &im, const onnx::NodeProto &n) {
  using GraphValue = Importer::GraphValue;
  const onnx::GraphProto &body = graphAttr(im, "body");
  Value tripV = im.input(0), condV = im.input(1);
  std::vector<GraphValue> carried;
  bool allTensors = true;
  for (int i = 2; i < n.input_size(); ++i) {
    carried.push_back(n.input(i).empty() ? GraphValue::of(im.none()) : im.lookup(n.input(i)));
    allTensors &= carried.back().kind == GraphValue::Tensor;
  }
  std::optional<int64_t> trips = constantInt(tripV), initialCond = constantInt(condV);
  bool noTrip = llvm::isa<NoneType>(tripV.getType()), noCond = llvm::isa<NoneType>(condV.getType());
  size_t numCarried = carried.size();
  int numScan = body.output_size() - 1 - (int)numCarried;
  if (numScan < 0)
    im.fail("the body has fewer outputs than loop-carried values");
  auto runtimeLoop = [&](const std::vector<GraphValue> &initial) {
    std::vector<Value> tensors;
    for (const GraphValue &v : initial) {
      if (v.kind != GraphValue::Tensor)
        im.fail("a loop carrying a sequence or an optional needs its trip count and condition "
                "known when compiling (and at most " + std::to_string(Importer::kMaxUnrollSteps) +
                " steps)");
      tensors.push_back(v.tensor);
    }
    buildRuntimeLoop(im, body, tripV, condV, tensors);
  };
  // A loop longer than Limits::maxLoopIterations stays a loop, whose
  // iterations the run counts against the limit (unrolled, it would run
  // them without counting).
  uint64_t maxIterations = im.opts.limits.maxLoopIterations;
  bool unrollable = trips && (noCond || initialCond) && *trips <= Importer::kMaxUnrollSteps &&
                    (maxIterations == 0 || uint64_t(*trips) <= maxIterations);
  if (!unrollable)
    return runtimeLoop(carried);
  im.reserveUnrolledSteps(*trips, "a loop");
  bool cond = noCond || *initialCond != 0;
  std::vector<GraphValue> initial = carried;
  std::vector<std::vector<Value>> scans(numScan);
  for (int64_t i = 0; i < *trips && cond; ++i) {
    std::vector<GraphValue> in{
        GraphValue::of(im.i64Scalar(i)),
        GraphValue::of(im.constant(Tensor::fromVector(ElementType::Bool, {}, std::vector<uint8_t>{1})))};
    in.insert(in.end(), carried.begin(), carried.end());
    std::vector<GraphValue> out = im.importSubgraphValues(body, in);
    std::optional<int64_t> c;
    if (out[0].kind == GraphValue::Tensor)
      c = constantInt(out[0].tensor);
    if (!c) { // computed at run time after all; what was unrolled is left unused
      if (!allTensors)
        im.fail("a loop carrying a sequence or an optional needs a condition known when "
                "compiling");
      return runtimeLoop(initial);
    }
    cond = *c != 0;
    carried.assign(out.begin() + 1, out.begin() + 1 + numCarried);
    for (int s = 0; s < numScan; ++s) {
      if (out[1 + numCarried + s].kind != GraphValue::Tensor)
        im.fail("scan output " + std::to_string(s) + " of the body is not a tensor");
      scans[s].push_back(out[1 + numCarried + s].tensor);
    }
  }
  if ((int)(numCarried + numScan) < n.output_size())
    im.fail("the node has more outputs than the body gives");
  for (size_t i = 0; i < numCarried && (int)i < n.output_size(); ++i)
    if (!n.output(i).empty())
      im.bind(n.output(i), carried[i]);
  for (int s = 0; s < numScan && (int)numCarried + s < n.output_size(); ++s)
    if (!n.output(numCarried + s).empty())
      im.values[n.output(numCarried + s)] = stack(im, scans[s], 0);
}

/// Scan-8: batched (axis 0) states and scan inputs (sequence axis 1), each
/// batch element scanned on its own; sequence_lens must cover the sequence.
void buildScan8(Importer &im, const onnx::NodeProto &n) {
  const onnx::GraphProto &body = graphAttr(im, "body");
  const auto *ns = im.attr("num_scan_inputs");
  if (!ns)
    im.fail("attribute 'num_scan_inputs' is required");
  int64_t numScanIn = ns->i(), numState = n.input_size() - 1 - numScanIn;
  if (numState < 0 || numScanIn < 1)
    im.fail("num_scan_inputs does not fit the inputs");
  std::vector<int64_t> dirs(numScanIn, 0);
  if (const auto *d = im.attr("directions"))
    dirs.assign(d->ints().begin(), d->ints().end());
  if ((int64_t)dirs.size() != numScanIn)
    im.fail("attribute 'directions' has the wrong length");
  auto first = llvm::dyn_cast<RankedTensorType>(im.input(1 + numState).getType());
  if (!first || !first.hasStaticShape() || first.getRank() < 2)
    im.fail("scan inputs need static (batch, sequence, ...) shapes");
  int64_t batch = first.getDimSize(0), length = first.getDimSize(1);
  if (!llvm::isa<NoneType>(im.input(0).getType())) {
    auto lens = getConstantInts(im.input(0));
    if (!lens || llvm::any_of(*lens, [&](int64_t l) { return l != length; }))
      im.fail("sequence_lens shorter than the sequence are not supported");
  }
  auto at = [&](Value v, int64_t i) {
    return im.make("Gather", {v, im.i64Scalar(i)}, {im.intAttr("axis", 0)});
  };
  int64_t numScanOut = body.output_size() - numState;
  std::vector<std::vector<Value>> finals(numState), scans(numScanOut);
  for (int64_t b = 0; b < batch; ++b) {
    im.reserveUnrolledSteps(length, "a scan");
    std::vector<Value> states;
    for (int64_t i = 0; i < numState; ++i)
      states.push_back(at(im.input(1 + i), b));
    std::vector<std::vector<Value>> steps(numScanOut);
    for (int64_t t = 0; t < length; ++t) {
      std::vector<Value> in(states);
      for (int64_t j = 0; j < numScanIn; ++j)
        in.push_back(at(at(im.input(1 + numState + j), b), dirs[j] ? length - 1 - t : t));
      std::vector<Value> out = im.importSubgraph(body, in);
      states.assign(out.begin(), out.begin() + numState);
      for (int64_t s = 0; s < numScanOut; ++s)
        steps[s].push_back(out[numState + s]);
    }
    for (int64_t i = 0; i < numState; ++i)
      finals[i].push_back(states[i]);
    for (int64_t s = 0; s < numScanOut; ++s)
      scans[s].push_back(stack(im, steps[s], 0));
  }
  std::vector<Value> results;
  for (auto &f : finals)
    results.push_back(stack(im, f, 0));
  for (auto &s : scans)
    results.push_back(stack(im, s, 0));
  im.bindResults(results);
}

/// Scan over a sequence length known only at run time: a kiln.Loop over
/// the length, slicing each scan input at the step (from the end when
/// reversed); the stacked scan outputs are reversed and moved to their axis
/// afterwards. The first scan input's length decides the steps; ONNX has
/// the others agree (one that does not is read with Gather's clamped
/// indices).
void buildRuntimeScan(Importer &im, const onnx::GraphProto &body, const std::vector<Value> &states,
                      const std::vector<Value> &scanIns, const std::vector<int64_t> &inAxes,
                      const std::vector<int64_t> &inDirs, const std::vector<int64_t> &outAxes,
                      const std::vector<int64_t> &outDirs) {
  Value length = im.make("Gather", {im.make("Shape", {scanIns[0]}), im.i64Scalar(inAxes[0])},
                         {im.intAttr("axis", 0)});
  int numState = states.size(), numScanOut = body.output_size() - numState;
  std::vector<Value> results = runtimeLoop(
      im, length, im.none(), states, numScanOut, [&](llvm::ArrayRef<Value> args) {
        std::vector<Value> in(args.begin() + 2, args.end());
        for (size_t i = 0; i < scanIns.size(); ++i) {
          Value at = args[0];
          if (inDirs[i])
            at = im.make("Sub", {im.make("Sub", {length, im.i64Scalar(1)}), at});
          in.push_back(im.make("Gather", {scanIns[i], at}, {im.intAttr("axis", inAxes[i])}));
        }
        std::vector<Value> outs = im.importSubgraph(body, in);
        outs.insert(outs.begin(), args[1]);
        return outs;
      });
  for (int s = 0; s < numScanOut; ++s) {
    Value &out = results[numState + s];
    auto t = llvm::cast<RankedTensorType>(out.getType());
    if (outDirs[s]) {
      Value last = im.make("Sub", {length, im.i64Scalar(1)});
      Value order = im.make("Range", {last, im.i64Scalar(-1), im.i64Scalar(-1)});
      out = im.make("Gather", {out, order}, {im.intAttr("axis", 0)});
    }
    auto axis = normalizeAxis(outAxes[s], t.getRank());
    if (!axis)
      im.fail("scan_output_axes holds an axis out of range");
    if (*axis != 0) {
      llvm::SmallVector<int64_t> perm;
      for (int64_t j = 0; j < t.getRank(); ++j)
        perm.push_back(j < *axis ? j + 1 : j == *axis ? 0 : j);
      out = im.transpose(out, perm);
    }
  }
  im.bindResults(results);
}

void buildScan(Importer &im, const onnx::NodeProto &n) {
  if (im.opset < 9) {
    buildScan8(im, n);
    return;
  }
  const onnx::GraphProto &body = graphAttr(im, "body");
  const auto *ns = im.attr("num_scan_inputs");
  if (!ns)
    im.fail("attribute 'num_scan_inputs' is required");
  int64_t numScanIn = ns->i(), numIn = n.input_size(), numState = numIn - numScanIn;
  if (numState < 0)
    im.fail("num_scan_inputs exceeds the inputs");
  auto ints = [&](const char *name, int64_t count) {
    std::vector<int64_t> v(count, 0);
    if (const auto *a = im.attr(name))
      v.assign(a->ints().begin(), a->ints().end());
    if ((int64_t)v.size() != count)
      im.fail(std::string("attribute '") + name + "' has the wrong length");
    return v;
  };
  int64_t numScanOut = body.output_size() - numState;
  auto inAxes = ints("scan_input_axes", numScanIn), inDirs = ints("scan_input_directions", numScanIn);
  auto outAxes = ints("scan_output_axes", numScanOut), outDirs = ints("scan_output_directions", numScanOut);
  std::vector<Value> states, scanIns;
  for (int64_t i = 0; i < numState; ++i)
    states.push_back(im.input(i));
  int64_t length = -1;
  bool staticLength = true;
  for (int64_t i = 0; i < numScanIn; ++i) {
    Value v = im.input(numState + i);
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      im.fail("scan inputs need a known rank");
    auto axis = normalizeAxis(inAxes[i], t.getRank());
    if (!axis)
      im.fail("scan_input_axes holds an axis out of range");
    inAxes[i] = *axis;
    int64_t len = t.getDimSize(*axis);
    staticLength &= !ShapedType::isDynamic(len);
    if (length >= 0 && !ShapedType::isDynamic(len) && len != length)
      im.fail("scan inputs have different sequence lengths");
    if (!ShapedType::isDynamic(len))
      length = len;
    scanIns.push_back(v);
  }
  if (scanIns.empty())
    im.fail("Scan needs at least one scan input");
  if (!staticLength || length > Importer::kMaxUnrollSteps)
    return buildRuntimeScan(im, body, states, scanIns, inAxes, inDirs, outAxes, outDirs);
  im.reserveUnrolledSteps(length, "a scan");
  std::vector<std::vector<Value>> outs(numScanOut);
  for (int64_t step = 0; step < length; ++step) {
    std::vector<Value> in(states);
    for (int64_t i = 0; i < numScanIn; ++i) {
      int64_t at = inDirs[i] ? length - 1 - step : step;
      Value index = im.i64Scalar(at);
      in.push_back(im.make("Gather", {scanIns[i], index}, {im.intAttr("axis", inAxes[i])}));
    }
    std::vector<Value> out = im.importSubgraph(body, in);
    states.assign(out.begin(), out.begin() + numState);
    for (int64_t s = 0; s < numScanOut; ++s)
      outs[s].push_back(out[numState + s]);
  }
  std::vector<Value> results(states);
  for (int64_t s = 0; s < numScanOut; ++s) {
    if (outDirs[s])
      std::reverse(outs[s].begin(), outs[s].end());
    auto t = llvm::cast<RankedTensorType>(outs[s][0].getType());
    auto axis = normalizeAxis(outAxes[s], t.getRank() + 1);
    if (!axis)
      im.fail("scan_output_axes holds an axis out of range");
    results.push_back(stack(im, outs[s], *axis));
  }
  im.bindResults(results);
}

} // namespace

void addControlFlowBuilders(BuilderTable &t) {
  t["If"] = buildIf;
  t["Loop"] = buildLoop;
  t["Scan"] = buildScan;
}

} // namespace kiln
