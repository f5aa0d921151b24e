#!/usr/bin/env python3
"""Differential test of ONNX Runtime's com.microsoft ops that Kiln composes
from ONNX ones (frontend/Microsoft.cpp): each op, in the variants its
attributes and optional inputs allow, runs in kiln-run and in ONNX Runtime
on the same seeded inputs; outputs must agree within rtol 1e-4, atol 1e-5
(float math in a different order). Usage: microsoft_ops.py KILN_RUN WORK_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)
F = TensorProto.FLOAT
cases = []
# Ops that re-round activations to uint8 at run time: a one-ulp difference
# can flip a rounding and grow through the recurrence, so their tolerance is
# twice how far ONNX Runtime's own outputs move when the inputs move by one
# ulp (16 draws), as test/real-models/compare.py does for such models.
noisy = set()


def case(name, op, inputs, outputs, inits=(), **attrs):
    """inputs: [(name, array)] fed at run time; inits: [(name, array)] constant."""
    node = helper.make_node(op, [n for n, _ in inputs] if not isinstance(inputs, dict) else inputs['names'],
                            outputs, domain='com.microsoft', name=name, **attrs)
    feeds = inputs['feeds'] if isinstance(inputs, dict) else inputs
    g = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in feeds],
        [helper.make_tensor_value_info(o, F, None) for o in outputs if o],
        [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid('com.microsoft', 1)])
    m.ir_version = 8
    cases.append((name, m, dict(feeds), [o for o in outputs if o]))


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


x = f32(2, 3, 8)
case('gelu', 'Gelu', [('x', x)], ['y'])
case('bias_gelu', 'BiasGelu', [('a', x), ('b', f32(8))], ['y'])
case('fast_gelu', 'FastGelu', [('x', x)], ['y'])
case('fast_gelu_bias', 'FastGelu', [('x', x), ('b', f32(8))], ['y'])
case('quick_gelu', 'QuickGelu', [('x', x)], ['y'], alpha=1.5)
case('fused_matmul', 'FusedMatMul', [('a', f32(2, 4, 5)), ('b', f32(2, 5, 3))], ['y'], alpha=0.5)
case('fused_matmul_trans', 'FusedMatMul', [('a', f32(2, 5, 4)), ('b', f32(3, 5))], ['y'], transA=1, transB=1)
case('skip_layer_norm', 'SkipLayerNormalization',
     [('x', x), ('skip', f32(2, 3, 8)), ('gamma', f32(8)), ('beta', f32(8)), ('bias', f32(8))],
     ['y', 'mean', 'inv_std', 'sum'], epsilon=1e-5)
case('skip_layer_norm_plain', 'SkipLayerNormalization', [('x', x), ('skip', f32(2, 3, 8)), ('gamma', f32(8))], ['y'])
case('skip_simplified_layer_norm', 'SkipSimplifiedLayerNormalization',
     {'names': ['x', 'skip', 'gamma', 'bias'], 'feeds': [('x', x), ('skip', f32(2, 3, 8)), ('gamma', f32(8)), ('bias', f32(8))]},
     ['y', '', 'inv_std', 'sum'], epsilon=1e-6)

# Dynamic quantization of A: per-tensor and per-column weight scales.
# int8 weights stay within +-63: ONNX Runtime's AVX2 uint8 x int8 kernels add
# pairs of products in saturating 16-bit lanes (vpmaddubsw), exact only for
# such 7-bit weights (what its quantizer's reduce_range gives, and what real
# quantized weights hold); Kiln's integer products never saturate.
wq = rng.integers(-63, 64, (8, 6)).astype(np.int8)
case('dynamic_quantize_matmul', 'DynamicQuantizeMatMul',
     {'names': ['a', 'b', 'b_scale', '', 'bias'], 'feeds': [('a', f32(3, 8))]}, ['y'],
     inits=[('b', wq), ('b_scale', np.array(0.02, np.float32)), ('bias', f32(6))])
case('dynamic_quantize_matmul_per_column', 'DynamicQuantizeMatMul',
     {'names': ['a', 'b', 'b_scale', 'b_zp'], 'feeds': [('a', f32(2, 3, 8))]}, ['y'],
     inits=[('b', rng.integers(0, 256, (8, 6)).astype(np.uint8)),
            ('b_scale', (rng.random(6) * 0.05 + 0.01).astype(np.float32)),
            ('b_zp', rng.integers(100, 156, 6).astype(np.uint8))])
aq = rng.integers(0, 256, (3, 8)).astype(np.uint8)
case('matmul_integer_to_float', 'MatMulIntegerToFloat',
     {'names': ['a', 'b', 'a_scale', 'b_scale', 'a_zp', 'b_zp', 'bias'], 'feeds': [('a', aq)]}, ['y'],
     inits=[('b', wq), ('a_scale', np.array(0.03, np.float32)), ('b_scale', (rng.random(6) * 0.05).astype(np.float32)),
            ('a_zp', np.array(128, np.uint8)), ('b_zp', np.zeros(6, np.int8)), ('bias', f32(6))])


def nbits(K, N, bits, block, with_zp, name):
    blocks = (K + block - 1) // block
    blob = block * bits // 8
    q = rng.integers(0, 256, (N, blocks, blob)).astype(np.uint8)
    scales = (rng.random(N * blocks) * 0.1 + 0.01).astype(np.float32)
    inits = [('B', q), ('scales', scales)]
    names = ['a', 'B', 'scales']
    if with_zp:
        zp_bytes = (blocks * bits + 7) // 8
        inits.append(('zp', rng.integers(0, 256, N * zp_bytes).astype(np.uint8)))
        names.append('zp')
    case(name, 'MatMulNBits', {'names': names, 'feeds': [('a', f32(2, 3, K))]}, ['y'], inits=inits,
         K=K, N=N, bits=bits, block_size=block)


nbits(64, 5, 4, 32, False, 'matmul_4bits')
nbits(40, 5, 4, 16, True, 'matmul_4bits_zero_points_partial_block')
nbits(48, 3, 8, 16, True, 'matmul_8bits_zero_points')


def dynamic_lstm(name, direction, per_column, size):
    # Batch 1: ONNX Runtime quantizes h per chunk of batch rows its threads
    # take, so with more rows its own results depend on its thread count.
    D, I, H, T, B = (2 if direction == "bidirectional" else 1), size, size, 5, 1
    W = rng.integers(-63, 64, (D, I, 4 * H)).astype(np.int8)
    R = rng.integers(-63, 64, (D, H, 4 * H)).astype(np.int8)
    sshape = (D, 4 * H) if per_column else (D,)
    inits = [('W', W), ('R', R), ('B', f32(D, 8 * H, scale=0.1)),
             ('W_scale', (rng.random(sshape) * 0.004 + 0.001).astype(np.float32)), ('W_zp', np.zeros(sshape, np.int8)),
             ('R_scale', (rng.random(sshape) * 0.004 + 0.001).astype(np.float32)), ('R_zp', np.zeros(sshape, np.int8))]
    case(name, 'DynamicQuantizeLSTM',
         {'names': ['x', 'W', 'R', 'B', '', 'h0', 'c0', '', 'W_scale', 'W_zp', 'R_scale', 'R_zp'],
          'feeds': [('x', f32(T, B, I)), ('h0', f32(D, B, H, scale=0.5)), ('c0', f32(D, B, H, scale=0.5))]},
         ['y', 'y_h', 'y_c'], inits=inits, hidden_size=H, direction=direction)
    noisy.add(name)


for size in (4, 16, 32):
    dynamic_lstm(f'dynamic_quantize_lstm_{size}', 'forward', False, size)
    dynamic_lstm(f'dynamic_quantize_lstm_bidirectional_{size}', 'bidirectional', False, size)
dynamic_lstm('dynamic_quantize_lstm_bidirectional_per_column', 'bidirectional', True, 16)

failed = 0
so = ort.SessionOptions()
so.log_severity_level = 3
for name, m, feeds, outs in cases:
    path = os.path.join(work, name + '.onnx')
    onnx.save(m, path)
    sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    want = sess.run(outs, feeds)
    noise = [0.0] * len(outs)
    if name in noisy:
        for _ in range(16):
            moved = {k: np.where(rng.integers(0, 2, v.shape) > 0, np.nextafter(v, np.inf), np.nextafter(v, -np.inf)).astype(v.dtype)
                     for k, v in feeds.items()}
            noise = [max(n, float(np.abs(o - w).max())) for n, o, w in zip(noise, sess.run(outs, moved), want)]
    args = [kiln_run, path, '--no-cache', '--quiet', '--output-dir', os.path.join(work, name)]
    for n, v in feeds.items():
        f = os.path.join(work, f'{name}.{n}.npy')
        np.save(f, v)
        args += ['--input', f'{n}={f}']
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(f'FAIL  {name}: kiln-run exit {p.returncode}: {p.stderr.strip()}')
        failed += 1
        continue
    worst, ok = 0.0, True
    for o, w, n in zip(outs, want, noise):
        g = np.load(os.path.join(work, name, o + '.npy'))
        if g.shape != w.shape:
            ok = False
            print(f'      {name}: {o} has shape {list(g.shape)}, ONNX Runtime {list(w.shape)}')
            continue
        ok &= bool(np.allclose(g, w, rtol=1e-4, atol=max(1e-5, 2 * n)))
        worst = max(worst, float(np.abs(g.astype(np.float64) - w).max()))
    spread = f' (rounding noise of ONNX Runtime {max(noise):.2g})' if name in noisy else ''
    print(('ok    ' if ok else 'FAIL  ') + f'{name}: max abs err {worst:.2g}{spread}')
    failed += not ok
print(f'{failed} failed')
sys.exit(1 if failed else 0)
