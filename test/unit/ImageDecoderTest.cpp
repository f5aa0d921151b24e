//===- ImageDecoderTest.cpp - ImageDecoder through a session --------------===//
#include "ModelBuilder.h"
#include "kiln/Session.h"
#include <gtest/gtest.h>

using namespace kiln;
using kiln::test::expectError;
using kiln::test::ModelBuilder;

namespace {

/// image = ImageDecoder(encoded) with `format`; encoded is uint8[n].
std::string decoderModel(const std::string &format) {
  ModelBuilder m(20);
  m.input("encoded", onnx::TensorProto::UINT8, {-1}, {"n"});
  m.output("image", onnx::TensorProto::UINT8);
  auto &node = m.node("ImageDecoder", {"encoded"}, {"image"});
  auto *a = node.add_attribute();
  a->set_name("pixel_format");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(format);
  return m.bytes();
}

Tensor bytesOf(const std::string &s) {
  return Tensor::fromBytes(ElementType::UInt8, {(int64_t)s.size()}, s.data(), s.size());
}

std::vector<int> pixels(const Tensor &t) {
  return std::vector<int>(t.data<uint8_t>(), t.data<uint8_t>() + t.numElements());
}

Tensor decode(const std::string &format, const std::string &encoded) {
  std::string bytes = decoderModel(format);
  Session s(bytes.data(), bytes.size(), SessionOptions{}.withThreads(1), "image.onnx");
  return s.run({{"encoded", bytesOf(encoded)}}).at("image");
}

// A 2 x 2 plain-text pixmap with maxval 255: red, green / blue, gray.
const std::string kPpm = "P3\n# two by two\n2 2\n255\n255 0 0  0 255 0\n0 0 255  128 128 128\n";

TEST(ImageDecoder, PixelFormats) {
  Tensor rgb = decode("RGB", kPpm);
  EXPECT_EQ(rgb.shape(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(pixels(rgb), (std::vector<int>{255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128}));
  Tensor bgr = decode("BGR", kPpm);
  EXPECT_EQ(pixels(bgr), (std::vector<int>{0, 0, 255, 0, 255, 0, 255, 0, 0, 128, 128, 128}));
  // ITU-R 601-2 luma in 16-bit fixed point: 0.299 R + 0.587 G + 0.114 B.
  Tensor gray = decode("Grayscale", kPpm);
  EXPECT_EQ(gray.shape(), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(pixels(gray), (std::vector<int>{76, 150, 29, 128}));
}

TEST(ImageDecoder, BitmapsAndScaledMaxval) {
  // P1: 1 is black; P2 with maxval 15 scales to 0..255.
  EXPECT_EQ(pixels(decode("Grayscale", "P1 3 1 # comment\n1 0 1\n")),
            (std::vector<int>{0, 255, 0}));
  EXPECT_EQ(pixels(decode("Grayscale", "P2 2 1 15 15 5")), (std::vector<int>{255, 85}));
}

TEST(ImageDecoder, UndecodableStreamGivesAnEmptyImage) {
  Tensor t = decode("RGB", "not an image at all");
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{0, 0, 3}));
  // A truncated JPEG: the header and nothing else.
  t = decode("BGR", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF", 10));
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{0, 0, 3}));
}

TEST(ImageDecoder, HugeImagesFailTheRunInsteadOfAllocating) {
  expectError([] { decode("RGB", "P6 100000 100000 255\n"); },
              "an image of 100000 x 100000 pixels exceeds the 1 GiB decoding limit");
}

} // namespace
