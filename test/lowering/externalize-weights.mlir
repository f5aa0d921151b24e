// Constant buffers read by the entry become views of one weight blob, its
// last argument; others stay globals.
// RUN: kiln-opt %s --kiln-externalize-weights | FileCheck %s

module {
  memref.global "private" constant @w : memref<3x5xf32> = dense<[[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0]]>
  memref.global "private" constant @s : memref<4xi64> = dense<7>
  memref.global "private" constant @bits : memref<2xi1> = dense<[true, false]>
  memref.global "private" constant @shared : memref<2xf32> = dense<[1.0, 2.0]>
  memref.global "private" @state : memref<2xf32> = dense<0.0>

  func.func private @helper() -> memref<2xf32> {
    %0 = memref.get_global @shared : memref<2xf32>
    return %0 : memref<2xf32>
  }

  func.func @main_graph(%x: memref<3x5xf32>) -> (memref<3x5xf32>, memref<4xi64>, memref<2xi1>, memref<2xf32>) {
    %w = memref.get_global @w : memref<3x5xf32>
    %s = memref.get_global @s : memref<4xi64>
    %b = memref.get_global @bits : memref<2xi1>
    %h = call @helper() : () -> memref<2xf32>
    return %w, %s, %b, %h : memref<3x5xf32>, memref<4xi64>, memref<2xi1>, memref<2xf32>
  }
}

// The f32 weight at 0 (60 bytes), the splat expanded at the next 64-byte
// boundary; i1 (not whole bytes), a global another function reads and a
// mutable global stay.
// The blob: 64 + 32 bytes, one dense_resource on the module.
// CHECK: module attributes {kiln.weights = dense_resource<kiln_weights> : tensor<96xi8>}
// CHECK-DAG: memref.global "private" constant @bits
// CHECK-DAG: memref.global "private" constant @shared
// CHECK-DAG: memref.global "private" @state
// CHECK-NOT: memref.global "private" constant @w
// CHECK-NOT: memref.global "private" constant @s :
// CHECK: func.func @main_graph(%{{.*}}: memref<3x5xf32>, %[[BLOB:.*]]: memref<?xi8>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: memref.view %[[BLOB]][%[[C0]]][] : memref<?xi8> to memref<3x5xf32>
// CHECK-DAG: memref.view %[[BLOB]][%[[C64]]][] : memref<?xi8> to memref<4xi64>
// CHECK-DAG: memref.get_global @bits
// CHECK-NOT: memref.get_global @w
// Its bytes (after the 4-byte alignment prefix of the printed resource):
// 1.0, 2.0, ..., 15.0, zero padding, then 7 four times as i64.
// CHECK: kiln_weights: "0x400000000000803F00000040{{.*}}0000704100000000070000000000000007000000000000000700000000000000070000000000000
