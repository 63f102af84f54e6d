// Adapter from harness::Backend to cuda_model::Model. Every tensor comes from the kernels' own device
// buffers (bf16 values, fp32 lightning state); what the kernels do not materialise (the router's softmax
// probabilities: the router kernel goes from logits straight to top-k weights) is declared through
// not_produced() and reported by check as not produced, never recomputed here.
#include "harness/cuda_backend.h"

#include <algorithm>

#include "core/error.h"
#include "harness/tensor_id.h"
#include "optimized/model/cuda_model_loader.h"

namespace mm::harness {
namespace {

Tensor make(std::vector<int64_t> shape, const std::vector<float>& v) {
  Tensor t;
  t.shape = std::move(shape);
  t.values.assign(v.begin(), v.end());
  return t;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::string name, const LoadedModel& m)
      : name_(std::move(name)), cfg_(m.config), model_(cuda_model::open_model(name_, m.config, m.dir)) {}
  std::string name() const override { return name_; }
  Precision precision() const override { return Precision::BF16; }
  int bytes_per_element() const override { return 2; }
  const ModelConfig& config() const override { return cfg_; }
  void reset() override { model_->reset(); }
  std::vector<std::string> not_produced() const override { return {"router_probs"}; }

  std::string kernels() const override { return model_->kernels(); }

  StepResult step(const ModelInput& in, const StepRequest& req) override {
    check_model_input(cfg_, in, model_->position());
    // The embedding kernel has no splice yet (MiniMax-VL-01 kernels are later work): refuse, never
    // run the placeholders' own embeddings as if they were the image.
    require(in.spliced.empty() && in.images.empty(), "backend " + name() + ": image inputs are not supported by the kernels yet; use a "
                                "ref-* backend for MiniMax-VL-01 images");
    const auto rows = req.all_logits ? cuda_model::Logits::all_rows : cuda_model::Logits::last_row;
    cuda_model::StepOutput o = model_->step(in, req.capture, req.after_layer, req.time_layers, rows);
    StepResult r;
    const int64_t S = o.S, H = cfg_.hidden_size, E = cfg_.num_local_experts, k = cfg_.num_experts_per_tok;
    // per layer from device-timeline marks (CUDA events on the GPU, recorded without synchronising; read
    // after the step's one synchronisation); the rest of the step (embedding, final norm, lm_head) is the head
    if (req.time_layers) {
      r.layer_seconds = o.layer_seconds;
      double sum = 0;
      for (double x : o.layer_seconds) sum += x;
      r.head_seconds = std::max(0.0, o.total_seconds - sum);
    }
    r.logits = make({req.all_logits ? S : 1, cfg_.vocab_size}, o.logits);
    if (req.capture) {
      for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
        const auto& c = o.layers[static_cast<std::size_t>(l)];
        const auto p = [l](const char* kind) { return TensorId::decoder(static_cast<int>(l), kind).name(); };
        r.tensors[p("attn_out")] = make({S, H}, c.attn_out);
        r.tensors[p("moe_out")] = make({S, H}, c.moe_out);
        r.tensors[p("output")] = make({S, H}, c.output);
        r.tensors[p("router_logits")] = make({S, E}, c.router_logits);
        Tensor ids;
        ids.shape = {S, k};
        ids.values.assign(c.router_experts.begin(), c.router_experts.end());
        r.tensors[p("router_experts")] = std::move(ids);
        if (!c.lightning_attn.empty()) r.tensors[p("lightning_attn")] = make({S, cfg_.inner_dim()}, c.lightning_attn);
      }
      r.tensors[TensorId::head("final_norm").name()] = make({S, H}, o.final_norm);
    }
    return r;
  }

  // Chosen on the device (Model::sample, the fastest optimized/sampling version) from the last step's
  // bf16 logits, with the uniform drawn from `rng` as the reference draws it (cuda_model::sample_next),
  // so equal logits give equal tokens.
  int64_t next_token(const StepResult&, const SamplingParams& p, Rng& rng) override {
    return cuda_model::sample_next(*model_, p, rng);
  }

  TensorMap caches() const override {
    const cuda_model::Caches c = model_->caches();
    TensorMap m;
    const int64_t d = cfg_.head_dim, n = model_->position();
    for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
      const auto li = static_cast<std::size_t>(l);
      const auto p = [l](const char* kind) { return TensorId::decoder(static_cast<int>(l), kind).name(); };
      if (cfg_.layer_types[li] == LayerType::Lightning) {
        m[p("lightning_state")] = make({cfg_.num_attention_heads, d, d}, c.lightning_state[li]);
      } else {
        m[p("k_cache")] = make({n, cfg_.num_key_value_heads, d}, c.k[li]);
        m[p("v_cache")] = make({n, cfg_.num_key_value_heads, d}, c.v[li]);
      }
    }
    return m;
  }

 private:
  std::string name_;
  ModelConfig cfg_;
  std::unique_ptr<cuda_model::Model> model_;
};

}  // namespace

std::string cuda_unavailable_reason(const std::string& name) { return cuda_model::unavailable_reason(name); }

std::unique_ptr<Backend> make_cuda_backend(const std::string& name, const LoadedModel& m) {
  return std::make_unique<CudaBackend>(name, m);
}

}  // namespace mm::harness
