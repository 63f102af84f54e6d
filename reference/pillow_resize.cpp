// Pillow's BICUBIC resize, bit for bit: the arithmetic of Pillow's libImaging/Resample.c (separable
// 8-bit passes with 22-bit fixed-point weights), Geometry.c's nearest-neighbour scaling for P and 1,
// and Convert.c's premultiply rules for RGBA and LA. Written from the algorithm's description
// (docs/semantics/vl-01-preprocessing.md) and checked against Pillow's output on seeded pairs
// (tests/reference/pillow_resize_test.cpp); every double expression below keeps Pillow's order of
// operations, and this library is built with -ffp-contract=off so none is fused into an FMA.
#include "reference/pillow_resize.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "core/error.h"

namespace mm::image {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // 22: room for 8-bit data, negative lobes and overflow
constexpr double kSupport = 2.0;            // the cubic's support at scale 1

// Keys' cubic convolution kernel with a = -0.5.
double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// The weights of one axis: output index o reads `count[o]` inputs from `first[o]` with the fixed-point
// weights k[o * ksize + i].
struct AxisWeights {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;
};

AxisWeights axis_weights(int in_size, int out_size) {
  // Pillow computes the box edges as float (0 and in_size), the scale in double.
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = kSupport * filterscale;
  AxisWeights w;
  w.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  w.first.resize(static_cast<std::size_t>(out_size));
  w.count.resize(static_cast<std::size_t>(out_size));
  w.k.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(w.ksize), 0);
  std::vector<double> kd(static_cast<std::size_t>(w.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double v = bicubic((x + xmin - center + 0.5) * ss);
      kd[static_cast<std::size_t>(x)] = v;
      ww += v;
    }
    int32_t* k = &w.k[static_cast<std::size_t>(xx) * static_cast<std::size_t>(w.ksize)];
    for (int x = 0; x < xmax; ++x) {
      double v = kd[static_cast<std::size_t>(x)];
      if (ww != 0.0) v /= ww;
      // Round half away from zero to 22 bits (Pillow's normalize_coeffs_8bpc).
      k[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                   : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    w.first[static_cast<std::size_t>(xx)] = xmin;
    w.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return w;
}

// Pillow's clip8: floor(sum / 2^22), clamped to 0..255 (its lookup table covers exactly that).
inline uint8_t clip8(int32_t sum) {
  const int32_t v = sum >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

// Horizontal pass, v1: rows [row0, row0 + out_h) of `in` (width in_w, C channels) into out (out_w
// wide), one output pixel at a time, exactly as Pillow loops.
template <int C>
__attribute__((target_clones("avx2", "default"))) void horizontal_direct(const uint8_t* in, int in_w, int row0,
                                                                          int out_h, const AxisWeights& w, int out_w,
                                                                          uint8_t* out) {
  const std::size_t in_stride = static_cast<std::size_t>(in_w) * C;
  for (int yy = 0; yy < out_h; ++yy) {
    const uint8_t* src = in + static_cast<std::size_t>(yy + row0) * in_stride;
    uint8_t* dst = out + static_cast<std::size_t>(yy) * static_cast<std::size_t>(out_w) * C;
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &w.k[static_cast<std::size_t>(xx) * static_cast<std::size_t>(w.ksize)];
      const uint8_t* p = src + static_cast<std::size_t>(w.first[static_cast<std::size_t>(xx)]) * C;
      const int n = w.count[static_cast<std::size_t>(xx)];
      int32_t ss[C];
      for (int c = 0; c < C; ++c) ss[c] = kHalf;
      for (int x = 0; x < n; ++x, p += C)
        for (int c = 0; c < C; ++c) ss[c] += p[c] * k[x];
      for (int c = 0; c < C; ++c) dst[static_cast<std::size_t>(xx) * C + c] = clip8(ss[c]);
    }
  }
}

// Horizontal pass, v2: the same sums, vectorised. A block of kBlockRows rows is transposed so that one
// source column (all the block's rows and channels) is contiguous; every output column is then a
// weighted sum of whole source columns, the same loop as the vertical pass, which the compiler turns
// into SIMD multiply-adds. Integer sums are exact, so the bytes equal v1's (tested on every seeded pair).
// Measured speed: docs/perf/vl-preprocess-cpu.md.
template <int C>
__attribute__((target_clones("avx2", "default"))) void horizontal_blocked(const uint8_t* in, int in_w, int row0,
                                                                           int out_h, const AxisWeights& w,
                                                                           int out_w, uint8_t* out) {
  constexpr int kBlockRows = 32;
  const std::size_t in_stride = static_cast<std::size_t>(in_w) * C;
  std::vector<uint8_t> cols(static_cast<std::size_t>(in_w) * kBlockRows * C);  // [in_w][rows][C]
  int32_t acc[kBlockRows * C];
  for (int y0 = 0; y0 < out_h; y0 += kBlockRows) {
    const int rows = std::min(kBlockRows, out_h - y0);
    const std::size_t col_len = static_cast<std::size_t>(rows) * C;
    for (int r = 0; r < rows; ++r) {
      const uint8_t* src = in + static_cast<std::size_t>(row0 + y0 + r) * in_stride;
      for (int x = 0; x < in_w; ++x)
        for (int c = 0; c < C; ++c)
          cols[static_cast<std::size_t>(x) * col_len + static_cast<std::size_t>(r) * C + c] =
              src[static_cast<std::size_t>(x) * C + c];
    }
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &w.k[static_cast<std::size_t>(xx) * static_cast<std::size_t>(w.ksize)];
      const uint8_t* col = cols.data() + static_cast<std::size_t>(w.first[static_cast<std::size_t>(xx)]) * col_len;
      const int n = w.count[static_cast<std::size_t>(xx)];
      for (std::size_t i = 0; i < col_len; ++i) acc[i] = kHalf;
      for (int x = 0; x < n; ++x, col += col_len) {
        const int32_t kx = k[x];
        for (std::size_t i = 0; i < col_len; ++i) acc[i] += col[i] * kx;
      }
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < C; ++c)
          out[(static_cast<std::size_t>(y0 + r) * static_cast<std::size_t>(out_w) + static_cast<std::size_t>(xx)) * C + c] =
              clip8(acc[r * C + c]);
    }
  }
}

template <int C>
void horizontal(const uint8_t* in, int in_w, int row0, int out_h, const AxisWeights& w, int out_w, uint8_t* out,
                ResizeKernel kernel) {
  if (kernel == ResizeKernel::V1Direct) horizontal_direct<C>(in, in_w, row0, out_h, w, out_w, out);
  else horizontal_blocked<C>(in, in_w, row0, out_h, w, out_w, out);
}

// Vertical pass: `in` (width w_px, C channels) into out (out_h rows); output row yy reads input rows
// first[yy] - row_shift onwards (row_shift: the first input row `in` holds).
template <int C>
__attribute__((target_clones("avx2", "default"))) void vertical(const uint8_t* in, int w_px, const AxisWeights& w,
                                                                 int row_shift, int out_h, uint8_t* out) {
  const std::size_t stride = static_cast<std::size_t>(w_px) * C;
  std::vector<int32_t> acc(stride);
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &w.k[static_cast<std::size_t>(yy) * static_cast<std::size_t>(w.ksize)];
    const int y0 = w.first[static_cast<std::size_t>(yy)] - row_shift;
    const int n = w.count[static_cast<std::size_t>(yy)];
    std::fill(acc.begin(), acc.end(), kHalf);
    // Row by row instead of Pillow's column by column: the same sums of the same integer products,
    // and integer addition is exact, so the result is identical while memory is read in order.
    for (int y = 0; y < n; ++y) {
      const uint8_t* src = in + static_cast<std::size_t>(y0 + y) * stride;
      const int32_t ky = k[y];
      for (std::size_t i = 0; i < stride; ++i) acc[i] += src[i] * ky;
    }
    uint8_t* dst = out + static_cast<std::size_t>(yy) * stride;
    for (std::size_t i = 0; i < stride; ++i) dst[i] = clip8(acc[i]);
  }
}

template <int C>
std::vector<uint8_t> resample(const std::vector<uint8_t>& in, int in_w, int in_h, int out_w, int out_h,
                              ResizeOrder order, ResizeKernel kernel) {
  const bool need_h = out_w != in_w;
  const bool need_v = out_h != in_h;
  const AxisWeights wv = axis_weights(in_h, out_h);
  const AxisWeights wh = axis_weights(in_w, out_w);
  const bool vertical_first = order == ResizeOrder::Pillow13 && need_h && need_v &&
                              (in_h - out_h) > 0 && (in_h - out_h) > 2 * (in_w - out_w);
  std::vector<uint8_t> out(static_cast<std::size_t>(out_w) * static_cast<std::size_t>(out_h) * C);
  if (vertical_first) {
    // Vertical pass over every column into a uint8 temporary, then the horizontal pass.
    std::vector<uint8_t> tmp(static_cast<std::size_t>(in_w) * static_cast<std::size_t>(out_h) * C);
    vertical<C>(in.data(), in_w, wv, 0, out_h, tmp.data());
    horizontal<C>(tmp.data(), in_w, 0, out_h, wh, out_w, out.data(), kernel);
    return out;
  }
  if (need_h && need_v) {
    // Only the input rows the vertical pass reads go through the horizontal pass.
    const int row_first = wv.first.front();
    const int row_last = wv.first.back() + wv.count.back();
    std::vector<uint8_t> tmp(static_cast<std::size_t>(out_w) * static_cast<std::size_t>(row_last - row_first) * C);
    horizontal<C>(in.data(), in_w, row_first, row_last - row_first, wh, out_w, tmp.data(), kernel);
    vertical<C>(tmp.data(), out_w, wv, row_first, out_h, out.data());
  } else if (need_h) {
    horizontal<C>(in.data(), in_w, 0, in_h, wh, out_w, out.data(), kernel);
  } else {
    vertical<C>(in.data(), in_w, wv, 0, out_h, out.data());
  }
  return out;
}

std::vector<uint8_t> resample_any(const std::vector<uint8_t>& in, int ch, int in_w, int in_h, int out_w, int out_h,
                                  ResizeOrder order, ResizeKernel kernel) {
  switch (ch) {
    case 1: return resample<1>(in, in_w, in_h, out_w, out_h, order, kernel);
    case 2: return resample<2>(in, in_w, in_h, out_w, out_h, order, kernel);
    case 3: return resample<3>(in, in_w, in_h, out_w, out_h, order, kernel);
    default: return resample<4>(in, in_w, in_h, out_w, out_h, order, kernel);
  }
}

// Pillow's nearest-neighbour scaling (P and 1): source position starts at scale / 2 and advances by
// repeated addition of scale = in / out; the index is its integer part. A position that accumulates
// to the edge leaves the pixel 0, as Pillow's fill does.
Image resize_nearest(const Image& in, int out_w, int out_h) {
  Image out = make_image(out_w, out_h, in.mode);
  out.palette = in.palette;
  const int ch = channels(in.mode);
  const double ax = static_cast<double>(static_cast<float>(in.width) - 0.0f) / out_w;
  const double ay = static_cast<double>(static_cast<float>(in.height) - 0.0f) / out_h;
  std::vector<int> xin(static_cast<std::size_t>(out_w), -1);
  double xo = 0.0 + ax * 0.5;
  for (int x = 0; x < out_w; ++x, xo += ax) {
    const int xi = xo < 0.0 ? -1 : static_cast<int>(xo);
    if (xi >= 0 && xi < in.width) xin[static_cast<std::size_t>(x)] = xi;
  }
  double yo = 0.0 + ay * 0.5;
  for (int y = 0; y < out_h; ++y, yo += ay) {
    const int yi = yo < 0.0 ? -1 : static_cast<int>(yo);
    if (yi < 0 || yi >= in.height) continue;
    const uint8_t* src = in.row(yi);
    uint8_t* dst = out.row(y);
    for (int x = 0; x < out_w; ++x) {
      const int xi = xin[static_cast<std::size_t>(x)];
      if (xi < 0) continue;
      for (int c = 0; c < ch; ++c) dst[x * ch + c] = src[xi * ch + c];
    }
  }
  return out;
}

// Convert.c's "RGBA" -> "RGBa" (and "LA" -> "La"): c' = round(c * a / 255) as (t + (t >> 8)) >> 8,
// t = c * a + 128. `ch` is 4 (three colours) or 2 (one).
void premultiply(std::vector<uint8_t>& px, int ch) {
  for (std::size_t i = 0; i < px.size(); i += static_cast<std::size_t>(ch)) {
    const unsigned a = px[i + ch - 1];
    for (int c = 0; c < ch - 1; ++c) {
      const unsigned t = px[i + c] * a + 128;
      px[i + c] = static_cast<uint8_t>((t + (t >> 8)) >> 8);
    }
  }
}

// "RGBa" -> "RGBA": colours kept where alpha is 0 or 255, else min(255, 255 c' / a) (integer division).
void unpremultiply(std::vector<uint8_t>& px, int ch) {
  for (std::size_t i = 0; i < px.size(); i += static_cast<std::size_t>(ch)) {
    const unsigned a = px[i + ch - 1];
    if (a == 0 || a == 255) continue;
    for (int c = 0; c < ch - 1; ++c) px[i + c] = static_cast<uint8_t>(std::min(255u, 255u * px[i + c] / a));
  }
}

}  // namespace

uint64_t resize_multiply_adds(int in_w, int in_h, int out_w, int out_h, int ch, ResizeOrder order) {
  if (in_w == out_w && in_h == out_h) return 0;
  const AxisWeights wh = axis_weights(in_w, out_w), wv = axis_weights(in_h, out_h);
  uint64_t taps_h = 0, taps_v = 0;  // taps summed over the output positions of each axis
  for (int n : wh.count) taps_h += static_cast<uint64_t>(n);
  for (int n : wv.count) taps_v += static_cast<uint64_t>(n);
  const bool need_h = out_w != in_w, need_v = out_h != in_h;
  const bool vertical_first = order == ResizeOrder::Pillow13 && need_h && need_v && (in_h - out_h) > 0 &&
                              (in_h - out_h) > 2 * (in_w - out_w);
  if (vertical_first) return (taps_v * static_cast<uint64_t>(in_w) + taps_h * static_cast<uint64_t>(out_h)) * ch;
  const uint64_t rows = need_v ? static_cast<uint64_t>(wv.first.back() + wv.count.back() - wv.first.front())
                               : static_cast<uint64_t>(in_h);
  return ((need_h ? taps_h * rows : 0) + (need_v ? taps_v * static_cast<uint64_t>(out_w) : 0)) * ch;
}

const char* resize_order_name(ResizeOrder o) { return o == ResizeOrder::Pillow12 ? "pillow-12" : "pillow-13"; }

ResizeOrder parse_resize_order(const std::string& name, const std::string& option) {
  if (name == "pillow-12") return ResizeOrder::Pillow12;
  if (name == "pillow-13") return ResizeOrder::Pillow13;
  throw Error(option + ": '" + name + "', expected pillow-12 (Pillow <= 12.2's pass order, the default) or " +
              "pillow-13 (Pillow 13.0's)");
}

Image resize_bicubic(const Image& in, int out_width, int out_height, ResizeOrder order, ResizeKernel kernel) {
  require(out_width > 0 && out_height > 0, "resize: target size " + std::to_string(out_width) + "x" +
                                               std::to_string(out_height) +
                                               ", expected a positive width and height (Pillow refuses it too)");
  require(in.width > 0 && in.height > 0 && in.pixels.size() == static_cast<std::size_t>(in.width) *
                                                                  static_cast<std::size_t>(in.height) *
                                                                  channels(in.mode),
          "resize: the source image is empty or its pixel buffer does not match its size");
  if (in.width == out_width && in.height == out_height) return in;  // Pillow returns a copy, untouched
  if (in.mode == Mode::P || in.mode == Mode::Bit1) return resize_nearest(in, out_width, out_height);
  const int ch = channels(in.mode);
  const bool alpha = in.mode == Mode::RGBA || in.mode == Mode::LA;
  Image out;
  out.width = out_width;
  out.height = out_height;
  out.mode = in.mode;
  out.palette = in.palette;
  if (alpha) {
    std::vector<uint8_t> pre = in.pixels;
    premultiply(pre, ch);
    out.pixels = resample_any(pre, ch, in.width, in.height, out_width, out_height, order, kernel);
    unpremultiply(out.pixels, ch);
  } else {
    out.pixels = resample_any(in.pixels, ch, in.width, in.height, out_width, out_height, order, kernel);
  }
  return out;
}

}  // namespace mm::image
