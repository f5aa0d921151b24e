// Copies between buffers, before lowering to loops.
// RUN: kiln-opt %s --kiln-expand-copies | FileCheck %s

// A strided copy (a slice of a padded buffer) becomes linalg.copy loops,
// not a call of the runtime's element-by-element copy.
// CHECK-LABEL: func.func @strided_copy
// CHECK: linalg.copy
// CHECK-NOT: memref.copy
func.func @strided_copy(%a: memref<4x10xf32>, %b: memref<4x8xf32>) {
  %s = memref.subview %a[0, 1] [4, 8] [1, 1] : memref<4x10xf32> to memref<4x8xf32, strided<[10, 1], offset: 1>>
  memref.copy %s, %b : memref<4x8xf32, strided<[10, 1], offset: 1>> to memref<4x8xf32>
  return
}

// A contiguous copy stays a memcpy.
// CHECK-LABEL: func.func @contiguous_copy
// CHECK: memref.copy
func.func @contiguous_copy(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  return
}

// Packing B into slivers, [k][n / NR][NR] -> [n / NR][k][NR], keeps the
// innermost dim: a loop per outer dim and one vector row read and written,
// the row read at the permuted position.
// CHECK-LABEL: func.func @pack_rows
// CHECK-NOT: linalg.transpose
// CHECK: scf.for %[[S:.*]] = %c0 to %c2
// CHECK: scf.for %[[K:.*]] = %c0 to %c3
// CHECK: %[[ROW:.*]] = vector.transfer_read %{{.*}}[%[[K]], %[[S]], %c0]{{.*}} : memref<3x2x16xf32>, vector<16xf32>
// CHECK: vector.transfer_write %[[ROW]], %{{.*}}[%[[S]], %[[K]], %c0]{{.*}} : vector<16xf32>, memref<2x3x16xf32>
func.func @pack_rows(%b: memref<3x2x16xf32>, %p: memref<2x3x16xf32>) {
  linalg.transpose ins(%b : memref<3x2x16xf32>) outs(%p : memref<2x3x16xf32>) permutation = [1, 0, 2]
  return
}

// A transpose that moves the innermost dim is left to the loop lowering.
// CHECK-LABEL: func.func @transpose_inner
// CHECK: linalg.transpose
func.func @transpose_inner(%a: memref<8x16xf32>, %b: memref<16x8xf32>) {
  linalg.transpose ins(%a : memref<8x16xf32>) outs(%b : memref<16x8xf32>) permutation = [1, 0]
  return
}
