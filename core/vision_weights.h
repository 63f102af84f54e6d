// The one mapping from checkpoint tensor names to MiniMax-VL-01's vision weights: the CLIP-style vision
// tower, the two-layer projector and image_newline (docs/semantics/vl-01.md#checkpoint-names). It accepts
//   - the official names of the released checkpoint (vision_tower.vision_model.embeddings.class_embedding,
//     vision_tower.vision_model.encoder.layers.L.self_attn.q_proj.weight, multi_modal_projector.linear_1.weight,
//     image_newline, ...; the text model under language_model.), and
//   - the HF transformers native port's names: model.vision_tower. + the same names without the
//     vision_model. level, model.multi_modal_projector., model.image_newline (the text model under
//     model.language_model., lm_head.weight at the top level: map_text_weights reads those).
// The spelling is detected from the names present; a checkpoint mixing both is refused. Every tensor is
// checked by name, shape, float dtype (read from its header, not assumed) and finiteness
// (Checkpoint::get).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/text_weights.h"
#include "core/vl_config.h"

namespace mm {

enum class VisionNames { Official, HFPort };

// One encoder layer (pre-norm): D = vision hidden, I = vision intermediate. Linear weights are PyTorch
// [out, in] (y = x W^T + b); vectors are [1, n] blocks.
struct VisionLayerWeightMap {
  WeightBlock ln1_weight, ln1_bias;          // layer_norm1: [1, D] each
  WeightBlock q_weight, q_bias;              // self_attn.q_proj: [D, D], [1, D]
  WeightBlock k_weight, k_bias;              // self_attn.k_proj
  WeightBlock v_weight, v_bias;              // self_attn.v_proj
  WeightBlock out_weight, out_bias;          // self_attn.out_proj
  WeightBlock ln2_weight, ln2_bias;          // layer_norm2: [1, D] each
  WeightBlock fc1_weight, fc1_bias;          // mlp.fc1: [I, D], [1, I]
  WeightBlock fc2_weight, fc2_bias;          // mlp.fc2: [D, I], [1, D]
};

struct VisionWeightMap {
  VisionNames names = VisionNames::Official;
  std::string tower_prefix;      // "vision_tower.vision_model." or "model.vision_tower."
  std::string projector_prefix;  // "multi_modal_projector." or "model.multi_modal_projector."
  // Embeddings. The patch conv weight [D, C, P, P] (no bias) is one [D, C*P*P] block, row d holding
  // channel-major (c, ky, kx) as PyTorch stores it.
  WeightBlock patch_embedding;     // [D, C*P*P]
  WeightBlock class_embedding;     // [1, D]
  WeightBlock position_embedding;  // [num_positions = (image/patch)^2 + 1, D], row 0 = the CLS position
  WeightBlock pre_norm_weight, pre_norm_bias;  // pre_layrnorm (sic): [1, D] each
  std::vector<VisionLayerWeightMap> layers;    // [num_hidden_layers]
  // No post_layernorm: not in the checkpoint and not used (the CLS pooled output is dropped).
  // Projector: Ht = text hidden size.
  WeightBlock linear1_weight, linear1_bias;  // [Ht, D], [1, Ht]
  WeightBlock linear2_weight, linear2_bias;  // [Ht, Ht], [1, Ht]
  WeightBlock image_newline;                 // [1, Ht]
};

// The spelling of a checkpoint's vision tensors (throws mm::Error naming the checkpoint when it has none,
// or when it mixes the official and HF-port names, text model included).
VisionNames detect_vision_names(const Checkpoint& ck);

// Resolves every vision weight of `cfg` in `ck` (throws mm::Error naming the file and tensor for a
// missing, mis-shaped, non-float or non-finite tensor). Then every tensor outside the text model (that
// is, not under language_model. / model.language_model. / lm_head.) must have been used: a stray
// vision tensor (post_layernorm, a layer beyond num_hidden_layers, ...) is an error. map_text_weights
// does the same for the text side, so mapping both checks every tensor of a VL checkpoint.
VisionWeightMap map_vision_weights(const Checkpoint& ck, const VlConfig& cfg);

// The name of a vision/projector tensor in a given spelling, from its official name
// ("vision_tower.vision_model.X" -> "model.vision_tower.X", "multi_modal_projector.X" ->
// "model.multi_modal_projector.X", "image_newline" -> "model.image_newline"). Other names unchanged.
std::string vision_tensor_name(const std::string& official_name, VisionNames names);
// The same for a text tensor's Text-01 name ("model.X" / "lm_head.weight"): official VL-01 puts it under
// "language_model."; the HF port maps "model.X" -> "model.language_model.X" and keeps "lm_head.weight".
std::string vl_text_tensor_name(const std::string& text_name, VisionNames names);

}  // namespace mm
