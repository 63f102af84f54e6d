#include "core/vision_weights.h"

#include "core/error.h"

namespace mm {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Which spelling a tensor name belongs to, if any: the official VL-01 names (vision_tower.,
// multi_modal_projector., image_newline, language_model.) or the HF port's (the same under model.,
// the vision tower without its vision_model. level, the text model under model.language_model.).
enum class Side { None, Official, HFPort };
Side side_of(const std::string& n, bool* vision) {
  *vision = true;
  if (starts_with(n, "vision_tower.") || starts_with(n, "multi_modal_projector.") || n == "image_newline")
    return Side::Official;
  if (starts_with(n, "model.vision_tower.") || starts_with(n, "model.multi_modal_projector.") ||
      n == "model.image_newline")
    return Side::HFPort;
  *vision = false;
  if (starts_with(n, "language_model.")) return Side::Official;
  if (starts_with(n, "model.language_model.")) return Side::HFPort;
  return Side::None;
}

}  // namespace

std::string vision_tensor_name(const std::string& n, VisionNames names) {
  if (names == VisionNames::Official) return n;
  if (starts_with(n, "vision_tower.vision_model.")) return "model.vision_tower." + n.substr(26);
  if (starts_with(n, "multi_modal_projector.") || n == "image_newline") return "model." + n;
  return n;
}

std::string vl_text_tensor_name(const std::string& n, VisionNames names) {
  if (names == VisionNames::Official) return "language_model." + n;
  if (starts_with(n, "model.")) return "model.language_model." + n.substr(6);
  return n;  // lm_head.weight stays at the top level in the HF port
}

VisionNames detect_vision_names(const Checkpoint& ck) {
  std::string off_vision, hf_vision, off_text, hf_text;  // the first name of each kind, for the message
  for (const auto& n : ck.names()) {
    bool vision = false;
    const Side s = side_of(n, &vision);
    std::string& slot = s == Side::Official ? (vision ? off_vision : off_text)
                        : s == Side::HFPort ? (vision ? hf_vision : hf_text)
                                            : off_vision;  // unused
    if (s != Side::None && slot.empty()) slot = n;
  }
  const bool official = !off_vision.empty(), hf = !hf_vision.empty();
  if (!official && !hf)
    throw Error(ck.path() + ": no vision tensors (expected 'vision_tower.vision_model.*', 'multi_modal_projector.*' "
                "and 'image_newline', or the HF port's 'model.vision_tower.*'): not a MiniMax-VL-01 checkpoint");
  const std::string o = official ? off_vision : off_text, h = hf ? hf_vision : hf_text;
  if ((official && (hf || !hf_text.empty())) || (hf && !off_text.empty()))
    throw Error(ck.path() + ": mixes the official VL-01 tensor names ('" + o + "') and the HF port's ('" + h +
                "'); a checkpoint must use one spelling throughout");
  return official ? VisionNames::Official : VisionNames::HFPort;
}

VisionWeightMap map_vision_weights(const Checkpoint& ck, const VlConfig& cfg) {
  const VisionConfig& v = cfg.vision;
  const int64_t D = v.hidden_size, I = v.intermediate_size, C = v.num_channels, P = v.patch_size;
  const int64_t Ht = cfg.text.hidden_size;
  VisionWeightMap m;
  m.names = detect_vision_names(ck);
  m.tower_prefix = vision_tensor_name("vision_tower.vision_model.", m.names);
  m.projector_prefix = vision_tensor_name("multi_modal_projector.", m.names);
  // The whole tensor (official name `n`, in the checkpoint's spelling) of `shape`, as [rows, cols]:
  // a vector is one row, a 4-D conv weight is [out, in*kh*kw].
  auto whole = [&](const std::string& n, const std::vector<int64_t>& shape) {
    const TensorInfo& t = ck.get(vision_tensor_name(n, m.names), shape);
    int64_t cols = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
    return shape.size() == 1 ? WeightBlock{&t, 0, 1, shape[0]} : WeightBlock{&t, 0, shape[0], cols};
  };
  const std::string t = "vision_tower.vision_model.";
  m.patch_embedding = whole(t + "embeddings.patch_embedding.weight", {D, C, P, P});
  m.class_embedding = whole(t + "embeddings.class_embedding", {D});
  m.position_embedding = whole(t + "embeddings.position_embedding.weight", {v.num_positions(), D});
  m.pre_norm_weight = whole(t + "pre_layrnorm.weight", {D});
  m.pre_norm_bias = whole(t + "pre_layrnorm.bias", {D});
  for (int64_t l = 0; l < v.num_hidden_layers; ++l) {
    const std::string p = t + "encoder.layers." + std::to_string(l) + ".";
    VisionLayerWeightMap L;
    L.ln1_weight = whole(p + "layer_norm1.weight", {D});
    L.ln1_bias = whole(p + "layer_norm1.bias", {D});
    L.q_weight = whole(p + "self_attn.q_proj.weight", {D, D});
    L.q_bias = whole(p + "self_attn.q_proj.bias", {D});
    L.k_weight = whole(p + "self_attn.k_proj.weight", {D, D});
    L.k_bias = whole(p + "self_attn.k_proj.bias", {D});
    L.v_weight = whole(p + "self_attn.v_proj.weight", {D, D});
    L.v_bias = whole(p + "self_attn.v_proj.bias", {D});
    L.out_weight = whole(p + "self_attn.out_proj.weight", {D, D});
    L.out_bias = whole(p + "self_attn.out_proj.bias", {D});
    L.ln2_weight = whole(p + "layer_norm2.weight", {D});
    L.ln2_bias = whole(p + "layer_norm2.bias", {D});
    L.fc1_weight = whole(p + "mlp.fc1.weight", {I, D});
    L.fc1_bias = whole(p + "mlp.fc1.bias", {I});
    L.fc2_weight = whole(p + "mlp.fc2.weight", {D, I});
    L.fc2_bias = whole(p + "mlp.fc2.bias", {D});
    m.layers.push_back(std::move(L));
  }
  m.linear1_weight = whole("multi_modal_projector.linear_1.weight", {Ht, D});
  m.linear1_bias = whole("multi_modal_projector.linear_1.bias", {Ht});
  m.linear2_weight = whole("multi_modal_projector.linear_2.weight", {Ht, Ht});
  m.linear2_bias = whole("multi_modal_projector.linear_2.bias", {Ht});
  m.image_newline = whole("image_newline", {Ht});
  // The text model's tensors are map_text_weights's to check; everything else must have been used here.
  ck.require_all_used(m.names == VisionNames::Official ? std::vector<std::string>{"language_model."}
                                                       : std::vector<std::string>{"model.language_model.", "lm_head."});
  return m;
}

}  // namespace mm
