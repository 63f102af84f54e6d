// The reference model driven layer by layer (the same calls, in the same order, as ref::Model::forward:
// embedding rows, decoder_layer per layer with the Recurrent continuation, final RMSNorm, lm_head), so
// the harness can time each layer, capture its sub-outputs and run a hook between layers. The golden
// tests run through this path, so any drift from Model::forward shows up there. With all_logits = false
// the final RMSNorm and lm_head run on the last row only (both are row by row, so that row's values are
// Model::forward's up to the lm_head's summation order: BLAS takes a matrix-vector product for one row).
#include "harness/ref_backend.h"

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "reference/linear.h"
#include "reference/model.h"
#include "reference/rmsnorm.h"

namespace mm::harness {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <class T> Tensor to_tensor(const ref::Mat<T>& m) {
  Tensor t;
  t.shape = {m.rows(), m.cols()};
  t.values.assign(m.data(), m.data() + m.size());
  return t;
}

template <class T> Tensor router_ids(const ref::RouterChoice<T>& r, int k) {
  Tensor t;
  t.shape = {static_cast<int64_t>(r.ids.size()), k};
  for (const auto& row : r.ids)
    for (int j = 0; j < k; ++j) t.values.push_back(row[static_cast<std::size_t>(j)]);
  return t;
}

template <class P> class RefBackend final : public Backend {
 public:
  using T = typename P::T;
  explicit RefBackend(const LoadedModel& m) : cfg_(m.config), w_(ref::load_weights<P>(Checkpoint(m.dir), m.config)) {
    reset();
  }
  std::string name() const override { return P::kName; }
  std::string precision() const override {
    return std::is_same_v<P, ref::F64> ? "f64" : std::is_same_v<P, ref::F32> ? "f32" : "bf16";
  }
  // ref-bf16 keeps bf16 values in float storage: it moves 4 bytes per element.
  int bytes_per_element() const override { return static_cast<int>(sizeof(T)); }
  const ModelConfig& config() const override { return cfg_; }
  void reset() override {
    cache_ = {};
    cache_.layers.resize(static_cast<std::size_t>(cfg_.num_hidden_layers));
  }

  StepResult step(const std::vector<int64_t>& tokens, const StepRequest& req) override {
    require(!tokens.empty(), "forward: empty token list (the prompt must have at least one token)");
    const int64_t S = static_cast<int64_t>(tokens.size()), H = cfg_.hidden_size;
    require(cache_.position + S <= cfg_.max_position_embeddings,
            "forward: position " + std::to_string(cache_.position + S) + " exceeds max_position_embeddings = " +
                std::to_string(cfg_.max_position_embeddings));
    StepResult out;
    auto t0 = Clock::now();
    ref::Mat<T> h(S, H);
    for (int64_t i = 0; i < S; ++i) {
      const int64_t id = tokens[static_cast<std::size_t>(i)];
      if (id < 0 || id >= cfg_.vocab_size)
        throw Error("forward: token id " + std::to_string(id) + " at position " + std::to_string(i) +
                    " is out of range [0, vocab_size = " + std::to_string(cfg_.vocab_size) + ")");
      h.row(i) = w_.embed.row(id);
    }
    if (req.time_layers) out.head_seconds += since(t0);
    const int k = static_cast<int>(cfg_.num_experts_per_tok);
    std::vector<double> buf;
    for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
      const auto li = static_cast<std::size_t>(l);
      ref::LayerTrace<T> tr;
      t0 = Clock::now();
      h = ref::decoder_layer<P>(h, w_.layers[li], cfg_, static_cast<int>(l), cache_.layers[li],
                                ref::Continuation::Recurrent, req.capture ? &tr : nullptr);
      if (req.after_layer) {  // the hook sees (and may change) the layer output in doubles
        buf.assign(h.data(), h.data() + h.size());
        req.after_layer(static_cast<int>(l), S, H, buf.data());
        for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = static_cast<T>(buf[static_cast<std::size_t>(i)]);
      }
      if (req.time_layers) out.layer_seconds.push_back(since(t0));
      if (req.capture) {
        const std::string p = "layers." + std::to_string(l) + ".";
        out.tensors[p + "attn_out"] = to_tensor(tr.attn_out);
        out.tensors[p + "moe_out"] = to_tensor(tr.moe_out);
        out.tensors[p + "output"] = to_tensor(h);
        out.tensors[p + "router_logits"] = to_tensor(tr.router.logits);
        out.tensors[p + "router_probs"] = to_tensor(tr.router.probs);
        out.tensors[p + "router_experts"] = router_ids(tr.router, k);
        if (w_.layers[li].type == LayerType::Lightning) out.tensors[p + "lightning_attn"] = to_tensor(tr.lightning.attn);
      }
    }
    cache_.position += S;
    t0 = Clock::now();
    // Final norm on every row (or, when neither all logits nor the capture need them, on row S-1), then
    // the lm_head on all rows or on the last one.
    const ref::Mat<T> n = ref::rmsnorm<P>(h.bottomRows(req.all_logits || req.capture ? S : 1), w_.final_norm,
                                          cfg_.rms_norm_eps);
    const ref::Mat<T> logits = ref::linear<P>(n.bottomRows(req.all_logits ? n.rows() : 1), w_.lm_head);
    if (req.time_layers) out.head_seconds += since(t0);
    out.logits = to_tensor(logits);
    if (req.capture) out.tensors["final_norm"] = to_tensor(n);
    return out;
  }

  TensorMap caches() const override {
    TensorMap m;
    const int64_t d = cfg_.head_dim;
    for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      const auto& lc = cache_.layers[static_cast<std::size_t>(l)];
      if (cfg_.layer_types[static_cast<std::size_t>(l)] == LayerType::Lightning) {
        Tensor t;
        t.shape = {cfg_.num_attention_heads, d, d};
        for (const auto& s : lc.lightning.state) t.values.insert(t.values.end(), s.data(), s.data() + s.size());
        if (lc.lightning.state.empty()) t.values.assign(static_cast<std::size_t>(t.numel()), 0.0);
        m[p + "lightning_state"] = std::move(t);
      } else {
        Tensor tk = to_tensor(lc.kv.k), tv = to_tensor(lc.kv.v);
        tk.shape = tv.shape = {lc.kv.length(), cfg_.num_key_value_heads, d};
        m[p + "k_cache"] = std::move(tk);
        m[p + "v_cache"] = std::move(tv);
      }
    }
    return m;
  }

  // Flips the top exponent bit of one element of a seeded layer's input_layernorm weight (read by
  // every token): the value becomes huge, Inf or NaN, an error no rounding can explain.
  std::string corrupt_weight(uint64_t seed) override {
    restore_weights();
    Rng rng(seed);
    flipped_layer_ = rng.below(cfg_.num_hidden_layers);
    auto& w = w_.layers[static_cast<std::size_t>(flipped_layer_)].input_norm;
    flipped_index_ = rng.below(w.size());
    T& v = w(flipped_index_);
    saved_ = v;
    if constexpr (sizeof(T) == 8) {
      uint64_t u;
      std::memcpy(&u, &v, 8);
      u ^= 1ull << 62;
      std::memcpy(&v, &u, 8);
    } else {
      uint32_t u;
      std::memcpy(&u, &v, 4);
      u ^= 1u << 30;
      std::memcpy(&v, &u, 4);
    }
    return "bit 62/30 (exponent MSB) of model.layers." + std::to_string(flipped_layer_) +
           ".input_layernorm.weight[" + std::to_string(flipped_index_) + "]";
  }
  void restore_weights() override {
    if (flipped_layer_ < 0) return;
    w_.layers[static_cast<std::size_t>(flipped_layer_)].input_norm(flipped_index_) = saved_;
    flipped_layer_ = -1;
  }

 private:
  ModelConfig cfg_;
  ref::ModelWeights<T> w_;
  ref::ModelCache<T> cache_;
  int64_t flipped_layer_ = -1, flipped_index_ = 0;
  T saved_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_ref_backend(const std::string& precision, const LoadedModel& m) {
  if (precision == "f64") return std::make_unique<RefBackend<ref::F64>>(m);
  if (precision == "f32") return std::make_unique<RefBackend<ref::F32>>(m);
  if (precision == "bf16") return std::make_unique<RefBackend<ref::BF16>>(m);
  throw Error("make_ref_backend: unknown precision '" + precision + "'");
}

}  // namespace mm::harness
