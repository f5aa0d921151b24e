// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --kiln-shape-inference | FileCheck %s --check-prefix=INFER

// CHECK-LABEL: func.func @roundtrip
func.func @roundtrip(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %w: tensor<4x3x3x3xf32>,
                     %x: tensor<1x3x8x8xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xi1>) {
  // CHECK: kiln.Add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  %0 = kiln.Add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  %n = kiln.none
  // CHECK: kiln.Conv {{.*}} {pads = [1, 1, 1, 1], strides = [2, 2]}
  %1 = kiln.Conv %x, %w, %n {pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<*xf32>
  %2 = kiln.Less %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<*xi1>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xi1>
}
// INFER: kiln.Add {{.*}} -> tensor<2x3xf32>
// INFER: kiln.Conv {{.*}} -> tensor<1x4x4x4xf32>
// INFER: kiln.Less {{.*}} -> tensor<2x3xi1>
// INFER: return {{.*}} : tensor<2x3xf32>, tensor<1x4x4x4xf32>, tensor<2x3xi1>

// INFER-LABEL: func.func @dynamic
func.func @dynamic(%a: tensor<?x3xf32>, %b: tensor<3x5xf32>) -> tensor<*xf32> {
  // INFER: kiln.MatMul {{.*}} -> tensor<?x5xf32>
  %0 = kiln.MatMul %a, %b : (tensor<?x3xf32>, tensor<3x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
