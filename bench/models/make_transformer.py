"""Writes a BERT-style transformer encoder as ONNX (opset 17), with fixed random weights.

  python make_transformer.py OUT.onnx

6 post-norm encoder layers, d_model 384, 12 heads of 32, FFN 1536 with GELU, sequence 128,
batch 1. Input "x" [1, 128, 384] (already-embedded tokens), output "y" of the same shape.
Built from plain ops only: MatMul, Add, Mul, Div, Reshape, Transpose, Softmax, Erf
(GELU as 0.5 * x * (1 + erf(x / sqrt 2))) and LayerNormalization. Weights are normal with
standard deviation 1/sqrt(fan_in) from a fixed seed, so the file is the same on every run.
"""
import numpy as np
from onnx import helper, numpy_helper

from common import float_model, out_path, save_checked

LAYERS, D, HEADS, FFN, SEQ, BATCH = 6, 384, 12, 1536, 128, 1
HEAD = D // HEADS

rng = np.random.default_rng(20260601)
nodes, inits = [], []


def const(name, value):
    inits.append(numpy_helper.from_array(np.asarray(value), name))
    return name


def node(op, inputs, name, **attrs):
    nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
    return name


def linear(x, name, fan_in, fan_out):
    w = const(f"{name}.w", (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32))
    b = const(f"{name}.b", (0.02 * rng.standard_normal(fan_out)).astype(np.float32))
    return node("Add", [node("MatMul", [x, w], f"{name}.mm"), b], f"{name}.out")


def layer_norm(x, name):
    g = const(f"{name}.gamma", (1 + 0.05 * rng.standard_normal(D)).astype(np.float32))
    b = const(f"{name}.beta", (0.05 * rng.standard_normal(D)).astype(np.float32))
    return node("LayerNormalization", [x, g, b], f"{name}.out", axis=-1, epsilon=1e-5)


def heads(x, name):
    """[B, S, D] -> [B, H, S, HEAD]."""
    r = node("Reshape", [x, "shape.heads"], f"{name}.split")
    return node("Transpose", [r], f"{name}.heads", perm=[0, 2, 1, 3])


def encoder_layer(x, i):
    p = f"l{i}"
    q = heads(linear(x, f"{p}.q", D, D), f"{p}.q")
    k = heads(linear(x, f"{p}.k", D, D), f"{p}.k")
    v = heads(linear(x, f"{p}.v", D, D), f"{p}.v")
    kt = node("Transpose", [k], f"{p}.kt", perm=[0, 1, 3, 2])
    scores = node("Mul", [node("MatMul", [q, kt], f"{p}.qk"), "scale"], f"{p}.scores")
    probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
    ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx")], f"{p}.ctx.t", perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, "shape.merge"], f"{p}.ctx.merge")
    attn = linear(ctx, f"{p}.o", D, D)
    x = layer_norm(node("Add", [x, attn], f"{p}.res1"), f"{p}.ln1")
    h = linear(x, f"{p}.ff1", D, FFN)
    erf = node("Erf", [node("Div", [h, "sqrt2"], f"{p}.gelu.div")], f"{p}.gelu.erf")
    gelu = node("Mul", [node("Mul", [h, node("Add", [erf, "one"], f"{p}.gelu.add")], f"{p}.gelu.mul"), "half"],
                f"{p}.gelu")
    f = linear(gelu, f"{p}.ff2", FFN, D)
    return layer_norm(node("Add", [x, f], f"{p}.res2"), f"{p}.ln2")


def build():
    const("shape.heads", np.array([BATCH, SEQ, HEADS, HEAD], np.int64))
    const("shape.merge", np.array([BATCH, SEQ, D], np.int64))
    const("scale", np.float32(1 / np.sqrt(HEAD)))
    const("sqrt2", np.float32(np.sqrt(2)))
    const("one", np.float32(1))
    const("half", np.float32(0.5))
    x = "x"
    for i in range(LAYERS):
        x = encoder_layer(x, i)
    nodes.append(helper.make_node("Identity", [x], ["y"], name="y"))
    return float_model(nodes, "transformer_encoder", {"x": [BATCH, SEQ, D]}, {"y": [BATCH, SEQ, D]}, inits, 17)


if __name__ == "__main__":
    save_checked(build(), out_path())
