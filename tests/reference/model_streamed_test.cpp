// Streamed weights (WeightResidency::Streamed, reference/model.cpp): the matrices stay in the mapped
// checkpoint and are converted when a layer uses them. The logits, every traced sub-output and the caches
// must be bit for bit those of the resident model, in every precision, through a prefill that crosses
// the lightning block and decode steps, with and without a tied lm_head; the blocked lm_head (used
// for heads above kStreamedHeadBlockBytes, never by a model whose head fits) meets the dot product's
// error bound as the whole GEMM does; Auto picks resident when the model fits; the memory estimate.
#include <cmath>
#include <cstring>
#include <type_traits>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "core/safetensors.h"
#include "ref_test_util.h"
#include "reference/model.h"
#include "reference/synthetic.h"
#include "reference/weight_block.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

// The resident and the streamed model on one checkpoint: a 300-token prefill (with a trace) and three
// decode steps, compared bit for bit.
template <class P>
void expect_streamed_equals_resident(const std::string& dir, const ModelConfig& cfg) {
  using T = typename P::T;
  const auto ck = std::make_shared<const Checkpoint>(dir);
  const ref::Model<P> resident(cfg, ref::load_weights<P>(*ck, cfg));
  const ref::Model<P> streamed(cfg, ref::load_weights<P>(ck, cfg, WeightResidency::Streamed));
  ASSERT_EQ(resident.residency(), WeightResidency::Resident);
  ASSERT_EQ(streamed.residency(), WeightResidency::Streamed);
  // nothing but the 1-D weights was converted at load
  const ref::ModelWeights<T>& sw = streamed.weights();
  EXPECT_EQ(sw.embed.size(), 0);
  EXPECT_EQ(sw.lm_head.size(), 0);
  for (const auto& L : sw.layers) {
    EXPECT_EQ(L.lightning.qkv.size() + L.softmax.q.size() + L.moe.gate.size(), 0);
    EXPECT_TRUE(L.moe.experts.empty());
    EXPECT_EQ(L.input_norm.size(), cfg.hidden_size);
  }

  const std::vector<int64_t> all = random_tokens(303, cfg.vocab_size, 11);
  const std::vector<int64_t> prompt(all.begin(), all.begin() + 300);
  auto rc = resident.new_cache();
  auto sc = streamed.new_cache();
  ref::ForwardTrace<T> rt, st;
  EXPECT_TRUE(same_bits(resident.forward(prompt, rc, &rt), streamed.forward(prompt, sc, &st))) << "prefill logits";
  ASSERT_EQ(rt.layers.size(), st.layers.size());
  for (std::size_t l = 0; l < rt.layers.size(); ++l) {
    EXPECT_TRUE(same_bits(rt.layers[l].attn_out, st.layers[l].attn_out)) << "layer " << l << " attn_out";
    EXPECT_TRUE(same_bits(rt.layers[l].moe_out, st.layers[l].moe_out)) << "layer " << l << " moe_out";
    EXPECT_TRUE(same_bits(rt.layers[l].router.probs, st.layers[l].router.probs)) << "layer " << l << " router";
    EXPECT_TRUE(same_bits(rt.layers[l].output, st.layers[l].output)) << "layer " << l << " output";
  }
  EXPECT_TRUE(same_bits(rt.final_norm, st.final_norm));
  ref::ForwardOptions<T> last;
  last.last_row_only = true;
  for (std::size_t t = 300; t < all.size(); ++t)
    EXPECT_TRUE(same_bits(resident.forward({all[t]}, rc, nullptr, last), streamed.forward({all[t]}, sc, nullptr, last)))
        << "decode step " << t - 300;
  for (std::size_t l = 0; l < rc.layers.size(); ++l) {
    EXPECT_TRUE(same_bits(rc.layers[l].kv.k, sc.layers[l].kv.k)) << "layer " << l << " K cache";
    ASSERT_EQ(rc.layers[l].lightning.state.size(), sc.layers[l].lightning.state.size());
    for (std::size_t h = 0; h < rc.layers[l].lightning.state.size(); ++h)
      EXPECT_TRUE(same_bits(rc.layers[l].lightning.state[h], sc.layers[l].lightning.state[h])) << "layer " << l;
  }
}

// tiny, bf16 on disk; and a tied head stored in f32 (TinyCheckpoints)
class StreamedModel : public TinyCheckpoints {};

TEST_F(StreamedModel, F64BitIdenticalToResident) { expect_streamed_equals_resident<F64>(dir_->path.string(), *cfg_); }
TEST_F(StreamedModel, F32BitIdenticalToResident) { expect_streamed_equals_resident<F32>(dir_->path.string(), *cfg_); }
TEST_F(StreamedModel, BF16BitIdenticalToResident) { expect_streamed_equals_resident<BF16>(dir_->path.string(), *cfg_); }
TEST_F(StreamedModel, TiedHeadF32OnDiskBitIdentical) {
  expect_streamed_equals_resident<F64>(f32_dir_->path.string(), *tied_);
  expect_streamed_equals_resident<BF16>(f32_dir_->path.string(), *tied_);
}

// Auto keeps a model that fits resident (tiny here), and the streamed model's corrupted norm (soak's
// fault injection) reaches its output as the resident model's does.
TEST_F(StreamedModel, AutoIsResidentWhenTheModelFitsAndNormsStayMutable) {
  const auto ck = std::make_shared<const Checkpoint>(dir_->path.string());
  EXPECT_EQ(ref::Model<F32>(*cfg_, ref::load_weights<F32>(ck, *cfg_, WeightResidency::Auto)).residency(),
            WeightResidency::Resident);
  ref::Model<F32> m(*cfg_, ref::load_weights<F32>(ck, *cfg_, WeightResidency::Streamed));
  auto c0 = m.new_cache();
  const Mat<float> before = m.forward({1, 2, 3}, c0);
  m.mutable_weights().layers[2].input_norm(0) = 1e30f;
  auto c1 = m.new_cache();
  EXPECT_FALSE(same_bits(before, m.forward({1, 2, 3}, c1)));
}

// The blocked product the streamed lm_head takes above kStreamedHeadBlockBytes. OpenBLAS partitions a
// GEMM by its N, so a block's products may be summed in another order than the whole GEMM's: the two
// agree to rounding, not bit for bit (measured: most F64 cases and some F32 ones differ). What both
// must meet is the dot product's error bound against an exact sum: |y - sum x w| <= gamma_K sum |x w|
// with gamma_K = K u / (1 - K u) for the GEMM's scalar (u = 2^-53 for F64, 2^-24 for the fp32
// accumulation of F32 and BF16), plus half a bf16 ulp of the result in the BF16 mode (its store).
template <class P>
void expect_blocked_within_the_dot_bound(const WeightBlock& w, const char* what) {
  using T = typename P::T;
  const Mat<T> W = ref::to_mat<P>(w);
  const long double u = std::is_same_v<T, double> ? std::ldexp(1.0L, -53) : std::ldexp(1.0L, -24);
  const long double K = static_cast<long double>(w.cols), gamma = K * u / (1 - K * u);
  for (Eigen::Index S : {1, 7, 40}) {
    Rng rng(static_cast<uint64_t>(S));
    Mat<T> x(S, w.cols);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = P::r(static_cast<T>(rng.normal()));
    // the exact sums (long double: a 64-bit significand) and each element's bound
    Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic> exact(S, W.rows()), bound(S, W.rows());
    for (Eigen::Index i = 0; i < S; ++i)
      for (Eigen::Index j = 0; j < W.rows(); ++j) {
        long double sum = 0, mag = 0;
        for (Eigen::Index k = 0; k < W.cols(); ++k) {
          const long double p = static_cast<long double>(x(i, k)) * static_cast<long double>(W(j, k));
          sum += p;
          mag += std::fabs(p);
        }
        exact(i, j) = sum;
        bound(i, j) = gamma * mag + (P::kBf16 ? std::ldexp(std::fabs(sum) + gamma * mag, -8) : 0.0L);  // + half a bf16 ulp
      }
    const auto outside = [&](const Mat<T>& y) {
      int64_t n = 0;
      for (Eigen::Index i = 0; i < S; ++i)
        for (Eigen::Index j = 0; j < W.rows(); ++j)
          n += !(std::fabs(static_cast<long double>(y(i, j)) - exact(i, j)) <= bound(i, j));  // NaN: outside
      return n;
    };
    const Mat<T> whole = ref::linear<P>(x, W);
    EXPECT_EQ(outside(whole), 0) << what << " S=" << S << " whole";
    Mat<T> off = whole;  // the check can fail: one element moved by 4 bounds is caught
    off(0, 0) += static_cast<T>(4 * bound(0, 0));
    EXPECT_EQ(outside(off), 1) << what << " S=" << S;
    for (int64_t rows : {int64_t{1}, int64_t{64}, int64_t{1000}, int64_t{8192}}) {
      const Mat<T> blocked = ref::linear_blocked<P>(x, w, rows);
      ASSERT_EQ(blocked.rows(), S);
      ASSERT_EQ(blocked.cols(), w.rows);
      EXPECT_EQ(outside(blocked), 0) << what << " S=" << S << " rows/block " << rows;
    }
    // one block is the whole GEMM
    EXPECT_TRUE(same_bits(whole, ref::linear_blocked<P>(x, w, w.rows))) << what << " S=" << S;
  }
}

TEST(StreamedHead, BlockedMeetsTheDotProductBoundAsTheWholeGemmDoes) {
  // [8195, 256]: 8192-row blocks leave a ragged last block of 3
  const int64_t V = 8195, H = 256;
  std::vector<double> vals(static_cast<std::size_t>(V * H));
  Rng rng(5);
  for (auto& v : vals) v = rng.normal() * 0.05;
  TempDir d;
  const std::string path = (d.path / "head.safetensors").string();
  write_safetensors(path, std::vector<NamedValues>{{{"lm_head.weight", DType::BF16, {V, H}}, vals}});
  const SafetensorsFile f(path);
  const WeightBlock w{f.find("lm_head.weight"), 0, V, H};
  expect_blocked_within_the_dot_bound<F64>(w, "F64");
  expect_blocked_within_the_dot_bound<F32>(w, "F32");
  expect_blocked_within_the_dot_bound<BF16>(w, "BF16");
}

TEST(StreamedMemory, EstimateAndAuto) {
  const ModelConfig real = preset_config("minimax-text-01");
  // fp64: one lightning layer's projections (251.7M) + router (197K) + one expert (169.9M) = 3.37 GB,
  // above a 1 GiB head block; + the norms (12.5 MB) and the lightning state (587 MB).
  const uint64_t f64 = estimate_streamed_model_bytes(real, 8, 8);
  EXPECT_GT(f64, uint64_t{3'900'000'000});
  EXPECT_LT(f64, uint64_t{4'100'000'000});
  EXPECT_LT(f64 * 100, estimate_model_bytes(real, 8, 8));
  // the state and KV cache are counted as estimate_model_bytes counts them
  EXPECT_EQ(estimate_streamed_model_bytes(real, 8, 8, 1000) - f64,
            estimate_model_bytes(real, 8, 8, 1000) - estimate_model_bytes(real, 8, 8));
  const uint64_t gib24 = uint64_t{24} << 30;
  EXPECT_EQ(resolve_weight_residency(WeightResidency::Auto, real, 4, gib24), WeightResidency::Streamed);
  EXPECT_EQ(resolve_weight_residency(WeightResidency::Auto, preset_config("tiny"), 8, gib24), WeightResidency::Resident);
  EXPECT_EQ(resolve_weight_residency(WeightResidency::Auto, real, 4, 0), WeightResidency::Resident);  // unknown
  EXPECT_EQ(resolve_weight_residency(WeightResidency::Resident, real, 4, gib24), WeightResidency::Resident);
  EXPECT_EQ(parse_weight_residency("streamed"), WeightResidency::Streamed);
  EXPECT_THROW(parse_weight_residency("mmap"), UsageError);
  EXPECT_STREQ(to_string(WeightResidency::Auto), "auto");
}

}  // namespace
}  // namespace mm::reftest
