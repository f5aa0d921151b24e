// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-batch-shared-weights))' | FileCheck %s

// An unrolled recurrence: each step projects its slice of the input by the
// same weight (independent of the steps before: batched into one product,
// the slices computed first) and its state by another weight (each state
// depends on the step before: left alone).
// CHECK-LABEL: func.func @unrolled_cells
// CHECK-DAG: %[[W:.*]] = kiln.Constant dense<{{.*}}> : tensor<6x4xf32>
// CHECK-DAG: %[[B:.*]] = kiln.Constant dense<{{.*}}> : tensor<6xf32>
// CHECK: %[[X0:.*]] = kiln.Gather %{{.*}}, %{{.*}} : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
// CHECK: %[[X1:.*]] = kiln.Gather %{{.*}}, %{{.*}} : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
// CHECK: %[[X2:.*]] = kiln.Gather %{{.*}}, %{{.*}} : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<6x4xf32>
// CHECK: %[[S0:.*]] = tensor.insert_slice %[[X0]] into %[[E]][0, 0] [2, 4] [1, 1]
// CHECK: %[[S1:.*]] = tensor.insert_slice %[[X1]] into %[[S0]][2, 0] [2, 4] [1, 1]
// CHECK: %[[S2:.*]] = tensor.insert_slice %[[X2]] into %[[S1]][4, 0] [2, 4] [1, 1]
// CHECK: %[[ALL:.*]] = kiln.Gemm %[[S2]], %[[W]], %[[B]] {transB = 1 : si64} : (tensor<6x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<6x6xf32>
// CHECK: tensor.extract_slice %[[ALL]][0, 0] [2, 6] [1, 1]
// CHECK: kiln.MatMul
// CHECK: tensor.extract_slice %[[ALL]][2, 0] [2, 6] [1, 1]
// CHECK: kiln.MatMul
// CHECK: tensor.extract_slice %[[ALL]][4, 0] [2, 6] [1, 1]
// CHECK: kiln.MatMul
// CHECK-NOT: kiln.Gemm
func.func @unrolled_cells(%seq: tensor<3x2x4xf32>, %h0: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %w = kiln.Constant dense<0.5> : tensor<6x4xf32>
  %b = kiln.Constant dense<0.25> : tensor<6xf32>
  %r = kiln.Constant dense<0.125> : tensor<6x6xf32>
  %t0 = kiln.Constant dense<0> : tensor<i64>
  %t1 = kiln.Constant dense<1> : tensor<i64>
  %t2 = kiln.Constant dense<2> : tensor<i64>
  %x0 = kiln.Gather %seq, %t0 : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
  %p0 = kiln.Gemm %x0, %w, %b {transB = 1 : si64} : (tensor<2x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  %q0 = kiln.MatMul %h0, %r : (tensor<2x6xf32>, tensor<6x6xf32>) -> tensor<2x6xf32>
  %a0 = kiln.Add %p0, %q0 : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %h1 = kiln.Tanh %a0 : (tensor<2x6xf32>) -> tensor<2x6xf32>
  %x1 = kiln.Gather %seq, %t1 : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
  %p1 = kiln.Gemm %x1, %w, %b {transB = 1 : si64} : (tensor<2x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  %q1 = kiln.MatMul %h1, %r : (tensor<2x6xf32>, tensor<6x6xf32>) -> tensor<2x6xf32>
  %a1 = kiln.Add %p1, %q1 : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %h2 = kiln.Tanh %a1 : (tensor<2x6xf32>) -> tensor<2x6xf32>
  %x2 = kiln.Gather %seq, %t2 : (tensor<3x2x4xf32>, tensor<i64>) -> tensor<2x4xf32>
  %p2 = kiln.Gemm %x2, %w, %b {transB = 1 : si64} : (tensor<2x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  %q2 = kiln.MatMul %h2, %r : (tensor<2x6xf32>, tensor<6x6xf32>) -> tensor<2x6xf32>
  %a2 = kiln.Add %p2, %q2 : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %h3 = kiln.Tanh %a2 : (tensor<2x6xf32>) -> tensor<2x6xf32>
  return %h3 : tensor<2x6xf32>
}

// Products whose left operand depends on another's result (a chain through
// one weight), or with different biases, stay apart.
// CHECK-LABEL: func.func @dependent_or_different
// CHECK-NOT: tensor.insert_slice
// CHECK-COUNT-3: kiln.Gemm
// CHECK-NOT: tensor.insert_slice
func.func @dependent_or_different(%x: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  %w = kiln.Constant dense<0.5> : tensor<4x4xf32>
  %b = kiln.Constant dense<0.25> : tensor<4xf32>
  %c = kiln.Constant dense<0.75> : tensor<4xf32>
  %y = kiln.Gemm %x, %w, %b : (tensor<1x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %z = kiln.Gemm %y, %w, %b : (tensor<1x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %u = kiln.Gemm %x, %w, %c : (tensor<1x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  return %z, %u : tensor<1x4xf32>, tensor<1x4xf32>
}
