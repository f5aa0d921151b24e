"""Writes models/small_cnn.onnx: a small image classifier (1x3x32x32 -> 10
class probabilities) with fixed weights drawn from a seeded generator.

Conv(3->16, 3x3) BatchNorm Relu MaxPool(2) Conv(16->32, 3x3, stride 2) Relu
GlobalAveragePool Flatten Gemm(32->10) Softmax.

Run with the project's virtual environment:
  .venv/bin/python models/make_small_cnn.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261126)


def he(shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


weights = {
    "conv1.w": he((16, 3, 3, 3), 27),
    "conv1.b": np.zeros(16, np.float32),
    "bn1.scale": (1 + 0.1 * rng.standard_normal(16)).astype(np.float32),
    "bn1.bias": (0.1 * rng.standard_normal(16)).astype(np.float32),
    "bn1.mean": (0.1 * rng.standard_normal(16)).astype(np.float32),
    "bn1.var": (1 + 0.1 * rng.random(16)).astype(np.float32),
    "conv2.w": he((32, 16, 3, 3), 144),
    "conv2.b": (0.01 * rng.standard_normal(32)).astype(np.float32),
    "fc.w": he((10, 32), 32),
    "fc.b": np.zeros(10, np.float32),
}
nodes = [
    helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], name="conv1",
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"],
                     ["b1"], name="bn1", epsilon=1e-5),
    helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], name="conv2",
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "small_cnn",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
    [numpy_helper.from_array(v, k) for k, v in weights.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="kiln-models")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "small_cnn.onnx")
onnx.save(model, out)
print(f"wrote {out}")
