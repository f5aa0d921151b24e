// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s

// Updates are written in order by one sequential loop; an index out of
// range fails the run, naming the node, before anything is written.
// CHECK-DAG: llvm.mlir.global private constant @[[MSG:kiln_text_[0-9A-F]+]]("node 'scatter' (ScatterElements): an index is out of range
// CHECK-LABEL: func.func @scatter_elements_add
// CHECK: scf.for
// CHECK: tensor.extract
// CHECK: %[[IN:.*]] = arith.cmpi ult
// CHECK: %[[OUT:.*]] = arith.xori %[[IN]]
// CHECK: scf.if %[[OUT]] {
// CHECK-NEXT: %[[P:.*]] = llvm.mlir.addressof @[[MSG]]
// CHECK-NEXT: func.call @kiln_index_out_of_range(%[[P]])
// CHECK: arith.select %[[IN]]
// CHECK: arith.addf
// CHECK: tensor.insert
func.func @scatter_elements_add(%d: tensor<3x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x3xf32>) -> tensor<3x3xf32> {
  %0 = kiln.ScatterElements %d, %i, %u {axis = 0 : si64, reduction = "add"} : (tensor<3x3xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<3x3xf32> loc("scatter")
  return %0 : tensor<3x3xf32>
}

// CHECK-LABEL: func.func @scatter_nd
// CHECK: scf.for
// CHECK: tensor.insert
func.func @scatter_nd(%d: tensor<4x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) -> tensor<4x4xf32> {
  %0 = kiln.ScatterND %d, %i, %u : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// TopK ranks every element, then picks rank k for output k.
// CHECK-LABEL: func.func @topk
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.cmpf ogt
// CHECK: linalg.generic
// CHECK: arith.select
func.func @topk(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %k = kiln.Constant dense<2> : tensor<1xi64>
  %v, %i = kiln.TopK %x, %k {axis = 1 : si64} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}

// CHECK-LABEL: func.func @cumsum_reverse_exclusive
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.cmpi ugt
// CHECK: arith.select
func.func @cumsum_reverse_exclusive(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %a = kiln.Constant dense<1> : tensor<i64>
  %0 = kiln.CumSum %x, %a {exclusive = 1 : si64, reverse = 1 : si64} : (tensor<2x5xf32>, tensor<i64>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// One generic over the labels: b, i, k parallel, j a reduction.
// CHECK-LABEL: func.func @einsum_batch_matmul
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @einsum_batch_matmul(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  %0 = kiln.Einsum %a, %b {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @grid_sample_bilinear
// CHECK: linalg.generic
// CHECK-COUNT-4: tensor.extract %arg0
func.func @grid_sample_bilinear(%x: tensor<1x1x4x4xf32>, %g: tensor<1x2x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %0 = kiln.GridSample %x, %g : (tensor<1x1x4x4xf32>, tensor<1x2x2x2xf32>) -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// float8 values live in i8; the cast rounds with integer arithmetic.
// CHECK-LABEL: func.func @cast_to_f8
// CHECK-SAME: -> tensor<4xi8>
// CHECK: math.roundeven
// CHECK: arith.trunci {{.*}} i32 to i8
func.func @cast_to_f8(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %0 = kiln.Cast %x : (tensor<4xf32>) -> tensor<4xf8E4M3FN>
  return %0 : tensor<4xf8E4M3FN>
}

// CHECK-LABEL: func.func @bitcast
// CHECK: arith.bitcast {{.*}} f32 to i32
func.func @bitcast(%x: tensor<4xf32>) -> tensor<4xi32> {
  %0 = kiln.BitCast %x : (tensor<4xf32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}
