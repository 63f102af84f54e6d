// Seeded synthetic MiniMax-VL-01 checkpoints (config.json, preprocessor_config.json, safetensors), for
// any VlConfig, in the official names or the HF native port's (core/vision_weights.h).
//   text model: exactly the tensors and values of reference/synthetic.h's checkpoint for the text config
//     and seed (so a VL checkpoint's language model equals the text one), under language_model. (official)
//     or model.language_model. with lm_head.weight at the top (HF port);
//   vision tower and projector, scaled to keep activations O(1): linear and conv weights N(0, 1/fan_in),
//     biases N(0, 0.02^2), LayerNorm weights 1 + 0.1 N(0,1) and biases 0.1 N(0,1), class and position
//     embeddings N(0, 0.02^2) (CLIP's initialisation scale, small beside the patch embeddings), image_newline N(0, 1)
//     (the scale of a token embedding, like the text embeddings).
// Every tensor has its own stream (seed, official tensor name): both spellings hold the same values.
#pragma once
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/vision_weights.h"
#include "core/vl_config.h"
#include "reference/synthetic.h"

namespace mm::ref {

// The vision, projector and image_newline tensor specs of `cfg` (official names), in a stable order.
std::vector<TensorSpec> vision_checkpoint_specs(const VlConfig& cfg, DType dtype);
// Values of one vision tensor given by its official name (deterministic in seed and name).
void synthetic_vision_values(const TensorSpec& spec, const VlConfig& cfg, uint64_t seed, std::vector<double>& out);

// The released processor settings for `cfg`: process_image_mode "anyres", size [336, 336], patch 14, the
// OpenAI-CLIP mean and std, and cfg's image_grid_pinpoints (the processor's copy must equal config.json's).
nlohmann::json vl_preprocessor_config_json(const VlConfig& cfg);

// Writes dir/config.json (vl_config_to_json in opt.spelling for text_config), dir/preprocessor_config.json
// and the safetensors file(s) (sharded as write_checkpoint_shards does above opt.max_shard_bytes). With
// hf_port_names the tensors carry the HF native port's names. Replacing a checkpoint in `dir` removes the
// old one's index and shards that were not overwritten, as write_synthetic_checkpoint does.
void write_synthetic_vl_checkpoint(const std::string& dir, const VlConfig& cfg, const SyntheticOptions& opt,
                                   bool hf_port_names = false);

}  // namespace mm::ref
