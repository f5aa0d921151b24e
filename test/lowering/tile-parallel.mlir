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
