// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s
// Results sized by data: the code counts, allocates, then fills.

// One host-kernel declaration, all dims dynamic, serves every call.
// CHECK: func.func private @kiln_non_max_suppression(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, {{.*}}>, memref<?x?xi64, {{.*}}>, i64, f32, f32, i64, i64) -> i64 attributes {llvm.emit_c_interface}

// CHECK-LABEL: func.func @nonzero
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK: %[[N:.*]] = arith.index_cast
// CHECK: tensor.empty(%[[N]]) : tensor<2x?xi64>
// CHECK: scf.for
// CHECK: scf.if
// CHECK: tensor.insert
func.func @nonzero(%x: tensor<3x4xf32>) -> tensor<2x?xi64> {
  %0 = kiln.NonZero %x : (tensor<3x4xf32>) -> tensor<2x?xi64>
  return %0 : tensor<2x?xi64>
}

// CHECK-LABEL: func.func @range
// CHECK: arith.ceildivsi
// CHECK: tensor.empty(%{{.*}}) : tensor<?xi64>
// CHECK: linalg.index 0
func.func @range(%a: tensor<i64>, %b: tensor<i64>, %c: tensor<i64>) -> tensor<?xi64> {
  %0 = kiln.Range %a, %b, %c : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// NonMaxSuppression calls the runtime's host kernel with room for every box.
// CHECK-LABEL: func.func @nms
// CHECK: memref.alloc
// CHECK: bufferization.to_buffer
// CHECK: %[[COUNT:.*]] = call @kiln_non_max_suppression
// CHECK: bufferization.to_tensor
// CHECK: tensor.extract_slice
func.func @nms(%b: tensor<1x6x4xf32>, %s: tensor<1x1x6xf32>, %m: tensor<1xi64>) -> tensor<?x3xi64> {
  %none = kiln.none
  %0 = kiln.NonMaxSuppression %b, %s, %m, %none, %none : (tensor<1x6x4xf32>, tensor<1x1x6xf32>, tensor<1xi64>, none, none) -> tensor<?x3xi64>
  return %0 : tensor<?x3xi64>
}

// CHECK-LABEL: func.func @unique
// CHECK: %[[U:.*]] = call @kiln_unique_f32
// CHECK: tensor.extract_slice {{.*}}[0] [%{{.*}}] [1]
func.func @unique(%x: tensor<1x6x1xf32>) -> (tensor<?xi64>, tensor<6xi64>, tensor<?xi64>) {
  %0:3 = kiln.UniqueSlices %x : (tensor<1x6x1xf32>) -> (tensor<?xi64>, tensor<6xi64>, tensor<?xi64>)
  return %0#0, %0#1, %0#2 : tensor<?xi64>, tensor<6xi64>, tensor<?xi64>
}

// TreeEnsemble: trees packed into constant tables, walked by a host kernel.
// One node: (mode LEQ, feature 0, split 0.5, true leaf 0, false leaf 1, NaN false, no set).
// CHECK-LABEL: func.func @trees
// CHECK: memref.alloc() : memref<3x2xf32>
// CHECK: arith.constant dense<[0.000000e+00, 0.000000e+00, 5.000000e-01, 1.000000e+00, 0.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<9xf64>
// CHECK: call @kiln_tree_ensemble_f32
func.func @trees(%x: tensor<3x1xf32>) -> tensor<3x2xf32> {
  %0 = kiln.TreeEnsemble %x {leaf_weights = dense<[1.0, 2.0]> : tensor<2xf32>, leaf_targetids = [0, 1], n_targets = 2 : si64, nodes_falseleafs = [1], nodes_falsenodeids = [1], nodes_featureids = [0], nodes_modes = dense<0> : tensor<1xui8>, nodes_splits = dense<0.5> : tensor<1xf32>, nodes_trueleafs = [1], nodes_truenodeids = [0], tree_roots = [0]} : (tensor<3x1xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
