#include "core/vl_config.h"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/checked_int.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "core/file_io.h"

namespace mm {
namespace {

using nlohmann::json;
using json_fields::has;
using json_fields::num_str;
using json_fields::where;

constexpr const char* kLimitsDoc = "docs/semantics/config-limits.md";

// An integer field (core/json_fields.h); `field` is the name given in errors (e.g. "vision_config.hidden_size").
int64_t get_int(const json& v, const std::string& src, const std::string& field) {
  return json_fields::integer(v, src, field);
}

// A key whose absence we refuse: the official config class's defaults for these are LLaVA-NeXT
// leftovers (image_token_index 32000, vision_feature_layer -2, a 5-entry pinpoint list) or CLIP's
// (hidden 768, quick_gelu), not MiniMax-VL-01's, so a missing key is never filled in.
const json& required(const json& j, const char* key, const std::string& src, const std::string& field,
                     const std::string& why) {
  if (!has(j, key)) throw Error(where(src, field) + " is missing (" + why + ")");
  return j.at(key);
}

std::string get_str(const json& v, const std::string& src, const std::string& field) {
  if (!v.is_string()) throw Error(where(src, field) + " must be a string, got " + v.dump());
  return v.get<std::string>();
}

void check_dim(const std::string& src, const std::string& field, int64_t v, int64_t max) {
  if (v <= 0) throw Error(where(src, field) + " must be positive, got " + std::to_string(v));
  if (v > max)
    throw Error(where(src, field) + " = " + std::to_string(v) + " exceeds the limit " + std::to_string(max) + " (" +
                kLimitsDoc + ")");
}


// Checked int64 arithmetic for the parameter counts (a config built in code may skip validate()).
struct Checked : CheckedInt {
  explicit Checked(const std::string& source) : CheckedInt{source + ": the vision parameter count"} {}
};

}  // namespace

std::vector<std::array<int, 2>> released_image_grid_pinpoints(int crop) {
  std::vector<std::array<int, 2>> p;
  for (int i = 1; i <= 6; ++i)
    for (int j = 1; j <= 6; ++j)
      if (i * j <= 18) p.push_back({i * crop, j * crop});
  return p;
}

void check_image_grid_pinpoints(const std::vector<std::array<int, 2>>& pins, const std::string& src,
                                const std::string& field, int64_t crop) {
  using L = PinpointLimits;
  if (pins.empty() || pins.size() > L::max_entries)
    throw Error(where(src, field) + " must hold 1 to " + std::to_string(L::max_entries) + " [width, height] entries, got " +
                std::to_string(pins.size()));
  for (std::size_t i = 0; i < pins.size(); ++i) {
    const auto& p = pins[i];
    const std::string fi = field + "[" + std::to_string(i) + "]";
    // (built by appending: g++ 12 warns a false -Wrestrict on "[" + std::string temporaries here)
    std::string got = "[";
    got += std::to_string(p[0]);
    got += ", ";
    got += std::to_string(p[1]);
    got += "]";
    if (p[0] <= 0 || p[1] <= 0 || crop <= 0 || p[0] % crop != 0 || p[1] % crop != 0)
      throw Error(where(src, fi) + " is " + got + ", expected positive multiples of the crop size " +
                  std::to_string(crop) + " (the tiles are crop-sized)");
    if (p[0] > L::max_side || p[1] > L::max_side || (p[0] / crop) * (p[1] / crop) > L::max_tiles)
      throw Error(where(src, fi) + " is " + got + ", beyond the limits of " + std::to_string(L::max_side) +
                  " px a side and " + std::to_string(L::max_tiles) + " tiles (the released list: 2016 px, 18 tiles)");
  }
}

std::vector<std::array<int, 2>> parse_image_grid_pinpoints(const json& v, const std::string& src, const std::string& field,
                                                            int64_t crop) {
  if (!v.is_array() || v.size() > PinpointLimits::max_entries)
    throw Error(where(src, field) + " must be a list of at most " + std::to_string(PinpointLimits::max_entries) +
                " [width, height] pairs, got " + (v.is_array() ? std::to_string(v.size()) + " entries" : v.dump()));
  std::vector<std::array<int, 2>> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string fi = field + "[" + std::to_string(i) + "]";
    if (!v[i].is_array() || v[i].size() != 2) throw Error(where(src, fi) + " is " + v[i].dump() + ", expected [width, height]");
    std::array<int, 2> p{};
    for (int k = 0; k < 2; ++k) {
      const int64_t s = get_int(v[i][static_cast<std::size_t>(k)], src, fi + "[" + std::to_string(k) + "]");
      if (s <= 0 || s > PinpointLimits::max_side)
        throw Error(where(src, fi) + " is " + v[i].dump() + ", expected sides in [1, " +
                    std::to_string(PinpointLimits::max_side) + "]");
      p[static_cast<std::size_t>(k)] = static_cast<int>(s);
    }
    out.push_back(p);
  }
  check_image_grid_pinpoints(out, src, field, crop);
  return out;
}

void VisionConfig::validate(const std::string& src) const {
  using L = ConfigLimits;
  const std::string v = "vision_config.";
  check_dim(src, v + "hidden_size", hidden_size, L::hidden_size);
  check_dim(src, v + "intermediate_size", intermediate_size, L::intermediate_size);
  check_dim(src, v + "num_hidden_layers", num_hidden_layers, L::num_hidden_layers);
  check_dim(src, v + "num_attention_heads", num_attention_heads, L::num_attention_heads);
  // Every crop the preprocessing makes is 336 x 336 (docs/semantics/vl-01-preprocessing.md), and the
  // learned position table has no interpolation: another image_size could never be fed.
  if (image_size != 336)
    throw Error(where(src, v + "image_size") + " must be 336 (the preprocessing makes 336 x 336 crops and the "
                "position embeddings are not interpolated), got " + std::to_string(image_size));
  // The processor's patch_size (14) gives the token count and the packing grid; the tower must cut the
  // same 24 x 24 patches (and a patch of 1 would mean 112,897 positions of attention per crop).
  if (patch_size != 14)
    throw Error(where(src, v + "patch_size") + " must be 14 (the processor's: 24 x 24 patches per 336 crop), got " +
                std::to_string(patch_size));
  if (hidden_size % num_attention_heads != 0)
    throw Error(where(src, v + "num_attention_heads") + " = " + std::to_string(num_attention_heads) +
                " must divide hidden_size = " + std::to_string(hidden_size));
  check_dim(src, v + "head_dim (hidden_size / num_attention_heads)", head_dim(), L::head_dim);
  if (num_channels != 3)
    throw Error(where(src, v + "num_channels") + " must be 3 (the preprocessing makes RGB crops), got " +
                std::to_string(num_channels));
  if (!(layer_norm_eps >= static_cast<double>(FLT_MIN)) || layer_norm_eps > static_cast<double>(FLT_MAX))
    throw Error(where(src, v + "layer_norm_eps") + " must be a positive number that fits an fp32 (a normal float in [" +
                num_str(FLT_MIN) + ", " + num_str(FLT_MAX) + "]), got " + num_str(layer_norm_eps));
  if (hidden_act != "gelu")
    throw Error(where(src, v + "hidden_act") + " = \"" + hidden_act +
                "\" is not supported (MiniMax-VL-01's vision tower uses the exact erf GELU: \"gelu\" expected)");
}

void VlConfig::validate() const {
  text.validate();
  vision.validate(source);
  if (image_token_index < 0 || image_token_index >= text.vocab_size)
    throw Error(where(source, "image_token_index") + " = " + std::to_string(image_token_index) +
                " must be a token id in [0, text_config.vocab_size = " + std::to_string(text.vocab_size) + ")");
  if (vision_feature_layer != -1)
    throw Error(where(source, "vision_feature_layer") + " = " + std::to_string(vision_feature_layer) +
                " is not supported (only -1, the last encoder layer's output, as MiniMax-VL-01 uses)");
  if (vision_feature_select_strategy != "default")
    throw Error(where(source, "vision_feature_select_strategy") + " = \"" + vision_feature_select_strategy +
                "\" is not supported (only \"default\": drop the CLS token)");
  if (projector_hidden_act != "gelu")
    throw Error(where(source, "projector_hidden_act") + " = \"" + projector_hidden_act +
                "\" is not supported (only \"gelu\", the exact erf GELU)");
  check_image_grid_pinpoints(image_grid_pinpoints, source, "image_grid_pinpoints", vision.image_size);
}

VlConfig vl_config_from_json(const json& root, const std::string& src) {
  if (!root.is_object()) throw Error(src + ": expected a JSON object");
  if (!has(root, "model_type"))
    throw Error(where(src, "model_type") + " is missing (expected \"minimax_vl_01\")");
  if (!root.at("model_type").is_string() || root.at("model_type").get<std::string>() != "minimax_vl_01")
    throw Error(where(src, "model_type") + " = " + root.at("model_type").dump() +
                " is not a MiniMax-VL-01 config (expected \"minimax_vl_01\")");
  VlConfig c;
  c.source = src;
  // text_config: the Text-01 parser (either spelling), which finds it through model_type.
  c.text = config_from_json(root, src);

  if (!root.contains("vision_config") || !root.at("vision_config").is_object())
    throw Error(where(src, "vision_config") + " must be an object (the vision tower's settings)");
  const json& vj = root.at("vision_config");
  const std::string v = "vision_config.";
  if (has(vj, "model_type") && (!vj.at("model_type").is_string() || vj.at("model_type").get<std::string>() != "clip_vision_model"))
    throw Error(where(src, v + "model_type") + " = " + vj.at("model_type").dump() +
                " is not supported (expected \"clip_vision_model\")");
  // The fields that give the tensors their shapes are required: CLIPVisionConfig's class defaults
  // (768 / 3072 / 12 / 12 / 224 / 32) describe another model, so a missing one is refused, not assumed.
  auto dim = [&](const char* key, int64_t max) {
    const std::string f = v + key;
    const int64_t x = get_int(required(vj, key, src, f, "it sets the vision tensors' shapes; CLIP's class default is "
                                                       "not MiniMax-VL-01's"), src, f);
    check_dim(src, f, x, max);
    return x;
  };
  using L = ConfigLimits;
  c.vision.hidden_size = dim("hidden_size", L::hidden_size);
  c.vision.intermediate_size = dim("intermediate_size", L::intermediate_size);
  c.vision.num_hidden_layers = dim("num_hidden_layers", L::num_hidden_layers);
  c.vision.num_attention_heads = dim("num_attention_heads", L::num_attention_heads);
  c.vision.image_size = dim("image_size", PinpointLimits::max_side);
  c.vision.patch_size = dim("patch_size", PinpointLimits::max_side);
  // Defaulted as CLIP does (the released json omits both): 3 channels, eps 1e-5.
  c.vision.num_channels = has(vj, "num_channels") ? get_int(vj.at("num_channels"), src, v + "num_channels") : 3;
  if (has(vj, "layer_norm_eps")) {
    const json& e = vj.at("layer_norm_eps");
    if (!e.is_number()) throw Error(where(src, v + "layer_norm_eps") + " must be a number, got " + e.dump());
    c.vision.layer_norm_eps = e.get<double>();
  }
  // An absent hidden_act means CLIP's default quick_gelu, which this model does not use: refused by name
  // rather than silently computed with the wrong activation.
  if (!has(vj, "hidden_act"))
    throw Error(where(src, v + "hidden_act") + " is missing: CLIP's default would be \"quick_gelu\", which is not "
                "supported (MiniMax-VL-01 sets \"gelu\", the exact erf GELU)");
  c.vision.hidden_act = get_str(vj.at("hidden_act"), src, v + "hidden_act");
  // Only the learned absolute table exists in the checkpoint; the custom CLIP's "rope" branch belongs to
  // later MiniMax VL models.
  if (has(vj, "position_embedding_type") &&
      (!vj.at("position_embedding_type").is_string() ||
       vj.at("position_embedding_type").get<std::string>() != "learned_absolute"))
    throw Error(where(src, v + "position_embedding_type") + " = " + vj.at("position_embedding_type").dump() +
                " is not supported (\"learned_absolute\" expected)");
  c.vision.validate(src);  // before the pinpoints, which are checked against image_size

  const std::string no_default = "no default is assumed: the config class's default is a LLaVA-NeXT leftover";
  c.image_token_index = get_int(required(root, "image_token_index", src, "image_token_index", no_default), src,
                                "image_token_index");
  const int64_t vfl = get_int(required(root, "vision_feature_layer", src, "vision_feature_layer", no_default), src,
                              "vision_feature_layer");
  if (vfl != -1)  // checked here too: a value beyond int must not be narrowed before validate() sees it
    throw Error(where(src, "vision_feature_layer") + " = " + std::to_string(vfl) +
                " is not supported (only -1, the last encoder layer's output, as MiniMax-VL-01 uses)");
  c.vision_feature_layer = -1;
  c.vision_feature_select_strategy =
      get_str(required(root, "vision_feature_select_strategy", src, "vision_feature_select_strategy", no_default), src,
              "vision_feature_select_strategy");
  c.projector_hidden_act =
      get_str(required(root, "projector_hidden_act", src, "projector_hidden_act", no_default), src, "projector_hidden_act");
  c.image_grid_pinpoints = parse_image_grid_pinpoints(
      required(root, "image_grid_pinpoints", src, "image_grid_pinpoints", no_default), src, "image_grid_pinpoints",
      c.vision.image_size);
  c.validate();
  return c;
}

VlConfig load_vl_config(const std::string& path_in) {
  namespace fs = std::filesystem;
  fs::path p(path_in);
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
    throw Error(path_in + ": cannot use the model directory or config.json: " + ec.message());
  if (!fs::exists(st)) throw Error(path_in + ": no such model directory or config.json");
  if (fs::is_directory(st)) p /= "config.json";
  const std::string file = p.string();
  JsonLimits limits;  // as load_config: a released VL config is ~4.4 KiB
  limits.max_bytes = 4u << 20;
  limits.max_depth = 32;
  const std::string text = read_regular_file(file, "model config (config.json)", limits.max_bytes);
  json j;
  try {
    j = parse_json_text(text, file, limits);
  } catch (const Error& e) {
    // load_config locates a number that overflows a double by its field; let it say where.
    if (std::string_view(e.what()).find("number overflow") != std::string_view::npos) (void)load_config(path_in);
    throw;
  }
  return vl_config_from_json(j, file);
}

bool is_vl_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) p /= "config.json";
  if (!fs::is_regular_file(p, ec)) return false;
  try {
    JsonLimits limits;
    limits.max_bytes = 4u << 20;
    limits.max_depth = 32;
    const json j = read_json_file(p.string(), "model config (config.json)", limits);
    return j.is_object() && j.contains("model_type") && j.at("model_type").is_string() &&
           j.at("model_type").get<std::string>() == "minimax_vl_01";
  } catch (const Error&) {
    return false;  // unreadable: whichever loader runs next reports why
  }
}

json vl_config_to_json(const VlConfig& c, ConfigSpelling text_spelling) {
  json j;
  j["architectures"] = {"MiniMaxVL01ForConditionalGeneration"};
  j["model_type"] = "minimax_vl_01";
  j["image_token_index"] = c.image_token_index;
  j["projector_hidden_act"] = c.projector_hidden_act;
  j["vision_feature_layer"] = c.vision_feature_layer;
  j["vision_feature_select_strategy"] = c.vision_feature_select_strategy;
  j["ignore_index"] = -100;
  json pins = json::array();
  for (const auto& p : c.image_grid_pinpoints) pins.push_back({p[0], p[1]});
  j["image_grid_pinpoints"] = pins;
  j["text_config"] = config_to_json(c.text, text_spelling);
  json v;
  v["model_type"] = "clip_vision_model";
  v["hidden_size"] = c.vision.hidden_size;
  v["intermediate_size"] = c.vision.intermediate_size;
  v["num_hidden_layers"] = c.vision.num_hidden_layers;
  v["num_attention_heads"] = c.vision.num_attention_heads;
  v["image_size"] = c.vision.image_size;
  v["patch_size"] = c.vision.patch_size;
  v["num_channels"] = c.vision.num_channels;
  v["layer_norm_eps"] = c.vision.layer_norm_eps;
  v["hidden_act"] = c.vision.hidden_act;
  v["projection_dim"] = c.text.hidden_size;  // as released (6144); unused: no visual_projection weight
  j["vision_config"] = v;
  return j;
}

std::vector<std::string> vl_preset_names() { return {"vl-tiny", "vl-small", "minimax-vl-01"}; }

VlConfig vl_preset_config(std::string_view name) {
  VlConfig c;
  c.source = "preset " + std::string(name);
  if (name == "vl-tiny") {
    c.text = preset_config("tiny");
    c.vision.hidden_size = 32; c.vision.intermediate_size = 64; c.vision.num_hidden_layers = 2;
    c.vision.num_attention_heads = 4;
    c.image_token_index = 500;  // inside tiny's vocab of 512
  } else if (name == "vl-small") {
    c.text = preset_config("small");
    c.vision.hidden_size = 128; c.vision.intermediate_size = 256; c.vision.num_hidden_layers = 4;
    c.vision.num_attention_heads = 4;
    c.image_token_index = c.text.vocab_size - 40;  // near the top, as 200025 of 200064
  } else if (name == "minimax-vl-01") {
    c.text = preset_config("minimax-text-01");
    c.vision = VisionConfig{};  // the released sizes: 1024 / 4096 / 24 / 16, 336 / 14
    c.image_token_index = 200025;
  } else {
    std::string names;
    for (auto& n : vl_preset_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown VL preset '" + std::string(name) + "' (expected one of: " + names + ")");
  }
  c.text.source = c.source + " text_config";
  c.vision.image_size = 336;
  c.vision.patch_size = 14;
  c.image_grid_pinpoints = released_image_grid_pinpoints(336);
  c.validate();
  return c;
}

// Released sizes: patch 1024*3*14*14 = 602,112, class 1,024, positions 577*1024 = 590,848, pre-LN 2,048,
// 24 layers of 12,596,224: 303,505,408. Projector 1024*6144 + 6144 + 6144^2 + 6144 = 44,052,480.
VisionParamCount count_vision_params(const VlConfig& c) {
  const Checked k{c.source};
  const VisionConfig& v = c.vision;
  const int64_t D = v.hidden_size, I = v.intermediate_size, Ht = c.text.hidden_size;
  VisionParamCount p;
  p.patch_embed = k.mul(D, v.num_channels, v.patch_size, v.patch_size);  // no bias
  p.class_embed = D;
  p.position_embed = k.mul(v.num_positions(), D);
  p.pre_norm = k.mul(2, D);
  p.layer = k.add(k.mul(4, k.add(k.mul(D, D), D)),        // q, k, v, out with biases
                  k.mul(2, 2, D),                          // layer_norm1, layer_norm2
                  k.add(k.mul(I, D), I), k.add(k.mul(D, I), D));  // fc1, fc2
  p.vit = k.add(p.patch_embed, p.class_embed, p.position_embed, p.pre_norm, k.mul(v.num_hidden_layers, p.layer));
  p.projector = k.add(k.mul(Ht, D), Ht, k.mul(Ht, Ht), Ht);
  p.image_newline = Ht;
  p.total = k.add(p.vit, p.projector, p.image_newline);
  return p;
}

}  // namespace mm
