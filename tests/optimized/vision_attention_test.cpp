// Vision attention core (optimized/vision_attention): bidirectional per-head softmax attention over
// crops packed one after another (varlen; a crop attends only to itself), v1 thread per query (any d in
// 1..256) and v2 FA2 on mma.sync (d 32/64/128), every version against an fp64 oracle with the budget of
// the same computation in ref::BF16 (bf16 q/k/v, fp32 scores and softmax, bf16 output). Emulator
// (backend_simt) under several schedules, and the nvcc build (backend_cuda) when a GPU is present.
//
// The oracle: ref::vision_attention<P> (reference/vision_encoder.cpp) takes the layer input and the
// projection weights and returns out_proj's output, so the test computes its core (scores, softmax, P V,
// the bf16 store of o) in a local function, attend_core<T>, with the reference's operation order.
// ReferenceCoreMatchesFullAttention checks attend_core against ref::vision_attention on the same input,
// with permutation projections (exact in every precision) that make q, k, v three different matrices.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
// Eigen / reference before any kernel header.
#include "reference/precision.h"
#include "reference/vision_encoder.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_VISION_ATTENTION_DECLARE_CUDA 1
#endif
#include "optimized/vision_attention/vision_attention_runner.cuh"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <type_traits>

namespace va = mm::vision_attention;
using mm::ref::Mat;

namespace {

struct Backend {
  const char* name;
  bool emulator;
  bool (*present)();
  const std::vector<va::Version>& (*versions)();
  std::vector<uint16_t> (*run)(const va::Version&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                               const std::vector<uint16_t>&, const std::vector<int>&, int, int, float);
  std::vector<uint16_t> (*run_fused_qkv)(const va::Version&, const std::vector<uint16_t>&, const std::vector<int>&,
                                         int, int, float);
};

const Backend kSimt{"simt", true, &va::backend_simt::device_present, &va::backend_simt::versions,
                    &va::backend_simt::run, &va::backend_simt::run_fused_qkv};
#if MM_CUDA
const Backend kCuda{"cuda", false, &va::backend_cuda::device_present, &va::backend_cuda::versions,
                    &va::backend_cuda::run, &va::backend_cuda::run_fused_qkv};
#endif

// Worst error ratio (kernel max-abs error / bf16-reference max-abs error) per version, printed at exit.
std::map<std::string, double>& ratios() {
  static std::map<std::string, double> r;
  return r;
}
struct RatioPrinter {
  RatioPrinter() { ratios(); }  // the map is built first, so it outlives this printer
  ~RatioPrinter() {
    for (const auto& [k, v] : ratios()) std::printf("[vision_attention] worst error ratio %-30s %.3f\n", k.c_str(), v);
  }
} g_ratio_printer;

void note_ratio(const std::string& key, double r) {
  double& slot = ratios()[key];
  slot = std::max(slot, r);
  std::string prop = "error_ratio " + key;
  for (char& ch : prop)
    if (ch == ' ') ch = '_';
  ::testing::Test::RecordProperty(prop, std::to_string(slot));
}

// The attention core of ref::vision_attention<P> for one crop per offsets range, T = double (F64) or
// float (BF16; q/k/v are already bf16 values): per head scores = scale * (q_h k_h^T) in T, row -= max,
// exp, row /= sum, o_h = scores v_h, o stored (rounded to bf16 when round_out). q, k, v, o are
// [total_rows, n_heads d] row-major.
template <class T>
std::vector<double> attend_core(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                const std::vector<int>& offsets, int n_heads, int d, bool round_out) {
  const size_t ld = static_cast<size_t>(n_heads) * d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  std::vector<double> o(static_cast<size_t>(offsets.back()) * ld);
  std::vector<T> p;
  for (size_t c = 0; c + 1 < offsets.size(); ++c) {
    const int r0 = offsets[c], L = offsets[c + 1] - r0;
    p.resize(static_cast<size_t>(L));
    for (int h = 0; h < n_heads; ++h)
      for (int i = 0; i < L; ++i) {
        const size_t qi = (static_cast<size_t>(r0) + i) * ld + static_cast<size_t>(h) * d;
        T mx = -std::numeric_limits<T>::infinity();
        for (int j = 0; j < L; ++j) {
          const size_t kj = (static_cast<size_t>(r0) + j) * ld + static_cast<size_t>(h) * d;
          T s = 0;
          for (int e = 0; e < d; ++e) s += static_cast<T>(q[qi + e]) * static_cast<T>(k[kj + e]);
          p[j] = scale * s;
          mx = std::max(mx, p[j]);
        }
        T sum = 0;
        for (int j = 0; j < L; ++j) {
          p[j] = std::exp(p[j] - mx);
          sum += p[j];
        }
        for (int j = 0; j < L; ++j) p[j] /= sum;
        for (int e = 0; e < d; ++e) {
          T a = 0;
          for (int j = 0; j < L; ++j)
            a += p[j] * static_cast<T>(v[(static_cast<size_t>(r0) + j) * ld + static_cast<size_t>(h) * d + e]);
          o[qi + e] = round_out ? mm::round_bf16(static_cast<float>(a)) : static_cast<double>(a);
        }
      }
  }
  return o;
}

// Runs `run` once (GPU) or under every emulator schedule (or the first `max_schedules`), requiring
// identical bits.
std::vector<uint16_t> run_schedules(const Backend& be, size_t max_schedules,
                                    const std::function<std::vector<uint16_t>()>& run) {
  if (!be.emulator) return run();
  std::vector<uint16_t> first;
  bool have = false;
  auto schedules = mm::simt::test::all_schedules();
  // the 2-OS-thread schedule is kept whenever the list is cut: it is the one with real concurrency
  if (max_schedules < schedules.size()) {
    std::rotate(schedules.rbegin(), schedules.rbegin() + 1, schedules.rend());
    schedules.resize(max_schedules);
  }
  for (const auto& s : schedules) {
    mm::simt::ScopedLaunchOptions scope(s.opt);
    std::vector<uint16_t> r = run();
    if (!have) {
      first = std::move(r);
      have = true;
    } else {
      EXPECT_TRUE(mm::simt::test::same_bits(first, r)) << "schedule " << s.name << " changed o";
    }
  }
  return first;
}

struct Case {
  std::vector<int> lens;  // crop lengths, packed in this order
  int n_heads, d;
  size_t schedules;       // emulator schedules to run (the 577-row cases: fewer, for the test's time)
};

std::vector<int> offsets_of(const std::vector<int>& lens) {
  std::vector<int> off(1, 0);
  for (int L : lens) off.push_back(off.back() + L);
  return off;
}

void check_case(const Backend& be, const Case& c, uint64_t seed) {
  const std::vector<int> off = offsets_of(c.lens);
  const size_t n = static_cast<size_t>(off.back()) * c.n_heads * c.d;
  // q and k at scale 2: score spreads of several units, so the softmax is far from uniform
  const auto q = mm::kt::randn_bf16(n, seed, 2.0), k = mm::kt::randn_bf16(n, seed + 1, 2.0);
  const auto v = mm::kt::randn_bf16(n, seed + 2);
  const std::vector<double> o64 = attend_core<double>(q, k, v, off, c.n_heads, c.d, false);
  const std::vector<double> obf64 = attend_core<float>(q, k, v, off, c.n_heads, c.d, true);
  const std::vector<float> obf(obf64.begin(), obf64.end());
  const auto qb = mm::kt::to_bf16_bits(q), kb = mm::kt::to_bf16_bits(k), vb = mm::kt::to_bf16_bits(v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  std::string shape = "lens ";
  for (int L : c.lens) shape += std::to_string(L) + ",";
  shape += " h" + std::to_string(c.n_heads) + " d" + std::to_string(c.d);
  va::Args shape_only;
  shape_only.n_heads = c.n_heads;
  shape_only.d = c.d;
  shape_only.n_crops = static_cast<int>(c.lens.size());
  for (const va::Version& ver : be.versions()) {
    SCOPED_TRACE(std::string(ver.name) + " " + shape);
    if (&ver == &be.versions().front()) {
      ASSERT_TRUE(ver.supports(shape_only)) << "v1 takes every d in 1..256";
    }
    if (!ver.supports(shape_only)) {  // a tensor-core version asked for a head dim it has no tiles for
      EXPECT_THROW(be.run(ver, qb, kb, vb, off, c.n_heads, c.d, scale), std::invalid_argument);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<uint16_t> r =
        run_schedules(be, c.schedules, [&] { return be.run(ver, qb, kb, vb, off, c.n_heads, c.d, scale); });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(mm::kt::fully_written(r, mm::kt::is_poison_bf16));
    const auto got = mm::kt::from_bf16_bits(r);
    EXPECT_TRUE(mm::kt::passes_fa_rule(std::string(be.name) + " " + ver.name, o64, got, obf));
    const auto g = mm::kt::error_stats(o64, got), b = mm::kt::error_stats(o64, obf);
    const double ratio = b.max_abs > 0 ? g.max_abs / b.max_abs : 0.0;
    note_ratio(std::string(be.name) + " " + ver.name, ratio);
    // q, k, v as the column blocks of one fused projection output (ld_qkv = 3 n_heads d, what the model
    // runs): the same arithmetic on other addresses, so the same bits (one schedule: addressing only)
    const size_t hd = static_cast<size_t>(c.n_heads) * c.d;
    std::vector<uint16_t> qkv(3 * n);
    for (size_t row = 0; row < n / (hd > 0 ? hd : 1); ++row)
      for (size_t e = 0; e < hd; ++e) {
        qkv[row * 3 * hd + e] = qb[row * hd + e];
        qkv[row * 3 * hd + hd + e] = kb[row * hd + e];
        qkv[row * 3 * hd + 2 * hd + e] = vb[row * hd + e];
      }
    const std::vector<uint16_t> rf = run_schedules(be, 1, [&] { return be.run_fused_qkv(ver, qkv, off, c.n_heads, c.d, scale); });
    EXPECT_TRUE(mm::simt::test::same_bits(r, rf)) << "fused q|k|v layout changed o";
    std::printf("[vision_attention] %s %-20s %-28s err %.3g budget %.3g ratio %.3f nmse %.2g (%.2f s)\n", be.name,
                ver.name, shape.c_str(), g.max_abs, b.max_abs, ratio, g.nmse, secs);
  }
}

const Case kCases[] = {
    // the tower's crops (577 = 1 + 24*24 patch rows, d 64), 1, 2, 3 and 19 crops; few heads: the emulator is slow
    {{577}, 2, 64, 3},
    {{577, 577}, 1, 64, 3},
    {{577, 577, 100}, 1, 64, 3},
    // a 1920 x 1080 image: 19 crops of 577 rows (10963 rows)
    {std::vector<int>(19, 577), 1, 64, 3},
    // 19 crops of odd lengths around the 64-row tiles, d 32
    {{1, 63, 64, 65, 127, 128, 129, 3, 191, 577, 2, 0, 77, 255, 31, 5, 64, 1, 300}, 2, 32, 3},
    // vl-tiny's shape (d 8, 2 heads, crops of 5 and 7 rows): v1 only, v2 must refuse d 8
    {{5, 7}, 2, 8, 5},
    // odd lengths around the 64-row tiles, a one-row crop and an empty one, d 32
    {{65, 1, 0, 129, 63}, 2, 32, 5},
    {{70, 129}, 1, 128, 5},      // d 128
    {{17, 9, 33}, 3, 40, 5},     // d 40: v1 only
    {{3, 4}, 2, 256, 5},         // the largest v1 head dim
};

void suite(const Backend& be) {
  uint64_t seed = 9000;
  for (const auto& c : kCases) check_case(be, c, seed += 17);
}

}  // namespace

TEST(VisionAttention, Simt) { suite(kSimt); }

// attend_core against ref::vision_attention<P> itself: one crop x [S, D] with q_proj = I, k_proj = the
// column reversal, v_proj = a column rotation, out_proj = I, zero biases. Every projection is then exact
// (one nonzero product per output, bf16 in -> bf16 out), so ref::vision_attention returns its core of
// q = x, k = reverse(x), v = rotate(x): F64 to rounding (the GEMM's summation order differs), BF16 to
// the exp's 1 ulp and the order, far below one bf16 ulp of o in all but a few elements.
TEST(VisionAttention, ReferenceCoreMatchesFullAttention) {
  const int S = 37, heads = 2, d = 8, D = heads * d;
  const auto x = mm::kt::randn_bf16(static_cast<size_t>(S) * D, 4242, 2.0);
  std::vector<float> qv(x), kv(x.size()), vv(x.size());
  const auto perm_k = [&](int col) { return D - 1 - col; };
  const auto perm_v = [&](int col) { return (col + 5) % D; };
  for (int i = 0; i < S; ++i)
    for (int col = 0; col < D; ++col) {
      kv[static_cast<size_t>(i) * D + col] = x[static_cast<size_t>(i) * D + perm_k(col)];
      vv[static_cast<size_t>(i) * D + col] = x[static_cast<size_t>(i) * D + perm_v(col)];
    }
  const std::vector<int> off = {0, S};
  auto full = [&](auto tag) {
    using T = decltype(tag);
    using P = std::conditional_t<std::is_same_v<T, double>, mm::ref::F64, mm::ref::BF16>;
    mm::ref::VisionLayerWeights<T> w;
    auto perm = [&](mm::ref::BiasedLinear<T>& l, auto f) {
      l.w = Mat<T>::Zero(D, D);
      l.b = mm::ref::Vec<T>::Zero(D);
      for (int r = 0; r < D; ++r) l.w(r, f(r)) = T(1);  // y[:, r] = x[:, f(r)]
    };
    perm(w.q_proj, [](int col) { return col; });
    perm(w.k_proj, perm_k);
    perm(w.v_proj, perm_v);
    perm(w.out_proj, [](int col) { return col; });
    Mat<T> mx(S, D);
    for (int i = 0; i < S; ++i)
      for (int col = 0; col < D; ++col) mx(i, col) = static_cast<T>(x[static_cast<size_t>(i) * D + col]);
    const Mat<T> o = mm::ref::vision_attention<P>(mx, w, heads);
    return std::vector<double>(o.data(), o.data() + o.size());
  };
  const std::vector<double> ref64 = full(double{}), core64 = attend_core<double>(qv, kv, vv, off, heads, d, false);
  ASSERT_EQ(ref64.size(), core64.size());
  for (size_t i = 0; i < ref64.size(); ++i) ASSERT_NEAR(ref64[i], core64[i], 1e-12) << "F64 element " << i;
  const std::vector<double> ref32 = full(float{}), core32 = attend_core<float>(qv, kv, vv, off, heads, d, true);
  size_t differ = 0;
  for (size_t i = 0; i < ref32.size(); ++i) {
    const int ulps = std::abs(mm::kt::bf16_ord(mm::f32_to_bf16_bits(static_cast<float>(ref32[i]))) -
                              mm::kt::bf16_ord(mm::f32_to_bf16_bits(static_cast<float>(core32[i]))));
    ASSERT_LE(ulps, 1) << "BF16 element " << i;
    differ += ulps != 0;
  }
  EXPECT_LE(differ, ref32.size() / 50) << "BF16: more than 2 % of the elements one bf16 ulp apart";
}

// Which head dims each version's supports() takes: v1 every d in 1..256, v2 32, 64 and 128.
TEST(VisionAttention, HeadDimsEachVersionTakes) {
  namespace be = va::backend_simt;
  ASSERT_EQ(be::versions().size(), 2u);
  for (int d = 0; d <= 300; ++d) {
    SCOPED_TRACE("head_dim " + std::to_string(d));
    va::Args a;
    a.n_heads = 16;
    a.n_crops = 1;
    a.d = d;
    EXPECT_EQ(be::versions()[0].supports(a), d >= 1 && d <= 256);
    EXPECT_EQ(be::versions()[1].supports(a), d == 32 || d == 64 || d == 128);
  }
}

TEST(VisionAttention, RejectsBadInputs) {
  namespace be = va::backend_simt;
  const auto& v1 = be::versions()[0];
  const std::vector<uint16_t> x(2 * 8, 0);
  EXPECT_THROW(be::run(v1, x, x, x, {}, 1, 8, 1.0f), std::invalid_argument);         // no offsets
  EXPECT_THROW(be::run(v1, x, x, x, {1, 2}, 1, 8, 1.0f), std::invalid_argument);     // not starting at 0
  EXPECT_THROW(be::run(v1, x, x, x, {0, 2, 1}, 1, 8, 1.0f), std::invalid_argument);  // decreasing
  EXPECT_THROW(be::run(v1, x, x, x, {0, 3}, 1, 8, 1.0f), std::invalid_argument);     // q too short
  EXPECT_THROW(be::run(v1, x, x, x, {0, 2}, 1, 0, 1.0f), std::invalid_argument);     // d 0
  EXPECT_THROW(be::run(v1, x, x, x, {0, 2}, 0, 8, 1.0f), std::invalid_argument);     // no heads
  EXPECT_THROW(be::run_fused_qkv(v1, x, {0, 2}, 1, 8, 1.0f), std::invalid_argument);  // qkv: 2 x 24 needed
  // the q/k/v row stride: at least one row of heads; v2 also whole 16-byte chunks
  va::Args a;
  a.n_heads = 2; a.d = 32; a.n_crops = 1;
  a.ld_qkv = 63;
  EXPECT_FALSE(be::versions()[0].supports(a));
  a.ld_qkv = 66;
  EXPECT_TRUE(be::versions()[0].supports(a));
  EXPECT_FALSE(be::versions()[1].supports(a));
  a.ld_qkv = 192;
  EXPECT_TRUE(be::versions()[1].supports(a));
}

#if MM_CUDA
TEST(VisionAttention, Cuda) {
  MM_NEEDS_GPU(kCuda.present());
  suite(kCuda);
}
#else
TEST(VisionAttention, Cuda) { MM_NEEDS_GPU(false); }
#endif
