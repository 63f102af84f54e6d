#include "harness/capture.h"

#include <algorithm>
#include <cstdio>

#include "harness/tensor_id.h"

namespace mm::harness {

// The decode phase's name of a prefill-phase tensor name ("layers.3.output" -> "decode.layers.3.output",
// "logits" -> "decode_logits").
static std::string decode_name(const std::string& n) { return TensorId::parse(n).in_phase(Phase::Decode).name(); }

TensorMap run_sequence(Backend& b, const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode,
                       const LayerHook& hook) {
  return run_sequence(b, ModelInput(prompt), decode, hook, {});
}

TensorMap run_sequence(Backend& b, const ModelInput& prompt, const std::vector<int64_t>& decode, const LayerHook& hook,
                       const VisionLayerHook& vision_hook) {
  StepRequest req;
  req.capture = true;
  req.after_layer = hook;
  req.after_vision_layer = vision_hook;
  b.reset();
  StepResult pre = b.step(prompt, req);
  req.after_vision_layer = {};  // decode steps carry no images
  TensorMap out = std::move(pre.tensors);
  // A slice ending before the head (docs/slices.md) makes no logits: none are recorded, so none are judged.
  const bool head = b.config().runs_head();
  if (head) out["logits"] = std::move(pre.logits);
  const int64_t S = prompt.length();
  for (auto& [n, t] : b.caches()) out[n] = std::move(t);
  for (int64_t tok : decode) {
    StepResult st = b.step({tok}, req);
    for (auto& [n, t] : st.tensors) append_rows(out[decode_name(n)], t);
    if (head) append_rows(out[decode_name("logits")], st.logits);
  }
  if (!decode.empty()) {
    for (auto& [n, t] : b.caches()) {
      if (TensorId::parse(n).kind == "lightning_state") {
        out[decode_name(n)] = std::move(t);
        continue;
      }
      // k/v cache: keep only the rows the decode steps appended
      const int64_t row = t.numel() / (t.shape[0] ? t.shape[0] : 1);
      Tensor tail;
      tail.shape = t.shape;
      tail.shape[0] = t.shape[0] - S;
      tail.values.assign(t.values.begin() + S * row, t.values.end());
      out[decode_name(n)] = std::move(tail);
    }
  }
  return out;
}

bool is_end_to_end(const std::string& name) { return TensorId::parse(name).mode == RunMode::EndToEnd; }

bool is_decode_tensor(const std::string& name) { return TensorId::parse(name).phase == Phase::Decode; }

int tensor_layer(const std::string& name) {
  const TensorId id = TensorId::parse(name);
  return id.family == Family::TextDecoder ? id.layer : -1;
}

std::string tensor_kind(const std::string& name) { return TensorId::parse(name).kind; }

std::string order_key(const std::string& name) {
  const TensorId id = TensorId::parse(name);
  // Dataflow order: the vision tower (MiniMax-VL-01), the projector, the text model's input embeddings,
  // its decoder layers, its head.
  int family = 3;
  if (id.family == Family::VisionEncoder) family = 0;
  else if (id.family == Family::Projector) family = 1;
  else if (id.family == Family::TextDecoder || id.kind == "inputs_embeds") family = 2;
  const int layer = id.layer >= 0 ? id.layer : id.kind == "features" ? 9999 : -1;
  static const char* kinds[] = {"embeddings", "pre_layrnorm", "inputs_embeds", "lightning_attn", "attn", "attn_out",
                                "lightning_state", "k_cache", "v_cache", "router_logits", "router_probs",
                                "router_experts", "mlp", "moe_out", "output", "features", "image_features",
                                "final_norm", "logits"};
  const int n_kinds = static_cast<int>(sizeof kinds / sizeof *kinds);
  int kind = 99;
  for (int i = 0; i < n_kinds; ++i)
    if (id.kind == kinds[i]) { kind = i; break; }
  const int stage = id.mode == RunMode::EndToEnd ? 2 : id.phase == Phase::Decode ? 1 : 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%d.%05d.%02d.", stage, family, layer + 1, kind);
  return buf + name;
}

}  // namespace mm::harness
