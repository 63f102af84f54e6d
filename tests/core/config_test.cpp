#include "core/config.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace mm {
using nlohmann::json;

// The released MiniMax-Text-01 config.json (spec §1.1), official spelling.
static json official_text01() {
  json a = json::array();
  for (int l = 0; l < 80; ++l) a.push_back((l + 1) % 8 == 0 ? 1 : 0);
  return json{{"architectures", {"MiniMaxText01ForCausalLM"}}, {"attn_type_list", a}, {"head_dim", 128},
              {"hidden_act", "silu"}, {"hidden_size", 6144}, {"intermediate_size", 9216},
              {"layernorm_full_attention_alpha", 3.5565588200778455}, {"layernorm_full_attention_beta", 1.0},
              {"layernorm_linear_attention_alpha", 3.5565588200778455}, {"layernorm_linear_attention_beta", 1.0},
              {"layernorm_mlp_alpha", 3.5565588200778455}, {"layernorm_mlp_beta", 1.0},
              {"max_position_embeddings", 10240000}, {"model_type", "minimax_text_01"}, {"num_attention_heads", 64},
              {"num_experts_per_tok", 2}, {"num_hidden_layers", 80}, {"num_key_value_heads", 8},
              {"num_local_experts", 32}, {"postnorm", true}, {"rms_norm_eps", 1e-05}, {"rope_theta", 10000000},
              {"rotary_dim", 64}, {"shared_intermediate_size", 0}, {"tie_word_embeddings", false},
              {"vocab_size", 200064}};
}

// The -hf repo's spelling (spec §1.2), v5 style with rope_parameters.
static json hf_text01() {
  json j = official_text01();
  json lt = json::array();
  for (int l = 0; l < 80; ++l) lt.push_back((l + 1) % 8 == 0 ? "full_attention" : "linear_attention");
  for (auto k : {"attn_type_list", "layernorm_full_attention_alpha", "layernorm_full_attention_beta",
                 "layernorm_linear_attention_alpha", "layernorm_linear_attention_beta", "layernorm_mlp_alpha",
                 "layernorm_mlp_beta", "postnorm", "rotary_dim", "rope_theta"})
    j.erase(k);
  j["model_type"] = "minimax";
  j["layer_types"] = lt;
  for (auto k : {"full_attn_alpha_factor", "linear_attn_alpha_factor", "mlp_alpha_factor"}) j[k] = 3.5565588200778455;
  for (auto k : {"full_attn_beta_factor", "linear_attn_beta_factor", "mlp_beta_factor"}) j[k] = 1.0;
  j["block_size"] = 256;
  j["partial_rotary_factor"] = 0.5;
  j["rope_parameters"] = {{"rope_theta", 10000000}, {"rope_type", "default"}};
  return j;
}

static void expect_same(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
  EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.rotary_dim, b.rotary_dim);
  EXPECT_EQ(a.num_local_experts, b.num_local_experts);
  EXPECT_EQ(a.num_experts_per_tok, b.num_experts_per_tok);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.postnorm, b.postnorm);
  EXPECT_EQ(a.block_size, b.block_size);
  EXPECT_EQ(a.alpha_linear, b.alpha_linear);
  EXPECT_EQ(a.alpha_full, b.alpha_full);
  EXPECT_EQ(a.alpha_mlp, b.alpha_mlp);
  EXPECT_EQ(a.beta_mlp, b.beta_mlp);
  EXPECT_EQ(a.layer_types, b.layer_types);
}

TEST(Config, BothSpellingsOfTheReleasedConfigAgree) {
  const ModelConfig o = config_from_json(official_text01(), "official.json");
  const ModelConfig h = config_from_json(hf_text01(), "hf.json");
  expect_same(o, h);
  expect_same(o, preset_config("minimax-text-01"));
  EXPECT_EQ(o.rotary_dim, 64);
  EXPECT_EQ(o.inner_dim(), 8192);
  EXPECT_EQ(o.num_layers_of(LayerType::Softmax), 10);
  for (int l = 0; l < 80; ++l)
    EXPECT_EQ(o.layer_types[l] == LayerType::Softmax, (l + 1) % 8 == 0) << l;
  EXPECT_EQ(o.lightning_norm_eps, 1e-6);
}

TEST(Config, Text01ParameterCountAndMemoryPlan) {
  const ModelConfig c = preset_config("minimax-text-01");
  const ParamCount p = count_params(c);
  EXPECT_EQ(p.lightning_attn, 251666432);
  EXPECT_EQ(p.softmax_attn, 113246208);
  EXPECT_EQ(p.expert, 169869312);
  EXPECT_EQ(p.moe, 5436014592);
  EXPECT_EQ(p.total, 456089655296);
  EXPECT_EQ(p.active, 45944920064);
  const MemoryPlan m = memory_plan(c);
  EXPECT_EQ(m.lightning_state_bytes, 280ll << 20);  // 70 layers x 64 heads x 128 x 128 x 4 B
  EXPECT_EQ(m.kv_bytes_per_token, 40960);           // 10 layers x (K + V) x 8 x 128 x 2 B
  EXPECT_EQ(m.weight_bytes_bf16, 2 * p.total);
}

TEST(Config, RoundTripsThroughBothSpellings) {
  for (const std::string& name : preset_names()) {
    const ModelConfig c = preset_config(name);
    for (auto sp : {ConfigSpelling::Official, ConfigSpelling::HF}) {
      const json j = config_to_json(c, sp);
      expect_same(c, config_from_json(j, "roundtrip"));
      EXPECT_EQ(j.contains("attn_type_list"), sp == ConfigSpelling::Official);
    }
  }
}

TEST(Config, VlTextConfigAndListSharedSize) {
  json vl = {{"model_type", "minimax_vl_01"}, {"text_config", official_text01()}};
  vl["text_config"]["shared_intermediate_size"] = json::array({0});
  EXPECT_EQ(config_from_json(vl, "vl.json").hidden_size, 6144);
}

TEST(Config, HeadDimDefaultsAndRopeThetaFallbacks) {
  json j = hf_text01();
  j.erase("head_dim");
  j.erase("partial_rotary_factor");
  j["hidden_size"] = 8192;
  const ModelConfig c = config_from_json(j, "x");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rotary_dim, 128);  // no partial factor: full head, as HF
  EXPECT_EQ(c.rope_theta, 1e7);  // from rope_parameters
}

struct BadField {
  const char* field;
  json value;  // null = erase
  const char* expect;
};

TEST(Config, InvalidValuesNameTheField) {
  const BadField cases[] = {
      {"hidden_size", 0, "hidden_size"},
      {"hidden_size", "big", "hidden_size"},
      {"vocab_size", -5, "vocab_size"},
      {"num_key_value_heads", 7, "num_key_value_heads"},
      {"rotary_dim", 63, "rotary_dim"},
      {"rotary_dim", 256, "rotary_dim"},
      {"num_experts_per_tok", 33, "num_experts_per_tok"},
      {"attn_type_list", json::array({0, 1}), "attn_type_list"},
      {"attn_type_list", json::array({0, 2}), "attn_type_list"},
      {"postnorm", "yes", "postnorm"},
      {"rope_theta", -1, "rope_theta"},
      {"num_hidden_layers", nullptr, "num_hidden_layers"},
      {"shared_intermediate_size", 512, "shared_intermediate_size"},
      {"num_local_experts", 1.5, "num_local_experts"},
  };
  for (const auto& bc : cases) {
    json j = official_text01();
    if (bc.value.is_null()) j.erase(bc.field);
    else j[bc.field] = bc.value;
    EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), bc.expect, "cfg.json");
  }
  json hf = hf_text01();
  hf["layer_types"][3] = "sliding_attention";
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "layer_types", "sliding_attention");
  hf = hf_text01();
  hf["partial_rotary_factor"] = 0.3;  // 38.4 dims
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "partial_rotary_factor");
  json both = official_text01();
  both["layer_types"] = hf_text01()["layer_types"];
  EXPECT_MM_ERROR(config_from_json(both, "both.json"), "attn_type_list", "layer_types");
  EXPECT_MM_ERROR(config_from_json(json::array({1, 2}), "arr.json"), "JSON object");
}

TEST(Config, FileErrors) {
  test::TempDir d;
  EXPECT_MM_ERROR(load_config(d.file("missing.json")), "missing.json", "no such model directory");
  test::write_bytes(d.file("bad.json"), "{\"hidden_size\": 12,,}");
  EXPECT_MM_ERROR(load_config(d.file("bad.json")), "bad.json", "malformed JSON");
  EXPECT_MM_ERROR(preset_config("huge"), "unknown preset", "tiny");
}

}  // namespace mm

namespace mm {
TEST(Config, SingleLayerLightningModelIsRejected) {
  ModelConfig c = preset_config("tiny");
  c.num_hidden_layers = 1;
  c.layer_types = {LayerType::Lightning};
  EXPECT_MM_ERROR(c.validate(), "num_hidden_layers", "L-1");
  c.layer_types = {LayerType::Softmax};
  EXPECT_NO_THROW(c.validate());
}
}  // namespace mm
