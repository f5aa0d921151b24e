#!/usr/bin/env python3
"""If nodes whose branches give outputs of different static shapes or ranks,
run by kiln-run under each condition and compared with ONNX's reference
evaluator (exact: the branches only move data). A condition computed from a
scalar input (a sample rate) is compiled in per value; one computed from
tensor data, with branches of different ranks, is refused with a clear error.
Usage: if_branch_shapes.py KILN_RUN WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
V = helper.make_tensor_value_info


def branch(name, nodes, out):
    return helper.make_graph(nodes, name, [], [V(out, TensorProto.FLOAT, None)])


def model(name, pre, cond, then_nodes, then_out, else_nodes, else_out, inputs):
    if_node = helper.make_node('If', [cond], ['y'], name='choose',
                               then_branch=branch('then', then_nodes, then_out),
                               else_branch=branch('else', else_nodes, else_out))
    g = helper.make_graph(pre + [if_node], name, inputs, [V('y', TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    return path, m


x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
x_in = V('x', TensorProto.FLOAT, [2, 3])
flag_in = V('flag', TensorProto.BOOL, [])
sr_in = V('sr', TensorProto.INT64, [])
sixteen_k = helper.make_tensor('sixteen_k', TensorProto.INT64, [], [16000])
cases = [
    # (model, input values per run, expected error regex or None)
    (model('if_ranks', [], 'flag', [helper.make_node('Identity', ['x'], ['t'])], 't',
           [helper.make_node('Flatten', ['x'], ['f'], axis=0), helper.make_node('Squeeze', ['f'], ['e'])], 'e',
           [x_in, flag_in]),
     [{'x': x, 'flag': np.array(True)}, {'x': x, 'flag': np.array(False)}], None),
    (model('if_shapes', [], 'flag', [helper.make_node('Identity', ['x'], ['t'])], 't',
           [helper.make_node('Concat', ['x', 'x'], ['e'], axis=0)], 'e', [x_in, flag_in]),
     [{'x': x, 'flag': np.array(True)}, {'x': x, 'flag': np.array(False)}], None),
    (model('if_sample_rate', [helper.make_node('Constant', [], ['k'], value=sixteen_k),
                              helper.make_node('Equal', ['sr', 'k'], ['c'])], 'c',
           [helper.make_node('Identity', ['x'], ['t'])], 't',
           [helper.make_node('ReduceSum', ['x'], ['e'], keepdims=0)], 'e', [x_in, sr_in]),
     [{'x': x, 'sr': np.array(16000)}, {'x': x, 'sr': np.array(8000)}, {'x': x, 'sr': np.array(16000)}], None),
    (model('if_ranks_on_data', [helper.make_node('ReduceMax', ['x'], ['m'], keepdims=0),
                                helper.make_node('Constant', [], ['zero'], value_float=0.0),
                                helper.make_node('Greater', ['m', 'zero'], ['c'])], 'c',
           [helper.make_node('Identity', ['x'], ['t'])], 't',
           [helper.make_node('ReduceSum', ['x'], ['e'], keepdims=0)], 'e', [x_in]),
     [{'x': x}], r"node 'choose' \(If\): the branches give output 0 different element types or ranks \(tensor<2x3xf32> and tensor<f32>\)"),
]

failed = 0
for (path, m), runs, error in cases:
    name = os.path.basename(path)
    ref = ReferenceEvaluator(m)
    for k, feeds in enumerate(runs):
        args = [kiln_run, path, '--no-cache', '--quiet', '--output-dir', os.path.join(work, f'{name}.{k}')]
        for n, v in feeds.items():
            f = os.path.join(work, f'{name}.{k}.{n}.npy')
            np.save(f, v)
            args += ['--input', f'{n}={f}']
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if error:
            import re
            ok = p.returncode == 1 and re.search(error, p.stderr)
            detail = p.stderr.strip().splitlines()[-1:] if p.stderr.strip() else ''
        elif p.returncode != 0:
            ok, detail = False, p.stderr.strip()
        else:
            got = np.load(os.path.join(work, f'{name}.{k}', 'y.npy'))
            want = ref.run(None, feeds)[0]
            ok = got.shape == want.shape and np.array_equal(got, want)
            detail = f'shape {list(got.shape)} (reference {list(want.shape)})'
        print(('ok    ' if ok else 'FAIL  ') + f'{name} run {k}: {detail}')
        failed += not ok
print(f'{failed} failed')
sys.exit(1 if failed else 0)
