"""Runs the real models of test/real-models/manifest.txt with ONNX Runtime and
with kiln-run on the same seeded inputs and compares every output.

  .venv/bin/python test/real-models/compare.py [NAME ...] [--models-dir DIR]
      [--kiln-run PATH] [--seed 0] [--rtol 1e-3] [--atol 1e-4] [--timeout 900]
      [--list] [--ort-only]

Models come from scripts/fetch-real-models.sh (default folder
${XDG_CACHE_HOME:-~/.cache}/kiln-models). Inputs follow the manifest's fields
(dim:, shape:, input:); outputs match when |kiln - ort| <= atol + rtol * |ort|,
and for tol=int8 models one quantization step of the output's scale more.
For tol=rounding-noise models (dynamic quantization re-rounds activations to
uint8 at run time, so a one-ulp difference anywhere can flip a rounding and
grow), the tolerance is twice the spread of ONNX Runtime's own output when
each input element is moved by at most one ulp (16 draws), and the argmax
along the last axis must agree everywhere.
Prints one line a model, PASS, FAIL or ERROR with the reason (for a model Kiln
refuses, its error message), and exits 1 when any model does not pass.
--list prints each model's ops, non-default domains and dynamic dims instead;
--ort-only checks the inputs with ONNX Runtime alone.
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test", "tools"))
from compare_with_ort import fed_inputs  # noqa: E402

# Ops that only move or relabel data: an output's quantization scale is found
# by walking back through them.
PASS_THROUGH = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Cast"}
INTEGER_OPS = {"MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv"}


class Model:
    def __init__(self, name, wheel, version, path, sha, size, fields):
        self.name, self.wheel, self.version, self.path = name, wheel, version, path
        self.sha, self.size = sha, int(size)
        self.dims, self.shapes, self.values, self.tol = {}, {}, {}, None
        for f in fields:
            key, _, value = f.partition("=")
            if key.startswith("dim:"):
                self.dims[key[4:]] = int(value)
            elif key.startswith("shape:"):
                self.shapes[key[6:]] = [int(d) for d in value.split("x")] if value else []
            elif key.startswith("input:"):
                self.values[key[6:]] = value
            elif key == "tol":
                if value not in ("int8", "rounding-noise"):
                    raise ValueError(f"{name}: unknown tol={value}")
                self.tol = value
            else:
                raise ValueError(f"{name}: unknown field {f}")

    def file(self, models_dir):
        return os.path.join(models_dir, self.wheel, self.path)


def read_manifest(path):
    models = []
    with open(path) as f:
        for line in f:
            cols = line.split("#", 1)[0].split()
            if cols:
                models.append(Model(*cols[:6], cols[6:]))
    return models


def make_inputs(m, model, seed):
    rng = np.random.default_rng(seed)
    inputs = {}
    for vi, dtype in fed_inputs(model):
        tt = vi.type.tensor_type
        if vi.name in m.shapes:
            shape = m.shapes[vi.name]
        else:
            shape = []
            for d in tt.shape.dim:
                if d.HasField("dim_value"):
                    shape.append(d.dim_value)
                elif d.dim_param:
                    shape.append(m.dims.get(d.dim_param, 1))
                else:
                    raise ValueError(f"input {vi.name} has an unnamed unknown dim: give shape:{vi.name}=AxB...")
        spec = m.values.get(vi.name)
        integer = not np.issubdtype(dtype, np.floating) and dtype != np.bool_
        if spec is not None and ".." in spec:
            lo, hi = spec.split("..")
            if integer:
                value = rng.integers(int(lo), int(hi), shape, endpoint=True)
            else:
                value = rng.uniform(float(lo), float(hi), shape)
        elif spec is not None:
            value = np.full(shape, float(spec) if not integer else int(spec))
        elif dtype == np.bool_:
            value = rng.integers(0, 2, shape)
        elif integer:
            value = rng.integers(0, 8, shape)
        else:
            value = rng.random(shape)
        inputs[vi.name] = np.asarray(value).astype(dtype)
    return inputs


def ort_session(model_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def output_scales(model):
    """For each graph output, the tensor holding its quantization scale: found
    by walking back through data-movement ops and a bias Add to a
    DequantizeLinear (its x_scale) or to Mul(Cast(integer op), scale)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    consts = {i.name for i in model.graph.initializer}
    consts |= {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    scales = {}
    for out in model.graph.output:
        t, seen = out.name, 0
        while t in producer and seen < 32:
            seen += 1
            n = producer[t]
            if n.op_type == "DequantizeLinear":
                scales[out.name] = n.input[1]
                break
            if n.op_type in PASS_THROUGH:
                t = n.input[0]
            elif n.op_type == "Add" and any(i in consts for i in n.input):
                t = next(i for i in n.input if i not in consts)
            elif n.op_type == "Mul":
                def integer_side(x):
                    p = producer.get(x)
                    while p is not None and p.op_type in PASS_THROUGH:
                        if p.op_type in INTEGER_OPS:
                            break
                        p = producer.get(p.input[0])
                    return p is not None and p.op_type in INTEGER_OPS
                a, b = n.input
                if integer_side(a):
                    scales[out.name] = b
                elif integer_side(b):
                    scales[out.name] = a
                break
            else:
                break
    return scales


def scale_values(model, scales, inputs):
    """Runs ORT once more with the scale tensors as extra outputs."""
    wanted = sorted(set(scales.values()))
    init = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    extra = [s for s in wanted if s not in init]
    values = {s: init[s] for s in wanted if s in init}
    if extra:
        m = onnx.ModelProto()
        m.CopyFrom(model)
        have = {o.name for o in m.graph.output}
        for s in extra:
            if s not in have:
                m.graph.output.append(onnx.ValueInfoProto(name=s))
        got = ort_session(m.SerializeToString()).run(extra, inputs)
        values.update(zip(extra, got))
    return {out: float(np.max(np.abs(values[s]))) for out, s in scales.items()}


def rounding_noise(sess, names, inputs, expected, seed, draws=16):
    """Per float output, how far ONNX Runtime's own result moves when each
    float input element moves by at most one ulp."""
    rng = np.random.default_rng(seed + 1)
    spread = {n: 0.0 for n in names if np.issubdtype(expected[n].dtype, np.floating)}
    for _ in range(draws):
        moved = {}
        for k, v in inputs.items():
            if np.issubdtype(v.dtype, np.floating):
                step = rng.integers(-1, 2, v.shape)
                v = np.where(step > 0, np.nextafter(v, np.inf), np.where(step < 0, np.nextafter(v, -np.inf), v))
            moved[k] = v.astype(inputs[k].dtype)
        for n, out in zip(names, sess.run(names, moved)):
            if n in spread:
                spread[n] = max(spread[n], float(np.abs(out.astype(np.float64) - expected[n]).max()))
    return spread


def kiln_error(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-6:]) if lines else "(no message)"


def compare_model(m, args):
    path = m.file(args.models_dir)
    if not os.path.isfile(path):
        return "ERROR", f"{path} missing (run scripts/fetch-real-models.sh)"
    with open(path, "rb") as f:
        data = f.read()
    model = onnx.load_from_string(data)
    inputs = make_inputs(m, model, args.seed)
    t0 = time.time()
    try:
        sess = ort_session(data)
        names = [o.name for o in sess.get_outputs()]
        expected = dict(zip(names, sess.run(names, inputs)))
    except Exception as e:  # noqa: BLE001
        return "ERROR", f"ONNX Runtime: {str(e).strip().splitlines()[0]}"
    scales, noise = {}, {}
    if m.tol == "int8":
        scales = scale_values(model, output_scales(model), inputs)
    elif m.tol == "rounding-noise":
        noise = rounding_noise(sess, names, inputs, expected, args.seed)
    ort_s = time.time() - t0
    if args.ort_only:
        shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in expected.items())
        return "PASS", f"ORT only ({ort_s:.1f}s): {shapes}"

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.kiln_run, path, "--threads", "1", "--output-dir", os.path.join(tmp, "out"),
               "--no-cache", "--quiet"]
        for i, (name, value) in enumerate(inputs.items()):
            p = os.path.join(tmp, f"in{i}.npy")
            np.save(p, value)
            cmd += ["--input", f"{name}={p}"]
        t0 = time.time()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return "ERROR", f"kiln-run took over {args.timeout}s"
        kiln_s = time.time() - t0
        if r.returncode != 0:
            return "ERROR", f"kiln-run exited {r.returncode}: {kiln_error(r.stderr + r.stdout)}"
        worst_lines, ok = [], True
        for name in names:
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
            f = os.path.join(tmp, "out", safe + ".npy")
            if not os.path.exists(f):
                ok = False
                worst_lines.append(f"{name}: no output")
                continue
            got, want = np.load(f), expected[name]
            if got.shape != want.shape:
                ok = False
                worst_lines.append(f"{name}: shape {list(got.shape)}, ORT {list(want.shape)}")
                continue
            if got.dtype != want.dtype:
                ok = False
                worst_lines.append(f"{name}: dtype {got.dtype}, ORT {want.dtype}")
                continue
            g, w = got.astype(np.float64), want.astype(np.float64)
            both_nan = np.isnan(g) & np.isnan(w)
            err = np.where(both_nan, 0.0, np.abs(g - w))
            err = np.where(np.isnan(err), np.inf, err)
            if np.issubdtype(want.dtype, np.floating):
                bound = args.atol + args.rtol * np.abs(w)
                if name in scales:
                    bound = bound + scales[name]
                if name in noise:
                    bound = np.maximum(bound, 2 * noise[name])
            else:
                bound = np.zeros_like(w)
            bad = int(np.sum(err > bound))
            worst = float(err.max()) if err.size else 0.0
            note = f" (+1 int8 step {scales[name]:.3g})" if name in scales else ""
            if m.tol == "int8" and name not in scales and np.issubdtype(want.dtype, np.floating):
                note = " (no output scale found: plain tolerance)"
            if name in noise:
                agree = float(np.mean(got.argmax(-1) == want.argmax(-1))) if got.ndim else 1.0
                note = f" (rounding noise of ONNX Runtime {noise[name]:.3g}, argmax agrees {agree:.0%})"
                bad += int(agree < 1.0)
            worst_lines.append(f"{name}: max abs err {worst:.3g}, {bad}/{err.size} outside{note}")
            ok &= bad == 0
        timing = f"ort {ort_s:.1f}s, kiln {kiln_s:.1f}s"
        return ("PASS" if ok else "FAIL"), "; ".join(worst_lines) + f" [{timing}]"


def describe(m, args):
    path = m.file(args.models_dir)
    model = onnx.load(path)
    ops, domains = collections.Counter(), set()

    def walk(g):
        for n in g.node:
            ops[(n.domain + ":" if n.domain not in ("", "ai.onnx") else "") + n.op_type] += 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(model.graph)
    for n in ops:
        if ":" in n:
            domains.add(n.split(":")[0])
    init = {i.name for i in model.graph.initializer}
    dyn = []
    for vi in model.graph.input:
        if vi.name in init:
            continue
        dims = ["?" if not (d.HasField("dim_value") or d.dim_param) else
                (d.dim_param or str(d.dim_value)) for d in vi.type.tensor_type.shape.dim]
        dtype = onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()
        dyn.append(f"{vi.name}:{dtype}[{','.join(dims)}]")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), "?")
    print(f"{m.name} ({m.wheel} {m.version}, {m.size / 1e6:.1f} MB, opset {opset}"
          f"{', domains ' + ','.join(sorted(domains)) if domains else ''})")
    print(f"  inputs: {' '.join(dyn)}")
    print(f"  ops: {', '.join(f'{k}x{v}' if v > 1 else k for k, v in sorted(ops.items()))}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="models to run (default: all in the manifest)")
    p.add_argument("--manifest", default=os.path.join(HERE, "manifest.txt"))
    p.add_argument("--models-dir", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "kiln-models"))
    p.add_argument("--kiln-run", default=os.path.join(ROOT, "build", "bin", "kiln-run"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-4)
    p.add_argument("--timeout", type=int, default=900, help="seconds a kiln-run may take")
    p.add_argument("--list", action="store_true", help="describe the models instead of running them")
    p.add_argument("--ort-only", action="store_true", help="run ONNX Runtime alone (checks the inputs)")
    args = p.parse_args()
    models = read_manifest(args.manifest)
    known = {m.name for m in models}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"compare.py: not in the manifest: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.names:
        models = [m for m in models if m.name in args.names]
    fetched = any(f.endswith(".onnx") for _, _, files in os.walk(args.models_dir) for f in files)
    if not fetched:
        # ctest reads 77 as skipped, and shows this line.
        print(f"compare.py: skipped, no real-model corpus in {args.models_dir} "
              "(scripts/fetch-real-models.sh fetches it)")
        return 77
    failed = 0
    for m in models:
        if args.list:
            describe(m, args)
            continue
        try:
            verdict, reason = compare_model(m, args)
        except Exception as e:  # noqa: BLE001
            verdict, reason = "ERROR", f"{type(e).__name__}: {e}"
        failed += verdict != "PASS"
        print(f"{verdict:5} {m.name}: {reason}", flush=True)
    if not args.list:
        print(f"{len(models) - failed} of {len(models)} models pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
