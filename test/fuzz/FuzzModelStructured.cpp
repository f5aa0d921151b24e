//===- FuzzModelStructured.cpp - ModelProto-aware mutation of real models -===//
//
// The target of FuzzModel.cpp with a mutator that edits what a model means
// rather than its bytes: dims, element types, attribute kinds and values,
// node inputs, op types, opset versions, initializer sizes. Seeded with the
// ONNX node-test models, it reaches the shape rules and lowerings of every
// op with values at their edges (0, -1, 2^62, NaN, wrong kinds).
//
//===----------------------------------------------------------------------===//
#include "FuzzTargets.h"
#include <onnx/onnx_pb.h>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {

using Rng = std::mt19937_64;

int64_t edgeInt(Rng &rng) {
  static const int64_t values[] = {0,  1,  -1, 2,  3,  -2,  7,  64,  255, 256,
                                   INT32_MAX, int64_t(INT32_MAX) + 1, INT32_MIN,
                                   int64_t(1) << 40, int64_t(1) << 62, INT64_MAX, INT64_MIN};
  if (rng() % 3 == 0)
    return int64_t(rng() % 16) - 4;
  return values[rng() % std::size(values)];
}

float edgeFloat(Rng &rng) {
  static const float values[] = {0.f, -0.f, 1.f, -1.f, 0.5f, 1e-30f, 1e30f,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN(), 3.5f};
  return values[rng() % std::size(values)];
}

template <typename T> T *pick(google::protobuf::RepeatedPtrField<T> *field, Rng &rng) {
  return field->empty() ? nullptr : field->Mutable(int(rng() % field->size()));
}

void mutateShape(onnx::TypeProto *type, Rng &rng) {
  if (!type->has_tensor_type())
    return;
  auto *t = type->mutable_tensor_type();
  switch (rng() % 4) {
  case 0: t->set_elem_type(int(rng() % 28)); break;
  case 1: t->clear_shape(); break;
  case 2: t->mutable_shape()->add_dim()->set_dim_value(edgeInt(rng)); break;
  default:
    if (auto *d = pick(t->mutable_shape()->mutable_dim(), rng)) {
      if (rng() % 3 == 0)
        d->set_dim_param("n");
      else
        d->set_dim_value(edgeInt(rng));
    }
  }
}

void mutateAttribute(onnx::AttributeProto *a, Rng &rng) {
  switch (rng() % 7) {
  case 0: a->set_type(onnx::AttributeProto::AttributeType(rng() % 15)); break;
  case 1: a->set_i(edgeInt(rng)); break;
  case 2: a->set_f(edgeFloat(rng)); break;
  case 3:
    if (a->ints_size())
      a->set_ints(int(rng() % a->ints_size()), edgeInt(rng));
    else
      a->add_ints(edgeInt(rng));
    break;
  case 4: a->add_ints(edgeInt(rng)); break;
  case 5:
    if (a->ints_size())
      a->mutable_ints()->RemoveLast();
    break;
  default: a->set_s(rng() % 2 ? "" : "NOTSET_bad"); break;
  }
}

void mutateTensor(onnx::TensorProto *t, Rng &rng) {
  switch (rng() % 5) {
  case 0: t->set_data_type(int(rng() % 28)); break;
  case 1:
    if (t->dims_size())
      t->set_dims(int(rng() % t->dims_size()), edgeInt(rng));
    break;
  case 2: t->add_dims(edgeInt(rng)); break;
  case 3:
    if (!t->raw_data().empty())
      t->mutable_raw_data()->resize(rng() % (t->raw_data().size() + 8));
    break;
  default:
    if (!t->raw_data().empty())
      (*t->mutable_raw_data())[rng() % t->raw_data().size()] = char(rng());
    else if (t->int64_data_size())
      t->set_int64_data(int(rng() % t->int64_data_size()), edgeInt(rng));
  }
}

void mutateNode(onnx::GraphProto *g, onnx::NodeProto *n, Rng &rng) {
  switch (rng() % 6) {
  case 0:
    if (auto *a = pick(n->mutable_attribute(), rng))
      mutateAttribute(a, rng);
    break;
  case 1: {
    // An attribute of another node, under its name, on this one.
    const onnx::NodeProto &other = g->node(int(rng() % g->node_size()));
    if (other.attribute_size())
      *n->add_attribute() = other.attribute(int(rng() % other.attribute_size()));
    break;
  }
  case 2:
    if (n->input_size()) {
      std::string &in = *n->mutable_input(int(rng() % n->input_size()));
      in = rng() % 2 ? "" : n->output_size() ? n->output(0) : "missing";
    }
    break;
  case 3: n->add_input(g->input_size() ? g->input(0).name() : ""); break;
  case 4: {
    const onnx::NodeProto &other = g->node(int(rng() % g->node_size()));
    n->set_op_type(other.op_type());
    break;
  }
  default:
    if (n->attribute_size())
      n->mutable_attribute()->RemoveLast();
  }
}

void mutate(onnx::ModelProto &m, Rng &rng) {
  onnx::GraphProto *g = m.mutable_graph();
  switch (rng() % 6) {
  case 0:
    if (auto *v = pick(g->mutable_input(), rng))
      mutateShape(v->mutable_type(), rng);
    break;
  case 1:
    if (auto *v = pick(g->mutable_output(), rng))
      mutateShape(v->mutable_type(), rng);
    break;
  case 2:
    if (auto *t = pick(g->mutable_initializer(), rng))
      mutateTensor(t, rng);
    break;
  case 3:
    if (auto *o = pick(m.mutable_opset_import(), rng))
      o->set_version(int64_t(rng() % 26));
    break;
  default:
    if (auto *n = pick(g->mutable_node(), rng))
      mutateNode(g, n, rng);
  }
}

} // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
  Rng rng(seed);
  onnx::ModelProto model;
  if (rng() % 8 == 0 || !model.ParseFromArray(data, int(size)))
    return LLVMFuzzerMutate(data, size, maxSize);
  for (int edits = 1 + int(rng() % 3); edits > 0; --edits)
    mutate(model, rng);
  std::string out = model.SerializeAsString();
  if (out.size() > maxSize)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::fuzz::importAndCompile(data, size);
  return 0;
}
