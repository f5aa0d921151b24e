// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s

// Gather reads data with tensor.extract at the (clamped) index.
// CHECK-LABEL: func.func @gather
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x2xi64>) outs(%{{.*}} : tensor<2x2x4xf32>)
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<5x4xf32>
func.func @gather(%d: tensor<5x4xf32>, %i: tensor<2x2xi64>) -> tensor<2x2x4xf32> {
  %0 = kiln.Gather %d, %i : (tensor<5x4xf32>, tensor<2x2xi64>) -> tensor<2x2x4xf32>
  return %0 : tensor<2x2x4xf32>
}

// One constant index (an LSTM's weights for one direction): a slice of the
// data, a view (folded at compile time when the data is a constant).
// CHECK-LABEL: func.func @gather_constant_index
// CHECK: tensor.extract_slice %arg0[1, 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<8x4xf32>
// CHECK-NOT: linalg.generic
func.func @gather_constant_index(%d: tensor<2x8x4xf32>) -> tensor<8x4xf32> {
  %i = kiln.Constant dense<-1> : tensor<i64>
  %0 = kiln.Gather %d, %i : (tensor<2x8x4xf32>, tensor<i64>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// One index known only at run time (a loop step's slice of a sequence):
// a slice at the checked index, also a view, not an element-wise copy.
// CHECK-LABEL: func.func @gather_scalar_index
// CHECK: %[[RAW:.*]] = tensor.extract %arg1[] : tensor<i64>
// CHECK: %[[K:.*]] = arith.select
// CHECK: call @kiln_index_out_of_range
// CHECK: %[[AT:.*]] = arith.select %{{.*}}, %{{.*}}, %c0 : index
// CHECK: tensor.extract_slice %arg0[%[[AT]], 0, 0] [1, 1, 16] [1, 1, 1] : tensor<8x1x16xf32> to tensor<1x16xf32>
// CHECK-NOT: linalg.generic
func.func @gather_scalar_index(%d: tensor<8x1x16xf32>, %i: tensor<i64>) -> tensor<1x16xf32> {
  %0 = kiln.Gather %d, %i : (tensor<8x1x16xf32>, tensor<i64>) -> tensor<1x16xf32>
  return %0 : tensor<1x16xf32>
}

// CHECK-LABEL: func.func @argmax
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs(%{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xi64>)
// CHECK: arith.cmpf ogt
func.func @argmax(%x: tensor<3x4xf32>) -> tensor<3x1xi64> {
  %0 = kiln.ArgMax %x {axis = 1 : si64} : (tensor<3x4xf32>) -> tensor<3x1xi64>
  return %0 : tensor<3x1xi64>
}

// CHECK-LABEL: func.func @trilu
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi sle
func.func @trilu(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
  %n = kiln.none
  %0 = kiln.Trilu %x, %n {upper = 0 : si64} : (tensor<3x3xf32>, none) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %{{.*}}[1, 0] [2, 2] [2, 3] : tensor<6x5xf32> to tensor<2x2xf32>
func.func @slice(%x: tensor<6x5xf32>) -> tensor<2x2xf32> {
  %s = kiln.Constant dense<[1, 0]> : tensor<2xi64>
  %e = kiln.Constant dense<[4, 5]> : tensor<2xi64>
  %n = kiln.none
  %st = kiln.Constant dense<[2, 3]> : tensor<2xi64>
  %0 = kiln.Slice %x, %s, %e, %n, %st : (tensor<6x5xf32>, tensor<2xi64>, tensor<2xi64>, none, tensor<2xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// CHECK-LABEL: func.func @layernorm
// CHECK-COUNT-2: iterator_types = ["parallel", "reduction"]
// CHECK: math.sqrt
func.func @layernorm(%x: tensor<2x8xf32>, %s: tensor<8xf32>) -> tensor<2x8xf32> {
  %n = kiln.none
  %y, %m, %i = kiln.LayerNormalization %x, %s, %n : (tensor<2x8xf32>, tensor<8xf32>, none) -> (tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y : tensor<2x8xf32>
}

// NLL loss: per-target loss and weight in one generic, then the mean.
// CHECK-LABEL: func.func @nll
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<3xi64>) outs(%{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xf32>)
// CHECK: arith.cmpi eq
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<3x5xf32>
// CHECK: arith.negf
// CHECK: arith.divf
func.func @nll(%x: tensor<3x5xf32>, %t: tensor<3xi64>) -> tensor<f32> {
  %n = kiln.none
  %0 = kiln.NegativeLogLikelihoodLoss %x, %t, %n {ignore_index = 1 : si64} : (tensor<3x5xf32>, tensor<3xi64>, none) -> tensor<f32>
  return %0 : tensor<f32>
}
