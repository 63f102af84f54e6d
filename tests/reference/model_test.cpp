// The whole model on the `tiny` preset (8 layers, 7 lightning + 1 softmax), weights from a synthetic BF16
// checkpoint written to a temp dir and loaded back through mm::Checkpoint + load_weights:
// prefill + decode = one-shot prefill (fp64, every layer type, prompts crossing lightning blocks), the
// precision ladder F32 / BF16 vs F64, bad input, postnorm = false.
#include <memory>
#include <map>
#include <set>

#include "core/safetensors.h"
#include "ref_test_util.h"
#include "reference/model.h"
#include "reference/synthetic.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::Continuation;

// Forward options that only choose the lightning layers' continuation.
template <class T> ref::ForwardOptions<T> continuing(Continuation c) {
  ref::ForwardOptions<T> o;
  o.cont = c;
  return o;
}
using ref::F32;
using ref::F64;

class ModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    cfg_ = new ModelConfig(preset_config("tiny"));
    ref::SyntheticOptions opt;
    opt.seed = 2024;  // BF16 on disk (the default): all three precisions see the same weight values
    ref::write_synthetic_checkpoint(dir_->path.string(), *cfg_, opt);
    ckpt_ = new Checkpoint(dir_->path.string());
    w64_ = new ref::ModelWeights<double>(ref::load_weights<F64>(*ckpt_, *cfg_));
    w32_ = new ref::ModelWeights<float>(ref::load_weights<F32>(*ckpt_, *cfg_));
    wbf_ = new ref::ModelWeights<float>(ref::load_weights<BF16>(*ckpt_, *cfg_));
  }
  static void TearDownTestSuite() {
    delete wbf_; delete w32_; delete w64_; delete ckpt_; delete cfg_; delete dir_;
  }
  static ModelConfig cfg(int64_t block, bool postnorm = true) {
    ModelConfig c = *cfg_;
    c.block_size = block;
    c.postnorm = postnorm;
    return c;
  }
  static std::vector<int64_t> tokens(std::size_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<int64_t> t(n);
    for (auto& v : t) v = rng.below(cfg_->vocab_size);
    return t;
  }
  // Prefill `prompt`, then feed the decode tokens one by one; returns all logits rows stacked.
  template <class P>
  static Mat<typename P::T> prefill_then_decode(const ref::Model<P>& m, const std::vector<int64_t>& all,
                                                std::size_t prompt, Continuation cont) {
    auto cache = m.new_cache();
    Mat<typename P::T> out(static_cast<Eigen::Index>(all.size()), m.config().vocab_size);
    const auto opt = continuing<typename P::T>(cont);
    out.topRows(Eigen::Index(prompt)) = m.forward({all.begin(), all.begin() + std::ptrdiff_t(prompt)}, cache, nullptr, opt);
    for (std::size_t t = prompt; t < all.size(); ++t) out.row(Eigen::Index(t)) = m.forward({all[t]}, cache, nullptr, opt);
    EXPECT_EQ(cache.position, int64_t(all.size()));
    return out;
  }

  static TempDir* dir_;
  static ModelConfig* cfg_;
  static Checkpoint* ckpt_;
  static ref::ModelWeights<double>* w64_;
  static ref::ModelWeights<float>* w32_;
  static ref::ModelWeights<float>* wbf_;
};
TempDir* ModelTest::dir_ = nullptr;
ModelConfig* ModelTest::cfg_ = nullptr;
Checkpoint* ModelTest::ckpt_ = nullptr;
ref::ModelWeights<double>* ModelTest::w64_ = nullptr;
ref::ModelWeights<float>* ModelTest::w32_ = nullptr;
ref::ModelWeights<float>* ModelTest::wbf_ = nullptr;

TEST_F(ModelTest, CheckpointRoundTripAndLayerTypes) {
  const ModelConfig& c = *cfg_;
  ASSERT_GE(c.num_layers_of(LayerType::Lightning), 1);
  ASSERT_GE(c.num_layers_of(LayerType::Softmax), 1);
  const ModelConfig back = load_config(dir_->path.string());
  EXPECT_EQ(back.hidden_size, c.hidden_size);
  EXPECT_EQ(back.layer_types, c.layer_types);
  EXPECT_EQ(back.alpha_mlp, c.alpha_mlp);
  // the loaded tensors are the synthetic values rounded to bf16
  const std::map<std::string, const Mat<double>*> probes = {
      {"model.embed_tokens.weight", &w64_->embed},
      {"model.layers.0.self_attn.qkv_proj.weight", &w64_->layers[0].lightning.qkv},
      {"model.layers.7.self_attn.k_proj.weight", &w64_->layers[7].softmax.k},
      {"model.layers.3.block_sparse_moe.experts.2.w2.weight", &w64_->layers[3].moe.experts[2].w2},
      {"lm_head.weight", &w64_->lm_head}};
  int seen = 0;
  for (const auto& s : ref::checkpoint_specs(c, DType::BF16)) {
    const auto it = probes.find(s.name);
    if (it == probes.end()) continue;
    ++seen;
    std::vector<double> v;
    ref::synthetic_values(s, c, 2024, v);
    const Mat<double>& m = *it->second;
    ASSERT_EQ(m.size(), Eigen::Index(v.size())) << s.name;
    for (Eigen::Index i = 0; i < m.size(); i += 97)
      EXPECT_EQ(m.data()[i], double(round_bf16(float(v[std::size_t(i)])))) << s.name << " element " << i;
  }
  EXPECT_EQ(seen, int(probes.size()));
  EXPECT_EQ(w64_->layers[7].type, LayerType::Softmax);
  EXPECT_EQ(w64_->layers[0].type, LayerType::Lightning);
}

TEST_F(ModelTest, PrefillThenDecodeEqualsOneShotBlock16) {
  const ref::Model<F64> m(cfg(16), *w64_);
  const auto all = tokens(43, 1);
  auto full_cache = m.new_cache();
  const Mat<double> full = m.forward(all, full_cache);
  ASSERT_TRUE(all_finite(full));
  for (Continuation cont : {Continuation::Recurrent, Continuation::Block}) {
    const Mat<double> got = prefill_then_decode(m, all, 37, cont);  // prompt crosses blocks at 16 and 32
    EXPECT_REL_LE(cont == Continuation::Recurrent ? "model<F64>: prefill+decode vs one-shot (block 16, Recurrent)"
                                                  : "model<F64>: prefill+decode vs one-shot (block 16, Block)",
                  rel_err(got, full), 1e-10);
    // multi-token continuation chunks (20 + 17 + 6)
    auto cache = m.new_cache();
    Mat<double> ch(43, m.config().vocab_size);
    ch.topRows(20) = m.forward({all.begin(), all.begin() + 20}, cache, nullptr, continuing<double>(cont));
    ch.middleRows(20, 17) = m.forward({all.begin() + 20, all.begin() + 37}, cache, nullptr, continuing<double>(cont));
    ch.bottomRows(6) = m.forward({all.begin() + 37, all.end()}, cache, nullptr, continuing<double>(cont));
    EXPECT_REL_LE("model<F64>: chunked prefill vs one-shot (block 16)", rel_err(ch, full), 1e-10);
  }
  // the logits are not degenerate: several different argmaxes along the sequence
  std::set<Eigen::Index> am;
  for (Eigen::Index t = 0; t < full.rows(); ++t) {
    Eigen::Index i;
    full.row(t).maxCoeff(&i);
    am.insert(i);
  }
  EXPECT_GE(am.size(), 5u);
}

TEST_F(ModelTest, PrefillThenDecodeEqualsOneShotDefaultBlock256) {
  const ref::Model<F64> m(cfg(256), *w64_);
  const auto all = tokens(263, 2);  // 260-token prompt: one full block of 256 plus a partial block
  auto fc = m.new_cache();
  const Mat<double> full = m.forward(all, fc);
  const Mat<double> got = prefill_then_decode(m, all, 260, Continuation::Recurrent);
  EXPECT_REL_LE("model<F64>: prefill+decode vs one-shot (block 256, 263 tokens)", rel_err(got, full), 1e-10);
  // block size must not change the math (only the schedule)
  const ref::Model<F64> m16(cfg(16), *w64_);
  auto c16 = m16.new_cache();
  EXPECT_REL_LE("model<F64>: block 16 vs block 256 one-shot", rel_err(m16.forward(all, c16), full), 1e-10);
}

TEST_F(ModelTest, PrecisionLadder) {
  const auto all = tokens(45, 3);
  const ref::Model<F64> m64(cfg(16), *w64_);
  const ref::Model<F32> m32(cfg(16), *w32_);
  const ref::Model<BF16> mbf(cfg(16), *wbf_);
  const Mat<double> y64 = prefill_then_decode(m64, all, 40, Continuation::Recurrent);
  const Mat<float> y32 = prefill_then_decode(m32, all, 40, Continuation::Recurrent);
  const Mat<float> ybf = prefill_then_decode(mbf, all, 40, Continuation::Recurrent);
  ASSERT_TRUE(all_finite(y32));
  ASSERT_TRUE(all_finite(ybf));
  const double e32 = rel_err(y32, y64), ebf = rel_err(ybf, y64);
  const double rms32 = std::sqrt((y32.cast<double>() - y64).squaredNorm() / y64.squaredNorm());
  const double rmsbf = std::sqrt((ybf.cast<double>() - y64).squaredNorm() / y64.squaredNorm());
  EXPECT_REL_LE("model: F32 vs F64 logits, max-rel (45 tokens, prefill+decode)", e32, 1e-5);
  EXPECT_REL_LE("model: F32 vs F64 logits, rms-rel", rms32, 1e-5);
  // bf16 rounds at every official store; through 8 layers the max error is dominated by the few tokens whose
  // top-2 expert choice flips between bf16 and fp64 (a discontinuity, not a bug): measured ~1e-1 max, ~3e-2 rms
  EXPECT_REL_LE("model: BF16 vs F64 logits, max-rel (45 tokens, prefill+decode)", ebf, 0.2);
  EXPECT_REL_LE("model: BF16 vs F64 logits, rms-rel", rmsbf, 5e-2);
  EXPECT_GT(ebf, 100 * e32) << "bf16 must be clearly worse than fp32";
  EXPECT_GT(rmsbf, 100 * rms32);
  // greedy tokens agree between F32 and F64 on every position where the top-2 margin is comfortable
  int agree = 0, checked = 0;
  for (Eigen::Index t = 0; t < y64.rows(); ++t) {
    Eigen::Index a, b;
    y64.row(t).maxCoeff(&a);
    y32.row(t).maxCoeff(&b);
    ++checked;
    agree += a == b;
  }
  EXPECT_EQ(agree, checked);
}

TEST_F(ModelTest, BadInputThrowsAndLeavesTheCacheUsable) {
  const ref::Model<F64> m(cfg(16), *w64_);
  auto cache = m.new_cache();
  EXPECT_MM_ERROR(m.forward({}, cache), "empty");
  EXPECT_MM_ERROR(m.forward({1, 2, 3, 512, 4}, cache), "token id 512", "position 3", "vocab_size = 512");
  EXPECT_MM_ERROR(m.forward({-1}, cache), "token id -1", "position 0");
  EXPECT_MM_ERROR(m.forward({7, 100000}, cache), "token id 100000", "position 1");
  EXPECT_EQ(cache.position, 0);
  // the failed calls did not touch the cache: a valid call now equals one on a fresh cache
  const std::vector<int64_t> ok = {5, 6, 7};
  const Mat<double> a = m.forward(ok, cache);
  auto fresh = m.new_cache();
  EXPECT_EQ(rel_err(a, m.forward(ok, fresh)), 0.0);
  EXPECT_MM_ERROR(m.forward({512}, cache), "token id 512");
  EXPECT_EQ(cache.position, 3);
  // a cache from the wrong model shape is refused
  ref::ModelCache<double> wrong;
  EXPECT_MM_ERROR(m.forward(ok, wrong), "cache");
}

// MiniMax-VL-01 splicing: the rows given for the image placeholder id replace those positions'
// embeddings, in order, and nothing else changes. Equivalent: a model whose embedding table holds the
// spliced row at a spare token id, fed that id instead.
TEST_F(ModelTest, SplicedEmbeddingsReplaceThePlaceholdersInOrder) {
  const ref::Model<F64> m(cfg(16), *w64_);
  const int64_t H = cfg_->hidden_size, img = 500;
  ModelInput in({3, img, 9, img, img, 4});
  in.spliced.token_id = img;
  in.spliced.rows = 3;
  in.spliced.cols = H;
  Rng rng(77);
  for (int64_t i = 0; i < 3 * H; ++i) in.spliced.values.push_back(rng.normal());
  auto cache = m.new_cache();
  const Mat<double> got = m.forward(in, cache);
  // The same through the table: tokens 510, 511, 509 carry image rows 0, 1, 2.
  ref::ModelWeights<double> w = *w64_;
  const int64_t spare[3] = {510, 511, 509};
  for (int r = 0; r < 3; ++r)
    for (int64_t c = 0; c < H; ++c) w.embed(spare[r], c) = in.spliced.values[static_cast<std::size_t>(r * H + c)];
  const ref::Model<F64> m2(cfg(16), w);
  auto cache2 = m2.new_cache();
  // (lm_head is its own copy even when tied, so editing embed changes only the lookup.)
  const Mat<double> want = m2.forward(ModelInput({3, 510, 9, 511, 509, 4}), cache2);
  EXPECT_LE(rel_err(got, want), 1e-15);
  // Bad splices are refused before anything runs, naming the counts.
  ModelInput bad = in;
  bad.spliced.rows = 2;
  bad.spliced.values.resize(static_cast<std::size_t>(2 * H));
  auto c3 = m.new_cache();
  EXPECT_MM_ERROR(m.forward(bad, c3), "2 image embedding rows for 3 image tokens");
  bad = in;
  bad.spliced.values[5] = std::nan("");
  EXPECT_MM_ERROR(m.forward(bad, c3), "image embedding value 5", "not finite");
  bad = in;
  bad.spliced.cols = H + 1;
  EXPECT_MM_ERROR(m.forward(bad, c3), "hidden_size");
  EXPECT_EQ(c3.position, 0);
}

TEST_F(ModelTest, PostnormFalseRunsAndContinues) {
  const ref::Model<F64> mf(cfg(16, false), *w64_);
  const ref::Model<F64> mt(cfg(16, true), *w64_);
  const auto all = tokens(40, 4);
  auto c1 = mf.new_cache(), c2 = mt.new_cache();
  const Mat<double> yf = mf.forward(all, c1);
  const Mat<double> yt = mt.forward(all, c2);
  ASSERT_TRUE(all_finite(yf));
  EXPECT_GT(rel_err(yf, yt), 1e-2);
  const Mat<double> got = prefill_then_decode(mf, all, 35, Continuation::Recurrent);
  EXPECT_REL_LE("model<F64> postnorm=false: prefill+decode vs one-shot", rel_err(got, yf), 1e-10);
  // and in fp32 it stays close to fp64 (the residual stream grows by ~alpha^2 per layer here)
  const ref::Model<F32> m32(cfg(16, false), *w32_);
  auto c3 = m32.new_cache();
  EXPECT_REL_LE("model: F32 vs F64 logits, postnorm=false", rel_err(m32.forward(all, c3), yf), 1e-4);
}


// The loader also takes the VL-01 prefix `language_model.` and the HF v5 fused MoE names
// (docs/semantics/text-01-model.md#weight-names):
// mlp.gate.weight [E, H]; mlp.experts.gate_up_proj [E, 2I, H] (rows 0..I-1 = w1, I..2I-1 = w3);
// mlp.experts.down_proj [E, H, I]. Same values -> same weights -> same logits.
TEST_F(ModelTest, LoadsHfV5FusedNamesWithVlPrefix) {
  const ModelConfig& c = *cfg_;
  const int64_t E = c.num_local_experts, I = c.intermediate_size, H = c.hidden_size;
  std::map<std::string, std::vector<double>> vals;
  std::vector<NamedValues> out;
  for (const auto& spec : ref::checkpoint_specs(c, DType::BF16)) {
    std::vector<double> v;
    ref::synthetic_values(spec, c, 2024, v);
    if (spec.name.find("block_sparse_moe") == std::string::npos) {
      out.push_back({{"language_model." + spec.name, spec.dtype, spec.shape}, std::move(v)});
    } else {
      vals[spec.name] = std::move(v);
    }
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({{"language_model." + p + "mlp.gate.weight", DType::BF16, {E, H}}, vals[p + "block_sparse_moe.gate.weight"]});
    std::vector<double> gu, dn;
    for (int64_t e = 0; e < E; ++e) {
      const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      gu.insert(gu.end(), vals[q + "w1.weight"].begin(), vals[q + "w1.weight"].end());
      gu.insert(gu.end(), vals[q + "w3.weight"].begin(), vals[q + "w3.weight"].end());
      dn.insert(dn.end(), vals[q + "w2.weight"].begin(), vals[q + "w2.weight"].end());
    }
    out.push_back({{"language_model." + p + "mlp.experts.gate_up_proj", DType::BF16, {E, 2 * I, H}}, std::move(gu)});
    out.push_back({{"language_model." + p + "mlp.experts.down_proj", DType::BF16, {E, H, I}}, std::move(dn)});
  }
  TempDir d;
  write_safetensors((d.path / "model.safetensors").string(), out);
  const Checkpoint ck(d.path.string());
  const auto w = ref::load_weights<F64>(ck, c);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto& a = w.layers[std::size_t(l)].moe;
    const auto& b = w64_->layers[std::size_t(l)].moe;
    EXPECT_EQ(rel_err(a.gate, b.gate), 0.0) << "layer " << l;
    for (int64_t e = 0; e < E; ++e) {
      EXPECT_EQ(rel_err(a.experts[std::size_t(e)].w1, b.experts[std::size_t(e)].w1), 0.0) << "layer " << l << " expert " << e;
      EXPECT_EQ(rel_err(a.experts[std::size_t(e)].w3, b.experts[std::size_t(e)].w3), 0.0) << "layer " << l << " expert " << e;
      EXPECT_EQ(rel_err(a.experts[std::size_t(e)].w2, b.experts[std::size_t(e)].w2), 0.0) << "layer " << l << " expert " << e;
    }
  }
  EXPECT_EQ(rel_err(w.embed, w64_->embed), 0.0);
  EXPECT_EQ(rel_err(w.lm_head, w64_->lm_head), 0.0);
  const ref::Model<F64> m1(cfg(16), w), m2(cfg(16), *w64_);
  auto c1 = m1.new_cache(), c2 = m2.new_cache();
  const auto t = tokens(10, 9);
  EXPECT_EQ(rel_err(m1.forward(t, c1), m2.forward(t, c2)), 0.0);
}


// The model glue, recomputed: h = embed[ids] (no scaling); h = DecoderLayer_l(h) with the absolute layer
// index l (the slopes depend on it); logits = RMSNorm(h, eps 1e-5) lm_head^T with an untied lm_head.
TEST_F(ModelTest, MatchesLayerByLayerComposition) {
  const ModelConfig c = cfg(16);
  const ref::Model<F64> m(c, *w64_);
  const auto t = tokens(30, 5);
  auto cache = m.new_cache();
  ref::ForwardTrace<double> tr;
  const Mat<double> y = m.forward(t, cache, &tr);
  Mat<double> h(30, c.hidden_size);
  for (int i = 0; i < 30; ++i) h.row(i) = w64_->embed.row(t[std::size_t(i)]);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    ref::LayerCache<double> lc;
    h = ref::decoder_layer<F64>(h, w64_->layers[std::size_t(l)], c, int(l), lc, Continuation::Recurrent);
    EXPECT_REL_LE("model<F64>: layer output vs composition", rel_err(tr.layers[std::size_t(l)].output, h), 1e-14) << "layer " << l;
  }
  const Mat<double> n = rmsnorm_f64(h, w64_->final_norm, 1e-5);
  EXPECT_REL_LE("model<F64>: final norm vs composition", rel_err(tr.final_norm, n), 1e-14);
  EXPECT_REL_LE("model<F64>: logits vs composition", rel_err(y, Mat<double>(n * w64_->lm_head.transpose())), 1e-14);
  EXPECT_GT(rel_err(w64_->lm_head, w64_->embed), 0.1) << "lm_head is untied";
  // the layer index matters (slopes): running layer 0's weights as layer 5 changes the output
  ref::LayerCache<double> a, b;
  const Mat<double> h0 = w64_->embed.topRows(20);
  EXPECT_GT(rel_err(ref::decoder_layer<F64>(h0, w64_->layers[0], c, 5, a, Continuation::Recurrent),
                    ref::decoder_layer<F64>(h0, w64_->layers[0], c, 0, b, Continuation::Recurrent)),
            1e-3);
}

TEST_F(ModelTest, PositionLimitIsChecked) {
  ModelConfig c = cfg(16);
  c.max_position_embeddings = 12;
  const ref::Model<F64> m(c, *w64_);
  auto cache = m.new_cache();
  (void)m.forward(tokens(10, 6), cache);
  (void)m.forward({1}, cache);
  (void)m.forward({2}, cache);
  EXPECT_MM_ERROR(m.forward({3}, cache), "position 13", "max_position_embeddings = 12");
  EXPECT_EQ(cache.position, 12);
}

}  // namespace
}  // namespace mm::reftest
