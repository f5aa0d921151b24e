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
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

def Kiln_TensorOrNone : AnyTypeOf<[AnyTensor, NoneType]>;

#endif // KILN_DIALECT_TD
