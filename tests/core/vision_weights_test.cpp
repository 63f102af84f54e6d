// MiniMax-VL-01 checkpoint names: the vision tower, projector and image_newline in the official and the
// HF-port spelling, the text model beside them, and every refusal (docs/semantics/vl-01.md#checkpoint-names).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text_weights.h"
#include "core/vision_weights.h"
#include "reference/synthetic.h"
#include "reference/synthetic_vl.h"
#include "test_util.h"

namespace mm {
namespace {

using test::TempDir;

// Every tensor of a vl-tiny checkpoint with its values, under the names of `names`; official names and
// values from the synthetic writer.
std::vector<NamedValues> vl_tensors(const VlConfig& cfg, VisionNames names, DType dt = DType::F32) {
  std::vector<NamedValues> out;
  for (const TensorSpec& s : ref::checkpoint_specs(cfg.text, dt)) {
    NamedValues nv{s, {}};
    ref::synthetic_values(s, cfg.text, 7, nv.values);
    nv.spec.name = vl_text_tensor_name(s.name, names);
    out.push_back(std::move(nv));
  }
  for (const TensorSpec& s : ref::vision_checkpoint_specs(cfg, dt)) {
    NamedValues nv{s, {}};
    ref::synthetic_vision_values(s, cfg, 7, nv.values);
    nv.spec.name = vision_tensor_name(s.name, names);
    out.push_back(std::move(nv));
  }
  return out;
}

// vl-tiny with a 2-layer, 2-expert text model: the refusal tests write many checkpoints (fast under ASan too).
VlConfig small_vl() {
  VlConfig c = vl_preset_config("vl-tiny");
  c.text.num_hidden_layers = 2;
  c.text.layer_types = {LayerType::Lightning, LayerType::Softmax};
  c.text.num_local_experts = 2;
  c.validate();
  return c;
}

NamedValues* find_tensor(std::vector<NamedValues>& t, const std::string& name) {
  for (auto& nv : t)
    if (nv.spec.name == name) return &nv;
  ADD_FAILURE() << "no tensor " << name;
  return nullptr;
}

std::string write(const TempDir& d, const std::vector<NamedValues>& t) {
  write_safetensors(d.file("model.safetensors"), t);
  return d.path.string();
}

// Maps both sides: text then vision, as a VL loader does.
void map_both(const std::string& dir, const VlConfig& cfg) {
  Checkpoint ck(dir);
  (void)map_text_weights(ck, cfg.text);
  (void)map_vision_weights(ck, cfg);
}

TEST(VisionWeights, NameSpellings) {
  EXPECT_EQ(vision_tensor_name("vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", VisionNames::HFPort),
            "model.vision_tower.encoder.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(vision_tensor_name("vision_tower.vision_model.pre_layrnorm.weight", VisionNames::HFPort),
            "model.vision_tower.pre_layrnorm.weight");
  EXPECT_EQ(vision_tensor_name("multi_modal_projector.linear_1.bias", VisionNames::HFPort),
            "model.multi_modal_projector.linear_1.bias");
  EXPECT_EQ(vision_tensor_name("image_newline", VisionNames::HFPort), "model.image_newline");
  EXPECT_EQ(vision_tensor_name("image_newline", VisionNames::Official), "image_newline");
  EXPECT_EQ(vl_text_tensor_name("model.embed_tokens.weight", VisionNames::Official),
            "language_model.model.embed_tokens.weight");
  EXPECT_EQ(vl_text_tensor_name("lm_head.weight", VisionNames::Official), "language_model.lm_head.weight");
  EXPECT_EQ(vl_text_tensor_name("model.layers.3.input_layernorm.weight", VisionNames::HFPort),
            "model.language_model.layers.3.input_layernorm.weight");
  EXPECT_EQ(vl_text_tensor_name("lm_head.weight", VisionNames::HFPort), "lm_head.weight");
}

// A synthetic vl-tiny checkpoint in both spellings maps completely, with the same values in both.
TEST(VisionWeights, SyntheticCheckpointInBothSpellings) {
  const VlConfig cfg = vl_preset_config("vl-tiny");
  TempDir off, hf;
  ref::SyntheticOptions opt;
  opt.seed = 3;
  opt.dtype = DType::F32;
  opt.max_shard_bytes = 1 << 20;  // several shards through model.safetensors.index.json
  ref::write_synthetic_vl_checkpoint(off.path.string(), cfg, opt, false);
  opt.spelling = ConfigSpelling::HF;
  ref::write_synthetic_vl_checkpoint(hf.path.string(), cfg, opt, true);
  EXPECT_TRUE(std::filesystem::exists(off.file("model.safetensors.index.json")));
  EXPECT_TRUE(std::filesystem::exists(off.file("preprocessor_config.json")));

  // The configs read back as the preset, in either text spelling.
  for (const TempDir* d : {&off, &hf}) {
    const VlConfig back = load_vl_config(d->path.string());
    EXPECT_EQ(vl_config_to_json(back, ConfigSpelling::Official).dump(),
              vl_config_to_json(cfg, ConfigSpelling::Official).dump());
  }

  Checkpoint a(off.path.string()), b(hf.path.string());
  const TextWeightMap ta = map_text_weights(a, cfg.text), tb = map_text_weights(b, cfg.text);
  EXPECT_EQ(ta.prefix, "language_model.");
  EXPECT_EQ(tb.prefix, "model.language_model.");
  EXPECT_EQ(tb.lm_head.tensor->name, "lm_head.weight");
  EXPECT_EQ(tb.embed.tensor->name, "model.language_model.embed_tokens.weight");
  const VisionWeightMap va = map_vision_weights(a, cfg), vb = map_vision_weights(b, cfg);
  EXPECT_NO_THROW(a.require_all_used());  // every tensor of the checkpoint has been used
  EXPECT_NO_THROW(b.require_all_used());
  EXPECT_EQ(va.names, VisionNames::Official);
  EXPECT_EQ(vb.names, VisionNames::HFPort);
  EXPECT_EQ(va.tower_prefix, "vision_tower.vision_model.");
  EXPECT_EQ(vb.tower_prefix, "model.vision_tower.");
  EXPECT_EQ(vb.patch_embedding.tensor->name, "model.vision_tower.embeddings.patch_embedding.weight");
  EXPECT_EQ(vb.image_newline.tensor->name, "model.image_newline");

  // Shapes as blocks.
  EXPECT_EQ(va.patch_embedding.rows, 32);
  EXPECT_EQ(va.patch_embedding.cols, 3 * 14 * 14);
  EXPECT_EQ(va.position_embedding.rows, 577);
  EXPECT_EQ(va.class_embedding.rows, 1);
  EXPECT_EQ(va.class_embedding.cols, 32);
  ASSERT_EQ(va.layers.size(), 2u);
  EXPECT_EQ(va.layers[1].fc1_weight.rows, 64);
  EXPECT_EQ(va.layers[1].fc1_weight.cols, 32);
  EXPECT_EQ(va.layers[1].fc2_weight.rows, 32);
  EXPECT_EQ(va.layers[1].fc1_bias.cols, 64);
  EXPECT_EQ(va.linear1_weight.rows, 128);
  EXPECT_EQ(va.linear2_weight.cols, 128);
  EXPECT_EQ(va.image_newline.cols, 128);

  // Same values in both spellings, and equal to the generator's (official names seed the streams).
  EXPECT_EQ(va.layers[1].q_weight.read_f64(), vb.layers[1].q_weight.read_f64());
  EXPECT_EQ(va.linear2_bias.read_f64(), vb.linear2_bias.read_f64());
  EXPECT_EQ(ta.layers[0].qkv.read_f64(), tb.layers[0].qkv.read_f64());
  std::vector<double> want;
  auto as_f32 = [](std::vector<double> v) {  // the checkpoint holds them as F32
    for (auto& x : v) x = static_cast<double>(static_cast<float>(x));
    return v;
  };
  ref::synthetic_vision_values({"image_newline", DType::F32, {128}}, cfg, 3, want);
  EXPECT_EQ(va.image_newline.read_f64(), as_f32(want));
  // The text model's values are those of the text synthetic checkpoint with the same seed.
  ref::synthetic_values({"model.embed_tokens.weight", DType::F32, {512, 128}}, cfg.text, 3, want);
  EXPECT_EQ(ta.embed.read_f64(), as_f32(want));

  // Scales: LayerNorm weights near 1, biases small, linear weights ~ 1/sqrt(fan_in).
  const auto ln = va.layers[0].ln1_weight.read_f64();
  for (double x : ln) EXPECT_NEAR(x, 1.0, 0.6);
  const auto fc1 = va.layers[0].fc1_weight.read_f64();
  double ss = 0;
  for (double x : fc1) ss += x * x;
  EXPECT_NEAR(std::sqrt(ss / static_cast<double>(fc1.size())), 1.0 / std::sqrt(32.0), 0.02);
}

TEST(VisionWeights, DtypeComesFromEachTensorsHeader) {
  const VlConfig cfg = small_vl();
  auto t = vl_tensors(cfg, VisionNames::Official, DType::BF16);
  find_tensor(t, "multi_modal_projector.linear_1.weight")->spec.dtype = DType::F32;  // mixed precision
  find_tensor(t, "image_newline")->spec.dtype = DType::F16;
  TempDir d;
  Checkpoint ck(write(d, t));
  (void)map_text_weights(ck, cfg.text);
  const VisionWeightMap m = map_vision_weights(ck, cfg);
  EXPECT_EQ(m.linear1_weight.tensor->dtype, DType::F32);
  EXPECT_EQ(m.image_newline.tensor->dtype, DType::F16);
  EXPECT_EQ(m.linear1_bias.tensor->dtype, DType::BF16);
  EXPECT_NO_THROW(ck.require_all_used());

  auto bad = vl_tensors(cfg, VisionNames::Official);
  find_tensor(bad, "image_newline")->spec.dtype = DType::I32;
  TempDir e;
  EXPECT_MM_ERROR(map_both(write(e, bad), cfg), "tensor 'image_newline' has integer dtype I32");
}

TEST(VisionWeights, MissingMisshapedOrNonFiniteTensorsAreRefusedByName) {
  const VlConfig cfg = small_vl();
  for (VisionNames names : {VisionNames::Official, VisionNames::HFPort}) {
    const std::string fc2b = vision_tensor_name("vision_tower.vision_model.encoder.layers.1.mlp.fc2.bias", names);
    {
      auto t = vl_tensors(cfg, names);
      t.erase(t.begin() + (find_tensor(t, fc2b) - t.data()));
      TempDir d;
      EXPECT_MM_ERROR(map_both(write(d, t), cfg), "missing tensor '", fc2b.c_str());
    }
    {
      auto t = vl_tensors(cfg, names);
      const std::string pos = vision_tensor_name("vision_tower.vision_model.embeddings.position_embedding.weight", names);
      NamedValues* p = find_tensor(t, pos);
      p->spec.shape = {576, 32};
      p->values.resize(576 * 32);
      TempDir d;
      EXPECT_MM_ERROR(map_both(write(d, t), cfg), pos.c_str(), "has shape [576, 32], expected [577, 32]");
    }
    {
      auto t = vl_tensors(cfg, names);
      const std::string q = vision_tensor_name("vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", names);
      find_tensor(t, q)->values[5] = std::numeric_limits<double>::quiet_NaN();
      TempDir d;
      EXPECT_MM_ERROR(map_both(write(d, t), cfg), q.c_str(), "1 NaN/Inf value(s), the first at flat index 5");
    }
    {
      auto t = vl_tensors(cfg, names);
      const std::string l1 = vision_tensor_name("multi_modal_projector.linear_1.weight", names);
      NamedValues* p = find_tensor(t, l1);
      p->spec.shape = {128, 64};  // projector input must be the vision hidden size
      p->values.resize(128 * 64);
      TempDir d;
      EXPECT_MM_ERROR(map_both(write(d, t), cfg), l1.c_str(), "expected [128, 32]");
    }
  }
}

TEST(VisionWeights, StrayTensorsAreRefused) {
  const VlConfig cfg = small_vl();
  for (VisionNames names : {VisionNames::Official, VisionNames::HFPort}) {
    // post_layernorm is not in the released checkpoint and not used: a stray.
    for (const std::string official : {"vision_tower.vision_model.post_layernorm.weight",
                                       "vision_tower.vision_model.encoder.layers.2.mlp.fc1.bias",
                                       "multi_modal_projector.linear_3.weight"}) {
      auto t = vl_tensors(cfg, names);
      const std::string stray = vision_tensor_name(official, names);
      t.push_back({{stray, DType::F32, {32}}, std::vector<double>(32, 0.5)});
      TempDir d;
      EXPECT_MM_ERROR(map_both(write(d, t), cfg), "1 tensor(s) are not part of the model", stray.c_str());
    }
    // A stray in the text model's namespace is the text mapper's to refuse.
    auto t = vl_tensors(cfg, names);
    const std::string stray = vl_text_tensor_name("model.layers.99.input_layernorm.weight", names);
    t.push_back({{stray, DType::F32, {128}}, std::vector<double>(128, 1.0)});
    TempDir d;
    EXPECT_MM_ERROR(map_both(write(d, t), cfg), "not part of the model", stray.c_str());
    // Vision alone (no text mapping) does not trip over the text tensors.
    TempDir e;
    Checkpoint ck(write(e, vl_tensors(cfg, names)));
    EXPECT_NO_THROW(map_vision_weights(ck, cfg));
  }
  // A stray outside both namespaces.
  auto t = vl_tensors(cfg, VisionNames::Official);
  t.push_back({{"lm_head.weight", DType::F32, {512, 128}}, std::vector<double>(512 * 128, 0.0)});
  TempDir d;
  Checkpoint ck(write(d, t));
  EXPECT_MM_ERROR(map_vision_weights(ck, cfg), "not part of the model", "'lm_head.weight'");
}

TEST(VisionWeights, MixedSpellingsAreRefused) {
  const VlConfig cfg = small_vl();
  {
    auto t = vl_tensors(cfg, VisionNames::Official);
    find_tensor(t, "image_newline")->spec.name = "model.image_newline";
    TempDir d;
    Checkpoint ck(write(d, t));
    EXPECT_MM_ERROR(map_vision_weights(ck, cfg), "mixes the official VL-01 tensor names", "model.image_newline",
                    "one spelling");
  }
  {
    // HF-port vision tower with the text model under the official language_model. prefix.
    auto t = vl_tensors(cfg, VisionNames::HFPort);
    for (auto& nv : t)
      if (nv.spec.name.rfind("model.language_model.", 0) == 0)
        nv.spec.name = "language_model.model." + nv.spec.name.substr(21);
    TempDir d;
    Checkpoint ck(write(d, t));
    EXPECT_MM_ERROR(map_vision_weights(ck, cfg), "mixes", "language_model.model.");
  }
  {
    // A text-only checkpoint has no vision tensors.
    TempDir d;
    ref::SyntheticOptions opt;
    ref::write_synthetic_checkpoint(d.path.string(), cfg.text, opt);
    Checkpoint ck(d.path.string());
    EXPECT_MM_ERROR(map_vision_weights(ck, cfg), "no vision tensors", "not a MiniMax-VL-01 checkpoint");
  }
}

// The existing Text-01 behaviour of map_text_weights is unchanged: a stray in a plain checkpoint is
// still an error and the HF-port text names are recognised only with their own prefix.
TEST(VisionWeights, TextMappingOfTheHfPortLeavesVisionAlone) {
  const VlConfig cfg = small_vl();
  auto t = vl_tensors(cfg, VisionNames::HFPort);
  TempDir d;
  Checkpoint ck(write(d, t));
  const TextWeightMap m = map_text_weights(ck, cfg.text);  // vision tensors ignored here
  EXPECT_EQ(m.prefix, "model.language_model.");
  EXPECT_EQ(m.layers[1].q.tensor->name, "model.language_model.layers.1.self_attn.q_proj.weight");
  // Without lm_head.weight (untied) the text mapper names the top-level tensor it expected.
  t.erase(t.begin() + (find_tensor(t, "lm_head.weight") - t.data()));
  TempDir e;
  Checkpoint ck2(write(e, t));
  EXPECT_MM_ERROR(map_text_weights(ck2, cfg.text), "missing tensor 'lm_head.weight'");
}

}  // namespace
}  // namespace mm
