"""Shared tail of the model scripts: validate, save, and run the model once in ONNX Runtime."""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def out_path():
    """The output file named on the command line (the scripts take exactly one argument)."""
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: {sys.argv[0]} OUT.onnx")
    return sys.argv[1]


def float_model(nodes, name, inputs, outputs, inits, opset):
    """A model of `nodes` whose graph inputs and outputs are f32 tensors, given as
    {name: shape} dicts, at the default-domain `opset`."""
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="kiln-bench")
    model.ir_version = 8
    return model


def save_checked(model, path):
    """Checks `model` (with full shape inference), saves it to `path` and runs it once in ORT
    on uniform(-1, 1) inputs, printing the output shapes."""
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.uniform(-1, 1, [d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
             for i in sess.get_inputs()}
    outs = sess.run(None, feeds)
    for o, v in zip(sess.get_outputs(), outs):
        if not np.all(np.isfinite(v)):
            sys.exit(f"{path}: output {o.name} has non-finite values")
    print(f"{path}: " + ", ".join(f"{o.name} {list(v.shape)}" for o, v in zip(sess.get_outputs(), outs)))
