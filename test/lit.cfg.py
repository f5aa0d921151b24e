import os
import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_bin_dir, "..", "test")
config.excludes = ["unit", "conformance", "CMakeLists.txt", "lit.cfg.py"]

config.environment["PATH"] = os.pathsep.join(
    [config.kiln_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%onnx_tests", config.onnx_tests))
config.substitutions.append(("%kiln_src", config.kiln_src_dir))
config.substitutions.append(("%kiln_bin", config.kiln_bin_dir))
# The project's Python (numpy, onnx, onnxruntime), for comparing outputs.
config.substitutions.append(("%python", config.python))

# kiln-run caches compiled code by default; keep the tests' cache in the
# build tree, not the user's home.
config.environment["XDG_CACHE_HOME"] = os.path.join(config.test_exec_root, "xdg-cache")

# Tests of ops newer than Debian's ONNX test data need the 1.23 suite.
if os.path.isdir(os.path.join(config.onnx_tests, "node", "test_attention_4d")):
    config.available_features.add("onnx-1.23")
