// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s

// Broadcasting follows ONNX: right-aligned, size-1 dims read index 0.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @add_bcast
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.addf
func.func @add_bcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.Add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @div_unsigned
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<2x1xi8>) -> tensor<2x4xi8>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[COL]], #[[ID]]]
// CHECK: arith.divui
func.func @div_unsigned(%a: tensor<4xui8>, %b: tensor<2x1xui8>) -> tensor<2x4xui8> {
  %0 = kiln.Div %a, %b : (tensor<4xui8>, tensor<2x1xui8>) -> tensor<2x4xui8>
  return %0 : tensor<2x4xui8>
}

// CHECK-LABEL: func.func @relu_sigmoid
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: math.exp
// CHECK: arith.divf
func.func @relu_sigmoid(%a: tensor<8xf32>) -> tensor<8xf32> {
  %0 = kiln.Relu %a : (tensor<8xf32>) -> tensor<8xf32>
  %1 = kiln.Sigmoid %0 : (tensor<8xf32>) -> tensor<8xf32>
  return %1 : tensor<8xf32>
}

// CHECK-LABEL: func.func @clip_cast
// CHECK: arith.select
// CHECK: arith.select
// CHECK: arith.fptosi %{{.*}} : f32 to i32
func.func @clip_cast(%a: tensor<4xf32>, %lo: tensor<f32>, %hi: tensor<f32>) -> tensor<4xi32> {
  %0 = kiln.Clip %a, %lo, %hi : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>
  %1 = kiln.Cast %0 : (tensor<4xf32>) -> tensor<4xi32>
  return %1 : tensor<4xi32>
}

// CHECK-LABEL: func.func @leaky
// CHECK: arith.constant 1.000000e-01 : f32
// CHECK: arith.mulf
func.func @leaky(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.LeakyRelu %a {alpha = 0.1 : f32} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// Half-precision math runs in f32 and rounds once.
// CHECK-LABEL: func.func @gelu_bf16
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: math.erfc %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @gelu_bf16(%a: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = kiln.Gelu %a : (tensor<4xbf16>) -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// CHECK-LABEL: func.func @isinf
// CHECK: arith.cmpf oeq, %{{.*}}, %{{.*}} : f32
// CHECK: linalg.yield %{{.*}} : i1
func.func @isinf(%a: tensor<4xf32>) -> tensor<4xi1> {
  %0 = kiln.IsInf %a {detect_negative = 0 : si64} : (tensor<4xf32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}
