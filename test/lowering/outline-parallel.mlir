// kiln-outline-parallel: a parallel loop becomes a call of
// kiln_parallel_for with its body outlined and its captured values in a
// context struct on the stack. The struct is allocated in the function's
// entry block (part of the fixed frame, 64-byte aligned), not at the call
// site: inside a loop it grew the stack on every trip, and as a dynamic
// alloca it left the stack pointer aligned to 16 bytes where the
// function's later calls stored their arguments with aligned 64-byte moves.
// RUN: kiln-opt %s --kiln-outline-parallel | FileCheck %s

// CHECK-LABEL: func.func @parallel_in_loop
// CHECK: llvm.alloca %{{.*}} x !llvm.struct<{{.*}}> {alignment = 64 : i64}
// CHECK: scf.for
// CHECK-NOT: llvm.alloca
// CHECK: llvm.store %{{.*}}, %{{.*}} : !llvm.struct
// CHECK: kiln_parallel_for
// CHECK: return
func.func @parallel_in_loop(%a: memref<64xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.for %t = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%i] : memref<64xf32>
      %w = arith.addf %v, %one : f32
      memref.store %w, %a[%i] : memref<64xf32>
      scf.reduce
    }
  }
  return
}
