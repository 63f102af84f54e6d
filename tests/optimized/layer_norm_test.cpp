// LayerNorm kernels (optimized/layer_norm): plain LayerNorm with weight and bias, and the vision encoder's
// residual add fused with it, every version under several emulator schedules (identical bits required)
// and on the GPU when present. Every version computes the ref-bf16 formula (ref::layer_norm<BF16>,
// reference/vision_encoder.cpp), so each output is held to ref-bf16 bits:
//   - the residual sum y = bf16(r + a) exactly (no summation order involved);
//   - v1's normed outputs exactly (it sums in the reference's sequential order);
//   - v2's normed outputs exactly up to the fp32 order of its two row sums (layernorm_expect below: the
//     construction of rownorm_exact.h for RMSNorm, with a worst-case bound of v2's summation tree in
//     place of rownorm_exact.h's statistical one).
// The acceptance rule against the fp64 reference (kernel_test_util.h) is checked and reported as well.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"
#include "tests/optimized/rownorm_exact.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>

#include "reference/vision_encoder.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_LAYER_NORM_DECLARE_CUDA 1
#endif
#include "optimized/layer_norm/layer_norm_runner.cuh"

namespace {

using mm::ref::Mat;
namespace cpu = mm::layer_norm::backend_simt;

constexpr double kEps = 1e-5;  // the vision config's layer_norm_eps
constexpr float kEpsF = static_cast<float>(kEps);

using mm::kt::flat;
using mm::kt::to_mat;
using mm::kt::to_vec;
template <class T> std::vector<T> cat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <class T> mm::ref::LayerNormWeights<T> weights(const std::vector<float>& w, const std::vector<float>& b) {
  return {to_vec<T>(w), to_vec<T>(b)};
}
// ref::layer_norm in policy P on flat [rows, H] values.
template <class P>
std::vector<typename P::T> ref_ln(const std::vector<float>& y, const std::vector<float>& w, const std::vector<float>& b,
                                  int rows, int H, double eps = kEps) {
  using T = typename P::T;
  return flat(Mat<T>(mm::ref::layer_norm<P>(to_mat<T>(y, rows, H), weights<T>(w, b), eps)));
}

// ---- the exact check of v2's normed outputs -----------------------------------------------------------
// The formula, per row of y (bf16 values) in fp32 with every operation rounded (this TU is built with
// -ffp-contract=off, as the reference):
//   mean = fl(S) / H,  S = sum y_j;   ss = sum fl(fl(y_j - mean)^2);   rstd = 1 / sqrt(ss / H + eps)
//   n_j  = bf16(fl(fl(w_j * fl(rstd * fl(y_j - mean))) + b_j))
// v1 adds S and ss in the reference's sequential order and is held to the reference's bits. v2 adds them
// in a tree (per thread, then a shuffle / shared-memory tree), so its mean and rstd may differ from the
// sequential ones by the sums' rounding error. The check brackets both, with the worst-case bound of a
// summation in which no term passes through more than D additions (Higham, Accuracy and Stability of
// Numerical Algorithms, 4.2): |fl(sum) - sum| <= gamma_D * sum |terms|, gamma_D = D u / (1 - D u),
// u = 2^-24. v2's depth: at most 32 terms per lane (warp per row, kMaxWarpVecs * 8) or per thread (block
// per row: kMaxBlockVecs * 8, or ceil(H / 256) on the scalar path), 5 butterfly levels, 8 warp partials;
// kTreeDepth(H) = 64 + ceil(H / 32) covers all of them and the host tree below.
//   - S in double is exact for these inputs; the kernel's fp32 sum lies in S +- gamma_D * sum|y_j| (a sum
//     with cancellation errs relative to the sum of magnitudes, not to S), and is exactly S where no
//     partial sum can round (below). Pushed through the same fp32 division: [mean_lo, mean_hi].
//   - for any kernel mean m in that interval, the kernel's ss is Q(m) = sum (y_j - m)^2 within a relative
//     gamma_{D+3} (all terms positive; each term rounds at most 3 times). Q is convex with its minimum
//     at S / H, so over the interval it lies in [Q(clamp(S / H)), max(Q(mean_lo), Q(mean_hi))], which gives
//     [rstd_lo, rstd_hi] through the same fp32 steps.
//   - n_j is monotone in the mean for a fixed rstd (direction: -sign w_j) and monotone in rstd for a fixed
//     mean (direction: sign of y_j - mean), every rounding being monotone; so over the box
//     [mean_lo, mean_hi] x [rstd_lo, rstd_hi] its extremes lie at the four corners.
// Every output must lie between the corners' bf16 values: its exact bits wherever they agree (~0.7 % of
// the elements at H = 1024 admit two values, fewer at the small widths; the count is reported). The
// window is sound by construction, not a statistical guess (the sequential order of the reference is
// not inside it at large H: its depth is H - 1, and on rows of few distinct values its rounding errors
// do not cancel, e.g. a relative 2.4e-5 on ss at H = 8200), and still far below the planted bugs
// below, which it is required to catch at every 577-row shape.

float ln_rstd(float ss, int H, float eps) { return 1.0f / std::sqrt(ss / static_cast<float>(H) + eps); }
int tree_depth(int H) { return 64 + (H + 31) / 32; }
double gamma_n(int n) { return n * 0x1p-24 / (1 - n * 0x1p-24); }

// Sub-ulp bugs to plant in a host copy of the formula, one at a time.
struct LnBug {
  bool var_h_minus_1 = false;     // unbiased variance: ss / (H - 1)
  float eps_scale = 1.0f;         // eps * 1.01
  bool one_pass = false;          // var = fl(sum y^2) / H - mean^2 (cancels on rows with a large mean)
  bool inner_round = false;       // bf16(rstd * (y - mean)) before the weight (RMSNorm's double rounding)
  bool bias_after_round = false;  // bf16(bf16(w * t) + b): the bias added after a rounded product
};

float ln_elem(float y, float mean, float rstd, float w, float b, const LnBug& bug = {}) {
  float t = rstd * (y - mean);
  if (bug.inner_round) t = mm::round_bf16(t);
  float u = w * t;
  if (bug.bias_after_round) u = mm::round_bf16(u);
  return mm::round_bf16(u + b);
}

// fp32 sum of term(0 .. H-1) in a tree of depth <= 31 + ceil(log2(ceil(H / 32))) (inside tree_depth):
// sequential over chunks of 32, then the chunk sums pairwise.
template <class F> float tree_sum(int H, F term) {
  std::vector<float> part;
  for (int c = 0; c < H; c += 32) {
    float s = 0;
    for (int j = c; j < std::min(H, c + 32); ++j) s += term(j);
    part.push_back(s);
  }
  while (part.size() > 1) {
    std::vector<float> next;
    for (std::size_t i = 0; i < part.size(); i += 2) next.push_back(i + 1 < part.size() ? part[i] + part[i + 1] : part[i]);
    part.swap(next);
  }
  return part.empty() ? 0.0f : part[0];
}

// The formula with fp32 sums in the reference's sequential order (tree = false: v1's arithmetic) or in
// tree_sum's (an order inside the window), with an optional planted bug.
std::vector<uint16_t> ln_host(const std::vector<float>& y, const std::vector<float>& w, const std::vector<float>& b,
                              int rows, int H, float eps, bool tree, const LnBug& bug = {}) {
  std::vector<uint16_t> out(y.size());
  auto sum_of = [&](auto term) {
    if (tree) return tree_sum(H, term);
    float s = 0;
    for (int j = 0; j < H; ++j) s += term(j);
    return s;
  };
  for (int r = 0; r < rows; ++r) {
    const float* yr = y.data() + static_cast<std::size_t>(r) * H;
    const float mean = sum_of([&](int j) { return yr[j]; }) / static_cast<float>(H);
    const float ss = sum_of([&](int j) { return (yr[j] - mean) * (yr[j] - mean); });
    float var = ss / static_cast<float>(bug.var_h_minus_1 ? H - 1 : H);
    if (bug.one_pass) var = sum_of([&](int j) { return yr[j] * yr[j]; }) / static_cast<float>(H) - mean * mean;
    const float rstd = 1.0f / std::sqrt(var + eps * bug.eps_scale);
    for (int j = 0; j < H; ++j)
      out[static_cast<std::size_t>(r) * H + j] = mm::f32_to_bf16_bits(
          ln_elem(yr[j], mean, rstd, w[static_cast<std::size_t>(j)], b[static_cast<std::size_t>(j)], bug));
  }
  return out;
}

mm::kt::RownormExpect layernorm_expect(const std::vector<float>& y, const std::vector<float>& w,
                                       const std::vector<float>& b, int rows, int H, float eps) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const double g_sum = gamma_n(tree_depth(H)), g_ss = gamma_n(tree_depth(H) + 3);
  mm::kt::RownormExpect e;
  e.lo.resize(y.size());
  e.hi.resize(y.size());
  const float Hf = static_cast<float>(H);
  for (int r = 0; r < rows; ++r) {
    const std::size_t base = static_cast<std::size_t>(r) * H;
    // S, sum |y| and g, the finest bf16 spacing in the row (every y_j is a multiple of g)
    double S = 0, A = 0, g = kInf;
    for (int j = 0; j < H; ++j) {
      const float v = y[base + j];
      S += v;
      A += std::abs(static_cast<double>(v));
      int ex = 0;
      if (v != 0) std::frexp(v, &ex), g = std::min(g, std::ldexp(1.0, ex - 8));
    }
    // Every partial sum, in any order, is a multiple of g no larger than A: when A < 2^24 g each one is
    // an fp32 value, so every order gives exactly S (rows with a large mean, whose bf16 values share a
    // coarse spacing). Otherwise the worst-case window.
    const double slack = A < 0x1p24 * g ? 0.0 : g_sum * A;
    const float s_lo = slack == 0 ? static_cast<float>(S) : std::nextafter(static_cast<float>(S - slack), -kInf);
    const float s_hi = slack == 0 ? static_cast<float>(S) : std::nextafter(static_cast<float>(S + slack), kInf);
    const float means[2] = {s_lo / Hf, s_hi / Hf};
    auto Q = [&](double m) {
      double q = 0;
      for (int j = 0; j < H; ++j) q += (y[base + j] - m) * (y[base + j] - m);
      return q;
    };
    const double q_min = Q(std::clamp(S / H, static_cast<double>(means[0]), static_cast<double>(means[1])));
    const double q_max = std::max(Q(means[0]), Q(means[1]));
    const float ss_lo = std::nextafter(static_cast<float>(q_min * (1 - g_ss)), 0.0f);
    const float ss_hi = std::nextafter(static_cast<float>(q_max * (1 + g_ss)), kInf);
    const float rstds[2] = {ln_rstd(ss_hi, H, eps), ln_rstd(ss_lo, H, eps)};
    for (int j = 0; j < H; ++j) {
      const std::size_t i = base + j;
      int lo = 0, hi = 0;
      bool first = true;
      for (float m : means)
        for (float rs : rstds) {
          const uint16_t v = mm::f32_to_bf16_bits(
              ln_elem(y[i], m, rs, w[static_cast<std::size_t>(j)], b[static_cast<std::size_t>(j)]));
          const int o = mm::kt::bf16_ord(v);
          if (first || o < lo) lo = o, e.lo[i] = v;
          if (first || o > hi) hi = o, e.hi[i] = v;
          first = false;
        }
      e.ambiguous += e.lo[i] != e.hi[i];
    }
  }
  return e;
}

// The check passes the host formula in a tree order and fails every planted bug (planted in the same
// order, so that only the bug can fail it).
void expect_check_catches_planted_bugs(const std::string& what, const mm::kt::RownormExpect& e,
                                       const std::vector<float>& y, const std::vector<float>& w,
                                       const std::vector<float>& b, int rows, int H) {
  using mm::kt::rownorm_bits_match;
  EXPECT_TRUE(rownorm_bits_match(what + " host formula", e, ln_host(y, w, b, rows, H, kEpsF, true)));
  const std::pair<const char*, LnBug> bugs[] = {
      {"variance over H - 1", {true, 1.0f, false, false, false}},
      {"eps * 1.01", {false, 1.01f, false, false, false}},
      {"one-pass variance", {false, 1.0f, true, false, false}},
      {"bf16 rounding of the normalised value", {false, 1.0f, false, true, false}},
      {"bias after a rounded product", {false, 1.0f, false, false, true}},
  };
  for (const auto& [name, bug] : bugs) {
    // A one-pass variance only goes wrong where its fp32 sums round: at H <= 100 the bf16 squares of a
    // row add up exactly and mean^2 is nearly always exact too, so the bug changes nothing there.
    if (bug.one_pass && H < 1024) continue;
    EXPECT_FALSE(rownorm_bits_match(what + " host, " + name, e, ln_host(y, w, b, rows, H, kEpsF, true, bug)))
        << what << ": the check does not catch " << name;
  }
}

// ---- inputs ------------------------------------------------------------------------------------------
// Four kinds of rows, by (row + 2) % 4 (a single row is of kind 2):
//   0: N(0, 2^2)                 O(1), eps hardly matters
//   1: N(0, (3e-3)^2)            var ~ 0.9 eps: eps weighs as much as the data, a wrong eps shows
//   2: 100 + N(0, 4^2)           a large mean (bf16 spacing 0.5 there): the mean subtraction matters and
//                                a one-pass E[y^2] - mean^2 variance loses ~13 bits to cancellation
//   3: -20 + N(0, 1)             a negative mean, bf16 spacing 0.125
// r (the residual) follows the kinds; a (the sub-layer output) is N(0, (s/2)^2) with the row's s, so
// y = bf16(r + a) keeps the row's kind.
struct Inputs {
  int rows, H;
  std::vector<float> x, a, w, b;
};
Inputs make_inputs(int rows, int H, uint64_t seed) {
  static constexpr double kMean[4] = {0.0, 0.0, 100.0, -20.0}, kStd[4] = {2.0, 3e-3, 4.0, 1.0};
  Inputs in{rows, H, {}, {}, {}, {}};
  const std::size_t n = static_cast<std::size_t>(rows) * H;
  in.x.resize(n);
  in.a.resize(n);
  mm::Rng rng(seed);
  for (int r = 0; r < rows; ++r) {
    const int kind = (r + 2) % 4;
    for (int j = 0; j < H; ++j) {
      const std::size_t i = static_cast<std::size_t>(r) * H + j;
      in.x[i] = mm::round_bf16(static_cast<float>(kMean[kind] + kStd[kind] * rng.normal()));
      in.a[i] = mm::round_bf16(static_cast<float>(0.5 * kStd[kind] * rng.normal()));
    }
  }
  in.w = mm::kt::randn_bf16(static_cast<std::size_t>(H), seed + 1, 0.2);
  for (auto& v : in.w) v = mm::round_bf16(1.0f + v);
  in.b = mm::kt::randn_bf16(static_cast<std::size_t>(H), seed + 2, 0.5);
  return in;
}

// The acceptance rule, and the errors against fp64 (max_abs and rel_fro, the kernel's and the bf16
// reference's, and their ratios) on one [accuracy] line.
void check_accuracy(const std::string& what, const std::vector<double>& oracle, const std::vector<float>& got,
                    const std::vector<float>& budget) {
  const mm::kt::ErrStats g = mm::kt::error_stats(oracle, got), bs = mm::kt::error_stats(oracle, budget);
  std::printf("[accuracy] %s: max_abs %.3g (bf16 ref %.3g, ratio %.3g), rel_fro %.3g (bf16 ref %.3g, ratio %.3g)\n",
              what.c_str(), g.max_abs, bs.max_abs, bs.max_abs > 0 ? g.max_abs / bs.max_abs : 0.0, g.rel_fro,
              bs.rel_fro, bs.rel_fro > 0 ? g.rel_fro / bs.rel_fro : 0.0);
  mm::kt::expect_fa_rule_and_report(what, oracle, got, budget);
}

// ---- the runs ----------------------------------------------------------------------------------------
// The runners of one backend, by index into the version tables (versions() and residual_versions() list
// the same versions in the same order).
struct Backend {
  const char* name;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                                      const std::vector<uint16_t>&, int, int, float)>
      plain;
  std::function<std::pair<std::vector<uint16_t>, std::vector<uint16_t>>(
      int, const std::vector<uint16_t>&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
      const std::vector<uint16_t>&, int, int, float)>
      residual;
  bool emulated;
};

Backend simt_backend() {
  return {"simt", [](int v, auto... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
          [](int v, auto... a) { return cpu::run(cpu::residual_versions()[static_cast<size_t>(v)], a...); }, true};
}

// Runs `f` under every schedule on the emulator (identical bits required), once on the GPU.
std::vector<uint16_t> run(const Backend& be, const std::function<std::vector<uint16_t>()>& f) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(f);
  return f();
}

// v1 sums in the reference's order: its bits are the reference's. v2: the bracket of its tree order.
void expect_ln_bits(const std::string& what, int version, const std::vector<float>& ref_bf16,
                    const mm::kt::RownormExpect& window, const std::vector<uint16_t>& got) {
  const auto want = mm::kt::to_bf16_bits(ref_bf16);
  if (version == 0) {
    EXPECT_TRUE(mm::kt::same_bits(what + " (ref-bf16 bits)", want, got));
  } else {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) differ += got[i] != want[i];
    std::printf("[bits] %s: %zu of %zu elements differ from ref-bf16 (%zu admit two values)\n", what.c_str(), differ,
                got.size(), window.ambiguous);
    EXPECT_TRUE(mm::kt::rownorm_bits_match(what, window, got));
  }
}

// The planted-bug check needs rows of every kind in numbers (a bug of 2^-11 moves a few % of a row's
// values across a rounding boundary): the 577-row shapes and up.
constexpr int kBugCheckRows = 577;

void check_plain(const Backend& be, int rows, int H, uint64_t seed, double eps = kEps) {
  const Inputs in = make_inputs(rows, H, seed);
  const float eps_f = static_cast<float>(eps);
  const auto oracle = ref_ln<mm::ref::F64>(in.x, in.w, in.b, rows, H, eps);
  const auto budget = ref_ln<mm::ref::BF16>(in.x, in.w, in.b, rows, H, eps);
  const auto xb = mm::kt::to_bf16_bits(in.x), wb = mm::kt::to_bf16_bits(in.w), bb = mm::kt::to_bf16_bits(in.b);
  const auto window = layernorm_expect(in.x, in.w, in.b, rows, H, eps_f);
  const std::string shape =
      " rows=" + std::to_string(rows) + " H=" + std::to_string(H) + (eps != kEps ? " eps=" + std::to_string(eps) : "");
  if (be.emulated) {  // the check itself (host only): the reference passes it, planted bugs fail it
    EXPECT_TRUE(mm::kt::same_bits("host formula vs ref-bf16" + shape, mm::kt::to_bf16_bits(budget),
                                  ln_host(in.x, in.w, in.b, rows, H, eps_f, false)));
    if (rows >= kBugCheckRows && eps == kEps) expect_check_catches_planted_bugs("plain" + shape, window, in.x, in.w, in.b, rows, H);
    std::printf("[window] plain%s: %zu of %zu elements admit two values\n", shape.c_str(), window.ambiguous,
                window.lo.size());
  }
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " plain" + shape;
    const auto got = run(be, [&] { return be.plain(v, xb, wb, bb, rows, H, eps_f); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    expect_ln_bits(what, v, budget, window, got);
    check_accuracy(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

// The encoder layer's residual add fused with the next norm: y = bf16(r + a), n = LN(y).
void check_residual(const Backend& be, int rows, int H, uint64_t seed) {
  const Inputs in = make_inputs(rows, H, seed);
  const std::size_t n = static_cast<std::size_t>(rows) * H;
  // y in fp64 (the oracle: the exact sum) and in ref-bf16 (one rounding of the fp32 sum, the kernels' y)
  std::vector<double> y64(n);
  std::vector<float> y16(n);
  for (std::size_t i = 0; i < n; ++i) {
    y64[i] = static_cast<double>(in.x[i]) + in.a[i];
    y16[i] = mm::round_bf16(in.x[i] + in.a[i]);
  }
  Mat<double> y64m(rows, H);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < H; ++j) y64m(r, j) = y64[static_cast<std::size_t>(r) * H + j];
  const auto oracle =
      cat(y64, flat(Mat<double>(mm::ref::layer_norm<mm::ref::F64>(y64m, weights<double>(in.w, in.b), kEps))));
  const auto n16 = ref_ln<mm::ref::BF16>(y16, in.w, in.b, rows, H);
  const auto budget = cat(y16, n16);
  const auto window = layernorm_expect(y16, in.w, in.b, rows, H, kEpsF);
  const auto rb = mm::kt::to_bf16_bits(in.x), ab = mm::kt::to_bf16_bits(in.a);
  const auto wb = mm::kt::to_bf16_bits(in.w), bb = mm::kt::to_bf16_bits(in.b);
  const std::string shape = " rows=" + std::to_string(rows) + " H=" + std::to_string(H);
  if (be.emulated && rows >= kBugCheckRows)
    expect_check_catches_planted_bugs("residual" + shape, window, y16, in.w, in.b, rows, H);
  for (int v = 0; v < static_cast<int>(cpu::residual_versions().size()); ++v) {
    const std::string what =
        std::string(be.name) + " " + cpu::residual_versions()[static_cast<size_t>(v)].name + " residual" + shape;
    const auto got = run(be, [&] {  // [y, n]
      auto [y, nn] = be.residual(v, rb, ab, wb, bb, rows, H, kEpsF);
      return cat(y, nn);
    });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    const std::vector<uint16_t> y(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(n)),
        nn(got.begin() + static_cast<std::ptrdiff_t>(n), got.end());
    EXPECT_TRUE(mm::kt::same_bits(what + " y", mm::kt::to_bf16_bits(y16), y));
    expect_ln_bits(what + " n", v, n16, window, nn);
    check_accuracy(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

struct Shape {
  int rows, H;
};
// The vision shapes: H = 1024 (the ViT width), 16 and 32 (vl-tiny), 100 (H % 8 != 0); rows = 1 and one
// or two 577-row crops. Which code each runs (layer_norm_runner.cuh; v1 is one scalar loop for every H):
// v2 warp per row with 1 vector per lane at 16 and 32, 4 at 1024; v2's scalar block path at 100. The
// remaining v2 paths at a few rows: warp per row with 2 vectors (512), block per row with 2 and 4
// vectors per thread (2048, 8192) and the scalar path past the register cache (8200).
// 19 crops (19 * 577 rows) only at the vl-tiny width: at H = 1024 it would take ~10x the whole test.
const Shape kPlainShapes[] = {{1, 1024},  {577, 1024}, {1154, 1024}, {1, 16},      {577, 16},
                              {1154, 16}, {577, 32},   {1154, 32},   {19 * 577, 32}, {1, 100},
                              {577, 100}, {1154, 100}, {8, 512},     {6, 2048},    {4, 8192},
                              {4, 8200}};
const Shape kResidualShapes[] = {{1, 1024}, {577, 1024}, {1154, 16}, {19 * 577, 16}, {577, 32},
                                 {577, 100}, {8, 512},   {4, 8192}};

void run_suite(const Backend& be) {
  uint64_t seed = 500;
  for (const Shape& s : kPlainShapes) check_plain(be, s.rows, s.H, seed += 10);
  // eps is the caller's: another value changes the eps-sized rows (a kernel fixed at 1e-5 fails here)
  check_plain(be, 577, 32, seed += 10, 1e-3);
  check_plain(be, 577, 1024, seed += 10, 1e-6);
  for (const Shape& s : kResidualShapes) check_residual(be, s.rows, s.H, seed += 10);
}

TEST(OptLayerNorm, SimtAllVersions) { run_suite(simt_backend()); }

// Shapes no version takes are errors, never silent garbage.
TEST(OptLayerNorm, RejectsBadShapesAndVersions) {
  const std::vector<uint16_t> w(4), b(4);
  for (const auto& v : cpu::versions()) {
    EXPECT_THROW(cpu::run(v, std::vector<uint16_t>(10), w, b, 2, 4, kEpsF), std::invalid_argument);  // x size
    EXPECT_THROW(cpu::run(v, std::vector<uint16_t>(8), w, std::vector<uint16_t>(3), 2, 4, kEpsF),
                 std::invalid_argument);                                                                // b size
    EXPECT_THROW(cpu::run(v, {}, {}, {}, 2, 0, kEpsF), std::invalid_argument);                         // H = 0
    EXPECT_THROW(cpu::run(v, {}, w, b, -1, 4, kEpsF), std::invalid_argument);                          // rows < 0
    EXPECT_TRUE(cpu::run(v, {}, w, b, 0, 4, kEpsF).empty());
    mm::layer_norm::Args a;  // the entry verb: launch_checked refuses what `supports` refuses
    a.rows = 2;
    a.H = 0;
    EXPECT_FALSE(v.supports(a));
    EXPECT_THROW(mm::gpu::launch_checked(v, a, nullptr, "layer_norm"), std::invalid_argument);
  }
  for (const auto& v : cpu::residual_versions())
    EXPECT_THROW(cpu::run(v, std::vector<uint16_t>(8), std::vector<uint16_t>(7), w, b, 2, 4, kEpsF),
                 std::invalid_argument);  // a size
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(), "v7_unknown", "layer_norm"), std::invalid_argument);
  mm::layer_norm::Args none;
  none.H = -3;
  EXPECT_THROW(mm::gpu::pick(cpu::versions(), none, "layer_norm", "H=-3"), std::invalid_argument);
}

#if MM_CUDA
namespace gpu = mm::layer_norm::backend_cuda;
TEST(OptLayerNorm, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return gpu::run(gpu::residual_versions()[static_cast<size_t>(v)], a...); }, false});
}
#endif

}  // namespace
