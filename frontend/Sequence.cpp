//===- Sequence.cpp - sequences whose structure is known when compiling --===//
//
// A sequence built inside the graph (SequenceConstruct, SplitToSequence,
// SequenceInsert ...) is tracked by the importer as a list of tensor values:
// compiled code never sees a sequence, only the tensors in it. Positions
// must therefore be known when compiling; positions read from graph inputs
// are shape-deciding inputs (see shapeDefiningInputs), so a session compiles
// for the values it is given, as it does for Reshape's shape.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"

namespace kiln {
namespace {

std::vector<Value> &sequenceInput(Importer &im, int i) {
  if (i >= im.node->input_size() || im.node->input(i).empty())
    im.fail("input " + std::to_string(i) + " (a sequence) is missing");
  auto it = im.sequences.find(im.node->input(i));
  if (it == im.sequences.end())
    im.fail("input '" + im.node->input(i) + "' is not a sequence built in the graph");
  return it->second;
}

/// A position operand: absent -> `dflt`; negative counts from the end of a
/// sequence of `size` (+1 when inserting); must land in [0, limit].
int64_t position(Importer &im, int i, int64_t dflt, int64_t size, int64_t limit) {
  Value v = im.input(i);
  if (llvm::isa<NoneType>(v.getType()))
    return dflt;
  auto p = getConstantInts(v);
  if (!p || p->size() != 1)
    im.fail("position must be a scalar known when compiling");
  int64_t pos = (*p)[0] < 0 ? (*p)[0] + size : (*p)[0];
  if (pos < 0 || pos > limit)
    im.fail("position " + std::to_string((*p)[0]) + " is out of range for a sequence of " +
            std::to_string(size) + " tensors");
  return pos;
}

void buildSequenceEmpty(Importer &im, const onnx::NodeProto &n) {
  im.sequences[n.output(0)] = {};
}

void buildSequenceConstruct(Importer &im, const onnx::NodeProto &n) {
  im.sequences[n.output(0)] = inputs(im, -1);
}

void buildSequenceInsert(Importer &im, const onnx::NodeProto &n) {
  std::vector<Value> seq = sequenceInput(im, 0);
  int64_t size = seq.size();
  int64_t pos = position(im, 2, size, size, size);
  seq.insert(seq.begin() + pos, im.input(1));
  im.sequences[n.output(0)] = std::move(seq);
}

void buildSequenceErase(Importer &im, const onnx::NodeProto &n) {
  std::vector<Value> seq = sequenceInput(im, 0);
  int64_t size = seq.size();
  if (!size)
    im.fail("cannot erase from an empty sequence");
  int64_t pos = position(im, 1, size - 1, size, size - 1);
  seq.erase(seq.begin() + pos);
  im.sequences[n.output(0)] = std::move(seq);
}

void buildSequenceAt(Importer &im, const onnx::NodeProto &n) {
  const std::vector<Value> &seq = sequenceInput(im, 0);
  int64_t size = seq.size();
  if (!size)
    im.fail("SequenceAt on an empty sequence");
  im.values[n.output(0)] = seq[position(im, 1, 0, size, size - 1)];
}

void buildSequenceLength(Importer &im, const onnx::NodeProto &n) {
  int64_t size = sequenceInput(im, 0).size();
  Value v = im.i64Constant({size});
  im.values[n.output(0)] = im.make("Reshape", {v, im.i64Constant({})});
}

void buildConcatFromSequence(Importer &im, const onnx::NodeProto &n) {
  const std::vector<Value> &seq = sequenceInput(im, 0);
  if (seq.empty())
    im.fail("ConcatFromSequence on an empty sequence");
  const auto *a = im.attr("axis");
  if (!a)
    im.fail("attribute 'axis' is required");
  const auto *na = im.attr("new_axis");
  bool newAxis = na && na->i();
  auto t = llvm::dyn_cast<RankedTensorType>(seq[0].getType());
  if (!t)
    im.fail("sequence elements need a known rank");
  int64_t rank = t.getRank() + (newAxis ? 1 : 0);
  auto axis = normalizeAxis(a->i(), rank);
  if (!axis)
    im.fail("axis is out of range");
  std::vector<Value> parts;
  for (Value v : seq)
    parts.push_back(newAxis ? im.make("Unsqueeze", {v, im.i64Constant({*axis})}) : v);
  im.values[n.output(0)] = im.make("Concat", parts, {im.intAttr("axis", *axis)});
}

void buildSplitToSequence(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto t = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!t || !t.hasStaticShape())
    im.fail("input needs a static shape");
  const auto *a = im.attr("axis");
  auto axis = normalizeAxis(a ? a->i() : 0, t.getRank());
  if (!axis)
    im.fail("axis is out of range");
  int64_t dim = t.getDimSize(*axis);
  std::vector<int64_t> sizes;
  Value split = im.input(1);
  bool squeeze = false;
  if (llvm::isa<NoneType>(split.getType())) {
    // One element per slice; keepdims=0 drops the split axis.
    const auto *k = im.attr("keepdims");
    squeeze = k && !k->i();
    sizes.assign(dim, 1);
  } else {
    auto s = getConstantInts(split);
    if (!s)
      im.fail("split must be known when compiling");
    auto st = llvm::cast<RankedTensorType>(split.getType());
    if (st.getRank() == 0) {
      int64_t chunk = (*s)[0];
      if (chunk <= 0)
        im.fail("split must be positive");
      for (int64_t off = 0; off < dim; off += chunk)
        sizes.push_back(std::min(chunk, dim - off));
    } else {
      sizes.assign(s->begin(), s->end());
      int64_t total = 0;
      for (int64_t v : sizes)
        total += v;
      if (total != dim)
        im.fail("split sizes sum to " + std::to_string(total) + ", the axis has " +
                std::to_string(dim));
    }
  }
  if (sizes.size() > 4096)
    im.fail("a sequence of " + std::to_string(sizes.size()) + " tensors is more than 4096");
  std::vector<Value> seq;
  int64_t off = 0;
  for (int64_t size : sizes) {
    Value part = im.slice(x, *axis, off, off + size);
    if (squeeze)
      part = im.make("Squeeze", {part, im.i64Constant({*axis})});
    seq.push_back(part);
    off += size;
  }
  im.sequences[n.output(0)] = std::move(seq);
}

/// SequenceMap: the body imported once per position, with the tensors of
/// the sequence inputs at that position and the tensor inputs as they are.
void buildSequenceMap(Importer &im, const onnx::NodeProto &n) {
  const auto *a = im.attr("body");
  if (!a || !a->has_g())
    im.fail("attribute 'body' (a graph) is required");
  std::vector<Importer::GraphValue> in;
  for (int i = 0; i < n.input_size(); ++i)
    in.push_back(im.lookup(n.input(i)));
  if (in.empty() || in[0].kind != Importer::GraphValue::Sequence)
    im.fail("input 0 must be a sequence");
  size_t length = in[0].items.size();
  for (size_t i = 1; i < in.size(); ++i) {
    if (in[i].kind == Importer::GraphValue::Empty)
      im.fail("input " + std::to_string(i) + " is an empty optional");
    if (in[i].kind == Importer::GraphValue::Sequence && in[i].items.size() != length)
      im.fail("input " + std::to_string(i) + " holds " + std::to_string(in[i].items.size()) +
              " tensors, input 0 holds " + std::to_string(length));
  }
  im.reserveUnrolledSteps(length, "SequenceMap");
  std::vector<std::vector<Value>> outs(n.output_size());
  for (size_t k = 0; k < length; ++k) {
    std::vector<Value> args;
    for (const auto &v : in)
      args.push_back(v.kind == Importer::GraphValue::Sequence ? v.items[k] : v.tensor);
    std::vector<Value> res = im.importSubgraph(a->g(), args);
    if (res.size() < outs.size())
      im.fail("the body has fewer outputs than the node");
    for (size_t j = 0; j < outs.size(); ++j)
      outs[j].push_back(res[j]);
  }
  for (int j = 0; j < n.output_size(); ++j)
    if (!n.output(j).empty())
      im.bind(n.output(j), Importer::GraphValue::sequence(outs[j]));
}

} // namespace

void addSequenceBuilders(BuilderTable &t) {
  // Identity also passes sequences and empty optionals on.
  NodeBuilder tensorIdentity = t.at("Identity");
  t["Identity"] = [tensorIdentity](Importer &im, const onnx::NodeProto &n) {
    if (n.input_size() == 1 && n.output_size() == 1 && !n.input(0).empty()) {
      Importer::GraphValue v = im.lookup(n.input(0));
      if (v.kind != Importer::GraphValue::Tensor)
        return im.bind(n.output(0), v);
    }
    tensorIdentity(im, n);
  };
  t["SequenceMap"] = buildSequenceMap;
  t["SequenceEmpty"] = buildSequenceEmpty;
  t["SequenceConstruct"] = buildSequenceConstruct;
  t["SequenceInsert"] = buildSequenceInsert;
  t["SequenceErase"] = buildSequenceErase;
  t["SequenceAt"] = buildSequenceAt;
  t["SequenceLength"] = buildSequenceLength;
  t["ConcatFromSequence"] = buildConcatFromSequence;
  t["SplitToSequence"] = buildSplitToSequence;
}

} // namespace kiln
