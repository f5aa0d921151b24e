// Window reductions on buffers (pooling, depthwise convolutions) become
// vector code along the output row: tiles of up to eight vectors (eight
// independent chains of the window's operations), the window's taps
// unrolled, the output tile held in registers across them.
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-vectorize-windows{vector-bits=512}))' | FileCheck %s --check-prefix=AVX512
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-vectorize-windows{vector-bits=256}))' | FileCheck %s --check-prefix=AVX2

// MaxPool 3x3, stride 2, on rows of 56 outputs (shorter than a tile of
// eight vectors): 32 at a time, then 16 and 8. Each of the 9 taps reads
// twice the lanes it keeps (masked past the last one kept: the input row
// ends there) and keeps the even ones. The maximum is kept as
// `tap > max ? tap : max` (one vmaxps), whether a tap was NaN is
// collected, and a NaN is put back once after the window.
// AVX512-LABEL: func.func @max_pool_stride2
// AVX512: scf.for %[[C:[a-z0-9_]+]] = %{{.*}} to %c4 step
// AVX512: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %c56 step
// AVX512: vector.load %{{.*}}[%c0, %[[C]], %[[I]], %c0{{.*}}] {{.*}} vector<32xf32>
// AVX512-NOT: scf.for
// AVX512: %[[W:.*]] = vector.maskedload {{.*}} vector<64xi1>, vector<64xf32> into vector<64xf32>
// AVX512: %[[E:.*]] = vector.shuffle %[[W]], %[[W]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62]
// AVX512: %[[G:.*]] = arith.cmpf ogt, %[[E]], %{{.*}} : vector<32xf32>
// AVX512: arith.select %[[G]], %[[E]], %{{.*}} : vector<32xi1>, vector<32xf32>
// AVX512: arith.cmpf uno, %[[E]], %[[E]] : vector<32xf32>
// AVX512-COUNT-8: arith.cmpf ogt, {{.*}} : vector<32xf32>
// AVX512: %[[NAN:.*]] = arith.ori {{.*}} : vector<32xi1>
// AVX512: %[[MAX:.*]] = arith.select %[[NAN]], %{{.*}}, %{{.*}} : vector<32xi1>, vector<32xf32>
// AVX512: vector.store %[[MAX]], %{{.*}}[%c0, %[[C]], %[[I]], %c0{{.*}}] {{.*}} vector<32xf32>
// AVX512: vector.maskedload {{.*}} into vector<32xf32>
// AVX512: arith.cmpf ogt, {{.*}} : vector<16xf32>
// AVX512: vector.store {{.*}}[%c0, %[[C]], %[[I]], %c48] {{.*}} vector<8xf32>
// AVX512-NOT: linalg.pooling
// AVX2-LABEL: func.func @max_pool_stride2
// AVX2: vector.maskedload {{.*}} into vector<64xf32>
// AVX2: vector.store {{.*}}[%c0, %{{.*}}, %{{.*}}, %c48{{.*}}] {{.*}} vector<8xf32>
func.func @max_pool_stride2(%x: memref<1x4x113x113xf32>, %y: memref<1x4x56x56xf32>) {
  %window = memref.alloca() : memref<3x3xf32>
  linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
    ins(%x, %window : memref<1x4x113x113xf32>, memref<3x3xf32>) outs(%y : memref<1x4x56x56xf32>)
  return
}

// A thread's share of the channels, its size known only where the code
// runs (the last share of 256 channels in tasks of 6): the channel loop
// runs to the view's size; the row and the window stay static.
// AVX512-LABEL: func.func @sum_pool_thread_tile
// AVX512: %[[N:.*]] = memref.dim %{{.*}}, %c1
// AVX512: scf.for %{{.*}} = %{{.*}} to %[[N]] step
// AVX512-COUNT-9: arith.addf {{.*}} : vector<16xf32>
// AVX512: arith.addf {{.*}} : vector<8xf32>
// AVX512-NOT: linalg.pooling
func.func @sum_pool_thread_tile(%x: memref<1x?x30x30xf32, strided<[230400, 900, 30, 1], offset: ?>>,
                                %y: memref<1x?x28x28xf32, strided<[200704, 784, 28, 1], offset: ?>>) {
  %window = memref.alloca() : memref<3x3xf32>
  linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
    ins(%x, %window : memref<1x?x30x30xf32, strided<[230400, 900, 30, 1], offset: ?>>, memref<3x3xf32>)
    outs(%y : memref<1x?x28x28xf32, strided<[200704, 784, 28, 1], offset: ?>>)
  return
}

// A depthwise convolution with unit stride, its output zero-filled just
// before: the row (32 outputs) is one tile, started from zero in
// registers (the fill is gone); the input row read as plain vectors at
// each of the 9 taps, the filter tap broadcast from a scalar.
// AVX2-LABEL: func.func @depthwise_unit_stride
// AVX2-NOT: linalg.fill
// AVX2: %[[Z:.*]] = vector.broadcast %{{.*}} : f32 to vector<32xf32>
// AVX2: %[[X:.*]] = vector.load {{.*}} : memref<1x8x34x34xf32>, vector<32xf32>
// AVX2: %[[W:.*]] = memref.load %{{.*}} : memref<8x3x3xf32>
// AVX2: %[[WV:.*]] = vector.broadcast %[[W]] : f32 to vector<32xf32>
// AVX2: %[[P:.*]] = arith.mulf %[[X]], %[[WV]] : vector<32xf32>
// AVX2: arith.addf %[[Z]], %[[P]] : vector<32xf32>
// AVX2-COUNT-8: arith.mulf {{.*}} : vector<32xf32>
// AVX2-NOT: vector.maskedload
// AVX2: vector.store {{.*}} vector<32xf32>
#x = affine_map<(n, c, i, j, dy, dx) -> (n, c, i + dy, j + dx)>
#w = affine_map<(n, c, i, j, dy, dx) -> (c, dy, dx)>
#y = affine_map<(n, c, i, j, dy, dx) -> (n, c, i, j)>
func.func @depthwise_unit_stride(%x: memref<1x8x34x34xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x32x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<1x8x32x32xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<1x8x34x34xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x32x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Rows of 7 outputs (a 3x3 pool over 7x7 maps) are shorter than half a
// 512-bit vector but not than half a 256-bit one: vector code on every
// host, vectors of 4, 2 and 1 lanes summed in registers across the 9 taps
// (as loops, LLVM kept each sum in memory). Rows of 3 stay loops.
// AVX512-LABEL: func.func @sum_pool_short_rows
// AVX512-COUNT-9: arith.addf {{.*}} : vector<4xf32>
// AVX512-COUNT-9: arith.addf {{.*}} : vector<2xf32>
// AVX512-COUNT-9: arith.addf {{.*}} : vector<1xf32>
// AVX512-NOT: linalg.pooling_nchw_sum {{.*}} memref<1x16x9x9xf32>
// AVX512: linalg.pooling_nchw_sum {{.*}} memref<1x16x5x5xf32>
// AVX2-LABEL: func.func @sum_pool_short_rows
// AVX2-COUNT-9: arith.addf {{.*}} : vector<4xf32>
// AVX2: linalg.pooling_nchw_sum {{.*}} memref<1x16x5x5xf32>
func.func @sum_pool_short_rows(%x: memref<1x16x9x9xf32>, %y: memref<1x16x7x7xf32>,
                               %a: memref<1x16x5x5xf32>, %b: memref<1x16x3x3xf32>) {
  %window = memref.alloca() : memref<3x3xf32>
  linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
    ins(%x, %window : memref<1x16x9x9xf32>, memref<3x3xf32>)
    outs(%y : memref<1x16x7x7xf32>)
  linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
    ins(%a, %window : memref<1x16x5x5xf32>, memref<3x3xf32>)
    outs(%b : memref<1x16x3x3xf32>)
  return
}

// A reduction across the row (a transposed read) is no window reduction:
// it stays a linalg op.
// AVX512-LABEL: func.func @row_sum
// AVX512: linalg.generic
#rx = affine_map<(i, k) -> (i, k)>
#ry = affine_map<(i, k) -> (i)>
func.func @row_sum(%x: memref<64x64xf32>, %y: memref<64xf32>) {
  linalg.generic {indexing_maps = [#rx, #ry], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x64xf32>) outs(%y : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}
