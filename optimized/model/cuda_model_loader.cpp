#include "optimized/model/cuda_model_loader.h"

#include <algorithm>
#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "core/text_weights.h"
#include "core/vision_weights.h"
#include "core/slopes.h"

namespace mm::cuda_model {
namespace {

// A checkpoint block rounded to bf16 bits; the mapped pages it reads are handed back as it goes
// (release_rows), so a checkpoint larger than memory is read without its pages counting as ours.
// Converted a panel of rows at a time: the scratch is one panel of doubles, not a double copy of the block
// (the real lm_head's would be 9.8 GB).
std::vector<uint16_t> bf16_of(const WeightBlock& b) {
  std::vector<uint16_t> out(static_cast<size_t>(b.numel()));
  const int64_t per = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, b.cols));  // rows per panel
  std::vector<double> panel;
  for (int64_t r = 0; r < b.rows; r += per) {
    const int64_t n = std::min(per, b.rows - r);
    panel.resize(static_cast<size_t>(n * b.cols));
    b.read_rows_f64(r, n, panel.data());
    b.release_rows(r, n);  // each panel's mapped pages handed back once read
    for (size_t i = 0; i < panel.size(); ++i)
      out[static_cast<size_t>(r * b.cols) + i] = f32_to_bf16_bits(static_cast<float>(panel[i]));
  }
  b.release_rows(0, b.rows);  // the pages at the panels' edges
  return out;
}
// The experts' blocks, concatenated [E, rows, cols].
std::vector<uint16_t> bf16_of(const std::vector<WeightBlock>& blocks) {
  std::vector<uint16_t> out;
  for (const WeightBlock& b : blocks) {
    const std::vector<uint16_t> x = bf16_of(b);
    out.insert(out.end(), x.begin(), x.end());
  }
  return out;
}

// The sizes of `c` the kernels take (Dims without the per-layer fields).
Dims dims_of(const ModelConfig& c) {
  Dims d;
  d.V = static_cast<int>(c.vocab_size); d.H = static_cast<int>(c.hidden_size); d.I = static_cast<int>(c.intermediate_size);
  d.L = static_cast<int>(c.run_layer_count()); d.first_layer = static_cast<int>(c.first_layer());
  d.nh = static_cast<int>(c.num_attention_heads);
  d.nkv = static_cast<int>(c.num_key_value_heads); d.d = static_cast<int>(c.head_dim); d.rd = static_cast<int>(c.rotary_dim);
  d.E = static_cast<int>(c.num_local_experts); d.k = static_cast<int>(c.num_experts_per_tok);
  d.block = static_cast<int>(c.block_size); d.max_pos = c.max_position_embeddings;
  d.theta = c.rope_theta; d.rms_eps = c.rms_norm_eps; d.lightning_eps = c.lightning_norm_eps; d.postnorm = c.postnorm;
  d.alpha_linear = c.alpha_linear; d.beta_linear = c.beta_linear; d.alpha_full = c.alpha_full; d.beta_full = c.beta_full;
  d.alpha_mlp = c.alpha_mlp; d.beta_mlp = c.beta_mlp;
  return d;
}

}  // namespace

HostWeights load_host_weights(const ModelConfig& c, const Checkpoint& ck) {
  // The host copy holds every weight in bf16 (2 bytes each); refuse before allocating what cannot fit.
  require_memory(estimate_model_bytes(c, 2, 0), c.source + ": the kernels' host copy of the weights (bf16)");
  HostWeights w;
  Dims& d = w.dims;
  d = dims_of(c);
  const TextWeightMap m = map_text_weights(ck, c);
  w.embed = bf16_of(m.embed);
  w.final_norm = bf16_of(m.final_norm);
  w.lm_head = m.lm_head_tied ? w.embed : bf16_of(m.lm_head);
  // The run's layers (all of a whole model), each with the constants of its index in the whole model.
  for (int64_t l = c.first_layer(); l < c.end_layer(); ++l) {
    const TextLayerWeightMap& M = m.layers[static_cast<size_t>(l - c.first_layer())];
    const bool soft = M.type == LayerType::Softmax;
    d.softmax.push_back(soft ? 1 : 0);
    std::vector<float> s;
    if (!soft)
      for (double x : lightning_slopes(d.nh, static_cast<int>(l), static_cast<int>(c.num_hidden_layers)))
        s.push_back(static_cast<float>(x));
    d.slopes.push_back(std::move(s));
    LayerHostWeights L;
    L.input_norm = bf16_of(M.input_norm);
    L.post_norm = bf16_of(M.post_norm);
    if (!soft) {
      L.qkv = bf16_of(M.qkv);
      L.gate = bf16_of(M.gate);
      L.norm = bf16_of(M.norm);
      L.out = bf16_of(M.out);
    } else {
      L.q = bf16_of(M.q);
      L.k = bf16_of(M.k);
      L.v = bf16_of(M.v);
      L.o = bf16_of(M.o);
    }
    L.router = bf16_of(M.router);
    L.w1 = bf16_of(M.w1);
    L.w3 = bf16_of(M.w3);
    L.w2 = bf16_of(M.w2);
    w.layers.push_back(std::move(L));
  }
  return w;
}

VisionDims vision_dims_of(const VlConfig& cfg) {
  VisionDims d;
  const VisionConfig& v = cfg.vision;
  d.D = static_cast<int>(v.hidden_size); d.I = static_cast<int>(v.intermediate_size);
  d.heads = static_cast<int>(v.num_attention_heads); d.L = static_cast<int>(v.num_hidden_layers);
  d.C = static_cast<int>(v.num_channels); d.image = static_cast<int>(v.image_size); d.patch = static_cast<int>(v.patch_size);
  d.eps = v.layer_norm_eps; d.image_token_id = cfg.image_token_index;
  return d;
}

VisionHostWeights load_vision_host_weights(const VlConfig& cfg, const Checkpoint& ck) {
  require_memory(static_cast<uint64_t>(count_vision_params(cfg).total) * 2,
                 cfg.source + ": the kernels' host copy of the vision tower + projector (bf16)");
  const VisionWeightMap m = map_vision_weights(ck, cfg);
  VisionHostWeights w;
  w.dims = vision_dims_of(cfg);
  w.patch = bf16_of(m.patch_embedding);
  w.cls = bf16_of(m.class_embedding);
  w.pos = bf16_of(m.position_embedding);
  w.pre_w = bf16_of(m.pre_norm_weight);
  w.pre_b = bf16_of(m.pre_norm_bias);
  for (const VisionLayerWeightMap& M : m.layers) {
    VisionLayerHostWeights L;
    L.ln1_w = bf16_of(M.ln1_weight); L.ln1_b = bf16_of(M.ln1_bias);
    L.q_w = bf16_of(M.q_weight); L.q_b = bf16_of(M.q_bias);
    L.k_w = bf16_of(M.k_weight); L.k_b = bf16_of(M.k_bias);
    L.v_w = bf16_of(M.v_weight); L.v_b = bf16_of(M.v_bias);
    L.o_w = bf16_of(M.out_weight); L.o_b = bf16_of(M.out_bias);
    L.ln2_w = bf16_of(M.ln2_weight); L.ln2_b = bf16_of(M.ln2_bias);
    L.fc1_w = bf16_of(M.fc1_weight); L.fc1_b = bf16_of(M.fc1_bias);
    L.fc2_w = bf16_of(M.fc2_weight); L.fc2_b = bf16_of(M.fc2_bias);
    w.layers.push_back(std::move(L));
  }
  w.l1_w = bf16_of(m.linear1_weight); w.l1_b = bf16_of(m.linear1_bias);
  w.l2_w = bf16_of(m.linear2_weight); w.l2_b = bf16_of(m.linear2_bias);
  w.newline = bf16_of(m.image_newline);
  return w;
}

std::string unavailable_reason(const std::string& backend) {
  if (backend == "cuda-sim") return "";
  if (backend == "cuda") {
#if MM_CUDA
    return cuda_device_present() ? "" : "no CUDA device";
#else
    return "no CUDA device (this build has no nvcc build of the kernels)";
#endif
  }
  return "unknown CUDA backend '" + backend + "' (expected cuda or cuda-sim)";
}

std::string gpu_description() {
#if MM_CUDA
  return cuda_device_name();
#else
  return "";
#endif
}

WeightResidency resolve_kernel_residency(const std::string& backend, const ModelConfig& cfg, WeightResidency weights) {
  if (weights == WeightResidency::Bf16) return WeightResidency::Resident;  // the kernels' weights are bf16 on the device
  if (weights != WeightResidency::Auto) return weights;
#if MM_CUDA
  if (backend == "cuda") {
    const uint64_t free = cuda_device_free_bytes();
    const double need = 1.1 * static_cast<double>(estimate_model_bytes(cfg, 2, 4));
    return free == 0 || need <= static_cast<double>(free) ? WeightResidency::Resident : WeightResidency::Streamed;
  }
#else
  (void)backend;
  (void)cfg;
#endif
  return WeightResidency::Resident;
}

std::unique_ptr<Model> open_model(const std::string& backend, const ModelConfig& cfg, const std::string& dir,
                                  const VlConfig* vl, WeightResidency weights) {
  const std::string why = unavailable_reason(backend);
  if (!why.empty()) throw Error("backend '" + backend + "' is not available: " + why);
  {  // a head dim without kernels is refused from the config, before the weights are read
    Dims d = dims_of(cfg);
    for (int64_t l = cfg.first_layer(); l < cfg.end_layer(); ++l)
      d.softmax.push_back(cfg.layer_types[static_cast<size_t>(l)] == LayerType::Softmax ? 1 : 0);
    check_kernel_head_dims(d);
    if (vl) check_kernel_vision_head_dims(vision_dims_of(*vl));
  }
  ModelOptions options;
  options.stream_weights = resolve_kernel_residency(backend, cfg, weights) == WeightResidency::Streamed;
  Checkpoint ck(dir);
  HostWeights w = load_host_weights(cfg, ck);
  if (vl) w.vision = load_vision_host_weights(*vl, ck);
#if MM_CUDA
  if (backend == "cuda") return make_cuda_model(std::move(w), options);
#endif
  return make_simt_model(std::move(w), options);
}

int64_t sample_next(Model& m, const SamplingParams& p, Rng& rng) {
  // ref::sample_token checks these before it draws; Model::sample checks them again (no draw on error)
  check_sampling_params(p);
  const double u = p.temperature == 0.0 ? 0.0 : rng.uniform();
  return m.sample(p.temperature, p.top_k, p.top_p, u);
}

}  // namespace mm::cuda_model
