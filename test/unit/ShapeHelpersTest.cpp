//===- ShapeHelpersTest.cpp - shape rules shared by inference and lowering ===//
#include "dialect/ShapeHelpers.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace kiln;
using Shape = llvm::SmallVector<int64_t>;

TEST(ShapeHelpers, Broadcast) {
  auto r = broadcastShapes({Shape{2, 1, 4}, Shape{3, 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (Shape{2, 3, 4}));
  EXPECT_FALSE(broadcastShapes({Shape{2, 3}, Shape{4, 3}}));
  auto s = broadcastShapes({Shape{}, Shape{5}});
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (Shape{5}));
}

TEST(ShapeHelpers, Reshape) {
  std::string err;
  auto r = reshapeTarget({2, 3, 4}, {0, -1}, false, err);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (Shape{2, 12}));
  EXPECT_FALSE(reshapeTarget({2, 3}, {-1, -1}, false, err));
  EXPECT_FALSE(reshapeTarget({2, 3}, {4}, false, err));
  EXPECT_NE(err.find("elements"), std::string::npos);
  auto z = reshapeTarget({0, 3}, {3, 0}, true, err);
  ASSERT_TRUE(z);
  EXPECT_EQ(*z, (Shape{3, 0}));
}

TEST(ShapeHelpers, SpatialSameUpperAndCeil) {
  mlir::MLIRContext ctx;
  mlir::Builder b(&ctx);
  SpatialParams p;
  std::string err;
  ASSERT_TRUE(resolveSpatial({5, 5}, {3, 3}, "SAME_UPPER", {}, b.getI64ArrayAttr({2, 2}), {},
                             {}, false, p, err));
  EXPECT_EQ(p.outSpatial, (Shape{3, 3}));
  EXPECT_EQ(p.padBegin, (Shape{1, 1}));
  EXPECT_EQ(p.padEnd, (Shape{1, 1}));
  ASSERT_TRUE(resolveSpatial({32}, {}, "NOTSET", b.getI64ArrayAttr({2}), b.getI64ArrayAttr({2}),
                             {}, {}, true, p, err));
  EXPECT_EQ(p.outSpatial, (Shape{16}));
  ASSERT_TRUE(resolveSpatial({5}, {}, "NOTSET", b.getI64ArrayAttr({2}), b.getI64ArrayAttr({2}),
                             {}, {}, true, p, err));
  EXPECT_EQ(p.outSpatial, (Shape{3}));
  EXPECT_FALSE(resolveSpatial({2}, {5}, "NOTSET", {}, {}, {}, {}, false, p, err));
}
