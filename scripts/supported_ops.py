"""Writes docs/SupportedOps.md from the dialect, the importer and the
conformance expectations: per ONNX op, whether Kiln imports it, how many node
tests using it pass, the opsets and element types of the passing tests, and
the reasons recorded for the tests that do not pass.

  .venv/bin/python scripts/supported_ops.py [--tests ../shared/onnx-tests/node]
"""
import argparse
import collections
import os
import re

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def importer_ops():
    """Op types with a builder: every table["Op"] / t["Op"] / t[d + "Op"]
    (other domains) and the op lists of the loops filling the table."""
    ops = set()
    frontend = os.path.join(ROOT, "frontend")
    for name in sorted(os.listdir(frontend)):
        if not name.endswith(".cpp"):
            continue
        text = open(os.path.join(frontend, name)).read()
        ops.update(re.findall(r'\b(?:t|table)\["(?:(?!com\.microsoft)[\w.]+:)?(\w+)"\]', text))
        ops.update(re.findall(r'\bt\[d \+ "(\w+)"\]', text))
        for group in re.findall(r"for \(const char \*op : \{([^}]*)\}\)", text):
            ops.update(re.findall(r'"(\w+)"', group))
    return ops


# ONNX Runtime's contrib ops Kiln composes from ONNX ones (frontend/Microsoft.cpp).
MICROSOFT_OPS = {
    "Gelu": "x * Phi(x), with erf",
    "BiasGelu": "Gelu(A + B), with erf",
    "FastGelu": "tanh approximation of Gelu(X + bias); bias optional",
    "QuickGelu": "x * sigmoid(alpha * x), alpha 1.702 by default",
    "BiasAdd": "X + bias + skip",
    "FusedMatMul": "alpha * op(A) x op(B), op transposing the last two dims (transA, transB); "
                   "transBatchA/transBatchB refused",
    "SkipLayerNormalization": "LayerNormalization over the last axis of input + skip (+ bias), epsilon 1e-12 "
                              "by default; outputs Y, mean, 1/std and the sum",
    "SkipSimplifiedLayerNormalization": "RMS normalization over the last axis of input + skip (+ bias); "
                                        "outputs Y, 1/rms (output 2) and the sum (output 3)",
    "DynamicQuantizeMatMul": "A quantized to uint8 as DynamicQuantizeLinear does, integer matmul with the "
                             "int8/uint8 B (per-tensor or per-column scale and zero point), scaled back, + bias",
    "MatMulIntegerToFloat": "integer matmul of quantized A and B scaled back to float by a_scale * b_scale, + bias",
    "MatMulNBits": "A x W + bias, W stored in 2-, 4- or 8-bit blocks with per-block scales and zero points "
                   "(packed or float); dequantized once at compile time (B, scales and zero points must be "
                   "initializers; g_idx refused)",
    "DynamicQuantizeLSTM": "LSTM with int8 weights (transposed, per-direction or per-column scales); the left "
                           "operand of each weight matmul (X at once, h at each step) is quantized to uint8 "
                           "as ONNX Runtime's kernel does",
}


def microsoft_ops():
    text = open(os.path.join(ROOT, "frontend", "Microsoft.cpp")).read()
    ops = re.findall(r't\["com\.microsoft:(\w+)"\]', text)
    missing = [op for op in ops if op not in MICROSOFT_OPS]
    if missing:
        raise SystemExit(f"describe {', '.join(missing)} in MICROSOFT_OPS")
    return ops


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tests", default=os.path.join(ROOT, "..", "shared", "onnx-tests", "node"))
    p.add_argument("--expectations", default=os.path.join(ROOT, "test", "conformance", "expectations.txt"))
    p.add_argument("--dynamic-expectations",
                   default=os.path.join(ROOT, "test", "conformance", "expectations-dynamic.txt"))
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "SupportedOps.md"))
    a = p.parse_args()
    expected = {}
    for line in open(a.expectations):
        if line.startswith("test_"):
            name, _, reason = line.partition("  ")
            expected[name] = reason.strip()
    per_shape = set()  # tests not compiled once for unknown dims (--dynamic)
    if os.path.exists(a.dynamic_expectations):
        for line in open(a.dynamic_expectations):
            if line.startswith("test_"):
                per_shape.add(line.partition("  ")[0])
    imported = importer_ops()
    dynamic = collections.Counter()
    passed, total = collections.Counter(), collections.Counter()
    opsets, dtypes = collections.defaultdict(set), collections.defaultdict(set)
    limits = collections.defaultdict(collections.Counter)
    for t in sorted(os.listdir(a.tests)):
        path = os.path.join(a.tests, t, "model.onnx")
        if not os.path.exists(path):
            continue
        m = onnx.load(path, load_external_data=False)
        versions = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in m.opset_import}
        types = {onnx.TensorProto.DataType.Name(i.type.tensor_type.elem_type).lower()
                 for i in m.graph.input if i.type.HasField("tensor_type")}
        ops = {(n.op_type, n.domain) for n in m.graph.node}
        for op, domain in ops:
            total[op] += 1
            if t in expected:
                full = expected[t].split(": ", 1)[-1]
                named = re.findall(r"node '[^']*' \((\w+)\)|unsupported ONNX op '(\w+)'", full)
                culprits = {a or b for a, b in named}
                reason = re.sub(r"model '[^']*': ", "", full)
                reason = re.sub(r"node '[^']*' \(\w+\): ", "", reason)
                # A reason belongs to the op it names, or to the op of a
                # one-op test; it says nothing about the others.
                if op in culprits or (not culprits and len(ops) == 1):
                    limits[op][reason[:110]] += 1
            else:
                passed[op] += 1
                dynamic[op] += t not in per_shape
                opsets[op].add(versions.get(domain, 0))
                dtypes[op].update(types)
    with open(a.out, "w") as out:
        out.write("# Supported ONNX operators\n\n")
        out.write("Generated by `scripts/supported_ops.py` from the importer's op table and\n"
                  "`test/conformance/expectations.txt` (the ONNX 1.23 node tests). *Passing* counts\n"
                  "the node tests that use the op and pass; opsets and element types are those of\n"
                  "the passing tests; limits are the recorded reasons of tests that do not pass.\n"
                  "*Unknown dims* counts the passing tests that `kiln-conformance --dynamic`\n"
                  "(every input dim unknown) compiles once for unknown dims rather than per shape\n"
                  "(`test/conformance/expectations-dynamic.txt` says why for the others).\n\n")
        out.write("| op | imported | node tests passing | unknown dims | opsets | input types | known limits |\n")
        out.write("|---|---|---|---|---|---|---|\n")
        for op in sorted(set(total) | imported):
            lim = "; ".join(r for r, _ in limits[op].most_common(2)).replace("|", "\\|")
            out.write(f"| {op} | {'yes' if op in imported else 'no'} | {passed[op]} / {total[op]} | "
                      f"{dynamic[op]} | "
                      f"{', '.join(map(str, sorted(opsets[op])))} | {', '.join(sorted(dtypes[op]))} | {lim} |\n")
        out.write("\n## ONNX Runtime's com.microsoft ops\n\n"
                  "Ops outside the standard that ONNX Runtime's exporters, transformer optimizer and\n"
                  "quantization tools write into models, each composed from ONNX ops with ONNX\n"
                  "Runtime's semantics (`frontend/Microsoft.cpp`). `test/frontend/microsoft_ops.py`\n"
                  "checks every variant against ONNX Runtime (rtol 1e-4, atol 1e-5). int8 weights\n"
                  "there stay within +-63: ONNX Runtime's AVX2 uint8 x int8 kernels add pairs of\n"
                  "products in saturating 16-bit lanes, which Kiln does not imitate.\n\n")
        out.write("| op | semantics |\n|---|---|\n")
        for op in microsoft_ops():
            out.write(f"| {op} | {MICROSOFT_OPS[op]} |\n")
    print(f"wrote {a.out}: {len(imported)} ops imported")


if __name__ == "__main__":
    main()
