// MoE block kernels (optimized/moe) vs the reference (reference/moe.h), docs/semantics/text-01-model.md#moe.
//   router:       ids exact vs ref::route<BF16> on the same bf16 logits (clear margins, and exact ties)
//   permutation:  counts, offsets, permuted rows, inverse map exact (integers)
//   grouped FFN:  every version vs ref::expert_forward<F64>, budget ref::expert_forward<BF16>
//   whole block:  router GEMM -> router -> permute -> gather -> grouped FFN -> combine vs ref::moe<F64>,
//                 budget ref::moe<BF16>, and the routing ids exact vs ref::moe<BF16>'s
// Emulator (backend_simt) under several schedules with identical bits required; the GPU build
// (backend_cuda) runs the same checks when a device is present.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>
#include <random>

#include "reference/moe.h"

// kernel headers last
#if MM_CUDA
#define MM_MOE_DECLARE_CUDA 1
#endif
#include "optimized/moe/moe_runner.cuh"

namespace mm::moe {
bool operator==(const Permutation& a, const Permutation& b) {
  return a.counts == b.counts && a.offsets == b.offsets && a.perm_token == b.perm_token && a.inv_row == b.inv_row;
}
}  // namespace mm::moe

namespace {

namespace moe = mm::moe;
namespace ref = mm::ref;
namespace kt = mm::kt;
using Bits = std::vector<uint16_t>;

struct Backend {
  const char* name;
  bool emulator;
  decltype(&moe::backend_simt::run_router) router;
  decltype(&moe::backend_simt::run_permute) permute;
  decltype(&moe::backend_simt::grouped_ffn_versions) ffn_versions;
  decltype(&moe::backend_simt::run_grouped_ffn) ffn;
  decltype(&moe::backend_simt::run_moe) block;
};

const Backend kSimt{"simt", true, &moe::backend_simt::run_router, &moe::backend_simt::run_permute,
                    &moe::backend_simt::grouped_ffn_versions, &moe::backend_simt::run_grouped_ffn, &moe::backend_simt::run_moe};
#if MM_CUDA
const Backend kCuda{"cuda", false, &moe::backend_cuda::run_router, &moe::backend_cuda::run_permute,
                    &moe::backend_cuda::grouped_ffn_versions, &moe::backend_cuda::run_grouped_ffn, &moe::backend_cuda::run_moe};
#endif

// ---- schedules -----------------------------------------------------------------------------------------
std::vector<std::pair<const char*, mm::simt::LaunchOptions>> schedules(bool light) {
  std::vector<std::pair<const char*, mm::simt::LaunchOptions>> v;
  mm::simt::LaunchOptions o;
  o.order = mm::simt::Order::forward;
  v.push_back({"forward", o});
  o.order = mm::simt::Order::random;
  o.seed = 7;
  v.push_back({"random7", o});
  if (light) {
    o.order = mm::simt::Order::reverse;
    v.push_back({"reverse", o});
    o.order = mm::simt::Order::random;
    o.seed = 12345;
    o.os_threads = 2;
    v.push_back({"random-2-os-threads", o});
  }
  return v;
}

// Runs f under every schedule on the emulator (identical results required), once on the GPU.
template <class R>
R run_schedules(const Backend& b, bool light, const std::function<R()>& f) {
  if (!b.emulator) return f();
  R first{};
  bool have = false;
  for (const auto& [name, opt] : schedules(light)) {
    mm::simt::ScopedLaunchOptions scope(opt);
    R r = f();
    if (!have) {
      first = std::move(r);
      have = true;
    } else {
      EXPECT_TRUE(r == first) << "schedule " << name << " changed the result";
    }
  }
  return first;
}


template <class T>
ref::Mat<T> to_mat(const std::vector<float>& v, int rows, int cols, size_t offset = 0) {
  ref::Mat<T> m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = static_cast<T>(v[offset + static_cast<size_t>(r) * cols + c]);
  return m;
}

template <class M>
std::vector<double> flat_d(const M& m) {
  std::vector<double> v;
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) v.push_back(static_cast<double>(m(r, c)));
  return v;
}
template <class M>
std::vector<float> flat_f(const M& m) {
  std::vector<float> v;
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) v.push_back(static_cast<float>(m(r, c)));
  return v;
}

double error_ratio(const std::vector<double>& oracle, const std::vector<float>& got, const std::vector<float>& budget) {
  const kt::ErrStats g = kt::error_stats(oracle, got), b = kt::error_stats(oracle, budget);
  return b.max_abs > 0 ? g.max_abs / b.max_abs : 0.0;
}
// Elements whose value differs from the bf16 reference's (same rounding points, other fp32 sum order).
size_t differing(const std::vector<float>& got, const std::vector<float>& budget) {
  size_t d = 0;
  for (size_t i = 0; i < got.size(); ++i) d += got[i] != budget[i];
  return d;
}

// ---- 1. router -------------------------------------------------------------------------------------------

// Per token a random permutation of E distinct logits 0.5 apart (all bf16-exact), or (ties) values from a
// 3-element set, so that many experts tie exactly and the lower-index rule decides.
std::vector<float> router_logits(int T, int E, uint64_t seed, bool ties) {
  std::mt19937_64 rng(seed);
  std::vector<float> l(static_cast<size_t>(T) * E);
  std::vector<int> perm(static_cast<size_t>(E));
  for (int t = 0; t < T; ++t) {
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const float shift = static_cast<float>(static_cast<int>(rng() % 9) - 4);
    for (int e = 0; e < E; ++e)
      l[static_cast<size_t>(t) * E + e] = ties ? 0.5f * static_cast<float>(rng() % 3) : 0.5f * perm[static_cast<size_t>(e)] + shift;
  }
  return l;
}

void check_router(const Backend& b, int T, int E, int k, bool ties, uint64_t seed) {
  SCOPED_TRACE(std::string(b.name) + " T=" + std::to_string(T) + " E=" + std::to_string(E) + " k=" +
               std::to_string(k) + (ties ? " ties" : ""));
  const std::vector<float> logits = router_logits(T, E, seed, ties);
  const ref::RouterChoice<float> rc = ref::route<ref::BF16>(to_mat<float>(logits, T, E), k);
  using R = std::pair<std::vector<int>, Bits>;
  const R got = run_schedules<R>(b, true, [&] {
    R r;
    b.router(logits, T, E, k, r.first, r.second);
    return r;
  });
  ASSERT_EQ(got.first.size(), static_cast<size_t>(T) * k);
  ASSERT_EQ(got.second.size(), static_cast<size_t>(T) * k);
  ASSERT_TRUE(kt::fully_written(got.second, &kt::is_poison_bf16));
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      const size_t i = static_cast<size_t>(t) * k + j;
      ASSERT_EQ(got.first[i], rc.ids[static_cast<size_t>(t)][static_cast<size_t>(j)]) << "token " << t << " slot " << j;
      // the weight: same fp32 formula, only the softmax sum order differs -> at most one bf16 ulp
      const int ulp = std::abs(static_cast<int>(got.second[i]) -
                               static_cast<int>(mm::f32_to_bf16_bits(rc.weights[static_cast<size_t>(t)][static_cast<size_t>(j)])));
      ASSERT_LE(ulp, 1) << "token " << t << " slot " << j;
    }
}

void router_suite(const Backend& b) {
  check_router(b, 1, 8, 2, false, 11);
  check_router(b, 33, 8, 1, false, 12);
  check_router(b, 257, 8, 2, false, 13);
  check_router(b, 7, 12, 2, false, 14);
  check_router(b, 257, 12, 1, false, 15);
  check_router(b, 33, 32, 2, false, 16);
  check_router(b, 33, 40, 2, false, 17);  // two experts per lane
  check_router(b, 257, 8, 2, true, 18);
  check_router(b, 33, 12, 1, true, 19);
  check_router(b, 33, 40, 3, true, 20);
  // all equal: the first k experts, in index order
  std::vector<int> ids;
  Bits w;
  b.router(std::vector<float>(3 * 12, 1.5f), 3, 12, 2, ids, w);
  EXPECT_EQ(ids, (std::vector<int>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(w, Bits(6, mm::f32_to_bf16_bits(0.5f)));
}

TEST(MoeSimt, RouterIdsExact) { router_suite(kSimt); }
TEST(MoeCuda, RouterIdsExact) {
  MM_NEEDS_GPU(moe::backend_cuda::device_present());
#if MM_CUDA
  router_suite(kCuda);
#endif
}

// ---- 2. permutation --------------------------------------------------------------------------------------

// k distinct experts per token, drawn from the experts not in `excluded` (which receive no token).
std::vector<int> random_ids(int T, int E, int k, uint64_t seed, const std::vector<int>& excluded) {
  std::mt19937_64 rng(seed);
  std::vector<int> pool;
  for (int e = 0; e < E; ++e)
    if (std::find(excluded.begin(), excluded.end(), e) == excluded.end()) pool.push_back(e);
  std::vector<int> ids;
  for (int t = 0; t < T; ++t) {
    std::shuffle(pool.begin(), pool.end(), rng);
    for (int j = 0; j < k; ++j) ids.push_back(pool[static_cast<size_t>(j)]);
  }
  return ids;
}

moe::Permutation expected_permutation(const std::vector<int>& ids, int T, int E, int k) {
  moe::Permutation p;
  p.counts.assign(static_cast<size_t>(E), 0);
  for (int e : ids) ++p.counts[static_cast<size_t>(e)];
  p.offsets.assign(static_cast<size_t>(E) + 1, 0);
  for (int e = 0; e < E; ++e) p.offsets[static_cast<size_t>(e) + 1] = p.offsets[static_cast<size_t>(e)] + p.counts[static_cast<size_t>(e)];
  p.perm_token.assign(ids.size(), -1);
  p.inv_row.assign(ids.size(), -1);
  std::vector<int> next(p.offsets.begin(), p.offsets.end() - 1);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      const size_t i = static_cast<size_t>(t) * k + j;
      const int pos = next[static_cast<size_t>(ids[i])]++;
      p.perm_token[static_cast<size_t>(pos)] = t;
      p.inv_row[i] = pos;
    }
  return p;
}

void permutation_suite(const Backend& b) {
  struct Case { int T, E, k; std::vector<int> excluded; };
  const std::vector<Case> cases = {{1, 8, 1, {}},         {1, 8, 2, {0, 7}},   {7, 12, 2, {3}},
                                   {33, 8, 2, {1, 4}},    {33, 12, 1, {}},     {257, 8, 2, {5}},
                                   {257, 12, 2, {0, 11}}, {1500, 32, 2, {2}},  {700, 64, 8, {63}}};
  uint64_t seed = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(b.name) + " T=" + std::to_string(c.T) + " E=" + std::to_string(c.E) + " k=" +
                 std::to_string(c.k));
    const std::vector<int> ids = random_ids(c.T, c.E, c.k, ++seed, c.excluded);
    const moe::Permutation got =
        run_schedules<moe::Permutation>(b, true, [&] { return b.permute(ids, c.T, c.E, c.k); });
    const moe::Permutation want = expected_permutation(ids, c.T, c.E, c.k);
    EXPECT_EQ(got.counts, want.counts);
    EXPECT_EQ(got.offsets, want.offsets);
    EXPECT_EQ(got.perm_token, want.perm_token);
    EXPECT_EQ(got.inv_row, want.inv_row);
    for (int e : c.excluded) EXPECT_EQ(got.counts[static_cast<size_t>(e)], 0);
  }
}

TEST(MoeSimt, PermutationExact) { permutation_suite(kSimt); }
TEST(MoeCuda, PermutationExact) {
  MM_NEEDS_GPU(moe::backend_cuda::device_present());
#if MM_CUDA
  permutation_suite(kCuda);
#endif
}

// ---- 3. grouped FFN ----------------------------------------------------------------------------------------

struct Weights {
  int E, H, I;
  std::vector<float> gate, w1, w3, w2;  // [E,H], [E,I,H], [E,I,H], [E,H,I], bf16-exact
  template <class T>
  ref::ExpertWeights<T> expert(int e) const {
    const size_t ih = static_cast<size_t>(I) * H;
    return {to_mat<T>(w1, I, H, e * ih), to_mat<T>(w3, I, H, e * ih), to_mat<T>(w2, H, I, e * ih)};
  }
};

Weights random_weights(int E, int H, int I, uint64_t seed) {
  Weights w{E, H, I, {}, {}, {}, {}};
  const size_t ih = static_cast<size_t>(I) * H;
  w.w1 = kt::randn_bf16(E * ih, seed + 1, 1.0 / std::sqrt(H));
  w.w3 = kt::randn_bf16(E * ih, seed + 2, 1.0 / std::sqrt(H));
  w.w2 = kt::randn_bf16(E * ih, seed + 3, 1.0 / std::sqrt(I));
  return w;
}

// Whether version v takes the shape; v1 takes every one (the model relies on it for small hidden sizes).
bool takes(const moe::GroupedFfnVersion& v, int n, int E, int H, int I) {
  moe::GroupedFfnArgs a;
  a.n = n; a.E = E; a.H = H; a.I = I;
  const bool ok = v.supports(a);
  if (std::string(v.name) == "v1") {
    EXPECT_TRUE(ok) << "v1 takes every H and I";
  }
  return ok;
}

void ffn_case(const Backend& b, int E, int H, int I, int n, const std::vector<int>& excluded, uint64_t seed,
              bool all_versions) {
  const std::string tag = std::string(b.name) + " E=" + std::to_string(E) + " H=" + std::to_string(H) + " I=" +
                          std::to_string(I) + " rows=" + std::to_string(n);
  SCOPED_TRACE(tag);
  const Weights w = random_weights(E, H, I, seed);
  // rows per expert: n assignments spread over the experts not excluded
  std::vector<int> counts(static_cast<size_t>(E), 0);
  {
    const std::vector<int> ids = random_ids(n, E, 1, seed + 7, excluded);
    for (int e : ids) ++counts[static_cast<size_t>(e)];
  }
  const std::vector<float> x = kt::randn_bf16(static_cast<size_t>(n) * H, seed + 5);
  std::vector<double> oracle;
  std::vector<float> budget;
  int row = 0;
  for (int e = 0; e < E; ++e) {
    const int c = counts[static_cast<size_t>(e)];
    if (c == 0) continue;
    const size_t off = static_cast<size_t>(row) * H;
    const auto o = ref::expert_forward<ref::F64>(to_mat<double>(x, c, H, off), w.expert<double>(e));
    const auto bb = ref::expert_forward<ref::BF16>(to_mat<float>(x, c, H, off), w.expert<float>(e));
    const auto od = flat_d(o);
    const auto bf = flat_f(bb);
    oracle.insert(oracle.end(), od.begin(), od.end());
    budget.insert(budget.end(), bf.begin(), bf.end());
    row += c;
  }
  const Bits xb = kt::to_bf16_bits(x), w1 = kt::to_bf16_bits(w.w1), w3 = kt::to_bf16_bits(w.w3),
             w2 = kt::to_bf16_bits(w.w2);
  for (const moe::GroupedFfnVersion& v : b.ffn_versions()) {
    if (!all_versions && std::string(v.name) != "v1" && std::string(v.name) != "v2") continue;
    if (!takes(v, n, E, H, I)) {  // the tiled versions and H or I not a multiple of 8: refused, never garbage
      EXPECT_THROW(b.ffn(v, xb, counts, w1, w3, w2, E, H, I), std::invalid_argument) << v.name;
      continue;
    }
    const Bits got = run_schedules<Bits>(b, false, [&] { return b.ffn(v, xb, counts, w1, w3, w2, E, H, I); });
    ASSERT_TRUE(kt::fully_written(got, &kt::is_poison_bf16)) << v.name;
    const std::vector<float> gf = kt::from_bf16_bits(got);
    EXPECT_TRUE(kt::passes_fa_rule(tag + " " + v.name, oracle, gf, budget));
    std::printf("[moe ffn] %-5s %-9s %-40s error ratio vs bf16 budget %.4f (%zu of %zu differ from ref-bf16)\n",
                b.name, v.name, tag.c_str(), error_ratio(oracle, gf, budget), differing(gf, budget), gf.size());
  }
}

void ffn_suite(const Backend& b) {
  ffn_case(b, 8, 96, 80, 2, {}, 1000, true);          // T=1, k=2: most experts empty
  ffn_case(b, 8, 96, 80, 14, {2}, 2000, true);        // T=7, k=2
  ffn_case(b, 12, 96, 80, 33, {0, 5}, 3000, true);    // T=33, k=1
  ffn_case(b, 8, 96, 80, 514, {6}, 4000, true);       // T=257, k=2: > 1 row tile per expert
  ffn_case(b, 12, 96, 80, 257, {11}, 5000, false);    // T=257, k=1
  ffn_case(b, 8, 256, 128, 66, {3}, 6000, true);      // tile-aligned H, I
  ffn_case(b, 8, 96, 80, 300, {0, 1, 2, 4, 5, 7}, 7000, true);  // 2 experts x ~150 rows: 2 row tiles of 128
  ffn_case(b, 4, 2, 4, 10, {}, 7500, true);           // H 2, I 4 (golden/vl_cases/real_token_ids): v1 only
  ffn_case(b, 8, 20, 12, 33, {5}, 7600, true);        // H, I not multiples of 8: v1 only
}

TEST(MoeSimt, GroupedFfnVsReference) { ffn_suite(kSimt); }
TEST(MoeCuda, GroupedFfnVsReference) {
  MM_NEEDS_GPU(moe::backend_cuda::device_present());
#if MM_CUDA
  ffn_suite(kCuda);
#endif
}

// ---- 4. the whole block ------------------------------------------------------------------------------------

// The gate reads columns 0..E-1 of x (4 x one-hot, plus small noise), and x[t, 0..E-1] holds a per-token
// permutation of 0, 0.25, 0.5, ... so the logits are 1 apart: every precision routes the same way.
// Excluded experts always get the lowest values (they receive no token when k <= E - excluded).
void block_case(const Backend& b, int T, int E, int k, int H, int I, const std::vector<int>& excluded, uint64_t seed,
                bool all_versions) {
  const std::string tag = std::string(b.name) + " T=" + std::to_string(T) + " E=" + std::to_string(E) + " k=" +
                          std::to_string(k) + " H=" + std::to_string(H) + " I=" + std::to_string(I);
  SCOPED_TRACE(tag);
  Weights w = random_weights(E, H, I, seed);
  w.gate = kt::randn_bf16(static_cast<size_t>(E) * H, seed + 4, 1e-3);
  for (int e = 0; e < E; ++e) w.gate[static_cast<size_t>(e) * H + e] = 4.0f;
  std::vector<float> x = kt::randn_bf16(static_cast<size_t>(T) * H, seed + 5);
  std::mt19937_64 rng(seed + 6);
  std::vector<int> order(static_cast<size_t>(E));
  for (int t = 0; t < T; ++t) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::stable_partition(order.begin(), order.end(),
                          [&](int e) { return std::find(excluded.begin(), excluded.end(), e) != excluded.end(); });
    for (int r = 0; r < E; ++r) x[static_cast<size_t>(t) * H + order[static_cast<size_t>(r)]] = 0.25f * r;
  }
  ref::MoEWeights<double> wd;
  ref::MoEWeights<float> wf;
  wd.gate = to_mat<double>(w.gate, E, H);
  wf.gate = to_mat<float>(w.gate, E, H);
  for (int e = 0; e < E; ++e) {
    wd.experts.push_back(w.expert<double>(e));
    wf.experts.push_back(w.expert<float>(e));
  }
  ref::RouterChoice<float> choice;
  const std::vector<double> oracle = flat_d(ref::moe<ref::F64>(to_mat<double>(x, T, H), wd, k));
  const std::vector<float> budget = flat_f(ref::moe<ref::BF16>(to_mat<float>(x, T, H), wf, k, &choice));
  const Bits xb = kt::to_bf16_bits(x), gb = kt::to_bf16_bits(w.gate), w1 = kt::to_bf16_bits(w.w1),
             w3 = kt::to_bf16_bits(w.w3), w2 = kt::to_bf16_bits(w.w2);
  for (const moe::GroupedFfnVersion& v : b.ffn_versions()) {
    if (!all_versions && std::string(v.name) != "v1" && std::string(v.name) != "v2") continue;
    if (!takes(v, T * k, E, H, I)) {
      EXPECT_THROW(b.block(v, xb, gb, w1, w3, w2, T, E, H, I, k, nullptr), std::invalid_argument) << v.name;
      continue;
    }
    std::vector<int> ids;
    const Bits got = run_schedules<Bits>(b, false, [&] { return b.block(v, xb, gb, w1, w3, w2, T, E, H, I, k, &ids); });
    ASSERT_TRUE(kt::fully_written(got, &kt::is_poison_bf16)) << v.name;
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < k; ++j)
        ASSERT_EQ(ids[static_cast<size_t>(t) * k + j], choice.ids[static_cast<size_t>(t)][static_cast<size_t>(j)])
            << v.name << " token " << t << " slot " << j;
    const std::vector<float> gf = kt::from_bf16_bits(got);
    EXPECT_TRUE(kt::passes_fa_rule(tag + " " + v.name, oracle, gf, budget));
    std::printf("[moe block] %-5s %-9s %-40s error ratio vs bf16 budget %.4f (%zu of %zu differ from ref-bf16)\n",
                b.name, v.name, tag.c_str(), error_ratio(oracle, gf, budget), differing(gf, budget), gf.size());
  }
}

void block_suite(const Backend& b) {
  block_case(b, 1, 8, 2, 96, 80, {}, 10000, true);
  block_case(b, 7, 12, 1, 96, 80, {4}, 11000, true);
  block_case(b, 33, 8, 2, 96, 80, {0, 3}, 12000, true);
  block_case(b, 33, 12, 2, 96, 80, {1, 10}, 13000, false);
  block_case(b, 257, 8, 2, 96, 80, {5}, 14000, true);
  block_case(b, 257, 12, 1, 96, 80, {}, 15000, false);
  block_case(b, 33, 8, 2, 256, 128, {7}, 16000, false);
  // H not a multiple of 8: the gather and the combine go element by element, the FFN is v1
  block_case(b, 9, 2, 2, 2, 4, {}, 13500, true);     // real_token_ids' H 2, I 4 (E 2: the gate needs H >= E)
  block_case(b, 17, 8, 2, 20, 12, {3}, 13600, true);
}

TEST(MoeSimt, BlockVsReference) { block_suite(kSimt); }
TEST(MoeCuda, BlockVsReference) {
  MM_NEEDS_GPU(moe::backend_cuda::device_present());
#if MM_CUDA
  block_suite(kCuda);
#endif
}

}  // namespace
