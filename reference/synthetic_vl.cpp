#include "reference/synthetic_vl.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"

namespace mm::ref {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

std::vector<TensorSpec> vision_checkpoint_specs(const VlConfig& cfg, DType dt) {
  const VisionConfig& v = cfg.vision;
  const int64_t D = v.hidden_size, I = v.intermediate_size, Ht = cfg.text.hidden_size;
  std::vector<TensorSpec> s;
  auto add = [&](std::string n, std::vector<int64_t> shape) { s.push_back({std::move(n), dt, std::move(shape)}); };
  const std::string t = "vision_tower.vision_model.";
  add(t + "embeddings.class_embedding", {D});
  add(t + "embeddings.patch_embedding.weight", {D, v.num_channels, v.patch_size, v.patch_size});
  add(t + "embeddings.position_embedding.weight", {v.num_positions(), D});
  add(t + "pre_layrnorm.weight", {D});
  add(t + "pre_layrnorm.bias", {D});
  for (int64_t l = 0; l < v.num_hidden_layers; ++l) {
    const std::string p = t + "encoder.layers." + std::to_string(l) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add(p + "self_attn." + proj + ".weight", {D, D});
      add(p + "self_attn." + proj + ".bias", {D});
    }
    add(p + "layer_norm1.weight", {D});
    add(p + "layer_norm1.bias", {D});
    add(p + "mlp.fc1.weight", {I, D});
    add(p + "mlp.fc1.bias", {I});
    add(p + "mlp.fc2.weight", {D, I});
    add(p + "mlp.fc2.bias", {D});
    add(p + "layer_norm2.weight", {D});
    add(p + "layer_norm2.bias", {D});
  }
  add("multi_modal_projector.linear_1.weight", {Ht, D});
  add("multi_modal_projector.linear_1.bias", {Ht});
  add("multi_modal_projector.linear_2.weight", {Ht, Ht});
  add("multi_modal_projector.linear_2.bias", {Ht});
  add("image_newline", {Ht});
  return s;
}

void synthetic_vision_values(const TensorSpec& spec, const VlConfig&, uint64_t seed, std::vector<double>& out) {
  Rng rng(hash_string(spec.name, seed));
  out.resize(static_cast<std::size_t>(spec.numel()));
  const std::string& n = spec.name;
  const bool norm = n.find("layer_norm") != std::string::npos || n.find("pre_layrnorm") != std::string::npos;
  double mean = 0, std = 0;
  if (norm && ends_with(n, ".weight")) { mean = 1; std = 0.1; }
  else if (norm) std = 0.1;
  else if (ends_with(n, "class_embedding") || ends_with(n, "position_embedding.weight")) std = 0.02;
  else if (n == "image_newline") std = 1;
  else if (ends_with(n, ".bias")) std = 0.02;
  else {  // a linear [out, in] or the patch conv [D, C, P, P]: fan_in = everything but the first dimension
    double fan_in = 1;
    for (std::size_t i = 1; i < spec.shape.size(); ++i) fan_in *= static_cast<double>(spec.shape[i]);
    std = 1.0 / std::sqrt(fan_in);
  }
  for (auto& x : out) x = mean + std * rng.normal();
}

nlohmann::json vl_preprocessor_config_json(const VlConfig& cfg) {
  nlohmann::json j;
  j["process_image_mode"] = "anyres";
  j["size"] = {cfg.vision.image_size, cfg.vision.image_size};
  j["patch_size"] = cfg.vision.patch_size;
  j["image_mean"] = {0.48145466, 0.4578275, 0.40821073};
  j["image_std"] = {0.26862954, 0.26130258, 0.27577711};
  nlohmann::json pins = nlohmann::json::array();
  for (const auto& p : cfg.image_grid_pinpoints) pins.push_back({p[0], p[1]});
  j["image_grid_pinpoints"] = pins;
  return j;
}

void write_synthetic_vl_checkpoint(const std::string& dir, const VlConfig& cfg, const SyntheticOptions& opt,
                                   bool hf_port_names) {
  require(opt.dtype == DType::BF16 || opt.dtype == DType::F32 || opt.dtype == DType::F16,
          "init: --dtype must be bf16, f16 or f32");
  cfg.validate();
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": cannot create the checkpoint directory" + (ec ? ": " + ec.message() : ""));
  const std::vector<std::string> old = existing_checkpoint_files(dir);
  nlohmann::json j = vl_config_to_json(cfg, opt.spelling);
  const char* torch_dtype = opt.dtype == DType::F32 ? "float32" : opt.dtype == DType::F16 ? "float16" : "bfloat16";
  j["torch_dtype"] = torch_dtype;
  write_file_atomic((fs::path(dir) / "config.json").string(), [&](std::ostream& f) { f << j.dump(2) << "\n"; });
  write_file_atomic((fs::path(dir) / "preprocessor_config.json").string(),
                    [&](std::ostream& f) { f << vl_preprocessor_config_json(cfg).dump(2) << "\n"; });

  // The specs under their official names (whose values they get), then renamed for the checkpoint.
  const VisionNames names = hf_port_names ? VisionNames::HFPort : VisionNames::Official;
  const std::vector<TensorSpec> text = checkpoint_specs(cfg.text, opt.dtype);
  const std::vector<TensorSpec> vision = vision_checkpoint_specs(cfg, opt.dtype);
  std::vector<TensorSpec> specs;
  specs.reserve(text.size() + vision.size());
  for (TensorSpec s : text) {
    s.name = vl_text_tensor_name(s.name, names);
    specs.push_back(std::move(s));
  }
  for (TensorSpec s : vision) {
    s.name = vision_tensor_name(s.name, names);
    specs.push_back(std::move(s));
  }
  const auto written = write_checkpoint_shards(
      dir, specs,
      [&](std::size_t i, std::vector<double>& v) {
        if (i < text.size()) synthetic_values(text[i], cfg.text, opt.seed, v);
        else synthetic_vision_values(vision[i - text.size()], cfg, opt.seed, v);
      },
      opt.max_shard_bytes);
  remove_replaced_files(dir, old, written);
}

}  // namespace mm::ref
