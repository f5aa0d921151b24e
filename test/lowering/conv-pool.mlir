// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @conv_bias
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
// CHECK: linalg.generic
// CHECK: arith.addf
func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kiln.Conv %x, %w, %b {pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @conv_grouped
// CHECK: linalg.conv_2d_ngchw_gfchw
func.func @conv_grouped(%x: tensor<1x4x5x5xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x3x3xf32> {
  %n = kiln.none
  %0 = kiln.Conv %x, %w, %n {group = 2 : si64} : (tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32>, none) -> tensor<1x6x3x3xf32>
  return %0 : tensor<1x6x3x3xf32>
}

// A depthwise convolution with unit strides: the padded input (one extra
// row at the bottom) flattened to rows at its padded width, a generic over
// (n, c, position, tap row, tap column) with the taps innermost, and
// the output's columns cut out of the padded-width rows.
// CHECK-LABEL: func.func @conv_depthwise
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 2, 1]
// CHECK: tensor.expand_shape {{.*}} into tensor<1x8x56xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X:.*]], #[[W:.*]], #[[Y:.*]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK: math.fma
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 8, 5, 5] [1, 1, 1, 1] : tensor<1x8x5x7xf32> to tensor<1x8x5x5xf32>
// Strided ones keep linalg's grouped convolution.
// CHECK-LABEL: func.func @conv_depthwise_strided
// CHECK: linalg.conv_2d_ngchw_gfchw
func.func @conv_depthwise(%x: tensor<1x8x5x5xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<1x8x5x5xf32> {
  %n = kiln.none
  %0 = kiln.Conv %x, %w, %n {group = 8 : si64, pads = [1, 1, 1, 1]} : (tensor<1x8x5x5xf32>, tensor<8x1x3x3xf32>, none) -> tensor<1x8x5x5xf32>
  return %0 : tensor<1x8x5x5xf32>
}
func.func @conv_depthwise_strided(%x: tensor<1x8x5x5xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<1x8x3x3xf32> {
  %n = kiln.none
  %0 = kiln.Conv %x, %w, %n {group = 8 : si64, pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<1x8x5x5xf32>, tensor<8x1x3x3xf32>, none) -> tensor<1x8x3x3xf32>
  return %0 : tensor<1x8x3x3xf32>
}

// CHECK-LABEL: func.func @conv_1d
// CHECK: linalg.conv_1d_ncw_fcw
func.func @conv_1d(%x: tensor<1x2x9xf32>, %w: tensor<3x2x3xf32>) -> tensor<1x3x7xf32> {
  %n = kiln.none
  %0 = kiln.Conv %x, %w, %n : (tensor<1x2x9xf32>, tensor<3x2x3xf32>, none) -> tensor<1x3x7xf32>
  return %0 : tensor<1x3x7xf32>
}

// Max pooling pads with -inf.
// CHECK-LABEL: func.func @maxpool
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.pad
// CHECK: tensor.yield %[[NEG]]
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
func.func @maxpool(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [2, 2], strides = [2, 2], pads = [0, 0, 1, 1]} : (tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32>
  return %0 : tensor<1x1x3x3xf32>
}

// Average pooling multiplies by a compile-time tensor of the reciprocals
// of per-window counts (edge windows hold fewer real elements when pads
// are not counted): a multiplication, where a vector division bound the
// pass.
// CHECK-LABEL: func.func @avgpool
// CHECK: linalg.pooling_nchw_sum
// CHECK: arith.constant dense<{{\[\[}}2.500000e-01, 5.000000e-01], [5.000000e-01, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-NOT: arith.divf
// CHECK: arith.mulf
func.func @avgpool(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {
  %0 = kiln.AveragePool %x {kernel_shape = [2, 2], strides = [2, 2], pads = [0, 0, 1, 1]} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// A pooling whose one window is its whole unpadded input is the global
// pooling: a reduction along each channel's positions, not a window
// reduction along output rows of one element.
// CHECK-LABEL: func.func @avgpool_whole_window
// CHECK-NOT: linalg.pooling
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.constant 49 : index
// CHECK: arith.divf
// CHECK-LABEL: func.func @maxpool_whole_window
// CHECK-NOT: linalg.pooling
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.maximumf
// CHECK-LABEL: func.func @avgpool_window_padded
// CHECK: linalg.pooling_nchw_sum
func.func @avgpool_whole_window(%x: tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32> {
  %0 = kiln.AveragePool %x {kernel_shape = [7, 7], strides = [1, 1]} : (tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32>
  return %0 : tensor<1x8x1x1xf32>
}
func.func @maxpool_whole_window(%x: tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [7, 7], strides = [2, 2]} : (tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32>
  return %0 : tensor<1x8x1x1xf32>
}
func.func @avgpool_window_padded(%x: tensor<1x8x6x6xf32>) -> tensor<1x8x1x1xf32> {
  %0 = kiln.AveragePool %x {kernel_shape = [7, 7], pads = [1, 1, 0, 0]} : (tensor<1x8x6x6xf32>) -> tensor<1x8x1x1xf32>
  return %0 : tensor<1x8x1x1xf32>
}

// CHECK-LABEL: func.func @global_avg
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.constant 16 : index
// CHECK: arith.divf
func.func @global_avg(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x1x1xf32> {
  %0 = kiln.GlobalAveragePool %x : (tensor<1x3x4x4xf32>) -> tensor<1x3x1x1xf32>
  return %0 : tensor<1x3x1x1xf32>
}

// A column (width 1) is convolved as a row over the same memory: the
// stride and dilation along the height become the width's.
// CHECK-LABEL: func.func @conv_column
// CHECK: %[[X:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [1, 8, 1, 24] : tensor<1x8x24xf32> into tensor<1x8x1x24xf32>
// CHECK: %[[W:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [16, 8, 1, 3] : tensor<16x8x3xf32> into tensor<16x8x1x3xf32>
// CHECK: %[[R:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<[1, 2]> : vector<2xi64>, strides = dense<[1, 2]> : vector<2xi64>} ins(%[[X]], %[[W]] : tensor<1x8x1x24xf32>, tensor<16x8x1x3xf32>) outs(%{{.*}} : tensor<1x16x1x10xf32>)
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0], [1], [2, 3]] : tensor<1x16x1x10xf32> into tensor<1x16x10xf32>
// CHECK: tensor.expand_shape %[[F]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 16, 10, 1]
func.func @conv_column(%x: tensor<1x8x22x1xf32>, %w: tensor<16x8x3x1xf32>) -> tensor<1x16x10x1xf32> {
  %n = kiln.none
  %0 = kiln.Conv %x, %w, %n {pads = [1, 0, 1, 0], strides = [2, 1], dilations = [2, 1]} : (tensor<1x8x22x1xf32>, tensor<16x8x3x1xf32>, none) -> tensor<1x16x10x1xf32>
  return %0 : tensor<1x16x10x1xf32>
}
