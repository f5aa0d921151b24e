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

// CSE merges the zero fills of two GEMMs of one shape: each gets a fill of
// its own (and an empty tensor of its own), or the second would accumulate
// into a copy.
// CHECK-LABEL: func.func @shared_fill
// CHECK-DAG: %[[E0:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK-DAG: %[[E1:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK-DAG: %[[Z0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E0]] : tensor<4x16xf32>)
// CHECK-DAG: %[[Z1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<4x16xf32>)
// CHECK-DAG: linalg.matmul ins(%arg0, %arg1 : {{.*}}) outs(%[[Z1]] : tensor<4x16xf32>)
// CHECK-DAG: linalg.matmul ins(%arg0, %arg2 : {{.*}}) outs(%[[Z0]] : tensor<4x16xf32>)
func.func @shared_fill(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = linalg.matmul ins(%a, %c : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// The same when the fill was split across threads and is read through a
// reshape: the scf.forall and the reshape are cloned for the second writer.
// CHECK-LABEL: func.func @shared_tiled_fill
// CHECK-COUNT-2: scf.forall (
// CHECK-NOT: scf.forall (
// CHECK: return
#upTo6 = affine_map<(d0) -> (-d0 + 64, 6)>
func.func @shared_tiled_fill(%b: tensor<64x16xf32>, %c: tensor<64x16xf32>) -> (tensor<64x16xf32>, tensor<64x16xf32>) {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x4x4xf32>
  %f = scf.forall (%i) = (0) to (64) step (6) shared_outs(%o = %e) -> (tensor<64x4x4xf32>) {
    %n = affine.min #upTo6(%i)
    %s = tensor.extract_slice %o[%i, 0, 0] [%n, 4, 4] [1, 1, 1] : tensor<64x4x4xf32> to tensor<?x4x4xf32>
    %z = linalg.fill ins(%cst : f32) outs(%s : tensor<?x4x4xf32>) -> tensor<?x4x4xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %z into %o[%i, 0, 0] [%n, 4, 4] [1, 1, 1] : tensor<?x4x4xf32> into tensor<64x4x4xf32>
    }
  }
  %w = tensor.collapse_shape %f [[0], [1, 2]] : tensor<64x4x4xf32> into tensor<64x16xf32>
  %0 = linalg.add ins(%b, %c : tensor<64x16xf32>, tensor<64x16xf32>) outs(%w : tensor<64x16xf32>) -> tensor<64x16xf32>
  %1 = linalg.sub ins(%b, %c : tensor<64x16xf32>, tensor<64x16xf32>) outs(%w : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %0, %1 : tensor<64x16xf32>, tensor<64x16xf32>
}
