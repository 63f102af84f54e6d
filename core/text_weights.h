// The one mapping from checkpoint tensor names to the Text-01 weights, shared by every loader (the
// reference's ref::load_weights, the kernels' cuda_model::load_host_weights). It accepts:
//   - the official names (model.embed_tokens.weight, model.layers.L.self_attn.qkv_proj.weight,
//     model.layers.L.block_sparse_moe.experts.E.w1.weight, ...),
//   - the same under VL-01's `language_model.` prefix (its vision tensors are left alone), or in the HF
//     native VL port's layout: `model.language_model.` in place of `model.`, `lm_head.weight` at the top,
//   - HF transformers v5's in-memory MoE names: mlp.gate.weight and the fused
//     mlp.experts.gate_up_proj [E, 2I, H] (rows 0..I-1 = w1, I..2I-1 = w3) / mlp.experts.down_proj [E, H, I].
// Every tensor is checked by name, shape, float dtype and finiteness (Checkpoint::get), and a tensor no
// weight uses is an error (Checkpoint::require_all_used). See docs/semantics/ for the names.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/safetensors.h"

namespace mm {

// A row-major [rows, cols] block of a checkpoint tensor, starting `offset` elements in (a fused tensor
// holds several blocks). Valid while the Checkpoint is open.
struct WeightBlock {
  const TensorInfo* tensor = nullptr;
  int64_t offset = 0;
  int64_t rows = 0, cols = 0;
  int64_t numel() const { return rows * cols; }
  // The block's values converted exactly to double (BF16/F16/F32 -> double is exact).
  std::vector<double> read_f64() const;
  // Rows [r0, r0 + n) of the block, the same values, into out[0, n * cols): a large block is converted
  // a panel at a time without a whole copy in double.
  void read_rows_f64(int64_t r0, int64_t n, double* out) const;
  // Hands back the mapped pages of rows [r0, r0 + n) once read (core/safetensors.h release_pages).
  void release_rows(int64_t r0, int64_t n) const;
};

struct TextLayerWeightMap {
  LayerType type = LayerType::Lightning;
  WeightBlock input_norm, post_norm;  // [1, H]
  WeightBlock qkv, gate, norm, out;   // lightning: [3*inner, H], [inner, H], [1, inner], [H, inner]
  WeightBlock q, k, v, o;             // softmax:   [inner, H], [kv, H], [kv, H], [H, inner]
  WeightBlock router;                 // [E, H]
  std::vector<WeightBlock> w1, w3, w2;  // [E] of [I, H], [I, H], [H, I]
};

struct TextWeightMap {
  std::string prefix;                     // "", "language_model." (VL-01) or "model.language_model." (HF VL port,
                                          // replacing the leading `model.`; lm_head.weight unprefixed)
  WeightBlock embed, final_norm, lm_head;  // [V, H], [1, H], [V, H]
  bool lm_head_tied = false;              // no lm_head.weight and tie_word_embeddings: lm_head is embed
  // The layers a run goes through, [cfg.first_layer(), cfg.end_layer()): layers[i] is decoder layer
  // first_layer + i (all L of a whole model).
  int64_t first_layer = 0;
  std::vector<TextLayerWeightMap> layers;
};

// Resolves every weight of `cfg` in `ck` (throws mm::Error naming the file and tensor for a missing,
// mis-shaped, non-float or non-finite tensor, or one the model does not use). Only the layers the run
// goes through are resolved; those the checkpoint holds beyond them (cfg.stored, --layers) are left
// alone, and any other layer's tensor is an error like any unused one.
TextWeightMap map_text_weights(const Checkpoint& ck, const ModelConfig& cfg);

}  // namespace mm
