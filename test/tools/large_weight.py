"""Writes DIR/model.onnx: an embedding table of 2.15 GB (over 2 GiB) read by
Gather. The table is external data in a sparse file (no disk is spent on
its zeros) whose last row is nonzero; DIR/i.npy asks for the last row and
the first, DIR/expected.npy holds what they are."""
import sys, os, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
d = sys.argv[1]; rows, width = 131200, 4100  # 2.15e9 bytes
os.makedirs(d, exist_ok=True)
last = (np.arange(width, dtype=np.float32) % 7) - 3
with open(os.path.join(d, 'table.bin'), 'wb') as f:
    f.truncate((rows - 1) * width * 4)
    f.seek((rows - 1) * width * 4)
    f.write(last.tobytes())
t = TensorProto(name='table', data_type=TensorProto.FLOAT, dims=[rows, width])
t.data_location = TensorProto.EXTERNAL
for key, v in (('location', 'table.bin'), ('offset', '0'), ('length', str(rows * width * 4))):
    e = t.external_data.add(); e.key = key; e.value = v
g = helper.make_graph([helper.make_node('Gather', ['table', 'i'], ['y'])], 'embedding',
                      [helper.make_tensor_value_info('i', TensorProto.INT64, [2])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, width])], [t])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8
onnx.save(m, os.path.join(d, 'model.onnx'))
np.save(os.path.join(d, 'i.npy'), np.array([rows - 1, 0], np.int64))
np.save(os.path.join(d, 'expected.npy'), np.stack([last, np.zeros(width, np.float32)]))
