// MiniMax-VL-01 configuration: the vision tower's `vision_config`, the projector and image-token
// settings of the top-level config.json (`model_type` "minimax_vl_01"), and its text model (the
// `text_config`, a ModelConfig as for Text-01). What is read, required and refused:
// docs/semantics/vl-01.md#config; the vision math: docs/semantics/vl-01-vision.md.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/config.h"

namespace mm {

// The CLIP-style vision transformer (the official custom CLIPVisionModel).
struct VisionConfig {
  int64_t hidden_size = 1024;        // D
  int64_t intermediate_size = 4096;  // MLP width
  int64_t num_hidden_layers = 24;    // encoder layers
  int64_t num_attention_heads = 16;  // head_dim = D / heads (64)
  int64_t image_size = 336;          // crops are image_size x image_size
  int64_t patch_size = 14;           // (image_size / patch_size)^2 = 576 patches, + 1 CLS = 577 positions
  int64_t num_channels = 3;
  double layer_norm_eps = 1e-5;
  std::string hidden_act = "gelu";   // exact erf GELU (not CLIP's default quick_gelu); the only one accepted

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t patches_per_side() const { return image_size / patch_size; }
  int64_t num_patches() const { return patches_per_side() * patches_per_side(); }
  int64_t num_positions() const { return num_patches() + 1; }
  void validate(const std::string& source) const;  // throws mm::Error naming the field
  bool operator==(const VisionConfig&) const = default;
};

struct VlConfig {
  std::string source = "preset";
  ModelConfig text;                  // text_config
  VisionConfig vision;               // vision_config
  int64_t image_token_index = 200025;  // the <image> placeholder id, < text.vocab_size
  int vision_feature_layer = -1;     // -1 (the last encoder layer) is the only value accepted
  std::string vision_feature_select_strategy = "default";  // drop CLS; the only value accepted
  std::string projector_hidden_act = "gelu";               // exact GELU; the only value accepted
  std::vector<std::array<int, 2>> image_grid_pinpoints;     // (width, height), multiples of image_size

  void validate() const;
};

// Parses a minimax_vl_01 config.json (text_config in either text spelling). In vision_config the
// shape fields and hidden_act are required (CLIP's class defaults describe another model; an absent
// hidden_act would mean quick_gelu), num_channels defaults to 3 and layer_norm_eps to 1e-5. The top-level
// image/projector fields are required too (the config class's defaults are LLaVA-NeXT leftovers).
// Throws mm::Error naming the file and field.
VlConfig vl_config_from_json(const nlohmann::json& j, const std::string& source);
VlConfig load_vl_config(const std::string& path);  // config.json or a checkpoint directory
nlohmann::json vl_config_to_json(const VlConfig& c, ConfigSpelling text_spelling);
// True when the config.json at `path` (file or directory) has model_type "minimax_vl_01".
bool is_vl_config(const std::string& path);

// Pinpoint lists (config.json's and preprocessor_config.json's image_grid_pinpoints): 1 to 1024
// entries, each side a positive multiple of the crop size and at most 6048 px, at most 36 tiles per
// pinpoint. The released list tops out at 2016 px and 18 tiles; the caps keep a hostile file from
// asking for a canvas of gigabytes (docs/semantics/vl-01-preprocessing.md#settings).
struct PinpointLimits {
  static constexpr std::size_t max_entries = 1024;
  static constexpr int max_side = 18 * 336;
  static constexpr int max_tiles = 36;
};
// The released list: (i * crop, j * crop) for i, j in 1..6 with i * j <= 18, i outer.
std::vector<std::array<int, 2>> released_image_grid_pinpoints(int crop = 336);
// Parses a JSON pinpoint list (the field `field` of `source`), within PinpointLimits; throws mm::Error
// naming the field and entry.
std::vector<std::array<int, 2>> parse_image_grid_pinpoints(const nlohmann::json& v, const std::string& source,
                                                            const std::string& field, int64_t crop);
// The same bounds on a list already in memory.
void check_image_grid_pinpoints(const std::vector<std::array<int, 2>>& pins, const std::string& source,
                                const std::string& field, int64_t crop);

// Presets: "vl-tiny" (tests), "vl-small" (a 2-core box), "minimax-vl-01" (the released sizes; never
// allocate its weights).
VlConfig vl_preset_config(std::string_view name);
std::vector<std::string> vl_preset_names();

struct VisionParamCount {
  int64_t patch_embed = 0, class_embed = 0, position_embed = 0, pre_norm = 0;
  int64_t layer = 0;       // one encoder layer: q/k/v/out with biases, 2 LayerNorms, fc1, fc2
  int64_t vit = 0;         // the whole tower (no post_layernorm: not in the checkpoint)
  int64_t projector = 0;   // linear_1 + linear_2 with biases
  int64_t image_newline = 0;
  int64_t total = 0;       // vit + projector + image_newline
};
// Released sizes: vit 303,505,408, projector 44,052,480, image_newline 6,144.
VisionParamCount count_vision_params(const VlConfig& c);

}  // namespace mm
