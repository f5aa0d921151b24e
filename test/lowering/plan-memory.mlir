// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-plan-memory))' | FileCheck %s

// Three intermediates of fixed size: %a and %b live at the same time, %c
// only after %a is freed. The largest (%b, 4 KiB) is placed first at 0, %a
// after it, and %c reuses %a's bytes: one workspace of 4096 + 1024 bytes,
// allocated at the start and freed before the return.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT: %[[WS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<5120xi8>
// CHECK: %[[A:.*]] = memref.view %[[WS]][%c4096{{.*}}][] : memref<5120xi8> to memref<256xf32>
// CHECK: %[[B:.*]] = memref.view %[[WS]][%c0{{.*}}][] : memref<5120xi8> to memref<1024xf32>
// CHECK: %[[C:.*]] = memref.view %[[WS]][%c4096{{.*}}][] : memref<5120xi8> to memref<16x16xf32>
// CHECK-NOT: memref.dealloc %[[A]]
// CHECK-NOT: memref.dealloc %[[B]]
// CHECK-NOT: memref.dealloc %[[C]]
// CHECK: memref.dealloc %[[WS]] : memref<5120xi8>
// CHECK-NEXT: return
func.func @chain(%x: memref<256xf32>, %y: memref<16x16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<256xf32>
  memref.copy %x, %a : memref<256xf32> to memref<256xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  %v = memref.subview %b[0] [256] [1] : memref<1024xf32> to memref<256xf32, strided<[1]>>
  memref.copy %a, %v : memref<256xf32> to memref<256xf32, strided<[1]>>
  memref.dealloc %a : memref<256xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  %e = memref.expand_shape %v [[0, 1]] output_shape [16, 16] : memref<256xf32, strided<[1]>> into memref<16x16xf32>
  memref.copy %e, %c : memref<16x16xf32> to memref<16x16xf32>
  memref.dealloc %b : memref<1024xf32>
  memref.copy %c, %y : memref<16x16xf32> to memref<16x16xf32>
  memref.dealloc %c : memref<16x16xf32>
  return
}

// Left alone: a buffer of dynamic size, one that is returned (no dealloc),
// and one freed in a nested block. With fewer than two plannable buffers
// there is no workspace.
// CHECK-LABEL: func.func @unplanned
// CHECK-NOT: xi8>
// CHECK: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<8xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<4xf32>
// CHECK: scf.if
// CHECK-NEXT: memref.dealloc
func.func @unplanned(%n: index, %p: i1) -> memref<8xf32> {
  %d = memref.alloc(%n) {alignment = 64 : i64} : memref<?xf32>
  memref.dealloc %d : memref<?xf32>
  %r = memref.alloc() {alignment = 64 : i64} : memref<8xf32>
  %s = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
  scf.if %p {
    memref.dealloc %s : memref<4xf32>
  }
  return %r : memref<8xf32>
}

// A loop body's buffers are planned in the body: one workspace per
// iteration.
// CHECK-LABEL: func.func @loop_body
// CHECK: scf.for
// CHECK-NEXT: %[[WS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<128xi8>
// CHECK: memref.dealloc %[[WS]]
// CHECK-NEXT: }
func.func @loop_body(%x: memref<16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    memref.copy %x, %a : memref<16xf32> to memref<16xf32>
    %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    memref.copy %a, %b : memref<16xf32> to memref<16xf32>
    memref.copy %b, %x : memref<16xf32> to memref<16xf32>
    memref.dealloc %a : memref<16xf32>
    memref.dealloc %b : memref<16xf32>
  }
  return
}
