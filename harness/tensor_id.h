// Structured identity of a captured tensor, and its serialised form (the names reports and goldens use,
// golden/README.md):
//
//   [e2e.][decode.]layers.L.KIND      a text decoder layer's tensor (KIND: attn_out, moe_out, output,
//                                     router_logits, router_probs, router_experts, lightning_attn,
//                                     lightning_state, k_cache, v_cache)
//   [e2e.][decode.]final_norm         the text model's head; logits / decode_logits for its output
//   [e2e.][decode.]vision.layers.L.KIND, [...]vision.KIND, [...]projector.KIND   (MiniMax-VL-01)
//
// "e2e." marks check's free-running end-to-end run (the rest are teacher-forced); "decode." the decode
// phase (stacked over decode steps). The family is read from the name's first component, so a vision
// layer is never mistaken for the decoder layer of the same index.
#pragma once
#include <cstdint>
#include <string>

namespace mm::harness {

enum class Family : uint8_t { TextDecoder, TextHead, VisionEncoder, Projector };
enum class Phase : uint8_t { Prefill, Decode };
enum class RunMode : uint8_t { TeacherForced, EndToEnd };

const char* to_string(Family f);   // "text_decoder", "text_head", "vision_encoder", "projector"
const char* to_string(Phase p);    // "prefill", "decode"
const char* to_string(RunMode m);  // "teacher_forced", "end_to_end"

struct TensorId {
  RunMode mode = RunMode::TeacherForced;
  Phase phase = Phase::Prefill;
  Family family = Family::TextHead;
  int layer = -1;    // TextDecoder / VisionEncoder layers: the index; otherwise -1
  std::string kind;  // "attn_out", "final_norm", "logits", ...

  // A decoder layer's tensor, and a head tensor (final_norm, logits), in the prefill phase.
  static TensorId decoder(int layer, std::string kind);
  static TensorId head(std::string kind);
  // MiniMax-VL-01: a vision encoder layer's tensor (vision.layers.L.KIND), a vision tensor outside the
  // layers (vision.KIND: embeddings, pre_layrnorm, features) and a projector tensor (projector.KIND:
  // output, image_features).
  static TensorId vision_layer(int layer, std::string kind);
  static TensorId vision(std::string kind);
  static TensorId projector(std::string kind);
  TensorId in_phase(Phase p) const;
  TensorId in_mode(RunMode m) const;

  // The serialised name (the inverse of parse for every name this project produces).
  std::string name() const;
  // Reads a name, which may come from a golden case's file and hold anything: never throws. A layer
  // index that is not a plain decimal int >= 0 reads as layer -1; a name of no known shape is a head
  // tensor whose kind is the name (after the e2e./decode. prefixes).
  static TensorId parse(const std::string& name);
};

}  // namespace mm::harness
