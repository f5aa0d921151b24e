"""Writes the small models of composed-signal-ops.test: Resize, DFT and a
window whose shape-deciding operands are initializers, so kiln-opt can
import them without input values. Run from this folder with the project's
venv; the .onnx files are committed."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(name, nodes, inputs, outputs, inits, opset):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, name + ".onnx")


x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 2, 2])
save("resize_linear",
     [helper.make_node("Resize", ["X", "", "scales"], ["Y"], mode="linear")],
     [x], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")], 19)

s = helper.make_tensor_value_info("S", TensorProto.FLOAT, [1, 8, 1])
save("dft_rfft",
     [helper.make_node("DFT", ["S", "", "axis"], ["F"], onesided=1)],
     [s], [helper.make_tensor_value_info("F", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(np.array(1, np.int64), "axis")], 20)

save("hann_window",
     [helper.make_node("HannWindow", ["size"], ["W"])],
     [], [helper.make_tensor_value_info("W", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(np.array(4, np.int64), "size")], 17)
