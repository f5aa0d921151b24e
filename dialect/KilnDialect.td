//===- KilnDialect.td - the Kiln ONNX dialect ----------------*- tablegen -*-===//
#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "ONNX operators at their newest opset semantics";
  let description = [{
    One op per ONNX operator, at the semantics of the newest opset Kiln knows.
    The importer rewrites older opset forms (attributes that later became
    inputs, old Softmax coercion) into these forms, so each lowering handles
    one form per op. Absent optional inputs are `kiln.none` values.
  }];
  let cppNamespace = "::kiln";
  let useDefaultAttributePrinterParser = 0;
  let useDefaultTypePrinterParser = 1;
}

def Kiln_StringType : TypeDef<Kiln_Dialect, "String"> {
  let mnemonic = "string";
  let summary = "an ONNX string: bytes of any length (UTF-8 by convention)";
  let description = [{
    Compiled code holds each element as a pointer to a record of the
    runtime's (runtime/Strings.h), so ops that only move elements work on
    strings unchanged; ops that read or make strings call host kernels.
  }];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

def Kiln_TensorOrNone : AnyTypeOf<[AnyTensor, NoneType]>;

#endif // KILN_DIALECT_TD
