//===- Strings.cpp - string and text-feature ops, ai.onnx.ml LabelEncoder -===//
#include "frontend/ImporterImpl.h"
#include <re2/re2.h>

namespace kiln {
namespace {

/// kiln.<name> with a result of element type `elem`, typed by its shape rule.
Operation *createTyped(Importer &im, StringRef name, ValueRange operands,
                       llvm::ArrayRef<NamedAttribute> attrs, Type elem) {
  OperationState s(im.loc, ("kiln." + name).str());
  s.addOperands(operands);
  s.addAttributes(attrs);
  s.addTypes(UnrankedTensorType::get(elem));
  Operation *op = im.b.create(s);
  im.typeOp(op);
  return op;
}

void buildRegexFullMatch(Importer &im, const onnx::NodeProto &) {
  const auto *pattern = im.attr("pattern");
  if (!pattern)
    im.fail("needs a 'pattern' attribute");
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern->s(), options);
  if (!re.ok())
    im.fail("pattern '" + pattern->s() + "' is not valid RE2 syntax: " + re.error());
  im.bindOutputs(im.create("RegexFullMatch", {im.input(0)}));
}

/// Case changes follow Unicode's simple case mapping whatever `locale`
/// names, so the attribute is accepted and has no further effect.
void buildStringNormalizer(Importer &im, const onnx::NodeProto &) {
  im.bindOutputs(im.create("StringNormalizer", {im.input(0)}, {"locale"}));
}

void buildStringSplit(Importer &im, const onnx::NodeProto &) {
  if (const auto *m = im.attr("maxsplit"); m && m->i() < 0)
    im.fail("maxsplit must be >= 0, got " + std::to_string(m->i()));
  im.bindOutputs(im.create("StringSplit", {im.input(0)}, {}, {}, 2));
}

/// ai.onnx.ml LabelEncoder (opsets 1-4): keys, values and the default come
/// from whichever of the typed attributes the node sets.
void buildLabelEncoder(Importer &im, const onnx::NodeProto &) {
  Value x = im.input(0);
  auto listOf = [&](const char *kind) -> std::optional<Tensor> {
    std::string base = kind;
    if (const auto *a = im.attr(base + "_strings"))
      return Tensor::fromStrings({a->strings_size()},
                                 std::vector<std::string>(a->strings().begin(), a->strings().end()));
    if (const auto *a = im.attr(base + "_int64s"))
      return Tensor::fromVector(ElementType::Int64, {a->ints_size()},
                                std::vector<int64_t>(a->ints().begin(), a->ints().end()));
    if (const auto *a = im.attr(base + "_floats"))
      return Tensor::fromVector(ElementType::Float32, {a->floats_size()},
                                std::vector<float>(a->floats().begin(), a->floats().end()));
    if (const auto *a = im.attr(base + "_tensor")) {
      Tensor t = tensorFromProto(a->t(), im.baseDir, "attribute '" + a->name() + "'");
      if (t.shape().size() != 1)
        im.fail("attribute '" + a->name() + "' must be 1-D");
      return t;
    }
    return std::nullopt;
  };
  auto keys = listOf("keys"), values = listOf("values");
  if (!keys || !values)
    im.fail("needs keys and values");
  if (keys->numElements() != values->numElements())
    im.fail("has " + std::to_string(keys->numElements()) + " keys but " +
            std::to_string(values->numElements()) + " values");
  Tensor dflt;
  if (const auto *a = im.attr("default_tensor")) {
    dflt = tensorFromProto(a->t(), im.baseDir, "attribute 'default_tensor'");
    if (dflt.numElements() != 1 || dflt.type() != values->type())
      im.fail("default_tensor must be one value of the values' type");
    dflt = dflt.type() == ElementType::String
               ? Tensor::fromStrings({1}, {std::string(dflt.stringAt(0))})
               : Tensor::fromBytes(dflt.type(), {1}, dflt.data(), dflt.byteSize());
  } else if (values->type() == ElementType::String) {
    const auto *a = im.attr("default_string");
    dflt = Tensor::fromStrings({1}, {a ? a->s() : std::string("_Unused")});
  } else if (values->type() == ElementType::Int64) {
    const auto *a = im.attr("default_int64");
    dflt = Tensor::fromVector(ElementType::Int64, {1}, std::vector<int64_t>{a ? a->i() : -1});
  } else if (values->type() == ElementType::Float32) {
    const auto *a = im.attr("default_float");
    dflt = Tensor::fromVector(ElementType::Float32, {1}, std::vector<float>{a ? a->f() : -0.0f});
  } else {
    im.fail("values of type " + std::string(elementTypeName(values->type())) +
            " need a default_tensor");
  }
  // Integer keys of any width are looked up as int64.
  Type xElem = llvm::cast<TensorType>(x.getType()).getElementType();
  ElementType kt = keys->type();
  if (kt != ElementType::String && kt != ElementType::Float32) {
    if (kt == ElementType::Float64 || kt == ElementType::Float16 || kt == ElementType::BFloat16)
      im.fail("keys of type " + std::string(elementTypeName(kt)) + " are not supported");
    std::vector<int64_t> wide;
    for (int64_t i = 0; i < keys->numElements(); ++i)
      wide.push_back((int64_t)elementAsDouble(*keys, i));
    keys = Tensor::fromVector(ElementType::Int64, {keys->numElements()}, wide);
    if (!xElem.isInteger(64) || xElem.isUnsignedInteger())
      x = createTyped(im, "Cast", {x}, {}, im.b.getIntegerType(64))->getResult(0);
  }
  auto attrOf = [&](const Tensor &t) {
    Value c = im.constant(t);
    Attribute a = c.getDefiningOp<ConstantOp>().getValue();
    c.getDefiningOp()->erase();
    return a;
  };
  NamedAttribute attrs[] = {
      NamedAttribute(im.b.getStringAttr("keys"), attrOf(*keys)),
      NamedAttribute(im.b.getStringAttr("values"), attrOf(*values)),
      NamedAttribute(im.b.getStringAttr("default_value"), attrOf(dflt))};
  Type valueType = llvm::cast<DenseElementsAttr>(attrs[1].getValue()).getElementType();
  im.bindOutputs(createTyped(im, "LabelEncoder", {x}, attrs, valueType));
}

/// Integer sequences are counted as int64.
void buildTfIdfVectorizer(Importer &im, const onnx::NodeProto &) {
  Value x = im.input(0);
  Type elem = llvm::cast<TensorType>(x.getType()).getElementType();
  if (llvm::isa<IntegerType>(elem) && !elem.isInteger(64))
    x = createTyped(im, "Cast", {x}, {}, im.b.getIntegerType(64))->getResult(0);
  im.bindOutputs(im.create("TfIdfVectorizer", {x}));
}

} // namespace

void addStringBuilders(BuilderTable &table) {
  table["TfIdfVectorizer"] = buildTfIdfVectorizer;
  table["StringConcat"] = generic("StringConcat", 2);
  table["RegexFullMatch"] = buildRegexFullMatch;
  table["StringNormalizer"] = buildStringNormalizer;
  table["StringSplit"] = buildStringSplit;
  table["ai.onnx.ml:LabelEncoder"] = buildLabelEncoder;
}

} // namespace kiln
