#include "reference/model.h"

#include <algorithm>
#include <type_traits>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/clock.h"
#include "core/error.h"
#include "core/text_weights.h"
#include "reference/linear.h"
#include "reference/rmsnorm.h"
#include "reference/weight_block.h"

namespace mm::ref {

namespace {

// glibc keeps freed blocks below its mmap threshold (up to 32 MiB) in the heap; malloc_trim hands their
// pages back. A no-op elsewhere.
void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// The layer's matrices, each block converted by `mat` (convert_released, at load or while streaming):
// the attention projections of its type and the router. The experts and the 1-D weights are the callers'.
template <class P, class Convert>
void convert_matrices(const TextLayerWeightMap& M, LayerWeights<typename P::T>& L, Convert mat) {
  if (L.type == LayerType::Lightning) {
    L.lightning.qkv = mat(M.qkv);
    L.lightning.gate = mat(M.gate);
    L.lightning.out = mat(M.out);
  } else {
    L.softmax.q = mat(M.q);
    L.softmax.k = mat(M.k);
    L.softmax.v = mat(M.v);
    L.softmax.o = mat(M.o);
  }
  L.moe.gate = mat(M.router);
}

// A layer's 1-D weights (converted at load in both residencies).
template <class P>
LayerWeights<typename P::T> layer_vectors(const TextLayerWeightMap& M) {
  LayerWeights<typename P::T> L;
  L.type = M.type;
  L.input_norm = to_vec<P>(M.input_norm);
  L.post_norm = to_vec<P>(M.post_norm);
  if (L.type == LayerType::Lightning) L.lightning.norm = to_vec<P>(M.norm);
  return L;
}

// A block converted, then the mapped pages it read handed back (they stay in the page cache; without
// this they count as our resident memory: the whole checkpoint after a resident load).
template <class P>
Mat<typename P::T> convert_released(const WeightBlock& b) {
  Mat<typename P::T> m = to_mat<P>(b);
  b.release_rows(0, b.rows);
  return m;
}

// A block held in bf16 (weight_block.h to_held_bf16), the mapped pages it read handed back.
template <class P>
Weight<typename P::T> held_released(const WeightBlock& b) {
  Weight<typename P::T> w(to_held_bf16<P>(b));
  b.release_rows(0, b.rows);
  return w;
}

// Every block of the model now, each matrix by `mat` (convert_released: resident; held_released: held in
// bf16), the 1-D weights converted. A tied lm_head is the embedding (a copy when resident, the same
// bits when held).
template <class P, class Convert>
ModelWeights<typename P::T> load_all(const TextWeightMap& m, Convert mat) {
  ModelWeights<typename P::T> w;
  w.embed = mat(m.embed);
  w.final_norm = to_vec<P>(m.final_norm);
  if (m.lm_head_tied)
    w.lm_head = w.embed;
  else
    w.lm_head = mat(m.lm_head);
  for (const TextLayerWeightMap& M : m.layers) {
    LayerWeights<typename P::T> L = layer_vectors<P>(M);
    convert_matrices<P>(M, L, mat);
    for (std::size_t e = 0; e < M.w1.size(); ++e) L.moe.experts.push_back({mat(M.w1[e]), mat(M.w3[e]), mat(M.w2[e])});
    w.layers.push_back(std::move(L));
  }
  return w;
}

// Layer l of a streamed model, ready to run: the resident 1-D weights of `kept`, the attention
// projections and router converted now, the experts converted by moe() one at a time when routed to.
template <class P>
LayerWeights<typename P::T> streamed_layer(const LayerWeights<typename P::T>& kept, const TextLayerWeightMap& M) {
  LayerWeights<typename P::T> L;
  L.type = kept.type;
  L.input_norm = kept.input_norm;
  L.post_norm = kept.post_norm;
  L.lightning.norm = kept.lightning.norm;
  convert_matrices<P>(M, L, convert_released<P>);
  L.moe.stored_expert = [blocks = &M](int e) {
    const auto i = static_cast<std::size_t>(e);
    return ExpertWeights<typename P::T>{convert_released<P>(blocks->w1[i]), convert_released<P>(blocks->w3[i]),
                                        convert_released<P>(blocks->w2[i])};
  };
  return L;
}

// logits = x W^T for the streamed lm_head W [V, H]: converted whole when its copy fits
// kStreamedHeadBlockBytes (the resident model's very GEMM), else a block of rows at a time.
template <class P>
Mat<typename P::T> streamed_head(const Mat<typename P::T>& x, const WeightBlock& head) {
  const int64_t per = std::max<int64_t>(1, static_cast<int64_t>(kStreamedHeadBlockBytes / sizeof(typename P::T)) / head.cols);
  if (per >= head.rows) return linear<P>(x, convert_released<P>(head));
  return linear_blocked<P>(x, head, per);
}

}  // namespace

template <class P>
ModelWeights<typename P::T> load_weights(const Checkpoint& ck, const ModelConfig& c) {
  // Refuse a model this machine cannot hold before allocating any of it (a clear error, not bad_alloc).
  constexpr uint64_t kBytes = sizeof(typename P::T);
  require_memory(estimate_model_bytes(c, kBytes, kBytes),
                 c.source + ": the reference model (" + std::to_string(8 * kBytes) + "-bit weights and state)");
  return load_all<P>(map_text_weights(ck, c), convert_released<P>);
}

template <class P>
ModelWeights<typename P::T> load_weights(std::shared_ptr<const Checkpoint> ck, const ModelConfig& c,
                                         WeightResidency residency) {
  constexpr uint64_t kBytes = sizeof(typename P::T);
  if (residency == WeightResidency::Bf16) {
    require(!std::is_same_v<typename P::T, double>,
            c.source + ": weights held in bf16 (--weights bf16) are for ref-f32 and ref-bf16; " + P::kName +
                " is the fp64 oracle and holds every weight in double");
    require_memory(estimate_model_bytes(c, 2, kBytes),
                   c.source + ": the reference model (weights held in bf16, " + std::to_string(8 * kBytes) + "-bit state)");
    ModelWeights<typename P::T> w = load_all<P>(map_text_weights(*ck, c), held_released<P>);
    w.bf16_held = true;
    return w;
  }
  if (resolve_weight_residency(residency, c, kBytes, available_memory_bytes()) == WeightResidency::Resident)
    return load_weights<P>(*ck, c);
  require_memory(estimate_streamed_model_bytes(c, kBytes, kBytes),
                 c.source + ": the reference model with streamed weights (" + std::to_string(8 * kBytes) +
                     "-bit working set and state)");
  auto m = std::make_shared<const TextWeightMap>(map_text_weights(*ck, c));  // every tensor checked here
  ModelWeights<typename P::T> w;
  w.final_norm = to_vec<P>(m->final_norm);
  for (const TextLayerWeightMap& M : m->layers) w.layers.push_back(layer_vectors<P>(M));
  w.checkpoint = std::move(ck);
  w.stored = std::move(m);
  return w;
}

template <class P>
ModelCache<typename P::T> Model<P>::new_cache() const {
  ModelCache<T> c;
  c.layers.resize(static_cast<std::size_t>(cfg_.num_hidden_layers));
  return c;
}

template <class P>
Mat<typename P::T> Model<P>::forward(const ModelInput& in, ModelCache<T>& cache, ForwardTrace<T>* trace,
                                     const ForwardOptions<T>& opt) const {
  require(cache.layers.size() == static_cast<std::size_t>(cfg_.num_hidden_layers),
          "forward: cache has " + std::to_string(cache.layers.size()) + " layers, expected " +
              std::to_string(cfg_.num_hidden_layers) + " (use Model::new_cache)");
  check_model_input(cfg_, in, cache.position);
  // Images go through the vision tower first (ref::VlModel), which hands this model their features as
  // spliced embeddings; the text model alone has no vision tower to run them.
  require(in.images.empty(), "forward: the text model takes image features as spliced embeddings; images need "
                             "the MiniMax-VL-01 model (its vision tower)");
  const int64_t S = in.length();
  auto t0 = SteadyClock::now();
  Mat<T> h(S, cfg_.hidden_size);
  // A slice continuing another: its hidden state, as the precision holds it (exact for a dump this
  // precision wrote, whose values are F64).
  if (!in.hidden.empty())
    for (int64_t i = 0; i < S; ++i)
      for (int64_t c = 0; c < cfg_.hidden_size; ++c)
        h(i, c) = P::r(static_cast<T>(in.hidden.values[static_cast<std::size_t>(i * cfg_.hidden_size + c)]));
  // Token embeddings; image placeholders take the spliced rows instead, in order, cast to the
  // embedding's precision (docs/semantics/vl-01-vision.md#splicing).
  int64_t next_spliced = 0;
  for (int64_t i = 0; i < S && in.hidden.empty(); ++i) {
    const int64_t id = in.tokens[static_cast<std::size_t>(i)];
    if (!in.spliced.empty() && id == in.spliced.token_id) {
      const double* row = in.spliced.values.data() + next_spliced++ * in.spliced.cols;
      for (int64_t c = 0; c < cfg_.hidden_size; ++c) h(i, c) = P::r(static_cast<T>(row[c]));
    } else if (w_.stored) {
      convert_rows<P>(w_.stored->embed, id, 1, h.data() + i * cfg_.hidden_size);  // h is row-major
      w_.stored->embed.release_rows(id, 1);
    } else {
      h.row(i) = w_.embed.row_values(id).transpose();
    }
  }
  if (opt.head_seconds) *opt.head_seconds += seconds_since(t0);
  if (trace) trace->layers.assign(static_cast<std::size_t>(cfg_.num_hidden_layers), {});
  for (int64_t l = cfg_.first_layer(); l < cfg_.end_layer(); ++l) {
    const auto li = static_cast<std::size_t>(l);                       // absolute: cache, trace, constants
    const auto wi = static_cast<std::size_t>(l - cfg_.first_layer());  // the run's weights
    t0 = SteadyClock::now();
    // Streamed: this layer's matrices converted now and dropped after it (its experts inside moe()).
    const LayerWeights<T> streamed = w_.stored ? streamed_layer<P>(w_.layers[wi], w_.stored->layers[wi]) : LayerWeights<T>{};
    h = decoder_layer<P>(h, w_.stored ? streamed : w_.layers[wi], cfg_, static_cast<int>(l), cache.layers[li], opt.cont,
                         trace ? &trace->layers[li] : nullptr);
    if (opt.after_layer) {
      opt.after_layer(static_cast<int>(l), h);
      if (trace) trace->layers[li].output = h;
    }
    if (opt.layer_seconds) opt.layer_seconds->push_back(seconds_since(t0));
  }
  // Streamed: the layers' converted matrices are gone; the heap's free pages go back to the system before
  // the lm_head is converted, so the head's memory is not added to the last layer's leftovers (the resident
  // set follows what the run holds: harness/run_memory.h). Once per step: the next step's first layer
  // faults them in again. Resident models keep the allocator as it is (nothing large is freed).
  if (w_.stored) release_free_heap();
  cache.position += S;
  if (opt.hidden_out) *opt.hidden_out = h;
  if (!cfg_.runs_head()) return Mat<T>(0, cfg_.vocab_size);
  t0 = SteadyClock::now();
  // Final norm on every row (or, when neither all logits nor a trace need them, on row S-1), then the
  // lm_head on all rows or on the last one: bf16 GEMM, then .float() (exact).
  const bool all_rows = !opt.last_row_only;
  Mat<T> n = rmsnorm<P>(h.bottomRows(all_rows || trace ? S : 1), w_.final_norm, cfg_.rms_norm_eps);
  const Mat<T> head_in = n.bottomRows(all_rows ? n.rows() : 1);
  Mat<T> logits = !w_.stored                   ? linear<P>(head_in, w_.lm_head)
                  : w_.stored->lm_head_tied ? streamed_head<P>(head_in, w_.stored->embed)
                                            : streamed_head<P>(head_in, w_.stored->lm_head);
  if (opt.head_seconds) *opt.head_seconds += seconds_since(t0);
  if (trace) trace->final_norm = std::move(n);
  return logits;
}

template ModelWeights<double> load_weights<F64>(const Checkpoint&, const ModelConfig&);
template ModelWeights<float> load_weights<F32>(const Checkpoint&, const ModelConfig&);
template ModelWeights<float> load_weights<BF16>(const Checkpoint&, const ModelConfig&);
template ModelWeights<double> load_weights<F64>(std::shared_ptr<const Checkpoint>, const ModelConfig&, WeightResidency);
template ModelWeights<float> load_weights<F32>(std::shared_ptr<const Checkpoint>, const ModelConfig&, WeightResidency);
template ModelWeights<float> load_weights<BF16>(std::shared_ptr<const Checkpoint>, const ModelConfig&, WeightResidency);
template class Model<F64>;
template class Model<F32>;
template class Model<BF16>;

}  // namespace mm::ref
