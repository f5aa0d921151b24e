"""Writes a MobileNetV2-shaped image classifier as ONNX (opset 17), with fixed random weights.

  python make_mobilenetv2.py OUT.onnx

Input "input" [1, 3, 224, 224], output "logits" [1, 1000]. The layout follows MobileNetV2
(width 1.0): a 3x3 stride-2 stem conv to 32 channels, then the paper's inverted-residual table
(expansion t, channels c, repeats n, first stride s); each block is a 1x1 expansion conv +
Clip(0, 6) (left out when t = 1), a depthwise 3x3 conv (group = channels) + Clip(0, 6) and a
linear 1x1 projection conv, plus a residual Add when stride is 1 and the channel count is
unchanged. A 1x1 conv to 1280 + Clip(0, 6), GlobalAveragePool, Flatten and a Gemm to 1000
classes close it. Batch norms are taken as already folded into the convs, so every conv has
a bias. Weights are He-normal from a fixed seed, so the file is the same on every run.
"""
import numpy as np
from onnx import helper, numpy_helper

from common import float_model, out_path, save_checked

# (expansion t, output channels c, repeats n, stride of the first repeat s)
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

rng = np.random.default_rng(20260602)
nodes, inits = [], []


def const(name, value):
    inits.append(numpy_helper.from_array(np.asarray(value), name))
    return name


def conv(x, name, cin, cout, k, stride=1, group=1, relu6=True):
    fan_in = cin // group * k * k
    w = const(f"{name}.w", (rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32))
    b = const(f"{name}.b", (0.05 * rng.standard_normal(cout)).astype(np.float32))
    y = f"{name}.out"
    nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k, k], strides=[stride, stride],
                                  pads=[k // 2] * 4, group=group))
    if not relu6:
        return y
    nodes.append(helper.make_node("Clip", [y, "zero", "six"], [f"{name}.relu6"], name=f"{name}.relu6"))
    return f"{name}.relu6"


def inverted_residual(x, name, cin, cout, t, stride):
    hidden = cin * t
    h = conv(x, f"{name}.expand", cin, hidden, 1) if t != 1 else x
    h = conv(h, f"{name}.dw", hidden, hidden, 3, stride, group=hidden)
    h = conv(h, f"{name}.project", hidden, cout, 1, relu6=False)
    if stride == 1 and cin == cout:
        nodes.append(helper.make_node("Add", [x, h], [f"{name}.add"], name=f"{name}.add"))
        return f"{name}.add"
    return h


def build():
    const("zero", np.float32(0))
    const("six", np.float32(6))
    x = conv("input", "stem", 3, 32, 3, 2)
    cin, idx = 32, 0
    for t, c, n, s in BLOCKS:
        for r in range(n):
            x = inverted_residual(x, f"block{idx}", cin, c, t, s if r == 0 else 1)
            cin, idx = c, idx + 1
    x = conv(x, "head", cin, 1280, 1)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flat", axis=1))
    w = const("fc.w", (rng.standard_normal((1000, 1280)) / np.sqrt(1280)).astype(np.float32))
    b = const("fc.b", (0.05 * rng.standard_normal(1000)).astype(np.float32))
    nodes.append(helper.make_node("Gemm", ["flat", w, b], ["logits"], name="fc", transB=1))
    return float_model(nodes, "mobilenetv2", {"input": [1, 3, 224, 224]}, {"logits": [1, 1000]}, inits, 17)


if __name__ == "__main__":
    save_checked(build(), out_path())
