#include "reference/model.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/text_weights.h"
#include "reference/linear.h"
#include "reference/rmsnorm.h"
#include "reference/weight_block.h"

namespace mm::ref {

template <class P>
ModelWeights<typename P::T> load_weights(const Checkpoint& ck, const ModelConfig& c) {
  // Refuse a model this machine cannot hold before allocating any of it (a clear error, not bad_alloc).
  constexpr uint64_t kBytes = sizeof(typename P::T);
  require_memory(estimate_model_bytes(c, kBytes, kBytes),
                 c.source + ": the reference model (" + std::to_string(8 * kBytes) + "-bit weights and state)");
  const TextWeightMap m = map_text_weights(ck, c);
  ModelWeights<typename P::T> w;
  w.embed = to_mat<P>(m.embed);
  w.final_norm = to_vec<P>(m.final_norm);
  w.lm_head = m.lm_head_tied ? w.embed : to_mat<P>(m.lm_head);
  for (const TextLayerWeightMap& M : m.layers) {
    LayerWeights<typename P::T> L;
    L.type = M.type;
    L.input_norm = to_vec<P>(M.input_norm);
    L.post_norm = to_vec<P>(M.post_norm);
    if (L.type == LayerType::Lightning) {
      L.lightning.qkv = to_mat<P>(M.qkv);
      L.lightning.gate = to_mat<P>(M.gate);
      L.lightning.norm = to_vec<P>(M.norm);
      L.lightning.out = to_mat<P>(M.out);
    } else {
      L.softmax.q = to_mat<P>(M.q);
      L.softmax.k = to_mat<P>(M.k);
      L.softmax.v = to_mat<P>(M.v);
      L.softmax.o = to_mat<P>(M.o);
    }
    L.moe.gate = to_mat<P>(M.router);
    for (std::size_t e = 0; e < M.w1.size(); ++e)
      L.moe.experts.push_back({to_mat<P>(M.w1[e]), to_mat<P>(M.w3[e]), to_mat<P>(M.w2[e])});
    w.layers.push_back(std::move(L));
  }
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
  // Token embeddings; image placeholders take the spliced rows instead, in order, cast to the
  // embedding's precision (docs/semantics/vl-01-vision.md#splicing).
  int64_t next_spliced = 0;
  for (int64_t i = 0; i < S; ++i) {
    const int64_t id = in.tokens[static_cast<std::size_t>(i)];
    if (!in.spliced.empty() && id == in.spliced.token_id) {
      const double* row = in.spliced.values.data() + next_spliced++ * in.spliced.cols;
      for (int64_t c = 0; c < cfg_.hidden_size; ++c) h(i, c) = P::r(static_cast<T>(row[c]));
    } else {
      h.row(i) = w_.embed.row(id);
    }
  }
  if (opt.head_seconds) *opt.head_seconds += seconds_since(t0);
  if (trace) trace->layers.assign(static_cast<std::size_t>(cfg_.num_hidden_layers), {});
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    const auto li = static_cast<std::size_t>(l);
    t0 = SteadyClock::now();
    h = decoder_layer<P>(h, w_.layers[li], cfg_, static_cast<int>(l), cache.layers[li], opt.cont,
                         trace ? &trace->layers[li] : nullptr);
    if (opt.after_layer) {
      opt.after_layer(static_cast<int>(l), h);
      if (trace) trace->layers[li].output = h;
    }
    if (opt.layer_seconds) opt.layer_seconds->push_back(seconds_since(t0));
  }
  cache.position += S;
  t0 = SteadyClock::now();
  // Final norm on every row (or, when neither all logits nor a trace need them, on row S-1), then the
  // lm_head on all rows or on the last one: bf16 GEMM, then .float() (exact).
  const bool all_rows = !opt.last_row_only;
  Mat<T> n = rmsnorm<P>(h.bottomRows(all_rows || trace ? S : 1), w_.final_norm, cfg_.rms_norm_eps);
  Mat<T> logits = linear<P>(n.bottomRows(all_rows ? n.rows() : 1), w_.lm_head);
  if (opt.head_seconds) *opt.head_seconds += seconds_since(t0);
  if (trace) trace->final_norm = std::move(n);
  return logits;
}

template ModelWeights<double> load_weights<F64>(const Checkpoint&, const ModelConfig&);
template ModelWeights<float> load_weights<F32>(const Checkpoint&, const ModelConfig&);
template ModelWeights<float> load_weights<BF16>(const Checkpoint&, const ModelConfig&);
template class Model<F64>;
template class Model<F32>;
template class Model<BF16>;

}  // namespace mm::ref
