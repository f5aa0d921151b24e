"""Kiln vs ONNX Runtime, measured in one run: median latency at 1 and 2
threads for the shipped CNN and a 1024x1024x1024 f32 MatMul.

  .venv/bin/python bench/bench.py [--runs 20] [--kiln-run build/bin/kiln-run]

Prints one row per model and thread count: both medians, the ratio
kiln/ort (below 1 means Kiln is faster) and, for the MatMul, GFLOP/s.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def matmul_model(path, n=1024):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((n, n)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"])], "matmul",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return 2.0 * n * n * n


def ort_median(path, threads, runs, feeds):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    s.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def kiln_median(kiln_run, path, threads, runs, inputs, tmp):
    cmd = [kiln_run, path, "--threads", str(threads), "--bench", str(runs), "--json", "--no-cache"]
    for name, value in inputs.items():
        f = os.path.join(tmp, f"{name}.npy")
        np.save(f, value)
        cmd += ["--input", f"{name}={f}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["latency_ms"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--kiln-run", default=os.path.join(ROOT, "build", "bin", "kiln-run"))
    a = p.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        mm = os.path.join(tmp, "matmul1024.onnx")
        flops = matmul_model(mm)
        cases = [
            ("small_cnn (batch 8)", os.path.join(ROOT, "models", "small_cnn.onnx"),
             {"image": rng.uniform(-1, 1, (8, 3, 32, 32)).astype(np.float32)}, None),
            ("matmul 1024^3", mm, {"a": rng.standard_normal((1024, 1024)).astype(np.float32)}, flops),
        ]
        print(f"{'model':<22} {'threads':>7} {'kiln ms':>10} {'ort ms':>10} {'kiln/ort':>9} {'kiln GFLOP/s':>13} {'ort GFLOP/s':>12}")
        for name, path, feeds, fl in cases:
            for threads in (1, 2):
                k = kiln_median(a.kiln_run, path, threads, a.runs, feeds, tmp)
                o = ort_median(path, threads, a.runs, feeds)
                kg = f"{fl / k / 1e6:.1f}" if fl else "-"
                og = f"{fl / o / 1e6:.1f}" if fl else "-"
                print(f"{name:<22} {threads:>7} {k:>10.3f} {o:>10.3f} {k / o:>9.2f} {kg:>13} {og:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
