// Weights held in bf16 (WeightResidency::Bf16, reference/weight.h, reference/gemv_bf16.h):
//   - the GEMV against exact sums: every element within the dot product's error bound, every element
//     written (NaN-poisoned output), the same bits for team sizes 1 to 5, AVX2 and portable kernels;
//   - linear<P> on a held weight: up to kHeldGemvMaxRows rows the GEMV (within the bound of the resident
//     product's exact sum), more rows the resident GEMM's bits;
//   - the model: a 300-token prefill (crossing the lightning block) bit for bit the resident model's,
//     traces included; decode steps, which take the GEMV, within the acceptance rule against the fp64
//     oracle with the resident model of the same precision as the budget; the matrices cost 2 bytes each;
//   - what is refused: the fp64 oracle, and ref-f32 on a checkpoint whose values bf16 cannot hold.
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/acceptance.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "ref_test_util.h"
#include "reference/gemv_bf16.h"
#include "reference/model.h"
#include "reference/synthetic.h"
#include "reference/weight_block.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

std::vector<uint16_t> random_bf16(std::size_t n, Rng& rng, double scale) {
  std::vector<uint16_t> b(n);
  for (auto& v : b) v = f32_to_bf16_bits(static_cast<float>(rng.normal() * scale));
  return b;
}

// |y - sum_k x w| <= gamma_K sum_k |x w| (gamma_K = K u / (1 - K u), u = 2^-24): the bound of any fp32
// summation order, FMA or not. Counts the elements of y [S, N] outside it (NaN: outside).
int64_t outside_dot_bound(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, const float* y) {
  const long double u = std::ldexp(1.0L, -24), gamma = K * u / (1 - K * u);
  int64_t n_out = 0;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t n = 0; n < N; ++n) {
      long double sum = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const long double p = static_cast<long double>(x[s * K + k]) * bf16_bits_to_f32(w[n * K + k]);
        sum += p;
        mag += std::fabs(p);
      }
      n_out += !(std::fabs(static_cast<long double>(y[s * N + n]) - sum) <= gamma * mag);
    }
  return n_out;
}

TEST(GemvBf16, WithinTheDotBoundEveryElementWrittenAnyTeamSize) {
  using ref::gemv_detail::RowsFn;
  std::vector<std::pair<const char*, RowsFn>> kernels = {{"portable", ref::gemv_detail::gemv_bf16_rows_portable}};
  const bool avx2 = std::string(ref::gemv_detail::gemv_bf16_isa()) == "avx2";
  if (avx2) kernels.push_back({"avx2", ref::gemv_detail::gemv_bf16_rows_avx2});
  std::printf("gemv_bf16 on this CPU: %s\n", ref::gemv_detail::gemv_bf16_isa());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // K: below one vector, the 8-wide step alone (8, 9) and after 16-wide steps (24, 1039), k % 8 tails
  // (7, 9, 1031, 1039), a decode-sized row; N: partial row groups, a matrix every team splits
  for (const int64_t K : {1, 7, 8, 9, 24, 64, 1031, 1039})
    for (const int64_t N : {1, 3, 4, 5, 37, 4101})
      for (const int64_t S : {1, 2, 8}) {
        if (K * N > 200000 && S > 1) continue;  // the exact sums are the slow part
        Rng rng(static_cast<uint64_t>(K * 131 + N * 7 + S));
        std::vector<float> x(static_cast<std::size_t>(S * K));
        for (auto& v : x) v = static_cast<float>(rng.normal());
        const std::vector<uint16_t> w = random_bf16(static_cast<std::size_t>(N * K), rng, 0.1);
        const std::string shape = " S " + std::to_string(S) + " K " + std::to_string(K) + " N " + std::to_string(N);
        for (const auto& [name, fn] : kernels) {
          std::vector<float> y(static_cast<std::size_t>(S * N), nan);  // one thread, the whole range
          fn(x.data(), S, K, w.data(), N, 0, N, y.data());
          EXPECT_EQ(outside_dot_bound(x.data(), S, K, w.data(), N, y.data()), 0) << name << shape;
          for (int parts = 1; parts <= 5; ++parts) {  // a team of up to 4 runs as asked; 5 is capped
            std::vector<float> team(y.size(), nan);
            ref::gemv_detail::gemv_bf16_team(fn, parts, x.data(), S, K, w.data(), N, team.data());
            EXPECT_EQ(std::memcmp(y.data(), team.data(), y.size() * sizeof(float)), 0)
                << name << " team of " << parts << shape;
          }
          if ((std::string(name) == "avx2") == avx2) {  // the entry point runs the CPU's kernel
            std::vector<float> got(y.size(), nan);
            ref::gemv_bf16(x.data(), S, K, w.data(), N, got.data());
            EXPECT_EQ(std::memcmp(y.data(), got.data(), y.size() * sizeof(float)), 0) << name << " gemv_bf16" << shape;
          }
        }
      }
}

// The team's ranges cover every row once, in multiples of 4 but the last.
TEST(GemvBf16, TeamRangesCoverEveryRowOnce) {
  for (const int64_t N : {1, 3, 4, 5, 8, 37, 4101})
    for (int parts = 1; parts <= 8; ++parts) {
      std::vector<int> seen(static_cast<std::size_t>(N), 0);
      for (int i = 0; i < parts; ++i) {
        int64_t n0 = 0;
        const int64_t n = ref::gemv_detail::gemv_team_rows(i, parts, N, &n0);
        ASSERT_GE(n, 0);
        if (n > 0 && n0 + n < N) {
          EXPECT_EQ(n % 4, 0) << "N " << N << " parts " << parts << " part " << i;
        }
        for (int64_t r = n0; r < n0 + n; ++r) ++seen[static_cast<std::size_t>(r)];
      }
      for (int64_t r = 0; r < N; ++r) EXPECT_EQ(seen[static_cast<std::size_t>(r)], 1) << "N " << N << " parts " << parts << " row " << r;
    }
}

TEST(GemvBf16, TheBoundCatchesAWrongElement) {
  Rng rng(3);
  const int64_t K = 100, N = 9;
  std::vector<float> x(K);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  const std::vector<uint16_t> w = random_bf16(static_cast<std::size_t>(N * K), rng, 0.1);
  std::vector<float> y(N);
  ref::gemv_bf16(x.data(), 1, K, w.data(), N, y.data());
  ASSERT_EQ(outside_dot_bound(x.data(), 1, K, w.data(), N, y.data()), 0);
  y[4] += 1e-3f * std::fabs(y[4]) + 1e-6f;  // far above gamma_100 ~ 6e-6 relative to the magnitudes
  EXPECT_EQ(outside_dot_bound(x.data(), 1, K, w.data(), N, y.data()), 1);
  y[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(outside_dot_bound(x.data(), 1, K, w.data(), N, y.data()), 1);
  std::vector<float> f(4);
  const uint16_t b[4] = {0x3f80, 0xc000, 0x0000, 0x7f80};  // 1, -2, 0, +inf
  ref::bf16_to_f32(b, 4, f.data());
  EXPECT_EQ(f, (std::vector<float>{1.0f, -2.0f, 0.0f, std::numeric_limits<float>::infinity()}));
}

// linear<P> on a held weight against the same values resident.
template <class P>
void expect_held_linear(int64_t N, int64_t K) {
  using T = typename P::T;
  Rng rng(static_cast<uint64_t>(N + K));
  auto held = std::make_shared<ref::HeldBf16>();
  held->name = "test.weight";
  held->rows = N;
  held->cols = K;
  held->bits = random_bf16(static_cast<std::size_t>(N * K), rng, 0.05);
  Mat<T> W(N, K);
  ref::bf16_to_f32(held->bits.data(), N * K, W.data());
  const ref::Weight<T> wh(held), wr(W);
  ASSERT_EQ(wh.size(), 0);  // nothing but the bits
  EXPECT_EQ(wh.out_features(), N);
  EXPECT_EQ(wh.in_features(), K);
  for (const int64_t S : {int64_t{1}, int64_t{3}, ref::kHeldGemvMaxRows, ref::kHeldGemvMaxRows + 1, int64_t{40}}) {
    Mat<T> x(S, K);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = P::r(static_cast<T>(rng.normal()));
    const Mat<T> y = ref::linear<P>(x, wh), resident = ref::linear<P>(x, wr);
    ASSERT_EQ(y.rows(), S);
    ASSERT_EQ(y.cols(), N);
    if (S > ref::kHeldGemvMaxRows) {
      EXPECT_TRUE(same_bits(y, resident)) << P::kName << " S " << S << ": the resident GEMM's bits";
    } else if constexpr (P::kBf16) {
      // the bf16 store: within half a bf16 ulp of a value within the dot bound; compare to the resident
      // result, which meets the same bound, as at most one bf16 ulp apart
      // bf16 values as monotone integers: neighbours one apart, -0 and +0 both 0
      const auto ord = [](float v) {
        const uint16_t u = f32_to_bf16_bits(v);
        return (u & 0x8000u) ? -static_cast<int>(u & 0x7fffu) : static_cast<int>(u);
      };
      for (Eigen::Index i = 0; i < y.size(); ++i) {
        const float a = y.data()[i], b = resident.data()[i];
        EXPECT_LE(std::abs(ord(a) - ord(b)), 1) << "S " << S << " element " << i << ": " << a << " vs " << b;
      }
    } else {
      EXPECT_EQ(outside_dot_bound(x.data(), S, K, held->bits.data(), N, y.data()), 0) << "S " << S;
    }
  }
  Mat<T> wrong(1, K + 1);
  wrong.setZero();
  EXPECT_MM_ERROR(ref::linear<P>(wrong, wh), "test.weight", "columns");
}

TEST(HeldLinear, GemvUpToTheRowLimitResidentBitsAbove) {
  expect_held_linear<F32>(37, 1031);
  expect_held_linear<BF16>(37, 1031);
  expect_held_linear<F32>(300, 64);
  expect_held_linear<BF16>(300, 64);
}

// tiny, bf16 on disk; and a tied head stored in F32 (values that need more than bf16's 8 bits)
class Bf16Weights : public TinyCheckpoints {};

template <class T> std::vector<double> flat(const Mat<T>& m) {
  return std::vector<double>(m.data(), m.data() + m.size());
}

// Prefill bit for bit; decode within the rule: oracle ref-f64, budget the resident model of precision P.
template <class P>
void expect_held_model(const std::string& dir, const ModelConfig& cfg) {
  using T = typename P::T;
  const auto ck = std::make_shared<const Checkpoint>(dir);
  const ref::Model<P> resident(cfg, ref::load_weights<P>(*ck, cfg));
  const ref::Model<P> held(cfg, ref::load_weights<P>(ck, cfg, WeightResidency::Bf16));
  const ref::Model<F64> oracle(cfg, ref::load_weights<F64>(*ck, cfg));
  ASSERT_EQ(held.residency(), WeightResidency::Bf16);
  // every matrix held as 2 bytes a weight, none converted
  const ref::ModelWeights<T>& hw = held.weights();
  int64_t bytes = 0, converted = 0;
  auto count = [&](const ref::Weight<T>& w) {
    ASSERT_NE(w.held(), nullptr);
    bytes += static_cast<int64_t>(w.held()->bits.size() * sizeof(uint16_t));
    converted += w.size();
  };
  count(hw.embed);
  if (!cfg.tie_word_embeddings) count(hw.lm_head);
  EXPECT_EQ(hw.lm_head.held() == hw.embed.held(), cfg.tie_word_embeddings);  // a tied head is shared
  for (const auto& L : hw.layers) {
    for (const auto* w : L.type == LayerType::Lightning
                             ? std::vector<const ref::Weight<T>*>{&L.lightning.qkv, &L.lightning.gate, &L.lightning.out}
                             : std::vector<const ref::Weight<T>*>{&L.softmax.q, &L.softmax.k, &L.softmax.v, &L.softmax.o})
      count(*w);
    count(L.moe.gate);
    for (const auto& e : L.moe.experts) { count(e.w1); count(e.w3); count(e.w2); }
  }
  const ParamCount p = count_params(cfg);
  const int64_t vectors = cfg.num_hidden_layers * p.layer_norms + cfg.run_layers_of(LayerType::Lightning) *
                          cfg.num_attention_heads * cfg.head_dim + cfg.hidden_size;
  EXPECT_EQ(bytes, 2 * (p.total - vectors));
  EXPECT_EQ(converted, 0);

  const std::vector<int64_t> all = random_tokens(304, cfg.vocab_size, 11);
  const std::vector<int64_t> prompt(all.begin(), all.begin() + 300);
  auto rc = resident.new_cache();
  auto hc = held.new_cache();
  auto oc = oracle.new_cache();
  ref::ForwardTrace<T> rt, ht;
  EXPECT_TRUE(same_bits(resident.forward(prompt, rc, &rt), held.forward(prompt, hc, &ht))) << "prefill logits";
  for (std::size_t l = 0; l < rt.layers.size(); ++l) {
    EXPECT_TRUE(same_bits(rt.layers[l].attn_out, ht.layers[l].attn_out)) << "layer " << l << " attn_out";
    EXPECT_TRUE(same_bits(rt.layers[l].moe_out, ht.layers[l].moe_out)) << "layer " << l << " moe_out";
    EXPECT_TRUE(same_bits(rt.layers[l].output, ht.layers[l].output)) << "layer " << l << " output";
  }
  oracle.forward(prompt, oc);
  // decode: one token at a time through the GEMV; the errors compound over the steps like a model's
  ref::ForwardOptions<T> last;
  last.last_row_only = true;
  ref::ForwardOptions<double> last64;
  last64.last_row_only = true;
  std::vector<double> want, got, budget;
  for (std::size_t t = 300; t < all.size(); ++t) {
    const auto o = flat(oracle.forward({all[t]}, oc, nullptr, last64));
    const auto g = flat(held.forward({all[t]}, hc, nullptr, last));
    const auto b = flat(resident.forward({all[t]}, rc, nullptr, last));
    want.insert(want.end(), o.begin(), o.end());
    got.insert(got.end(), g.begin(), g.end());
    budget.insert(budget.end(), b.begin(), b.end());
  }
  const acceptance::Stats gs = acceptance::error_stats(want, got), bs = acceptance::error_stats(want, budget);
  // the resident model of the same precision is the budget; fp32's own NMSE ceiling for ref-f32
  const acceptance::Rule rule{acceptance::kK, acceptance::kKernelFloorRel, acceptance::kKernelFloorAbs,
                              P::kBf16 ? acceptance::kNmseCeilingModel : acceptance::kNmseCeilingF32};
  std::printf("[held-bf16 decode] %s: max_abs %g (resident %g, ratio %.3f), rel_fro %g (resident %g)\n", P::kName,
              gs.max_abs, bs.max_abs, bs.max_abs > 0 ? gs.max_abs / bs.max_abs : 0.0, gs.rel_fro, bs.rel_fro);
  EXPECT_TRUE(acceptance::passes(gs, bs, rule)) << P::kName << " decode logits: max_abs " << gs.max_abs << " vs resident "
                                                << bs.max_abs << ", rel_fro " << gs.rel_fro << " vs " << bs.rel_fro;
}

TEST_F(Bf16Weights, F32PrefillBitIdenticalDecodeWithinTheRule) { expect_held_model<F32>(dir_->path.string(), *cfg_); }
TEST_F(Bf16Weights, BF16PrefillBitIdenticalDecodeWithinTheRule) { expect_held_model<BF16>(dir_->path.string(), *cfg_); }
// F32 on disk: ref-bf16 rounds at load as the resident model does (tied head shared).
TEST_F(Bf16Weights, BF16TiedHeadF32OnDisk) { expect_held_model<BF16>(f32_dir_->path.string(), *tied_); }

// A block's values as bf16 bits: exact ones kept, a NaN (--allow-nonfinite-weights) kept a NaN, a value
// bf16 cannot hold refused under ref-f32 (named) and rounded under ref-bf16.
TEST(HeldBlock, ExactValuesKeptNaNKeptInexactRefusedOrRounded) {
  TempDir d;
  const std::string path = (d.path / "w.safetensors").string();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inexact = 1.0 + std::ldexp(1.0, -12);
  write_safetensors(path, std::vector<NamedValues>{{{"a.weight", DType::F32, {2, 3}}, {1.5, -2.0, nan, 0.0, 3.0, -0.25}},
                                                   {{"b.weight", DType::F32, {1, 2}}, {1.0, inexact}}});
  const SafetensorsFile f(path);
  const auto a = ref::to_held_bf16<F32>(WeightBlock{f.find("a.weight"), 0, 2, 3});
  ASSERT_EQ(a->bits.size(), 6u);
  EXPECT_EQ(bf16_bits_to_f32(a->bits[0]), 1.5f);
  EXPECT_EQ(bf16_bits_to_f32(a->bits[5]), -0.25f);
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(a->bits[2])));
  EXPECT_MM_ERROR(ref::to_held_bf16<F32>(WeightBlock{f.find("b.weight"), 0, 1, 2}), "b.weight", "[0, 1]",
                  "not a bf16 value");
  const auto b = ref::to_held_bf16<BF16>(WeightBlock{f.find("b.weight"), 0, 1, 2});
  EXPECT_EQ(bf16_bits_to_f32(b->bits[1]), round_bf16(static_cast<float>(inexact)));
}

TEST_F(Bf16Weights, RefusedForTheOracleAndForValuesBf16CannotHold) {
  const auto ck = std::make_shared<const Checkpoint>(dir_->path.string());
  EXPECT_MM_ERROR(ref::load_weights<F64>(ck, *cfg_, WeightResidency::Bf16), "--weights bf16", "ref-f64");
  const auto f32 = std::make_shared<const Checkpoint>(f32_dir_->path.string());
  EXPECT_MM_ERROR(ref::load_weights<F32>(f32, *tied_, WeightResidency::Bf16), "model.embed_tokens.weight", "F32",
                  "not a bf16 value", "ref-f32");
  EXPECT_EQ(parse_weight_residency("bf16"), WeightResidency::Bf16);
  EXPECT_STREQ(to_string(WeightResidency::Bf16), "bf16");
  // never Auto's choice; kept as asked
  EXPECT_EQ(resolve_weight_residency(WeightResidency::Bf16, *cfg_, 4, 0), WeightResidency::Bf16);
}

}  // namespace
}  // namespace mm::reftest
