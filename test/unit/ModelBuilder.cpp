//===- ModelBuilder.cpp - small ONNX models built in C++ for tests --------===//
#include "ModelBuilder.h"
#include <cmath>
#include "kiln/Tensor.h"
#include <gtest/gtest.h>

namespace kiln::test {

ModelBuilder::ModelBuilder(int64_t opset) {
  model_.set_ir_version(8);
  auto *op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

ModelBuilder &ModelBuilder::input(const std::string &name, int elemType,
                                  std::vector<int64_t> dims, std::vector<std::string> dimNames) {
  auto *v = model_.mutable_graph()->add_input();
  v->set_name(name);
  auto *tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elemType);
  auto *shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    auto *d = shape->add_dim();
    if (dims[i] >= 0)
      d->set_dim_value(dims[i]);
    else if (i < dimNames.size())
      d->set_dim_param(dimNames[i]);
  }
  return *this;
}

ModelBuilder &ModelBuilder::output(const std::string &name, int elemType) {
  auto *v = model_.mutable_graph()->add_output();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(elemType);
  return *this;
}

ModelBuilder &ModelBuilder::initializer(const std::string &name, std::vector<int64_t> dims,
                                        std::vector<float> values) {
  auto *t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->add_dims(d);
  for (float f : values)
    t->add_float_data(f);
  return *this;
}

ModelBuilder &ModelBuilder::externalInitializer(const std::string &name,
                                                std::vector<int64_t> dims,
                                                const std::string &location,
                                                const std::string &offset) {
  auto *t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->add_dims(d);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto *kv = t->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  if (!offset.empty()) {
    kv = t->add_external_data();
    kv->set_key("offset");
    kv->set_value(offset);
  }
  return *this;
}

onnx::NodeProto &ModelBuilder::node(const std::string &opType, std::vector<std::string> inputs,
                                    std::vector<std::string> outputs, const std::string &name) {
  auto *n = model_.mutable_graph()->add_node();
  n->set_op_type(opType);
  n->set_name(name.empty() ? opType + "_" + std::to_string(model_.graph().node_size()) : name);
  for (auto &i : inputs)
    n->add_input(i);
  for (auto &o : outputs)
    n->add_output(o);
  return *n;
}

void expectError(const std::function<void()> &fn, const std::string &fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected kiln::Error containing '" << fragment << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

std::string ModelBuilder::bytes() const { return model_.SerializeAsString(); }

std::vector<float> testValues(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = scale * std::sin(0.7f * float(i) + 0.3f);
  return v;
}

} // namespace kiln::test
