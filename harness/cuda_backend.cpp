// Adapter from harness::Backend to cuda_model::Model. Every tensor comes from the kernels' own device
// buffers (bf16 values, fp32 lightning state); what the kernels do not materialise (the router's softmax
// probabilities: the router kernel goes from logits straight to top-k weights) is declared through
// not_produced() and reported by check as not produced, never recomputed here. A MiniMax-VL-01
// checkpoint loads its vision tower and projector too: a step's images run through the vision kernels
// (cuda_model.h, Model::step), and their tensors are captured under the reference's names.
#include "harness/cuda_backend.h"

#include <algorithm>
#include <optional>
#include <string>

#include "core/error.h"
#include "harness/tensor_id.h"
#include "optimized/model/cuda_model_loader.h"
#include "reference/vl_preprocess.h"

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
      : name_(std::move(name)), cfg_(m.config), vl_(m.vl),
        model_(cuda_model::open_model(name_, m.config, m.dir, m.vl ? &*m.vl : nullptr, m.weights)) {}
  std::string name() const override { return name_; }
  Precision precision() const override { return Precision::BF16; }
  int bytes_per_element() const override { return 2; }
  const ModelConfig& config() const override { return cfg_; }
  void reset() override { model_->reset(); }
  std::vector<std::string> not_produced() const override { return {"router_probs"}; }

  std::string kernels() const override { return model_->kernels(); }

  StepResult step(const ModelInput& in, const StepRequest& req) override {
    check_model_input(cfg_, in, model_->position());
    // The kernels splice the features they compute from the images; precomputed embeddings have no path
    // into them: refuse, never run the placeholders' own embeddings as if they were the image.
    require(in.spliced.empty(), "backend " + name() + ": precomputed spliced embeddings are not supported by the "
                                "kernels (pass the images themselves, or use a ref-* backend)");
    // A slice (docs/slices.md) runs here from the embedding; continuing another's hidden state has no
    // path into the kernels' embedding step.
    require(in.hidden.empty(), "backend " + name() + ": a hidden state in (forward --hidden-in) is not supported by the "
                               "kernels; a slice runs here from the token embeddings (use a ref-* backend to chain slices)");
    if (!in.images.empty()) check_images(in);
    const auto rows = req.all_logits ? cuda_model::Logits::all_rows : cuda_model::Logits::last_row;
    // The model numbers a slice's layers from 0; the harness by their index in the whole model.
    const int first = static_cast<int>(cfg_.first_layer());
    LayerHook hook;
    if (req.after_layer)
      hook = [&req, first](int l, int64_t rows_, int64_t cols, double* h) { req.after_layer(first + l, rows_, cols, h); };
    // A slice's hidden state out is its last layer's output, which the model hands back when capturing.
    const bool want_hidden = cfg_.is_slice() && req.hidden_out;
    const bool capture = req.capture || want_hidden;
    cuda_model::StepOutput o = model_->step(in, capture, hook, req.time_layers, rows, req.after_vision_layer);
    StepResult r;
    const int64_t S = o.S, H = cfg_.hidden_size, E = cfg_.num_local_experts, k = cfg_.num_experts_per_tok;
    // per layer from device-timeline marks (CUDA events on the GPU, recorded without synchronising; read
    // after the step's one synchronisation); the rest of the step (embedding, final norm, lm_head) is the head
    if (req.time_layers) {
      r.layer_seconds = o.layer_seconds;
      double sum = 0;
      for (double x : o.layer_seconds) sum += x;
      r.vision_seconds = o.vision_seconds;
      r.head_seconds = std::max(0.0, o.total_seconds - sum - o.vision_seconds);
    }
    // Without the head (a slice ending early) the model's logits are not the run's: none are returned.
    r.logits = cfg_.runs_head() ? make({req.all_logits ? S : 1, cfg_.vocab_size}, o.logits)
                                : make({0, cfg_.vocab_size}, {});
    if (want_hidden) r.hidden_out = make({S, H}, o.layers.back().output);
    if (req.capture) {
      for (int64_t l = cfg_.first_layer(); l < cfg_.end_layer(); ++l) {
        const auto& c = o.layers[static_cast<std::size_t>(l - first)];
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
      if (cfg_.runs_head()) r.tensors[TensorId::head("final_norm").name()] = make({S, H}, o.final_norm);
    }
    if (req.capture && !in.images.empty()) {
      const cuda_model::VisionCapture& v = o.vision;
      const int64_t D = vl_->vision.hidden_size, P = vl_->vision.num_positions(), N = vl_->vision.num_patches();
      const int64_t rows = v.crops * P;
      r.tensors[TensorId::vision("embeddings").name()] = make({rows, D}, v.embeddings);
      r.tensors[TensorId::vision("pre_layrnorm").name()] = make({rows, D}, v.pre_layrnorm);
      for (std::size_t l = 0; l < v.layers.size(); ++l) {
        const std::string n = "vision.layers." + std::to_string(l) + ".";
        r.tensors[n + "attn"] = make({rows, D}, v.layers[l].attn);
        r.tensors[n + "mlp"] = make({rows, D}, v.layers[l].mlp);
        r.tensors[n + "output"] = make({rows, D}, v.layers[l].output);
      }
      r.tensors[TensorId::vision("features").name()] = make({v.crops * N, D}, v.features);
      r.tensors[TensorId::projector("output").name()] = make({v.crops * N, H}, v.projector);
      r.tensors[TensorId::projector("image_features").name()] =
          make({static_cast<int64_t>(v.image_features.size()) / H, H}, v.image_features);
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
    for (int64_t l = cfg_.first_layer(); l < cfg_.end_layer(); ++l) {
      const auto li = static_cast<std::size_t>(l), mi = static_cast<std::size_t>(l - cfg_.first_layer());
      const auto p = [l](const char* kind) { return TensorId::decoder(static_cast<int>(l), kind).name(); };
      if (cfg_.layer_types[li] == LayerType::Lightning) {
        m[p("lightning_state")] = make({cfg_.num_attention_heads, d, d}, c.lightning_state[mi]);
      } else {
        m[p("k_cache")] = make({n, cfg_.num_key_value_heads, d}, c.k[mi]);
        m[p("v_cache")] = make({n, cfg_.num_key_value_heads, d}, c.v[mi]);
      }
    }
    return m;
  }

 private:
  // What VlModel::image_features checks before its tower runs, with its messages: a VL checkpoint, and
  // each image's geometry re-planned from its size with the model's pinpoints (a caller that preprocessed
  // with other settings is refused, not mis-packed). The model checks the id and the packing again.
  void check_images(const ModelInput& in) const {
    require(vl_.has_value(), "backend " + name() + ": images need a MiniMax-VL-01 checkpoint; this one is a text model");
    require(in.image_token_id == vl_->image_token_index,
            "forward: images are placed at token id " + std::to_string(in.image_token_id) +
                ", but this model's image_token_index is " + std::to_string(vl_->image_token_index));
    vl::PreprocessConfig pre = vl::released_preprocess_config();
    pre.crop_size = static_cast<int>(vl_->vision.image_size);
    pre.patch_size = static_cast<int>(vl_->vision.patch_size);
    pre.pinpoints = vl_->image_grid_pinpoints;
    pre.source = vl_->source;
    for (std::size_t k = 0; k < in.images.size(); ++k) {
      const ImageCrops& im = in.images[k];
      const std::string which = "image " + std::to_string(k + 1) + " of " + std::to_string(in.images.size());
      require(im.width >= 1 && im.height >= 1 && im.width <= (1 << 30) && im.height <= (1 << 30),
              which + ": size " + std::to_string(im.width) + " x " + std::to_string(im.height) + " is not a valid image size");
      const vl::AnyresPlan plan = vl::plan_anyres(static_cast<int>(im.width), static_cast<int>(im.height), pre);
      require(plan.num_crops == im.num_crops && plan.grid_rows == im.grid_rows && plan.grid_cols == im.grid_cols &&
                  plan.num_image_tokens == im.num_tokens && im.crop_size == vl_->vision.image_size,
              which + " (" + std::to_string(im.width) + " x " + std::to_string(im.height) + ") carries " +
                  std::to_string(im.num_crops) + " crops of " + std::to_string(im.crop_size) + " px in a " +
                  std::to_string(im.grid_rows) + " x " + std::to_string(im.grid_cols) + " grid for " +
                  std::to_string(im.num_tokens) + " tokens; this model's pinpoints give " +
                  std::to_string(plan.num_crops) + " crops in " + std::to_string(plan.grid_rows) + " x " +
                  std::to_string(plan.grid_cols) + " for " + std::to_string(plan.num_image_tokens));
    }
  }

  std::string name_;
  ModelConfig cfg_;
  std::optional<VlConfig> vl_;
  std::unique_ptr<cuda_model::Model> model_;
};

}  // namespace

std::string cuda_unavailable_reason(const std::string& name) { return cuda_model::unavailable_reason(name); }

std::unique_ptr<Backend> make_cuda_backend(const std::string& name, const LoadedModel& m) {
  // m.weights (--weights): resident on the device, or the layers' large matrices streamed from pinned
  // host memory (cuda_model::ModelOptions::stream_weights; auto: cuda_model::resolve_kernel_residency).
  return std::make_unique<CudaBackend>(name, m);
}

}  // namespace mm::harness
