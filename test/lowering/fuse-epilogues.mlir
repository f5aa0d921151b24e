// kiln-fuse-epilogues: a configured contraction and the elementwise
// epilogue after it (here a 1x1 convolution's bias and Relu) are tiled by
// the same loops on buffers, columns then rows of the register tile, all
// of k in each contraction tile; the epilogue of a tile runs right after
// it. Remainders are tiles of their own, so every tile has static sizes.
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32},kiln-tile-parallel))' | kiln-opt --kiln-bufferize | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-fuse-epilogues))' | FileCheck %s

// 576 positions = 2 x 256 + 64 columns; 38 filters = 6 x 6 + 2 rows.
// CHECK-LABEL: func.func @pointwise_bias_relu
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %c512 step %c256
// CHECK: scf.for %[[F:.*]] = %{{.*}} to %{{.*}} step %c6
// CHECK: %[[C:.*]] = memref.subview %{{.*}}[0, %[[F]], %[[P]]] [1, 6, 256]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} outs(%[[C]] : memref<1x6x256xf32{{.*}}kind = "contraction"
// CHECK: %[[E:.*]] = memref.subview %{{.*}}[0, %[[F]], %[[P]]] [1, 6, 256]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]{{.*}} outs(%[[E]] : memref<1x6x256xf32
// CHECK: arith.select
// CHECK: }
// The 4 last rows of each column tile.
// CHECK: memref.subview %{{.*}}[0, 36, %[[P]]] [1, 2, 256]
// CHECK: kind = "contraction"
// CHECK: memref.subview %{{.*}}[0, 36, %[[P]]] [1, 2, 256]
// CHECK: arith.select
// The last 64 columns.
// CHECK: scf.for
// CHECK: memref.subview %{{.*}}[0, %{{.*}}, 512] [1, 6, 64]
// CHECK: kind = "contraction"
// CHECK: memref.subview %{{.*}}[0, 36, 512] [1, 2, 64]
// CHECK: kind = "contraction"
// CHECK: memref.subview %{{.*}}[0, 36, 512] [1, 2, 64]
// CHECK: arith.select
// No epilogue over the whole result is left.
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @pointwise_bias_relu(%x: tensor<1x16x24x24xf32>, %w: tensor<38x16x1x1xf32>, %b: tensor<38xf32>) -> tensor<1x38x24x24xf32> {
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x24x24xf32>, tensor<38x16x1x1xf32>, tensor<38xf32>) -> tensor<1x38x24x24xf32>
  %1 = kiln.Relu %0 : (tensor<1x38x24x24xf32>) -> tensor<1x38x24x24xf32>
  return %1 : tensor<1x38x24x24xf32>
}

// A convolution over NCHW (3 channels: too shallow for the direct forms)
// and its bias and Relu: the epilogue writes over the convolution's result
// in place and runs on each register tile (8 filters by one output row of
// 32 columns) right after it. The buffer freed after the convolution (the
// padded input) is freed after both.
// CHECK-LABEL: func.func @conv_bias_relu
// CHECK-NOT: memref.dealloc
// CHECK: scf.for %[[H:.*]] = %c0 to %c32 step %c1
// CHECK: scf.for %[[F:.*]] = %{{.*}} to %c16 step %c8
// CHECK: %[[C:.*]] = memref.subview %[[OUT:.*]][0, %[[F]], %[[H]], 0] [1, 8, 1, 32]
// CHECK: linalg.conv_2d_nchw_fchw {{.*}}kind = "conv"{{.*}} outs(%[[C]] : memref<1x8x1x32xf32
// CHECK: %[[E:.*]] = memref.subview %[[OUT]][0, %[[F]], %[[H]], 0] [1, 8, 1, 32]
// CHECK: linalg.generic {{.*}} outs(%[[E]] : memref<1x8x1x32xf32
// CHECK: arith.select
// CHECK: memref.dealloc %{{.*}} : memref<1x3x34x34xf32>
// CHECK: linalg.pooling_nchw_max
func.func @conv_bias_relu(%x: tensor<1x3x32x32xf32>, %w: tensor<16x3x3x3xf32>, %b: tensor<16xf32>) -> tensor<1x16x16x16xf32> {
  %0 = kiln.Conv %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
  %1 = kiln.Relu %0 : (tensor<1x16x32x32xf32>) -> tensor<1x16x32x32xf32>
  %2 = kiln.MaxPool %1 {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x16x32x32xf32>) -> tensor<1x16x16x16xf32>
  return %2 : tensor<1x16x16x16xf32>
}

// A residual add: each tile of the residual is prefetched into L2, one
// cache line (16 floats) at a time, by parts: the contraction's tile is
// computed a register tile's 64 columns at a time, each part prefetching
// its columns of the residual first (a few lines at a time; the whole
// tile's at once stalled loads). The FMAs of the parts after it hide the
// misses the epilogue would have waited for. The bias (a broadcast) is not
// prefetched.
// CHECK-LABEL: func.func @pointwise_residual
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %c512 step %c256
// CHECK: scf.for %[[F:.*]] = %{{.*}} to %{{.*}} step %c6
// CHECK: scf.for %[[C:.*]] = %c0{{.*}} to %c256{{.*}} step %c64
// CHECK: %[[PART:.*]] = arith.addi %[[P]], %[[C]]
// CHECK: scf.for %[[I:.*]] = %c0{{.*}} to %c6{{.*}} step %c1
// CHECK: %[[ROW:.*]] = arith.addi %[[F]], %[[I]]
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c64{{.*}} step %c16
// CHECK: %[[COL:.*]] = arith.addi %[[PART]], %[[J]]
// CHECK: memref.prefetch %[[RES:.*]][%{{.*}}, %[[ROW]], %[[COL]]], read, locality<2>, data : memref<1x38x576xf32>
// CHECK-NOT: memref.prefetch
// CHECK: memref.subview %{{.*}}[0, %[[F]], %[[PART]]] [1, 6, 64]
// CHECK: kind = "contraction"
// CHECK: memref.subview %[[RES]][0, %[[F]], %[[P]]] [1, 6, 256]
// CHECK: arith.addf
// CHECK: arith.select
func.func @pointwise_residual(%x: tensor<1x16x24x24xf32>, %w: tensor<38x16x1x1xf32>, %b: tensor<38xf32>, %r: tensor<1x38x24x24xf32>) -> tensor<1x38x24x24xf32> {
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x24x24xf32>, tensor<38x16x1x1xf32>, tensor<38xf32>) -> tensor<1x38x24x24xf32>
  %1 = kiln.Add %0, %r : (tensor<1x38x24x24xf32>, tensor<1x38x24x24xf32>) -> tensor<1x38x24x24xf32>
  %2 = kiln.Relu %1 : (tensor<1x38x24x24xf32>) -> tensor<1x38x24x24xf32>
  return %2 : tensor<1x38x24x24xf32>
}

// A contraction whose result is read by a transpose is left alone.
// CHECK-LABEL: func.func @transposed_result
// CHECK-NOT: scf.for
// CHECK: kind = "contraction"
// CHECK: return
func.func @transposed_result(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>) -> tensor<64x64xf32> {
  %0 = kiln.MatMul %a, %b : (tensor<64x32xf32>, tensor<32x64xf32>) -> tensor<64x64xf32>
  %1 = kiln.Transpose %0 {perm = [1, 0]} : (tensor<64x64xf32>) -> tensor<64x64xf32>
  return %1 : tensor<64x64xf32>
}
