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
// TILE: scf.forall (%[[T:.*]]) = (0) to (12544) step (448) shared_outs(%[[O:.*]] = %{{.*}})
// TILE: %[[S:.*]] = tensor.extract_slice %[[O]][0, 0, %[[T]]] [1, 96, 448]
// TILE: %[[C:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x96x448xf32>) {{.*}}kind = "contraction"
// TILE: %[[R:.*]] = linalg.generic {{.*}} outs(%[[C]] : tensor<1x96x448xf32>)
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

// An output padded for the next convolution keeps its epilogue apart:
// kiln-pad-in-place has the epilogue write into the padded buffer, which
// the flattened positions cannot.
// CONF-LABEL: func.func @pointwise_then_padded
// CONF: linalg.generic {{.*}}kind = "contraction"
// CONF: tensor.expand_shape
// CONF: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]
func.func @pointwise_then_padded(%x: tensor<1x16x56x56xf32>, %w: tensor<96x16x1x1xf32>, %b: tensor<96xf32>, %w2: tensor<96x96x3x3xf32>) -> tensor<1x96x56x56xf32> {
  %none = kiln.none
  %0 = kiln.Conv %x, %w, %b : (tensor<1x16x56x56xf32>, tensor<96x16x1x1xf32>, tensor<96xf32>) -> tensor<1x96x56x56xf32>
  %1 = kiln.Relu %0 : (tensor<1x96x56x56xf32>) -> tensor<1x96x56x56xf32>
  %2 = kiln.Conv %1, %w2, %none {pads = [1, 1, 1, 1]} : (tensor<1x96x56x56xf32>, tensor<96x96x3x3xf32>, none) -> tensor<1x96x56x56xf32>
  return %2 : tensor<1x96x56x56xf32>
}
