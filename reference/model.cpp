#include "reference/model.h"

#include "core/error.h"
#include "reference/linear.h"
#include "reference/rmsnorm.h"

namespace mm::ref {
namespace {

// Copies a checkpoint tensor (any float dtype) into a row-major matrix of the precision's scalar.
template <class P>
Mat<typename P::T> to_mat(const TensorInfo& t, int64_t rows, int64_t cols, std::size_t offset = 0) {
  using T = typename P::T;
  std::vector<double> all = read_f64(t);
  Mat<T> m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const double v = all[offset + static_cast<std::size_t>(i)];
    m.data()[i] = P::kBf16 ? round_bf16(static_cast<float>(v)) : static_cast<T>(v);
  }
  return m;
}
template <class P>
Vec<typename P::T> to_vec(const TensorInfo& t) {
  Mat<typename P::T> m = to_mat<P>(t, 1, t.numel());
  return m.row(0).transpose();
}

}  // namespace

template <class P>
ModelWeights<typename P::T> load_weights(const Checkpoint& ck, const ModelConfig& c) {
  // Refuse a model this machine cannot hold before allocating any of it (a clear error, not bad_alloc).
  constexpr uint64_t kBytes = sizeof(typename P::T);
  require_memory(estimate_model_bytes(c, kBytes, kBytes),
                 c.source + ": the reference model (" + std::to_string(8 * kBytes) + "-bit weights and state)");
  ModelWeights<typename P::T> w;
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, E = c.num_local_experts;
  const int64_t inner = c.inner_dim(), kvd = c.kv_dim();
  // VL-01 stores the text model under language_model.
  const std::string pre = ck.find("model.embed_tokens.weight") ? "" :
                          ck.find("language_model.model.embed_tokens.weight") ? "language_model." : "";
  auto get = [&](const std::string& n, std::vector<int64_t> shape) -> const TensorInfo& { return ck.get(pre + n, shape); };

  w.embed = to_mat<P>(get("model.embed_tokens.weight", {V, H}), V, H);
  w.final_norm = to_vec<P>(get("model.norm.weight", {H}));
  if (ck.find(pre + "lm_head.weight") || !c.tie_word_embeddings) w.lm_head = to_mat<P>(get("lm_head.weight", {V, H}), V, H);
  else w.lm_head = w.embed;

  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights<typename P::T> L;
    L.type = c.layer_types[static_cast<std::size_t>(l)];
    L.input_norm = to_vec<P>(get(p + "input_layernorm.weight", {H}));
    L.post_norm = to_vec<P>(get(p + "post_attention_layernorm.weight", {H}));
    if (L.type == LayerType::Lightning) {
      L.lightning.qkv = to_mat<P>(get(p + "self_attn.qkv_proj.weight", {3 * inner, H}), 3 * inner, H);
      L.lightning.gate = to_mat<P>(get(p + "self_attn.output_gate.weight", {inner, H}), inner, H);
      L.lightning.norm = to_vec<P>(get(p + "self_attn.norm.weight", {inner}));
      L.lightning.out = to_mat<P>(get(p + "self_attn.out_proj.weight", {H, inner}), H, inner);
    } else {
      L.softmax.q = to_mat<P>(get(p + "self_attn.q_proj.weight", {inner, H}), inner, H);
      L.softmax.k = to_mat<P>(get(p + "self_attn.k_proj.weight", {kvd, H}), kvd, H);
      L.softmax.v = to_mat<P>(get(p + "self_attn.v_proj.weight", {kvd, H}), kvd, H);
      L.softmax.o = to_mat<P>(get(p + "self_attn.o_proj.weight", {H, inner}), H, inner);
    }
    L.moe.experts.resize(static_cast<std::size_t>(E));
    if (ck.find(pre + p + "block_sparse_moe.gate.weight") || !ck.find(pre + p + "mlp.gate.weight")) {
      L.moe.gate = to_mat<P>(get(p + "block_sparse_moe.gate.weight", {E, H}), E, H);
      for (int64_t e = 0; e < E; ++e) {
        const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        auto& X = L.moe.experts[static_cast<std::size_t>(e)];
        X.w1 = to_mat<P>(get(q + "w1.weight", {I, H}), I, H);
        X.w3 = to_mat<P>(get(q + "w3.weight", {I, H}), I, H);
        X.w2 = to_mat<P>(get(q + "w2.weight", {H, I}), H, I);
      }
    } else {  // HF v5 fused layout: gate_up_proj [E, 2I, H] (rows 0..I-1 = w1, I..2I-1 = w3), down_proj [E, H, I]
      L.moe.gate = to_mat<P>(get(p + "mlp.gate.weight", {E, H}), E, H);
      const TensorInfo& gu = get(p + "mlp.experts.gate_up_proj", {E, 2 * I, H});
      const TensorInfo& dn = get(p + "mlp.experts.down_proj", {E, H, I});
      for (int64_t e = 0; e < E; ++e) {
        auto& X = L.moe.experts[static_cast<std::size_t>(e)];
        const std::size_t base = static_cast<std::size_t>(e * 2 * I * H);
        X.w1 = to_mat<P>(gu, I, H, base);
        X.w3 = to_mat<P>(gu, I, H, base + static_cast<std::size_t>(I * H));
        X.w2 = to_mat<P>(dn, H, I, static_cast<std::size_t>(e * H * I));
      }
    }
    w.layers.push_back(std::move(L));
  }
  ck.require_all_used(pre.empty() ? std::vector<std::string>{} : vl_non_text_prefixes());
  return w;
}

template <class P>
ModelCache<typename P::T> Model<P>::new_cache() const {
  ModelCache<T> c;
  c.layers.resize(static_cast<std::size_t>(cfg_.num_hidden_layers));
  return c;
}

template <class P>
Mat<typename P::T> Model<P>::forward(const std::vector<int64_t>& tokens, ModelCache<T>& cache, ForwardTrace<T>* trace,
                                     Continuation cont) const {
  require(!tokens.empty(), "forward: empty token list (the prompt must have at least one token)");
  require(cache.layers.size() == static_cast<std::size_t>(cfg_.num_hidden_layers),
          "forward: cache has " + std::to_string(cache.layers.size()) + " layers, expected " +
              std::to_string(cfg_.num_hidden_layers) + " (use Model::new_cache)");
  const int64_t S = static_cast<int64_t>(tokens.size());
  require(cache.position + S <= cfg_.max_position_embeddings,
          "forward: position " + std::to_string(cache.position + S) + " exceeds max_position_embeddings = " +
              std::to_string(cfg_.max_position_embeddings));
  Mat<T> h(S, cfg_.hidden_size);
  for (int64_t i = 0; i < S; ++i) {
    const int64_t id = tokens[static_cast<std::size_t>(i)];
    if (id < 0 || id >= cfg_.vocab_size)
      throw Error("forward: token id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " is out of range [0, vocab_size = " + std::to_string(cfg_.vocab_size) + ")" +
                  (cache.position ? " (absolute position " + std::to_string(cache.position + i) + ")" : ""));
    h.row(i) = w_.embed.row(id);
  }
  if (trace) trace->layers.assign(static_cast<std::size_t>(cfg_.num_hidden_layers), {});
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    const auto li = static_cast<std::size_t>(l);
    h = decoder_layer<P>(h, w_.layers[li], cfg_, static_cast<int>(l), cache.layers[li], cont,
                         trace ? &trace->layers[li] : nullptr);
  }
  cache.position += S;
  Mat<T> n = rmsnorm<P>(h, w_.final_norm, cfg_.rms_norm_eps);
  Mat<T> logits = linear<P>(n, w_.lm_head);  // bf16 GEMM, then .float() (exact)
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
