//===- ImageKernels.cpp - ONNX ImageDecoder on the image libraries -------===//
//
// Each format goes to the library that defines it in practice: libjpeg-turbo
// (JPEG, with its default "fancy" chroma upsampling, as the ONNX spec asks),
// libtiff, libwebp, OpenJPEG (JPEG 2000), and stb_image for PNG, BMP and
// binary PNM. Plain-text netpbm files (P1-P3) and binary bitmaps (P4) are
// parsed here; they are a few numbers and no compression.
//
// Every decoder produces 8-bit RGB. Grayscale is derived from it with the
// ITU-R 601-2 luma weights in 16-bit fixed point, the conversion the ONNX
// reference (Pillow) uses; a gray source gives back its own values.
//
// Decoding happens once, into the run's arena (the decoded pixels are a
// byte record there); a second call copies them into the output once the
// compiled code has allocated it at the size the first call reported.
//
//===----------------------------------------------------------------------===//
#include "runtime/Allocation.h"
#include "runtime/HostKernels.h"
#include "runtime/Strings.h"
#include <algorithm>
#include <cctype>
#include <climits>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <openjpeg.h>
#include <stb_image.h>
#include <tiffio.h>
#include <webp/decode.h>

using namespace kiln;

namespace {

/// Decoded images beyond this many bytes (as RGB) fail the run: an
/// untrusted header must not make Kiln allocate without bound.
constexpr uint64_t kMaxImageBytes = 1ULL << 30;

struct Image {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb; // height * width * 3
  /// The header asks for more than kMaxImageBytes (width and height say how much).
  bool tooBig = false;

  /// Sizes the pixels of a w x h image (of a size sizeAllowed accepted).
  void setSize(int64_t w, int64_t h) {
    width = w;
    height = h;
    rgb.resize(size_t(w) * size_t(h) * 3);
  }

  /// False (and tooBig set) when a header's size is over the limit.
  bool sizeAllowed(uint64_t w, uint64_t h) {
    if (w && h > kMaxImageBytes / 3 / w) {
      width = int64_t(std::min<uint64_t>(w, INT64_MAX));
      height = int64_t(std::min<uint64_t>(h, INT64_MAX));
      tooBig = true;
    }
    return !tooBig;
  }
};

bool startsWith(const uint8_t *data, size_t size, const char *magic, size_t n) {
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// --- JPEG ---------------------------------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

bool decodeJpeg(const uint8_t *data, size_t size, Image &img) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr c) {
    std::longjmp(reinterpret_cast<JpegError *>(c->err)->jump, 1);
  };
  err.mgr.output_message = [](j_common_ptr) {};
  // Nothing with a destructor lives between setjmp and the library calls.
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, size);
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK ||
      cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  if (!img.sizeAllowed(cinfo.image_width, cinfo.image_height)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  img.setSize(cinfo.output_width, cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = img.rgb.data() + size_t(cinfo.output_scanline) * img.width * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// --- TIFF ---------------------------------------------------------------

struct MemoryFile {
  const uint8_t *data;
  uint64_t size, pos = 0;
};

bool decodeTiff(const uint8_t *data, size_t size, Image &img) {
  TIFFSetWarningHandler(nullptr);
  TIFFSetErrorHandler(nullptr);
  MemoryFile file{data, size};
  auto read = [](thandle_t h, tdata_t buf, tsize_t n) -> tsize_t {
    auto *f = static_cast<MemoryFile *>(h);
    uint64_t k = std::min<uint64_t>(n, f->size - std::min(f->pos, f->size));
    std::memcpy(buf, f->data + f->pos, k);
    f->pos += k;
    return tsize_t(k);
  };
  auto write = [](thandle_t, tdata_t, tsize_t) -> tsize_t { return 0; };
  auto seek = [](thandle_t h, toff_t off, int whence) -> toff_t {
    auto *f = static_cast<MemoryFile *>(h);
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->size;
    f->pos = base + off;
    return f->pos;
  };
  auto close = [](thandle_t) { return 0; };
  auto fileSize = [](thandle_t h) -> toff_t { return static_cast<MemoryFile *>(h)->size; };
  auto map = [](thandle_t, tdata_t *, toff_t *) { return 0; };
  auto unmap = [](thandle_t, tdata_t, toff_t) {};
  TIFF *tif = TIFFClientOpen("image", "rm", &file, read, write, seek, close, fileSize, map, unmap);
  if (!tif)
    return false;
  uint32_t w = 0, h = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  if (!img.sizeAllowed(w, h)) {
    TIFFClose(tif);
    return false;
  }
  std::vector<uint32_t> raster(size_t(w) * h);
  bool ok = w && h && TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 0);
  TIFFClose(tif);
  if (!ok)
    return false;
  img.setSize(w, h);
  for (size_t i = 0; i < raster.size(); ++i) {
    img.rgb[3 * i] = TIFFGetR(raster[i]);
    img.rgb[3 * i + 1] = TIFFGetG(raster[i]);
    img.rgb[3 * i + 2] = TIFFGetB(raster[i]);
  }
  return true;
}

// --- WebP ---------------------------------------------------------------

bool decodeWebp(const uint8_t *data, size_t size, Image &img) {
  int w = 0, h = 0;
  if (!WebPGetInfo(data, size, &w, &h))
    return false;
  if (!img.sizeAllowed(w, h))
    return false;
  img.setSize(w, h);
  return WebPDecodeRGBInto(data, size, img.rgb.data(), img.rgb.size(), w * 3) != nullptr;
}

// --- JPEG 2000 ----------------------------------------------------------

bool decodeJpeg2000(const uint8_t *data, size_t size, Image &img, bool codestream) {
  opj_codec_t *codec = opj_create_decompress(codestream ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  opj_set_info_handler(codec, [](const char *, void *) {}, nullptr);
  opj_set_warning_handler(codec, [](const char *, void *) {}, nullptr);
  opj_set_error_handler(codec, [](const char *, void *) {}, nullptr);
  MemoryFile file{data, size};
  opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
  opj_stream_set_user_data(stream, &file, nullptr);
  opj_stream_set_user_data_length(stream, size);
  opj_stream_set_read_function(stream, [](void *buf, OPJ_SIZE_T n, void *h) -> OPJ_SIZE_T {
    auto *f = static_cast<MemoryFile *>(h);
    if (f->pos >= f->size)
      return OPJ_SIZE_T(-1);
    uint64_t k = std::min<uint64_t>(n, f->size - f->pos);
    std::memcpy(buf, f->data + f->pos, k);
    f->pos += k;
    return k;
  });
  opj_stream_set_skip_function(stream, [](OPJ_OFF_T n, void *h) -> OPJ_OFF_T {
    auto *f = static_cast<MemoryFile *>(h);
    f->pos += n;
    return n;
  });
  opj_stream_set_seek_function(stream, [](OPJ_OFF_T n, void *h) -> OPJ_BOOL {
    auto *f = static_cast<MemoryFile *>(h);
    if (n < 0 || uint64_t(n) > f->size)
      return OPJ_FALSE;
    f->pos = n;
    return OPJ_TRUE;
  });
  opj_image_t *image = nullptr;
  bool ok = opj_setup_decoder(codec, &params) && opj_read_header(stream, codec, &image);
  ok = ok && img.sizeAllowed(image->x1 - image->x0, image->y1 - image->y0);
  ok = ok && opj_decode(codec, stream, image) && opj_end_decompress(codec, stream);
  if (ok) {
    int n = image->numcomps;
    ok = n == 1 || n == 3 || n == 4;
    for (int c = 0; ok && c < n; ++c)
      ok = image->comps[c].dx == 1 && image->comps[c].dy == 1 && image->comps[c].data &&
           image->comps[c].prec >= 1 && image->comps[c].prec <= 16;
  }
  if (ok) {
    img.setSize(image->comps[0].w, image->comps[0].h);
    size_t pixels = size_t(img.width) * img.height;
    for (int c = 0; c < 3; ++c) {
      const opj_image_comp_t &comp = image->comps[image->numcomps == 1 ? 0 : c];
      int shift = int(comp.prec) - 8;
      int offset = comp.sgnd ? 1 << (comp.prec - 1) : 0;
      for (size_t i = 0; i < pixels; ++i) {
        int v = comp.data[i] + offset;
        v = shift > 0 ? v >> shift : v << -shift;
        img.rgb[3 * i + c] = uint8_t(std::clamp(v, 0, 255));
      }
    }
  }
  if (image)
    opj_image_destroy(image);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  return ok;
}

// --- PNG, BMP, binary PNM (stb_image) -----------------------------------

bool decodeWithStb(const uint8_t *data, size_t size, Image &img) {
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(data, int(size), &w, &h, &channels))
    return false;
  if (!img.sizeAllowed(w, h))
    return false;
  uint8_t *pixels = stbi_load_from_memory(data, int(size), &w, &h, &channels, 3);
  if (!pixels)
    return false;
  img.width = w;
  img.height = h;
  img.rgb.assign(pixels, pixels + size_t(w) * h * 3);
  stbi_image_free(pixels);
  return true;
}

// --- netpbm P1-P4 -------------------------------------------------------

/// The next decimal number of a netpbm header or text raster (comments
/// run from '#' to the end of the line); -1 at the end or on junk.
int64_t pnmNumber(const uint8_t *data, size_t size, size_t &pos) {
  while (pos < size && (std::isspace(data[pos]) || data[pos] == '#')) {
    if (data[pos] == '#')
      while (pos < size && data[pos] != '\n')
        ++pos;
    else
      ++pos;
  }
  if (pos >= size || !std::isdigit(data[pos]))
    return -1;
  int64_t v = 0;
  while (pos < size && std::isdigit(data[pos]) && v < (int64_t(1) << 40))
    v = v * 10 + (data[pos++] - '0');
  return v;
}

bool decodePnmText(const uint8_t *data, size_t size, Image &img) {
  char kind = char(data[1]);
  size_t pos = 2;
  int64_t w = pnmNumber(data, size, pos), h = pnmNumber(data, size, pos);
  int64_t maxval = kind == '1' || kind == '4' ? 1 : pnmNumber(data, size, pos);
  if (w <= 0 || h <= 0 || maxval <= 0 || maxval > 65535)
    return false;
  if (!img.sizeAllowed(w, h))
    return false;
  img.setSize(w, h);
  size_t pixels = size_t(w) * h;
  if (kind == '4') { // packed bits, rows padded to bytes, 1 is black
    ++pos;
    size_t rowBytes = (w + 7) / 8;
    if (pos + rowBytes * h > size)
      return false;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        bool black = data[pos + y * rowBytes + x / 8] & (0x80 >> (x % 8));
        std::memset(&img.rgb[3 * (y * w + x)], black ? 0 : 255, 3);
      }
    return true;
  }
  int samples = kind == '3' ? 3 : 1;
  for (size_t i = 0; i < pixels; ++i)
    for (int s = 0; s < samples; ++s) {
      int64_t v;
      if (kind == '1') { // digits need no separators
        while (pos < size && (std::isspace(data[pos]) || data[pos] == '#')) {
          if (data[pos] == '#')
            while (pos < size && data[pos] != '\n')
              ++pos;
          else
            ++pos;
        }
        if (pos >= size || (data[pos] != '0' && data[pos] != '1'))
          return false;
        v = data[pos++] == '1' ? 0 : 255;
      } else {
        v = pnmNumber(data, size, pos);
        if (v < 0 || v > maxval)
          return false;
        v = (v * 255 + maxval / 2) / maxval;
      }
      if (samples == 3)
        img.rgb[3 * i + s] = uint8_t(v);
      else
        std::memset(&img.rgb[3 * i], int(v), 3);
    }
  return true;
}

bool decode(const uint8_t *data, size_t size, Image &img) {
  if (startsWith(data, size, "\xFF\xD8\xFF", 3))
    return decodeJpeg(data, size, img);
  if (startsWith(data, size, "II*\0", 4) || startsWith(data, size, "MM\0*", 4))
    return decodeTiff(data, size, img);
  if (startsWith(data, size, "RIFF", 4) && size >= 12 && std::memcmp(data + 8, "WEBP", 4) == 0)
    return decodeWebp(data, size, img);
  if (startsWith(data, size, "\0\0\0\x0CjP  \r\n\x87\n", 12))
    return decodeJpeg2000(data, size, img, false);
  if (startsWith(data, size, "\xFF\x4F\xFF\x51", 4))
    return decodeJpeg2000(data, size, img, true);
  if (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '4')
    return decodePnmText(data, size, img);
  if (startsWith(data, size, "\x89PNG", 4) || startsWith(data, size, "BM", 2) ||
      (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')))
    return decodeWithStb(data, size, img);
  return false;
}

/// The decoded pixels as a record in the run's arena (0 when the stream
/// cannot be decoded), their height and width into dims; `message` says
/// why the run must fail instead.
int64_t decodeToArena(MemRef<uint8_t, 1> *encoded, MemRef<int64_t, 1> *dims,
                      std::string &message) {
  int64_t n = encoded->sizes[0], stride = encoded->strides[0];
  const uint8_t *base = encoded->aligned + encoded->offset;
  std::vector<uint8_t> packed;
  if (stride != 1 && n > 1) {
    packed.resize(n);
    for (int64_t i = 0; i < n; ++i)
      packed[i] = base[i * stride];
    base = packed.data();
  }
  Image img;
  int64_t *out = dims->aligned + dims->offset;
  // A stream that cannot be decoded gives an empty image (the ONNX spec).
  if (!decode(base, size_t(n), img) || img.rgb.empty()) {
    out[0] = out[dims->strides[0]] = 0;
    if (img.tooBig)
      message = "ImageDecoder: an image of " + std::to_string(img.width) + " x " +
                std::to_string(img.height) + " pixels exceeds the 1 GiB decoding limit";
    return 0;
  }
  out[0] = img.height;
  out[dims->strides[0]] = img.width;
  return reinterpret_cast<int64_t>(strings::currentArena()->make(
      std::string_view(reinterpret_cast<const char *>(img.rgb.data()), img.rgb.size())));
}

} // namespace

extern "C" int64_t _mlir_ciface_kiln_image_decode(MemRef<uint8_t, 1> *encoded,
                                                  MemRef<int64_t, 1> *dims) {
  // failRun leaves by longjmp: nothing with a destructor may be alive then.
  static thread_local char message[256];
  int64_t decoded;
  {
    std::string why;
    decoded = decodeToArena(encoded, dims, why);
    std::snprintf(message, sizeof message, "%s", why.c_str());
  }
  if (message[0])
    failRun(message);
  return decoded;
}

extern "C" void _mlir_ciface_kiln_image_copy(int64_t decoded, int64_t pixelFormat,
                                             MemRef<uint8_t, 3> *out) {
  if (!decoded)
    return;
  std::string_view rgb = strings::view(reinterpret_cast<const void *>(decoded));
  const auto *src = reinterpret_cast<const uint8_t *>(rgb.data());
  int64_t h = out->sizes[0], w = out->sizes[1];
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const uint8_t *p = src + 3 * (y * w + x);
      uint8_t *q = out->aligned + out->offset + y * out->strides[0] + x * out->strides[1];
      int64_t c = out->strides[2];
      switch (pixelFormat) {
      case 0: q[0] = p[0], q[c] = p[1], q[2 * c] = p[2]; break; // RGB
      case 1: q[0] = p[2], q[c] = p[1], q[2 * c] = p[0]; break; // BGR
      default: q[0] = uint8_t((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
      }
    }
}
