// The weight loader accepts the official names, the VL-01 `language_model.` prefix and the HF v5
// fused MoE names, and gives clear errors for missing or mis-shaped tensors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "reference/model.h"
#include "reference/synthetic.h"
#include "tests/core/test_util.h"

namespace mm {

static ModelConfig two_layer_config() {
  ModelConfig c = preset_config("tiny");
  c.num_hidden_layers = 2;
  c.layer_types = {LayerType::Lightning, LayerType::Softmax};
  c.vocab_size = 64;
  return c;
}

static void expect_equal_weights(const ref::ModelWeights<double>& a, const ref::ModelWeights<double>& b) {
  EXPECT_EQ(a.embed, b.embed);
  EXPECT_EQ(a.lm_head, b.lm_head);
  EXPECT_EQ(a.final_norm, b.final_norm);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].moe.gate, b.layers[l].moe.gate);
    for (std::size_t e = 0; e < a.layers[l].moe.experts.size(); ++e) {
      EXPECT_EQ(a.layers[l].moe.experts[e].w1, b.layers[l].moe.experts[e].w1) << l << "/" << e;
      EXPECT_EQ(a.layers[l].moe.experts[e].w3, b.layers[l].moe.experts[e].w3) << l << "/" << e;
      EXPECT_EQ(a.layers[l].moe.experts[e].w2, b.layers[l].moe.experts[e].w2) << l << "/" << e;
    }
    EXPECT_EQ(a.layers[l].lightning.qkv, b.layers[l].lightning.qkv);
    EXPECT_EQ(a.layers[l].softmax.k, b.layers[l].softmax.k);
  }
}

TEST(CheckpointNames, OfficialVlPrefixAndHfV5FusedExperts) {
  const ModelConfig c = two_layer_config();
  test::TempDir d;
  ref::SyntheticOptions opt;
  opt.seed = 11;
  ref::write_synthetic_checkpoint(d.file("official"), c, opt);
  const auto ref_w = ref::load_weights<ref::F64>(Checkpoint(d.file("official")), c);
  EXPECT_GT(ref_w.embed.cwiseAbs().maxCoeff(), 0.1);  // not zeros

  // Re-export: (1) everything under language_model., (2) experts fused as HF v5 stores them in memory.
  const auto specs = ref::checkpoint_specs(c, DType::F32);
  std::vector<NamedValues> vl, v5;
  const int64_t I = c.intermediate_size, H = c.hidden_size, E = c.num_local_experts;
  for (const auto& s : specs) {
    std::vector<double> v;
    ref::synthetic_values(s, c, opt.seed, v);
    for (auto& x : v) x = round_bf16(static_cast<float>(x));  // the official checkpoint holds bf16 values
    vl.push_back({{"language_model." + s.name, s.dtype, s.shape}, v});
    if (s.name.find("block_sparse_moe.experts.") == std::string::npos) {
      std::string n = s.name;
      const auto g = n.find("block_sparse_moe.gate");
      if (g != std::string::npos) n.replace(g, 16, "mlp");
      v5.push_back({{n, s.dtype, s.shape}, v});
    }
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::vector<double> gu, dn;
    for (int64_t e = 0; e < E; ++e) {
      const std::string q = "model.layers." + std::to_string(l) + ".block_sparse_moe.experts." + std::to_string(e) + ".";
      for (const char* w : {"w1", "w3"}) {
        std::vector<double> v;
        ref::synthetic_values({q + w + ".weight", DType::F32, {I, H}}, c, opt.seed, v);
        gu.insert(gu.end(), v.begin(), v.end());
      }
      std::vector<double> v;
      ref::synthetic_values({q + "w2.weight", DType::F32, {H, I}}, c, opt.seed, v);
      dn.insert(dn.end(), v.begin(), v.end());
    }
    for (auto* vec : {&gu, &dn}) for (auto& x : *vec) x = round_bf16(static_cast<float>(x));
    const std::string p = "model.layers." + std::to_string(l) + ".mlp.experts.";
    v5.push_back({{p + "gate_up_proj", DType::BF16, {E, 2 * I, H}}, gu});
    v5.push_back({{p + "down_proj", DType::BF16, {E, H, I}}, dn});
  }
  write_safetensors(d.file("vl.safetensors"), vl);
  write_safetensors(d.file("v5.safetensors"), v5);
  expect_equal_weights(ref_w, ref::load_weights<ref::F64>(Checkpoint(d.file("vl.safetensors")), c));
  expect_equal_weights(ref_w, ref::load_weights<ref::F64>(Checkpoint(d.file("v5.safetensors")), c));
}

TEST(CheckpointNames, MissingOrMisShapedTensorIsNamed) {
  const ModelConfig c = two_layer_config();
  test::TempDir d;
  const auto specs = ref::checkpoint_specs(c, DType::BF16);
  std::vector<NamedValues> all;
  for (const auto& s : specs) {
    std::vector<double> v;
    ref::synthetic_values(s, c, 3, v);
    all.push_back({s, v});
  }
  auto without = all;
  without.erase(without.begin() + 5);
  write_safetensors(d.file("missing.safetensors"), without);
  EXPECT_MM_ERROR(ref::load_weights<ref::F32>(Checkpoint(d.file("missing.safetensors")), c), "missing tensor",
                  specs[5].name.c_str());
  auto wrong = all;
  wrong[0].spec.shape = {c.hidden_size, c.vocab_size};
  write_safetensors(d.file("wrong.safetensors"), wrong);
  EXPECT_MM_ERROR(ref::load_weights<ref::F32>(Checkpoint(d.file("wrong.safetensors")), c), "model.embed_tokens.weight",
                  "expected [64, 128]");
  // A checkpoint for a different config (e.g. another hidden size) fails on the first tensor.
  ModelConfig other = c;
  other.hidden_size = 96;
  write_safetensors(d.file("ok.safetensors"), all);
  EXPECT_MM_ERROR(ref::load_weights<ref::F32>(Checkpoint(d.file("ok.safetensors")), other), "expected [64, 96]");
}

}  // namespace mm
