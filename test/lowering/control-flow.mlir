// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s
// kiln.Loop -> scf.while over (iteration, condition, carried..., scan buffers...),
// or scf.for where every iteration runs and their number is known.

// CHECK-LABEL: func.func @loop
// CHECK: %[[TRIP:.*]] = tensor.extract %arg0[]
// CHECK: %[[COND:.*]] = tensor.extract %arg1[]
// The carried value's length changes: it is carried as tensor<?xf32>.
// CHECK: %[[INIT:.*]] = tensor.cast %arg2 : tensor<1xf32> to tensor<?xf32>
// CHECK: %[[BUF:.*]] = tensor.empty(%{{.*}}) : tensor<?x1xf32>
// CHECK: %[[W:.*]]:4 = scf.while (%[[I:.*]] = %{{.*}}, %[[C:.*]] = %[[COND]], %{{.*}} = %[[INIT]], %{{.*}} = %[[BUF]]) : (i64, i1, tensor<?xf32>, tensor<?x1xf32>) -> (i64, i1, tensor<?xf32>, tensor<?x1xf32>)
// CHECK: %[[LT:.*]] = arith.cmpi slt, %[[I]], %[[TRIP]]
// CHECK: %[[GO:.*]] = arith.andi %[[LT]], %[[C]]
// Each iteration that runs counts against the run's bound.
// CHECK: scf.if %[[GO]] {
// CHECK-NEXT: func.call @kiln_loop_iteration() : () -> ()
// CHECK: scf.condition(%[[GO]])
// CHECK: } do {
// CHECK: tensor.insert_slice
// Items of static shape need no check; a full scan buffer doubles.
// CHECK-NOT: kiln_scan_shape_mismatch
// CHECK: scf.if
// CHECK: arith.muli
// CHECK: tensor.insert_slice
// CHECK: tensor.insert_slice
// CHECK: scf.yield
// CHECK: %[[N:.*]] = arith.index_cast %[[W]]#0
// CHECK: tensor.extract_slice %[[W]]#3[0, 0] [%[[N]], 1] [1, 1]
func.func @loop(%trip: tensor<i64>, %cond: tensor<i1>, %acc: tensor<1xf32>) -> (tensor<?xf32>, tensor<?x1xf32>) {
  %0:2 = "kiln.Loop"(%trip, %cond, %acc) ({
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %a: tensor<?xf32>):
    %one = kiln.Constant dense<1.0> : tensor<1xf32>
    %grown = kiln.Concat %a, %one {axis = 0 : si64} : (tensor<?xf32>, tensor<1xf32>) -> tensor<?xf32>
    kiln.yield %c, %grown, %one : tensor<i1>, tensor<?xf32>, tensor<1xf32>
  }) : (tensor<i64>, tensor<i1>, tensor<1xf32>) -> (tensor<?xf32>, tensor<?x1xf32>)
  return %0#0, %0#1 : tensor<?xf32>, tensor<?x1xf32>
}

// A loop that runs all of its iterations, their number known here (no
// condition, a body that passes its condition on, a trip count that is a
// dim of a static shape: a recurrence's steps) is an scf.for: the carried
// values and the scan buffer, allocated whole (6 rows), are its iteration
// arguments; each item is written at its row. No buffer grows.
// CHECK-LABEL: func.func @loop_all_steps
// CHECK-NOT: scf.while
// CHECK: %[[BUF:.*]] = tensor.empty() : tensor<6x1x4xf32>
// CHECK: %[[F:.*]]:2 = scf.for %[[I:.*]] = %c0 to %c6 step %c1 iter_args(%{{.*}} = %arg1, %[[B:.*]] = %[[BUF]]) -> (tensor<1x4xf32>, tensor<6x1x4xf32>)
// CHECK-NEXT: func.call @kiln_loop_iteration() : () -> ()
// CHECK: %[[ROW:.*]] = tensor.insert_slice %{{.*}} into %[[B]][%[[I]], 0, 0] [1, 1, 4] [1, 1, 1]
// CHECK: scf.yield %{{.*}}, %[[ROW]] : tensor<1x4xf32>, tensor<6x1x4xf32>
// CHECK: tensor.cast %[[F]]#1 : tensor<6x1x4xf32> to tensor<?x1x4xf32>
func.func @loop_all_steps(%x: tensor<6x1x4xf32>, %h: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<?x1x4xf32>) {
  %shape = kiln.Shape %x : (tensor<6x1x4xf32>) -> tensor<3xi64>
  %zero = kiln.Constant dense<0> : tensor<i64>
  %steps = kiln.Gather %shape, %zero : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %none = kiln.none
  %0:2 = "kiln.Loop"(%steps, %none, %h) ({
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %a: tensor<1x4xf32>):
    %t = kiln.Tanh %a : (tensor<1x4xf32>) -> tensor<1x4xf32>
    kiln.yield %c, %t, %t : tensor<i1>, tensor<1x4xf32>, tensor<1x4xf32>
  }) : (tensor<i64>, none, tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<?x1x4xf32>)
  return %0#0, %0#1 : tensor<1x4xf32>, tensor<?x1x4xf32>
}

// kiln.If -> scf.if; each branch's value is cast to the result type.
// CHECK-LABEL: func.func @branches
// CHECK: %[[C:.*]] = tensor.extract %arg0[]
// CHECK: scf.if %[[C]] -> (tensor<?xf32>) {
// CHECK: tensor.insert_slice
// CHECK: %[[T:.*]] = tensor.cast %{{.*}} : tensor<4xf32> to tensor<?xf32>
// CHECK: scf.yield %[[T]] : tensor<?xf32>
// CHECK: } else {
// CHECK: %[[E:.*]] = tensor.cast %arg1 : tensor<2xf32> to tensor<?xf32>
// CHECK: scf.yield %[[E]] : tensor<?xf32>
func.func @branches(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = "kiln.If"(%c) ({
    %d = kiln.Concat %x, %x {axis = 0 : si64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
    kiln.yield %d : tensor<4xf32>
  }, {
    kiln.yield %x : tensor<2xf32>
  }) : (tensor<i1>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
