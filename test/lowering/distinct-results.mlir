// RUN: kiln-opt %s --kiln-distinct-results | FileCheck %s

// A value returned twice is copied for the second result, so every result
// gets its own output buffer.
// CHECK-LABEL: func.func @twice
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C:.*]] = linalg.copy ins(%arg0 : tensor<4xf32>) outs(%[[E]] : tensor<4xf32>)
// CHECK: return %arg0, %[[C]], %arg1
func.func @twice(%a: tensor<4xf32>, %b: tensor<2xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<2xf32>) {
  return %a, %a, %b : tensor<4xf32>, tensor<4xf32>, tensor<2xf32>
}

// A result that is a reshape of another shares its buffer: copied too.
// CHECK-LABEL: func.func @view
// CHECK: %[[R:.*]] = tensor.collapse_shape %arg0
// CHECK: %[[E:.*]] = tensor.empty() : tensor<6xf32>
// CHECK: %[[C:.*]] = linalg.copy ins(%[[R]] : tensor<6xf32>) outs(%[[E]] : tensor<6xf32>)
// CHECK: return %arg0, %[[C]]
func.func @view(%a: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<6xf32>) {
  %r = tensor.collapse_shape %a [[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  return %a, %r : tensor<2x3xf32>, tensor<6xf32>
}

// Dynamic dims: the copy's buffer takes them from the value.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[D:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?xf32>
// CHECK: linalg.copy ins(%arg0 : tensor<?xf32>) outs(%[[E]] : tensor<?xf32>)
func.func @dynamic(%a: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %a, %a : tensor<?xf32>, tensor<?xf32>
}
