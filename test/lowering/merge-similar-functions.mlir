// RUN: kiln-opt %s --kiln-merge-similar-functions | FileCheck %s
// RUN: kiln-opt %s --kiln-merge-similar-functions=max-arguments=1 | FileCheck %s --check-prefix=CAP

// Three kernels of layers that differ in a size: the same code but for a
// row stride (288, 320, 352) and a trip count (32, 64, 32). One shared
// function takes the differing constants as arguments (the stride and the
// trip count: two columns of values; the stride's two uses are one
// argument), and each kernel keeps its name and calls it with its values.
// The constant 4 is the same in all three and stays a constant. @divides
// uses its differing constant as a divisor (a division by a constant is a
// multiplication; by an argument it would not be): not merged. @scalar
// has no vectors: LLVM unrolls and vectorizes its loops by their constant
// trip counts, so it is left alone.

// CHECK-LABEL: llvm.func internal @kernel288_shared0
// CHECK-SAME: (%[[B:.*]]: i64, %[[E:.*]]: i64, %[[P:.*]]: !llvm.ptr, %[[STRIDE:.*]]: i64, %[[TRIP:.*]]: i64)
// CHECK-SAME: attributes {no_inline}
// CHECK: %[[FOUR:.*]] = llvm.mlir.constant(4 : index) : i64
// CHECK: llvm.mul %{{.*}}, %[[STRIDE]] : i64
// CHECK: llvm.icmp "slt" %{{.*}}, %[[TRIP]] : i64
// CHECK: llvm.mul %{{.*}}, %[[STRIDE]] : i64
// CHECK: llvm.add %{{.*}}, %[[FOUR]] : i64
// CHECK-LABEL: llvm.func @kernel288(
// CHECK-DAG: %[[S0:.*]] = llvm.mlir.constant(288 : i64) : i64
// CHECK-DAG: %[[T0:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: llvm.call @kernel288_shared0(%{{.*}}, %{{.*}}, %{{.*}}, %[[S0]], %[[T0]])
// CHECK-NEXT: llvm.return
// CHECK-LABEL: llvm.func @kernel320(
// CHECK-DAG: %[[S1:.*]] = llvm.mlir.constant(320 : i64) : i64
// CHECK-DAG: %[[T1:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: llvm.call @kernel288_shared0(%{{.*}}, %{{.*}}, %{{.*}}, %[[S1]], %[[T1]])
// CHECK-LABEL: llvm.func @kernel352(
// CHECK: llvm.call @kernel288_shared0
// Equal values of other types are other arguments: an i32 and an i64
// stride of 288 and 320 each.
// CHECK-LABEL: llvm.func internal @typed288_shared1
// CHECK-SAME: (%{{.*}}: i64, %{{.*}}: !llvm.ptr, %[[W:.*]]: i32, %[[L:.*]]: i64)
// CHECK: llvm.mul %{{.*}}, %[[W]] : i32
// CHECK: llvm.mul %{{.*}}, %[[L]] : i64
// CHECK-LABEL: llvm.func @typed320(
// CHECK-DAG: %[[W1:.*]] = llvm.mlir.constant(320 : i32) : i32
// CHECK-DAG: %[[L1:.*]] = llvm.mlir.constant(320 : i64) : i64
// CHECK: llvm.call @typed288_shared1(%{{.*}}, %{{.*}}, %[[W1]], %[[L1]])

// CHECK-LABEL: llvm.func @divides7(
// CHECK: llvm.udiv
// CHECK-LABEL: llvm.func @divides9(
// CHECK: llvm.udiv
// CHECK-LABEL: llvm.func @scalar3(
// CHECK: llvm.mlir.constant(3 : index)
// CHECK-LABEL: llvm.func @scalar5(
// CHECK: llvm.mlir.constant(5 : index)

// Two differing columns are more than max-arguments=1 allows: nothing is merged.
// CAP-NOT: _shared
// CAP: llvm.func @kernel288(
// CAP-NEXT: llvm.mlir.constant(4 : index)

module {
  llvm.func @kernel288(%b: i64, %e: i64, %p: !llvm.ptr) {
    %four = llvm.mlir.constant(4 : index) : i64
    %stride = llvm.mlir.constant(288 : index) : i64
    %trip = llvm.mlir.constant(32 : index) : i64
    llvm.br ^loop(%b : i64)
  ^loop(%i: i64):
    %row = llvm.mul %i, %stride : i64
    %a = llvm.getelementptr %p[%row] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    %w = llvm.fmul %v, %v : vector<16xf32>
    llvm.store %w, %a : vector<16xf32>, !llvm.ptr
    %c = llvm.icmp "slt" %i, %trip : i64
    %again = llvm.mul %i, %stride : i64
    %next = llvm.add %again, %four : i64
    llvm.cond_br %c, ^loop(%next : i64), ^done
  ^done:
    llvm.return
  }
  llvm.func @kernel320(%b: i64, %e: i64, %p: !llvm.ptr) {
    %four = llvm.mlir.constant(4 : index) : i64
    %stride = llvm.mlir.constant(320 : index) : i64
    %trip = llvm.mlir.constant(64 : index) : i64
    llvm.br ^loop(%b : i64)
  ^loop(%i: i64):
    %row = llvm.mul %i, %stride : i64
    %a = llvm.getelementptr %p[%row] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    %w = llvm.fmul %v, %v : vector<16xf32>
    llvm.store %w, %a : vector<16xf32>, !llvm.ptr
    %c = llvm.icmp "slt" %i, %trip : i64
    %again = llvm.mul %i, %stride : i64
    %next = llvm.add %again, %four : i64
    llvm.cond_br %c, ^loop(%next : i64), ^done
  ^done:
    llvm.return
  }
  // The trip count equals the constant 4's value here: one constant op
  // serves both uses, as CSE leaves it; still the same code.
  llvm.func @kernel352(%b: i64, %e: i64, %p: !llvm.ptr) {
    %four = llvm.mlir.constant(4 : index) : i64
    %stride = llvm.mlir.constant(352 : index) : i64
    llvm.br ^loop(%b : i64)
  ^loop(%i: i64):
    %row = llvm.mul %i, %stride : i64
    %a = llvm.getelementptr %p[%row] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    %w = llvm.fmul %v, %v : vector<16xf32>
    llvm.store %w, %a : vector<16xf32>, !llvm.ptr
    %c = llvm.icmp "slt" %i, %four : i64
    %again = llvm.mul %i, %stride : i64
    %next = llvm.add %again, %four : i64
    llvm.cond_br %c, ^loop(%next : i64), ^done
  ^done:
    llvm.return
  }
  llvm.func @typed288(%x: i64, %p: !llvm.ptr) {
    %w = llvm.mlir.constant(288 : i32) : i32
    %l = llvm.mlir.constant(288 : index) : i64
    %x32 = llvm.trunc %x : i64 to i32
    %r32 = llvm.mul %x32, %w : i32
    %r = llvm.sext %r32 : i32 to i64
    %r2 = llvm.mul %r, %l : i64
    %a = llvm.getelementptr %p[%r2] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    llvm.store %v, %p : vector<16xf32>, !llvm.ptr
    llvm.return
  }
  llvm.func @typed320(%x: i64, %p: !llvm.ptr) {
    %w = llvm.mlir.constant(320 : i32) : i32
    %l = llvm.mlir.constant(320 : index) : i64
    %x32 = llvm.trunc %x : i64 to i32
    %r32 = llvm.mul %x32, %w : i32
    %r = llvm.sext %r32 : i32 to i64
    %r2 = llvm.mul %r, %l : i64
    %a = llvm.getelementptr %p[%r2] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    llvm.store %v, %p : vector<16xf32>, !llvm.ptr
    llvm.return
  }
  llvm.func @divides7(%x: i64, %p: !llvm.ptr) {
    %d = llvm.mlir.constant(7 : index) : i64
    %q = llvm.udiv %x, %d : i64
    %a = llvm.getelementptr %p[%q] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    llvm.store %v, %p : vector<16xf32>, !llvm.ptr
    llvm.return
  }
  llvm.func @divides9(%x: i64, %p: !llvm.ptr) {
    %d = llvm.mlir.constant(9 : index) : i64
    %q = llvm.udiv %x, %d : i64
    %a = llvm.getelementptr %p[%q] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> vector<16xf32>
    llvm.store %v, %p : vector<16xf32>, !llvm.ptr
    llvm.return
  }
  llvm.func @scalar3(%x: i64, %p: !llvm.ptr) {
    %n = llvm.mlir.constant(3 : index) : i64
    %a = llvm.getelementptr %p[%n] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> f32
    llvm.store %v, %p : f32, !llvm.ptr
    llvm.return
  }
  llvm.func @scalar5(%x: i64, %p: !llvm.ptr) {
    %n = llvm.mlir.constant(5 : index) : i64
    %a = llvm.getelementptr %p[%n] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %v = llvm.load %a : !llvm.ptr -> f32
    llvm.store %v, %p : f32, !llvm.ptr
    llvm.return
  }
}
