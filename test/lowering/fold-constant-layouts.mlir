// Layout changes of constants are evaluated at compile time.
// RUN: kiln-opt %s --kiln-fold-constant-layouts --canonicalize | FileCheck %s
// RUN: kiln-opt %s --kiln-fold-constant-layouts | FileCheck %s --check-prefix=NOCOPY

// A transpose (the B of a Gemm with transB) becomes the transposed constant.
// CHECK-LABEL: func.func @transpose
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-NOT: linalg.transpose
// CHECK: return %[[W]]
func.func @transpose() -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// A packing: split into slivers of 2 columns, then [sliver][row][column],
// through a permuting generic of rank 3.
// CHECK-LABEL: func.func @pack
// The permutation reads the constant through the reshape: no reshaped copy
// of the weight is made on the way (one new constant, the packed one).
// NOCOPY-LABEL: func.func @pack
// NOCOPY: arith.constant dense<{{.*}}> : tensor<2x2x2xi32>
// NOCOPY-NOT: arith.constant dense<{{.*}}> : tensor<2x2x2xi32>
// NOCOPY: return
// CHECK: arith.constant dense<{{\[}}{{\[}}[0, 1], [4, 5]], {{\[}}[2, 3], [6, 7]]]> : tensor<2x2x2xi32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.expand_shape
#in = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @pack() -> tensor<2x2x2xi32> {
  %b = arith.constant dense<[[0, 1, 2, 3], [4, 5, 6, 7]]> : tensor<2x4xi32>
  %b3 = tensor.expand_shape %b [[0], [1, 2]] output_shape [2, 2, 2] : tensor<2x4xi32> into tensor<2x2x2xi32>
  %e = tensor.empty() : tensor<2x2x2xi32>
  %p = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b3 : tensor<2x2x2xi32>) outs(%e : tensor<2x2x2xi32>) {
  ^bb0(%x: i32, %y: i32):
    linalg.yield %x : i32
  } -> tensor<2x2x2xi32>
  return %p : tensor<2x2x2xi32>
}

// Not a pure move (it adds): left alone.
// CHECK-LABEL: func.func @not_a_move
// CHECK: linalg.generic
#id = affine_map<(d0) -> (d0)>
func.func @not_a_move() -> tensor<2xf32> {
  %w = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%w : tensor<2xf32>) outs(%e : tensor<2xf32>) {
  ^bb0(%x: f32, %y: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// A static slice of a constant (one direction's weights) is a constant.
// CHECK-LABEL: func.func @slice
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[4, 5], [6, 7]]> : tensor<2x2xi32>
// CHECK: return %[[W]]
func.func @slice() -> tensor<2x2xi32> {
  %w = arith.constant dense<[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]> : tensor<2x2x2xi32>
  %s = tensor.extract_slice %w[1, 0, 0] [1, 2, 2] [1, 1, 1] : tensor<2x2x2xi32> to tensor<2x2xi32>
  return %s : tensor<2x2xi32>
}

// A weight stored as a resource blob (as large initializers are) is read
// from the blob; a result this small is a dense attribute, and the old
// blob is referenced no more (the printed module carries no resource).
// CHECK-LABEL: func.func @transpose_resource
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: return %[[W]]
// CHECK-NOT: dense_resource
// CHECK-NOT: dialect_resources
func.func @transpose_resource() -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<weight> : tensor<2x3xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weight: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
