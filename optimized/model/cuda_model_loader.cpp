#include "optimized/model/cuda_model_loader.h"

#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "reference/slopes.h"

namespace mm::cuda_model {
namespace {

std::vector<uint16_t> bf16_of(const TensorInfo& t, size_t offset = 0, size_t count = 0) {
  const std::vector<double> all = read_f64(t);
  if (!count) count = all.size() - offset;
  std::vector<uint16_t> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = f32_to_bf16_bits(static_cast<float>(all[offset + i]));
  return out;
}

}  // namespace

HostWeights load_host_weights(const ModelConfig& c, const Checkpoint& ck) {
  // The host copy holds every weight in bf16 (2 bytes each); refuse before allocating what cannot fit.
  require_memory(estimate_model_bytes(c, 2, 0), c.source + ": the kernels' host copy of the weights (bf16)");
  HostWeights w;
  Dims& d = w.dims;
  d.V = static_cast<int>(c.vocab_size); d.H = static_cast<int>(c.hidden_size); d.I = static_cast<int>(c.intermediate_size);
  d.L = static_cast<int>(c.num_hidden_layers); d.nh = static_cast<int>(c.num_attention_heads);
  d.nkv = static_cast<int>(c.num_key_value_heads); d.d = static_cast<int>(c.head_dim); d.rd = static_cast<int>(c.rotary_dim);
  d.E = static_cast<int>(c.num_local_experts); d.k = static_cast<int>(c.num_experts_per_tok);
  d.block = static_cast<int>(c.block_size); d.max_pos = c.max_position_embeddings;
  d.theta = c.rope_theta; d.rms_eps = c.rms_norm_eps; d.lightning_eps = c.lightning_norm_eps; d.postnorm = c.postnorm;
  d.alpha_linear = c.alpha_linear; d.beta_linear = c.beta_linear; d.alpha_full = c.alpha_full; d.beta_full = c.beta_full;
  d.alpha_mlp = c.alpha_mlp; d.beta_mlp = c.beta_mlp;
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, E = c.num_local_experts;
  const int64_t inner = c.inner_dim(), kvd = c.kv_dim();
  const std::string pre = ck.find("model.embed_tokens.weight") ? "" :
                          ck.find("language_model.model.embed_tokens.weight") ? "language_model." : "";
  auto get = [&](const std::string& n, std::vector<int64_t> shape) -> const TensorInfo& { return ck.get(pre + n, shape); };
  w.embed = bf16_of(get("model.embed_tokens.weight", {V, H}));
  w.final_norm = bf16_of(get("model.norm.weight", {H}));
  if (ck.find(pre + "lm_head.weight") || !c.tie_word_embeddings) w.lm_head = bf16_of(get("lm_head.weight", {V, H}));
  else w.lm_head = w.embed;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const bool soft = c.layer_types[static_cast<size_t>(l)] == LayerType::Softmax;
    d.softmax.push_back(soft ? 1 : 0);
    std::vector<float> s;
    if (!soft)
      for (double x : ref::lightning_slopes(d.nh, static_cast<int>(l), d.L)) s.push_back(static_cast<float>(x));
    d.slopes.push_back(std::move(s));
    LayerHostWeights L;
    L.input_norm = bf16_of(get(p + "input_layernorm.weight", {H}));
    L.post_norm = bf16_of(get(p + "post_attention_layernorm.weight", {H}));
    if (!soft) {
      L.qkv = bf16_of(get(p + "self_attn.qkv_proj.weight", {3 * inner, H}));
      L.gate = bf16_of(get(p + "self_attn.output_gate.weight", {inner, H}));
      L.norm = bf16_of(get(p + "self_attn.norm.weight", {inner}));
      L.out = bf16_of(get(p + "self_attn.out_proj.weight", {H, inner}));
    } else {
      L.q = bf16_of(get(p + "self_attn.q_proj.weight", {inner, H}));
      L.k = bf16_of(get(p + "self_attn.k_proj.weight", {kvd, H}));
      L.v = bf16_of(get(p + "self_attn.v_proj.weight", {kvd, H}));
      L.o = bf16_of(get(p + "self_attn.o_proj.weight", {H, inner}));
    }
    if (ck.find(pre + p + "block_sparse_moe.gate.weight") || !ck.find(pre + p + "mlp.gate.weight")) {
      L.router = bf16_of(get(p + "block_sparse_moe.gate.weight", {E, H}));
      for (int64_t e = 0; e < E; ++e) {
        const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
        auto a = bf16_of(get(q + "w1.weight", {I, H})), b = bf16_of(get(q + "w3.weight", {I, H})),
             x = bf16_of(get(q + "w2.weight", {H, I}));
        L.w1.insert(L.w1.end(), a.begin(), a.end());
        L.w3.insert(L.w3.end(), b.begin(), b.end());
        L.w2.insert(L.w2.end(), x.begin(), x.end());
      }
    } else {  // HF v5: gate_up_proj [E, 2I, H] (w1 rows then w3 rows), down_proj [E, H, I]
      L.router = bf16_of(get(p + "mlp.gate.weight", {E, H}));
      const auto gu = bf16_of(get(p + "mlp.experts.gate_up_proj", {E, 2 * I, H}));
      L.w2 = bf16_of(get(p + "mlp.experts.down_proj", {E, H, I}));
      const size_t blk = static_cast<size_t>(I * H);
      for (int64_t e = 0; e < E; ++e) {
        const auto base = gu.begin() + static_cast<std::ptrdiff_t>(2 * blk * static_cast<size_t>(e));
        L.w1.insert(L.w1.end(), base, base + static_cast<std::ptrdiff_t>(blk));
        L.w3.insert(L.w3.end(), base + static_cast<std::ptrdiff_t>(blk), base + static_cast<std::ptrdiff_t>(2 * blk));
      }
    }
    w.layers.push_back(std::move(L));
  }
  ck.require_all_used(pre.empty() ? std::vector<std::string>{} : vl_non_text_prefixes());
  return w;
}

std::string unavailable_reason(const std::string& backend) {
  if (backend == "cuda-sim") return "";
  if (backend == "cuda") {
#if defined(MM_HAVE_CUDA_BUILD)
    return cuda_device_present() ? "" : "no CUDA device";
#else
    return "no CUDA device (this build has no nvcc build of the kernels)";
#endif
  }
  return "unknown CUDA backend '" + backend + "' (expected cuda or cuda-sim)";
}

std::unique_ptr<Model> open_model(const std::string& backend, const ModelConfig& cfg, const std::string& dir) {
  const std::string why = unavailable_reason(backend);
  if (!why.empty()) throw Error("backend '" + backend + "' is not available: " + why);
  Checkpoint ck(dir);
  HostWeights w = load_host_weights(cfg, ck);
#if defined(MM_HAVE_CUDA_BUILD)
  if (backend == "cuda") return make_cuda_model(w);
#endif
  return make_simt_model(w);
}

void check_tokens(const ModelConfig& cfg, const std::vector<int64_t>& tokens, int64_t position) {
  require(!tokens.empty(), "forward: empty token list (the prompt must have at least one token)");
  const int64_t S = static_cast<int64_t>(tokens.size());
  require(position + S <= cfg.max_position_embeddings,
          "forward: position " + std::to_string(position + S) + " exceeds max_position_embeddings = " +
              std::to_string(cfg.max_position_embeddings));
  for (int64_t i = 0; i < S; ++i) {
    const int64_t id = tokens[static_cast<size_t>(i)];
    if (id < 0 || id >= cfg.vocab_size)
      throw Error("forward: token id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " is out of range [0, vocab_size = " + std::to_string(cfg.vocab_size) + ")" +
                  (position ? " (absolute position " + std::to_string(position + i) + ")" : ""));
  }
}

int64_t sample_next(Model& m, const ref::SamplingParams& p, Rng& rng) {
  // ref::sample_token checks these before it draws; Model::sample checks them again (no draw on error)
  require(p.temperature >= 0 && std::isfinite(p.temperature), "sample: temperature must be >= 0");
  require(p.top_k >= 0, "sample: top_k must be >= 0");
  require(p.top_p > 0 && p.top_p <= 1, "sample: top_p must be in (0, 1]");
  const double u = p.temperature == 0.0 ? 0.0 : rng.uniform();
  return m.sample(p.temperature, p.top_k, p.top_p, u);
}

}  // namespace mm::cuda_model
