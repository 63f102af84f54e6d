// The reference model as a harness backend: a thin adapter over ref::Model::forward, the one layer
// loop of the reference (its ForwardOptions carry the harness's hook, per-layer timing and last-row
// logits; its trace the captured sub-outputs). This file only converts to and from harness tensors.
#include "harness/ref_backend.h"

#include <algorithm>
#include <cstring>

#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "harness/tensor_id.h"
#include "reference/model.h"
#include "reference/vl_model.h"

namespace mm::harness {
namespace {

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

// A MiniMax-VL-01 checkpoint loads as a VlModel (vision tower + projector + the text model), anything
// else as the text model alone.
// The text model's matrices resident, held in bf16 or streamed from the open checkpoint (m.weights);
// the vision tower is small (0.3B parameters) and always resident.
template <class P> std::unique_ptr<ref::VlModel<P>> load_vl_model(const LoadedModel& m) {
  if (!m.vl) return nullptr;
  const auto ck = std::make_shared<const Checkpoint>(m.dir);
  auto text = ref::load_weights<P>(ck, m.config, m.weights);
  return std::make_unique<ref::VlModel<P>>(*m.vl, std::move(text), ref::load_vl_weights<P>(*ck, *m.vl));
}
template <class P> std::unique_ptr<ref::Model<P>> load_text_model(const LoadedModel& m) {
  if (m.vl) return nullptr;
  return std::make_unique<ref::Model<P>>(m.config,
                                         ref::load_weights<P>(std::make_shared<const Checkpoint>(m.dir), m.config, m.weights));
}

template <class P> class RefBackend final : public Backend {
 public:
  using T = typename P::T;
  explicit RefBackend(const LoadedModel& m)
      : vl_(load_vl_model<P>(m)), text_(load_text_model<P>(m)), model_(vl_ ? vl_->mutable_text() : *text_),
        cfg_(model_.config()) {
    reset();
  }
  std::string name() const override { return P::kName; }
  Precision precision() const override {
    return std::is_same_v<P, ref::F64> ? Precision::F64 : std::is_same_v<P, ref::F32> ? Precision::F32 : Precision::BF16;
  }
  // ref-bf16 keeps bf16 values in float storage: it moves 4 bytes per element. Weights held in bf16
  // (--weights bf16): 2, the bytes of a weight, which are what the count is made of (a decode step reads
  // every weight it uses and a few rows of activations; the activations, still fp32, are undercounted, as
  // are a VL model's vision tower, which stays fp32, and a prefill's fp32 copies of the weights).
  int bytes_per_element() const override {
    return model_.residency() == WeightResidency::Bf16 ? 2 : static_cast<int>(sizeof(T));
  }
  const ModelConfig& config() const override { return cfg_; }
  void reset() override { cache_ = model_.new_cache(); }

  StepResult step(const ModelInput& in, const StepRequest& req) override {
    StepResult out;
    ref::ForwardTrace<T> tr;
    ref::ForwardOptions<T> opt;
    opt.last_row_only = !req.all_logits;
    if (req.time_layers) {
      opt.layer_seconds = &out.layer_seconds;
      opt.head_seconds = &out.head_seconds;
    }
    ref::Mat<T> hidden_out;
    if (cfg_.is_slice() && req.hidden_out) opt.hidden_out = &hidden_out;
    std::vector<double> buf;
    if (req.after_layer)  // the hook sees (and may change) the layer output in doubles
      opt.after_layer = [&](int l, ref::Mat<T>& h) {
        buf.assign(h.data(), h.data() + h.size());
        req.after_layer(l, h.rows(), h.cols(), buf.data());
        for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = static_cast<T>(buf[static_cast<std::size_t>(i)]);
      };
    std::vector<double> vbuf;
    ref::VisionOptions<T> vopt;
    if (req.after_vision_layer)  // the same for the vision tower: doubles in, the backend's scalar back
      vopt.after_layer = [&](int l, int64_t crop, ref::Mat<T>& h) {
        vbuf.assign(h.data(), h.data() + h.size());
        req.after_vision_layer(l, crop, h.rows(), h.cols(), vbuf.data());
        for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = static_cast<T>(vbuf[static_cast<std::size_t>(i)]);
      };
    ref::VlTrace<T> vt;
    const bool images = !in.images.empty();
    require(!images || vl_, "backend " + name() + ": images need a MiniMax-VL-01 checkpoint; this one is a text model");
    const auto t0 = SteadyClock::now();
    const ref::Mat<T> logits = vl_ ? vl_->forward(in, cache_, req.capture ? &tr : nullptr, opt, req.capture ? &vt : nullptr, vopt)
                                   : model_.forward(in, cache_, req.capture ? &tr : nullptr, opt);
    // VlModel::forward runs the images (input check, vision tower on every crop, projector, packing,
    // splice copy) and then the text model, which times itself in full (its layers + the head): the rest
    // of the call is the images' part.
    if (req.time_layers && images) {
      double text = out.head_seconds;
      for (double s : out.layer_seconds) text += s;
      out.vision_seconds = std::max(0.0, seconds_since(t0) - text);
    }
    out.logits = to_tensor(logits);
    if (opt.hidden_out) out.hidden_out = to_tensor(hidden_out);
    if (req.capture && images) {
      ref::for_each_tensor<T>(vt.vision, [&](const std::string& n, const ref::Mat<T>& m) { out.tensors[n] = to_tensor(m); });
      out.tensors[TensorId::vision("features").name()] = to_tensor(vt.features);
      out.tensors[TensorId::projector("output").name()] = to_tensor(vt.projector);
      out.tensors[TensorId::projector("image_features").name()] = to_tensor(vt.image_features);
    }
    if (req.capture) {
      const int k = static_cast<int>(cfg_.num_experts_per_tok);
      for (int64_t l = cfg_.first_layer(); l < cfg_.end_layer(); ++l) {
        const auto& t = tr.layers[static_cast<std::size_t>(l)];
        const auto p = [l](const char* kind) { return TensorId::decoder(static_cast<int>(l), kind).name(); };
        out.tensors[p("attn_out")] = to_tensor(t.attn_out);
        out.tensors[p("moe_out")] = to_tensor(t.moe_out);
        out.tensors[p("output")] = to_tensor(t.output);
        out.tensors[p("router_logits")] = to_tensor(t.router.logits);
        out.tensors[p("router_probs")] = to_tensor(t.router.probs);
        out.tensors[p("router_experts")] = router_ids(t.router, k);
        if (cfg_.layer_types[static_cast<std::size_t>(l)] == LayerType::Lightning)
          out.tensors[p("lightning_attn")] = to_tensor(t.lightning.attn);
      }
      if (cfg_.runs_head()) out.tensors[TensorId::head("final_norm").name()] = to_tensor(tr.final_norm);
    }
    return out;
  }

  TensorMap caches() const override {
    TensorMap m;
    const int64_t d = cfg_.head_dim;
    for (int64_t l = cfg_.first_layer(); l < cfg_.end_layer(); ++l) {
      const auto p = [l](const char* kind) { return TensorId::decoder(static_cast<int>(l), kind).name(); };
      const auto& lc = cache_.layers[static_cast<std::size_t>(l)];
      if (cfg_.layer_types[static_cast<std::size_t>(l)] == LayerType::Lightning) {
        Tensor t;
        t.shape = {cfg_.num_attention_heads, d, d};
        for (const auto& s : lc.lightning.state) t.values.insert(t.values.end(), s.data(), s.data() + s.size());
        if (lc.lightning.state.empty()) t.values.assign(static_cast<std::size_t>(t.numel()), 0.0);
        m[p("lightning_state")] = std::move(t);
      } else {
        Tensor tk = to_tensor(lc.kv.k), tv = to_tensor(lc.kv.v);
        tk.shape = tv.shape = {lc.kv.length(), cfg_.num_key_value_heads, d};
        m[p("k_cache")] = std::move(tk);
        m[p("v_cache")] = std::move(tv);
      }
    }
    return m;
  }

  // Flips the top exponent bit of one element of a seeded layer's input_layernorm weight (read by
  // every token): the value becomes huge, Inf or NaN, an error no rounding can explain.
  std::string corrupt_weight(uint64_t seed) override {
    restore_weights();
    Rng rng(seed);
    flipped_layer_ = cfg_.first_layer() + static_cast<int64_t>(rng.below(cfg_.run_layer_count()));
    auto& w = model_.mutable_weights().layers[run_index(flipped_layer_)].input_norm;
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
    model_.mutable_weights().layers[run_index(flipped_layer_)].input_norm(flipped_index_) = saved_;
    flipped_layer_ = -1;
  }

 private:
  std::size_t run_index(int64_t layer) const { return static_cast<std::size_t>(layer - cfg_.first_layer()); }
  std::unique_ptr<ref::VlModel<P>> vl_;    // a VL checkpoint: the whole model
  std::unique_ptr<ref::Model<P>> text_;    // a text checkpoint
  ref::Model<P>& model_;                   // the text model of either
  const ModelConfig& cfg_;  // model_'s
  ref::ModelCache<T> cache_;
  int64_t flipped_layer_ = -1, flipped_index_ = 0;
  T saved_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_ref_backend(Precision precision, const LoadedModel& m) {
  switch (precision) {
    case Precision::F64: return std::make_unique<RefBackend<ref::F64>>(m);
    case Precision::F32: return std::make_unique<RefBackend<ref::F32>>(m);
    case Precision::BF16: return std::make_unique<RefBackend<ref::BF16>>(m);
  }
  throw Error("make_ref_backend: unknown precision class");
}

}  // namespace mm::harness
