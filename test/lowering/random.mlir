// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s
// Samples are drawn by a runtime kernel into a buffer of the result's
// shape: distribution (1 normal), a, b, seed and whether there is one.

// CHECK-LABEL: func.func @normal_like
// CHECK: %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x3xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%[[N]]) : memref<?x3xf32>
// CHECK-DAG: %[[NORMAL:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[MEAN:.*]] = arith.constant 5.000000e-01 : f64
// CHECK-DAG: %[[SEED:.*]] = arith.constant 4.200000e+01 : f64
// CHECK: call @kiln_random_f32(%{{.*}}, %[[NORMAL]], %[[MEAN]], %{{.*}}, %[[SEED]], %{{.*}}) : (memref<*xf32>, i64, f64, f64, f64, i64) -> ()
// CHECK: bufferization.to_tensor %[[OUT]]
func.func @normal_like(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = kiln.Random %x {distribution = "normal", a = 0.5 : f64, b = 2.0 : f64, seed = 42.0 : f64, element = f32} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @uniform_shape
// CHECK: memref.alloc() : memref<2x5xf64>
// CHECK: call @kiln_random_f64
func.func @uniform_shape() -> tensor<2x5xf64> {
  %none = kiln.none
  %0 = kiln.Random %none {distribution = "uniform", a = 0.0 : f64, b = 1.0 : f64, shape = [2, 5], element = f64} : (none) -> tensor<2x5xf64>
  return %0 : tensor<2x5xf64>
}
