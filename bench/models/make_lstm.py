"""Writes a two-layer LSTM as ONNX (opset 14), with fixed random weights.

  python make_lstm.py OUT.onnx

Input "x" [64, 1, 256] (sequence, batch, features), output "y" [64, 1, 256]: the hidden
state of the second layer at every step. Two stacked forward LSTM ops, hidden size 256,
with biases; between them a Squeeze drops the num_directions axis of the first one's Y
([seq, 1, batch, hidden] -> [seq, batch, hidden]). Weights are uniform in
[-1/sqrt(hidden), 1/sqrt(hidden)] (PyTorch's LSTM initialisation) from a fixed seed, so the
file is the same on every run.
"""
import numpy as np
from onnx import helper, numpy_helper

from common import float_model, out_path, save_checked

LAYERS, HIDDEN, SEQ, BATCH, FEATURES = 2, 256, 64, 1, 256

rng = np.random.default_rng(20260603)


def uniform(shape):
    bound = 1 / np.sqrt(HIDDEN)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def build():
    nodes, inits = [], [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    x, size = "x", FEATURES
    for i in range(LAYERS):
        # ONNX gate order is i, o, f, c; B is Wb followed by Rb.
        inits += [numpy_helper.from_array(uniform((1, 4 * HIDDEN, size)), f"lstm{i}.W"),
                  numpy_helper.from_array(uniform((1, 4 * HIDDEN, HIDDEN)), f"lstm{i}.R"),
                  numpy_helper.from_array(uniform((1, 8 * HIDDEN)), f"lstm{i}.B")]
        nodes.append(helper.make_node("LSTM", [x, f"lstm{i}.W", f"lstm{i}.R", f"lstm{i}.B"], [f"lstm{i}.Y"],
                                      name=f"lstm{i}", hidden_size=HIDDEN, direction="forward"))
        out = "y" if i == LAYERS - 1 else f"lstm{i}.seq"
        nodes.append(helper.make_node("Squeeze", [f"lstm{i}.Y", "axis1"], [out], name=f"lstm{i}.squeeze"))
        x, size = out, HIDDEN
    return float_model(nodes, "lstm2", {"x": [SEQ, BATCH, FEATURES]}, {"y": [SEQ, BATCH, HIDDEN]}, inits, 14)


if __name__ == "__main__":
    save_checked(build(), out_path())
