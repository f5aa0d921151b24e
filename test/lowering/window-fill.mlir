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
// CHECK: vector.store %{{.*}} : memref<1x1x56x56xf32, {{.*}}>, vector<32xf32>
func.func @main_graph(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : (tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32>
  return %0 : tensor<1x64x56x56xf32>
}
