// The strategy layer: kiln-configure gives GEMM-class ops and convolutions a
// lowering configuration from the target's vector registers.
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=256 vector-registers=16}))' | FileCheck %s --check-prefix=AVX2
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32}))' | FileCheck %s --check-prefix=AVX512

// A 6x16 register tile (12 ymm accumulators) with AVX2, 8x32 with AVX-512;
// B (1024 columns, rows 4 KiB apart) is packed into [N/NR][K][NR] slivers
// and the contraction runs over (m, n / NR, n % NR, k); cache tiles of 256
// columns (16 slivers) by 256 rows of B; rows split across threads.
// AVX2-LABEL: func.func @gemm_packed
// AVX2: %[[E:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [1024, 64, 16]
// AVX2: linalg.transpose ins(%[[E]] : tensor<1024x64x16xf32>) outs(%{{.*}} : tensor<64x1024x16xf32>) permutation = [1, 0, 2]
// AVX2: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// AVX2-SAME: kiln.config = {cache = array<i64: 0, 16, 0, 256>, kind = "contraction", lanes = 8 : i64, registers = array<i64: 6, 1, 16, 1>, threads = array<i64: 64, 0, 0, 0>, vector_dim = 2 : i64}
// AVX2: tensor.collapse_shape
// AVX512-LABEL: func.func @gemm_packed
// AVX512: output_shape [1024, 32, 32]
// AVX512: kiln.config = {cache = array<i64: 0, 8, 0, 256>, kind = "contraction", lanes = 16 : i64, registers = array<i64: 8, 1, 32, 1>
func.func @gemm_packed(%x: tensor<1024x1024xf32>, %w: tensor<1024x1024xf32>) -> tensor<1024x1024xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<1024x1024xf32>, tensor<1024x1024xf32>) -> tensor<1024x1024xf32>
  return %0 : tensor<1024x1024xf32>
}

// Too little work to split (0.5 MFLOP): no thread tiles; B is not packed.
// One reduction loop, not cache-tiled: the zero fill of C is dropped and
// the kernel starts its accumulators at zero (kiln.zero_init).
// AVX2-LABEL: func.func @gemm_small
// AVX2-NOT: linalg.fill
// AVX2: linalg.matmul {kiln.config = {cache = array<i64: 0, 0, 0>, kind = "contraction", lanes = 8 : i64, registers = array<i64: 6, 16, 1>, threads = array<i64: 0, 0, 0>, vector_dim = 1 : i64}, kiln.zero_init}
func.func @gemm_small(%x: tensor<100x64xf32>, %w: tensor<64x40xf32>) -> tensor<100x40xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<100x64xf32>, tensor<64x40xf32>) -> tensor<100x40xf32>
  return %0 : tensor<100x40xf32>
}

// A GEMV: one row, so four vectors of columns.
// AVX2-LABEL: func.func @gemv
// AVX2: registers = array<i64: 1, 32, 1>
func.func @gemv(%x: tensor<1x512xf32>, %w: tensor<512x256xf32>) -> tensor<1x256xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<1x512xf32>, tensor<512x256xf32>) -> tensor<1x256xf32>
  return %0 : tensor<1x256xf32>
}

// A large GEMV splits B's columns across tasks, each streaming its own
// part of B, by B's bytes: 16 MiB in tasks of 256 KiB (64 tasks of 32
// columns), each part small enough to stay in its core's L2 when the GEMV
// runs again.
// AVX2-LABEL: func.func @gemv_split
// AVX2: threads = array<i64: 0, 32, 0>
func.func @gemv_split(%x: tensor<1x2048xf32>, %w: tensor<2048x2048xf32>) -> tensor<1x2048xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<1x2048xf32>, tensor<2048x2048xf32>) -> tensor<1x2048xf32>
  return %0 : tensor<1x2048xf32>
}

// Batched: 128 rows are two tasks' worth (at least 64 rows of A each), so
// two tasks of 4 matrices.
// AVX2-LABEL: func.func @batched
// AVX2: linalg.batch_matmul {kiln.config = {{{.*}}registers = array<i64: 1, 6, 16, 1>, threads = array<i64: 4, 0, 0, 0>
func.func @batched(%a: tensor<8x128x256xf32>, %b: tensor<8x256x128xf32>) -> tensor<8x128x128xf32> {
  %0 = kiln.MatMul %a, %b : (tensor<8x128x256xf32>, tensor<8x256x128xf32>) -> tensor<8x128x128xf32>
  return %0 : tensor<8x128x128xf32>
}

// A 1x1 convolution is a contraction over (n, f, h*w, c): the filter is A,
// the image's flattened positions are the vector dim.
// AVX2-LABEL: func.func @pointwise_conv
// AVX2: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// AVX2-SAME: ins(%{{.*}}, %{{.*}} : tensor<256x64xf32>, tensor<1x64x3136xf32>)
// AVX2-SAME: kind = "contraction", lanes = 8 : i64, registers = array<i64: 1, 6, 16, 1>, threads = array<i64: 0, 64, 0, 0>, vector_dim = 2
func.func @pointwise_conv(%x: tensor<1x64x56x56xf32>, %w: tensor<256x64x1x1xf32>) -> tensor<1x256x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x64x56x56xf32>, tensor<256x64x1x1xf32>, none) -> tensor<1x256x56x56xf32>
  return %0 : tensor<1x256x56x56xf32>
}

// A 3x3 convolution over rows of whole vectors: the direct kernel, MR
// output channels by NR output columns; output rows split across threads.
// AVX2-LABEL: func.func @conv3x3
// AVX2: linalg.conv_2d_nchw_fchw {{{.*}}kiln.config = {cache = array<i64: 0, 0, 0, 0, 0, 0, 0>, kind = "conv", lanes = 8 : i64, registers = array<i64: 1, 6, 1, 16, 1, 1, 1>, threads = array<i64: 0, 0, 1, 0, 0, 0, 0>, vector_dim = 3 : i64}
func.func @conv3x3(%x: tensor<1x64x56x56xf32>, %w: tensor<64x64x3x3xf32>) -> tensor<1x64x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, none) -> tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}

// Rows of 30 make no whole vectors, and rows of the plain im2col form
// would lie 4.7 KiB apart: the windows are gathered straight into packed
// slivers [n, blocks, c * taps, NR], positions taken at the padded width
// (40 x 32 = 1280, whole slivers), the window of position p starting at
// p + kh * 32 + kw of the flattened image, which gets one more zero row
// below so the last windows stay inside it. The columns past 30 are
// dropped from the result.
// AVX2-LABEL: func.func @conv3x3_packed_rows
// AVX2-NOT: tensor<1x288x1200xf32>
// AVX2: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 2, 1]
// AVX2: tensor<1x32x40x30xf32> to tensor<1x32x43x32xf32>
// AVX2: tensor.collapse_shape {{.*}} into tensor<1x32x1376xf32>
// AVX2: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x32x1376xf32>) outs(%{{.*}} : tensor<1x80x32x3x3x16xf32>)
// AVX2: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<64x288xf32>, tensor<1x80x288x16xf32>) outs(%{{.*}} : tensor<1x64x80x16xf32>)
// AVX2-SAME: kind = "contraction"
// AVX2: tensor.extract_slice {{.*}} tensor<1x64x40x32xf32> to tensor<1x64x40x30xf32>
// AVX512-LABEL: func.func @conv3x3_packed_rows
// AVX512: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x32x1376xf32>) outs(%{{.*}} : tensor<1x40x32x3x3x32xf32>)
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<64x288xf32>, tensor<1x40x288x32xf32>) outs(%{{.*}} : tensor<1x64x40x32xf32>)
// AVX512-SAME: kind = "contraction", lanes = 16 : i64, registers = array<i64: 1, 8, 1, 32, 1>
func.func @conv3x3_packed_rows(%x: tensor<1x32x40x30xf32>, %w: tensor<64x32x3x3xf32>) -> tensor<1x64x40x30xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x32x40x30xf32>, tensor<64x32x3x3xf32>, none) -> tensor<1x64x40x30xf32>
  return %0 : tensor<1x64x40x30xf32>
}

// Output rows of 7: the input windows are gathered once (im2col, 64 x 9
// taps) and the convolution is a GEMM over the 49 positions.
// AVX2-LABEL: func.func @conv3x3_small
// AVX2: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x64x9x9xf32>) outs(%{{.*}} : tensor<1x64x3x3x7x7xf32>)
// AVX2: tensor.collapse_shape {{.*}} into tensor<1x576x49xf32>
// AVX2: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32x576xf32>, tensor<1x576x49xf32>)
// AVX2-SAME: kind = "contraction"
func.func @conv3x3_small(%x: tensor<1x64x7x7xf32>, %w: tensor<32x64x3x3xf32>) -> tensor<1x32x7x7xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x64x7x7xf32>, tensor<32x64x3x3xf32>, none) -> tensor<1x32x7x7xf32>
  return %0 : tensor<1x32x7x7xf32>
}

// The same with constant weights and 64 filters: 49 positions fill vectors
// poorly (7 of 8 lanes, 4 vectors of 16 for 49 floats), 64 filters fill
// whole register tiles. The product is computed transposed, the windows
// laid out positions first, the weight transposed and packed at compile
// time like a Gemm's, then transposed back. The windows are gathered taps
// first from the image moved channels last (one transpose of the padded
// image), so each window row is all channels, copied as vectors; the
// weight's rows are ordered (tap, channel) to match.
// AVX2-LABEL: func.func @conv3x3_small_weights
// AVX2: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x64x9x9xf32> into tensor<1x64x81xf32>
// AVX2: linalg.transpose ins(%{{.*}} : tensor<1x64x81xf32>) outs(%{{.*}} : tensor<1x81x64xf32>) permutation = [0, 2, 1]
// AVX2: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x9x9x64xf32>) outs(%{{.*}} : tensor<1x7x7x3x3x64xf32>)
// AVX2: tensor.collapse_shape {{.*}} into tensor<49x576xf32>
// AVX2: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<49x576xf32>, tensor<4x576x16xf32>)
// AVX2-SAME: kind = "contraction"
// AVX2: linalg.transpose ins(%{{.*}} : tensor<1x49x64xf32>) outs(%{{.*}} : tensor<1x64x49xf32>) permutation = [0, 2, 1]
// AVX512-LABEL: func.func @conv3x3_small_weights
// 49 rows: 7 register tiles of 7 rows, not 6 of 8 and one of a single
// row (two accumulators cannot hide the FMAs' latency).
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<49x576xf32>, tensor<2x576x32xf32>)
// AVX512-SAME: kind = "contraction", lanes = 16 : i64, registers = array<i64: 7, 1, 32, 1>
// AVX512: linalg.transpose ins(%{{.*}} : tensor<1x49x64xf32>) outs(%{{.*}} : tensor<1x64x49xf32>) permutation = [0, 2, 1]
func.func @conv3x3_small_weights(%x: tensor<1x64x7x7xf32>) -> tensor<1x64x7x7xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<64x64x3x3xf32>
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x64x7x7xf32>, tensor<64x64x3x3xf32>, none) -> tensor<1x64x7x7xf32>
  return %0 : tensor<1x64x7x7xf32>
}

// A 1x1 convolution on a small image, transposed the same way: its
// windows are the image itself, positions first, a transpose of whole
// images [n, c, p] -> [n, p, c] (vectorized in square blocks), not a
// gather over loops too short for blocks.
// AVX512-LABEL: func.func @conv1x1_small_weights
// AVX512: linalg.transpose ins(%{{.*}} : tensor<1x256x49xf32>) outs(%{{.*}} : tensor<1x49x256xf32>) permutation = [0, 2, 1]
// AVX512-NOT: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x7x7x256x1x1xf32>)
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<49x256xf32>, tensor<2x256x32xf32>)
// AVX512-SAME: kind = "contraction"
// AVX512: linalg.transpose ins(%{{.*}} : tensor<1x49x64xf32>) outs(%{{.*}} : tensor<1x64x49xf32>) permutation = [0, 2, 1]
func.func @conv1x1_small_weights(%x: tensor<1x256x7x7xf32>) -> tensor<1x64x7x7xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<64x256x1x1xf32>
  %0 = kiln.Conv %x, %w, %none : (tensor<1x256x7x7xf32>, tensor<64x256x1x1xf32>, none) -> tensor<1x64x7x7xf32>
  return %0 : tensor<1x64x7x7xf32>
}

// Constant weights whose filters fill whole slivers, on images that are
// not small: the convolution is computed directly, no windows gathered.
// The weight is packed at compile time into slivers of NR filters
// [f / NR, c, kh, kw, NR]; the generic's loops are (n, sliver, oh, ow, c,
// kh, kw, j), the register tile MR output columns by one sliver (on
// AVX-512 7 x 32: one row fewer than a GEMM's, as each input value serves
// several taps of a row and stays live across them), the cache tile one
// sliver and as many input channels as keep its part of the weight within
// 256 KiB: all 32 here (32 x 9 x 32 floats), so the channels are not
// tiled and the accumulators stay in registers across all of them. The
// result, [n, sliver, oh, ow, NR], is moved back into NCHW.
// AVX2-LABEL: func.func @conv3x3_direct
// AVX2: arith.constant dense<5.000000e-01> : tensor<4x32x3x3x16xf32>
// AVX2: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x32x30x30xf32>, tensor<4x32x3x3x16xf32>) outs(%{{.*}} : tensor<1x4x28x28x16xf32>)
// AVX2-SAME: kind = "conv", lanes = 8 : i64, registers = array<i64: 1, 1, 1, 5, 1, 1, 1, 16>
// AVX2: linalg.transpose ins(%{{.*}} : tensor<1x4x28x28x16xf32>) outs(%{{.*}} : tensor<1x4x16x28x28xf32>) permutation = [0, 1, 4, 2, 3]
// AVX2: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x4x16x28x28xf32> into tensor<1x64x28x28xf32>
// AVX512-LABEL: func.func @conv3x3_direct
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x32x30x30xf32>, tensor<2x32x3x3x32xf32>) outs(%{{.*}} : tensor<1x2x28x28x32xf32>)
// AVX512-SAME: {cache = array<i64: 0, 1, 0, 0, 0, 0, 0, 0>, kind = "conv", lanes = 16 : i64, registers = array<i64: 1, 1, 1, 7, 1, 1, 1, 32>, threads = array<i64: 0, 0, 2, 0, 0, 0, 0, 0>, vector_dim = 7 : i64}
func.func @conv3x3_direct(%x: tensor<1x32x28x28xf32>) -> tensor<1x64x28x28xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<64x32x3x3xf32>
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x32x28x28xf32>, tensor<64x32x3x3xf32>, none) -> tensor<1x64x28x28xf32>
  return %0 : tensor<1x64x28x28xf32>
}

// With a bias and Relu after it, the result is moved into NCHW by them:
// one op over [n, sliver, NR, oh, ow] reads the product through the
// transpose's permutation and the bias split as the channels are, where a
// transpose and then the epilogue each passed over the result.
// AVX512-LABEL: func.func @conv3x3_direct_bias_relu
// AVX512: kind = "conv"
// AVX512-NOT: linalg.transpose
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x28x28x32xf32>, tensor<2x32x1x1xf32>) outs(%{{.*}} : tensor<1x2x32x28x28xf32>)
// AVX512: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x32x28x28xf32> into tensor<1x64x28x28xf32>
func.func @conv3x3_direct_bias_relu(%x: tensor<1x32x28x28xf32>, %b: tensor<64xf32>) -> tensor<1x64x28x28xf32> {
  %w = kiln.Constant dense<0.5> : tensor<64x32x3x3xf32>
  %0 = kiln.Conv %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x32x28x28xf32>, tensor<64x32x3x3xf32>, tensor<64xf32>) -> tensor<1x64x28x28xf32>
  %1 = kiln.Relu %0 : (tensor<1x64x28x28xf32>) -> tensor<1x64x28x28xf32>
  return %1 : tensor<1x64x28x28xf32>
}

// A strided 1x1 convolution takes every other position first, by an
// elementwise copy (split by threads, read as vectors), not a strided
// slice (one serial copy an element at a time), then is a GEMM over them.
// AVX512-LABEL: func.func @pointwise_conv_strided
// AVX512-NOT: tensor.extract_slice
// AVX512: linalg.generic {indexing_maps = [#[[STRIDED:.*]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<1x256x56x56xf32>) outs(%{{.*}} : tensor<1x256x28x28xf32>)
// AVX512: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x256x28x28xf32> into tensor<1x256x784xf32>
// AVX512: kind = "contraction"
func.func @pointwise_conv_strided(%x: tensor<1x256x56x56xf32>, %w: tensor<512x256x1x1xf32>) -> tensor<1x512x28x28xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {strides = [2, 2]} : (tensor<1x256x56x56xf32>, tensor<512x256x1x1xf32>, none) -> tensor<1x512x28x28xf32>
  return %0 : tensor<1x512x28x28xf32>
}

// Where B (the image, 256 x 3136: 3.2 MB) is larger than a core's L2 and
// than A (the weight, 128 x 256), tasks split B's columns in whole
// register tiles, each reading its own part of B and all of A, rather
// than A's rows, each streaming all of B.
// AVX512-LABEL: func.func @pointwise_conv_large_image
// AVX512: kind = "contraction"
// AVX512-SAME: threads = array<i64: 0, 0, {{[1-9][0-9]*}}, 0>
func.func @pointwise_conv_large_image(%x: tensor<1x256x56x56xf32>, %w: tensor<128x256x1x1xf32>) -> tensor<1x128x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x256x56x56xf32>, tensor<128x256x1x1xf32>, none) -> tensor<1x128x56x56xf32>
  return %0 : tensor<1x128x56x56xf32>
}

// A column convolution (5x1 over 256 channels of 512x1, as exporters
// write 1-D ones), computed as a row [n, c, 1, 512]: one output row, so
// its slivers of filters are split across threads (8 slivers of 32 on
// AVX-512), not its rows.
// AVX512-LABEL: func.func @conv_column_direct
// AVX512: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x8x1x508x32xf32>)
// AVX512-SAME: threads = array<i64: 0, {{[1-9][0-9]*}}, 0, 0, 0, 0, 0, 0>
func.func @conv_column_direct(%x: tensor<1x256x512x1xf32>) -> tensor<1x256x508x1xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<256x256x5x1xf32>
  %0 = kiln.Conv %x, %w, %none : (tensor<1x256x512x1xf32>, tensor<256x256x5x1xf32>, none) -> tensor<1x256x508x1xf32>
  return %0 : tensor<1x256x508x1xf32>
}

// Strided: the input is read at 2 * oh + kh, 2 * ow + kw; 48 filters are
// three slivers of 16 on both targets (not whole slivers of 32).
// AVX512-LABEL: func.func @conv3x3_direct_strided
// AVX512: linalg.generic {indexing_maps = [#[[X:map[0-9]*]], {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x16x30x30xf32>, tensor<3x16x3x3x16xf32>) outs(%{{.*}} : tensor<1x3x14x14x16xf32>)
// AVX512-SAME: registers = array<i64: 1, 1, 1, 7, 1, 1, 1, 16>
func.func @conv3x3_direct_strided(%x: tensor<1x16x28x28xf32>) -> tensor<1x48x14x14xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<48x16x3x3xf32>
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<1x16x28x28xf32>, tensor<48x16x3x3xf32>, none) -> tensor<1x48x14x14xf32>
  return %0 : tensor<1x48x14x14xf32>
}

// Positions that fill whole vectors keep them as the vector dim.
// AVX512-LABEL: func.func @conv1x1_28_weights
// AVX512-NOT: linalg.transpose
// AVX512: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<64x32xf32>, tensor<1x32x784xf32>)
// AVX512-SAME: kind = "contraction"
func.func @conv1x1_28_weights(%x: tensor<1x32x28x28xf32>) -> tensor<1x64x28x28xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<64x32x1x1xf32>
  %0 = kiln.Conv %x, %w, %none : (tensor<1x32x28x28xf32>, tensor<64x32x1x1xf32>, none) -> tensor<1x64x28x28xf32>
  return %0 : tensor<1x64x28x28xf32>
}

// Integer and f64 contractions have no strategy yet: plain loops.
// AVX2-LABEL: func.func @gemm_f64
// AVX2-NOT: kiln.config
// AVX2: return
func.func @gemm_f64(%x: tensor<64x64xf64>, %w: tensor<64x64xf64>) -> tensor<64x64xf64> {
  %0 = kiln.MatMul %x, %w : (tensor<64x64xf64>, tensor<64x64xf64>) -> tensor<64x64xf64>
  return %0 : tensor<64x64xf64>
}

// A batch known only at run time: a parallel loop over the images, each a
// convolution of static shape with the direct kernel's configuration.
// AVX2-LABEL: func.func @conv3x3_dynamic_batch
// AVX2: scf.forall (%{{.*}}) in (%{{.*}})
// AVX2: linalg.conv_2d_nchw_fchw {{{.*}}kiln.config = {{{.*}}kind = "conv"{{.*}}} ins(%{{.*}}, %{{.*}} : tensor<1x64x58x58xf32>, tensor<64x64x3x3xf32>) outs(%{{.*}} : tensor<1x64x56x56xf32>)
func.func @conv3x3_dynamic_batch(%x: tensor<?x64x56x56xf32>, %w: tensor<64x64x3x3xf32>) -> tensor<?x64x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<?x64x56x56xf32>, tensor<64x64x3x3xf32>, none) -> tensor<?x64x56x56xf32>
  return %0 : tensor<?x64x56x56xf32>
}

// Other dims unknown too: no strategy, plain loops.
// AVX2-LABEL: func.func @conv3x3_dynamic_image
// AVX2-NOT: kiln.config
// AVX2: return
func.func @conv3x3_dynamic_image(%x: tensor<?x64x?x?xf32>, %w: tensor<64x64x3x3xf32>) -> tensor<?x64x?x?xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<?x64x?x?xf32>, tensor<64x64x3x3xf32>, none) -> tensor<?x64x?x?xf32>
  return %0 : tensor<?x64x?x?xf32>
}

// A GEMV with a constant B (a weight) is packed whatever its rows: the
// columns a task reads are then contiguous, not a page apart. Slivers are
// as wide as a GEMV's register tile (4 vectors); 300 columns are padded to
// 320 with zeros, computed, and sliced back.
// AVX2-LABEL: func.func @gemv_weight_padded
// AVX2: %[[W:.*]] = arith.constant dense_resource<{{.*}}> : tensor<64x320xf32>
// AVX2: tensor.pad %{{.*}} low[0, 0] high[0, 20]
// AVX2: tensor.expand_shape %[[W]] {{\[\[}}0], [1, 2]] output_shape [64, 10, 32]
// AVX2: linalg.transpose
// AVX2: linalg.generic
// AVX2-SAME: kind = "contraction"
// AVX2-SAME: registers = array<i64: 1, 1, 32, 1>
// AVX2: tensor.extract_slice %{{.*}}[0, 0] [1, 300] [1, 1] : tensor<1x320xf32> to tensor<1x300xf32>
func.func @gemv_weight_padded(%x: tensor<1x64xf32>) -> tensor<1x300xf32> {
  %w = kiln.Constant dense<0.5> : tensor<64x300xf32>
  %0 = kiln.MatMul %x, %w : (tensor<1x64xf32>, tensor<64x300xf32>) -> tensor<1x300xf32>
  return %0 : tensor<1x300xf32>
}

// Eight rows of A are too few to split (each task would stream all of B):
// the tasks split the slivers of the packed weight instead.
// AVX2-LABEL: func.func @few_rows_split_slivers
// AVX2: output_shape [2048, 128, 16]
// AVX2: registers = array<i64: 6, 1, 16, 1>, threads = array<i64: 0, 4, 0, 0>
func.func @few_rows_split_slivers(%x: tensor<8x2048xf32>) -> tensor<8x2048xf32> {
  %w = kiln.Constant dense<0.5> : tensor<2048x2048xf32>
  %0 = kiln.MatMul %x, %w : (tensor<8x2048xf32>, tensor<2048x2048xf32>) -> tensor<8x2048xf32>
  return %0 : tensor<8x2048xf32>
}

// 64 output channels are one task's worth of rows and B is the image (a
// 1x1 convolution): tasks take whole register tiles of the 3136 output
// positions, 64 each (a divisor), so every tile stays static.
// AVX2-LABEL: func.func @few_rows_split_columns
// AVX2: registers = array<i64: 1, 6, 16, 1>, threads = array<i64: 0, 0, 64, 0>
func.func @few_rows_split_columns(%x: tensor<1x256x56x56xf32>, %w: tensor<64x256x1x1xf32>) -> tensor<1x64x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x256x56x56xf32>, tensor<64x256x1x1xf32>, none) -> tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}

// A grouped convolution with several channels per group is one ordinary
// convolution per group, on its slices of the input, filters and output;
// each gets a strategy (here the direct kernel: 32 output columns).
// AVX2-LABEL: func.func @grouped_conv
// AVX2-NOT: linalg.conv_2d_ngchw_gfchw
// AVX2: tensor.extract_slice {{.*}} : tensor<1x2x8x34x34xf32> to tensor<1x8x34x34xf32>
// AVX2: linalg.conv_2d_nchw_fchw
// AVX2-SAME: kind = "conv"
// AVX2: tensor.insert_slice {{.*}} into tensor<1x2x8x32x32xf32>
// AVX2: linalg.conv_2d_nchw_fchw
// AVX2-SAME: kind = "conv"
// AVX2: tensor.insert_slice {{.*}} into tensor<1x2x8x32x32xf32>
// AVX2-NOT: linalg.conv
// AVX2: return
func.func @grouped_conv(%x: tensor<1x16x32x32xf32>, %w: tensor<16x8x3x3xf32>) -> tensor<1x16x32x32xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {group = 2 : si64, pads = [1, 1, 1, 1]} : (tensor<1x16x32x32xf32>, tensor<16x8x3x3xf32>, none) -> tensor<1x16x32x32xf32>
  return %0 : tensor<1x16x32x32xf32>
}

// A grouped 1x1 convolution is one contraction whose groups are a batch
// dim (W[g, f, c] times X[n, g, c, p]): its threads split the groups, where
// each group's GEMM alone was too small to split.
// AVX2-LABEL: func.func @grouped_pointwise_conv
// AVX2-NOT: linalg.conv
// AVX2: linalg.generic
// AVX2-SAME: ins({{.*}} : tensor<4x32x32xf32>, tensor<1x4x32x784xf32>)
// AVX2-SAME: outs({{.*}} : tensor<1x4x32x784xf32>)
// AVX2-SAME: kind = "contraction"
// AVX2-SAME: registers = array<i64: 1, 1, 6, 16, 1>
// AVX2-SAME: threads = array<i64: 0, 2, 0, 0, 0>
// AVX2-SAME: kiln.zero_init
// AVX2-NOT: linalg.generic {{.*}}reduction
// AVX2: return
func.func @grouped_pointwise_conv(%x: tensor<1x128x28x28xf32>, %w: tensor<128x32x1x1xf32>) -> tensor<1x128x28x28xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {group = 4 : si64} : (tensor<1x128x28x28xf32>, tensor<128x32x1x1xf32>, none) -> tensor<1x128x28x28xf32>
  return %0 : tensor<1x128x28x28xf32>
}

// A depthwise convolution (one channel per group) is no grouped one: it
// gets no configuration (its generic loops along the output rows, see
// conv-pool.mlir).
// AVX2-LABEL: func.func @depthwise_conv
// AVX2-NOT: kiln.config
// AVX2-NOT: linalg.conv
// AVX2: return
func.func @depthwise_conv(%x: tensor<1x16x32x32xf32>, %w: tensor<16x1x3x3xf32>) -> tensor<1x16x32x32xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {group = 16 : si64, pads = [1, 1, 1, 1]} : (tensor<1x16x32x32xf32>, tensor<16x1x3x3xf32>, none) -> tensor<1x16x32x32xf32>
  return %0 : tensor<1x16x32x32xf32>
}

// Two 1x1 convolutions of one input summed (a residual block's first
// stage): both start from the one zero tensor the importer made for them,
// and both start their accumulators at zero instead (no fill is left).
// AVX2-LABEL: func.func @shared_zero_fill
// AVX2-NOT: linalg.fill
// AVX2: linalg.generic {{.*}} kind = "contraction"
// AVX2-SAME: kiln.zero_init
// AVX2-NOT: linalg.fill
// AVX2: linalg.generic {{.*}} kind = "contraction"
// AVX2-SAME: kiln.zero_init
// AVX2-NOT: linalg.fill
// AVX2: return
func.func @shared_zero_fill(%x: tensor<1x64x16x16xf32>, %wa: tensor<128x64x1x1xf32>, %wb: tensor<128x64x1x1xf32>) -> tensor<1x128x16x16xf32> {
  %none = kiln.none
  %a = kiln.Conv %x, %wa, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %b = kiln.Conv %x, %wb, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %s = kiln.Add %a, %b : (tensor<1x128x16x16xf32>, tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  return %s : tensor<1x128x16x16xf32>
}

// A residual added to a 1x1 convolution's product (another 1x1
// convolution's, as in a residual block's first stage), the sum read by
// nothing else: one convolution accumulates onto the other's product (its
// destination, no kiln.zero_init) and the epilogue (Relu) no longer reads it.
// AVX2-LABEL: func.func @residual_accumulates
// AVX2: %[[A:.*]] = linalg.generic {{.*}} kind = "contraction"{{.*}}kiln.zero_init
// AVX2: %[[E:.*]] = tensor.expand_shape %[[A]]
// AVX2: %[[R:.*]] = tensor.collapse_shape %[[E]]
// AVX2: %[[P:.*]] = linalg.generic {{.*}} outs(%[[R]] : tensor<1x128x256xf32>) attrs =  {kiln.config = {{{.*}}}} {
// AVX2: linalg.generic {{.*}} outs(%[[P]] : tensor<1x128x256xf32>) {
// AVX2-NEXT: ^bb0(%out: f32):
// AVX2: kind = "contraction"
// AVX2: return
func.func @residual_accumulates(%x: tensor<1x64x16x16xf32>, %wa: tensor<128x64x1x1xf32>, %wb: tensor<128x64x1x1xf32>, %wc: tensor<32x128x1x1xf32>) -> tensor<1x32x16x16xf32> {
  %none = kiln.none
  %a = kiln.Conv %x, %wa, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %b = kiln.Conv %x, %wb, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %s = kiln.Add %b, %a : (tensor<1x128x16x16xf32>, tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  %t = kiln.Relu %s : (tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  %y = kiln.Conv %t, %wc, %none : (tensor<1x128x16x16xf32>, tensor<32x128x1x1xf32>, none) -> tensor<1x32x16x16xf32>
  return %y : tensor<1x32x16x16xf32>
}

// The residual is read again after the sum: it is not overwritten.
// AVX2-LABEL: func.func @residual_read_after
// AVX2: linalg.generic {{.*}} kind = "contraction"
// AVX2-SAME: kiln.zero_init
// AVX2: linalg.generic {{.*}} kind = "contraction"
// AVX2-SAME: kiln.zero_init
// AVX2: return
func.func @residual_read_after(%x: tensor<1x64x16x16xf32>, %wa: tensor<128x64x1x1xf32>, %wb: tensor<128x64x1x1xf32>) -> tensor<1x128x16x16xf32> {
  %none = kiln.none
  %a = kiln.Conv %x, %wa, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %b = kiln.Conv %x, %wb, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  %s = kiln.Add %b, %a : (tensor<1x128x16x16xf32>, tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  %t = kiln.Relu %s : (tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  %y = kiln.Mul %t, %a : (tensor<1x128x16x16xf32>, tensor<1x128x16x16xf32>) -> tensor<1x128x16x16xf32>
  return %y : tensor<1x128x16x16xf32>
}

// Register tiles with 32 vector registers: 6 rows by 4 vectors where the
// columns leave the last tile no more of them than 8 x 2 vectors would
// (256 positions: none), 4 rows where 4 divides the rows and 6 does not
// (128 filters), else 8 x 32 (169 positions: 41 columns left by 6 x 64,
// 9 by 8 x 32).
// AVX512-LABEL: func.func @pointwise_conv_wide_tiles
// AVX512: registers = array<i64: 1, 4, 64, 1>
// AVX512-LABEL: func.func @pointwise_conv_wide_tiles_6
// AVX512: registers = array<i64: 1, 6, 64, 1>
// AVX512-LABEL: func.func @pointwise_conv_odd_positions
// AVX512: registers = array<i64: 1, 8, 32, 1>
func.func @pointwise_conv_wide_tiles(%x: tensor<1x64x16x16xf32>, %w: tensor<128x64x1x1xf32>) -> tensor<1x128x16x16xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x64x16x16xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x16x16xf32>
  return %0 : tensor<1x128x16x16xf32>
}
func.func @pointwise_conv_wide_tiles_6(%x: tensor<1x64x16x16xf32>, %w: tensor<96x64x1x1xf32>) -> tensor<1x96x16x16xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x64x16x16xf32>, tensor<96x64x1x1xf32>, none) -> tensor<1x96x16x16xf32>
  return %0 : tensor<1x96x16x16xf32>
}
func.func @pointwise_conv_odd_positions(%x: tensor<1x64x13x13xf32>, %w: tensor<128x64x1x1xf32>) -> tensor<1x128x13x13xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none : (tensor<1x64x13x13xf32>, tensor<128x64x1x1xf32>, none) -> tensor<1x128x13x13xf32>
  return %0 : tensor<1x128x13x13xf32>
}
