// MiniMax-VL-01 patch embedding (optimized/patch_embed): every version under every emulator schedule
// (identical bits required) and on the GPU when present, against ref::patch_embed (reference/
// vision_encoder.cpp) crop by crop. Outputs (and the workspaces) are poisoned and must be fully written.
// What is held, per output element:
//   - CLS rows bf16(cls + pos[0]): the ref-bf16 bits exactly (one fp32 add, one rounding).
//   - patch rows bf16(bf16(X W^T) + pos): the reference's conv is an Eigen fp32 GEMM, v1 a sequential fp32
//     sum, v2 the shared GEMM (SIMT: a double sum rounded to fp32; cuBLAS: fp32 accumulation), v3 mma.sync
//     fp32 accumulation over 16-wide K steps (its zero pad columns add exact zeros), so the fp32
//     conv values differ in their last bits and bit identity with ref-bf16 is not attainable in general.
//     Any fp32 summation order lies within gamma_K * sum_k |x_k w_k| of the exact dot product (Higham
//     3.1); bf16(conv) and then bf16(conv + pos) are monotone in conv, so that interval gives a contiguous
//     range of outputs (one value for almost every element: there the exact ref-bf16 bits). Every output
//     must lie in its range (the GEMM-order window); the number that differ from ref-bf16 is printed.
//     The window is computed from bf16(pixels): it catches a dropped pixel rounding (checked below).
//     Where a version's summation order is known it is held to the exact bits of that order, computed on
//     the host with the same rounding points: v1 (a sequential fp32 sum over (ch, ky, kx)) on every
//     backend, v2 in the SIMT build (gemm.h's host loop: a double sum rounded once to fp32).
//   - the acceptance rule (kernel_test_util.h) against ref-f64, with ref-bf16 as the budget.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <span>

#include "reference/vision_encoder.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_PATCH_EMBED_DECLARE_CUDA 1
#endif
#include "optimized/patch_embed/patch_embed_runner.cuh"

namespace {

using mm::ref::Mat;
namespace cpu = mm::patch_embed::backend_simt;
using Bits = std::vector<uint16_t>;
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Shape {
  int crops, C, S, p, D;
  int side() const { return S / p; }
  int N() const { return side() * side(); }
  int K() const { return C * p * p; }
};

struct Inputs {
  std::vector<float> pixels;  // fp32, NOT bf16-exact (normalised pixel values): the cast to bf16 matters
  std::vector<float> w, cls, pos;  // bf16-exact
};

Inputs make_inputs(const Shape& s, uint64_t seed) {
  Inputs in;
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  in.pixels.resize(static_cast<size_t>(s.crops) * s.C * s.S * s.S);
  for (auto& v : in.pixels) v = static_cast<float>(nd(g));
  // w ~ N(0, 1/K): conv values of order 1, comparable with pos (N(0, 0.5^2)), so both matter in the sum
  in.w = mm::kt::randn_bf16(static_cast<size_t>(s.D) * s.K(), seed + 1, 1.0 / std::sqrt(static_cast<double>(s.K())));
  in.cls = mm::kt::randn_bf16(static_cast<size_t>(s.D), seed + 2, 0.5);
  in.pos = mm::kt::randn_bf16(static_cast<size_t>(s.N() + 1) * s.D, seed + 3, 0.5);
  return in;
}

mm::VisionConfig config(const Shape& s) {
  mm::VisionConfig c;
  c.hidden_size = s.D;
  c.image_size = s.S;
  c.patch_size = s.p;
  c.num_channels = s.C;
  return c;
}

// ref::patch_embed<P> of every crop, concatenated: [crops * (N + 1), D].
template <class P>
std::vector<typename P::T> reference(const Shape& s, const Inputs& in) {
  using T = typename P::T;
  mm::ref::VisionWeights<T> w;
  w.patch_embedding = mm::kt::to_mat<T>(in.w, s.D, s.K());
  w.class_embedding = mm::kt::to_vec<T>(in.cls);
  w.position_embedding = mm::kt::to_mat<T>(in.pos, s.N() + 1, s.D);
  const size_t per = static_cast<size_t>(s.C) * s.S * s.S;
  std::vector<T> out;
  for (int b = 0; b < s.crops; ++b) {
    const Mat<T> e = mm::ref::patch_embed<P>(std::span<const float>(in.pixels.data() + b * per, per), w, config(s));
    const auto f = mm::kt::flat(e);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

// The GEMM-order window: [lo, hi] (bf16_ord) per output element. `round_pixels` false gives the window of
// a kernel that forgot the pixel cast (used to show the window catches it).
// Alongside, the exact outputs of two fixed summation orders of the same rounding points: `seq` (a
// sequential fp32 sum over k = (ch, ky, kx): v1's order, on every backend) and `dbl` (a double sum in the
// same order rounded once to fp32: gemm.h's host loop, v2's GEMM in the SIMT build).
struct Window {
  std::vector<int> lo, hi;
  size_t ambiguous = 0;
  Bits seq, dbl;
};
Window gemm_window(const Shape& s, const Inputs& in, bool round_pixels = true) {
  const int N = s.N(), K = s.K(), D = s.D, side = s.side();
  const double gamma = K * 0x1p-24 / (1 - K * 0x1p-24);
  Window win;
  const size_t total = static_cast<size_t>(s.crops) * (N + 1) * D;
  win.lo.resize(total);
  win.hi.resize(total);
  win.seq.resize(total);
  win.dbl.resize(total);
  std::vector<double> x(static_cast<size_t>(K));
  auto ord = [](float v) { return mm::kt::bf16_ord(mm::f32_to_bf16_bits(v)); };
  for (int b = 0; b < s.crops; ++b) {
    const float* img = in.pixels.data() + static_cast<size_t>(b) * s.C * s.S * s.S;
    for (int j = 0; j < D; ++j) {  // CLS row: one value
      const size_t at = static_cast<size_t>(b) * (N + 1) * D + j;
      const float e0 = in.cls[static_cast<size_t>(j)] + in.pos[static_cast<size_t>(j)];
      win.lo[at] = win.hi[at] = ord(e0);
      win.seq[at] = win.dbl[at] = mm::f32_to_bf16_bits(e0);
    }
    for (int t = 0; t < N; ++t) {
      const int r = t / side, c = t % side;
      for (int ch = 0; ch < s.C; ++ch)
        for (int ky = 0; ky < s.p; ++ky)
          for (int kx = 0; kx < s.p; ++kx) {
            const float v = img[(static_cast<size_t>(ch) * s.S + r * s.p + ky) * s.S + c * s.p + kx];
            x[static_cast<size_t>((ch * s.p + ky) * s.p + kx)] = round_pixels ? mm::round_bf16(v) : v;
          }
      for (int j = 0; j < D; ++j) {
        double dot = 0, mag = 0;
        float seq = 0;
        const float* wj = in.w.data() + static_cast<size_t>(j) * K;
        for (int k = 0; k < K; ++k) {
          const double q = x[static_cast<size_t>(k)] * wj[k];  // exact in double
          dot += q;
          mag += std::abs(q);
          seq += static_cast<float>(x[static_cast<size_t>(k)]) * wj[k];  // the product is exact in fp32 too
        }
        // the double sum's own error (<= K 2^-53 mag) is far inside the fp32 bound; widen by one fp32 ulp
        const float c_lo = std::nextafter(static_cast<float>(dot - gamma * mag), -kInf);
        const float c_hi = std::nextafter(static_cast<float>(dot + gamma * mag), kInf);
        const float pj = in.pos[static_cast<size_t>(1 + t) * D + j];
        const size_t at = (static_cast<size_t>(b) * (N + 1) + 1 + t) * D + j;
        win.lo[at] = ord(mm::round_bf16(c_lo) + pj);
        win.hi[at] = ord(mm::round_bf16(c_hi) + pj);
        win.ambiguous += win.lo[at] != win.hi[at];
        win.seq[at] = mm::f32_to_bf16_bits(mm::round_bf16(seq) + pj);
        win.dbl[at] = mm::f32_to_bf16_bits(mm::round_bf16(static_cast<float>(dot)) + pj);
      }
    }
  }
  return win;
}

size_t outside(const Window& w, const Bits& got) {
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const int g = mm::kt::bf16_ord(got[i]);
    bad += g < w.lo[i] || g > w.hi[i];
  }
  return bad;
}

struct Backend {
  const char* name;
  std::function<Bits(int, const Inputs&, const Shape&)> run;  // by version index
  bool emulated;
};

Bits run_version(const Backend& be, int v, const Inputs& in, const Shape& s) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>([&] { return be.run(v, in, s); });
  return be.run(v, in, s);
}

std::string shape_name(const Shape& s) {
  return "crops=" + std::to_string(s.crops) + " C=" + std::to_string(s.C) + " S=" + std::to_string(s.S) +
         " p=" + std::to_string(s.p) + " D=" + std::to_string(s.D);
}

void check_shape(const Backend& be, const Shape& s, uint64_t seed) {
  const Inputs in = make_inputs(s, seed);
  const std::vector<float> want = reference<mm::ref::BF16>(s, in);
  const std::vector<double> oracle = reference<mm::ref::F64>(s, in);
  const Window win = gemm_window(s, in);
  const Bits want_bits = mm::kt::to_bf16_bits(want);
  // the window holds the reference's own bits, and it rejects the outputs of a dropped pixel cast
  EXPECT_EQ(outside(win, want_bits), 0u) << "ref-bf16 outside its own window, " << shape_name(s);
  if (be.emulated) {
    const Window raw = gemm_window(s, in, false);
    Bits raw_mid(want_bits.size());
    for (size_t i = 0; i < raw_mid.size(); ++i) {
      const int o = raw.lo[i];
      raw_mid[i] = static_cast<uint16_t>(o < 0 ? 0x8000 | -o : o);
    }
    EXPECT_GT(outside(win, raw_mid), 0u) << shape_name(s) << ": the window does not catch unrounded pixels";
  }
  const int N = s.N();
  int ran = 0;
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " " + shape_name(s);
    mm::patch_embed::Args probe;  // null pointers: device buffers; the workspaces given as run() gives them
    probe.crops = 0; probe.C = s.C; probe.S = s.S; probe.p = s.p; probe.D = s.D;
    if (!cpu::versions()[static_cast<size_t>(v)].supports(probe)) {  // refused: an error, never a launch
      EXPECT_THROW(run_version(be, v, in, s), std::invalid_argument) << what;
      continue;
    }
    ++ran;
    const Bits got = run_version(be, v, in, s);
    ASSERT_EQ(got.size(), want_bits.size()) << what;
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    size_t differ = 0, cls_differ = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] == want_bits[i]) continue;
      ++differ;
      const size_t row = i / static_cast<size_t>(s.D);
      cls_differ += row % static_cast<size_t>(N + 1) == 0;
    }
    std::printf("[bits] %s: %zu of %zu elements differ from ref-bf16 (%zu admit more than one value)\n", what.c_str(),
                differ, got.size(), win.ambiguous);
    EXPECT_EQ(cls_differ, 0u) << what << ": CLS rows differ from the ref-bf16 bits";
    EXPECT_EQ(outside(win, got), 0u) << what << ": outputs outside the GEMM-order window";
    // the version's own summation order, exactly: v1 everywhere (its loop is fixed), v2 where the GEMM is
    // gemm.h's host loop (cuBLAS's order is its own: the window above)
    if (v == 0) {
      EXPECT_TRUE(mm::kt::same_bits(what + " (v1's sequential fp32 order)", win.seq, got));
    }
    if (v == 1 && be.emulated) {
      EXPECT_TRUE(mm::kt::same_bits(what + " (the host GEMM's double sum)", win.dbl, got));
    }
    mm::kt::expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), want);
  }
  EXPECT_GE(ran, 2) << shape_name(s);
}

// The real crop (3 x 336 x 336, p 14: 576 patches, K 588, v3 pads it to 592) at vl-tiny's width (32) and a
// narrower one, one, two and 19 crops (a 1920 x 1080 image: v3's 128-row tiles); a synthetic 28 x 28
// geometry (4 patches) at D 64 with three crops; K 32 (2 channels of 4 x 4: no padding) at D 24 (one
// partial column tile); D 12 (not a multiple of 8: v3 refuses, v1 and v2 run); 9 crops of 16 x 16 patches
// of 3 x 3 (2304 rows: v3's 128-row tiles; K 27 padded to 32) at D 136 (a second, partial column tile:
// CLS rows and position epilogue across column tiles).
const Shape kShapes[] = {{1, 3, 336, 14, 32},   {2, 3, 336, 14, 16},   {19, 3, 336, 14, 8},
                         {3, 3, 28, 14, 64},    {2, 3, 28, 14, 1024},  {1, 3, 336, 14, 1024},
                         {3, 2, 16, 4, 24},     {2, 3, 28, 14, 12},    {9, 3, 48, 3, 136}};

void run_suite(const Backend& be) {
  uint64_t seed = 4200;
  for (const Shape& s : kShapes) {
    const auto t0 = std::chrono::steady_clock::now();
    check_shape(be, s, seed += 10);
    std::printf("[time] %s %s: %.2f s\n", be.name, shape_name(s).c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

TEST(OptPatchEmbed, SimtAllVersions) {
  run_suite({"simt",
             [](int v, const Inputs& in, const Shape& s) {
               return cpu::run(cpu::versions()[static_cast<size_t>(v)], in.pixels, mm::kt::to_bf16_bits(in.w),
                               mm::kt::to_bf16_bits(in.cls), mm::kt::to_bf16_bits(in.pos), s.crops, s.C, s.S, s.p,
                               s.D);
             },
             true});
}

template <class F> void expect_invalid(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no std::invalid_argument (expected one mentioning '" << parts[0] << "')";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// Shapes no version takes are errors with a message naming the field, never silent garbage.
TEST(OptPatchEmbed, BadArgsRejected) {
  const Shape s{1, 3, 28, 14, 8};
  const Inputs in = make_inputs(s, 77);
  const auto w = mm::kt::to_bf16_bits(in.w), cls = mm::kt::to_bf16_bits(in.cls), pos = mm::kt::to_bf16_bits(in.pos);
  for (const auto& v : cpu::versions()) {
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 1, 3, 30, 14, 8); }, {"multiple of the patch size", "S=30"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 1, 3, 28, 14, 0); }, {"hidden size D", "D=0"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 1, 3, 28, 14, -4); }, {"hidden size D", "D=-4"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, -1, 3, 28, 14, 8); }, {"crops must be >= 0", "crops=-1"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 1, 3, 28, 0, 8); }, {"patch size p", "p=0"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 1, 0, 28, 14, 8); }, {"channels C", "C=0"});
    // sizes of the host vectors
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, pos, 2, 3, 28, 14, 8); }, {"pixels"});
    expect_invalid([&] { cpu::run(v, in.pixels, Bits(w.size() - 1), cls, pos, 1, 3, 28, 14, 8); }, {"w"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, Bits(7), pos, 1, 3, 28, 14, 8); }, {"cls"});
    expect_invalid([&] { cpu::run(v, in.pixels, w, cls, Bits(4 * 8), 1, 3, 28, 14, 8); }, {"pos"});
    EXPECT_TRUE(cpu::run(v, {}, w, cls, pos, 0, 3, 28, 14, 8).empty());  // no crops: nothing to do
    mm::patch_embed::Args a;  // the entry verb: launch_checked refuses what `supports` refuses
    a.crops = 1; a.S = 30; a.p = 14; a.D = 8;
    EXPECT_FALSE(v.supports(a));
    EXPECT_THROW(mm::gpu::launch_checked(v, a, nullptr, "patch_embed"), std::invalid_argument);
  }
  mm::patch_embed::Args a;  // v2 and v3 without their workspaces; v3 at D % 8 != 0
  a.crops = 1; a.S = 28; a.p = 14; a.D = 8;
  EXPECT_TRUE(cpu::versions()[0].supports(a));
  EXPECT_FALSE(cpu::versions()[1].supports(a));
  EXPECT_FALSE(cpu::versions()[2].supports(a));
  alignas(16) uint16_t buf[16] = {};  // a workspace stand-in
  a.patches = buf;
  EXPECT_FALSE(cpu::versions()[1].supports(a));  // still no conv
  EXPECT_TRUE(cpu::versions()[2].supports(a));
  a.D = 12;
  EXPECT_FALSE(cpu::versions()[2].supports(a));
  a.D = 8;  // misaligned buffers: v3 refused (v2 would take them)
  a.patches = buf + 4;  // 8-byte aligned
  EXPECT_FALSE(cpu::versions()[2].supports(a));
  a.patches = buf;
  a.out = buf + 1;  // 2-byte aligned
  EXPECT_FALSE(cpu::versions()[2].supports(a));
  a.out = nullptr;
  a.pos = buf + 3;
  EXPECT_FALSE(cpu::versions()[2].supports(a));
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(), "v7_unknown", "patch_embed"), std::invalid_argument);
}

#if MM_CUDA
namespace gpu = mm::patch_embed::backend_cuda;
TEST(OptPatchEmbed, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda",
             [](int v, const Inputs& in, const Shape& s) {
               return gpu::run(gpu::versions()[static_cast<size_t>(v)], in.pixels, mm::kt::to_bf16_bits(in.w),
                               mm::kt::to_bf16_bits(in.cls), mm::kt::to_bf16_bits(in.pos), s.crops, s.C, s.S, s.p,
                               s.D);
             },
             false});
}
#endif

}  // namespace
