// Elementwise arithmetic on constants is evaluated at compile time.
// RUN: kiln-opt %s --kiln-fold-constant-elementwise | FileCheck %s

// DequantizeLinear of an int8 weight, with a per-row scale read through a
// constant-0 map: (w - zero point) * scale, rounded to f32 per operation
// (128 is -128 as a signless i8).
// CHECK-LABEL: func.func @dequantize
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[-2.500000e-01, 0.000000e+00, 3.175000e+01], [2.000000e+00, -2.540000e+02, -2.560000e+02]]> : tensor<2x3xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[W]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
func.func @dequantize() -> tensor<2x3xf32> {
  %q = arith.constant dense<[[-1, 0, 127], [1, -127, 128]]> : tensor<2x3xi8>
  %s = arith.constant dense<[[0.25], [2.0]]> : tensor<2x1xf32>
  %zp = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%q, %s : tensor<2x3xi8>, tensor<2x1xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: i8, %b: f32, %o: f32):
    %i = arith.extsi %a : i8 to i32
    %f = arith.sitofp %i : i32 to f32
    %c = arith.subf %f, %zp : f32
    %m = arith.mulf %c, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// Unsigned widening and integer centring (an integer matmul's weight),
// with a zero point from above the generic.
// CHECK-LABEL: func.func @centre_unsigned
// CHECK: %[[W:.*]] = arith.constant dense<[-128, 127, 0, -1]> : tensor<4xi32>
// CHECK: return %[[W]]
#v = affine_map<(d0) -> (d0)>
func.func @centre_unsigned() -> tensor<4xi32> {
  %q = arith.constant dense<[0, 255, 128, 127]> : tensor<4xi8>
  %zp = arith.constant 128 : i32
  %e = tensor.empty() : tensor<4xi32>
  %r = linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
      ins(%q : tensor<4xi8>) outs(%e : tensor<4xi32>) {
  ^bb0(%a: i8, %o: i32):
    %i = arith.extui %a : i8 to i32
    %c = arith.subi %i, %zp : i32
    linalg.yield %c : i32
  } -> tensor<4xi32>
  return %r : tensor<4xi32>
}

// Splat inputs give a splat.
// CHECK-LABEL: func.func @splat
// CHECK: arith.constant dense<6.000000e+00> : tensor<64x64xf32>
// CHECK-NOT: linalg.generic
func.func @splat() -> tensor<64x64xf32> {
  %a = arith.constant dense<2.0> : tensor<64x64xf32>
  %b = arith.constant dense<3.0> : tensor<64x64xf32>
  %e = tensor.empty() : tensor<64x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// A constant broadcast to a larger tensor stays computed; so does a body
// with an op the interpreter does not evaluate, and one that reads the
// output.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: linalg.generic
#col = affine_map<(d0, d1) -> (d1)>
func.func @kept(%out: tensor<2x3xf32>) -> (tensor<8x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %v = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %e8 = tensor.empty() : tensor<8x3xf32>
  %b = linalg.generic {indexing_maps = [#col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%v : tensor<3xf32>) outs(%e8 : tensor<8x3xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.addf %x, %x : f32
    linalg.yield %m : f32
  } -> tensor<8x3xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = math.exp %a : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<2x3xf32>) outs(%out : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.addf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  return %b, %x, %y : tensor<8x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}
