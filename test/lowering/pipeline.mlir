// Each named phase of the CPU pipeline, run on its own.
// RUN: kiln-opt %s --kiln-to-linalg | FileCheck %s --check-prefix=LINALG
// RUN: kiln-opt %s --kiln-to-linalg --kiln-tile | FileCheck %s --check-prefix=TILE
// RUN: kiln-opt %s --kiln-to-linalg --kiln-tile --kiln-bufferize | FileCheck %s --check-prefix=BUF
// RUN: kiln-opt %s --kiln-to-linalg --kiln-tile --kiln-bufferize --kiln-to-loops | FileCheck %s --check-prefix=LOOPS
// RUN: kiln-opt %s --kiln-cpu | FileCheck %s --check-prefix=LLVM

func.func @main_graph(%x: tensor<4096x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>) -> tensor<4096x32xf32> {
  %0 = kiln.MatMul %x, %w : (tensor<4096x64xf32>, tensor<64x32xf32>) -> tensor<4096x32xf32>
  %1 = kiln.Add %0, %b : (tensor<4096x32xf32>, tensor<32xf32>) -> tensor<4096x32xf32>
  %2 = kiln.Relu %1 : (tensor<4096x32xf32>) -> tensor<4096x32xf32>
  return %2 : tensor<4096x32xf32>
}

// Add and Relu fuse into one generic after the matmul.
// LINALG: linalg.matmul
// LINALG-COUNT-1: linalg.generic
// LINALG-NOT: linalg.generic

// The consumer is tiled by its cost (131072 iterations: 8 tiles of 512
// rows) with the matmul fused in.
// TILE: scf.forall (%{{.*}}) = (0) to (4096) step (512)
// TILE: linalg.matmul {{.*}} -> tensor<512x32xf32>
// TILE: linalg.generic
// TILE: scf.forall.in_parallel

// The result is computed straight into the caller's output buffer.
// BUF: func.func @main_graph(%{{.*}}: memref<4096x64xf32>, %{{.*}}: memref<64x32xf32>, %{{.*}}: memref<32xf32>, %[[OUT:[a-z0-9]+]]: memref<4096x32xf32>, %{{.*}}: memref<?xi8>)
// BUF-NOT: memref.alloc()
// BUF: scf.forall
// BUF: linalg.matmul {{.*}}memref<512x32xf32
// BUF: memref.subview %[[OUT]]

// The parallel loop becomes a body function and a runtime call.
// LOOPS: func.func private @main_graph_parallel0(%{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr)
// LOOPS: llvm.load
// LOOPS: scf.for
// LOOPS: func.func @main_graph(
// LOOPS-DAG: llvm.alloca
// LOOPS-DAG: constant @main_graph_parallel0 : (i64, i64, !llvm.ptr) -> ()
// LOOPS: call @kiln_parallel_for(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// LOOPS-NOT: scf.forall
// LOOPS: func.func private @kiln_parallel_for(i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr)

// LLVM: llvm.func @main_graph_parallel0(
// LLVM: llvm.func @main_graph(
// LLVM: llvm.call @kiln_parallel_for
// LLVM-NOT: scf.
// LLVM-NOT: memref.
