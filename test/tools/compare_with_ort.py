"""Differential test: runs a model with ONNX Runtime and with kiln-run on the
same seeded random inputs and compares every output.

  .venv/bin/python test/tools/compare_with_ort.py --model M.onnx [--kiln-run PATH]
      [--dim NAME=VALUE]... [--rtol 1e-3] [--atol 1e-4] [--seed 0]

Exits 0 when every output matches: |kiln - ort| <= atol + rtol * |ort|.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

NP_TYPES = {
    onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16, onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.INT16: np.int16, onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT64: np.int64, onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.UINT16: np.uint16, onnx.TensorProto.UINT32: np.uint32,
    onnx.TensorProto.UINT64: np.uint64, onnx.TensorProto.BOOL: np.bool_,
}


def fed_inputs(model):
    """(value info, numpy type) of each graph input that is not an initializer."""
    init = {i.name for i in model.graph.initializer}
    return [(vi, NP_TYPES[vi.type.tensor_type.elem_type]) for vi in model.graph.input if vi.name not in init]


def make_inputs(model, dims, seed):
    rng = np.random.default_rng(seed)
    inputs = {}
    for vi, dtype in fed_inputs(model):
        shape = [d.dim_value if d.HasField("dim_value") else dims.get(d.dim_param, 1)
                 for d in vi.type.tensor_type.shape.dim]
        if np.issubdtype(dtype, np.floating):
            value = rng.uniform(-1, 1, shape).astype(dtype)
        elif dtype == np.bool_:
            value = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            value = rng.integers(0, 8, shape).astype(dtype)
        inputs[vi.name] = value
    return inputs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--kiln-run", default=os.path.join(here, "..", "..", "build", "bin", "kiln-run"))
    p.add_argument("--dim", action="append", default=[], help="NAME=VALUE for symbolic dims")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dynamic", action="store_true",
                   help="have Kiln compile with every input dim unknown (kiln-run --dynamic)")
    a = p.parse_args()
    dims = {k: int(v) for k, v in (d.split("=", 1) for d in a.dim)}
    model = onnx.load(a.model)
    inputs = make_inputs(model, dims, a.seed)

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    expected = dict(zip(names, sess.run(names, inputs)))

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [a.kiln_run, a.model, "--threads", str(a.threads), "--output-dir", tmp, "--quiet", "--no-cache"]
        if a.dynamic:
            cmd.append("--dynamic")
        for name, value in inputs.items():
            path = os.path.join(tmp, f"in_{len(cmd)}.npy")
            np.save(path, value)
            cmd += ["--input", f"{name}={path}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {a.model}: kiln-run exited {r.returncode}: {r.stderr.strip()}")
            return 1
        ok = True
        for name in names:
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
            got = np.load(os.path.join(tmp, safe + ".npy"))
            want = expected[name]
            if got.shape != want.shape:
                print(f"FAIL {name}: shape {got.shape}, ORT {want.shape}")
                ok = False
                continue
            err = np.abs(got.astype(np.float64) - want.astype(np.float64))
            bound = a.atol + a.rtol * np.abs(want.astype(np.float64))
            bad = int(np.sum(err > bound))
            worst = float(err.max()) if err.size else 0.0
            print(f"{'ok  ' if bad == 0 else 'FAIL'} {name}: {want.dtype}{list(want.shape)} "
                  f"max abs error {worst:.3g}, {bad} elements outside rtol {a.rtol} atol {a.atol}")
            ok &= bad == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
