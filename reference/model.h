// The whole MiniMax-Text-01 causal LM (official MiniMaxText01ForCausalLM):
//   h = embed_tokens[ids];  h = DecoderLayer_l(h) for l = 0..L-1;  logits = norm(h) lm_head^T  (then .float())
// Prefill runs the whole prompt in one call; decode feeds one token at a time through the caches
// (lightning state, fp32 in the bf16 mode; post-RoPE KV cache). Batch of one sequence.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/safetensors.h"
#include "reference/decoder_layer.h"

namespace mm::ref {

template <class T> struct ModelWeights {
  Mat<T> embed;       // [V, H] model.embed_tokens.weight
  Vec<T> final_norm;  // [H]    model.norm.weight
  Mat<T> lm_head;     // [V, H] lm_head.weight (== embed when tie_word_embeddings)
  std::vector<LayerWeights<T>> layers;
};

// Loads every tensor, checked by name and shape, converting to the precision's scalar; in the BF16
// mode non-bf16 checkpoints are rounded to bf16 (what loading the official model in bf16 does).
// Accepts the official names, the VL-01 prefix `language_model.` and the HF v5 in-memory MoE names
// (`mlp.gate`, fused `mlp.experts.gate_up_proj` [E, 2I, H] / `mlp.experts.down_proj` [E, H, I]).
template <class P>
ModelWeights<typename P::T> load_weights(const Checkpoint& ckpt, const ModelConfig& cfg);

template <class T> struct ModelCache {
  std::vector<LayerCache<T>> layers;
  int64_t position = 0;  // tokens consumed so far
};

template <class T> struct ForwardTrace {
  std::vector<LayerTrace<T>> layers;
  Mat<T> final_norm;  // [S, H]
};

template <class P> class Model {
 public:
  using T = typename P::T;
  Model(ModelConfig cfg, ModelWeights<T> w) : cfg_(std::move(cfg)), w_(std::move(w)) {}
  const ModelConfig& config() const { return cfg_; }
  const ModelWeights<T>& weights() const { return w_; }
  ModelCache<T> new_cache() const;
  // Runs `tokens` (positions cache.position ...) and returns logits [S, V]. Throws mm::Error on an
  // empty input or an out-of-range token id. A multi-token call on a non-empty cache continues with
  // `cont` in the lightning layers (Recurrent = official).
  Mat<T> forward(const std::vector<int64_t>& tokens, ModelCache<T>& cache, ForwardTrace<T>* trace = nullptr,
                 Continuation cont = Continuation::Recurrent) const;

 private:
  ModelConfig cfg_;
  ModelWeights<T> w_;
};

}  // namespace mm::ref
