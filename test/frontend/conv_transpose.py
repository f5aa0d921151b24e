#!/usr/bin/env python3
"""ConvTranspose run by kiln-run and compared with ONNX's reference evaluator
(rtol 1e-4, atol 1e-5): strides equal to the kernel (a 1x1 convolution and a
depth-to-space move) in 1-D, 2-D and 3-D, with bias, pads and symbolic dims,
and an overlapping kernel (the zero-inserted convolution) beside them.
Usage: conv_transpose.py KILN_RUN WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)


def case(name, x_shape, w_shape, bias=True, dims=None, runs=None, extra=(), **attrs):
    """dims: the input's declared shape (names for symbolic dims); runs: the shapes fed."""
    cout = w_shape[1] * attrs.get('group', 1)
    w = rng.standard_normal(w_shape).astype(np.float32)
    inits = [numpy_helper.from_array(w, 'w')]
    inputs = ['x', 'w']
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32), 'b'))
        inputs.append('b')
    node = helper.make_node('ConvTranspose', inputs, ['y'], name='up', **attrs)
    g = helper.make_graph([node], name, [helper.make_tensor_value_info('x', TensorProto.FLOAT, dims or x_shape)],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    ref = ReferenceEvaluator(m)
    failed = 0
    for k, shape in enumerate(runs or [x_shape]):
        x = rng.standard_normal(shape).astype(np.float32)
        xp = os.path.join(work, f'{name}_x{k}.npy')
        np.save(xp, x)
        out = os.path.join(work, f'{name}_out{k}')
        r = subprocess.run([kiln_run, path, '--input', 'x=' + xp, '--output-dir', out, '--quiet', '--no-cache', *extra],
                           capture_output=True, text=True)
        want = ref.run(None, {'x': x})[0]
        if r.returncode:
            print(f'FAIL  {name} run {k}: exit {r.returncode}: {r.stderr.strip()[-300:]}')
            failed += 1
            continue
        got = np.load(os.path.join(out, 'y.npy'))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            err = np.abs(got - want).max() if got.shape == want.shape else 'shape'
            print(f'FAIL  {name} run {k}: shape {list(got.shape)} vs {list(want.shape)}, max abs err {err}')
            failed += 1
            continue
        print(f'ok    {name} run {k}: shape {list(got.shape)}')
    return failed


failed = 0
failed += case('up2x2', [1, 6, 5, 7], [6, 4, 2, 2], strides=[2, 2])
failed += case('up2x2_nobias', [2, 3, 4, 4], [3, 5, 2, 2], bias=False, strides=[2, 2])
failed += case('up3x2_pads', [1, 4, 5, 6], [4, 3, 3, 2], strides=[3, 2], pads=[1, 0, 2, 1])
failed += case('up1d', [2, 3, 9], [3, 2, 4], strides=[4])
failed += case('up3d', [1, 2, 3, 4, 2], [2, 3, 2, 2, 2], strides=[2, 2, 2])
# Symbolic batch and size: compiled in from the shapes given, and kept
# unknown in the code (--no-specialize).
failed += case('up_symbolic', [1, 4, 6, 5], [4, 2, 2, 2], strides=[2, 2], dims=['n', 4, 'h', 'w'],
               runs=[[1, 4, 6, 5], [2, 4, 3, 7]])
failed += case('up_symbolic_dynamic', [1, 4, 6, 5], [4, 2, 2, 2], strides=[2, 2], dims=['n', 4, 'h', 'w'],
               runs=[[2, 4, 3, 7]], extra=['--no-specialize'])
# An overlapping kernel: the zero-inserted convolution (grouped ones too,
# which the node tests cover).
failed += case('overlap_k4s2', [1, 3, 5, 5], [3, 2, 4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
print(f'{failed} failed')
sys.exit(1 if failed else 0)
