#!/usr/bin/env python3
"""Hostile and malformed models, and models that pass a kiln::Limits bound:
kiln-run must refuse each with exit status 1 and a one-line error naming the
problem, within 60 s and an 8 GiB address space, never a crash or a hang.
Models that stay within the bounds (a while-loop ending early, an in-range
negative index) must run. Usage: refusals.py KILN_RUN WORK_DIR"""
import os
import re
import resource
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

kiln_run, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
V = helper.make_tensor_value_info
cases = []  # (name, extra kiln-run arguments, expected message regex or None for success)


def model(name, nodes, inputs, outputs, inits=(), opset=17, ir=8):
    m = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, list(inits)),
                          opset_imports=[helper.make_opsetid('', opset)])
    m.ir_version = ir
    path = os.path.join(work, name + '.onnx')
    with open(path, 'wb') as f:
        f.write(m.SerializeToString())
    return path


def npy(name, array):
    path = os.path.join(work, name + '.npy')
    np.save(path, array)
    return path


def case(name, path, *rest):
    # case(name, path, [args before,] expected, args after...)
    if isinstance(path, list):
        path, *before = path
    else:
        before = []
    expected, *after = rest
    cases.append((name, [path, *before, *after], expected))


x4 = V('x', TensorProto.FLOAT, [4])
y4 = V('y', TensorProto.FLOAT, [4])

# Malformed models, refused at import.
w = numpy_helper.from_array(np.ones(1, np.float32), 'w')
del w.dims[:]; w.dims.extend([1000, 1000])
case('initializer_short_bytes', model('initializer_short_bytes', [helper.make_node('Add', ['x', 'w'], ['y'])], [x4], [y4], [w]),
     r"model '.*': initializer 'w': raw_data has 4 bytes, shape needs 4000000")
w = numpy_helper.from_array(np.ones(4, np.float32), 'w')
del w.dims[:]; w.dims.extend([-4])
case('initializer_negative_dim', model('initializer_negative_dim', [helper.make_node('Add', ['x', 'w'], ['y'])], [x4], [y4], [w]),
     r"initializer 'w': .*negative dim -4")
case('cyclic_graph', model('cyclic_graph', [helper.make_node('Add', ['x', 'b'], ['a'], name='add'),
                                            helper.make_node('Relu', ['a'], ['b']),
                                            helper.make_node('Identity', ['a'], ['y'])], [x4], [y4]),
     r"node 'add' \(Add\): input 'b' is not defined before use")
case('undefined_value', model('undefined_value', [helper.make_node('Add', ['x', 'nowhere'], ['y'], name='add')], [x4], [y4]),
     r"node 'add' \(Add\): input 'nowhere' is not defined before use")
s = numpy_helper.from_array(np.array([1 << 40, 1 << 40, 1 << 40], np.int64), 's')
case('reshape_overflow', model('reshape_overflow', [helper.make_node('Reshape', ['x', 's'], ['y'], name='r')], [x4],
                               [V('y', TensorProto.FLOAT, None)], [s]),
     r"node 'r' \(Reshape\): shape's element count overflows 64 bits")
bad = V('x', TensorProto.FLOAT, [4]); bad.type.tensor_type.elem_type = 99
case('unknown_element_type', model('unknown_element_type', [helper.make_node('Relu', ['x'], ['y'])], [bad], [y4]),
     r"'x' has element type .*99.*not supported")
case('attribute_wrong_kind', model('attribute_wrong_kind', [helper.make_node('Conv', ['x4', 'w4'], ['y4'], name='c', strides=1.5)],
                                   [V('x4', TensorProto.FLOAT, [1, 1, 4, 4]), V('w4', TensorProto.FLOAT, [1, 1, 3, 3])],
                                   [V('y4', TensorProto.FLOAT, None)]),
     r"node 'c' \(Conv\): attribute 'strides' is declared FLOAT, but Conv's 'strides' is INTS")
case('attribute_without_kind', model('attribute_without_kind', [helper.make_node('Softmax', ['x'], ['y'], name='s', axis=0)], [x4], [y4]),
     r"node 's' \(Softmax\): attribute 'axis' declares no kind")
# (the kind is cleared after the node is made)
m = onnx.load(os.path.join(work, 'attribute_without_kind.onnx'))
m.graph.node[0].attribute[0].type = onnx.AttributeProto.UNDEFINED
onnx.save(m, os.path.join(work, 'attribute_without_kind.onnx'))

# Tensors and weights past their bounds.
case('huge_input_dim', model('huge_input_dim', [helper.make_node('Relu', ['x'], ['y'], name='relu')],
                             [V('x', TensorProto.FLOAT, [1 << 20, 1 << 20])], [V('y', TensorProto.FLOAT, [1 << 20, 1 << 20])]),
     r"input 'x': a tensor of shape \[1048576,1048576\] exceeds the limit of 8 GiB \(Limits::maxTensorBytes\)")
case('tensor_bytes_limit', model('tensor_bytes_limit', [helper.make_node('Relu', ['x'], ['y'], name='relu')],
                                 [V('x', TensorProto.FLOAT, [1000])], [V('y', TensorProto.FLOAT, [1000])]),
     r"input 'x': a tensor of shape \[1000\] exceeds the limit of 2.9 KiB", '--limit', 'tensor-bytes=3000')
s = numpy_helper.from_array(np.array([1 << 25, 1 << 25], np.int64), 's')
case('constant_of_shape_huge', model('constant_of_shape_huge', [helper.make_node('ConstantOfShape', ['s'], ['y'], name='c')], [],
                                     [V('y', TensorProto.FLOAT, None)], [s]),
     r"node 'c' \(ConstantOfShape\): a tensor of shape \[33554432,33554432\] exceeds the limit")
w = numpy_helper.from_array(np.ones(1000, np.float32), 'w')
case('weight_bytes_limit', model('weight_bytes_limit', [helper.make_node('Add', ['x', 'w'], ['y'])],
                                 [V('x', TensorProto.FLOAT, [1000])], [V('y', TensorProto.FLOAT, [1000])], [w]),
     r"the weights exceed the limit of 1000 bytes \(Limits::maxWeightBytes\) at initializer 'w'", '--limit', 'weight-bytes=1000')
w = numpy_helper.from_array(np.ones(1, np.float32), 'w')
w.data_location = TensorProto.EXTERNAL; w.ClearField('raw_data'); del w.dims[:]; w.dims.extend([1 << 31, 1 << 31])
w.external_data.add(key='location', value='weights.bin')
case('external_data_huge', model('external_data_huge', [helper.make_node('Add', ['x', 'w'], ['y'])], [x4],
                                 [V('y', TensorProto.FLOAT, None)], [w]),
     r"initializer 'w' declares .* bytes, more than the limit of 8589934592 \(Limits::maxTensorBytes\)")

# Graph size and nesting.
case('nodes_limit', model('nodes_limit', [helper.make_node('Relu', ['x'], ['a']), helper.make_node('Relu', ['a'], ['b']),
                                          helper.make_node('Relu', ['b'], ['y'], name='third')], [x4], [y4]),
     r"node 'third' \(Relu\): the graph has more than 2 nodes \(Limits::maxNodes\)", '--limit', 'nodes=2')
g = helper.make_graph([helper.make_node('Identity', ['x'], ['t'])], 'leaf', [], [V('t', TensorProto.FLOAT, [4])])
for depth in range(5):
    n = helper.make_node('If', ['c'], ['t'], name=f'if{depth}', then_branch=g, else_branch=g)
    g = helper.make_graph([n], f'level{depth}', [], [V('t', TensorProto.FLOAT, [4])])
case('nesting_limit', model('nesting_limit', list(g.node), [x4, V('c', TensorProto.BOOL, [])], [V('t', TensorProto.FLOAT, [4])]),
     r"node 'if1' \(If\): subgraphs nest deeper than 3 levels \(Limits::maxNestingDepth\)", '--limit', 'nesting-depth=3')

# Indices out of range: errors the spec requires, found when the code runs.
i = numpy_helper.from_array(np.array([1 << 40], np.int64), 'i')
case('gather_out_of_range', model('gather_out_of_range', [helper.make_node('Gather', ['x', 'i'], ['y'], name='g')], [x4],
                                  [V('y', TensorProto.FLOAT, [1])], [i]),
     r"node 'g' \(Gather\): an index is out of range")
gather_input = model('gather_input', [helper.make_node('Gather', ['x', 'i'], ['y'], name='lookup')],
                     [V('x', TensorProto.FLOAT, [1000, 64]), V('i', TensorProto.INT64, [300])], [V('y', TensorProto.FLOAT, [300, 64])])
case('gather_input_out_of_range', gather_input, r"node 'lookup' \(Gather\): an index is out of range",
     '--input', 'i=' + npy('bad_indices', np.where(np.arange(300) == 250, 1000, np.arange(300) % 1000).astype(np.int64)), '--threads', '2')
case('gather_input_negative_below', gather_input, r"node 'lookup' \(Gather\): an index is out of range",
     '--input', 'i=' + npy('below_indices', np.full(300, -1001, np.int64)))
case('gather_input_in_range', gather_input, None,
     '--input', 'i=' + npy('good_indices', (np.arange(300) % 2000 - 1000).astype(np.int64)))
case('gather_elements_out_of_range', model('gather_elements_out_of_range', [helper.make_node('GatherElements', ['x', 'i'], ['y'], name='ge')],
                                           [x4], [y4], [numpy_helper.from_array(np.array([0, 1, 4, 2], np.int64), 'i')]),
     r"node 'ge' \(GatherElements\): an index is out of range")
case('scatter_elements_out_of_range', model('scatter_elements_out_of_range', [helper.make_node('ScatterElements', ['x', 'i', 'u'], ['y'], name='se')],
                                            [x4], [y4], [numpy_helper.from_array(np.array([-5], np.int64), 'i'),
                                                         numpy_helper.from_array(np.ones(1, np.float32), 'u')]),
     r"node 'se' \(ScatterElements\): an index is out of range")
case('scatter_nd_out_of_range', model('scatter_nd_out_of_range', [helper.make_node('ScatterND', ['x', 'i', 'u'], ['y'], name='snd')],
                                      [x4], [y4], [numpy_helper.from_array(np.array([[7]], np.int64), 'i'),
                                                   numpy_helper.from_array(np.ones(1, np.float32), 'u')]),
     r"node 'snd' \(ScatterND\): an index is out of range")
case('gather_nd_out_of_range', model('gather_nd_out_of_range', [helper.make_node('GatherND', ['x2', 'i'], ['y'], name='gnd')],
                                     [V('x2', TensorProto.FLOAT, [2, 2])], [V('y', TensorProto.FLOAT, None)],
                                     [numpy_helper.from_array(np.array([[0, 1], [2, 0]], np.int64), 'i')]),
     r"node 'gnd' \(GatherND\): an index is out of range")

# Loops: the bound is on iterations run.
# (the trip count is an input: one known when compiling may be unrolled)
def loop_model(name, trip, stop_after=None):
    body_nodes = [helper.make_node('Add', ['v_in', 'one'], ['v_out'])]
    if stop_after is None:
        body_nodes.append(helper.make_node('Identity', ['c_in'], ['c_out']))
    else:
        body_nodes.append(helper.make_node('Less', ['i', 'limit'], ['c_out']))
    body = helper.make_graph(body_nodes, 'body',
                             [V('i', TensorProto.INT64, []), V('c_in', TensorProto.BOOL, []), V('v_in', TensorProto.FLOAT, [4])],
                             [V('c_out', TensorProto.BOOL, []), V('v_out', TensorProto.FLOAT, [4])])
    inits = [numpy_helper.from_array(np.array(True), 'c'), numpy_helper.from_array(np.ones(4, np.float32), 'one')]
    if stop_after is not None:
        inits.append(numpy_helper.from_array(np.array(stop_after, np.int64), 'limit'))
    path = model(name, [helper.make_node('Loop', ['n', 'c', 'x'], ['y'], name='loop', body=body)],
                 [V('n', TensorProto.INT64, []), x4], [y4], inits)
    return [path, '--input', 'n=' + npy(name + '_trip', np.array(trip, np.int64))]


case('loop_trip_count_2e62', loop_model('loop_trip_count_2e62', 1 << 62),
     r"loops ran more than 67108864 iterations in one run")
case('loop_iterations_limit', loop_model('loop_iterations_limit', 100),
     r"loops ran more than 10 iterations in one run", '--limit', 'loop-iterations=10')
case('while_loop_ends_early', loop_model('while_loop_ends_early', 1 << 62, stop_after=5), None,
     '--limit', 'loop-iterations=10')

# A buffer sized by an input value, past the allocation bound: allocated by
# the code when the size is read at run time (--no-specialize), by the
# runtime when the first run's value is compiled in.
fill_model = model('allocation_limit', [helper.make_node('ConstantOfShape', ['s'], ['y'], name='fill')],
                   [V('s', TensorProto.INT64, [1])], [V('y', TensorProto.FLOAT, None)])
for suffix, extra in (('', ['--no-specialize']), ('_specialized', [])):
    case('allocation_limit' + suffix, fill_model,
         r"asked for \d+ bytes at once, more than the limit of 1000 bytes",
         '--input', 's=' + npy('size', np.array([10000], np.int64)), '--limit', 'allocation-bytes=1000', *extra)

# Buffers held at once, each within the allocation bound.
two_fills = model('workspace_limit', [helper.make_node('ConstantOfShape', ['s'], ['y1'], name='fill'),
                                      helper.make_node('Relu', ['y1'], ['y2'], name='relu')],
                  [V('s', TensorProto.INT64, [1])], [V('y1', TensorProto.FLOAT, None), V('y2', TensorProto.FLOAT, None)])
for suffix, extra in (('', ['--no-specialize']), ('_specialized', [])):
    case('workspace_limit' + suffix, two_fills,
         r"would hold more than 60000 bytes of buffers at once \(Limits::maxWorkspaceBytes\)",
         '--input', 's=' + npy('size', np.array([10000], np.int64)), '--limit', 'workspace-bytes=60000', *extra)

# A name defined twice in one graph (ONNX graphs are in SSA form).
case('duplicate_output', model('duplicate_output', [helper.make_node('Relu', ['x'], ['y'], name='first'),
                                                    helper.make_node('Neg', ['x'], ['y'], name='second')], [x4], [y4]),
     r"node 'second' \(Neg\): output 'y' is already defined in this graph")

# A required input left out (named ""): refused before its builder reads it.
case('required_input_missing', model('required_input_missing', [helper.make_node('Gemm', ['x', ''], ['y'], name='g')],
                                     [V('x', TensorProto.FLOAT, [2, 2])], [V('y', TensorProto.FLOAT, [2, 2])]),
     r"node 'g' \(Gemm\): input 1 is required, but the node gives none")

# Compilation's own budget: wall time and memory grown while compiling.
mm = model('compile_budget', [helper.make_node('MatMul', ['a', 'b'], ['c'], name='mm'), helper.make_node('Relu', ['c'], ['d'])],
           [V('a', TensorProto.FLOAT, [64, 64]), V('b', TensorProto.FLOAT, [64, 64])], [V('d', TensorProto.FLOAT, [64, 64])])
case('compile_time_budget', mm,
     r"model '.*': compilation stopped at .*: it exceeded its time budget of 20 ms \(Limits::maxCompileMilliseconds\)",
     '--limit', 'compile-ms=20')
case('compile_memory_budget', mm,
     r"compilation stopped at .*: it grew the process by \d+ MiB, over its memory budget of 1000 bytes \(Limits::maxCompileBytes\)",
     '--limit', 'compile-bytes=1000')

failed = 0
# (A case past the time limit counts as a hang. loop_trip_count_2e62 runs
# the default 67108864 loop iterations before it is refused: 30-45 s on
# one core, near a minute on a loaded 2-core machine.)
for name, args, expected in cases:
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    try:
        p = subprocess.run([kiln_run, *args, '--no-cache', '--quiet'], capture_output=True, text=True,
                           timeout=180, preexec_fn=limit_memory)
        status, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        status, err = 'timeout', ''
    lines = [l for l in err.splitlines() if l.strip()]
    crashed = re.search(r'segmentation|core dumped|terminate called|Assertion|stack dump|Sanitizer', err, re.I)
    if expected is None:
        ok = status == 0 and not crashed
    else:
        ok = status == 1 and len(lines) >= 1 and re.search(expected, lines[-1]) and not crashed
    print(('ok    ' if ok else 'FAIL  ') + f'{name}: exit {status}: {lines[-1] if lines else ""}')
    if not ok:
        if expected:
            print(f'      expected: {expected}')
        failed += 1
print(f'{len(cases) - failed} of {len(cases)} cases as expected')
sys.exit(1 if failed else 0)
