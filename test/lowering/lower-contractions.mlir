// kiln-lower-contractions: configured ops become register-tiled vector
// kernels on buffers (AVX2 configuration: 6x16 tiles of 8-wide vectors).
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=256 vector-registers=16}))' | kiln-opt --kiln-tile --kiln-bufferize --kiln-vectorize | FileCheck %s

// 100 = 16 x 6 + 4 rows, 40 = 2 x 16 + 8 columns: a 6x16 main kernel, then
// the 8-wide column remainder and the 4-row remainder, all static.
// CHECK-LABEL: func.func @gemm
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<1x16xf32>
// CHECK: scf.for %[[M:.*]] = %c0 to %c96 step %c6
// CHECK: scf.for %[[N:.*]] = %c0 to %c32 step %c16
// The C tile starts at zero in registers (C was a zero fill, and k is not
// cache-tiled: C is neither filled nor read), is kept in registers across
// k (one iter_arg per row) and written once; k is unrolled by 4.
// CHECK-NOT: vector.load %{{.*}}[%[[M]], %[[N]]] : memref<100x40xf32>
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c4 iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>)
// CHECK: vector.load %arg1[%[[K]], %[[N]]] : memref<64x40xf32>, vector<16xf32>
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-COUNT-24: vector.fma %{{.*}} : vector<16xf32>
// CHECK-NOT: vector.fma
// CHECK: scf.yield {{.*}} : vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>
// CHECK: vector.store %{{.*}}, %arg2[%[[M]], %[[N]]] : memref<100x40xf32>, vector<16xf32>
// CHECK: vector.fma %{{.*}} : vector<8xf32>
// CHECK: -> (vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>)
// CHECK: -> (vector<1x8xf32>, vector<1x8xf32>, vector<1x8xf32>, vector<1x8xf32>)
// CHECK-NOT: memref.load
// CHECK: return
func.func @gemm(%x: tensor<100x64xf32>, %w: tensor<64x40xf32>) -> tensor<100x40xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<100x64xf32>, tensor<64x40xf32>) -> tensor<100x40xf32>
  return %0 : tensor<100x40xf32>
}

// A direct 3x3 convolution: per output row, 6 output channels by 16
// columns; the 9 filter taps are unrolled inside the input-channel loop,
// each a broadcast filter weight times a row of the padded input. The
// accumulators start at zero: the output is neither filled nor read.
// CHECK-LABEL: func.func @conv3x3
// CHECK-NOT: linalg.conv_2d_nchw_fchw
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<1x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c12 step %c6
// CHECK-NOT: vector.load %{{.*}} : memref<1x12x32x32xf32{{.*}}>, vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>)
// CHECK-COUNT-54: vector.fma %{{.*}} : vector<16xf32>
// CHECK: scf.yield {{.*}} : vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>, vector<1x16xf32>
func.func @conv3x3(%x: tensor<1x8x32x32xf32>, %w: tensor<12x8x3x3xf32>) -> tensor<1x12x32x32xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x8x32x32xf32>, tensor<12x8x3x3xf32>, none) -> tensor<1x12x32x32xf32>
  return %0 : tensor<1x12x32x32xf32>
}

// A direct convolution (constant weights, filters as the vector dim): per
// input channel, filter tap and tile of 5 output columns (one fewer than a
// GEMM's tile: each input value serves several taps), each input value
// is one scalar read (through a transposed view of the input row),
// broadcast, times the sliver of 16 filters read as one vector; the kh and
// kw loops are unrolled, the accumulators carried across the channels.
// CHECK-LABEL: func.func private @conv3x3_direct_parallel
// CHECK: scf.for %[[C:.*]] = %c0 to %c32 step %c1 iter_args(
// CHECK: memref.transpose %{{.*}} (d0, d1) -> (d1, d0) : memref<1x5xf32
// CHECK-COUNT-5: memref.load %{{.*}} : memref<5x1xf32, strided<[1, {{[0-9]+}}], offset: ?>>
// CHECK: %[[W:.*]] = vector.load %{{.*}}[%{{.*}}, %[[C]], %c0, %c0, %c0] : memref<4x32x3x3x16xf32>, vector<16xf32>
// CHECK: %[[B:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: vector.fma %[[B]], %[[W]], %{{.*}} : vector<16xf32>
// CHECK: vector.load %{{.*}}[%{{.*}}, %[[C]], %c2, %c2, %c0] : memref<4x32x3x3x16xf32>, vector<16xf32>
// CHECK: scf.yield
func.func @conv3x3_direct(%x: tensor<1x32x28x28xf32>) -> tensor<1x64x28x28xf32> {
  %none = kiln.none
  %w = kiln.Constant dense<0.5> : tensor<64x32x3x3xf32>
  %0 = kiln.Conv %x, %w, %none {pads = [1, 1, 1, 1]} : (tensor<1x32x28x28xf32>, tensor<64x32x3x3xf32>, none) -> tensor<1x64x28x28xf32>
  return %0 : tensor<1x64x28x28xf32>
}
