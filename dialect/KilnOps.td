//===- KilnOps.td - ONNX operators of the Kiln dialect ---------*- tablegen -*-===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "dialect/KilnDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// Results are typed by the shape rules in ShapeInference.cpp; before they run
// a result may be unranked.
class Kiln_UnaryOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure])> {
  let arguments = (ins AnyTensor:$X);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "$X attr-dict `:` functional-type(operands, results)";
}

class Kiln_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure])> {
  let summary = "elementwise binary op with ONNX multidirectional broadcasting";
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$C);
  let assemblyFormat = "$A `,` $B attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

class Kiln_VariadicOp<string mnemonic> : Kiln_Op<mnemonic, [Pure]> {
  let summary = "elementwise op over any number of broadcast inputs";
  let arguments = (ins Variadic<AnyTensor>:$inputs);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Structural
//===----------------------------------------------------------------------===//

def Kiln_NoneOp : Kiln_Op<"none", [Pure]> {
  let summary = "marks an absent optional input";
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

def Kiln_ConstantOp : Kiln_Op<"Constant", [Pure, AllTypesMatch<["value", "output"]>]> {
  let summary = "a constant tensor (ONNX Constant and graph initializers)";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasVerifier = 1;
}

def Kiln_IdentityOp : Kiln_UnaryOp<"Identity">;

def Kiln_CastOp : Kiln_Op<"Cast", [Pure]> {
  let summary = "element type conversion; the target is the result's element type";
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<SI64Attr, "1">:$saturate,
                   DefaultValuedAttr<StrAttr, "\"up\"">:$round_mode);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_BitCastOp : Kiln_Op<"BitCast", [Pure]> {
  let summary = "reinterprets each element's bits as the result's element type (same width)";
  let arguments = (ins AnyTensor:$input);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise math
//===----------------------------------------------------------------------===//

def Kiln_AddOp : Kiln_BinaryOp<"Add">;
def Kiln_SubOp : Kiln_BinaryOp<"Sub">;
def Kiln_MulOp : Kiln_BinaryOp<"Mul">;
def Kiln_DivOp : Kiln_BinaryOp<"Div">;
def Kiln_PowOp : Kiln_BinaryOp<"Pow">;
def Kiln_ModOp : Kiln_BinaryOp<"Mod"> {
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, DefaultValuedAttr<SI64Attr, "0">:$fmod);
}
def Kiln_EqualOp : Kiln_BinaryOp<"Equal">;
def Kiln_LessOp : Kiln_BinaryOp<"Less">;
def Kiln_LessOrEqualOp : Kiln_BinaryOp<"LessOrEqual">;
def Kiln_GreaterOp : Kiln_BinaryOp<"Greater">;
def Kiln_GreaterOrEqualOp : Kiln_BinaryOp<"GreaterOrEqual">;
def Kiln_AndOp : Kiln_BinaryOp<"And">;
def Kiln_OrOp : Kiln_BinaryOp<"Or">;
def Kiln_XorOp : Kiln_BinaryOp<"Xor">;

def Kiln_MaxOp : Kiln_VariadicOp<"Max">;
def Kiln_MinOp : Kiln_VariadicOp<"Min">;
def Kiln_SumOp : Kiln_VariadicOp<"Sum">;
def Kiln_MeanOp : Kiln_VariadicOp<"Mean">;

def Kiln_NegOp : Kiln_UnaryOp<"Neg">;
def Kiln_AbsOp : Kiln_UnaryOp<"Abs">;
def Kiln_ReluOp : Kiln_UnaryOp<"Relu">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"Sigmoid">;
def Kiln_TanhOp : Kiln_UnaryOp<"Tanh">;
def Kiln_ExpOp : Kiln_UnaryOp<"Exp">;
def Kiln_LogOp : Kiln_UnaryOp<"Log">;
def Kiln_SqrtOp : Kiln_UnaryOp<"Sqrt">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"Reciprocal">;
def Kiln_FloorOp : Kiln_UnaryOp<"Floor">;
def Kiln_CeilOp : Kiln_UnaryOp<"Ceil">;
def Kiln_NotOp : Kiln_UnaryOp<"Not">;
def Kiln_SinOp : Kiln_UnaryOp<"Sin">;
def Kiln_CosOp : Kiln_UnaryOp<"Cos">;
def Kiln_ErfOp : Kiln_UnaryOp<"Erf">;
def Kiln_SoftplusOp : Kiln_UnaryOp<"Softplus">;
def Kiln_SoftsignOp : Kiln_UnaryOp<"Softsign">;
def Kiln_SignOp : Kiln_UnaryOp<"Sign">;

def Kiln_AcosOp : Kiln_UnaryOp<"Acos">;
def Kiln_AsinOp : Kiln_UnaryOp<"Asin">;
def Kiln_AtanOp : Kiln_UnaryOp<"Atan">;
def Kiln_TanOp : Kiln_UnaryOp<"Tan">;
def Kiln_SinhOp : Kiln_UnaryOp<"Sinh">;
def Kiln_CoshOp : Kiln_UnaryOp<"Cosh">;
def Kiln_AsinhOp : Kiln_UnaryOp<"Asinh">;
def Kiln_AcoshOp : Kiln_UnaryOp<"Acosh">;
def Kiln_AtanhOp : Kiln_UnaryOp<"Atanh">;
def Kiln_RoundOp : Kiln_UnaryOp<"Round">;
def Kiln_IsNaNOp : Kiln_UnaryOp<"IsNaN">;
def Kiln_HardSwishOp : Kiln_UnaryOp<"HardSwish">;
def Kiln_MishOp : Kiln_UnaryOp<"Mish">;
def Kiln_BitwiseNotOp : Kiln_UnaryOp<"BitwiseNot">;
def Kiln_IsInfOp : Kiln_UnaryOp<"IsInf"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<SI64Attr, "1">:$detect_negative,
                   DefaultValuedAttr<SI64Attr, "1">:$detect_positive);
}
def Kiln_CeluOp : Kiln_UnaryOp<"Celu"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "1.0f">:$alpha);
}
def Kiln_ThresholdedReluOp : Kiln_UnaryOp<"ThresholdedRelu"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "1.0f">:$alpha);
}
def Kiln_ShrinkOp : Kiln_UnaryOp<"Shrink"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.0f">:$bias,
                   DefaultValuedAttr<F32Attr, "0.5f">:$lambd);
}
def Kiln_GeluOp : Kiln_UnaryOp<"Gelu"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<StrAttr, "\"none\"">:$approximate);
}
def Kiln_PReluOp : Kiln_BinaryOp<"PRelu">;
def Kiln_BitwiseAndOp : Kiln_BinaryOp<"BitwiseAnd">;
def Kiln_BitwiseOrOp : Kiln_BinaryOp<"BitwiseOr">;
def Kiln_BitwiseXorOp : Kiln_BinaryOp<"BitwiseXor">;
def Kiln_BitShiftOp : Kiln_BinaryOp<"BitShift"> {
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, StrAttr:$direction);
}

def Kiln_LeakyReluOp : Kiln_UnaryOp<"LeakyRelu"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.01f">:$alpha);
}
def Kiln_EluOp : Kiln_UnaryOp<"Elu"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "1.0f">:$alpha);
}
def Kiln_HardSigmoidOp : Kiln_UnaryOp<"HardSigmoid"> {
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.2f">:$alpha,
                   DefaultValuedAttr<F32Attr, "0.5f">:$beta);
}
def Kiln_SeluOp : Kiln_UnaryOp<"Selu"> {
  let arguments = (ins AnyTensor:$X,
                   DefaultValuedAttr<F32Attr, "1.67326319217681884765625f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.05070102214813232421875f">:$gamma);
}

def Kiln_ClipOp : Kiln_Op<"Clip", [Pure]> {
  let summary = "clamps to [min, max]; an absent bound does not clamp";
  let arguments = (ins AnyTensor:$input, Kiln_TensorOrNone:$min, Kiln_TensorOrNone:$max);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"MatMul", [Pure]> {
  let summary = "numpy matmul: batched, broadcasting, 1-D operands promoted";
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "$A `,` $B attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_MatMulIntegerOp : Kiln_Op<"MatMulInteger", [Pure]> {
  let summary = "8-bit integer matmul with 32-bit sums, zero points of 0";
  let description = [{
    ONNX MatMulInteger whose zero points are 0 (the importer centres the
    operands itself): A (..., M, K) by a 2-D B (K, N), each element widened
    by its own type's signedness (ui8 zero-extended, si8 sign-extended) and
    the products summed in i32. The importer emits it where the target has
    8-bit dot-product instructions, with a constant B.
  }];
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "$A `,` $B attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_GemmOp : Kiln_Op<"Gemm", [Pure]> {
  let summary = "alpha * op(A) * op(B) + beta * C";
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, Kiln_TensorOrNone:$C,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                   DefaultValuedAttr<SI64Attr, "0">:$transA,
                   DefaultValuedAttr<SI64Attr, "0">:$transB);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

// Spatial attributes shared by Conv and the pools. Empty arrays mean the
// spec's default (all ones, all zeros, inferred kernel).
class Kiln_SpatialOp<string mnemonic, dag extraArgs>
    : Kiln_Op<mnemonic, [Pure]> {
  let arguments = !con(extraArgs, (ins
      DefaultValuedAttr<StrAttr, "\"NOTSET\"">:$auto_pad,
      DefaultValuedAttr<I64ArrayAttr, "{}">:$dilations,
      DefaultValuedAttr<I64ArrayAttr, "{}">:$kernel_shape,
      DefaultValuedAttr<I64ArrayAttr, "{}">:$pads,
      DefaultValuedAttr<I64ArrayAttr, "{}">:$strides));
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ConvOp : Kiln_SpatialOp<"Conv", (ins AnyTensor:$X, AnyTensor:$W,
    Kiln_TensorOrNone:$B, DefaultValuedAttr<SI64Attr, "1">:$group)>;
def Kiln_MaxPoolOp : Kiln_SpatialOp<"MaxPool", (ins AnyTensor:$X,
    DefaultValuedAttr<SI64Attr, "0">:$ceil_mode,
    DefaultValuedAttr<SI64Attr, "0">:$storage_order)>;
def Kiln_AveragePoolOp : Kiln_SpatialOp<"AveragePool", (ins AnyTensor:$X,
    DefaultValuedAttr<SI64Attr, "0">:$ceil_mode,
    DefaultValuedAttr<SI64Attr, "0">:$count_include_pad)>;

def Kiln_GlobalAveragePoolOp : Kiln_UnaryOp<"GlobalAveragePool"> {
  let hasVerifier = 1;
}
def Kiln_GlobalMaxPoolOp : Kiln_UnaryOp<"GlobalMaxPool"> {
  let hasVerifier = 1;
}

def Kiln_BatchNormalizationOp : Kiln_Op<"BatchNormalization", [Pure]> {
  let summary = "inference-mode batch normalization";
  let arguments = (ins AnyTensor:$X, AnyTensor:$scale, AnyTensor:$B,
                   AnyTensor:$input_mean, AnyTensor:$input_var,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                   DefaultValuedAttr<F32Attr, "0.9f">:$momentum,
                   DefaultValuedAttr<SI64Attr, "0">:$training_mode);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_LRNOp : Kiln_Op<"LRN", [Pure]> {
  let summary = "local response normalization across channels";
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.0001f">:$alpha,
                   DefaultValuedAttr<F32Attr, "0.75f">:$beta,
                   DefaultValuedAttr<F32Attr, "1.0f">:$bias, SI64Attr:$size);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "$X attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_Op<"Softmax", [Pure]> {
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<SI64Attr, "-1">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}
def Kiln_LogSoftmaxOp : Kiln_Op<"LogSoftmax", [Pure]> {
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<SI64Attr, "-1">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

def Kiln_FlattenOp : Kiln_Op<"Flatten", [Pure]> {
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<SI64Attr, "1">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ReshapeOp : Kiln_Op<"Reshape", [Pure]> {
  let arguments = (ins AnyTensor:$data, AnyTensor:$shape,
                   DefaultValuedAttr<SI64Attr, "0">:$allowzero);
  let results = (outs AnyTensor:$reshaped);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_TransposeOp : Kiln_Op<"Transpose", [Pure]> {
  let summary = "permutes axes; an empty perm reverses them";
  let arguments = (ins AnyTensor:$data, DefaultValuedAttr<I64ArrayAttr, "{}">:$perm);
  let results = (outs AnyTensor:$transposed);
  let assemblyFormat = "$data attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ConcatOp : Kiln_Op<"Concat", [Pure]> {
  let arguments = (ins Variadic<AnyTensor>:$inputs, SI64Attr:$axis);
  let results = (outs AnyTensor:$concat_result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_UnsqueezeOp : Kiln_Op<"Unsqueeze", [Pure]> {
  let arguments = (ins AnyTensor:$data, AnyTensor:$axes);
  let results = (outs AnyTensor:$expanded);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_SqueezeOp : Kiln_Op<"Squeeze", [Pure]> {
  let arguments = (ins AnyTensor:$data, Kiln_TensorOrNone:$axes);
  let results = (outs AnyTensor:$squeezed);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_ShapeOp : Kiln_Op<"Shape", [Pure]> {
  let arguments = (ins AnyTensor:$data, DefaultValuedAttr<SI64Attr, "0">:$start,
                   OptionalAttr<SI64Attr>:$end);
  let results = (outs AnyTensor:$shape);
  let assemblyFormat = "$data attr-dict `:` functional-type(operands, results)";
}

// Reductions share one form: axes as an optional input (opset 18), all axes
// when absent unless noop_with_empty_axes.
class Kiln_ReduceOp<string mnemonic> : Kiln_Op<mnemonic, [Pure]> {
  let arguments = (ins AnyTensor:$data, Kiln_TensorOrNone:$axes,
                   DefaultValuedAttr<SI64Attr, "1">:$keepdims,
                   DefaultValuedAttr<SI64Attr, "0">:$noop_with_empty_axes);
  let results = (outs AnyTensor:$reduced);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"ReduceSum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"ReduceMean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"ReduceMax">;
def Kiln_ReduceMinOp : Kiln_ReduceOp<"ReduceMin">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"ReduceProd">;
def Kiln_ReduceL1Op : Kiln_ReduceOp<"ReduceL1">;
def Kiln_ReduceL2Op : Kiln_ReduceOp<"ReduceL2">;
def Kiln_ReduceLogSumOp : Kiln_ReduceOp<"ReduceLogSum">;
def Kiln_ReduceLogSumExpOp : Kiln_ReduceOp<"ReduceLogSumExp">;
def Kiln_ReduceSumSquareOp : Kiln_ReduceOp<"ReduceSumSquare">;

class Kiln_CumulativeOp<string name> : Kiln_Op<name, [Pure]> {
  let summary = "running " # name # " along the axis given by a constant operand";
  let arguments = (ins AnyTensor:$x, AnyTensor:$axis,
                   DefaultValuedAttr<SI64Attr, "0">:$exclusive,
                   DefaultValuedAttr<SI64Attr, "0">:$reverse);
  let results = (outs AnyTensor:$y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}
def Kiln_CumSumOp : Kiln_CumulativeOp<"CumSum">;
def Kiln_CumProdOp : Kiln_CumulativeOp<"CumProd">;

def Kiln_EinsumOp : Kiln_Op<"Einsum", [Pure]> {
  let summary = "sum of products over the labels of an Einstein summation equation";
  let arguments = (ins Variadic<AnyTensor>:$inputs, StrAttr:$equation);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def Kiln_ScatterElementsOp : Kiln_Op<"ScatterElements", [Pure]> {
  let summary = "data with updates written (or combined) at indices along an axis";
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices, AnyTensor:$updates,
                   DefaultValuedAttr<SI64Attr, "0">:$axis,
                   DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ScatterNDOp : Kiln_Op<"ScatterND", [Pure]> {
  let summary = "data with update slices written (or combined) at index tuples";
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices, AnyTensor:$updates,
                   DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RangeOp : Kiln_Op<"Range", [Pure]> {
  let summary = "start, start + delta, ... up to (not including) limit";
  let description = [{ Scalars computed at run time (the importer folds
    constant ones): the length, max(ceil((limit - start) / delta), 0), is
    known only when the code runs. }];
  let arguments = (ins AnyTensor:$start, AnyTensor:$limit, AnyTensor:$delta);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_NonMaxSuppressionOp : Kiln_Op<"NonMaxSuppression", [Pure]> {
  let summary = "greedy per-class box selection by score and IoU";
  let description = [{ Result (count, 3) int64 rows (batch, class, box);
    count is known only when the code runs. Optional scalars may be none. }];
  let arguments = (ins AnyTensor:$boxes, AnyTensor:$scores,
                   Kiln_TensorOrNone:$max_output_boxes_per_class,
                   Kiln_TensorOrNone:$iou_threshold, Kiln_TensorOrNone:$score_threshold,
                   DefaultValuedAttr<SI64Attr, "0">:$center_point_box);
  let results = (outs AnyTensor:$selected_indices);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_UniqueSlicesOp : Kiln_Op<"UniqueSlices", [Pure]> {
  let summary = "distinct slices x[:, j, :] of a 3-D view: first indices, inverse, counts";
  let description = [{ The importer views ONNX Unique's input as (outer, n,
    inner) around its axis (or flattened) and gathers the values itself.
    `first` and `counts` have one entry per distinct slice (known only when
    the code runs), `inverse` one per j. }];
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<SI64Attr, "1">:$sorted);
  let results = (outs AnyTensor:$first, AnyTensor:$inverse, AnyTensor:$counts);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_NonZeroOp : Kiln_Op<"NonZero", [Pure]> {
  let summary = "coordinates of the non-zero elements, one column each, in row-major order";
  let description = [{ The result is (rank, count) int64; count is known only
    when the code runs, so the compiled code sizes the result itself. }];
  let arguments = (ins AnyTensor:$X);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_TopKOp : Kiln_Op<"TopK", [Pure]> {
  let summary = "the K largest (or smallest) elements along an axis and their indices";
  let arguments = (ins AnyTensor:$X, AnyTensor:$K, DefaultValuedAttr<SI64Attr, "-1">:$axis,
                   DefaultValuedAttr<SI64Attr, "1">:$largest,
                   DefaultValuedAttr<SI64Attr, "1">:$sorted);
  let results = (outs AnyTensor:$Values, AnyTensor:$Indices);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_GridSampleOp : Kiln_Op<"GridSample", [Pure]> {
  let summary = "samples X at the normalized positions of grid (2-D or 3-D)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$grid,
                   DefaultValuedAttr<SI64Attr, "0">:$align_corners,
                   DefaultValuedAttr<StrAttr, "\"linear\"">:$mode,
                   DefaultValuedAttr<StrAttr, "\"zeros\"">:$padding_mode);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RoiAlignOp : Kiln_Op<"RoiAlign", [Pure]> {
  let summary = "bilinear average or max pooling of X over each region of interest";
  let arguments = (ins AnyTensor:$X, AnyTensor:$rois, AnyTensor:$batch_indices,
                   DefaultValuedAttr<StrAttr, "\"half_pixel\"">:$coordinate_transformation_mode,
                   DefaultValuedAttr<StrAttr, "\"avg\"">:$mode,
                   DefaultValuedAttr<SI64Attr, "1">:$output_height,
                   DefaultValuedAttr<SI64Attr, "1">:$output_width,
                   DefaultValuedAttr<SI64Attr, "0">:$sampling_ratio,
                   DefaultValuedAttr<F32Attr, "1.0">:$spatial_scale);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_WhereOp : Kiln_Op<"Where", [Pure]> {
  let summary = "elementwise select with multidirectional broadcasting";
  let arguments = (ins AnyTensor:$condition, AnyTensor:$X, AnyTensor:$Y);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SliceOp : Kiln_Op<"Slice", [Pure]> {
  let summary = "strided slice; starts, ends, axes and steps are inputs (opset 10+)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$starts, AnyTensor:$ends,
                   Kiln_TensorOrNone:$axes, Kiln_TensorOrNone:$steps);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_TriluOp : Kiln_Op<"Trilu", [Pure]> {
  let summary = "keeps the upper or lower triangle of the last two dims, offset by k";
  let arguments = (ins AnyTensor:$input, Kiln_TensorOrNone:$k,
                   DefaultValuedAttr<SI64Attr, "1">:$upper);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

class Kiln_ArgOp<string mnemonic> : Kiln_Op<mnemonic, [Pure]> {
  let arguments = (ins AnyTensor:$data, DefaultValuedAttr<SI64Attr, "0">:$axis,
                   DefaultValuedAttr<SI64Attr, "1">:$keepdims,
                   DefaultValuedAttr<SI64Attr, "0">:$select_last_index);
  let results = (outs AnyTensor:$reduced);
  let assemblyFormat = "$data attr-dict `:` functional-type(operands, results)";
}
def Kiln_ArgMaxOp : Kiln_ArgOp<"ArgMax">;
def Kiln_ArgMinOp : Kiln_ArgOp<"ArgMin">;

def Kiln_LayerNormalizationOp : Kiln_Op<"LayerNormalization", [Pure]> {
  let summary = "normalizes over dims axis..rank-1; also returns mean and 1/stddev";
  let arguments = (ins AnyTensor:$X, AnyTensor:$Scale, Kiln_TensorOrNone:$B,
                   DefaultValuedAttr<SI64Attr, "-1">:$axis,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                   DefaultValuedAttr<SI64Attr, "1">:$stash_type);
  let results = (outs AnyTensor:$Y, AnyTensor:$Mean, AnyTensor:$InvStdDev);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_RMSNormalizationOp : Kiln_Op<"RMSNormalization", [Pure]> {
  let summary = "x / sqrt(mean(x^2 over axis..rank-1) + epsilon) * scale";
  let arguments = (ins AnyTensor:$X, AnyTensor:$scale,
                   DefaultValuedAttr<SI64Attr, "-1">:$axis,
                   DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                   DefaultValuedAttr<SI64Attr, "1">:$stash_type);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_GatherOp : Kiln_Op<"Gather", [Pure]> {
  let summary = "takes slices of data along axis at the given indices (negative from the end)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices, DefaultValuedAttr<SI64Attr, "0">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_ExpandOp : Kiln_Op<"Expand", [Pure]> {
  let summary = "broadcasts input to the shape (multidirectionally)";
  let arguments = (ins AnyTensor:$input, AnyTensor:$shape);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_SplitOp : Kiln_Op<"Split", [Pure]> {
  let summary = "splits along axis into pieces of the given sizes";
  let description = [{ The importer resolves ONNX's split input, split
    attribute or num_outputs into `sizes`, one per result; -1 sizes (all of
    them) split an axis known only at run time into pieces of ceil(D / n),
    the last one shorter. }];
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<SI64Attr, "0">:$axis,
                   I64ArrayAttr:$sizes);
  let results = (outs Variadic<AnyTensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Kiln_GatherElementsOp : Kiln_Op<"GatherElements", [Pure]> {
  let summary = "out[i] = data[i with its axis coordinate replaced by indices[i]]";
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices, DefaultValuedAttr<SI64Attr, "0">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_PadOp : Kiln_Op<"Pad", [Pure]> {
  let summary = "pads (constant, reflect, edge or wrap); pads and axes are inputs (opset 18)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$pads, Kiln_TensorOrNone:$constant_value,
                   Kiln_TensorOrNone:$axes, DefaultValuedAttr<StrAttr, "\"constant\"">:$mode);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Kiln_NegativeLogLikelihoodLossOp : Kiln_Op<"NegativeLogLikelihoodLoss", [Pure]> {
  let summary = "-input[n, target[n, d...], d...] * weight[target], reduced";
  let arguments = (ins AnyTensor:$input, AnyTensor:$target, Kiln_TensorOrNone:$weight,
                   DefaultValuedAttr<StrAttr, "\"mean\"">:$reduction,
                   OptionalAttr<SI64Attr>:$ignore_index);
  let results = (outs AnyTensor:$loss);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Strings. Each runs as a host kernel (runtime/StringKernels.cpp).
//===----------------------------------------------------------------------===//

def Kiln_StringConcatOp : Kiln_Op<"StringConcat", [Pure]> {
  let summary = "elementwise concatenation with ONNX broadcasting";
  let arguments = (ins AnyTensor:$X, AnyTensor:$Y);
  let results = (outs AnyTensor:$Z);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RegexFullMatchOp : Kiln_Op<"RegexFullMatch", [Pure]> {
  let summary = "whether each string fully matches an RE2 pattern";
  let arguments = (ins AnyTensor:$X, StrAttr:$pattern);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_StringNormalizerOp : Kiln_Op<"StringNormalizer", [Pure]> {
  let summary = "drops stop words from a [C] or [1, C] string tensor and changes case";
  let description = [{ The result keeps the input's rank; its last dim is
    the number of strings left (known only when the code runs), at least 1:
    when every string is dropped the result is one empty string. }];
  let arguments = (ins AnyTensor:$X,
                   DefaultValuedAttr<StrAttr, "\"NONE\"">:$case_change_action,
                   DefaultValuedAttr<SI64Attr, "0">:$is_case_sensitive,
                   DefaultValuedAttr<StrArrayAttr, "{}">:$stopwords);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_StringSplitOp : Kiln_Op<"StringSplit", [Pure]> {
  let summary = "splits each string on a delimiter (empty: on whitespace runs)";
  let description = [{ `Y` has the input's shape plus a last dim as wide as
    the longest split (known only when the code runs), padded with empty
    strings; `Z` counts the substrings of each element. A negative
    `maxsplit` splits without limit. }];
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<StrAttr, "\"\"">:$delimiter,
                   DefaultValuedAttr<SI64Attr, "-1">:$maxsplit);
  let results = (outs AnyTensor:$Y, AnyTensor:$Z);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RandomOp : Kiln_Op<"Random"> {
  let summary = "samples of a uniform or a normal distribution";
  let description = [{ The result has `shape`, or `like`'s shape when `like`
    is a tensor (the *Like ops). Uniform samples lie in [a, b); normal ones
    have mean a and standard deviation b. With `seed`, every run draws the
    same values; without it, each run draws new ones (so the op is not
    Pure: two of them are never merged). f32 or f64 elements. }];
  let arguments = (ins Kiln_TensorOrNone:$like, StrAttr:$distribution, F64Attr:$a, F64Attr:$b,
                   OptionalAttr<F64Attr>:$seed, OptionalAttr<I64ArrayAttr>:$shape,
                   TypeAttr:$element);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ImageDecoderOp : Kiln_Op<"ImageDecoder", [Pure]> {
  let summary = "decodes a BMP, JPEG, JPEG 2000, TIFF, PNG, WebP or netpbm stream";
  let description = [{ The encoded bytes (1-D uint8) become an (H, W, C)
    uint8 image, H and W known only when the code runs; C is 3 for "RGB" and
    "BGR", 1 for "Grayscale". A stream that cannot be decoded gives an empty
    (0, 0, C) image, as the ONNX spec asks. }];
  let arguments = (ins AnyTensor:$encoded_stream,
                   DefaultValuedAttr<StrAttr, "\"RGB\"">:$pixel_format);
  let results = (outs AnyTensor:$image);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_LabelEncoderOp : Kiln_Op<"LabelEncoder", [Pure]> {
  let summary = "maps each element to the value of its key (ai.onnx.ml)";
  let description = [{ `keys` and `values` are 1-D and equally long, `default`
    has one element of the values' type; string, int64 and float keys. }];
  let arguments = (ins AnyTensor:$X, ElementsAttr:$keys, ElementsAttr:$values,
                   ElementsAttr:$default_value);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_TfIdfVectorizerOp : Kiln_Op<"TfIdfVectorizer", [Pure]> {
  let summary = "n-gram counts (optionally weighted) of int64 or string sequences";
  let description = [{ Rows of a [C] or [B, C] input; n-grams of
    min..max_gram_length items, items up to max_skip_count apart, are looked
    up in the pool (`ngram_counts` gives where each length starts) and counted
    at their `ngram_indexes` coordinate of the float result. }];
  let arguments = (ins AnyTensor:$X, SI64Attr:$max_gram_length, SI64Attr:$max_skip_count,
                   SI64Attr:$min_gram_length, StrAttr:$mode, I64ArrayAttr:$ngram_counts,
                   I64ArrayAttr:$ngram_indexes, OptionalAttr<I64ArrayAttr>:$pool_int64s,
                   OptionalAttr<StrArrayAttr>:$pool_strings,
                   OptionalAttr<F32ArrayAttr>:$weights);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_TreeEnsembleOp : Kiln_Op<"TreeEnsemble", [Pure]> {
  let summary = "sum, average, min or max of decision-tree leaves per target (ai.onnx.ml)";
  let description = [{ X is [N, F]; the result [N, n_targets] has X's
    float type. Attributes as ONNX gives them: node i compares feature
    nodes_featureids[i] with nodes_splits[i] by nodes_modes[i] (LEQ, LT,
    GTE, GT, EQ, NEQ, MEMBER of the next NaN-terminated run of
    membership_values) and goes to its true or false child, a node or a
    leaf (weight, target). Post transforms: NONE, SOFTMAX, LOGISTIC. }];
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<SI64Attr, "1">:$aggregate_function,
                   ElementsAttr:$leaf_weights, I64ArrayAttr:$leaf_targetids,
                   OptionalAttr<ElementsAttr>:$membership_values, SI64Attr:$n_targets,
                   I64ArrayAttr:$nodes_falseleafs, I64ArrayAttr:$nodes_falsenodeids,
                   I64ArrayAttr:$nodes_featureids, OptionalAttr<ElementsAttr>:$nodes_hitrates,
                   OptionalAttr<I64ArrayAttr>:$nodes_missing_value_tracks_true,
                   ElementsAttr:$nodes_modes, ElementsAttr:$nodes_splits,
                   I64ArrayAttr:$nodes_trueleafs, I64ArrayAttr:$nodes_truenodeids,
                   DefaultValuedAttr<SI64Attr, "0">:$post_transform, I64ArrayAttr:$tree_roots);
  let results = (outs AnyTensor:$Y);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Control flow with structure known only at run time
//===----------------------------------------------------------------------===//

def Kiln_LoopOp : Kiln_Op<"Loop", [RecursiveMemoryEffects]> {
  let summary = "ONNX Loop whose trip count or condition is known only at run time";
  let description = [{ The body takes (iteration: tensor<i64>, condition:
    tensor<i1>, carried...) and ends in kiln.yield (condition, carried...,
    scan items...). It runs while iteration < max_trip_count (none: no
    bound) and the condition (none: true) holds. Results are the final
    carried values, then each scan output: its items of every iteration
    stacked along a new first dim. Carried values have the types of the
    body's arguments: dims that change between iterations are dynamic; the
    initial values and the yielded ones may be more static. Loops with a
    trip count and condition known when compiling are unrolled by the
    importer instead. }];
  let arguments = (ins Kiln_TensorOrNone:$max_trip_count, Kiln_TensorOrNone:$condition,
                   Variadic<AnyTensor>:$initial);
  let results = (outs Variadic<AnyTensor>:$final);
  let regions = (region SizedRegion<1>:$body);
  let hasVerifier = 1;
}

def Kiln_IfOp : Kiln_Op<"If", [RecursiveMemoryEffects]> {
  let summary = "ONNX If under a condition known only at run time whose branches differ in type";
  let description = [{ Each branch ends in kiln.yield of its outputs; only
    the branch taken runs. Result dims where the branches differ are
    dynamic. Branches of one static type are imported both and selected
    with Where instead, and a constant condition imports only its branch. }];
  let arguments = (ins AnyTensor:$cond);
  let results = (outs Variadic<AnyTensor>:$outputs);
  let regions = (region SizedRegion<1>:$then_branch, SizedRegion<1>:$else_branch);
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator, ParentOneOf<["LoopOp", "IfOp"]>]> {
  let summary = "ends a loop body (the condition for the next iteration, the carried values, "
                "the scan items) or an If branch (its outputs)";
  let arguments = (ins Variadic<AnyTensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // KILN_OPS_TD
