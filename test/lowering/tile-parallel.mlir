// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-tile-parallel{chunks=64}))' | FileCheck %s

// Threads by cost. A function whose ops iterate 2^21 times or more in all
// is split into thread tiles, each op by its own work (here the Relu over
// 2^21 elements: 64 tiles of its 64 channels).
// CHECK-LABEL: func.func @large
// CHECK: scf.forall (%{{.*}}) in (64)
// CHECK: linalg.generic
func.func @large(%x: tensor<1x64x128x256xf32>) -> tensor<1x64x128x256xf32> {
  %0 = kiln.Relu %x : (tensor<1x64x128x256xf32>) -> tensor<1x64x128x256xf32>
  return %0 : tensor<1x64x128x256xf32>
}

// A function with less work in all runs serially (its ops would have been
// split into a few tiles each, a run too short to pay for handing them to
// other threads): no scf.forall.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.forall
// CHECK: return
func.func @small(%x: tensor<1x16x128x256xf32>) -> tensor<1x16x128x256xf32> {
  %0 = kiln.Relu %x : (tensor<1x16x128x256xf32>) -> tensor<1x16x128x256xf32>
  %1 = kiln.Sigmoid %0 : (tensor<1x16x128x256xf32>) -> tensor<1x16x128x256xf32>
  return %1 : tensor<1x16x128x256xf32>
}

// A transpose moves square blocks of its two innermost loops (the input's
// and the result's) through registers: its other loops are split first,
// and one of these only in multiples of 32, so that every tile holds whole
// blocks. [1, c, 49] -> [1, 49, c] is split along its channels (tiles of
// 672), not along its 49 positions (tiles of one position).
// CHECK-LABEL: func.func @transpose_blocks
// CHECK: scf.forall (%{{.*}}) = (0) to (43008) step (672)
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x672x49xf32>) outs(%{{.*}} : tensor<1x49x672xf32>)
func.func @transpose_blocks(%x: tensor<1x43008x49xf32>) -> tensor<1x49x43008xf32> {
  %0 = kiln.Transpose %x {perm = [0, 2, 1]} : (tensor<1x43008x49xf32>) -> tensor<1x49x43008xf32>
  return %0 : tensor<1x49x43008xf32>
}

// A batch of them is split along the batch.
// CHECK-LABEL: func.func @transpose_batch
// CHECK: scf.forall (%{{.*}}) in (16)
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x2048x64xf32>) outs(%{{.*}} : tensor<1x64x2048xf32>)
func.func @transpose_batch(%x: tensor<16x2048x64xf32>) -> tensor<16x64x2048xf32> {
  %0 = kiln.Transpose %x {perm = [0, 2, 1]} : (tensor<16x2048x64xf32>) -> tensor<16x64x2048xf32>
  return %0 : tensor<16x64x2048xf32>
}
