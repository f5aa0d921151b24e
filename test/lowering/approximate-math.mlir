// RUN: kiln-opt %s --pass-pipeline="builtin.module(func.func(kiln-approximate-math))" | FileCheck %s

// f32 transcendental functions become arith polynomials (no libm call
// left for LLVM to keep scalar), on scalars and on vectors alike.
// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: return
func.func @approximated(%x: f32, %v: vector<16xf32>) -> (f32, f32, vector<16xf32>, f32, f32) {
  %t = math.tanh %x : f32
  %e = math.exp %x : f32
  %ev = math.exp %v : vector<16xf32>
  %r = math.erf %x : f32
  %c = math.erfc %x : f32
  return %t, %e, %ev, %r, %c : f32, f32, vector<16xf32>, f32, f32
}

// A logarithm's subnormal argument is scaled by 2^24 first and 24 ln 2
// taken off the result: the approximation treats subnormals as the
// smallest normal number.
// CHECK-LABEL: func.func @log_of_subnormals
// CHECK: %[[MIN:.*]] = arith.constant 1.17549435E-38 : f32
// CHECK: %[[SUB:.*]] = arith.cmpf olt, %arg0, %[[MIN]]
// CHECK: %[[SCALE:.*]] = arith.constant 0x4B800000 : f32
// CHECK: %[[MUL:.*]] = arith.mulf %arg0, %[[SCALE]]
// CHECK: arith.select %[[SUB]], %[[MUL]], %arg0
// CHECK-NOT: math.log
// CHECK: %[[LOGSCALE:.*]] = arith.constant 16.6355324 : f32
// CHECK: %[[UN:.*]] = arith.subf %[[LOG:.*]], %[[LOGSCALE]]
// CHECK: %[[Y:.*]] = arith.select %[[SUB]], %[[UN]], %[[LOG]]
// CHECK: return %[[Y]]
func.func @log_of_subnormals(%x: f32) -> f32 {
  %y = math.log %x : f32
  return %y : f32
}

// f64 keeps the library call.
// CHECK-LABEL: func.func @f64_kept
// CHECK: math.tanh %{{.*}} : f64
func.func @f64_kept(%x: f64) -> f64 {
  %y = math.tanh %x : f64
  return %y : f64
}
