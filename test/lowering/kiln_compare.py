"""Shared by the lowering tests' scripts: runs a model through kiln-run and
compares its outputs with reference values."""
import os
import subprocess

import numpy as np


def run_and_compare(kiln_run, work, name, path, feeds, wants, output_names, extra=(), exact=False):
    """Runs `path` on `feeds` ({input name: array}) with kiln-run and compares
    each output in `output_names` with the array of `wants` in its place
    (|kiln - want| <= 1e-4 + 1e-4 * |want|, or equal when `exact`). Prints one
    ok/FAIL line and returns the number of failures (0 or 1)."""
    args = []
    for k, v in feeds.items():
        p = os.path.join(work, f'{name}_{k}.npy')
        np.save(p, v)
        args += ['--input', f'{k}={p}']
    outdir = os.path.join(work, name + '_out')
    r = subprocess.run([kiln_run, path, *args, '--output-dir', outdir, '--quiet', '--no-cache', *extra],
                       capture_output=True, text=True)
    if r.returncode:
        print(f'FAIL  {name}: exit {r.returncode}: {r.stderr.strip()[-300:]}')
        return 1
    for o, want in zip(output_names, wants):
        got = np.load(os.path.join(outdir, o + '.npy'))
        same = np.array_equal(got, want) if exact else np.allclose(got, want, rtol=1e-4, atol=1e-4)
        if got.shape != want.shape or got.dtype != want.dtype or not same:
            err = np.abs(got - want).max() if got.shape == want.shape else 'shape'
            print(f'FAIL  {name} {o}: shape {list(got.shape)} vs {list(want.shape)}, max abs err {err}')
            return 1
    print(f'ok    {name}: shape {list(wants[0].shape)}')
    return 0
