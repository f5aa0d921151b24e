// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-pad-in-place))' | FileCheck %s
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-pad-in-place),one-shot-bufferize{bufferize-function-boundaries},cse,canonicalize)' | FileCheck %s --check-prefix=BUF

// The Relu before a padded 3x3 convolution writes into the interior of
// the padded tensor, whose border alone is filled (one slab per padded
// side); the pad is the matching insert, and after bufferization nothing
// is copied and nothing is written twice.
// CHECK-LABEL: func.func @relu_then_pad
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x10x10xf32>
// CHECK: tensor.extract_slice %[[E]][0, 0, 0, 0] [1, 4, 1, 10] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x4x1x10xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 9, 0] [1, 4, 1, 10] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x4x1x10xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1, 0] [1, 4, 8, 1] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x4x8x1xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1, 9] [1, 4, 8, 1] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x4x8x1xf32>
// CHECK: %[[F:.*]] = tensor.insert_slice %{{.*}}[0, 0, 1, 9] [1, 4, 8, 1] [1, 1, 1, 1]
// CHECK-NOT: linalg.fill
// CHECK: %[[S:.*]] = tensor.extract_slice %[[F]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x4x8x8xf32>)
// CHECK: tensor.insert_slice %[[R]] into %[[F]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
// BUF-LABEL: func.func @relu_then_pad
// BUF-NOT: memref.copy
// BUF-COUNT-4: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<1x4x{{1x10|8x1}}xf32, strided<[400, 100, 10, 1]{{.*}}>>)
// BUF-NOT: memref.copy
// BUF: return
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @relu_then_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x8x8xf32>) outs(%e : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x8x8xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}

// An unpadded value that something else reads too stays where it is (it
// would have to be copied out of the padded buffer instead).
// CHECK-LABEL: func.func @two_users
// CHECK: tensor.pad
func.func @two_users(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x10x10xf32>, tensor<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x8x8xf32>) outs(%e : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x8x8xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p, %r : tensor<1x4x10x10xf32>, tensor<1x4x8x8xf32>
}

// A depthwise convolution's input is padded after its channels are split
// into groups of one: the pad is made on the unsplit tensor, which is then
// expanded; nothing is copied.
// CHECK-LABEL: func.func @relu_expand_pad
// CHECK: %[[F:.*]] = tensor.insert_slice %{{.*}}[0, 0, 1, 9] [1, 4, 8, 1] [1, 1, 1, 1]
// CHECK: %[[S:.*]] = tensor.extract_slice %[[F]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x4x8x8xf32>)
// CHECK: %[[I:.*]] = tensor.insert_slice %[[R]] into %[[F]]
// CHECK: tensor.expand_shape %[[I]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 4, 1, 10, 10]
// CHECK-NOT: tensor.pad
// BUF-LABEL: func.func @relu_expand_pad
// BUF-NOT: memref.copy
// BUF: return
func.func @relu_expand_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x1x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x8x8xf32>) outs(%e : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x8x8xf32>
  %g = tensor.expand_shape %r [[0], [1, 2], [3], [4]] output_shape [1, 4, 1, 8, 8] : tensor<1x4x8x8xf32> into tensor<1x4x1x8x8xf32>
  %p = tensor.pad %g low[0, 0, 0, 1, 1] high[0, 0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index, %m: index):
    tensor.yield %zero : f32
  } : tensor<1x4x1x8x8xf32> to tensor<1x4x1x10x10xf32>
  return %p : tensor<1x4x1x10x10xf32>
}

// The same through a collapse that merges no padded dim (a direct
// convolution's [n, slivers, NR, h, w] result moved into NCHW): the op
// writes into the interior of the padded tensor before the collapse.
// CHECK-LABEL: func.func @relu_collapse_pad
// CHECK: %[[F:.*]] = tensor.insert_slice %{{.*}}[0, 0, 0, 1, 9] [1, 2, 2, 8, 1] [1, 1, 1, 1, 1]
// CHECK: %[[S:.*]] = tensor.extract_slice %[[F]][0, 0, 0, 1, 1] [1, 2, 2, 8, 8] [1, 1, 1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x2x2x8x8xf32>)
// CHECK: %[[I:.*]] = tensor.insert_slice %[[R]] into %[[F]]
// CHECK: tensor.collapse_shape %[[I]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x10x10xf32> into tensor<1x4x10x10xf32>
// CHECK-NOT: tensor.pad
// BUF-LABEL: func.func @relu_collapse_pad
// BUF-NOT: memref.copy
// BUF: return
#id5 = affine_map<(n, b, j, h, w) -> (n, b, j, h, w)>
func.func @relu_collapse_pad(%x: tensor<1x2x2x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x2x8x8xf32>) outs(%e : tensor<1x2x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x2x8x8xf32>
  %g = tensor.collapse_shape %r [[0], [1, 2], [3], [4]] : tensor<1x2x2x8x8xf32> into tensor<1x4x8x8xf32>
  %p = tensor.pad %g low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}

// Through both: a direct convolution's result moved into NCHW, then
// split into groups for a grouped convolution ([n, slivers, NR, h, w] ->
// [n, c, h, w] -> [n, g, c / g, h, w]). The padded tensor is reshaped back
// in the reverse order: collapsed, then expanded.
// CHECK-LABEL: func.func @relu_collapse_expand_pad
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x2x8x8xf32>)
// CHECK: %[[I:.*]] = tensor.insert_slice %[[R]]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[I]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x10x10xf32> into tensor<1x4x10x10xf32>
// CHECK: tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 2, 2, 10, 10] : tensor<1x4x10x10xf32> into tensor<1x2x2x10x10xf32>
// CHECK-NOT: tensor.pad
func.func @relu_collapse_expand_pad(%x: tensor<1x2x2x8x8xf32>) -> tensor<1x2x2x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x2x8x8xf32>) outs(%e : tensor<1x2x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x2x8x8xf32>
  %c = tensor.collapse_shape %r [[0], [1, 2], [3], [4]] : tensor<1x2x2x8x8xf32> into tensor<1x4x8x8xf32>
  %g = tensor.expand_shape %c [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 8, 8] : tensor<1x4x8x8xf32> into tensor<1x2x2x8x8xf32>
  %p = tensor.pad %g low[0, 0, 0, 1, 1] high[0, 0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index, %m: index):
    tensor.yield %zero : f32
  } : tensor<1x2x2x8x8xf32> to tensor<1x2x2x10x10xf32>
  return %p : tensor<1x2x2x10x10xf32>
}

// A part of a concatenation computed over flattened positions (a 1x1
// convolution as a GEMM on [n, c, h * w]) is computed into its collapsed
// slice of the concatenation, which now comes first; after bufferization
// it is not copied (the other part, an argument here, is).
// CHECK-LABEL: func.func @gemm_part_of_concat
// CHECK: %[[C:.*]] = tensor.empty() : tensor<1x12x4x4xf32>
// CHECK: %[[S:.*]] = tensor.extract_slice %[[C]][0, 0, 0, 0] [1, 8, 4, 4] [1, 1, 1, 1]
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[S]] {{\[\[}}0], [1], [2, 3]]
// CHECK: %[[P:.*]] = linalg.generic {{.*}} outs(%[[F]] : tensor<1x8x16xf32>)
// CHECK: %[[X:.*]] = tensor.expand_shape %[[P]]
// CHECK: tensor.insert_slice %[[X]] into %[[C]][0, 0, 0, 0] [1, 8, 4, 4] [1, 1, 1, 1]
// BUF-LABEL: func.func @gemm_part_of_concat
// BUF: %[[A:.*]] = memref.alloc() {{.*}} : memref<1x12x4x4xf32>
// BUF: %[[SV:.*]] = memref.subview %[[A]][0, 0, 0, 0] [1, 8, 4, 4]
// BUF: %[[CS:.*]] = memref.collapse_shape %[[SV]]
// BUF: linalg.generic {{.*}} outs(%[[CS]] :
// BUF-NOT: memref.copy {{.*}} : memref<1x8x4x4xf32
// BUF: return
func.func @gemm_part_of_concat(%w: tensor<8x4xf32>, %x: tensor<1x4x16xf32>, %y: tensor<1x4x4x4xf32>) -> tensor<1x12x4x4xf32> {
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %flat = tensor.collapse_shape %e [[0], [1], [2, 3]] : tensor<1x8x4x4xf32> into tensor<1x8x16xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(n, f, p, c) -> (f, c)>, affine_map<(n, f, p, c) -> (n, c, p)>, affine_map<(n, f, p, c) -> (n, f, p)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %x : tensor<8x4xf32>, tensor<1x4x16xf32>) outs(%flat : tensor<1x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x8x16xf32>
  %part = tensor.expand_shape %p [[0], [1], [2, 3]] output_shape [1, 8, 4, 4] : tensor<1x8x16xf32> into tensor<1x8x4x4xf32>
  %c = tensor.empty() : tensor<1x12x4x4xf32>
  %0 = tensor.insert_slice %part into %c[0, 0, 0, 0] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x4x4xf32> into tensor<1x12x4x4xf32>
  %1 = tensor.insert_slice %y into %0[0, 8, 0, 0] [1, 4, 4, 4] [1, 1, 1, 1] : tensor<1x4x4x4xf32> into tensor<1x12x4x4xf32>
  return %1 : tensor<1x12x4x4xf32>
}

// A producer computed in thread tiles that each cover whole rows and
// columns (a Relu tiled over channels): each tile fills the border of its
// channels next to its interior, on its own thread, and computes into the
// interior; only the dims the tiles split (none here) keep slabs filled
// before. After bufferization nothing is copied.
// CHECK-LABEL: func.func @tiled_relu_then_pad
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x10x10xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.forall (%[[C:.*]]) = (0) to (4) step (2) shared_outs(%[[A:.*]] = %[[E]]) -> (tensor<1x4x10x10xf32>)
// CHECK: %[[T:.*]] = tensor.extract_slice %[[A]][0, %[[C]], 0, 0] [1, 2, 10, 10] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x2x1x10xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x2x1x10xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x2x8x1xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x2x8x1xf32>
// CHECK: %[[I:.*]] = tensor.extract_slice %{{.*}}[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%[[I]] : tensor<1x2x8x8xf32>)
// CHECK: %[[W:.*]] = tensor.insert_slice %[[R]] into %{{.*}}[0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
// CHECK: tensor.parallel_insert_slice %[[W]] into %[[A]][0, %[[C]], 0, 0] [1, 2, 10, 10] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
// BUF-LABEL: func.func @tiled_relu_then_pad
// BUF-NOT: memref.copy
// BUF: scf.forall
// BUF-COUNT-4: linalg.fill
// BUF: linalg.generic
// BUF-NOT: memref.copy
// BUF: return
func.func @tiled_relu_then_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = scf.forall (%c) = (0) to (4) step (2) shared_outs(%o = %e) -> (tensor<1x4x8x8xf32>) {
    %in = tensor.extract_slice %x[0, %c, 0, 0] [1, 2, 8, 8] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<1x2x8x8xf32>
    %init = tensor.extract_slice %o[0, %c, 0, 0] [1, 2, 8, 8] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<1x2x8x8xf32>
    %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%in : tensor<1x2x8x8xf32>) outs(%init : tensor<1x2x8x8xf32>) {
    ^bb0(%a: f32, %b: f32):
      %m = arith.maximumf %a, %zero : f32
      linalg.yield %m : f32
    } -> tensor<1x2x8x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %t into %o[0, %c, 0, 0] [1, 2, 8, 8] [1, 1, 1, 1] : tensor<1x2x8x8xf32> into tensor<1x4x8x8xf32>
    }
  }
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}

// Tiles of whole rows (a Relu tiled over rows): the columns' border is
// filled by the tile next to its rows; the rows' border (the dim the
// tiles split) is filled before, as one slab per side.
// CHECK-LABEL: func.func @row_tiled_relu_then_pad
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x10x10xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x4x1x10xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x4x1x10xf32>
// CHECK: scf.forall (%[[H:.*]]) = (0) to (8) step (4) shared_outs(%[[A:.*]] = %{{.*}}) -> (tensor<1x4x10x10xf32>)
// CHECK: %[[H1:.*]] = arith.addi %[[H]], %c1
// CHECK: tensor.extract_slice %[[A]][0, 0, %[[H1]], 0] [1, 4, 4, 10] [1, 1, 1, 1]
// CHECK: linalg.fill {{.*}} -> tensor<1x4x4x1xf32>
// CHECK: linalg.fill {{.*}} -> tensor<1x4x4x1xf32>
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[A]][0, 0, %[[H1]], 0] [1, 4, 4, 10] [1, 1, 1, 1]
// BUF-LABEL: func.func @row_tiled_relu_then_pad
// BUF-NOT: memref.copy
// BUF: return
func.func @row_tiled_relu_then_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = scf.forall (%h) = (0) to (8) step (4) shared_outs(%o = %e) -> (tensor<1x4x8x8xf32>) {
    %in = tensor.extract_slice %x[0, 0, %h, 0] [1, 4, 4, 8] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<1x4x4x8xf32>
    %init = tensor.extract_slice %o[0, 0, %h, 0] [1, 4, 4, 8] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<1x4x4x8xf32>
    %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%in : tensor<1x4x4x8xf32>) outs(%init : tensor<1x4x4x8xf32>) {
    ^bb0(%a: f32, %b: f32):
      %m = arith.maximumf %a, %zero : f32
      linalg.yield %m : f32
    } -> tensor<1x4x4x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %t into %o[0, 0, %h, 0] [1, 4, 4, 8] [1, 1, 1, 1] : tensor<1x4x4x8xf32> into tensor<1x4x8x8xf32>
    }
  }
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}

// A max pool's result, initialized by a fill of -inf, feeding a padded
// convolution: the fill writes the interior of the padded tensor and the
// pool reduces into it; nothing is copied after bufferization.
// CHECK-LABEL: func.func @pool_then_pad
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x6x6xf32>
// CHECK-COUNT-4: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x4x{{1x6|4x1}}xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0, 1, 1] [1, 4, 4, 4] [1, 1, 1, 1]
// CHECK: %[[I:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[S]] : tensor<1x4x4x4xf32>)
// CHECK: %[[P:.*]] = linalg.pooling_nchw_max {{.*}} outs(%[[I]] : tensor<1x4x4x4xf32>)
// CHECK: tensor.insert_slice %[[P]] into %{{.*}}[0, 0, 1, 1] [1, 4, 4, 4] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
// BUF-LABEL: func.func @pool_then_pad
// BUF-NOT: memref.copy
// BUF: linalg.pooling_nchw_max
// BUF-NOT: memref.copy
// BUF: return
func.func @pool_then_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %w = tensor.empty() : tensor<2x2xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %m = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x8x8xf32>, tensor<2x2xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %p = tensor.pad %m low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x4x4xf32> to tensor<1x4x6x6xf32>
  return %p : tensor<1x4x6x6xf32>
}
