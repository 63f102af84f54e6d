#include "harness/tensor_id.h"

#include <algorithm>
#include <string_view>

#include "core/strict_number.h"

namespace mm::harness {

const char* to_string(Family f) {
  switch (f) {
    case Family::TextDecoder: return "text_decoder";
    case Family::TextHead: return "text_head";
    case Family::VisionEncoder: return "vision_encoder";
    case Family::Projector: return "projector";
  }
  return "?";
}
const char* to_string(Phase p) { return p == Phase::Decode ? "decode" : "prefill"; }
const char* to_string(RunMode m) { return m == RunMode::EndToEnd ? "end_to_end" : "teacher_forced"; }

TensorId TensorId::decoder(int layer, std::string kind) {
  TensorId t;
  t.family = Family::TextDecoder;
  t.layer = layer;
  t.kind = std::move(kind);
  return t;
}
TensorId TensorId::head(std::string kind) {
  TensorId t;
  t.kind = std::move(kind);
  return t;
}
TensorId TensorId::vision_layer(int layer, std::string kind) {
  TensorId t;
  t.family = Family::VisionEncoder;
  t.layer = layer;
  t.kind = std::move(kind);
  return t;
}
TensorId TensorId::vision(std::string kind) {
  TensorId t;
  t.family = Family::VisionEncoder;
  t.kind = std::move(kind);
  return t;
}
TensorId TensorId::projector(std::string kind) {
  TensorId t;
  t.family = Family::Projector;
  t.kind = std::move(kind);
  return t;
}
TensorId TensorId::in_phase(Phase p) const {
  TensorId t = *this;
  t.phase = p;
  return t;
}
TensorId TensorId::in_mode(RunMode m) const {
  TensorId t = *this;
  t.mode = m;
  return t;
}

std::string TensorId::name() const {
  std::string s = mode == RunMode::EndToEnd ? "e2e." : "";
  // The decode phase's logits are "decode_logits" (the goldens' name), every other tensor "decode.X".
  if (phase == Phase::Decode && family == Family::TextHead && kind == "logits") return s + "decode_logits";
  if (phase == Phase::Decode) s += "decode.";
  const std::string L = std::to_string(layer);
  switch (family) {
    case Family::TextDecoder: return s + "layers." + L + "." + kind;
    case Family::TextHead: return s + kind;
    case Family::VisionEncoder: return s + "vision." + (layer >= 0 ? "layers." + L + "." : std::string()) + kind;
    case Family::Projector: return s + "projector." + kind;
  }
  return s + kind;
}

namespace {
bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "layers.L.KIND" somewhere in `s` (golden files may carry extra components before it): the layer (-1 when
// the digits are no plain decimal int >= 0) and the kind after it; false when there is no "layers.".
bool layer_part(std::string_view s, int& layer, std::string& kind) {
  const auto p = s.find("layers.");
  if (p == std::string_view::npos) return false;
  const std::size_t from = p + 7, to = std::min(s.find('.', from), s.size());
  int l = -1;
  layer = parse_decimal_int(s.substr(from, to - from), l) == NumParse::Ok && l >= 0 ? l : -1;
  kind = to < s.size() ? std::string(s.substr(to + 1)) : std::string();
  return true;
}
}  // namespace

TensorId TensorId::parse(const std::string& name) {
  TensorId t;
  std::string_view s = name;
  if (starts(s, "e2e.")) { t.mode = RunMode::EndToEnd; s.remove_prefix(4); }
  if (s == "decode_logits") {
    t.phase = Phase::Decode;
    t.kind = "logits";
    return t;
  }
  if (starts(s, "decode")) {  // "decode.X"; golden files may also say "decode.0.layers.L.X"
    t.phase = Phase::Decode;
    if (starts(s, "decode.")) s.remove_prefix(7);
  }
  if (starts(s, "vision.")) {
    t.family = Family::VisionEncoder;
    s.remove_prefix(7);
    if (!layer_part(s, t.layer, t.kind)) t.kind = std::string(s);
    return t;
  }
  if (starts(s, "projector.")) {
    t.family = Family::Projector;
    t.kind = std::string(s.substr(10));
    return t;
  }
  if (layer_part(s, t.layer, t.kind)) {
    t.family = Family::TextDecoder;
    return t;
  }
  t.kind = std::string(s);
  return t;
}

}  // namespace mm::harness
