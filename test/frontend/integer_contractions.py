#!/usr/bin/env python3
"""MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv with constant
8-bit weights, run by kiln-run and compared with exact integer references
(numpy in int64 for the products and convolutions; ONNX Runtime for the
requantized QLinearConv): the i32 accumulators must match bit for bit, whether Kiln
computes them in f32 (exact while every column's |w - zero point| sums to at
most (2^24 - 1) / 255) or in i32 (the weights past that bound).
Usage: integer_contractions.py KILN_RUN WORK_DIR"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lowering'))
from kiln_compare import run_and_compare  # noqa: E402

kiln_run, work = sys.argv[1], sys.argv[2]
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


def conv_reference(x, w, strides=(1, 1), pads=(0, 0, 0, 0)):
    """2-D convolution of int64 arrays (NCHW, OIHW), group 1."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - kh) // strides[0] + 1
    ow = (xp.shape[3] - kw) // strides[1] + 1
    y = np.zeros((n, o, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i:i + strides[0] * oh:strides[0], j:j + strides[1] * ow:strides[1]]
            y += np.einsum('nchw,oc->nohw', window, w[:, :, i, j])
    return y


def ort_run(path, feeds):
    return ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, feeds)[0]


def matmul(name, m, k, n, a_type, b_type, per_column=False, spread=None):
    """spread: weights within zero point +- spread (None: the type's range)."""
    a = ints(a_type, (m, k))
    bzp = ints(b_type, (n,) if per_column else ()) if spread is None else np.full((n,) if per_column else (), 0, b_type)
    b = ints(b_type, (k, n)) if spread is None else ints(b_type, (k, n), -spread, spread)
    azp = np.array(ints(a_type, ()))
    path = save(name, [helper.make_node('MatMulInteger', ['a', 'b', 'azp', 'bzp'], ['y'])], {'a': a, 'azp': azp},
                {'b': b, 'bzp': np.asarray(bzp)})
    want = ((a.astype(np.int64) - azp) @ (b.astype(np.int64) - bzp)).astype(np.int32)
    return run_and_compare(kiln_run, work, name, path, {'a': a, 'azp': azp}, [want], ['y'], exact=True)


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
                          attrs.get('pads', (0, 0, 0, 0))).astype(np.int32)
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
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    want = ort_run(path, {'x': x})
    return run_and_compare(kiln_run, work, name, path, {'x': x}, [want], ['y'], exact=True)


failed = 0
failed += matmul('matmul_u8', 20, 256, 48, np.uint8, np.uint8)
failed += matmul('matmul_u8_per_column', 7, 300, 33, np.uint8, np.uint8, per_column=True)
failed += matmul('matmul_s8', 5, 128, 64, np.int8, np.int8)
# |w| = 127 in every row of 600: sum 76200 > 65793, past f32's exact range.
failed += matmul('matmul_past_f32', 4, 600, 16, np.uint8, np.int8, spread=127)
failed += conv('conv_u8', (1, 16, 12, 12), (32, 16, 3, 3), np.uint8, np.uint8, pads=[1, 1, 1, 1])
failed += conv('conv_s8_per_channel_strided', (2, 8, 15, 15), (24, 8, 3, 3), np.int8, np.int8, per_channel=True,
               strides=[2, 2])
failed += conv('conv_u8_1x1', (1, 64, 9, 9), (40, 64, 1, 1), np.uint8, np.uint8)
failed += conv('conv_past_f32', (1, 128, 6, 6), (8, 128, 3, 3), np.uint8, np.int8, spread=127, pads=[1, 1, 1, 1])
failed += qlinear_conv('qlinear_conv', (1, 16, 10, 10), (32, 16, 3, 3), pads=[1, 1, 1, 1])
print(f'{failed} failed')
sys.exit(1 if failed else 0)
