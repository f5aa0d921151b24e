// A convolution's epilogue (bias, activation) is computed in the thread
// tiles of its contraction: kiln-configure rewrites it over the
// contraction's flattened positions, reading the product as its own
// output; kiln-tile-parallel tiles it as the contraction's threads are and
// computes the contraction in each tile, into the tile of the result.
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32}))' | FileCheck %s --check-prefix=CONF
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32},kiln-tile-parallel))' | FileCheck %s --check-prefix=TILE
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32},kiln-tile-parallel))' | kiln-opt --kiln-bufferize | FileCheck %s --check-prefix=BUF

// CONF-LABEL: func.func @pointwise_bias_relu
// CONF: %[[E:.*]] = tensor.empty() : tensor<1x96x112x112xf32>
// CONF: %[[D:.*]] = tensor.collapse_shape %[[E]] {{\[\[}}0], [1], [2, 3]] {{.*}} into tensor<1x96x12544xf32>
// CONF: %[[P:.*]] = linalg.generic {{.*}} outs(%[[D]] : tensor<1x96x12544xf32>) {{.*}}kind = "contraction"
// CONF: %[[Y:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<96xf32>) outs(%[[P]] : tensor<1x96x12544xf32>)
// CONF: arith.addf %out, %in
// CONF: tensor.expand_shape %[[Y]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 96, 112, 112]
// TILE-LABEL: func.func @pointwise_bias_relu
// TILE: scf.forall (%[[T:.*]]) = (0) to (12544) step (896) shared_outs(%[[O:.*]] = %{{.*}})
// TILE: %[[S:.*]] = tensor.extract_slice %[[O]][0, 0, %[[T]]] [1, 96, 896]
// TILE: %[[C:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x96x896xf32>) {{.*}}kind = "contraction"
// TILE: %[[R:.*]] = linalg.generic {{.*}} outs(%[[C]] : tensor<1x96x896xf32>)
// TILE: tensor.parallel_insert_slice %[[R]] into %[[O]]
// TILE-NOT: scf.forall
// TILE: return
// BUF-LABEL: func.func @pointwise_bias_relu
// BUF-NOT: memref.alloc
// BUF-NOT: memref.copy
// BUF: return
func.func @pointwise_bias_relu(%x: tensor<1x16x112x112xf32>, %w: tensor<96x16x1x1xf32>, %b: tensor<96xf32>) -> tensor<1x96x112x112xf32> {
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x112x112xf32>
  %1 = kiln.Relu %0 : (tensor<1x96x112x112xf32>) -> tensor<1x96x112x112xf32>
  return %1 : tensor<1x96x112x112xf32>
}

// An output padded for the next convolution keeps its epilogue
// uncollapsed: kiln-pad-in-place has the epilogue write into the padded
// buffer, which the flattened positions cannot. Under a core's L2 (96x56x56,
// 1.2 MB) the epilogue is tiled on its own, reading the product back from
// the cache.
// CONF-LABEL: func.func @pointwise_then_padded
// CONF: linalg.generic {{.*}}kind = "contraction"
// CONF: tensor.expand_shape
// CONF: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// TILE-LABEL: func.func @pointwise_then_padded
// TILE: scf.forall
// TILE: kind = "contraction"
// TILE: scf.forall.in_parallel
// TILE: scf.forall
// TILE-NOT: kind = "contraction"
// TILE: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
func.func @pointwise_then_padded(%x: tensor<1x16x56x56xf32>, %w: tensor<96x16x1x1xf32>, %b: tensor<96xf32>, %w2: tensor<96x96x3x3xf32>) -> tensor<1x96x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x56x56xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x56x56xf32>
  %1 = kiln.Relu %0 : (tensor<1x96x56x56xf32>) -> tensor<1x96x56x56xf32>
  %2 = kiln.Conv %1, %w2, %none {pads = [1, 1, 1, 1]} : (tensor<1x96x56x56xf32>, tensor<96x96x3x3xf32>, none) -> tensor<1x96x56x56xf32>
  return %2 : tensor<1x96x56x56xf32>
}

// The same over an output larger than a core's L2 (96x112x112, 4.8 MB):
// the epilogue is still uncollapsed (it writes the padded buffer), but it
// is tiled as the contraction's threads are, by whole rows (896 positions
// are 8 rows of 112), and each tile computes its slice of the product
// (the slice moved above the expansion) before the epilogue reads it.
// TILE-LABEL: func.func @pointwise_then_padded_large
// TILE-NOT: kind = "contraction"
// TILE: scf.forall (%[[H:.*]]) = (0) to (112) step (8)
// TILE: %[[C:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x96x896xf32>) {{.*}}kind = "contraction"
// TILE: %[[X:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 96, 8, 112]
// TILE: linalg.generic {{.*}} ins(%[[X]], {{.*}} outs(%{{.*}} : tensor<1x96x8x112xf32>)
// TILE: scf.forall.in_parallel
// TILE-NOT: kind = "contraction"
// TILE: tensor.pad
func.func @pointwise_then_padded_large(%x: tensor<1x16x112x112xf32>, %w: tensor<96x16x1x1xf32>, %b: tensor<96xf32>, %w2: tensor<96x1x3x3xf32>) -> tensor<1x96x112x112xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x112x112xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x112x112xf32>
  %1 = kiln.Relu %0 : (tensor<1x96x112x112xf32>) -> tensor<1x96x112x112xf32>
  %2 = kiln.Conv %1, %w2, %none {group = 96 : si64, pads = [1, 1, 1, 1]} : (tensor<1x96x112x112xf32>, tensor<96x1x3x3xf32>, none) -> tensor<1x96x112x112xf32>
  return %2 : tensor<1x96x112x112xf32>
}
