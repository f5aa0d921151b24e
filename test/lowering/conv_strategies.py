#!/usr/bin/env python3
"""Convolutions with random weights, one per route of the strategy layer
(direct kernel, im2col and 1x1 GEMMs over the positions, the transposed GEMM
over the filters for small images, strided, dilated, batched, with bias and
Relu fused after), run by kiln-run and compared with ONNX Runtime
(|kiln - ort| <= 1e-4 + 1e-4 * |ort|). Random weights matter: a splat
weight hides a transposed or misplaced one.
Usage: conv_strategies.py KILN_RUN WORK_DIR"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from kiln_compare import run_and_compare

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(11)


def compare(name, x_shape, nodes, inits):
    """The graph of `nodes` (input x, output y) run by Kiln beside ONNX Runtime."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info('x', TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    x = rng.standard_normal(x_shape).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    want = ort.InferenceSession(path, so, providers=['CPUExecutionProvider']).run(None, {'x': x})[0]
    return run_and_compare(kiln_run, work, name, path, {'x': x}, [want], ['y'], extra=('--threads', '2'))


def case(name, x_shape, w_shape, relu=True, **attrs):
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    nodes = [helper.make_node('Conv', ['x', 'w', 'b'], ['c' if relu else 'y'], name='conv', **attrs)]
    if relu:
        nodes.append(helper.make_node('Relu', ['c'], ['y'], name='relu'))
    return compare(name, x_shape, nodes, [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(b, 'b')])


def conv_then(name, x_shape, w_shape, then):
    """A direct convolution whose bias and Relu, applied as its result moves
    into NCHW, write into the padded input of the op after them: a max
    pool, or a grouped convolution (its input split into groups too)."""
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    nodes = [helper.make_node('Conv', ['x', 'w', 'b'], ['c'], name='conv', pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['c'], ['r'], name='relu')]
    inits = [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(b, 'b')]
    if then == 'pool':
        nodes.append(helper.make_node('MaxPool', ['r'], ['y'], name='pool', kernel_shape=[3, 3], strides=[2, 2],
                                      pads=[1, 1, 1, 1]))
    elif then in ('AveragePool', 'MaxPool'):
        # One window over the whole image: lowered as the global pooling.
        nodes.append(helper.make_node(then, ['r'], ['y'], name='pool', kernel_shape=x_shape[2:]))
    else:
        w2 = (rng.standard_normal((w_shape[0], w_shape[0] // 2, 3, 3)) / 30).astype(np.float32)
        inits.append(numpy_helper.from_array(w2, 'w2'))
        nodes.append(helper.make_node('Conv', ['r', 'w2'], ['y'], name='grouped', group=2, pads=[1, 1, 1, 1]))
    return compare(name, x_shape, nodes, inits)


def residual(name, x_shape, filters, then):
    """Two 1x1 convolutions of x summed and a Relu (a residual block's first
    stage), followed by an op that reads the sum (a 1x1 convolution: one
    product accumulates onto the other), or one that reads a term again
    after the sum (nothing is overwritten)."""
    c = x_shape[1]
    ws = [(rng.standard_normal((filters, c, 1, 1)) / np.sqrt(c)).astype(np.float32) for _ in range(2)]
    bs = [rng.standard_normal(filters).astype(np.float32) for _ in range(2)]
    inits = [numpy_helper.from_array(v, n) for v, n in zip(ws + bs, ['wa', 'wb', 'ba', 'bb'])]
    nodes = [helper.make_node('Conv', ['x', 'wa', 'ba'], ['a'], name='conv_a'),
             helper.make_node('Conv', ['x', 'wb', 'bb'], ['b'], name='conv_b'),
             helper.make_node('Add', ['b', 'a'], ['s'], name='sum'),
             helper.make_node('Relu', ['s'], ['r'], name='relu')]
    if then == 'conv':
        wc = (rng.standard_normal((16, filters, 1, 1)) / np.sqrt(filters)).astype(np.float32)
        inits.append(numpy_helper.from_array(wc, 'wc'))
        nodes.append(helper.make_node('Conv', ['r', 'wc'], ['y'], name='conv_c'))
    else:
        nodes.append(helper.make_node('Mul', ['r', 'a'], ['y'], name='reads_a'))
    return compare(name, x_shape, nodes, inits)


failed = 0
# Positions as the vector dim: wide rows (direct kernel), 1x1 and im2col.
failed += case('direct_3x3', [1, 16, 64, 64], [32, 16, 3, 3], pads=[1, 1, 1, 1])
failed += conv_then('direct_3x3_then_pool', [1, 8, 40, 40], [64, 8, 3, 3], 'pool')
failed += conv_then('direct_3x3_then_grouped', [1, 16, 12, 12], [128, 16, 3, 3], 'grouped')
failed += case('pointwise_28', [1, 32, 28, 28], [64, 32, 1, 1])
failed += case('im2col_3x3_28', [1, 32, 28, 28], [64, 32, 3, 3], pads=[1, 1, 1, 1])
# im2col into packed slivers over the padded width: with the input's own
# padding grown by a row, without padding, batched, and a 3x1 window whose
# windows need no extra row.
failed += case('packed_rows_56', [1, 64, 56, 56], [64, 64, 3, 3], pads=[1, 1, 1, 1])
failed += case('packed_rows_batch2_nopad', [2, 24, 40, 43], [40, 24, 3, 3])
failed += case('packed_rows_3x1', [1, 32, 48, 48], [48, 32, 3, 1], pads=[1, 0, 1, 0])
failed += case('strided_1x1_56', [1, 32, 56, 56], [64, 32, 1, 1], strides=[2, 2])
# Small images with constant weights: the filters as the vector dim.
failed += case('filters_3x3_7', [1, 64, 7, 7], [64, 64, 3, 3], pads=[1, 1, 1, 1])
failed += case('filters_1x1_7_batch2', [2, 64, 7, 7], [128, 64, 1, 1])
failed += case('filters_strided_1x1', [1, 32, 14, 14], [64, 32, 1, 1], strides=[2, 2])
failed += case('filters_strided_3x3', [1, 32, 14, 14], [96, 32, 3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
failed += case('filters_dilated_3x3', [1, 32, 7, 7], [64, 32, 3, 3], dilations=[2, 2], pads=[2, 2, 2, 2])
failed += case('filters_no_relu', [1, 48, 5, 5], [64, 48, 3, 3], relu=False)
failed += case('filters_1d', [2, 32, 9], [64, 32, 3], pads=[1, 1])
# Filters that make no whole register tile: the packed weight's last sliver
# is padded with zero filters (an STFT as a 1-D convolution: 258 filters,
# 4 positions per signal).
failed += case('odd_filters_7', [1, 64, 7, 7], [40, 64, 3, 3], pads=[1, 1, 1, 1])
failed += case('odd_filters_stft', [8, 1, 640], [258, 1, 256], relu=False, strides=[128])
# Depthwise convolutions with unit strides: taps around a row-long loop.
failed += case('depthwise_5x5', [1, 64, 14, 14], [64, 1, 5, 5], pads=[2, 2, 2, 2], group=64)
failed += case('depthwise_3x3_dilated_batch2', [2, 24, 17, 19], [24, 1, 3, 3], pads=[2, 1, 2, 3],
               dilations=[2, 2], group=24)
failed += case('depthwise_strided', [1, 32, 28, 28], [32, 1, 3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
               group=32)
# A pooling whose window is the whole image after a convolution.
failed += conv_then('direct_3x3_then_whole_avgpool', [1, 8, 7, 7], [64, 8, 3, 3], 'AveragePool')
failed += conv_then('direct_3x3_then_whole_maxpool', [1, 8, 7, 7], [64, 8, 3, 3], 'MaxPool')
# Residual sums: accumulated onto the residual, or not where it is read again.
failed += residual('residual_accumulates', [1, 64, 28, 28], 128, 'conv')
failed += residual('residual_read_after', [1, 64, 28, 28], 128, 'mul')
print(f'{failed} failed')
sys.exit(1 if failed else 0)
