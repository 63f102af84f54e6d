// The whole MiniMax-Text-01 causal LM (official MiniMaxText01ForCausalLM):
//   h = embed_tokens[ids];  h = DecoderLayer_l(h) for l = 0..L-1;  logits = norm(h) lm_head^T  (then .float())
// Prefill runs the whole prompt in one call; decode feeds one token at a time through the caches
// (lightning state, fp32 in the bf16 mode; post-RoPE KV cache). Batch of one sequence.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/model_input.h"
#include "core/safetensors.h"
#include "core/text_weights.h"
#include "reference/decoder_layer.h"

namespace mm::ref {

template <class T> struct ModelWeights {
  Weight<T> embed;    // [V, H] model.embed_tokens.weight
  Vec<T> final_norm;  // [H]    model.norm.weight
  Weight<T> lm_head;  // [V, H] lm_head.weight (== embed when tie_word_embeddings)
  std::vector<LayerWeights<T>> layers;  // the run's layers: layers[i] is decoder layer cfg.first_layer() + i
  // Streamed weights (WeightResidency::Streamed): the checkpoint stays open and its blocks are converted
  // when used; embed, lm_head and the layers' matrices are then empty, and layers[l] holds the 1-D
  // weights alone (input_norm, post_norm, lightning.norm: resident, so fault injection can flip them).
  std::shared_ptr<const Checkpoint> checkpoint;
  std::shared_ptr<const TextWeightMap> stored;
  // Held in bf16 (WeightResidency::Bf16): embed, lm_head and every layer's matrices are Weights holding
  // bf16 bits (weight.h); the 1-D weights are converted as in the resident model.
  bool bf16_held = false;
};

// Loads every tensor through the one checkpoint-name mapping (core/text_weights.h: official names, the
// VL-01 prefix `language_model.`, the HF v5 fused MoE names; checked by name, shape and finiteness),
// converting to the precision's scalar; in the BF16 mode non-bf16 checkpoints are rounded to bf16 (what
// loading the official model in bf16 does). Every weight resident.
template <class P>
ModelWeights<typename P::T> load_weights(const Checkpoint& ckpt, const ModelConfig& cfg);
// The same with a choice of residency (core/config.h WeightResidency; Auto resolved against this
// machine's memory). Bf16 (the fp32 and bf16 precisions only): every matrix held as bf16 bits and read
// by linear<P> in place (weight.h): a product of more than 8 rows is the resident model's bit for bit, a
// decode step's products equal to rounding (docs/memory.md#weights-held-in-bf16). Streamed: every tensor is checked the same way at load, the 1-D weights converted,
// and the matrices converted when Model::forward uses them, by the same conversion (weight_block.h), so
// the numbers are bit-identical to the resident model's; only the lm_head of a model whose head exceeds
// kStreamedHeadBlockBytes is applied in blocks of rows (docs/memory.md).
template <class P>
ModelWeights<typename P::T> load_weights(std::shared_ptr<const Checkpoint> ckpt, const ModelConfig& cfg,
                                         WeightResidency residency);

template <class T> struct ModelCache {
  std::vector<LayerCache<T>> layers;
  int64_t position = 0;  // tokens consumed so far
};

template <class T> struct ForwardTrace {
  std::vector<LayerTrace<T>> layers;  // [L], by absolute layer index; only the run's layers are filled
  Mat<T> final_norm;  // [S, H]; empty when the run ends before the head (ModelConfig::runs_head)
};

// What a driver asks of one forward call beyond the logits: the harness's hooks, per-layer timing and
// last-row logits all live here, so there is one layer loop (Model::forward) for every caller.
template <class T> struct ForwardOptions {
  // A multi-token call on a non-empty cache continues with `cont` in the lightning layers (Recurrent =
  // the official model's behaviour).
  Continuation cont = Continuation::Recurrent;
  // true: the final RMSNorm and the lm_head run on the last row only and the logits are [1, V] (all
  // that choosing the next token reads). A trace still gets every row of final_norm. Both are row by
  // row, so that row's values are the full call's up to the lm_head's summation order (BLAS takes a
  // matrix-vector product for one row).
  bool last_row_only = false;
  // Runs after decoder layer `layer` on its output [S, H]; may change it (perturbation, NaN injection),
  // sleep or throw. What it leaves is what the next layer reads and what the trace records as output.
  std::function<void(int layer, Mat<T>& hidden)> after_layer;
  // When set: seconds per decoder layer (hook included; steady clock), appended [L], and the rest of the
  // call (embedding, final norm, lm_head) added to *head_seconds.
  std::vector<double>* layer_seconds = nullptr;
  double* head_seconds = nullptr;
  // When set: the hidden state leaving the run's last layer [S, H] (the residual stream a slice hands
  // to the next one; docs/slices.md).
  Mat<T>* hidden_out = nullptr;
};

template <class P> class Model {
 public:
  using T = typename P::T;
  Model(ModelConfig cfg, ModelWeights<T> w) : cfg_(std::move(cfg)), w_(std::move(w)) {}
  const ModelConfig& config() const { return cfg_; }
  WeightResidency residency() const {
    return w_.stored ? WeightResidency::Streamed : w_.bf16_held ? WeightResidency::Bf16 : WeightResidency::Resident;
  }
  const ModelWeights<T>& weights() const { return w_; }
  ModelWeights<T>& mutable_weights() { return w_; }  // fault injection (harness soak) only
  ModelCache<T> new_cache() const;
  // Runs `in` (positions cache.position ...) through layers cfg.first_layer() .. end_layer() - 1 and
  // returns logits [S, V] ([1, V] with last_row_only; [0, V] when the run ends before the head). The
  // embedding feeds the first layer, or `in.hidden` when given (a slice continuing another's hidden state).
  // Throws mm::Error for an input check_model_input refuses (empty, id out of range, past
  // max_position_embeddings), before anything runs. With a trace, fills every run layer's sub-outputs.
  Mat<T> forward(const ModelInput& in, ModelCache<T>& cache, ForwardTrace<T>* trace = nullptr,
                 const ForwardOptions<T>& opt = {}) const;

 private:
  ModelConfig cfg_;
  ModelWeights<T> w_;
};

}  // namespace mm::ref
