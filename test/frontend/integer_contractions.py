#!/usr/bin/env python3
"""MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv with constant
8-bit weights, run by kiln-run and compared with exact integer references
(numpy in int64 for the products and convolutions; ONNX Runtime for the
requantized QLinearConv): the i32 accumulators must match bit for bit, whether Kiln
computes them in f32 (exact while every column's |w - zero point| sums to at
most (2^24 - 1) / 255), in i32 (the weights past that bound), or, for matmuls on
a target with 8-bit dot products (AVX-512 VNNI), with those instructions (the
cases compiled for x86-64-v3, which has none, take the f32 and i32 routes
whatever the host).
Usage: integer_contractions.py KILN_RUN WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lowering'))
from kiln_compare import run_and_compare  # noqa: E402

kiln_run, work = sys.argv[1], sys.argv[2]
kiln_compile = os.path.join(os.path.dirname(kiln_run), 'kiln-compile')
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(5)
ONNX_TYPE = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


def ints(dtype, shape, lo=None, hi=None):
    info = np.iinfo(dtype)
    return rng.integers(info.min if lo is None else lo, (info.max if hi is None else hi) + 1, size=shape).astype(dtype)


def save(name, nodes, inputs, inits, out_type=TensorProto.INT32):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, ONNX_TYPE[a.dtype.type], a.shape)
                                         for n, a in inputs.items()],
                          [helper.make_tensor_value_info('y', out_type, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    return path


def conv_reference(x, w, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1)):
    """2-D convolution of int64 arrays (NCHW, OIHW), group 1."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (xp.shape[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, o, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dilations[0], j * dilations[1]
            window = xp[:, :, top:top + strides[0] * oh:strides[0], left:left + strides[1] * ow:strides[1]]
            y += np.einsum('nchw,oc->nohw', window, w[:, :, i, j])
    return y


def ort_run(path, feeds):
    return ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, feeds)[0]


def compare_with_ort(name, graph, feeds):
    """Saves `graph` (opset 13) and compares Kiln's output y with ONNX Runtime's, bit for bit."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(model, path)
    want = ort_run(path, feeds)
    return run_and_compare(kiln_run, work, name, path, feeds, [want], ['y'], exact=True)


def for_target(path, target):
    """`path` compiled for `target` (an LLVM CPU name) into a .kiln file."""
    if target is None:
        return path
    out = path[:-5] + '.kiln'
    subprocess.run([kiln_compile, path, '-o', out, '--target-cpu', target], check=True, capture_output=True)
    return out


def matmul(name, m, k, n, a_type, b_type, per_column=False, spread=None, rows=(), zero_points=True, target=None):
    """spread: weights within zero point +- spread (None: the type's range);
    rows: A's leading dims (A is rows + (m, k)); target: compiled for it."""
    a = ints(a_type, tuple(rows) + (m, k))
    bzp = ints(b_type, (n,) if per_column else ()) if spread is None else np.full((n,) if per_column else (), 0, b_type)
    b = ints(b_type, (k, n)) if spread is None else ints(b_type, (k, n), -spread, spread)
    azp = np.array(ints(a_type, ())) if zero_points else np.array(0, a_type)
    if not zero_points:
        bzp = np.zeros_like(bzp)
    node = helper.make_node('MatMulInteger', ['a', 'b', 'azp', 'bzp'] if zero_points else ['a', 'b'], ['y'])
    feeds = {'a': a, 'azp': azp} if zero_points else {'a': a}
    path = save(name, [node], feeds, {'b': b, 'bzp': np.asarray(bzp)} if zero_points else {'b': b})
    want = ((a.astype(np.int64) - azp) @ (b.astype(np.int64) - bzp)).astype(np.int32)
    return run_and_compare(kiln_run, work, name, for_target(path, target), feeds, [want], ['y'], exact=True)


def dynamic_quantize_matmul(name, m, k, n):
    """DynamicQuantizeLinear of f32 rows, then MatMulInteger by u8 weights
    (the dynamically quantized linear layers of ONNX Runtime's quantizer),
    against ONNX Runtime."""
    x = rng.standard_normal((m, k)).astype(np.float32)
    inits = {'b': ints(np.uint8, (k, n)), 'bzp': np.array(131, np.uint8)}
    g = helper.make_graph([helper.make_node('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xzp']),
                           helper.make_node('MatMulInteger', ['xq', 'b', 'xzp', 'bzp'], ['y'])], name,
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info('y', TensorProto.INT32, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return compare_with_ort(name, g, {'x': x})


def conv(name, x_shape, w_shape, x_type, w_type, per_channel=False, spread=None, **attrs):
    x = ints(x_type, x_shape)
    if spread is None:
        w = ints(w_type, w_shape)
        wzp = ints(w_type, (w_shape[0],) if per_channel else ())
    else:
        w = ints(w_type, w_shape, -spread, spread)
        wzp = np.zeros((w_shape[0],) if per_channel else (), w_type)
    xzp = np.array(ints(x_type, ()))
    inits = {'w': w, 'wzp': np.asarray(wzp)}
    path = save(name, [helper.make_node('ConvInteger', ['x', 'w', 'xzp', 'wzp'], ['y'], **attrs)],
                {'x': x, 'xzp': xzp}, inits)
    zp = wzp.reshape(-1, 1, 1, 1) if per_channel else wzp
    want = conv_reference(x.astype(np.int64) - xzp, w.astype(np.int64) - zp, attrs.get('strides', (1, 1)),
                          attrs.get('pads', (0, 0, 0, 0)), attrs.get('dilations', (1, 1))).astype(np.int32)
    return run_and_compare(kiln_run, work, name, path, {'x': x, 'xzp': xzp}, [want], ['y'], exact=True)


def qlinear_conv(name, x_shape, w_shape, **attrs):
    x = ints(np.uint8, x_shape)
    w = ints(np.int8, w_shape)
    cout = w_shape[0]
    inits = {'xs': np.array(0.02, np.float32), 'xzp': np.array(128, np.uint8), 'w': w,
             'ws': rng.uniform(0.001, 0.01, cout).astype(np.float32), 'wzp': np.zeros(cout, np.int8),
             'ys': np.array(0.5, np.float32), 'yzp': np.array(100, np.uint8),
             'b': rng.integers(-20000, 20000, cout).astype(np.int32)}
    g = helper.make_graph([helper.make_node('QLinearConv', ['x', 'xs', 'xzp', 'w', 'ws', 'wzp', 'ys', 'yzp', 'b'],
                                            ['y'], **attrs)], name,
                          [helper.make_tensor_value_info('x', TensorProto.UINT8, x_shape)],
                          [helper.make_tensor_value_info('y', TensorProto.UINT8, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return compare_with_ort(name, g, {'x': x})


failed = 0
failed += matmul('matmul_u8', 20, 256, 48, np.uint8, np.uint8)
failed += matmul('matmul_u8_per_column', 7, 300, 33, np.uint8, np.uint8, per_column=True)
failed += matmul('matmul_s8', 5, 128, 64, np.int8, np.int8)
# |w| = 127 in every row of 600: sum 76200 > 65793, past f32's exact range.
failed += matmul('matmul_past_f32', 4, 600, 16, np.uint8, np.int8, spread=127)
# 8-bit dot products where the host has them: rows and columns past whole
# register tiles (6 x 64), A with batch dims, without zero points, i8 A.
failed += matmul('matmul_u8_s8_wide', 20, 1024, 300, np.uint8, np.int8, per_column=True)
failed += matmul('matmul_batched', 7, 64, 70, np.uint8, np.uint8, rows=(2, 3))
failed += matmul('matmul_no_zero_points', 13, 32, 128, np.uint8, np.int8, zero_points=False)
failed += matmul('matmul_s8_past_f32', 9, 600, 80, np.int8, np.int8, spread=127)
failed += dynamic_quantize_matmul('dynamic_quantize_matmul', 20, 512, 200)
# The same products for a target without them.
failed += matmul('matmul_u8_x86_64_v3', 20, 256, 48, np.uint8, np.uint8, target='x86-64-v3')
failed += matmul('matmul_past_f32_x86_64_v3', 4, 600, 16, np.uint8, np.int8, spread=127, target='x86-64-v3')
failed += conv('conv_u8', (1, 16, 12, 12), (32, 16, 3, 3), np.uint8, np.uint8, pads=[1, 1, 1, 1])
failed += conv('conv_s8_per_channel_strided', (2, 8, 15, 15), (24, 8, 3, 3), np.int8, np.int8, per_channel=True,
               strides=[2, 2])
failed += conv('conv_u8_1x1', (1, 64, 9, 9), (40, 64, 1, 1), np.uint8, np.uint8)
# Dilated and padded; one input channel (9 taps: a depth that is not a
# multiple of 4, so not the dot-product form).
failed += conv('conv_u8_dilated', (1, 8, 13, 11), (16, 8, 3, 3), np.uint8, np.int8, pads=[2, 1, 2, 1],
               dilations=[2, 2])
failed += conv('conv_one_channel', (2, 1, 10, 10), (24, 1, 3, 3), np.uint8, np.uint8, pads=[1, 1, 1, 1],
               strides=[2, 2])
failed += conv('conv_past_f32', (1, 128, 6, 6), (8, 128, 3, 3), np.uint8, np.int8, spread=127, pads=[1, 1, 1, 1])
failed += qlinear_conv('qlinear_conv', (1, 16, 10, 10), (32, 16, 3, 3), pads=[1, 1, 1, 1])
print(f'{failed} failed')
sys.exit(1 if failed else 0)
