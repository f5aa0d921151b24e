// 8-bit dot products (AVX-512 VNNI): kiln-configure packs the i8 weight of a
// u8 x i8 MatMulInteger into slivers Bp[n / 64][k / 4][n % 64][k % 4] and
// configures "dot-i8" (6x64 register tiles); kiln-lower-contractions turns
// it into vpdpbusd loops. Without the instructions, or with a depth that is
// not a multiple of 4, the product stays a plain generic.
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32 int8-dot-products=1}))' | FileCheck %s --check-prefix=CONFIG
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32 int8-dot-products=0}))' | FileCheck %s --check-prefix=NONE
// RUN: kiln-opt %s --kiln-to-linalg | kiln-opt --pass-pipeline='builtin.module(func.func(kiln-configure{vector-bits=512 vector-registers=32 int8-dot-products=1}))' | kiln-opt --kiln-tile --kiln-bufferize --kiln-vectorize | FileCheck %s --check-prefix=KERNEL

// 70 columns: two slivers of 64 (the second zero-padded), sliced back.
// CONFIG-LABEL: func.func @dot
// CONFIG: %[[BP:.*]] = arith.constant dense<"0x{{.*}}"> : tensor<2x2x64x4xi8>
// CONFIG: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[BP]] : tensor<20x8xi8>, tensor<2x2x64x4xi8>) outs(%{{.*}} : tensor<20x2x64xi32>)
// CONFIG-SAME: kind = "dot-i8"
// CONFIG-SAME: registers = array<i64: 6, 1, 64, 1, 4>
// CONFIG-SAME: kiln.zero_init
// CONFIG-DAG: arith.extui %{{.*}} : i8 to i32
// CONFIG-DAG: arith.extsi %{{.*}} : i8 to i32
// CONFIG: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<20x2x64xi32> into tensor<20x128xi32>
// CONFIG: tensor.extract_slice %{{.*}}[0, 0] [20, 70] [1, 1]
// CONFIG-LABEL: func.func @dot_odd_depth
// CONFIG-NOT: dot-i8
// NONE-NOT: dot-i8

// Per sliver, row tiles of 6 (three, then one of 2 rows): per k step four
// 64-byte loads of the sliver, a 4-byte broadcast per row and 24 vpdpbusd.
// KERNEL-LABEL: func.func @dot
// KERNEL: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<2x2x64x4xi8> into memref<2x2x256xi8>
// KERNEL: scf.for %[[S:.*]] = %c0 to %c2 step %c1 {
// KERNEL: scf.for %[[M:.*]] = %c0 to %c18 step %c6 {
// KERNEL: scf.for %[[K:.*]] = %c0 to %c2 step %c1 iter_args(
// KERNEL-COUNT-4: vector.load %{{.*}}[%[[S]], %[[K]], %{{.*}}] : memref<2x2x256xi8>, vector<64xi8>
// KERNEL: vector.load %{{.*}} : memref<20x8xi8>, vector<4xi8>
// KERNEL: vector.broadcast %{{.*}} : i32 to vector<16xi32>
// KERNEL-COUNT-4: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// KERNEL: vector.store %{{.*}}, %{{.*}}[%[[M]], %[[S]], %c0] : memref<20x2x64xi32>, vector<16xi32>
// KERNEL-COUNT-8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// KERNEL-NOT: llvm.call_intrinsic
// KERNEL-LABEL: func.func @dot_odd_depth

func.func @dot(%a: tensor<20x8xui8>) -> tensor<20x70xi32> {
  %w = kiln.Constant dense<[[-60, -96, 2, -68, 125, 102, 113, 66, -21, -80, 121, -114, 71, 93, -127, 100, 8, -11, -76, 34, -113, -117, -115, -124, 67, -18, 88, -114, -15, 96, 125, -9, 48, -10, -16, 107, 20, -117, 85, -77, -33, 23, -67, 42, 88, -31, 27, 17, 127, 73, -111, 117, -4, 78, 84, -40, 59, 63, -84, 96, -73, -45, 73, 61, 122, -113, 112, -106, 29, 73], [-41, -42, -12, -122, -26, -10, 79, 48, 52, 107, 9, -126, 68, -62, -23, 90, -100, 118, 58, -26, 83, 120, 54, 84, 49, -128, 41, 106, -114, -11, -38, -36, -82, 2, -112, -92, -86, -120, 103, -121, 15, -1, 9, -72, -34, 48, 20, -93, -43, -47, 2, -42, 11, 22, 104, 36, 126, 114, -70, -116, 31, 69, 47, 87, -32, 4, -73, 1, -21, 93], [-118, -13, -119, 75, -54, -110, -46, 100, 90, -16, 102, -14, -113, 74, 36, 90, -98, 24, -64, -20, -104, 28, -92, -89, 30, 24, -47, 85, 1, -62, -124, -109, -17, 107, -41, -109, 65, -26, 49, -78, -23, 93, -29, 124, -75, 71, 23, 127, -120, 38, 77, 16, -119, -48, -26, 39, -59, 45, 91, -19, 8, -79, 66, 48, 120, -8, -95, -108, -85, -60], [-42, -43, -19, 9, 42, 2, 60, 45, 46, -70, 21, -8, 122, -59, -75, 36, -108, 80, -91, 66, -53, -64, 46, -70, 65, -89, -14, -87, 8, 58, 23, -70, 106, 13, -73, -105, 23, -122, -121, -82, 83, -70, -108, -32, -6, 87, -46, -69, 102, -43, -5, -47, -76, 94, 65, 22, 1, 116, 33, -77, -22, 34, -108, -115, -123, 23, 35, 102, 72, 32], [76, -96, -96, 34, 105, -71, 0, -18, 112, 54, 4, -35, -22, 29, -27, -2, 56, -87, 15, -83, 101, -82, 45, -12, 71, 29, -107, 39, -33, 34, 27, -3, 43, -77, -81, -3, -16, -118, -4, 77, -91, 9, -92, -90, -117, -123, 20, 55, 124, 112, -50, -77, 39, -89, -40, -37, -52, -56, 35, 28, -74, 22, -64, -23, -56, -112, 33, -23, -37, 25], [93, -48, -104, -2, 1, -96, 100, 92, 0, 96, 104, -123, 74, 45, -41, 4, 120, -116, 85, -119, -97, 53, -58, -64, -58, 4, 13, 75, 77, -40, -83, -9, 120, -125, -38, 34, 96, -13, -6, 32, 125, 117, -13, 83, 44, 12, -16, -104, -92, 60, -47, -24, 31, 24, 25, 62, -44, 109, -85, -65, 65, -38, -49, 0, 90, -17, -102, 125, 73, 50], [68, -44, -108, -82, 2, -77, 8, -86, -57, -87, 99, -5, 67, 93, 75, -44, 38, 96, -64, 121, -20, -67, 92, 81, -68, 23, 14, -1, 65, -126, -31, 96, -118, -113, -4, 5, -23, -40, 17, -53, -26, 11, 31, 0, 100, -42, 54, 123, 87, -66, -22, 68, -24, 17, -73, -116, -68, -122, 23, -59, -90, 63, 31, 95, 54, 37, -128, -65, 98, 102], [51, 28, 76, 45, 124, -71, 65, 67, -24, -127, 14, -27, 108, 81, 28, -41, 102, -27, 56, -127, 71, 90, 79, 44, -94, 124, -2, 20, -118, 80, -49, 75, 10, -37, -91, -123, 50, 7, 82, 27, -51, 108, 4, 120, -42, 111, -105, 10, -78, 88, -93, 53, -94, 98, -118, -44, -46, -81, 77, 13, 27, -22, -22, -7, 42, 9, -93, -90, 60, 111]]> : tensor<8x70xsi8>
  %0 = kiln.MatMulInteger %a, %w : (tensor<20x8xui8>, tensor<8x70xsi8>) -> tensor<20x70xi32>
  return %0 : tensor<20x70xi32>
}
func.func @dot_odd_depth(%a: tensor<20x6xui8>) -> tensor<20x70xi32> {
  %w = kiln.Constant dense<[[-103, -42, 24, 10, 54, -10, 72, 76, -40, 119, 4, 40, -15, 4, -3, -113, 78, 34, 93, -1, 9, -31, -91, -44, 99, -53, 6, 107, -45, -58, -58, 97, 56, 30, 77, -5, -69, -23, 28, -94, -74, -12, 75, 36, 124, -77, -33, -105, -100, -117, -18, -111, 125, 98, 47, 12, -68, -40, -80, -15, 76, -9, 125, 102, 65, -42, -10, -8, 17, 108], [71, -20, 103, 4, 41, 126, -72, -19, -88, -105, -121, -126, 117, 35, 68, 19, -28, 76, -47, -51, -113, -121, 70, -54, -99, 66, 2, -62, -88, 108, 27, -121, -110, -97, -62, -107, 12, -68, 93, -82, -31, -114, 127, -62, 14, -30, 101, 71, 40, 9, 5, -4, -3, -98, -39, 51, 91, -97, 52, 83, -26, 89, -93, 8, -91, 0, -38, -79, -51, -98], [-24, 91, -106, -101, -82, 112, 61, -78, 32, -108, -64, -112, 98, -63, 74, 100, -116, 10, -82, 0, 38, -85, 26, -111, 68, -99, 5, 32, -62, 5, 66, -69, 27, -80, 89, -3, -23, 41, 45, 72, 118, -75, -62, 101, -113, 21, -48, -26, 61, 71, 38, -79, 81, 48, -64, -95, -106, 25, 32, 85, 24, 35, 52, 11, 38, -124, -66, -52, 34, 38], [39, -93, 103, 15, 117, 104, 58, 66, -88, -100, -60, -104, 123, 0, -3, 45, 57, 61, 78, 29, 109, 46, -43, -114, -53, 0, -15, -60, -71, -34, 82, -103, -78, 8, -74, -24, 5, -94, -88, -91, -17, -40, 93, -117, 60, 121, 17, -16, -26, 124, -8, 89, 103, 59, -32, 118, -91, 3, 80, -25, -124, 66, 121, -89, 78, 89, -108, 52, 106, -125], [-31, 25, -126, -67, 26, 33, 16, 82, 81, 29, 103, 26, -61, 99, -57, -45, 1, -124, 89, -110, 60, 87, 77, 16, -119, -82, -82, -126, 68, 9, 109, 11, 62, 118, 44, 70, 105, -69, 119, 53, -54, 84, -53, -119, -40, 5, 60, -63, 19, 83, 4, 19, 87, 12, 93, 43, 120, -18, 123, 77, 89, -82, -96, -62, -23, -52, -11, -115, -76, 1], [-49, 117, -78, 76, -33, -127, -83, 90, -102, -17, 88, 49, -104, -76, 86, -68, 7, 14, -37, 117, -104, -19, -84, 71, -65, 101, 22, 126, 73, -69, 117, -74, -52, 69, -25, -43, 3, 85, 19, 124, -19, 44, 120, -76, -124, 49, 8, -100, 97, 25, -77, -11, 12, 10, -2, 82, -53, -62, 3, -29, 80, -99, -52, 83, 10, 15, 117, 28, 8, 123]]> : tensor<6x70xsi8>
  %0 = kiln.MatMulInteger %a, %w : (tensor<20x6xui8>, tensor<6x70xsi8>) -> tensor<20x70xi32>
  return %0 : tensor<20x70xi32>
}
