// Elementwise linalg ops on buffers become vector code at the target's
// width: trailing contiguous dims collapsed, the innermost loop by two
// vectors, the remainder in vectors of powers of two.
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-vectorize-elementwise{vector-bits=512}))' | FileCheck %s --check-prefix=AVX512
// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-vectorize-elementwise{vector-bits=256}))' | FileCheck %s --check-prefix=AVX2

// A convolution's epilogue: bias per channel (a [c, 1, 1] buffer), then
// Relu. The 111x111 image is one row of 12321: 385 tiles of 32 and one
// element; the bias is read once per row, before the row's loop.
// AVX512-LABEL: func.func @bias_relu
// AVX512: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] {{.*}} into memref<1x2x12321xf32
// AVX512: scf.for %[[C:[a-z0-9_]+]] = %{{.*}} to %c2 step %{{.*}} {
// AVX512: %[[B:.*]] = memref.load %{{.*}}[%[[C]]] : memref<2xf32
// AVX512: %[[BV:.*]] = vector.broadcast %[[B]] : f32 to vector<32xf32>
// AVX512: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %c12320 step %c32 {
// AVX512: %[[X:.*]] = vector.load %{{.*}}[%{{.*}}, %[[C]], %[[I]]] {{.*}} vector<32xf32>
// AVX512: %[[S:.*]] = arith.addf %[[X]], %[[BV]] : vector<32xf32>
// AVX512: arith.select %{{.*}}, %{{.*}}, %[[S]] : vector<32xi1>, vector<32xf32>
// AVX512: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %[[C]], %[[I]]] {{.*}} vector<32xf32>
// AVX512: vector.load %{{.*}}[%{{.*}}, %[[C]], %c12320{{.*}}] {{.*}} vector<1xf32>
// AVX512-NOT: linalg.generic
// AVX2-LABEL: func.func @bias_relu
// AVX2: scf.for %{{.*}} = %{{.*}} to %c12320 step %c16 {
// AVX2: vector.load {{.*}} vector<16xf32>
// AVX2: vector.load {{.*}} vector<1xf32>
#nchw = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c, 0, 0)>
func.func @bias_relu(%x: memref<1x2x111x111xf32>, %b: memref<2x1x1xf32>, %y: memref<1x2x111x111xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#nchw, #bias, #nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : memref<1x2x111x111xf32>, memref<2x1x1xf32>) outs(%y : memref<1x2x111x111xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %neg = arith.cmpf olt, %s, %zero : f32
    %r = arith.select %neg, %zero, %s : f32
    linalg.yield %r : f32
  }
  return
}

// The epilogue of one register tile (8 rows of 32 inside the tile loops)
// is unrolled: 8 loads, 8 stores, no loop of its own. LLVM then forwards
// the kernel's stores of the tile to its loads. The same op outside a loop
// stays a loop.
// AVX512-LABEL: func.func @tile_epilogue
// AVX512: scf.for
// AVX512-NOT: scf.for
// AVX512-COUNT-8: vector.store %{{.*}} vector<32xf32>
// AVX512-NOT: vector.store
// AVX512: scf.for %{{.*}} = %{{.*}} to %c8{{.*}} step
// AVX512: vector.store %{{.*}} vector<32xf32>
// AVX512: return
func.func @tile_epilogue(%y: memref<8x64xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.for %j = %c0 to %c64 step %c32 {
    %t = memref.subview %y[0, %j] [8, 32] [1, 1] : memref<8x64xf32> to memref<8x32xf32, strided<[64, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
        ins(%b : memref<8xf32>) outs(%t : memref<8x32xf32, strided<[64, 1], offset: ?>>) {
    ^bb0(%bias: f32, %out: f32):
      %s = arith.addf %out, %bias : f32
      linalg.yield %s : f32
    }
  }
  %whole = memref.subview %y[0, 0] [8, 32] [1, 1] : memref<8x64xf32> to memref<8x32xf32, strided<[64, 1]>>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<8xf32>) outs(%whole : memref<8x32xf32, strided<[64, 1]>>) {
  ^bb0(%bias: f32, %out: f32):
    %s = arith.addf %out, %bias : f32
    linalg.yield %s : f32
  }
  return
}

// A thread's rows of a strided view: rows stay rows (they are not
// contiguous with each other); each row of 200 is 6 tiles of 32 and 8.
// AVX512-LABEL: func.func @rows_of_a_view
// AVX512-NOT: memref.collapse_shape
// AVX512: scf.for %{{.*}} = %{{.*}} to %c192 step %c32 {
// AVX512: arith.mulf %{{.*}}, %{{.*}} : vector<32xf32>
// AVX512: arith.mulf %{{.*}}, %{{.*}} : vector<8xf32>
func.func @rows_of_a_view(%x: memref<4x200xf32, strided<[256, 1], offset: ?>>, %y: memref<4x200xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x200xf32, strided<[256, 1], offset: ?>>) outs(%y : memref<4x200xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    linalg.yield %sq : f32
  }
  return
}

// A size known only at run time: whole tiles, then one element at a time.
// AVX512-LABEL: func.func @dynamic_exp
// AVX512: %[[N:.*]] = memref.dim
// AVX512: %[[R:.*]] = arith.remui %[[N]], %c32
// AVX512: %[[M:.*]] = arith.subi %[[N]], %[[R]]
// AVX512: scf.for %{{.*}} = %{{.*}} to %[[M]] step %c32 {
// AVX512: math.exp %{{.*}} : vector<32xf32>
// AVX512: scf.for %{{.*}} = %[[M]] to %[[N]] step %c1{{.*}} {
// AVX512: math.exp %{{.*}} : vector<1xf32>
func.func @dynamic_exp(%x: memref<?xf32>, %y: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : memref<?xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  return
}

// Fills and copies are elementwise too; i8 takes four times the lanes.
// The remainder of 44 bytes is read as 32, 8 and 4.
// AVX512-LABEL: func.func @fill_and_copy
// AVX512: vector.store %{{.*}} : memref<4096xf32>, vector<32xf32>
// AVX512: vector.load {{.*}} : memref<300xi8>, vector<128xi8>
// AVX512: vector.load {{.*}} : memref<300xi8>, vector<32xi8>
// AVX512: vector.load {{.*}} : memref<300xi8>, vector<8xi8>
// AVX512: vector.load {{.*}} : memref<300xi8>, vector<4xi8>
func.func @fill_and_copy(%a: memref<4096xf32>, %x: memref<300xi8>, %y: memref<300xi8>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%a : memref<4096xf32>)
  linalg.copy ins(%x : memref<300xi8>) outs(%y : memref<300xi8>)
  return
}

// The gather of a 3x3 stride-2 convolution: the input is read at
// 2 * ow + kw. Each tile of 32 outputs is a masked load of 64 floats (the
// lanes past the last one kept are masked off: the row may end there)
// and a shuffle that keeps the even lanes; the 56 outputs of a row are
// tiles of 32, 16 and 8.
// AVX512-LABEL: func.func @strided_gather
// AVX512: %[[M:.*]] = arith.constant dense<[true, {{.*}}, true, false]> : vector<64xi1>
// AVX512: %[[W:.*]] = vector.maskedload %{{.*}}[%{{.*}}], %[[M]], %{{.*}} : memref<1x8x113x113xf32>, vector<64xi1>, vector<64xf32> into vector<64xf32>
// AVX512: vector.shuffle %[[W]], %[[W]] [0, 2, 4, {{.*}}, 60, 62] : vector<64xf32>, vector<64xf32>
// AVX512: vector.store %{{.*}} : memref<1x8x3x3x56x56xf32>, vector<32xf32>
// AVX512: vector.maskedload {{.*}} vector<32xf32> into vector<32xf32>
// AVX512: vector.maskedload {{.*}} vector<16xf32> into vector<16xf32>
// AVX512-NOT: linalg.generic
// AVX2-LABEL: func.func @strided_gather
// AVX2: vector.maskedload {{.*}} vector<32xi1>, vector<32xf32> into vector<32xf32>
// AVX2: vector.store %{{.*}} : memref<1x8x3x3x56x56xf32>, vector<16xf32>
func.func @strided_gather(%x: memref<1x8x113x113xf32>, %cols: memref<1x8x3x3x56x56xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, c, kh, kw, oh, ow) -> (n, c, 2 * oh + kh, 2 * ow + kw)>,
                                   affine_map<(n, c, kh, kw, oh, ow) -> (n, c, kh, kw, oh, ow)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x8x113x113xf32>) outs(%cols : memref<1x8x3x3x56x56xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// Reductions along the innermost loop: an accumulator of two vectors across
// each row, its lanes combined once (reassociated), the result's element
// read and written once per row.
// AVX512-LABEL: func.func @row_sum
// AVX512: scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// AVX512: %[[OLD:.*]] = memref.load %{{.*}}[%[[ROW]]] : memref<64xf32>
// AVX512: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<32xf32>)
// AVX512: %[[X:.*]] = vector.load %{{.*}} : memref<64x40xf32>, vector<32xf32>
// AVX512: arith.addf %[[ACC]], %[[X]] : vector<32xf32>
// AVX512: %[[MAIN:.*]] = vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<32xf32> into f32
// AVX512: vector.load %{{.*}} : memref<64x40xf32>, vector<8xf32>
// AVX512: %[[REST:.*]] = vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<8xf32> into f32
// AVX512: %[[ROWSUM:.*]] = arith.addf %[[MAIN]], %[[REST]] : f32
// AVX512: %[[NEW:.*]] = arith.addf %[[OLD]], %[[ROWSUM]] : f32
// AVX512: memref.store %[[NEW]], %{{.*}}[%[[ROW]]] : memref<64xf32>
// AVX512-NOT: linalg.reduce
func.func @row_sum(%x: memref<64x40xf32>, %s: memref<64xf32>) {
  linalg.reduce ins(%x : memref<64x40xf32>) outs(%s : memref<64xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %sum = arith.addf %in, %acc : f32
      linalg.yield %sum : f32
    }
  return
}

// A reduction to one element (the range of a dynamic quantization): every
// loop is collapsed into one row; what is combined may be computed first.
// AVX512-LABEL: func.func @whole_max
// AVX512: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<32xf32>)
// AVX512: %[[A:.*]] = math.absf %{{.*}} : vector<32xf32>
// AVX512: arith.maximumf %[[ACC]], %[[A]] : vector<32xf32>
// AVX512: vector.reduction <maximumf>
// AVX512: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// AVX512-NOT: linalg.generic
func.func @whole_max(%x: memref<4x8x40xf32>, %m: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> ()>],
                  iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%x : memref<4x8x40xf32>) outs(%m : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %a = math.absf %in : f32
    %r = arith.maximumf %out, %a : f32
    linalg.yield %r : f32
  }
  return
}

// A transpose (a direct convolution's [n, sliver, oh, ow, NR] result moved
// into NCHW): the 7x7 positions are collapsed into one dim of 49, copied in
// blocks of one vector per row (3 x 2 blocks of 16 x 16 on AVX-512): each
// block's rows read along the channels, transposed by log2(lanes) rounds
// of shuffles, written along the positions. What fills no block (the 49th
// position) is copied an element at a time.
// AVX512-LABEL: func.func @transpose_blocks
// AVX512: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3], [4]] {{.*}} into memref<1x2x49x32xf32
// AVX512: scf.for %{{.*}} = %{{.*}} to %c48{{(_[0-9]+)?}} step %c16
// AVX512: scf.for %{{.*}} = %{{.*}} to %c32{{(_[0-9]+)?}} step %c16
// AVX512-COUNT-16: vector.load %{{.*}} : memref<1x2x49x32xf32{{.*}}>, vector<16xf32>
// AVX512: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] : vector<16xf32>, vector<16xf32>
// AVX512-COUNT-63: vector.shuffle
// AVX512-COUNT-16: vector.store %{{.*}} : memref<1x2x32x49xf32{{.*}}>, vector<16xf32>
// AVX512: scf.for %{{.*}} = %c48{{(_[0-9]+)?}} to %c49 step %c1
// AVX512: memref.load
// AVX512: memref.store
// AVX512-NOT: linalg.transpose
// AVX2-LABEL: func.func @transpose_blocks
// AVX2: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// AVX2: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xf32>, vector<8xf32>
// AVX2-COUNT-22: vector.shuffle
// AVX2-NOT: vector.shuffle
// AVX2: vector.store
func.func @transpose_blocks(%t: memref<1x2x7x7x32xf32>, %y: memref<1x2x32x7x7xf32>) {
  linalg.transpose ins(%t : memref<1x2x7x7x32xf32>) outs(%y : memref<1x2x32x7x7xf32>) permutation = [0, 1, 4, 2, 3]
  return
}

// The same transpose with the bias and Relu that follow it (kiln-configure
// folds them into one op): each row of a transposed block gets its
// channel's bias, one scalar broadcast, and the body, before it is
// written; the rest an element at a time, the body applied to scalars.
// AVX512-LABEL: func.func @transpose_bias_relu
// AVX512: scf.for %{{.*}} = %{{.*}} to %c48{{(_[0-9]+)?}} step %c16
// AVX512-COUNT-16: vector.load %{{.*}} : memref<1x2x49x32xf32{{.*}}>, vector<16xf32>
// AVX512-COUNT-64: vector.shuffle
// AVX512: memref.load %{{.*}} : memref<2x32xf32>
// AVX512: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// AVX512: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// AVX512: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// AVX512: vector.store %{{.*}} : memref<1x2x32x49xf32{{.*}}>, vector<16xf32>
// AVX512: scf.for %{{.*}} = %c48{{(_[0-9]+)?}} to %c49 step %c1
// AVX512: memref.load
// AVX512: arith.addf %{{.*}}, %{{.*}} : f32
// AVX512: arith.maximumf %{{.*}}, %{{.*}} : f32
// AVX512: memref.store
// AVX512-NOT: linalg.generic
// AVX512: return
#tin = affine_map<(n, b, j, h, w) -> (n, b, h, w, j)>
#tbias = affine_map<(n, b, j, h, w) -> (b, j)>
#tout = affine_map<(n, b, j, h, w) -> (n, b, j, h, w)>
func.func @transpose_bias_relu(%t: memref<1x2x7x7x32xf32>, %bias: memref<2x32xf32>, %y: memref<1x2x32x7x7xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#tin, #tbias, #tout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %bias : memref<1x2x7x7x32xf32>, memref<2x32xf32>) outs(%y : memref<1x2x32x7x7xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// A thread's tile of a transpose, dynamic along the channels (a GEMM's
// [positions, filters] result moved into NCHW, cut into tiles of 342
// filters): its whole blocks are counted at run time, the rest copied an
// element at a time; no element is gathered.
// AVX512-LABEL: func.func @transpose_dynamic_tile
// AVX512: %[[REM:.*]] = arith.remui %[[N:.*]], %c16
// AVX512: %[[MAIN:.*]] = arith.subi %[[N]], %[[REM]]
// AVX512: scf.for %{{.*}} = %{{.*}} to %c48{{(_[0-9]+)?}} step %c16
// AVX512: scf.for %{{.*}} = %{{.*}} to %[[MAIN]] step %c16
// AVX512-COUNT-16: vector.load
// AVX512-COUNT-64: vector.shuffle
// AVX512-COUNT-16: vector.store
// AVX512: scf.for %{{.*}} = %[[MAIN]] to %[[N]] step %c1
// AVX512: memref.load
// AVX512-NOT: vector.gather
// AVX512-NOT: linalg.transpose
// AVX512: return
func.func @transpose_dynamic_tile(%t: memref<1x49x?xf32, strided<[100352, 2048, 1], offset: ?>>,
                                  %y: memref<1x?x49xf32, strided<[100352, 49, 1], offset: ?>>) {
  linalg.transpose ins(%t : memref<1x49x?xf32, strided<[100352, 2048, 1], offset: ?>>)
      outs(%y : memref<1x?x49xf32, strided<[100352, 49, 1], offset: ?>>) permutation = [0, 2, 1]
  return
}

// What stays loops: a transpose too narrow for one block, a boolean result (vectors of i1 are bit-packed, buffers are not),
// a reduction across rows (its innermost loop is parallel), a window
// reduction (kiln-vectorize-windows takes it along its output row).
// AVX512-LABEL: func.func @stays_loops
// AVX512: linalg.generic
// AVX512-SAME: ins(%{{.*}} : memref<64x4xf32>) outs(%{{.*}} : memref<4x64xf32>)
// AVX512: linalg.generic
// AVX512-SAME: ins(%{{.*}} : memref<64xf32>) outs(%{{.*}} : memref<64xi1>)
// AVX512: linalg.reduce
// AVX512: linalg.pooling_nchw_max
func.func @stays_loops(%x: memref<64x32xf32>, %n: memref<64x4xf32>, %t: memref<4x64xf32>, %v: memref<64xf32>, %b: memref<64xi1>, %s: memref<32xf32>,
                       %pin: memref<1x4x32x32xf32>, %pout: memref<1x4x16x16xf32>) {
  linalg.transpose ins(%n : memref<64x4xf32>) outs(%t : memref<4x64xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%v : memref<64xf32>) outs(%b : memref<64xi1>) {
  ^bb0(%in: f32, %out: i1):
    %p = arith.cmpf ogt, %in, %zero : f32
    linalg.yield %p : i1
  }
  linalg.reduce ins(%x : memref<64x32xf32>) outs(%s : memref<32xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %sum = arith.addf %in, %acc : f32
      linalg.yield %sum : f32
    }
  %window = memref.alloc() : memref<2x2xf32>
  linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
      ins(%pin, %window : memref<1x4x32x32xf32>, memref<2x2xf32>) outs(%pout : memref<1x4x16x16xf32>)
  return
}

// An unrolled epilogue right after the stores of the kernel tile before it
// (here two vector stores standing for a register tile's): its reads of
// other buffers (a bias per row) move above those stores, so that nothing
// between a store and the epilogue's load of it may read the output, and
// LLVM forwards the stores and drops those the epilogue overwrites.
// AVX512-LABEL: func.func @epilogue_after_stores
// AVX512: scf.for
// AVX512: %[[B:.*]] = memref.subview %arg1
// AVX512: memref.load %[[B]]
// AVX512: memref.load %[[B]]
// AVX512: vector.store %arg2, %[[T:.*]][%c0, %c0, %c0]
// AVX512: vector.store %arg2, %[[T]][%c0, %c1, %c0]
// AVX512-NOT: memref.load
// AVX512: vector.load %[[T]]
// AVX512: arith.maximumf
// AVX512: vector.store
// AVX512: vector.load %[[T]]
func.func @epilogue_after_stores(%out: memref<4x2x32xf32>, %bias: memref<4x2xf32>, %v: vector<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.subview %out[%i, 0, 0] [1, 2, 32] [1, 1, 1] : memref<4x2x32xf32> to memref<1x2x32xf32, strided<[64, 32, 1], offset: ?>>
    vector.store %v, %t[%c0, %c0, %c0] : memref<1x2x32xf32, strided<[64, 32, 1], offset: ?>>, vector<32xf32>
    vector.store %v, %t[%c0, %c1, %c0] : memref<1x2x32xf32, strided<[64, 32, 1], offset: ?>>, vector<32xf32>
    %b = memref.subview %bias[%i, 0] [1, 2] [1, 1] : memref<4x2xf32> to memref<1x2xf32, strided<[2, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%b : memref<1x2xf32, strided<[2, 1], offset: ?>>) outs(%t : memref<1x2x32xf32, strided<[64, 32, 1], offset: ?>>) {
    ^bb0(%in: f32, %o: f32):
      %s = arith.addf %o, %in : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
    }
  }
  return
}
