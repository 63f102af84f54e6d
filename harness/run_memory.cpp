#include "harness/run_memory.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.h"
#include "reference/weight.h"  // kHeldGemvMaxRows: when a held weight is converted
#if MM_SIMT
#include "optimized/model/cuda_model_loader.h"  // the kernel backends' --weights auto
#endif

namespace mm::harness {
namespace {

// What a run's process holds beyond the program and what this file counts: the GEMM library's buffers
// and the allocator's arenas. Measured on the development machine (2 cores, OpenBLAS): `forward` of a
// 1-token prompt on `tiny` peaks 63-77 MiB above the resident set of a process that has loaded nothing
// yet, in every reference precision and residency, with 1 or 2 BLAS threads.
constexpr uint64_t kWorkspaceBytes = uint64_t{64} << 20;

struct Shape {  // the config's sizes as doubles (products of them stay exact far past these models)
  double V, H, inner, kv, I, E, k, nh, d, S, C, rows, n_run, n_light, n_soft;
};

Shape shape_of(const ModelConfig& c, const RunMemoryRequest& r) {
  Shape s{};
  s.V = static_cast<double>(c.vocab_size);
  s.H = static_cast<double>(c.hidden_size);
  s.inner = static_cast<double>(c.inner_dim());
  s.kv = static_cast<double>(c.kv_dim());
  s.I = static_cast<double>(c.intermediate_size);
  s.E = static_cast<double>(c.num_local_experts);
  s.k = static_cast<double>(c.num_experts_per_tok);
  s.nh = static_cast<double>(c.num_attention_heads);
  s.d = static_cast<double>(c.head_dim);
  s.S = static_cast<double>(r.prompt);
  s.C = static_cast<double>(r.prompt + r.decode);
  s.rows = r.all_logits ? s.S : 1;
  s.n_run = static_cast<double>(c.run_layer_count());
  s.n_light = static_cast<double>(c.run_layers_of(LayerType::Lightning));
  s.n_soft = static_cast<double>(c.run_layers_of(LayerType::Softmax));
  return s;
}

// Values one prefill's capture holds (every run layer's attn_out, moe_out, output, router logits and
// probabilities, a lightning layer's attention; the final norm), the same count in any precision.
double captured_values(const Shape& s, bool head) {
  return s.n_run * (3 * s.S * s.H + 2 * s.S * s.E + s.S * s.k) + s.n_light * s.S * s.inner + (head ? s.S * s.H : 0);
}

// The largest layer's intermediates in one prefill: the normed input, projections, gated attention and
// residuals (~6 [S, H] + 5 [S, inner]), one head's softmax scores [S, C], one expert's [S k / E, I] x 3.
double layer_activation_values(const Shape& s) {
  return s.S * (6 * s.H + 5 * s.inner) + (s.n_soft > 0 ? s.S * s.C : 0) + 3 * s.S * s.k / s.E * s.I;
}

uint64_t bytes(double x) { return x <= 0 ? 0 : x >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(x); }

RunMemory reference(const ModelConfig& c, const RunMemoryRequest& r, double T) {
  RunMemory m;
  const Shape s = shape_of(c, r);
  const ParamCount p = count_params(c);
  m.residency = resolve_weight_residency(r.weights, c, static_cast<uint64_t>(T), available_memory_bytes());
  require(m.residency != WeightResidency::Bf16 || T == 4,
          "memory estimate: weights held in bf16 (--weights bf16) are for ref-f32 and ref-bf16, not " + r.backend);
  const bool streamed = m.residency == WeightResidency::Streamed;
  const double vectors = s.n_run * 2 * s.H + s.n_light * s.inner + s.H;
  // Resident: every weight of the run in T (a tied lm_head is a second copy of the embedding). Held in
  // bf16: the matrices at 2 bytes (a tied lm_head shares the embedding's), the 1-D weights in T.
  const double matrices = static_cast<double>(p.total) - vectors;
  m.weights = bytes(streamed ? T * vectors
                    : m.residency == WeightResidency::Bf16
                        ? 2 * matrices + T * vectors
                        : T * (static_cast<double>(p.total) + (c.tie_word_embeddings ? s.V * s.H : 0)));
  m.state = bytes(T * (s.n_light * s.nh * s.d * s.d + s.C * s.n_soft * 2 * s.kv));

  const double cap = r.capture ? captured_values(s, c.runs_head()) : 0;
  const double logits = c.runs_head() ? s.rows * s.V : 0;
  // A streamed layer's matrices while it runs, in T: the larger kind's attention projections, the router
  // and one expert (the stored pages are handed back panel by panel as they are converted,
  // reference/weight_block.h).
  const double streamed_layer = std::max(s.n_light > 0 ? static_cast<double>(p.lightning_attn) : 0,
                                         s.n_soft > 0 ? static_cast<double>(p.softmax_attn) : 0) +
                                s.E * s.H + static_cast<double>(p.expert);
  // Phase "layer": the layer's intermediates and the capture so far; streamed, also its matrices.
  double layer = T * (layer_activation_values(s) + cap);
  if (streamed) layer += T * streamed_layer;
  // Held in bf16, a product of more than kHeldGemvMaxRows rows converts its matrix to T first
  // (reference/weight.h): the layer's largest (q|k|v, an expert's projection), or the lm_head.
  const bool converts = m.residency == WeightResidency::Bf16 && r.prompt > ref::kHeldGemvMaxRows;
  const double block_cap = static_cast<double>(kStreamedHeadBlockBytes) / T;
  if (converts)
    layer += T * std::min(block_cap, std::max({s.n_light > 0 ? 3 * s.inner * s.H : 0, s.inner * s.H, s.I * s.H, s.E * s.H}));
  // Phase "head": the logits in T; streamed, the lm_head converted whole (<= kStreamedHeadBlockBytes) or a
  // block of rows at a time, with that block's product.
  double head = T * (logits + cap);
  if (converts && c.runs_head() && r.all_logits) head += T * std::min(block_cap, s.V * s.H);
  if (streamed && c.runs_head()) {
    const double block_values = std::min(s.V * s.H, static_cast<double>(kStreamedHeadBlockBytes) / T);
    const double block_rows = block_values / s.H;
    head += T * block_values + (block_values < s.V * s.H ? T * s.rows * block_rows : 0);
  }
  // Phase "step end": the backend hands the logits and the capture over in doubles while its own are alive.
  const double step_end = (T + 8) * (logits + cap);
  // Phase "decode" (forward with capture, cli/cmd_forward.cpp): what the dump needs of the prefill — its
  // logits, every layer's output and a slice's hidden state out, in doubles — is held through the decode
  // steps (and the capture until they start), beside each step's own memory: streamed, a layer's
  // matrices or one lm_head block; resident, a logits row; and the decode steps' logits so far.
  const double held = r.capture ? 8 * (logits + s.n_run * s.S * s.H + (c.is_slice() ? s.S * s.H : 0)) : 0;
  double step = T * (c.runs_head() ? s.V : 0);
  if (streamed) {
    const double head_block =
        c.runs_head() ? std::min(s.V * s.H, static_cast<double>(kStreamedHeadBlockBytes) / T) : 0;
    step += T * std::max(streamed_layer, head_block);
  }
  const double decode_steps = r.decode > 0 ? step + 8 * static_cast<double>(r.decode) * (c.runs_head() ? s.V : 0) : 0;
  const double decode = held + std::max(8 * cap, decode_steps);
  const std::pair<double, const char*> phases[] = {
      {layer, "layer"}, {head, "head"}, {step_end, "step end"}, {decode, "decode"}};
  const auto* top = std::max_element(std::begin(phases), std::end(phases),
                                     [](const auto& a, const auto& b) { return a.first < b.first; });
  m.transient = bytes(top->first);
  m.peak_phase = top->second;
  return m;
}

// The kernels: bf16 weights on the device, fp32 lightning state and bf16 K/V, bf16 activations with fp32
// accumulators. The host copy of the weights is consumed as it is uploaded (cuda_model::take), so the host
// holds it once; cuda-sim's device memory is this host's. Streamed (cuda_model::ModelOptions), the layers'
// large matrices stay on the host, pinned, and the device holds two slots of the largest layer's.
RunMemory kernels(const ModelConfig& c, const RunMemoryRequest& r, bool sim) {
  RunMemory m;
  const Shape s = shape_of(c, r);
  // (a tied lm_head is a second copy of the embedding, as in the reference)
  const ParamCount p = count_params(c);
  const double w = 2 * (static_cast<double>(p.total) + (c.tie_word_embeddings ? s.V * s.H : 0));
  const double state = 4 * s.n_light * s.nh * s.d * s.d + 2 * s.C * s.n_soft * 2 * s.kv;
  const double logits = c.runs_head() ? s.rows * s.V : 0;
  // activations (bf16 + fp32 scratch), the logits (bf16 + fp32), and the capture the harness reads back
  // in floats then doubles
  const double act = 6 * layer_activation_values(s) + 6 * logits;
  const double cap = r.capture ? captured_values(s, c.runs_head()) : 0;
  // the streamed matrices (optimized/model/layer_stream.cuh), in bf16: all layers', and one slot; the
  // attention blocks' parameters less the lightning inner norm, which stays on the device
  const double experts = s.E * static_cast<double>(p.expert), light = static_cast<double>(p.lightning_attn) - s.inner,
               soft = static_cast<double>(p.softmax_attn);
  const double matrices = 2 * (s.n_light * (light + experts) + s.n_soft * (soft + experts));
  const double slot = 2 * (std::max(s.n_light > 0 ? light : 0, s.n_soft > 0 ? soft : 0) + experts);
#if MM_SIMT
  m.residency = cuda_model::resolve_kernel_residency(r.backend, c, r.weights);
#else
  m.residency = r.weights == WeightResidency::Streamed ? WeightResidency::Streamed : WeightResidency::Resident;
#endif
  const bool streamed = m.residency == WeightResidency::Streamed;
  const double slots = std::min(2.0, s.n_run) * slot;  // one slot for a single layer
  const double on_device = streamed ? w - matrices + slots : w;  // weights the device holds
  // the host: cuda-sim holds the device's weights and, streamed, the pinned matrices; cuda holds every
  // weight while loading (each freed once uploaded or packed), streamed also the block being packed
  m.weights = bytes(sim ? on_device + (streamed ? matrices : 0) : w + (streamed ? slot : 0));
  m.state = sim ? bytes(state) : 0;
  m.transient = bytes((sim ? act : 0) + 12 * (cap + logits) + 8 * logits);
  m.peak_phase = "step end";
  m.device = sim ? 0 : bytes(on_device + state + act);
  return m;
}

}  // namespace

bool run_memory_known(const std::string& b) {
  return b == "ref-f64" || b == "ref-f32" || b == "ref-bf16" || b == "cuda" || b == "cuda-sim";
}

uint64_t current_resident_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      unsigned long long kib = 0;
      if (std::sscanf(line.c_str() + 6, "%llu", &kib) == 1) return static_cast<uint64_t>(kib) * 1024;
    }
  return 0;
}

RunMemory estimate_run_memory(const ModelConfig& c, const RunMemoryRequest& r) {
  require(r.prompt >= 1 && r.decode >= 0, "memory estimate: the prompt needs at least one token");
  RunMemory m = r.backend == "ref-f64"                             ? reference(c, r, 8)
                : r.backend == "ref-f32" || r.backend == "ref-bf16" ? reference(c, r, 4)
                : r.backend == "cuda" || r.backend == "cuda-sim"     ? kernels(c, r, r.backend == "cuda-sim")
                                                                     : throw Error("memory estimate: unknown backend '" + r.backend + "'");
  m.baseline = current_resident_bytes() + kWorkspaceBytes;
  const auto add = [](uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  m.host = add(add(m.baseline, m.weights), add(m.state, m.transient));
  return m;
}

}  // namespace mm::harness
