// In the CPU pipeline kiln-vectorize-windows runs before
// kiln-vectorize-elementwise, so it still sees the fill of a window op's
// output as a linalg.fill: the output tiles start from the fill's constant
// in registers (here -inf, which the first tap replaces: 8 maxima for 9 taps),
// and the output is neither filled nor read back, only stored.
// RUN: kiln-opt %s --kiln-to-linalg --kiln-tile --kiln-bufferize --kiln-vectorize | FileCheck %s

// CHECK-LABEL: func.func private @main_graph_parallel0
// CHECK: scf.for
// CHECK-NOT: vector.store
// CHECK: scf.for %{{.*}} = %c0 to %c56 step %c1
// CHECK-NOT: vector.load
// CHECK-COUNT-8: arith.cmpf ogt, %{{.*}} : vector<32xf32>
// CHECK-NOT: arith.cmpf ogt
// CHECK-NOT: arith.maximumf
// CHECK: vector.store %{{.*}} : memref<1x{{[0-9]+}}x56x56xf32, {{.*}}>, vector<32xf32>
func.func @main_graph(%x: tensor<1x128x112x112xf32>) -> tensor<1x128x56x56xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : (tensor<1x128x112x112xf32>) -> tensor<1x128x56x56xf32>
  return %0 : tensor<1x128x56x56xf32>
}

// The same with a pool too small to split into thread tiles: the buffer of
// the window's shape allocated between the fill and the pool does not hide
// the fill, which is gone too (3 maxima for 4 taps, no load of the output).
// CHECK-LABEL: func.func @small_pool
// CHECK-NOT: vector.store
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: vector.load %arg1
// CHECK-COUNT-3: arith.cmpf ogt, %{{.*}} : vector<8xf32>
// CHECK-NOT: arith.cmpf ogt
// CHECK: vector.store %{{.*}}, %arg1[{{.*}}] : memref<1x4x8x8xf32>, vector<8xf32>
// CHECK-NEXT: }
func.func @small_pool(%x: tensor<1x4x16x16xf32>) -> tensor<1x4x8x8xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x4x16x16xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}
