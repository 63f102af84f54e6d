// MiniMax-VL-01 config: the released layout, both text spellings, every refusal, presets and the vision
// parameter counts (docs/semantics/vl-01.md#config).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/vl_config.h"
#include "test_util.h"

namespace mm {
namespace {

using nlohmann::json;

json released_pinpoints() {
  json p = json::array();
  for (int i = 1; i <= 6; ++i)
    for (int j = 1; j <= 6; ++j)
      if (i * j <= 18) p.push_back({i * 336, j * 336});
  return p;
}

// The layout of the released config.json (its keys and values; the text model in the official spelling).
json released_config() {
  json text = config_to_json(preset_config("minimax-text-01"), ConfigSpelling::Official);
  text["shared_intermediate_size"] = json::array({0});
  return json{
      {"architectures", {"MiniMaxVL01ForConditionalGeneration"}},
      {"model_type", "minimax_vl_01"},
      {"image_token_index", 200025},
      {"projector_hidden_act", "gelu"},
      {"vision_feature_layer", -1},
      {"vision_feature_select_strategy", "default"},
      {"ignore_index", -100},
      {"image_grid_pinpoints", released_pinpoints()},
      {"torch_dtype", "bfloat16"},
      {"transformers_version", "4.42.3"},
      {"text_config", text},
      {"vision_config",
       {{"auto_map", {{"AutoModel", "modeling_clip.CLIPVisionModel"}}},
        {"hidden_act", "gelu"},
        {"hidden_size", 1024},
        {"image_size", 336},
        {"intermediate_size", 4096},
        {"model_type", "clip_vision_model"},
        {"num_attention_heads", 16},
        {"num_hidden_layers", 24},
        {"patch_size", 14},
        {"projection_dim", 6144},
        {"vocab_size", 32000}}},
  };
}

TEST(VlConfig, ParsesTheReleasedLayout) {
  const VlConfig c = vl_config_from_json(released_config(), "r/config.json");
  EXPECT_EQ(c.text.vocab_size, 200064);
  EXPECT_EQ(c.text.hidden_size, 6144);
  EXPECT_EQ(c.text.num_hidden_layers, 80);
  EXPECT_EQ(c.vision.hidden_size, 1024);
  EXPECT_EQ(c.vision.intermediate_size, 4096);
  EXPECT_EQ(c.vision.num_hidden_layers, 24);
  EXPECT_EQ(c.vision.num_attention_heads, 16);
  EXPECT_EQ(c.vision.head_dim(), 64);
  EXPECT_EQ(c.vision.num_patches(), 576);
  EXPECT_EQ(c.vision.num_positions(), 577);
  EXPECT_EQ(c.vision.num_channels, 3);        // defaulted
  EXPECT_EQ(c.vision.layer_norm_eps, 1e-5);   // defaulted
  EXPECT_EQ(c.image_token_index, 200025);
  EXPECT_EQ(c.vision_feature_layer, -1);
  ASSERT_EQ(c.image_grid_pinpoints.size(), 28u);
  EXPECT_EQ(c.image_grid_pinpoints[1], (std::array<int, 2>{336, 672}));
  EXPECT_EQ(c.image_grid_pinpoints.back(), (std::array<int, 2>{2016, 1008}));
  // The same as the preset.
  const VlConfig p = vl_preset_config("minimax-vl-01");
  EXPECT_EQ(p.image_grid_pinpoints, c.image_grid_pinpoints);
  EXPECT_EQ(vl_config_to_json(p, ConfigSpelling::Official).dump(), vl_config_to_json(c, ConfigSpelling::Official).dump());
}

TEST(VlConfig, TextConfigInEitherSpelling) {
  json j = released_config();
  j["text_config"] = config_to_json(preset_config("minimax-text-01"), ConfigSpelling::HF);
  const VlConfig c = vl_config_from_json(j, "hf.json");
  EXPECT_EQ(c.text.vocab_size, 200064);
  EXPECT_EQ(c.text.rotary_dim, 64);
  EXPECT_EQ(c.text.num_layers_of(LayerType::Softmax), 10);
}

TEST(VlConfig, RoundTripsThroughJson) {
  for (const auto& name : vl_preset_names())
    for (auto sp : {ConfigSpelling::Official, ConfigSpelling::HF}) {
      const VlConfig a = vl_preset_config(name);
      const json j = vl_config_to_json(a, sp);
      const VlConfig b = vl_config_from_json(j, "rt");
      EXPECT_EQ(vl_config_to_json(b, sp).dump(), j.dump()) << name;
      EXPECT_EQ(b.image_token_index, a.image_token_index);
      EXPECT_EQ(b.vision.hidden_size, a.vision.hidden_size);
      EXPECT_EQ(b.image_grid_pinpoints, a.image_grid_pinpoints);
    }
}

TEST(VlConfig, LoadsFromADirectoryAndDetectsVl) {
  test::TempDir d;
  test::write_bytes(d.file("config.json"), released_config().dump());
  EXPECT_TRUE(is_vl_config(d.path.string()));
  EXPECT_TRUE(is_vl_config(d.file("config.json")));
  const VlConfig c = load_vl_config(d.path.string());
  EXPECT_EQ(c.source, d.file("config.json"));
  EXPECT_EQ(c.image_token_index, 200025);
  // The text loader reads the same file's text_config.
  EXPECT_EQ(load_config(d.path.string()).vocab_size, 200064);

  test::TempDir t;
  test::write_bytes(t.file("config.json"), config_to_json(preset_config("tiny"), ConfigSpelling::Official).dump());
  EXPECT_FALSE(is_vl_config(t.path.string()));
  EXPECT_FALSE(is_vl_config(t.file("nope")));
  EXPECT_MM_ERROR(load_vl_config(t.path.string()), "field 'model_type'", "minimax_vl_01");
  EXPECT_MM_ERROR(load_vl_config(t.file("nope")), "no such model directory");
}

TEST(VlConfig, PresetsAndVisionParamCounts) {
  const VisionParamCount r = count_vision_params(vl_preset_config("minimax-vl-01"));
  EXPECT_EQ(r.vit, 303505408);
  EXPECT_EQ(r.projector, 44052480);
  EXPECT_EQ(r.image_newline, 6144);
  EXPECT_EQ(r.patch_embed, 602112);
  EXPECT_EQ(r.position_embed, 577 * 1024);
  EXPECT_EQ(r.layer, 12596224);
  EXPECT_EQ(r.total, 303505408 + 44052480 + 6144);

  const VlConfig t = vl_preset_config("vl-tiny");
  EXPECT_EQ(t.text.vocab_size, 512);
  EXPECT_EQ(t.image_token_index, 500);
  EXPECT_EQ(t.vision.hidden_size, 32);
  EXPECT_EQ(t.vision.num_positions(), 577);
  EXPECT_EQ(t.image_grid_pinpoints.size(), 28u);
  const VisionParamCount tp = count_vision_params(t);
  // patch 32*3*196, class 32, positions 577*32, pre-LN 64, 2 layers of 4*(32*32+32) + 4*32 + (64*32+64) + (32*64+32)
  EXPECT_EQ(tp.vit, 18816 + 32 + 18464 + 64 + 2 * (4224 + 128 + 2112 + 2080));
  EXPECT_EQ(tp.projector, 128 * 32 + 128 + 128 * 128 + 128);

  const VlConfig s = vl_preset_config("vl-small");
  EXPECT_EQ(s.text.vocab_size, 32000);
  EXPECT_LT(s.image_token_index, s.text.vocab_size);
  EXPECT_EQ(s.vision.num_hidden_layers, 4);
  EXPECT_MM_ERROR(vl_preset_config("vl-huge"), "unknown VL preset 'vl-huge'", "vl-tiny");
}

// Applies `edit` to the released config and expects a refusal naming every fragment.
template <class F>
void expect_refused(F edit, std::initializer_list<const char*> frags) {
  json j = released_config();
  edit(j);
  try {
    vl_config_from_json(j, "bad.json");
    ADD_FAILURE() << "expected mm::Error for " << j.dump().substr(0, 200);
  } catch (const Error& e) {
    for (const char* f : frags)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "message '" << e.what() << "' lacks '" << f << "'";
  }
}

TEST(VlConfig, RefusesWhatItCannotRun) {
  expect_refused([](json& j) { j["model_type"] = "llava_next"; }, {"bad.json: field 'model_type'", "minimax_vl_01"});
  expect_refused([](json& j) { j.erase("model_type"); }, {"field 'model_type' is missing"});
  expect_refused([](json& j) { j.erase("vision_config"); }, {"field 'vision_config' must be an object"});
  expect_refused([](json& j) { j.erase("text_config"); }, {"field 'text_config' must be an object"});
  for (const char* k : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size",
                        "patch_size"}) {
    const std::string f = std::string("field 'vision_config.") + k + "' is missing";
    expect_refused([&](json& j) { j["vision_config"].erase(k); }, {f.c_str()});
  }
  expect_refused([](json& j) { j["vision_config"].erase("hidden_act"); },
                 {"vision_config.hidden_act' is missing", "quick_gelu"});
  expect_refused([](json& j) { j["vision_config"]["hidden_act"] = "quick_gelu"; },
                 {"vision_config.hidden_act' = \"quick_gelu\" is not supported", "\"gelu\" expected"});
  expect_refused([](json& j) { j["vision_config"]["model_type"] = "siglip_vision_model"; },
                 {"vision_config.model_type'", "clip_vision_model"});
  expect_refused([](json& j) { j["vision_config"]["position_embedding_type"] = "rope"; },
                 {"vision_config.position_embedding_type'", "learned_absolute"});
  expect_refused([](json& j) { j["vision_config"]["image_size"] = 224; },
                 {"vision_config.image_size' must be 336", "got 224"});
  expect_refused([](json& j) { j["vision_config"]["patch_size"] = 15; },
                 {"vision_config.patch_size' must be 14", "got 15"});
  expect_refused([](json& j) { j["vision_config"]["patch_size"] = 1; },  // divides 336: 112,897 positions
                 {"vision_config.patch_size' must be 14", "got 1"});
  expect_refused([](json& j) { j["vision_config"]["num_attention_heads"] = 12; },
                 {"vision_config.num_attention_heads' = 12 must divide hidden_size = 1024"});
  expect_refused([](json& j) { j["vision_config"]["hidden_size"] = 0; }, {"vision_config.hidden_size' must be positive"});
  expect_refused([](json& j) { j["vision_config"]["hidden_size"] = 1 << 20; },
                 {"vision_config.hidden_size' = 1048576 exceeds the limit 65536", "config-limits.md"});
  expect_refused([](json& j) { j["vision_config"]["hidden_size"] = 1024.5; },
                 {"vision_config.hidden_size' must be an integer"});
  expect_refused([](json& j) { j["vision_config"]["num_channels"] = 4; }, {"vision_config.num_channels' must be 3"});
  expect_refused([](json& j) { j["vision_config"]["layer_norm_eps"] = 0; }, {"vision_config.layer_norm_eps'"});

  expect_refused([](json& j) { j.erase("image_token_index"); }, {"field 'image_token_index' is missing", "LLaVA"});
  expect_refused([](json& j) { j["image_token_index"] = 200064; },
                 {"field 'image_token_index' = 200064", "[0, text_config.vocab_size = 200064)"});
  expect_refused([](json& j) { j["image_token_index"] = -1; }, {"field 'image_token_index' = -1"});
  expect_refused([](json& j) { j["vision_feature_layer"] = -2; },
                 {"field 'vision_feature_layer' = -2 is not supported", "only -1"});
  expect_refused([](json& j) { j["vision_feature_layer"] = 5000000000LL; },
                 {"field 'vision_feature_layer' = 5000000000 is not supported"});
  expect_refused([](json& j) { j.erase("vision_feature_layer"); }, {"field 'vision_feature_layer' is missing"});
  expect_refused([](json& j) { j["vision_feature_select_strategy"] = "full"; },
                 {"field 'vision_feature_select_strategy' = \"full\" is not supported"});
  expect_refused([](json& j) { j["projector_hidden_act"] = "relu"; },
                 {"field 'projector_hidden_act' = \"relu\" is not supported"});
  expect_refused([](json& j) { j.erase("projector_hidden_act"); }, {"field 'projector_hidden_act' is missing"});
  expect_refused([](json& j) { j.erase("image_grid_pinpoints"); }, {"field 'image_grid_pinpoints' is missing"});
  expect_refused([](json& j) { j["image_grid_pinpoints"] = json::array(); },
                 {"field 'image_grid_pinpoints' must hold 1 to 1024"});
  expect_refused([](json& j) { j["image_grid_pinpoints"][3] = {336, 700}; },
                 {"field 'image_grid_pinpoints[3]' is [336, 700]", "multiples of the crop size 336"});
  expect_refused([](json& j) { j["image_grid_pinpoints"][0] = {0, 336}; }, {"image_grid_pinpoints[0]' is [0,336]"});
  expect_refused([](json& j) { j["image_grid_pinpoints"][0] = {3360, 1344}; },  // 40 tiles
                 {"image_grid_pinpoints[0]' is [3360, 1344]", "36 tiles"});
  expect_refused([](json& j) { j["image_grid_pinpoints"][0] = {336}; },
                 {"image_grid_pinpoints[0]' is [336], expected [width, height]"});
  expect_refused([](json& j) { j["image_grid_pinpoints"][0] = {336, "672"}; },
                 {"image_grid_pinpoints[0][1]' must be an integer"});
  // The text model is checked as for Text-01.
  expect_refused([](json& j) { j["text_config"].erase("vocab_size"); }, {"field 'vocab_size' is missing"});
}

}  // namespace
}  // namespace mm
