// RUN: kiln-opt %s --kiln-outline-kernels=min-ops=100 | FileCheck %s

// The serial nests of the entry function become never-inlined functions of
// the values they read; two nests doing the same work on the same types
// share one. Nests of two or more loops go whatever their size; a single
// loop below min-ops, and private functions, stay as they are; the entry,
// left with small work, is compiled for size. A function whose buffers
// have static shapes and strides takes them as bare pointers
// (llvm.bareptr); one with a dynamic shape takes descriptors.
// CHECK-DAG: llvm.mlir.global private constant @[[SCALE:kiln_kernel_name_[0-9]+]]("scale\00")
// CHECK-DAG: llvm.mlir.global private constant @[[OTHER:kiln_kernel_name_[0-9]+]]("kernel\00")
// CHECK: func.func private @main_graph_kernel0(%{{.*}}: memref<4x8xf32>, %{{.*}}: f32, %{{.*}}: memref<4x8xf32>)
// CHECK-SAME: attributes {llvm.bareptr, passthrough = ["noinline"]}
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.mulf
// CHECK-NOT: func.func private @main_graph_kernel1
// CHECK: func.func private @main_graph_kernel2(%{{.*}}: memref<4x8xf32>) -> f32
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args
// CHECK: return %[[R]] : f32
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[A:[a-z0-9]*]]: memref<4x8xf32>, %[[B:[a-z0-9]*]]: memref<4x8xf32>, %[[C:[a-z0-9]*]]: memref<4x8xf32>, %[[S:[a-z0-9]*]]: f32)
// CHECK-SAME: attributes {passthrough = ["optsize"]}
// Each call is timed for the profiler under the nodes it computes.
// CHECK: %[[NAME:.*]] = llvm.mlir.addressof @[[SCALE]]
// CHECK: %[[T:.*]] = call @kiln_kernel_begin() : () -> f64
// CHECK: call @main_graph_kernel0(%[[A]], %[[S]], %[[B]])
// CHECK: call @kiln_kernel_end(%[[T]], %[[NAME]]) : (f64, !llvm.ptr) -> ()
// CHECK: call @main_graph_kernel0(%[[B]], %[[S]], %[[C]])
// CHECK: %[[SUM:.*]] = call @main_graph_kernel2(%[[C]])
// CHECK: scf.for
// CHECK-NOT: call
// CHECK: return %[[SUM]]
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: call
// CHECK: func.func private @dynamic_graph_kernel3(%{{.*}}: index, %{{.*}}: memref<?x8xf32>)
// CHECK-SAME: attributes {passthrough = ["noinline"]}
// CHECK-LABEL: func.func @dynamic_graph
// CHECK: call @dynamic_graph_kernel3
func.func @main_graph(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<4x8xf32>, %s: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i, %j] : memref<4x8xf32>
      %y = arith.mulf %x, %s : f32 loc("scale")
      memref.store %y, %b[%i, %j] : memref<4x8xf32>
    }
  }
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %b[%i, %j] : memref<4x8xf32>
      %y = arith.mulf %x, %s : f32
      memref.store %y, %c[%i, %j] : memref<4x8xf32>
    }
  }
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
    %row = scf.for %j = %c0 to %c8 step %c1 iter_args(%r = %acc) -> f32 {
      %x = memref.load %c[%i, %j] : memref<4x8xf32>
      %n = arith.addf %r, %x : f32
      scf.yield %n : f32
    }
    scf.yield %row : f32
  }
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %zero, %a[%i, %c0] : memref<4x8xf32>
  }
  return %sum : f32
}

func.func private @helper(%a: memref<4x8xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i, %j] : memref<4x8xf32>
      %y = arith.mulf %x, %s : f32
      memref.store %y, %a[%i, %j] : memref<4x8xf32>
    }
  }
  return
}

func.func @dynamic_graph(%a: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x8xf32>
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      memref.store %zero, %a[%i, %j] : memref<?x8xf32>
    }
  }
  return
}
