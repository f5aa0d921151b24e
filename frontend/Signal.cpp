//===- Signal.cpp - windows, mel filters, DFT and STFT --------------------===//
//
// Window functions and the mel filter bank depend only on scalar operands,
// which must be known when compiling: they become constants. DFT along an
// axis of static length is two matrix products with cos/sin tables
// (computed here in double precision), so it runs as the MatMuls it is.
//
//===----------------------------------------------------------------------===//
#include "frontend/ImporterImpl.h"
#include <cmath>

namespace kiln {
namespace {

double scalarOperand(Importer &im, int i, const char *what) {
  auto v = constantScalar(im.input(i));
  if (!v)
    im.fail(std::string(what) + " must be a scalar known when compiling");
  return *v;
}

/// A constant of `shape` from doubles, converted to `elem`.
Value table(Importer &im, std::vector<int64_t> shape, const std::vector<double> &v, Type elem) {
  if (elem.isF64())
    return im.constant(Tensor::fromVector(ElementType::Float64, std::move(shape), v));
  std::vector<float> f(v.begin(), v.end());
  return im.castTo(im.constant(Tensor::fromVector(ElementType::Float32, std::move(shape), f)), elem);
}

Type outputType(Importer &im, const char *attr, int64_t dflt) {
  const auto *a = im.attr(attr);
  return im.elementType(a ? a->i() : dflt, attr);
}

/// Hann, Hamming and Blackman: sums of cosines of 2*pi*k*n/D, D = N
/// (periodic) or N - 1 (symmetric).
void buildWindow(Importer &im, const onnx::NodeProto &n, std::vector<double> coeffs) {
  int64_t size = int64_t(scalarOperand(im, 0, "size"));
  if (size < 0 || size > (1 << 24))
    im.fail("size " + std::to_string(size) + " is out of range");
  const auto *p = im.attr("periodic");
  bool periodic = !p || p->i();
  double d = periodic ? double(size) : double(size - 1);
  std::vector<double> w(size);
  for (int64_t i = 0; i < size; ++i)
    for (size_t k = 0; k < coeffs.size(); ++k)
      w[i] += (k % 2 ? -1 : 1) * coeffs[k] * std::cos(2 * M_PI * double(k) * double(i) / d);
  im.values[n.output(0)] = table(im, {size}, w, outputType(im, "output_datatype", 1));
}

void buildMelWeightMatrix(Importer &im, const onnx::NodeProto &n) {
  int64_t bins = int64_t(scalarOperand(im, 0, "num_mel_bins"));
  int64_t dftLength = int64_t(scalarOperand(im, 1, "dft_length"));
  double rate = scalarOperand(im, 2, "sample_rate");
  double lo = scalarOperand(im, 3, "lower_edge_hertz"), hi = scalarOperand(im, 4, "upper_edge_hertz");
  if (bins <= 0 || dftLength <= 0 || rate <= 0 || bins > 65536 || dftLength > (1 << 20))
    im.fail("num_mel_bins, dft_length and sample_rate must be positive and reasonable");
  int64_t spectrum = dftLength / 2 + 1;
  auto toMel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  double melLo = toMel(lo), melStep = (toMel(hi) - melLo) / double(bins + 2);
  // Bin edges: evenly spaced in mel, mapped back to spectrum indices.
  std::vector<int64_t> edge(bins + 2);
  for (int64_t i = 0; i < bins + 2; ++i) {
    double hz = 700 * (std::pow(10.0, (double(i) * melStep + melLo) / 2595) - 1);
    edge[i] = int64_t(std::floor(double(dftLength + 1) * hz / rate));
  }
  std::vector<double> w(spectrum * bins, 0.0);
  auto at = [&](int64_t j, int64_t i) -> double & {
    if (j < 0 || j >= spectrum)
      im.fail("mel filter edges fall outside the spectrum");
    return w[j * bins + i];
  };
  for (int64_t i = 0; i < bins; ++i) {
    int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
    if (center == left)
      at(center, i) = 1;
    else
      for (int64_t j = left; j <= center; ++j)
        at(j, i) = double(j - left) / double(center - left);
    for (int64_t j = center; j < right; ++j)
      at(j, i) = double(right - j) / double(right - center);
  }
  im.values[n.output(0)] = table(im, {spectrum, bins}, w, outputType(im, "output_datatype", 1));
}

/// The DFT of x (..., N at `axis`, ..., 1 or 2) as (..., K at `axis`, ..., 2),
/// or 1 for the real inverse of a one-sided spectrum.
Value dft(Importer &im, Value x, int64_t axis, int64_t length, bool inverse, bool onesided) {
  auto xt = llvm::cast<RankedTensorType>(x.getType());
  int64_t rank = xt.getRank(), n = xt.getDimSize(axis), c = xt.getDimSize(rank - 1);
  // Sums of many sin/cos-weighted terms cancel to values near zero: they
  // are formed in f64, as the reference FFT does, and rounded once.
  Type elem = im.b.getF64Type(), resultElem = xt.getElementType();
  x = im.castTo(x, elem);
  if (c != 1 && c != 2)
    im.fail("the last dimension must be 1 (real) or 2 (complex)");
  bool realOutput = inverse && onesided;
  int64_t outLen = realOutput ? length : onesided ? length / 2 + 1 : length;
  // Samples the transform reads: the first min(N, in) of the axis.
  int64_t in = realOutput ? length / 2 + 1 : length, used = std::min(n, in);
  // (..., N, ..., c) -> (..., c) parts with the axis last.
  llvm::SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  auto part = [&](int64_t i) {
    Value p = im.slice(x, rank - 1, i, i + 1);
    p = im.make("Squeeze", {p, im.i64Constant({rank - 1})});
    p = im.transpose(p, perm);
    return used < n ? im.slice(p, rank - 2, 0, used) : p;
  };
  Value re = part(0), imag = c == 2 ? part(1) : Value();
  im.checkGenerated(double(used) * double(outLen), "the DFT tables");
  // cos/sin tables: rows are input samples, columns output bins.
  std::vector<double> cosT(used * outLen), sinT(used * outLen);
  for (int64_t s = 0; s < used; ++s)
    for (int64_t k = 0; k < outLen; ++k) {
      double theta = 2 * M_PI * double((s * k) % length) / double(length);
      double scale = inverse ? 1.0 / double(length) : 1.0;
      if (realOutput) // Hermitian: interior bins count twice
        scale *= (s == 0 || (length % 2 == 0 && s == length / 2)) ? 1.0 : 2.0;
      cosT[s * outLen + k] = scale * std::cos(theta);
      sinT[s * outLen + k] = scale * std::sin(theta) * (inverse ? 1 : -1);
    }
  Value cosM = table(im, {used, outLen}, cosT, elem), sinM = table(im, {used, outLen}, sinT, elem);
  auto mm = [&](Value a, Value m) { return im.make("MatMul", {a, m}); };
  // (re + i im)(cos + i sin') with sin' = -sin forward, +sin inverse.
  Value outRe = mm(re, cosM), outIm;
  if (imag)
    outRe = im.make("Sub", {outRe, mm(imag, sinM)});
  if (!realOutput) {
    outIm = mm(re, sinM);
    if (imag)
      outIm = im.make("Add", {outIm, mm(imag, cosM)});
  }
  llvm::SmallVector<int64_t> inversePerm(rank - 1);
  for (int64_t d = 0; d < rank - 1; ++d)
    inversePerm[perm[d]] = d;
  auto back = [&](Value v) {
    return im.make("Unsqueeze", {im.transpose(v, inversePerm), im.i64Constant({rank - 1})});
  };
  if (realOutput)
    return im.castTo(back(outRe), resultElem);
  return im.castTo(im.make("Concat", {back(outRe), back(outIm)}, {im.intAttr("axis", rank - 1)}),
                   resultElem);
}

void buildDFT(Importer &im, const onnx::NodeProto &n) {
  Value x = im.input(0);
  auto xt = llvm::dyn_cast<RankedTensorType>(x.getType());
  if (!xt || !xt.hasStaticShape() || xt.getRank() < 2)
    im.fail("input needs a static shape of rank 2 or more");
  int64_t rank = xt.getRank();
  int64_t axis = im.opset >= 20 ? -2 : 1;
  if (im.opset >= 20) {
    if (!llvm::isa<NoneType>(im.input(2).getType()))
      axis = int64_t(scalarOperand(im, 2, "axis"));
  } else if (const auto *a = im.attr("axis")) {
    axis = a->i();
  }
  auto ax = normalizeAxis(axis, rank);
  if (!ax || *ax == rank - 1)
    im.fail("axis must name a signal dimension, not the last");
  const auto *inv = im.attr("inverse");
  const auto *one = im.attr("onesided");
  bool inverse = inv && inv->i(), onesided = one && one->i();
  int64_t length = inverse && onesided ? 2 * (xt.getDimSize(*ax) - 1) : xt.getDimSize(*ax);
  if (!llvm::isa<NoneType>(im.input(1).getType()))
    length = int64_t(scalarOperand(im, 1, "dft_length"));
  if (length <= 0 || length > (1 << 16))
    im.fail("dft_length must be in [1, 65536]");
  if (onesided && !inverse && xt.getDimSize(rank - 1) != 1)
    im.fail("a one-sided DFT needs a real input");
  im.values[n.output(0)] = dft(im, x, *ax, length, inverse, onesided);
}

/// STFT: frames of the signal, windowed, each transformed along its samples.
void buildSTFT(Importer &im, const onnx::NodeProto &n) {
  Value signal = im.input(0), window = im.input(2);
  auto st = llvm::dyn_cast<RankedTensorType>(signal.getType());
  if (!st || !st.hasStaticShape() || st.getRank() != 3)
    im.fail("signal must be a static (batch, length, 1 or 2) tensor");
  int64_t step = int64_t(scalarOperand(im, 1, "frame_step"));
  int64_t frameLength;
  if (!llvm::isa<NoneType>(im.input(3).getType()))
    frameLength = int64_t(scalarOperand(im, 3, "frame_length"));
  else if (auto wt = llvm::dyn_cast<RankedTensorType>(window.getType()); wt && wt.hasStaticShape())
    frameLength = wt.getDimSize(0);
  else
    im.fail("frame_length or a window is required");
  int64_t length = st.getDimSize(1);
  if (step <= 0 || frameLength <= 0 || frameLength > length)
    im.fail("frame_step and frame_length must be positive, the frame no longer than the signal");
  int64_t frames = (length - frameLength) / step + 1;
  im.checkGenerated(double(frames) * double(frameLength), "the STFT frame indices");
  std::vector<int64_t> idx;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t s = 0; s < frameLength; ++s)
      idx.push_back(f * step + s);
  Value indices = im.make("Reshape", {im.i64Constant(idx), im.i64Constant({frames, frameLength})});
  Value framed = im.make("Gather", {signal, indices}, {im.intAttr("axis", 1)}); // (B, F, L, c)
  if (!llvm::isa<NoneType>(window.getType()))
    framed = im.make("Mul", {framed, im.make("Reshape", {window, im.i64Constant({frameLength, 1})})});
  const auto *one = im.attr("onesided");
  bool onesided = !one || one->i();
  if (onesided && st.getDimSize(2) != 1)
    onesided = false;
  im.values[n.output(0)] = dft(im, framed, 2, frameLength, false, onesided);
}

} // namespace

void addSignalBuilders(BuilderTable &t) {
  t["HannWindow"] = [](Importer &im, const onnx::NodeProto &n) { buildWindow(im, n, {0.5, 0.5}); };
  t["HammingWindow"] = [](Importer &im, const onnx::NodeProto &n) {
    buildWindow(im, n, {25.0 / 46.0, 21.0 / 46.0});
  };
  t["BlackmanWindow"] = [](Importer &im, const onnx::NodeProto &n) {
    buildWindow(im, n, {0.42, 0.5, 0.08});
  };
  t["MelWeightMatrix"] = buildMelWeightMatrix;
  t["DFT"] = buildDFT;
  t["STFT"] = buildSTFT;
}

} // namespace kiln
