#include "core/config.h"

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace mm {
using nlohmann::json;

// The released MiniMax-Text-01 config.json (docs/semantics/text-01-model.md#configuration), official spelling.
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

// The -hf repo's spelling (docs/semantics/text-01-model.md#config-spellings), v5 style with rope_parameters.
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
  EXPECT_EQ(a.stored_begin(), b.stored_begin());
  EXPECT_EQ(a.stored_end(), b.stored_end());
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

// A slice checkpoint (docs/slices.md) keeps the whole model's depth and layer list; its counts are its layers'.
TEST(Config, SliceKeepsTheWholeModelsIndicesAndCountsItsOwnLayers) {
  json j = official_text01();
  j["minimax01_layers"] = {6, 8};
  const ModelConfig c = config_from_json(j, "slice.json");
  EXPECT_EQ(c.num_hidden_layers, 80);
  EXPECT_EQ(c.layer_types.size(), 80u);
  EXPECT_EQ(c.stored_begin(), 6);
  EXPECT_EQ(c.stored_end(), 8);
  EXPECT_EQ(c.first_layer(), 6);
  EXPECT_EQ(c.end_layer(), 8);
  EXPECT_TRUE(c.is_slice());
  EXPECT_TRUE(c.runs_head());
  EXPECT_EQ(c.run_layers_of(LayerType::Lightning), 1);  // layer 6
  EXPECT_EQ(c.run_layers_of(LayerType::Softmax), 1);    // layer 7
  const ParamCount whole = count_params(preset_config("minimax-text-01")), p = count_params(c);
  EXPECT_EQ(p.total, whole.embed + whole.lm_head + whole.final_norm + whole.lightning_attn + whole.softmax_attn +
                         2 * (whole.moe + whole.layer_norms));
  EXPECT_EQ(memory_plan(c).kv_bytes_per_token, 4096);  // one softmax layer: (K + V) x 8 x 128 x 2 B
  for (auto sp : {ConfigSpelling::Official, ConfigSpelling::HF}) {
    const json back = config_to_json(c, sp);
    EXPECT_EQ(back.at("minimax01_layers"), json::array({6, 8}));
    expect_same(c, config_from_json(back, "roundtrip"));
  }
  EXPECT_FALSE(config_to_json(preset_config("tiny"), ConfigSpelling::Official).contains("minimax01_layers"));

  // --layers inside the slice: only where it ends with the slice's last layer does the head run.
  ModelConfig r = c;
  r.run = parse_layer_span("6:7", c, "--layers");
  r.validate();
  EXPECT_EQ(r.run_layer_count(), 1);
  EXPECT_FALSE(r.runs_head());
  EXPECT_EQ(run_layers_string(r), "6:7");
  EXPECT_EQ(count_params(r).total, whole.embed + whole.lm_head + whole.final_norm + whole.lightning_attn +
                                       whole.moe + whole.layer_norms);
  EXPECT_MM_ERROR(parse_layer_span("5:7", c, "--layers"), "--layers '5:7'", "6 <= A < B <= 8",
                  "the layers this checkpoint holds");
  const ModelConfig w = preset_config("tiny");
  EXPECT_FALSE(w.is_slice());
  for (const char* bad : {"5:2", "3:3", "x", "2:", ":2", "1:9", "2:3:4", "-1:2", "1:99999999", ""})
    EXPECT_MM_ERROR(parse_layer_span(bad, w, "--layers"), "--layers '", "0 <= A < B <= 8 (num_hidden_layers)");
  EXPECT_EQ(parse_layer_span("0:8", w, "--layers").end, 8);

  for (const json& bad : {json::array({8, 6}), json::array({0, 81}), json::array({-1, 2}), json::array({3}),
                          json("6:8"), json::array({0, 0}), json::array({1.5, 2})}) {
    json b = official_text01();
    b["minimax01_layers"] = bad;
    EXPECT_MM_ERROR(config_from_json(b, "slice.json"), "slice.json", "minimax01_layers");
  }
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

// --- Hostile configs: every class of bad input is refused by name, before anything is allocated. ---

namespace mm {
namespace {

// Every dimension at its ConfigLimits maximum: the largest model the loader accepts.
ModelConfig largest_config() {
  using L = ConfigLimits;
  ModelConfig c;
  c.source = "largest";
  c.vocab_size = L::vocab_size;
  c.hidden_size = L::hidden_size;
  c.intermediate_size = L::intermediate_size;
  c.num_hidden_layers = L::num_hidden_layers;
  c.num_attention_heads = L::num_attention_heads;
  c.num_key_value_heads = L::num_attention_heads;
  c.head_dim = L::head_dim;
  c.rotary_dim = L::head_dim;
  c.num_local_experts = L::num_local_experts;
  c.num_experts_per_tok = L::num_local_experts;
  c.max_position_embeddings = L::max_position_embeddings;
  c.block_size = L::block_size;
  c.rope_theta = 1e7;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    c.layer_types.push_back((l + 1) % 8 == 0 ? LayerType::Softmax : LayerType::Lightning);
  return c;
}

std::string write_config(const test::TempDir& d, const std::string& name, const std::string& text) {
  const std::string p = d.file(name);
  test::write_bytes(p, text);
  return p;
}

}  // namespace

TEST(ConfigLimits, HeadsThatDoNotDivideHiddenNeedAnExplicitHeadDim) {
  json j = hf_text01();
  j.erase("head_dim");
  j["num_attention_heads"] = 40;  // 6144 / 40 = 153.6
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "cfg.json", "head_dim", "hidden_size = 6144",
                  "num_attention_heads = 40");
  j["head_dim"] = 128;  // explicit: inner width 5120 != hidden is fine (Text-01 itself has 8192 != 6144)
  EXPECT_EQ(config_from_json(j, "cfg.json").inner_dim(), 5120);
  j = official_text01();
  j["head_dim"] = 127;
  j["rotary_dim"] = 64;
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "head_dim", "even");
}

TEST(ConfigLimits, OnlyMiniMaxModelTypesAreAccepted) {
  json j = official_text01();
  j["model_type"] = "llama";
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "cfg.json", "model_type", "llama", "minimax_text_01");
  j["model_type"] = 7;
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "model_type", "7");
  j.erase("model_type");
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "model_type", "missing");
  // VL-01: the text model lives under text_config, which must be there and be a MiniMax text model.
  json vl = {{"model_type", "minimax_vl_01"}, {"text_config", official_text01()}};
  EXPECT_EQ(config_from_json(vl, "vl.json").num_hidden_layers, 80);
  vl["text_config"].erase("model_type");
  EXPECT_EQ(config_from_json(vl, "vl.json").num_hidden_layers, 80);
  vl["text_config"]["model_type"] = "qwen2";
  EXPECT_MM_ERROR(config_from_json(vl, "vl.json"), "text_config.model_type", "qwen2");
  vl.erase("text_config");
  EXPECT_MM_ERROR(config_from_json(vl, "vl.json"), "text_config", "minimax_vl_01");
  // A text_config under a text model_type is not looked into.
  json t = official_text01();
  t["text_config"] = json::object();
  EXPECT_EQ(config_from_json(t, "cfg.json").hidden_size, 6144);
}

TEST(ConfigLimits, AbsurdLayerListLengthIsRefusedByItsSize) {
  json j = official_text01();
  j["attn_type_list"] = json::array();
  for (int i = 0; i < 100000; ++i) j["attn_type_list"].push_back(0);
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "attn_type_list", "100000 entries", "num_hidden_layers = 80");
  json hf = hf_text01();
  hf["layer_types"] = json::array();
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "layer_types", "0 entries");
  j = official_text01();
  j["num_hidden_layers"] = 1000000;
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "num_hidden_layers", "1000000", "exceeds the limit 1024");
  // An entry that a narrowing cast would turn into 0 (2^32) is refused, not read as lightning.
  j = official_text01();
  j["attn_type_list"][0] = 4294967296ll;
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "attn_type_list", "4294967296");
}

TEST(ConfigLimits, AbsurdSizesAreRefusedNamingTheFieldAndLimit) {
  json j = official_text01();
  j["hidden_size"] = 1e12;
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "cfg.json", "hidden_size", "1000000000000", "65536");
  j["hidden_size"] = 1e20;  // an integer-valued double beyond int64
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "hidden_size", "out of range");
  j["hidden_size"] = json(18446744073709551615ull);  // uint64 that would wrap to -1
  EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), "hidden_size", "out of range");
  // Each limit: the maximum itself is accepted (largest_config validates), one more is refused.
  using L = ConfigLimits;
  const std::pair<const char*, int64_t> over[] = {
      {"vocab_size", L::vocab_size + 1},
      {"hidden_size", L::hidden_size + 1},
      {"intermediate_size", L::intermediate_size + 1},
      {"num_hidden_layers", L::num_hidden_layers + 1},
      {"num_attention_heads", L::num_attention_heads + 1},
      {"num_key_value_heads", L::num_attention_heads + 1},
      {"head_dim", L::head_dim + 2},
      {"num_local_experts", L::num_local_experts + 1},
      {"max_position_embeddings", L::max_position_embeddings + 1},
  };
  for (const auto& [field, v] : over) {
    json k = official_text01();
    k[field] = v;
    const std::string value = std::to_string(v);
    EXPECT_MM_ERROR(config_from_json(k, "cfg.json"), field, value.c_str(), "exceeds the limit");
  }
  json hf = hf_text01();
  hf["block_size"] = L::block_size + 1;
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "block_size", "exceeds the limit");
  hf["block_size"] = 0;
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "block_size", "positive");
}

TEST(ConfigLimits, NonFiniteAndOverflowingNumbersAreRefusedNamingTheField) {
  test::TempDir d;
  const std::string text = config_to_json(preset_config("tiny"), ConfigSpelling::Official).dump();
  auto with = [&](const std::string& key, const std::string& literal) {
    const std::string k = "\"" + key + "\":";
    std::string t = text;
    const std::size_t at = t.find(k);
    EXPECT_NE(at, std::string::npos) << key;
    const std::size_t v = at + k.size(), end = t.find_first_of(",}", v);
    return t.replace(v, end - v, literal);
  };
  EXPECT_NO_THROW(load_config(write_config(d, "ok.json", with("rope_theta", "1e7"))));
  EXPECT_MM_ERROR(load_config(write_config(d, "a.json", with("rope_theta", "1e400"))), "a.json", "field 'rope_theta'",
                  "1e400", "finite");
  EXPECT_MM_ERROR(load_config(write_config(d, "b.json", with("hidden_size", "-1e400"))), "field 'hidden_size'",
                  "-1e400");
  EXPECT_MM_ERROR(load_config(write_config(d, "c.json", with("rms_norm_eps", "1e-400"))), "rms_norm_eps");  // underflows to 0
  EXPECT_MM_ERROR(load_config(write_config(d, "e.json", "{\"model_type\": \"minimax_vl_01\", \"text_config\": " +
                                                           with("layernorm_mlp_alpha", "2e308") + "}")),
                  "field 'text_config.layernorm_mlp_alpha'", "2e308");
  EXPECT_MM_ERROR(load_config(write_config(d, "f.json", "{\"model_type\": \"minimax\", \"layer_types\": [1, 2, 3e999]}")),
                  "field 'layer_types[2]'", "3e999");
  // A json built in memory can hold inf and NaN: refused the same way.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const std::pair<const char*, double> bad[] = {
      {"rope_theta", inf}, {"rope_theta", nan}, {"rms_norm_eps", inf}, {"rms_norm_eps", 0.0},
      {"layernorm_mlp_alpha", -inf}, {"layernorm_mlp_beta", nan}, {"layernorm_full_attention_alpha", -2.0},
      {"layernorm_linear_attention_beta", 1e39},  // not representable as fp32
      {"hidden_size", inf}, {"vocab_size", nan},
  };
  for (const auto& [field, v] : bad) {
    json j = official_text01();
    j[field] = v;
    EXPECT_MM_ERROR(config_from_json(j, "cfg.json"), field);
  }
  json hf = hf_text01();
  hf["rope_parameters"]["rope_theta"] = inf;
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "rope_theta");
  hf = hf_text01();
  hf["partial_rotary_factor"] = nan;
  EXPECT_MM_ERROR(config_from_json(hf, "hf.json"), "partial_rotary_factor");
  // validate() covers configs built in code.
  ModelConfig c = preset_config("tiny");
  c.lightning_norm_eps = nan;
  EXPECT_MM_ERROR(c.validate(), "lightning_norm_eps");
}

TEST(ConfigLimits, DuplicateKeyInConfigJsonIsRefused) {
  test::TempDir d;
  std::string text = config_to_json(preset_config("tiny"), ConfigSpelling::Official).dump();
  text.insert(1, "\"hidden_size\": 4096, ");
  EXPECT_MM_ERROR(load_config(write_config(d, "dup.json", text)), "dup.json", "hidden_size", "more than once");
}

TEST(ConfigLimits, FifoOrDirectoryNamedConfigJsonIsRefusedWithoutBlocking) {
  test::TempDir d;
  std::filesystem::create_directories(d.path / "fifo_model");
  const std::string fifo = (d.path / "fifo_model" / "config.json").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_MM_ERROR(load_config((d.path / "fifo_model").string()), "config.json", "FIFO");  // no writer: must not hang
  EXPECT_MM_ERROR(load_config(fifo), "config.json", "FIFO");
  std::filesystem::create_directories(d.path / "dir_model" / "config.json");
  EXPECT_MM_ERROR(load_config((d.path / "dir_model").string()), "config.json", "directory");
  std::filesystem::create_directories(d.path / "empty_model");
  EXPECT_MM_ERROR(load_config((d.path / "empty_model").string()), "config.json", "no such file");
}

TEST(ConfigLimits, ParameterCountsAtTheLimitsDoNotOverflow) {
  const ModelConfig c = largest_config();
  EXPECT_NO_THROW(c.validate());
  // The same numbers in 128-bit arithmetic.
  using i128 = __int128;
  const i128 H = c.hidden_size, V = c.vocab_size, I = c.intermediate_size, E = c.num_local_experts;
  const i128 inner = i128{c.num_attention_heads} * c.head_dim, kvd = i128{c.num_key_value_heads} * c.head_dim;
  const i128 nl = c.num_layers_of(LayerType::Lightning), ns = c.num_layers_of(LayerType::Softmax);
  const i128 lin = 5 * inner * H + inner, sm = 2 * inner * H + 2 * kvd * H, moe = E * 3 * I * H + E * H;
  const i128 total = 2 * V * H + H + nl * lin + ns * sm + i128{c.num_hidden_layers} * (moe + 2 * H);
  const ParamCount p = count_params(c);
  EXPECT_EQ(p.lightning_attn, static_cast<int64_t>(lin));
  EXPECT_EQ(p.softmax_attn, static_cast<int64_t>(sm));
  EXPECT_EQ(p.moe, static_cast<int64_t>(moe));
  EXPECT_EQ(p.total, static_cast<int64_t>(total));
  EXPECT_LT(total, i128{1} << 58);  // the bound docs/semantics/config-limits.md promises
  for (int64_t v : {p.embed, p.lm_head, p.lightning_attn, p.softmax_attn, p.expert, p.moe, p.total, p.active})
    EXPECT_GT(v, 0);
  const MemoryPlan m = memory_plan(c);
  EXPECT_EQ(m.weight_bytes_bf16, static_cast<int64_t>(2 * total));
  EXPECT_EQ(m.lightning_state_bytes, static_cast<int64_t>(nl * c.num_attention_heads * c.head_dim * c.head_dim * 4));
  EXPECT_EQ(m.kv_bytes_per_token, static_cast<int64_t>(ns * 2 * kvd * 2));
  // fp64 weights and state, a full-length KV cache: still exact in 64 bits.
  const i128 kv_tokens = c.max_position_embeddings;
  const i128 want = 8 * total + 8 * nl * c.num_attention_heads * c.head_dim * c.head_dim + 8 * ns * 2 * kvd * kv_tokens;
  EXPECT_EQ(estimate_model_bytes(c, 8, 8, static_cast<uint64_t>(kv_tokens)), static_cast<uint64_t>(want));
  EXPECT_EQ(estimate_model_bytes(c, 8, 8, UINT64_MAX), UINT64_MAX);  // saturates, never wraps
  // The largest config round-trips through config.json in both spellings.
  for (auto sp : {ConfigSpelling::Official, ConfigSpelling::HF})
    EXPECT_EQ(count_params(config_from_json(config_to_json(c, sp), "largest.json")).total, p.total);
  // A config built in code that skipped validate() throws instead of overflowing.
  ModelConfig big = c;
  big.hidden_size = int64_t{1} << 40;
  big.vocab_size = int64_t{1} << 40;
  EXPECT_MM_ERROR(count_params(big), "largest", "overflows");
  EXPECT_MM_ERROR(memory_plan(big), "overflows");
}

TEST(ConfigLimits, MemoryRefusalNamesTheBytes) {
  EXPECT_MM_ERROR(require_memory(uint64_t{1} << 40, "loading test model", uint64_t{1} << 30), "loading test model",
                  "needs 1099511627776 bytes (1024.00 GiB)", "has 1073741824 bytes (1.00 GiB)");
  EXPECT_NO_THROW(require_memory(uint64_t{1} << 30, "fits", uint64_t{1} << 30));
  EXPECT_NO_THROW(require_memory(uint64_t{1} << 40, "unknown amount", 0));
  // This machine: has some memory, refuses what no machine has, accepts a tiny model.
  const uint64_t avail = available_memory_bytes();
  EXPECT_GT(avail, uint64_t{0});
  EXPECT_MM_ERROR(require_memory(estimate_model_bytes(largest_config(), 4, 4), "the largest model"), "the largest model",
                  "needs", "bytes", "GiB", "but this machine has");
  EXPECT_NO_THROW(require_memory(estimate_model_bytes(preset_config("tiny"), 8, 8), "tiny"));
  EXPECT_GT(estimate_model_bytes(preset_config("minimax-text-01"), 2, 4),
            static_cast<uint64_t>(memory_plan(preset_config("minimax-text-01")).weight_bytes_bf16));
}

TEST(ConfigLimits, AttentionVariantsWeDoNotImplementAreRefused) {
  nlohmann::json j = config_to_json(preset_config("tiny"), ConfigSpelling::Official);
  j["sliding_window"] = nullptr;
  j["rope_scaling"] = nullptr;
  EXPECT_NO_THROW(config_from_json(j, "c.json"));  // null: the released configs' value
  j["sliding_window"] = 4096;
  EXPECT_MM_ERROR(config_from_json(j, "c.json"), "c.json", "'sliding_window' = 4096", "not supported");
  j["sliding_window"] = nullptr;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_MM_ERROR(config_from_json(j, "c.json"), "'rope_scaling'", "not supported");
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_theta", 1e7}, {"rope_type", "yarn"}};
  EXPECT_MM_ERROR(config_from_json(j, "c.json"), "'rope_parameters.rope_type' = \"yarn\"");
  j["rope_parameters"]["rope_type"] = "default";
  EXPECT_NO_THROW(config_from_json(j, "c.json"));
}

// HF recovers the rotary width as int(partial_rotary_factor * head_dim); 30 / 44 * 44 is 29.999999999999996
// in double arithmetic, so writing that config in the HF spelling would change it (found by fuzz/config).
TEST(ConfigLimits, HfSpellingRefusesARotaryWidthItCannotExpress) {
  ModelConfig c = preset_config("tiny");
  c.head_dim = 44;
  c.rotary_dim = 30;
  c.validate();
  EXPECT_MM_ERROR(config_to_json(c, ConfigSpelling::HF), "rotary_dim = 30", "head_dim = 44", "official spelling");
  const ModelConfig back = config_from_json(config_to_json(c, ConfigSpelling::Official), "official");
  EXPECT_EQ(back.rotary_dim, 30);
}

TEST(ConfigLimits, EpsThatVanishesAsAFloatIsRefused) {
  nlohmann::json j = config_to_json(preset_config("tiny"), ConfigSpelling::Official);
  for (double eps : {5e-324, 1e-45, 1e-39}) {  // 0, a denormal, a denormal as fp32
    j["rms_norm_eps"] = eps;
    EXPECT_MM_ERROR(config_from_json(j, "c.json"), "c.json", "'rms_norm_eps'", "normal float");
  }
  j["rms_norm_eps"] = 1e-37;
  EXPECT_NO_THROW(config_from_json(j, "c.json"));
}

}  // namespace mm
