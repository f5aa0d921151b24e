// RUN: kiln-opt %s --kiln-convert-to-linalg | FileCheck %s
// ImageDecoder is two host calls: the first decodes and reports the height
// and width, the code allocates the output at that size, the second fills it.

// CHECK-LABEL: func.func @decode
// CHECK: %[[DIMS:.*]] = memref.alloc() : memref<2xi64>
// CHECK: %[[HANDLE:.*]] = call @kiln_image_decode(%{{.*}}, %{{.*}}) : (memref<?xi8, strided<[?], offset: ?>>, memref<?xi64, strided<[?], offset: ?>>) -> i64
// CHECK: %[[H:.*]] = memref.load %[[DIMS]][%{{.*}}] : memref<2xi64>
// CHECK: %[[HI:.*]] = arith.index_cast %[[H]]
// CHECK: %[[W:.*]] = memref.load %[[DIMS]][%{{.*}}] : memref<2xi64>
// CHECK: %[[WI:.*]] = arith.index_cast %[[W]]
// CHECK: %[[IMG:.*]] = memref.alloc(%[[HI]], %[[WI]]) : memref<?x?x3xi8>
// BGR is pixel format 1.
// CHECK: %[[BGR:.*]] = arith.constant 1 : i64
// CHECK: call @kiln_image_copy(%[[HANDLE]], %[[BGR]], %{{.*}})
// CHECK: bufferization.to_tensor %[[IMG]]
func.func @decode(%x: tensor<?xui8>) -> tensor<?x?x3xui8> {
  %0 = kiln.ImageDecoder %x {pixel_format = "BGR"} : (tensor<?xui8>) -> tensor<?x?x3xui8>
  return %0 : tensor<?x?x3xui8>
}
