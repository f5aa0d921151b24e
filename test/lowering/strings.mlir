// RUN: kiln-opt %s --split-input-file --verify-diagnostics --kiln-convert-to-linalg | FileCheck %s
// Strings are compiled as i64 record addresses; ops that read or make them
// call the runtime's string kernels with memrefs of any rank.

// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%{{.*}}: tensor<?xi64>, %{{.*}}: tensor<1xi64>) -> tensor<?xi64>
// The broadcast operand is copied to the result's shape first.
// CHECK: linalg.generic
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?xi64>
// CHECK: memref.cast %[[OUT]]
// CHECK: call @kiln_string_concat({{.*}}) : (memref<*xi64>, memref<*xi64>, memref<*xi64>) -> ()
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @concat(%x: tensor<?x!kiln.string>, %y: tensor<1x!kiln.string>) -> tensor<?x!kiln.string> {
  %0 = kiln.StringConcat %x, %y : (tensor<?x!kiln.string>, tensor<1x!kiln.string>) -> tensor<?x!kiln.string>
  return %0 : tensor<?x!kiln.string>
}

// Equal on strings compares bytes in a kernel, never addresses.
// CHECK-LABEL: func.func @equal
// CHECK-NOT: arith.cmpi
// CHECK: memref.alloc() : memref<2xi1>
// CHECK: call @kiln_string_equal
func.func @equal(%x: tensor<2x!kiln.string>, %y: tensor<2x!kiln.string>) -> tensor<2xi1> {
  %0 = kiln.Equal %x, %y : (tensor<2x!kiln.string>, tensor<2x!kiln.string>) -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// Stop words travel as one i8 constant of packed records: "a" is an 8-byte
// count and 8 bytes of padded text.
// CHECK-LABEL: func.func @normalize
// CHECK: arith.constant dense<{{.*}}> : tensor<16xi8>
// CHECK: %[[N:.*]] = call @kiln_string_normalize({{.*}}) : (memref<*xi64>, memref<?xi8, {{.*}}>, memref<*xi64>, i64, i64) -> i64
// CHECK: %[[C:.*]] = arith.index_cast %[[N]]
// CHECK: tensor.extract_slice {{.*}}[0, 0] [1, %[[C]]] [1, 1] : tensor<1x?xi64> to tensor<1x?xi64>
func.func @normalize(%x: tensor<1x3x!kiln.string>) -> tensor<1x?x!kiln.string> {
  %0 = kiln.StringNormalizer %x {case_change_action = "UPPER", stopwords = ["a"]} : (tensor<1x3x!kiln.string>) -> tensor<1x?x!kiln.string>
  return %0 : tensor<1x?x!kiln.string>
}

// Two passes: count (the widest split sizes the result), then split.
// CHECK-LABEL: func.func @split
// CHECK: %[[W:.*]] = call @kiln_string_split_count
// CHECK: %[[WI:.*]] = arith.index_cast %[[W]]
// CHECK: memref.alloc(%[[WI]]) : memref<2x?xi64>
// CHECK: call @kiln_string_split({{.*}}, %[[W]])
func.func @split(%x: tensor<2x!kiln.string>) -> (tensor<2x?x!kiln.string>, tensor<2xi64>) {
  %0:2 = kiln.StringSplit %x {delimiter = ","} : (tensor<2x!kiln.string>) -> (tensor<2x?x!kiln.string>, tensor<2xi64>)
  return %0#0, %0#1 : tensor<2x?x!kiln.string>, tensor<2xi64>
}

// Keys are looked up by a kernel; values (with the default last) by a generic.
// CHECK-LABEL: func.func @label_encoder
// CHECK: call @kiln_lookup_strings
// CHECK: arith.constant dense<[7, 8, -1]> : tensor<3xi64>
// CHECK: linalg.generic
// CHECK: arith.select
// CHECK: tensor.extract
func.func @label_encoder(%x: tensor<4x!kiln.string>) -> tensor<4xi64> {
  %0 = kiln.LabelEncoder %x {keys = dense<["a", "b"]> : tensor<2x!kiln.string>, values = dense<[7, 8]> : tensor<2xi64>, default_value = dense<-1> : tensor<1xi64>} : (tensor<4x!kiln.string>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// String constants point into packed records the code carries.
// CHECK-LABEL: func.func @constant
// CHECK: memref.alloc() : memref<2xi64>
// CHECK: call @kiln_strings_from_list
func.func @constant() -> tensor<2x!kiln.string> {
  %0 = kiln.Constant dense<["x", "yz"]> : tensor<2x!kiln.string>
  return %0 : tensor<2x!kiln.string>
}

// -----

// Anything else would compute on addresses.
func.func @add(%x: tensor<2x!kiln.string>) -> tensor<2x!kiln.string> {
  // expected-error @+1 {{Add on strings is not supported}}
  %0 = kiln.Add %x, %x : (tensor<2x!kiln.string>, tensor<2x!kiln.string>) -> tensor<2x!kiln.string>
  return %0 : tensor<2x!kiln.string>
}

// -----

// The pool becomes the kernel's n-gram list: per n-gram its length, its
// column and its items (here only the 2-grams: [5, 6] -> 0, [7, 8] -> 1).
// CHECK-LABEL: func.func @tfidf
// CHECK: arith.constant dense<[2, 0, 5, 6, 2, 1, 7, 8]> : tensor<8xi64>
// CHECK: memref.alloc() : memref<2x4xf32>
// CHECK: call @kiln_tfidf
func.func @tfidf(%x: tensor<2x6xi64>) -> tensor<2x4xf32> {
  %0 = kiln.TfIdfVectorizer %x {max_gram_length = 2 : si64, max_skip_count = 0 : si64, min_gram_length = 2 : si64, mode = "TF", ngram_counts = [0, 2], ngram_indexes = [2, 3, 0, 1], pool_int64s = [1, 2, 5, 6, 7, 8]} : (tensor<2x6xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
