#!/usr/bin/env python3
"""Conv followed by BatchNormalization, run by kiln-run and compared with
ONNX's reference evaluator (rtol 1e-4, atol 1e-4): with and without the
convolution's bias, grouped, 1-D, with a Relu after, and two cases that must
not fold (the convolution's output also used elsewhere; the normalization's
mean a graph input). Random weights and parameters, variances in [0.5, 2].
Usage: fold_batch_norm.py KILN_RUN WORK_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from kiln_compare import run_and_compare

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(11)


def case(name, x_shape, w_shape, bias=True, group=1, relu=False, conv_also_output=False, mean_input=False):
    f = w_shape[0]
    inits = [numpy_helper.from_array(rng.standard_normal(w_shape).astype(np.float32), 'w')]
    conv_in = ['x', 'w']
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(f).astype(np.float32), 'b'))
        conv_in.append('b')
    inits += [numpy_helper.from_array(rng.standard_normal(f).astype(np.float32), 'scale'),
              numpy_helper.from_array(rng.standard_normal(f).astype(np.float32), 'beta'),
              numpy_helper.from_array(rng.uniform(0.5, 2.0, f).astype(np.float32), 'var')]
    inputs = [helper.make_tensor_value_info('x', TensorProto.FLOAT, x_shape)]
    feeds = {'x': rng.standard_normal(x_shape).astype(np.float32)}
    mean = rng.standard_normal(f).astype(np.float32)
    if mean_input:
        inputs.append(helper.make_tensor_value_info('mean', TensorProto.FLOAT, [f]))
        feeds['mean'] = mean
    else:
        inits.append(numpy_helper.from_array(mean, 'mean'))
    pads = [1] * (2 * (len(x_shape) - 2))
    nodes = [helper.make_node('Conv', conv_in, ['c'], name='conv', group=group, pads=pads),
             helper.make_node('BatchNormalization', ['c', 'scale', 'beta', 'mean', 'var'], ['n'], name='bn',
                              epsilon=1e-3)]
    out = 'n'
    if relu:
        nodes.append(helper.make_node('Relu', ['n'], ['r'], name='relu'))
        out = 'r'
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    if conv_also_output:
        outputs.append(helper.make_tensor_value_info('c', TensorProto.FLOAT, None))
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 15)])
    m.ir_version = 8
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    wants = ReferenceEvaluator(m).run(None, feeds)
    return run_and_compare(kiln_run, work, name, path, feeds, wants, [o.name for o in outputs])


failed = 0
failed += case('bias', [1, 3, 9, 10], [8, 3, 3, 3])
failed += case('nobias_relu', [2, 4, 7, 7], [6, 4, 3, 3], bias=False, relu=True)
failed += case('grouped', [1, 6, 8, 8], [6, 2, 3, 3], group=3)
failed += case('conv1d', [1, 3, 20], [5, 3, 3])
failed += case('conv_also_output', [1, 3, 6, 6], [4, 3, 3, 3], conv_also_output=True)
failed += case('mean_input', [1, 3, 6, 6], [4, 3, 3, 3], mean_input=True)
print(f'{failed} failed')
sys.exit(1 if failed else 0)
