// Vision linear-layer epilogues (optimized/vision_mlp): y = bf16(C + b), the exact GELU after it, and the
// encoder layer's residual add after it, every version under several emulator schedules (identical bits
// required) and on the GPU when present; and the whole biased Linear, both versions (v1 the shared GEMM
// interface then the epilogue, v2 the tensor-core GEMM with the epilogue fused), against
// ref::linear_bias<BF16> + gelu_erf_stored / the residual add.
// Held to ref-bf16 (reference/vision_encoder.h) bits:
//   - kBias and kBiasResidual (y and m): exactly, one fp32 add and one rounding each;
//   - kBiasGelu: exactly up to the erf function. The reference evaluates erf with SLEEF (1 ulp), the
//     kernels with erff (the host's, glibc: 1 ulp, in the SIMT build; CUDA's: 2 ulp). gelu_expect below
//     allows every erf value within those ulps of the correctly rounded erf and requires the output
//     between the two bf16 results: one value (exact bits) for ~97 % of the elements; the window is
//     wider than "2 fp32 ulps of the pre-rounding value" on purpose, because where t < 0 the sum 1 + erf
//     cancels and one ulp of erf is many ulps of the product (t = -3: 1 + erf ~ 2.7e-3, one erf ulp is
//     ~2^-15 of it). The counts of elements admitting two values and of those that differ from ref-bf16
//     are printed. In the SIMT build no element differs (glibc and SLEEF agree on every GELU output of
//     these inputs), so there the outputs are also held to the ref-bf16 bits outright.
// The acceptance rule against the fp64 reference (kernel_test_util.h) is checked and reported as well.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"
#include "tests/optimized/rownorm_exact.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>

#include "reference/vision_encoder.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_VISION_MLP_DECLARE_CUDA 1
#endif
#include "optimized/vision_mlp/vision_mlp_runner.cuh"

namespace {

using mm::ref::Mat;
using mm::vision_mlp::Mode;
namespace cpu = mm::vision_mlp::backend_simt;
using mm::kt::flat;
using mm::kt::to_mat;

constexpr Mode kModes[] = {mm::vision_mlp::kBias, mm::vision_mlp::kBiasGelu, mm::vision_mlp::kBiasResidual};
const char* mode_name(Mode m) {
  return m == mm::vision_mlp::kBias ? "bias" : m == mm::vision_mlp::kBiasGelu ? "bias+gelu" : "bias+residual";
}
constexpr float kInf = std::numeric_limits<float>::infinity();

template <class T> std::vector<T> cat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- the ref-bf16 formula, element by element ----------------------------------------------------------
// t = bf16(fl32(c + b));  gelu: bf16(fl(fl(t * 0.5) * fl(1 + e))), e = erf(fl(t * fl32(1/sqrt 2)));
// residual: bf16(fl(h + t)). This TU is built with -ffp-contract=off (mm_reference), as the reference.
constexpr float kRsqrt2 = static_cast<float>(0.70710678118654752440);
float lin(float c, float b) { return mm::round_bf16(c + b); }
float gelu_pre(float t, float e) { return (t * 0.5f) * (1.0f + e); }

// fp32 value `ulps` steps from x (towards +inf for ulps > 0).
float step(float x, int ulps) {
  for (int i = 0; i < std::abs(ulps); ++i) x = std::nextafter(x, ulps > 0 ? kInf : -kInf);
  return x;
}

// The bf16 outputs allowed for gelu(t) when erf may be any value within erf_ulps fp32 ulps of the
// correctly rounded erf (a function within u ulp of the exact value lies within floor(u + 0.5) ulps of its
// correct rounding): gelu_pre is monotone in e (direction: sign of t) and every rounding is monotone, so
// the two ends bound it.
void gelu_range(float t, int erf_ulps, int& lo, int& hi, uint16_t& lo_bits, uint16_t& hi_bits) {
  const float a = t * kRsqrt2;
  const float e0 = static_cast<float>(std::erf(static_cast<double>(a)));
  const uint16_t u = mm::f32_to_bf16_bits(gelu_pre(t, step(e0, -erf_ulps)));
  const uint16_t v = mm::f32_to_bf16_bits(gelu_pre(t, step(e0, erf_ulps)));
  const bool swap = mm::kt::bf16_ord(u) > mm::kt::bf16_ord(v);
  lo_bits = swap ? v : u;
  hi_bits = swap ? u : v;
  lo = mm::kt::bf16_ord(lo_bits);
  hi = mm::kt::bf16_ord(hi_bits);
}

// Allowed output ranges of the GELU mode for given t values (bf16-exact), in rownorm_exact.h's form.
mm::kt::RownormExpect gelu_expect(const std::vector<float>& t, int erf_ulps) {
  mm::kt::RownormExpect e;
  e.lo.resize(t.size());
  e.hi.resize(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    int lo = 0, hi = 0;
    gelu_range(t[i], erf_ulps, lo, hi, e.lo[i], e.hi[i]);
    e.ambiguous += lo != hi;
  }
  return e;
}

// ref-bf16 GELU (SLEEF erf) and the fp64 oracle over flat values.
std::vector<float> ref_gelu_bf16(const std::vector<float>& t, int rows, int cols) {
  Mat<float> m = to_mat<float>(t, rows, cols);
  mm::ref::gelu_erf_stored<mm::ref::BF16>(m);
  return flat(m);
}
std::vector<double> ref_gelu_f64(const std::vector<double>& s, int rows, int cols) {
  Mat<double> m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = s[static_cast<std::size_t>(i) * cols + j];
  mm::ref::gelu_erf_stored<mm::ref::F64>(m);
  return flat(m);
}

// How many outputs differ from ref-bf16, and how many of those lie outside a window of 2 fp32 ulps of
// the pre-rounding value around the reference's (reported: the erf difference is amplified past 2 ulps
// where 1 + erf cancels, t < 0).
void report_gelu_bits(const std::string& what, const std::vector<float>& t, const std::vector<float>& want,
                      const std::vector<uint16_t>& got, const mm::kt::RownormExpect& window) {
  std::size_t differ = 0, outside_pre2 = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (mm::f32_to_bf16_bits(want[i]) == got[i]) continue;
    ++differ;
    // the pre-rounding value with the correctly rounded erf (SLEEF's is within 1 ulp of it)
    const float pre = gelu_pre(t[i], static_cast<float>(std::erf(static_cast<double>(t[i] * kRsqrt2))));
    const int a = mm::kt::bf16_ord(mm::f32_to_bf16_bits(step(pre, -2)));
    const int b = mm::kt::bf16_ord(mm::f32_to_bf16_bits(step(pre, 2)));
    const int g = mm::kt::bf16_ord(got[i]);
    if (g < std::min(a, b) || g > std::max(a, b)) ++outside_pre2;
  }
  std::printf("[bits] %s: %zu of %zu elements differ from ref-bf16 (%zu outside a 2-ulp pre-rounding window; "
              "%zu admit two values under the erf window)\n",
              what.c_str(), differ, got.size(), outside_pre2, window.ambiguous);
}

// ---- inputs --------------------------------------------------------------------------------------------
// c: fp32 N(0, 2^2) (a GEMM output: full fp32 mantissas, not bf16); GELU's interesting range, the negative
// tail where 1 + erf cancels included. b: bf16 N(0, 0.5^2); h: bf16 N(0, 3^2) (the residual stream).
struct Inputs {
  std::vector<float> c, b, h;
};
Inputs make_inputs(int m, int n, uint64_t seed) {
  Inputs in;
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd(0.0, 2.0);
  in.c.resize(static_cast<std::size_t>(m) * n);
  for (auto& v : in.c) v = static_cast<float>(nd(g));
  in.b = mm::kt::randn_bf16(static_cast<std::size_t>(n), seed + 1, 0.5);
  in.h = mm::kt::randn_bf16(in.c.size(), seed + 2, 3.0);
  return in;
}

// ---- the runs ------------------------------------------------------------------------------------------
struct Backend {
  const char* name;
  std::function<mm::vision_mlp::Outputs(Mode, int, const std::vector<float>&, const std::vector<uint16_t>&,
                                        const std::vector<uint16_t>&, int, int)>
      run;  // by version index
  std::function<mm::vision_mlp::Outputs(Mode, int, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                                        const std::vector<uint16_t>&, const std::vector<uint16_t>&, int, int, int)>
      linear;  // by Linear version index
  bool emulated;
  int erf_ulps;  // the kernels' erff: glibc's 1 ulp (x86-64) in the SIMT build, CUDA's documented 2 ulp
};

Backend simt_backend() {
  return {"simt",
          [](Mode mode, int v, const auto& c, const auto& b, const auto& h, int m, int n) {
            return cpu::run(mode, cpu::versions(mode)[static_cast<std::size_t>(v)], c, b, h, m, n);
          },
          [](Mode mode, int v, const auto& x, const auto& w, const auto& b, const auto& h, int m, int k, int n) {
            return cpu::linear(mode, cpu::linear_versions(mode)[static_cast<std::size_t>(v)], x, w, b, h, m, k, n);
          },
          true, 1};
}

// Runs `f` under every schedule on the emulator (identical bits required), once on the GPU; returns
// y followed by m_out.
std::vector<uint16_t> run(const Backend& be, const std::function<mm::vision_mlp::Outputs()>& f) {
  auto flat_out = [&] {
    auto o = f();
    return cat(o.y, o.m_out);
  };
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(flat_out);
  return flat_out();
}

void check_accuracy(const std::string& what, const std::vector<double>& oracle, const std::vector<float>& got,
                    const std::vector<float>& budget) {
  mm::kt::expect_fa_rule_and_report(what, oracle, got, budget);
}

void check_epilogue(const Backend& be, Mode mode, int m, int n, uint64_t seed) {
  const Inputs in = make_inputs(m, n, seed);
  const std::size_t total = in.c.size();
  // ref-bf16 (the budget and the bits) and fp64 (the oracle: no rounding after the exact C + b)
  std::vector<float> t(total), want_y(total);
  std::vector<double> s(total);
  for (std::size_t i = 0; i < total; ++i) {
    const float bj = in.b[i % static_cast<std::size_t>(n)];
    t[i] = lin(in.c[i], bj);
    s[i] = static_cast<double>(in.c[i]) + bj;
  }
  std::vector<double> oracle;
  std::vector<float> budget;
  mm::kt::RownormExpect window;
  if (mode == mm::vision_mlp::kBias) {
    want_y = t;
    oracle = s;
  } else if (mode == mm::vision_mlp::kBiasGelu) {
    want_y = ref_gelu_bf16(t, m, n);
    oracle = ref_gelu_f64(s, m, n);
    window = gelu_expect(t, be.erf_ulps);
  } else {
    std::vector<double> y64(total);
    for (std::size_t i = 0; i < total; ++i) {
      want_y[i] = mm::round_bf16(in.h[i] + t[i]);
      y64[i] = in.h[i] + s[i];
    }
    oracle = cat(y64, s);
  }
  budget = mode == mm::vision_mlp::kBiasResidual ? cat(want_y, t) : want_y;
  const std::string shape = std::string(" ") + mode_name(mode) + " m=" + std::to_string(m) + " n=" + std::to_string(n);
  if (be.emulated && mode == mm::vision_mlp::kBiasGelu) {
    // the window itself: it holds the reference's own bits, and it catches a GELU of the unrounded C + b
    // (the dropped linear rounding) at every shape of more than a few elements
    EXPECT_TRUE(mm::kt::rownorm_bits_match("ref-bf16 in its window" + shape, window, mm::kt::to_bf16_bits(want_y)));
    std::vector<uint16_t> unrounded(total);
    for (std::size_t i = 0; i < total; ++i) {
      const float u = in.c[i] + in.b[i % static_cast<std::size_t>(n)];
      unrounded[i] = mm::f32_to_bf16_bits(gelu_pre(u, std::erf(u * kRsqrt2)));
    }
    if (total >= 64) {
      EXPECT_FALSE(mm::kt::rownorm_bits_match("gelu of unrounded C + b" + shape, window, unrounded))
          << shape << ": the window does not catch a dropped linear rounding";
    }
  }
  const auto bb = mm::kt::to_bf16_bits(in.b), hb = mm::kt::to_bf16_bits(in.h);
  for (int v = 0; v < static_cast<int>(cpu::versions(mode).size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions(mode)[static_cast<std::size_t>(v)].name + shape;
    const auto got = run(be, [&] { return be.run(mode, v, in.c, bb, hb, m, n); });
    ASSERT_EQ(got.size(), budget.size()) << what;
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    if (mode == mm::vision_mlp::kBiasGelu) {
      report_gelu_bits(what, t, want_y, got, window);
      EXPECT_TRUE(mm::kt::rownorm_bits_match(what, window, got));
      // Measured: glibc's erff and SLEEF's erf give the same GELU bits on every element of these inputs
      // (0 of ~100k differ), so the emulator is held to ref-bf16 bits outright; the window is the GPU's.
      if (be.emulated) {
        EXPECT_TRUE(mm::kt::same_bits(what + " (ref-bf16 bits)", mm::kt::to_bf16_bits(want_y), got));
      }
    } else {
      EXPECT_TRUE(mm::kt::same_bits(what + " (ref-bf16 bits)", mm::kt::to_bf16_bits(budget), got));
    }
    check_accuracy(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

// ---- the whole Linear through the shared GEMM interface ------------------------------------------------
// x [m, k], w [n, k], b [n] bf16; C = x w^T in fp32 from any summation order (cuBLAS, the SIMT host loop
// in double, Eigen's fp32 kernels in the reference) lies within gamma_k * sum_p |x_ip w_jp| of the exact
// dot product (Higham 3.1; the double sum of k = 32 bf16 products, each exact in double, is exact to
// ~2^-48 relative, far inside). t = bf16(fl(C + b)) is monotone in C, so C's interval gives a contiguous
// range of t values (one or two); each gives its y range (GELU: gelu_range; residual: bf16(h + t),
// monotone), and the output must lie in their union. Where t is a single value, that is the exact bits
// of the epilogue.
void check_linear(const Backend& be, Mode mode, int m, int k, int n, uint64_t seed) {
  const auto x = mm::kt::randn_bf16(static_cast<std::size_t>(m) * k, seed, 1.0);
  const auto w = mm::kt::randn_bf16(static_cast<std::size_t>(n) * k, seed + 1, 0.3);
  const auto b = mm::kt::randn_bf16(static_cast<std::size_t>(n), seed + 2, 0.5);
  const auto h = mm::kt::randn_bf16(static_cast<std::size_t>(m) * n, seed + 3, 3.0);
  const std::size_t total = static_cast<std::size_t>(m) * n;
  const bool residual = mode == mm::vision_mlp::kBiasResidual;
  // the references: ref::linear_bias in BF16 and F64, then the mode's tail
  mm::ref::BiasedLinear<float> wf{to_mat<float>(w, n, k), mm::kt::to_vec<float>(b)};
  mm::ref::BiasedLinear<double> wd{to_mat<double>(w, n, k), mm::kt::to_vec<double>(b)};
  Mat<float> lf = mm::ref::linear_bias<mm::ref::BF16>(to_mat<float>(x, m, k), wf);
  Mat<double> ld = mm::ref::linear_bias<mm::ref::F64>(to_mat<double>(x, m, k), wd);
  std::vector<float> budget;
  std::vector<double> oracle;
  if (mode == mm::vision_mlp::kBias) {
    budget = flat(lf);
    oracle = flat(ld);
  } else if (mode == mm::vision_mlp::kBiasGelu) {
    mm::ref::gelu_erf_stored<mm::ref::BF16>(lf);
    mm::ref::gelu_erf_stored<mm::ref::F64>(ld);
    budget = flat(lf);
    oracle = flat(ld);
  } else {
    const auto mf = flat(lf);
    const auto md = flat(ld);
    std::vector<float> yf(total);
    std::vector<double> yd(total);
    for (std::size_t i = 0; i < total; ++i) {
      yf[i] = mm::round_bf16(h[i] + mf[i]);
      yd[i] = h[i] + md[i];
    }
    budget = cat(yf, mf);
    oracle = cat(yd, md);
  }
  // the window: [lo, hi] per output (y, then m in the residual mode)
  const double gamma_k = k * 0x1p-24 / (1 - k * 0x1p-24);
  std::vector<int> lo(budget.size()), hi(budget.size());
  std::size_t ambiguous = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double dot = 0, mag = 0;
      for (int p = 0; p < k; ++p) {
        const double q = static_cast<double>(x[static_cast<std::size_t>(i) * k + p]) * w[static_cast<std::size_t>(j) * k + p];
        dot += q;
        mag += std::abs(q);
      }
      const float c_lo = std::nextafter(static_cast<float>(dot - gamma_k * mag), -kInf);
      const float c_hi = std::nextafter(static_cast<float>(dot + gamma_k * mag), kInf);
      const std::size_t at = static_cast<std::size_t>(i) * n + j;
      const int t_lo = mm::kt::bf16_ord(mm::f32_to_bf16_bits(lin(c_lo, b[static_cast<std::size_t>(j)])));
      const int t_hi = mm::kt::bf16_ord(mm::f32_to_bf16_bits(lin(c_hi, b[static_cast<std::size_t>(j)])));
      int ylo = std::numeric_limits<int>::max(), yhi = std::numeric_limits<int>::min();
      for (int o = t_lo; o <= t_hi; ++o) {  // every bf16 t in range (bf16_ord is monotone and dense)
        const float tv = mm::bf16_bits_to_f32(static_cast<uint16_t>(o < 0 ? 0x8000 | -o : o));
        int a = 0, c = 0;
        if (mode == mm::vision_mlp::kBiasGelu) {
          uint16_t ab = 0, cb = 0;
          gelu_range(tv, be.erf_ulps, a, c, ab, cb);
        } else {
          a = c = mm::kt::bf16_ord(mm::f32_to_bf16_bits(residual ? mm::round_bf16(h[at] + tv) : tv));
        }
        ylo = std::min(ylo, a);
        yhi = std::max(yhi, c);
      }
      lo[at] = ylo;
      hi[at] = yhi;
      ambiguous += ylo != yhi;
      if (residual) lo[total + at] = t_lo, hi[total + at] = t_hi;
    }
  const auto xb = mm::kt::to_bf16_bits(x), wb = mm::kt::to_bf16_bits(w), bb = mm::kt::to_bf16_bits(b),
             hb = mm::kt::to_bf16_bits(h);
  mm::vision_mlp::LinearArgs probe;  // null pointers: aligned device buffers; c: a workspace is given
  alignas(16) float workspace = 0.0f;
  probe.c = &workspace;
  probe.m = m;
  probe.k = k;
  probe.n = n;
  int ran = 0;
  for (int v = 0; v < static_cast<int>(cpu::linear_versions(mode).size()); ++v) {
    const auto& version = cpu::linear_versions(mode)[static_cast<std::size_t>(v)];
    const std::string what = std::string(be.name) + " linear " + version.name + " " + mode_name(mode) +
                             " m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n);
    if (!version.supports(probe)) {  // a refused shape is an error, never a silent launch
      EXPECT_THROW(be.linear(mode, v, xb, wb, bb, hb, m, k, n), std::invalid_argument) << what;
      continue;
    }
    ++ran;
    const auto got = run(be, [&] { return be.linear(mode, v, xb, wb, bb, hb, m, k, n); });
    ASSERT_EQ(got.size(), budget.size()) << what;
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    std::size_t bad = 0, differ = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      const int g = mm::kt::bf16_ord(got[i]);
      bad += g < lo[i] || g > hi[i];
      differ += got[i] != mm::f32_to_bf16_bits(budget[i]);
    }
    std::printf("[bits] %s: %zu of %zu elements differ from ref-bf16 (%zu admit more than one value)\n",
                what.c_str(), differ, got.size(), ambiguous);
    EXPECT_EQ(bad, 0u) << what << ": outputs outside the GEMM-order window";
    check_accuracy(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
  EXPECT_GE(ran, 1) << "no Linear version takes m=" << m << " k=" << k << " n=" << n;
}

struct Shape {
  int m, n;
};
// n = 1024 (the ViT width: fc2, out_proj, q/k/v) and 4096 (fc1) at a few rows (the emulator runs one
// fiber per thread), n = 16 and 64 (vl-tiny) and 20 (n % 8 != 0: v2's scalar path, rows straddled by a
// thread's 8 elements) up to one 577-row crop, and a 19-crop image's rows (19 * 577) at n 16.
const Shape kShapes[] = {{1, 1024}, {7, 1024}, {1, 4096}, {7, 4096}, {1, 16},  {7, 16},  {577, 16},
                         {1, 64},   {7, 64},   {577, 64}, {1, 20},   {7, 20},  {577, 20}, {19 * 577, 16}};

struct LinearShape {
  int m, k, n;
};
// The whole Linear: both versions where they apply. The fused v2's tile edges: 64-row tiles below 2048
// rows (m 1, 9, 65: a partial tile, a second tile; one and two crops, 577 and 1154), a K tail past the last 32-wide tile with k % 8 == 0
// (k 40), a second 128-wide column tile cut short (n 136), and 128-row tiles at a 19-crop image's rows
// (19 * 577, an odd count) and over three K tiles and three column tiles, each last one partial (2111, 72,
// 264); k 20 and n 20 (not multiples of 8): v1 only, v2 must refuse.
const LinearShape kLinearShapes[] = {{9, 32, 64},       {1, 32, 16},       {65, 40, 136},   {577, 64, 16},
                                     {2 * 577, 32, 24}, {19 * 577, 32, 16}, {2111, 72, 264}, {7, 20, 16},
                                     {7, 32, 20}};

void run_suite(const Backend& be) {
  uint64_t seed = 900;
  for (Mode mode : kModes)
    for (const Shape& s : kShapes) check_epilogue(be, mode, s.m, s.n, seed += 10);
  for (Mode mode : kModes)
    for (const LinearShape& s : kLinearShapes) check_linear(be, mode, s.m, s.k, s.n, seed += 10);
}

TEST(OptVisionMlp, SimtAllVersions) { run_suite(simt_backend()); }

// The released tower's out_proj at one crop (577 x 1024 x 1024, + residual): 32 K tiles and 8 column
// tiles of the fused v2 with the model's own configuration (64 x 128 tiles below 2048 rows).
TEST(OptVisionMlp, SimtReleasedShapeOneCrop) { check_linear(simt_backend(), mm::vision_mlp::kBiasResidual, 577, 1024, 1024, 990); }

// Shapes no version takes are errors, never silent garbage.
TEST(OptVisionMlp, RejectsBadShapesAndVersions) {
  const std::vector<uint16_t> b(4), h(8);
  const std::vector<float> c(8);
  for (Mode mode : kModes)
    for (const auto& v : cpu::versions(mode)) {
      EXPECT_THROW(cpu::run(mode, v, std::vector<float>(10), b, h, 2, 4), std::invalid_argument);  // c size
      EXPECT_THROW(cpu::run(mode, v, c, std::vector<uint16_t>(3), h, 2, 4), std::invalid_argument);  // b size
      EXPECT_THROW(cpu::run(mode, v, {}, {}, {}, 2, 0), std::invalid_argument);                      // n = 0
      EXPECT_THROW(cpu::run(mode, v, {}, b, {}, -1, 4), std::invalid_argument);                      // m < 0
      EXPECT_TRUE(cpu::run(mode, v, {}, b, {}, 0, 4).y.empty());
      mm::vision_mlp::Args a;  // the entry verb: launch_checked refuses what `supports` refuses
      a.m = 2;
      a.n = 0;
      EXPECT_FALSE(v.supports(a));
      EXPECT_THROW(mm::gpu::launch_checked(v, a, nullptr, "vision_mlp"), std::invalid_argument);
    }
  for (const auto& v : cpu::versions(mm::vision_mlp::kBiasResidual))
    EXPECT_THROW(cpu::run(mm::vision_mlp::kBiasResidual, v, c, b, std::vector<uint16_t>(7), 2, 4),
                 std::invalid_argument);  // h size
  for (Mode mode : kModes)
    for (const auto& v : cpu::linear_versions(mode)) {
      EXPECT_THROW(cpu::linear(mode, v, std::vector<uint16_t>(16), std::vector<uint16_t>(31), b, h, 2, 8, 4),
                   std::invalid_argument);  // w size
      EXPECT_THROW(cpu::linear(mode, v, std::vector<uint16_t>(15), std::vector<uint16_t>(32), b, h, 2, 8, 4),
                   std::invalid_argument);                                                            // x size
      EXPECT_THROW(cpu::linear(mode, v, {}, {}, b, h, 2, 0, 4), std::invalid_argument);             // k = 0
      EXPECT_THROW(cpu::linear(mode, v, {}, {}, {}, {}, 2, 8, 0), std::invalid_argument);           // n = 0
      EXPECT_THROW(cpu::linear(mode, v, {}, {}, b, h, -1, 8, 4), std::invalid_argument);            // m < 0
    }
  // the fused v2: 16-byte rows (k % 8), column pairs inside a row (n % 8), aligned pointers; v1 needs its
  // fp32 workspace whenever there are rows; launch_linear names the shape when no version takes it
  {
    const auto& t = cpu::linear_versions(mm::vision_mlp::kBias);
    mm::vision_mlp::LinearArgs a;
    a.m = 4; a.k = 16; a.n = 16;
    EXPECT_TRUE(t[1].supports(a));
    a.k = 12;
    EXPECT_FALSE(t[1].supports(a));
    a.k = 16; a.n = 12;
    EXPECT_FALSE(t[1].supports(a));
    a.n = 16;
    alignas(16) uint16_t buf[16] = {};
    a.x = buf + 4;  // 8-byte aligned
    EXPECT_FALSE(t[1].supports(a));
    a.x = buf;
    a.y = buf + 1;  // 2-byte aligned
    EXPECT_FALSE(t[1].supports(a));
    a.y = nullptr;
    a.c = nullptr;
    EXPECT_TRUE(t[0].supports(a) == false && t[1].supports(a));
    a.m = 0;
    EXPECT_TRUE(t[0].supports(a));
    for (Mode mode : kModes) {  // the fp32 workspace is needed exactly where only v1 takes the shape
      EXPECT_FALSE(cpu::linear_needs_workspace(mode, 4, 16, 16));
      EXPECT_TRUE(cpu::linear_needs_workspace(mode, 4, 12, 16));
      EXPECT_TRUE(cpu::linear_needs_workspace(mode, 4, 16, 12));
    }
    EXPECT_THROW(cpu::linear_needs_workspace(mm::vision_mlp::kBias, 4, 0, 16), std::invalid_argument);
    try {
      cpu::launch_linear(mm::vision_mlp::kBias, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 4, 12,
                         16, nullptr);
      ADD_FAILURE() << "launch_linear took k 12 without a workspace";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("m=4 k=12 n=16"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(cpu::versions(static_cast<Mode>(7)), std::invalid_argument);
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(mm::vision_mlp::kBias), "v7_unknown", "vision_mlp"),
               std::invalid_argument);
}

#if MM_CUDA
namespace gpu = mm::vision_mlp::backend_cuda;
TEST(OptVisionMlp, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda",
             [](Mode mode, int v, const auto& c, const auto& b, const auto& h, int m, int n) {
               return gpu::run(mode, gpu::versions(mode)[static_cast<std::size_t>(v)], c, b, h, m, n);
             },
             [](Mode mode, int v, const auto& x, const auto& w, const auto& b, const auto& h, int m, int k, int n) {
               return gpu::linear(mode, gpu::linear_versions(mode)[static_cast<std::size_t>(v)], x, w, b, h, m, k, n);
             },
             false, 2});
}
#endif

}  // namespace
