// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s
// Dynamic dims: result sizes come from tensor.dim, and an operand whose dim
// may or may not broadcast is read at an index chosen when the code runs.

// CHECK-LABEL: func.func @add_may_broadcast
// CHECK: tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
// CHECK: linalg.generic {{.*}}outs(
// CHECK: arith.select
// CHECK: tensor.extract %arg0
// CHECK: tensor.extract %arg1
// CHECK: arith.addf
func.func @add_may_broadcast(%a: tensor<?x?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %0 = kiln.Add %a, %b : (tensor<?x?xf32>, tensor<?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// A sole deciding operand keeps a plain indexing map.
// CHECK-LABEL: func.func @add_sole
// CHECK: %[[D:.*]] = tensor.dim %arg0
// CHECK: linalg.generic {{.*}}ins(%arg0, %arg1 : tensor<?x4xf32>, tensor<4xf32>)
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @add_sole(%a: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = kiln.Add %a, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// The mean divides by a count read when the code runs.
// CHECK-LABEL: func.func @mean
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: tensor.reshape
// CHECK: %[[N:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x?xf32>
// CHECK: arith.sitofp
// CHECK: arith.divf
func.func @mean(%x: tensor<?x?xf32>) -> tensor<?x1xf32> {
  %axes = kiln.Constant dense<[1]> : tensor<1xi64>
  %0 = kiln.ReduceMean %x, %axes : (tensor<?x?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// CHECK-LABEL: func.func @flatten
// CHECK: %[[A:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[B:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[C:.*]] = tensor.dim %arg0, %c2
// CHECK: tensor.from_elements
// CHECK: tensor.reshape %arg0
func.func @flatten(%x: tensor<?x?x?xf32>) -> tensor<?x?xf32> {
  %0 = kiln.Flatten %x {axis = 1 : si64} : (tensor<?x?x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}}ins(%arg0, %arg1
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%a: tensor<?x?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %0 = kiln.MatMul %a, %b : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// Dims known only at run time that are neither 1 nor the result's fail the
// run before anything is read.
// CHECK-LABEL: func.func @checked_broadcast
// CHECK: %[[A:.*]] = tensor.dim %arg0
// CHECK: %[[B:.*]] = tensor.dim %arg1
// CHECK: %[[OK:.*]] = arith.ori
// CHECK: %[[BAD:.*]] = arith.xori %{{.*}}, %true
// CHECK: scf.if %[[BAD]] {
// CHECK-NEXT: func.call @kiln_broadcast_mismatch() : () -> ()
// CHECK: linalg.generic
func.func @checked_broadcast(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %0 = kiln.Add %a, %b : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// Ceil-mode pooling over spatial dims known only at run time: the output
// size and the extra end padding are computed by the code, and a window
// that would start past the input and its begin padding is dropped.
// CHECK-LABEL: func.func @maxpool_ceil_dynamic
// CHECK: arith.cmpi sge
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: tensor.pad %{{.*}} low[0, 0, %{{.*}}, %{{.*}}] high[0, 0, %{{.*}}, %{{.*}}]
// CHECK: linalg.pooling_nchw_max
func.func @maxpool_ceil_dynamic(%x: tensor<1x1x?x?xf32>) -> tensor<1x1x?x?xf32> {
  %0 = kiln.MaxPool %x {kernel_shape = [3, 3], strides = [2, 2], ceil_mode = 1 : si64} : (tensor<1x1x?x?xf32>) -> tensor<1x1x?x?xf32>
  return %0 : tensor<1x1x?x?xf32>
}

// Padded average pooling over unknown spatial dims: the divisors are a sum
// pooling of ones padded like the input (with zeros: count_include_pad = 0).
// CHECK-LABEL: func.func @avgpool_pads_dynamic
// CHECK: linalg.pooling_nchw_sum
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32)
// CHECK: tensor.pad
// CHECK: linalg.pooling_nchw_sum
// CHECK: arith.maximumf
// CHECK: arith.divf
func.func @avgpool_pads_dynamic(%x: tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
  %0 = kiln.AveragePool %x {kernel_shape = [3, 3], pads = [1, 1, 1, 1]} : (tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
  return %0 : tensor<1x2x?x?xf32>
}

// Pads given when the code runs: read from the pads tensor, the result
// sized as dim + begin + end (never below zero), each element read from its
// reflected source index.
// CHECK-LABEL: func.func @pad_runtime
// CHECK-COUNT-4: tensor.extract %{{.*}}[%{{.*}}] : tensor<4xi64>
// CHECK: arith.maxsi
// CHECK: linalg.generic
func.func @pad_runtime(%x: tensor<3x4xf32>, %pads: tensor<4xi64>) -> tensor<?x?xf32> {
  %none = kiln.none
  %0 = kiln.Pad %x, %pads, %none, %none {mode = "reflect"} : (tensor<3x4xf32>, tensor<4xi64>, none, none) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
