// Buffers hold memory only while they are used.
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-early-dealloc))' | FileCheck %s

// Bufferization frees both buffers at the end of the block: %a, last read
// by the second op, is freed right after it, before %b is even allocated
// (the runtime can give %b its memory); %b, allocated where first used.
// CHECK-LABEL: func.func @chain
// CHECK: %[[A:.*]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[A]]
// CHECK-NEXT: linalg.copy ins(%[[A]] {{.*}} outs(%arg0
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NEXT: %[[B:.*]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[B]]
// CHECK-NEXT: scf.forall
// CHECK: memref.load %[[B]]
// CHECK: }
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK-NEXT: return
func.func @chain(%out: memref<64xf32>, %n: memref<8xf32>) {
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<64xf32>
  %b = memref.alloc() : memref<64xf32>
  linalg.fill ins(%one : f32) outs(%a : memref<64xf32>)
  linalg.copy ins(%a : memref<64xf32>) outs(%out : memref<64xf32>)
  linalg.fill ins(%one : f32) outs(%b : memref<64xf32>)
  // A use inside a nested region counts as the op holding it.
  scf.forall (%i) in (8) {
    %v = memref.load %b[%i] : memref<64xf32>
    memref.store %v, %n[%i] : memref<8xf32>
  }
  memref.dealloc %a : memref<64xf32>
  memref.dealloc %b : memref<64xf32>
  return
}

// A view of the buffer counts as the buffer.
// CHECK-LABEL: func.func @view
// CHECK: memref.subview
// CHECK-NEXT: linalg.copy
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: linalg.fill
func.func @view(%out: memref<32xf32>) {
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<64xf32>
  %s = memref.subview %a[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
  linalg.copy ins(%s : memref<32xf32, strided<[1]>>) outs(%out : memref<32xf32>)
  linalg.fill ins(%one : f32) outs(%out : memref<32xf32>)
  memref.dealloc %a : memref<64xf32>
  return
}

// A buffer a call receives may be kept by it: its dealloc stays.
// CHECK-LABEL: func.func @escapes
// CHECK: call @keep
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: memref.dealloc
func.func private @keep(memref<64xf32>)
func.func @escapes(%out: memref<32xf32>) {
  %one = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<64xf32>
  call @keep(%a) : (memref<64xf32>) -> ()
  linalg.fill ins(%one : f32) outs(%out : memref<32xf32>)
  memref.dealloc %a : memref<64xf32>
  return
}
