#include "core/text_weights.h"

#include "core/error.h"

namespace mm {

void WeightBlock::read_rows_f64(int64_t r0, int64_t n, double* out) const {
  require(tensor != nullptr, "WeightBlock::read_rows_f64: no tensor");
  require(r0 >= 0 && n >= 0 && r0 + n <= rows, tensor->file + ": tensor '" + tensor->name + "': rows outside the block");
  TensorInfo view = *tensor;  // the rows as a tensor of their own: same dtype, data moved to their offset
  const std::size_t esize = dtype_size(view.dtype);
  const int64_t first = offset + r0 * cols;
  view.data += static_cast<std::size_t>(first) * esize;
  view.shape = {n, cols};
  view.nbytes = static_cast<std::size_t>(n * cols) * esize;
  require(static_cast<std::size_t>(first + n * cols) * esize <= tensor->nbytes,
          tensor->file + ": tensor '" + tensor->name + "': block past its end");
  convert_to_f64(view, out);
}

void WeightBlock::release_rows(int64_t r0, int64_t n) const {
  if (!tensor || r0 < 0 || n <= 0 || r0 + n > rows) return;
  const std::size_t esize = dtype_size(tensor->dtype);
  release_pages(tensor->data + static_cast<std::size_t>(offset + r0 * cols) * esize, static_cast<std::size_t>(n * cols) * esize);
}

std::vector<double> WeightBlock::read_f64() const {
  std::vector<double> v(static_cast<std::size_t>(numel()));
  read_rows_f64(0, rows, v.data());
  return v;
}

TextWeightMap map_text_weights(const Checkpoint& ck, const ModelConfig& c) {
  TextWeightMap m;
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, E = c.num_local_experts;
  const int64_t inner = c.inner_dim(), kvd = c.kv_dim();
  // VL-01 stores the text model under language_model.; the HF native VL port under model.language_model.
  // (replacing the `model.` of the Text-01 names) with lm_head.weight at the top level.
  m.prefix = ck.find("model.embed_tokens.weight")                  ? ""
             : ck.find("language_model.model.embed_tokens.weight") ? "language_model."
             : ck.find("model.language_model.embed_tokens.weight") ? "model.language_model."
                                                                   : "";
  const bool hf_port = m.prefix == "model.language_model.";
  // The checkpoint name of the Text-01 tensor `n` ("model.X" or "lm_head.weight").
  auto full = [&](const std::string& n) {
    if (!hf_port) return m.prefix + n;
    return n.rfind("model.", 0) == 0 ? m.prefix + n.substr(6) : n;
  };
  auto has = [&](const std::string& n) { return ck.find(full(n)) != nullptr; };
  // The whole tensor `n` of shape `shape`, as a [rows, cols] block (a vector is one row).
  auto whole = [&](const std::string& n, const std::vector<int64_t>& shape) {
    const TensorInfo& t = ck.get(full(n), shape);
    return WeightBlock{&t, 0, shape.size() == 1 ? 1 : shape[0], shape.back()};
  };

  m.embed = whole("model.embed_tokens.weight", {V, H});
  m.final_norm = whole("model.norm.weight", {H});
  m.lm_head_tied = !has("lm_head.weight") && c.tie_word_embeddings;
  m.lm_head = m.lm_head_tied ? m.embed : whole("lm_head.weight", {V, H});

  m.first_layer = c.first_layer();
  for (int64_t l = c.first_layer(); l < c.end_layer(); ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    TextLayerWeightMap L;
    L.type = c.layer_types[static_cast<std::size_t>(l)];
    L.input_norm = whole(p + "input_layernorm.weight", {H});
    L.post_norm = whole(p + "post_attention_layernorm.weight", {H});
    if (L.type == LayerType::Lightning) {
      L.qkv = whole(p + "self_attn.qkv_proj.weight", {3 * inner, H});
      L.gate = whole(p + "self_attn.output_gate.weight", {inner, H});
      L.norm = whole(p + "self_attn.norm.weight", {inner});
      L.out = whole(p + "self_attn.out_proj.weight", {H, inner});
    } else {
      L.q = whole(p + "self_attn.q_proj.weight", {inner, H});
      L.k = whole(p + "self_attn.k_proj.weight", {kvd, H});
      L.v = whole(p + "self_attn.v_proj.weight", {kvd, H});
      L.o = whole(p + "self_attn.o_proj.weight", {H, inner});
    }
    // Official names unless only the HF v5 ones are there (a missing official tensor is then reported
    // under its official name).
    if (has(p + "block_sparse_moe.gate.weight") || !has(p + "mlp.gate.weight")) {
      L.router = whole(p + "block_sparse_moe.gate.weight", {E, H});
      for (int64_t e = 0; e < E; ++e) {
        const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        L.w1.push_back(whole(q + "w1.weight", {I, H}));
        L.w3.push_back(whole(q + "w3.weight", {I, H}));
        L.w2.push_back(whole(q + "w2.weight", {H, I}));
      }
    } else {
      L.router = whole(p + "mlp.gate.weight", {E, H});
      const TensorInfo& gu = ck.get(full(p + "mlp.experts.gate_up_proj"), {E, 2 * I, H});
      const TensorInfo& dn = ck.get(full(p + "mlp.experts.down_proj"), {E, H, I});
      for (int64_t e = 0; e < E; ++e) {
        L.w1.push_back({&gu, e * 2 * I * H, I, H});
        L.w3.push_back({&gu, e * 2 * I * H + I * H, I, H});
        L.w2.push_back({&dn, e * H * I, H, I});
      }
    }
    m.layers.push_back(std::move(L));
  }
  // The vision tensors of a VL-01 checkpoint are map_vision_weights's (core/vision_weights.h) to check.
  std::vector<std::string> ignored = m.prefix.empty() ? std::vector<std::string>{}
                                     : hf_port        ? std::vector<std::string>{"model.vision_tower.",
                                                                                 "model.multi_modal_projector.",
                                                                                 "model.image_newline"}
                                                      : vl_non_text_prefixes();
  // Layers the checkpoint holds that this run does not go through (--layers).
  for (int64_t l = c.stored_begin(); l < c.stored_end(); ++l)
    if (l < c.first_layer() || l >= c.end_layer()) ignored.push_back(full("model.layers." + std::to_string(l) + "."));
  ck.require_all_used(ignored);
  return m;
}

}  // namespace mm
