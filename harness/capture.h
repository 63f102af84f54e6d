// Runs one sequence (prefill of the prompt, then one decode step per decode token, teacher-forced) on a
// backend and collects every tensor under the golden names (golden/README.md):
//   layers.L.*, final_norm, logits                      the prefill call
//   layers.L.lightning_state | k_cache, v_cache         caches after the prefill
//   decode.layers.L.*, decode.final_norm, decode_logits stacked over decode steps (row t = step t)
//   decode.layers.L.lightning_state                     state after the last decode step
//   decode.layers.L.k_cache / v_cache                   the cache rows the decode steps appended
#pragma once
#include <string>
#include <vector>

#include "harness/backend.h"

namespace mm::harness {

TensorMap run_sequence(Backend& b, const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode,
                       const LayerHook& hook = {});
// The same with a whole ModelInput as the prefill (MiniMax-VL-01: images and image_token_id set, their
// placeholders expanded): the prefill's vision.* / projector.* tensors come back too. `vision_hook` runs
// after every vision layer of every crop (StepRequest::after_vision_layer).
TensorMap run_sequence(Backend& b, const ModelInput& prompt, const std::vector<int64_t>& decode, const LayerHook& hook,
                       const VisionLayerHook& vision_hook);

// Sort key in computation order (prefill layer by layer, then decode; within a layer attention, caches,
// router, MoE, output; the end-to-end "e2e." tensors last), so the first failing tensor in this order
// is the first diverging one.
std::string order_key(const std::string& name);
// Shorthands over TensorId::parse (harness/tensor_id.h), the structured identity of a tensor name.
// The text decoder layer a tensor belongs to (-1 for final_norm / logits and for any vision tensor), and
// whether it is from the decode phase.
int tensor_layer(const std::string& name);
bool is_decode_tensor(const std::string& name);
// "e2e.<name>": <name> from the free-running end-to-end run of check (the rest are teacher-forced).
bool is_end_to_end(const std::string& name);
// The part after "layers.L." (or the whole name): "attn_out", "router_experts", "logits", ...
std::string tensor_kind(const std::string& name);

}  // namespace mm::harness
