#!/usr/bin/env python3
"""An LSTM short enough to be unrolled (every step multiplies by the same
recurrent weight, each step's matmul packing it for its kernel) and a
DynamicQuantizeLSTM-style int8 weight dequantized in the graph: kiln-run
must hold each weight once (`weights_bytes` of --json at most the f32
weights plus 10%), fold the dequantization into the constant, and match
ONNX Runtime (|kiln - ort| <= 1e-4 + 1e-4 |ort|).
Usage: weights_once.py KILN_RUN WORK_DIR"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from kiln_compare import run_and_compare

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(3)
SEQ, BATCH, INPUT, HIDDEN = 8, 1, 32, 64

# The recurrent weight arrives as int8 with a per-direction scale and is
# dequantized in the graph (DequantizeLinear), the input weight as f32.
w = (rng.standard_normal((1, 4 * HIDDEN, INPUT)) * 0.2).astype(np.float32)
r_q = rng.integers(-127, 128, (1, 4 * HIDDEN, HIDDEN)).astype(np.int8)
r_scale = np.array(0.002, np.float32)
b = (rng.standard_normal((1, 8 * HIDDEN)) * 0.1).astype(np.float32)
nodes = [helper.make_node('DequantizeLinear', ['r_q', 'r_scale'], ['r']),
         helper.make_node('LSTM', ['x', 'w', 'r', 'b'], ['y'], hidden_size=HIDDEN)]
g = helper.make_graph(nodes, 'lstm', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [SEQ, BATCH, INPUT])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)],
                      [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(r_q, 'r_q'),
                       numpy_helper.from_array(r_scale, 'r_scale'), numpy_helper.from_array(b, 'b')])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
m.ir_version = 8
path = os.path.join(work, 'lstm.onnx')
onnx.save(m, path)
x = rng.standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
want = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, {'x': x})[0]
failed = run_and_compare(kiln_run, work, 'lstm', path, {'x': x}, [want], ['y'])

report = json.loads(subprocess.run([kiln_run, path, '--json', '--no-cache'], capture_output=True, text=True,
                                   check=True).stdout)
f32_bytes = 4 * (w.size + r_q.size + b.size)
ok = report['weights_bytes'] <= 1.1 * f32_bytes
print(f'{"ok  " if ok else "FAIL"}  weights held once: {report["weights_bytes"]} bytes '
      f'for {f32_bytes} bytes of f32 weights')
failed += 0 if ok else 1
print(f'{failed} failed')
sys.exit(1 if failed else 0)
