#include "harness/capture.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "core/strict_number.h"

namespace mm::harness {

TensorMap run_sequence(Backend& b, const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode,
                       const LayerHook& hook) {
  StepRequest req;
  req.capture = true;
  req.after_layer = hook;
  b.reset();
  StepResult pre = b.step(prompt, req);
  TensorMap out = std::move(pre.tensors);
  out["logits"] = std::move(pre.logits);
  const int64_t S = static_cast<int64_t>(prompt.size());
  for (auto& [n, t] : b.caches()) out[n] = std::move(t);
  for (int64_t tok : decode) {
    StepResult st = b.step({tok}, req);
    for (auto& [n, t] : st.tensors) append_rows(out["decode." + n], t);
    append_rows(out["decode_logits"], st.logits);
  }
  if (!decode.empty()) {
    for (auto& [n, t] : b.caches()) {
      if (n.find("lightning_state") != std::string::npos) {
        out["decode." + n] = std::move(t);
        continue;
      }
      // k/v cache: keep only the rows the decode steps appended
      const int64_t row = t.numel() / (t.shape[0] ? t.shape[0] : 1);
      Tensor tail;
      tail.shape = t.shape;
      tail.shape[0] = t.shape[0] - S;
      tail.values.assign(t.values.begin() + S * row, t.values.end());
      out["decode." + n] = std::move(tail);
    }
  }
  return out;
}

// "e2e.X": tensor X of the free-running end-to-end run (check.h); same kind, layer and phase as X.
static std::string without_e2e(const std::string& name) { return is_end_to_end(name) ? name.substr(4) : name; }

bool is_end_to_end(const std::string& name) { return name.rfind("e2e.", 0) == 0; }

bool is_decode_tensor(const std::string& name) { return without_e2e(name).rfind("decode", 0) == 0; }

int tensor_layer(const std::string& name_in) {
  const std::string name = without_e2e(name_in);
  const auto p = name.find("layers.");
  if (p == std::string::npos) return -1;
  // the digits after "layers." (a name from a golden case's file may hold anything: no digits, or too many,
  // is no layer, never an exception)
  const std::size_t from = p + 7, to = std::min(name.find('.', from), name.size());
  int layer = -1;
  return parse_decimal_int(std::string_view(name).substr(from, to - from), layer) == NumParse::Ok && layer >= 0 ? layer : -1;
}

std::string tensor_kind(const std::string& name_in) {
  const std::string name = without_e2e(name_in);
  const auto p = name.find("layers.");
  if (p == std::string::npos) return name.rfind("decode.", 0) == 0 ? name.substr(7) : name == "decode_logits" ? "logits" : name;
  const auto dot = name.find('.', p + 7);
  return name.substr(dot + 1);
}

std::string order_key(const std::string& name) {
  const bool dec = is_decode_tensor(name);
  int layer = tensor_layer(name);
  if (layer < 0) layer = 9999;
  static const char* kinds[] = {"lightning_attn", "attn_out", "lightning_state", "k_cache", "v_cache",
                                "router_logits", "router_probs", "router_experts", "router_weights",
                                "moe_out", "output", "final_norm", "logits"};
  const std::string k = tensor_kind(name);
  int kind = 99;
  for (int i = 0; i < 13; ++i)
    if (k == kinds[i]) { kind = i; break; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%05d.%02d.", is_end_to_end(name) ? 2 : dec ? 1 : 0, layer, kind);
  return buf + name;
}

}  // namespace mm::harness
