//===- ConstantDataTest.cpp - weights stored once, freed when unused ------===//
#include "dialect/ConstantData.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace kiln;
using namespace mlir;

namespace {
/// A resource blob of `n` floats whose deleter sets `*freed`.
AsmResourceBlob trackedBlob(int64_t n, bool *freed) {
  auto *data = new std::vector<float>(n, 1.5f);
  return AsmResourceBlob(
      ArrayRef<char>(reinterpret_cast<const char *>(data->data()), n * sizeof(float)),
      alignof(float),
      [data, freed](void *, size_t, size_t) {
        delete data;
        *freed = true;
      },
      false);
}
} // namespace

TEST(ConstantData, LargeConstantsAreBlobsSmallOnesDense) {
  MLIRContext ctx;
  auto f32 = Float32Type::get(&ctx);
  int64_t large = kBlobConstantBytes / 4;
  auto bigType = RankedTensorType::get({large}, f32);
  std::vector<char> bytes(kBlobConstantBytes, 0);
  bytes[4] = 1;
  ElementsAttr big = constantAttr(bigType, bytes);
  EXPECT_TRUE(isa<DenseResourceElementsAttr>(big));
  std::optional<ArrayRef<char>> read = constantBytes(big);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), bytes.size());
  EXPECT_EQ((*read)[4], 1);
  // A reshape shares the blob (the same bytes, not a copy).
  ElementsAttr reshaped = retypeConstant(big, RankedTensorType::get({2, large / 2}, f32));
  EXPECT_EQ(constantBytes(reshaped)->data(), read->data());

  auto smallType = RankedTensorType::get({4}, f32);
  ElementsAttr small = constantAttr(smallType, std::vector<char>(16, 0));
  EXPECT_TRUE(isa<DenseElementsAttr>(small));
  // Booleans are never blobs (their dense storage is bit-packed).
  EXPECT_FALSE(constantBytes(DenseElementsAttr::get(
      RankedTensorType::get({2}, IntegerType::get(&ctx, 1)), ArrayRef<bool>{true, false})));
}

TEST(ConstantData, BlobIsFreedWithItsLastHolder) {
  MLIRContext ctx;
  ctx.loadDialect<arith::ArithDialect, func::FuncDialect>();
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToStart(module->getBody());
  bool freed = false;
  auto type = RankedTensorType::get({8192}, b.getF32Type());
  ElementsAttr value = constantAttr(type, trackedBlob(8192, &freed));
  ASSERT_TRUE(isa<DenseResourceElementsAttr>(value));
  auto first = arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
  auto second = arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));

  BlobReferences blobs(module->getOperation());
  blobs.erasing(first);
  first.erase();
  EXPECT_FALSE(freed) << "freed while another op still holds it";
  ASSERT_TRUE(constantBytes(second.getValue()));
  blobs.erasing(second);
  second.erase();
  EXPECT_TRUE(freed) << "the last holder is gone, the bytes should be too";
  // A released blob reads as no data, never as stale bytes.
  EXPECT_FALSE(constantBytes(value));
}
