// The model path on the optimized kernels (cuda_model.h), written once for both builds: included by
// cuda_model.cu (nvcc, backend_cuda: the stems' runners are declared by their *_runner.h and defined in
// their own .cu) and by cuda_model_sim.cpp (g++, backend_simt: the runners are header-inline *.cuh).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/sampling_params.h"
#include "optimized/common/device.cuh"
#include "optimized/common/device_memory.h"
#include "optimized/common/event_timer.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#if MM_SIMT
#include "optimized/embedding/embedding_runner.cuh"
#include "optimized/layer_norm/layer_norm_runner.cuh"
#include "optimized/patch_embed/patch_embed_runner.cuh"
#include "optimized/vision_attention/vision_attention_runner.cuh"
#include "optimized/vision_mlp/vision_mlp_runner.cuh"
#include "optimized/vl_projector/vl_projector_runner.cuh"
#include "optimized/lightning_attention/lightning_attention_runner.cuh"
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.cuh"
#include "optimized/moe/moe_runner.cuh"
#include "optimized/rmsnorm/rmsnorm_runner.cuh"
#include "optimized/sampling/sampling_runner.cuh"
#include "optimized/softmax_attention/softmax_attention_runner.cuh"
#else
#include "optimized/embedding/embedding_runner.h"
#include "optimized/layer_norm/layer_norm_runner.h"
#include "optimized/patch_embed/patch_embed_runner.h"
#include "optimized/vision_attention/vision_attention_runner.h"
#include "optimized/vision_mlp/vision_mlp_runner.h"
#include "optimized/vl_projector/vl_projector_runner.h"
#include "optimized/lightning_attention/lightning_attention_runner.h"
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.h"
#include "optimized/moe/moe_runner.h"
#include "optimized/rmsnorm/rmsnorm_runner.h"
#include "optimized/sampling/sampling_runner.h"
#include "optimized/softmax_attention/softmax_attention_api.h"
#endif
#include "optimized/model/cuda_model.h"
#include "optimized/model/layer_stream.cuh"

namespace mm::cuda_model {
inline namespace MM_BACKEND_NS {

// y[i] = bf16(x[i]): the bf16 store of an fp32 GEMM output (RNE, as torch's .to(bfloat16)).
__global__ void round_bf16_kernel(const float* x, __nv_bfloat16* y, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __float2bfloat16(x[i]);
}

// y[i] = float(x[i]) (exact), *nan = 1 if any is NaN: the sampler's fp32 view of a bf16 logits row, and
// the reference's "logits contain NaN" check without downloading the row.
__global__ void bf16_to_f32_kernel(const __nv_bfloat16* x, float* y, int n, int* nan) {
  const int i = static_cast<int>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    const float v = __bfloat162float(x[i]);
    y[i] = v;
    if (v != v) atomicOr(nan, 1);
  }
}

namespace detail {

using u16 = uint16_t;
template <class T> using Buf = mm::gpu::DeviceBuffer<T>;

inline float bits_to_f32(u16 b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline u16 f32_to_bits(float f) {  // round to nearest even (finite values; NaN stays NaN)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<u16>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<u16>(u >> 16);
}

inline Buf<u16> upload(const std::vector<u16>& v) { return v.empty() ? Buf<u16>() : Buf<u16>(v); }
// Uploads `v` and frees the host copy at once: the model is built tensor by tensor, so host + device
// hold the weights once plus one tensor (a real-shape layer's w1 is 3.6 GB), not twice.
inline Buf<u16> take(std::vector<u16>& v) {
  Buf<u16> b = upload(v);
  std::vector<u16>().swap(v);
  return b;
}

// The head dims in [1, kProbeMaxHeadDim] for which `takes(d)` holds, as runs: "1..256", "32/64/128",
// "none". kProbeMaxHeadDim is the config's limit (core/config.h, ConfigLimits::head_dim).
constexpr int kProbeMaxHeadDim = 1024;
template <class Takes>
std::string head_dims_taken(const Takes& takes) {
  std::string out;
  for (int d = 1; d <= kProbeMaxHeadDim; ++d) {
    if (!takes(d)) continue;
    int e = d;
    while (e < kProbeMaxHeadDim && takes(e + 1)) ++e;
    if (!out.empty()) out += '/';
    out += std::to_string(d);
    if (e > d) out += ".." + std::to_string(e);
    d = e;
  }
  return out.empty() ? "none" : out;
}

// "name dims, name dims, ...": the head dims each version of a table takes at the probe shape `at(d)`.
template <class Table, class At>
std::string version_head_dims(const Table& t, const At& at) {
  std::string out;
  for (const auto& v : t) {
    if (!out.empty()) out += ", ";
    out += v.name;
    out += ' ';
    out += head_dims_taken([&](int d) { return v.supports(at(d)); });
  }
  return out;
}

// Refuses a model with a layer whose head dim no kernel version of its attention type takes: an mm::Error
// (bad input, CLI exit 3, not an internal error) naming the first such layer (index and type), the head
// dim, and the head dims every version of that layer's stems takes at the model's other sizes. A layer
// is taken when each of its call sites has a version (softmax: RoPE + append, prefill and decode;
// lightning: block prefill and decode), so the picks in ModelImpl cannot fail on the head dim. The probes
// are the shapes ModelImpl picks with (rotary dim 0 for the listing: it only bounds d from below).
inline void check_head_dims(const Dims& c) {
  namespace sa = mm::softmax_attention;
  const auto sa_shape = [&](int d, int rd) {
    sa::AttnShape sh;
    sh.n_h = c.nh; sh.n_kv = c.nkv; sh.d = d; sh.rd = rd; sh.theta = c.theta;
    return sh;
  };
  const auto rope_at = [&](int d, int rd) { sa::RopeAppendArgs a; a.sh = sa_shape(d, rd); return a; };
  const auto prefill_at = [&](int d, int rd) { sa::PrefillArgs a; a.sh = sa_shape(d, rd); return a; };
  const auto decode_at = [&](int d, int rd) { sa::DecodeArgs a; a.sh = sa_shape(d, rd); return a; };
  const auto any = [](const auto& table, const auto& args) {
    return std::any_of(table.begin(), table.end(), [&](const auto& v) { return v.supports(args); });
  };
  const auto lightning_at = [&](int d, int T) {
    mm::lightning::Args a;
    a.n_h = c.nh; a.d = d; a.block = c.block; a.T = T; a.ld_qkv = 3LL * c.nh * d;
    return a;
  };
  for (int l = 0; l < c.L; ++l) {
    const bool soft = c.softmax[static_cast<size_t>(l)] != 0;
    bool ok;
    std::string taken;
    if (soft) {
      ok = any(sa::rope_append_versions(), rope_at(c.d, c.rd)) && any(sa::prefill_versions(), prefill_at(c.d, c.rd)) &&
           any(sa::decode_versions(), decode_at(c.d, c.rd));
      if (!ok)
        taken = version_head_dims(sa::rope_append_versions(), [&](int d) { return rope_at(d, 0); }) + "; " +
                version_head_dims(sa::prefill_versions(), [&](int d) { return prefill_at(d, 0); }) + "; " +
                version_head_dims(sa::decode_versions(), [&](int d) { return decode_at(d, 0); });
    } else {
      ok = any(mm::lightning::prefill_versions(), lightning_at(c.d, 2)) &&
           any(mm::lightning::decode_versions(), lightning_at(c.d, 1));
      if (!ok)
        taken = "prefill " + version_head_dims(mm::lightning::prefill_versions(), [&](int d) { return lightning_at(d, 2); }) +
                "; decode " + version_head_dims(mm::lightning::decode_versions(), [&](int d) { return lightning_at(d, 1); });
    }
    if (!ok)
      throw mm::Error("cuda_model: layer " + std::to_string(c.first_layer + l) + " (" + (soft ? "softmax" : "lightning") +
                      " attention) has head_dim " + std::to_string(c.d) + ", which no kernel version takes (head dims " +
                      "each version takes, at " + std::to_string(c.nh) + "/" + std::to_string(c.nkv) + " heads: " + taken + ")");
  }
}

// check_head_dims for the vision tower: every layer has one attention shape (hidden / heads).
inline void check_vision_head_dims(const VisionDims& g) {
  namespace va = mm::vision_attention;
  const auto at = [&](int d) {
    va::Args a;
    a.n_crops = 1; a.n_heads = g.heads; a.d = d; a.total_rows = g.rows_per_crop(); a.max_len = g.rows_per_crop();
    a.ld_qkv = 3 * g.heads * d;  // q, k, v: column blocks of the fused projection's output
    return a;
  };
  const int d = g.heads > 0 ? g.D / g.heads : 0;
  const auto& table = va::versions();
  if (std::any_of(table.begin(), table.end(), [&](const auto& v) { return v.supports(at(d)); })) return;
  throw mm::Error("cuda_model: the vision tower (" + std::to_string(g.L) + " layers) has head_dim " + std::to_string(d) +
                  " (hidden " + std::to_string(g.D) + " / " + std::to_string(g.heads) +
                  " heads), which no kernel version takes (head dims each vision_attention version takes: " +
                  version_head_dims(table, at) + ")");
}

struct Layer {
  bool softmax = false;
  Buf<u16> input_norm, post_norm, norm, router;
  std::array<Buf<u16>, kMatrixCount> matrices;  // resident only, by MatrixId (streamed: in LayerStream)
  LayerMatrices mats;                            // resident only: pointers into `matrices`
  Buf<float> slopes, state;  // lightning: [nh], [nh, d, d]
  Buf<u16> kc, vc;           // softmax: [capacity, nkv*d]
};

struct VisionLayer {  // bf16 on the device, shapes as VisionLayerHostWeights except:
  Buf<u16> qkv_w, qkv_b;  // [3 D, D], [3 D]: q_proj | k_proj | v_proj stacked (one GEMM for the three)
  Buf<u16> ln1_w, ln1_b, o_w, o_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
};

class ModelImpl final : public Model {
 public:
  // Consumes `w`: each host tensor is freed once it is on the device (take) or, streaming, packed into
  // its layer's pinned block (LayerStream).
  ModelImpl(HostWeights& w, const ModelOptions& options) : d_(w.dims) {
    const Dims& c = d_;
    if (static_cast<int>(w.layers.size()) != c.L) throw std::invalid_argument("cuda_model: layer count mismatch");
    check_head_dims(c);  // before any upload: a head dim without kernels is the user's input, not a bug
    if (options.stream_weights) stream_ = std::make_unique<LayerStream>(w.layers);  // takes the large matrices
    embed_ = take(w.embed);
    final_norm_ = take(w.final_norm);
    lm_head_ = take(w.lm_head);
    for (int l = 0; l < c.L; ++l) {
      LayerHostWeights& h = w.layers[static_cast<size_t>(l)];
      Layer L;
      L.softmax = c.softmax[static_cast<size_t>(l)] != 0;
      L.input_norm = take(h.input_norm);
      L.post_norm = take(h.post_norm);
      L.router = take(h.router);
      if (!L.softmax) {
        L.norm = take(h.norm);
        L.slopes = Buf<float>(c.slopes[static_cast<size_t>(l)]);
        L.state = Buf<float>(static_cast<size_t>(c.nh) * c.d * c.d);
      }
      // the large matrices (already taken by the LayerStream when streaming; null where absent)
      for (int id = 0; id < kMatrixCount; ++id) {
        L.matrices[static_cast<size_t>(id)] = take(host_matrix(h, id));
        matrix_pointer(L.mats, id) = L.matrices[static_cast<size_t>(id)].data();
      }
      layers_.push_back(std::move(L));
    }
    std::vector<float> freq(static_cast<size_t>(c.rd / 2));
    for (int i = 0; i < c.rd / 2; ++i) freq[static_cast<size_t>(i)] = static_cast<float>(1.0 / std::pow(c.theta, (2.0 * i) / c.rd));
    inv_freq_ = Buf<float>(freq.empty() ? std::vector<float>{0.f} : freq);
    sh_.n_h = c.nh; sh_.n_kv = c.nkv; sh_.d = c.d; sh_.rd = c.rd; sh_.theta = c.theta;
    // Kernel versions, chosen once from the stems' tables by capability (mm::gpu::pick: the last entry
    // that takes the shape; tables run v1 -> fast). That the last is the fastest is the stems' design
    // intent, an assumption until a GPU measures it (docs/architecture.md, "Kernel stems").
    {
      mm::rmsnorm::Args r;
      r.rows = 1; r.H = c.H;
      k_.rmsnorm = &mm::gpu::pick(mm::rmsnorm::versions(), r, "rmsnorm", "H " + std::to_string(c.H));
      mm::rmsnorm::ResidualArgs rr;
      rr.rows = 1; rr.H = c.H;
      k_.residual_rmsnorm = &mm::gpu::pick(mm::rmsnorm::residual_versions(), rr, "rmsnorm", "H " + std::to_string(c.H));
      mm::embedding::Args e;
      e.tokens = 1; e.H = c.H; e.vocab = c.V;
      mm::norm_gate::Args ng;  // device buffers are 256-byte aligned: null pointers stand for them
      ng.rows = 1; ng.D = c.inner();
      k_.norm_gate = &mm::gpu::pick(mm::norm_gate::versions(), ng, "norm_gate", "D " + std::to_string(c.inner()));
      k_.silu = &mm::gpu::pick(mm::norm_gate::silu_versions(), mm::norm_gate::SiluArgs{}, "silu", "aligned buffers");
      k_.embedding = &mm::gpu::pick(mm::embedding::versions(), e, "embedding",
                                    "H " + std::to_string(c.H) + ", vocab " + std::to_string(c.V));
    }
    // lightning: block prefill from a zero state (v3 mma for d 64/128, else v2), decode, and the token
    // recurrence (v1) for a multi-token step that continues a cache
    mm::lightning::Args probe;
    probe.n_h = c.nh; probe.d = c.d; probe.block = c.block; probe.T = 2; probe.ld_qkv = 3LL * c.inner();
    const std::string lshape = "head_dim " + std::to_string(c.d) + ", block " + std::to_string(c.block);
    k_.lightning_prefill = &mm::gpu::pick(mm::lightning::prefill_versions(), probe, "cuda_model: lightning", lshape);
    probe.T = 1;
    k_.lightning_decode = &mm::gpu::pick(mm::lightning::decode_versions(), probe, "cuda_model: lightning", lshape);
    k_.lightning_recurrent = &mm::gpu::find_version(mm::lightning::prefill_versions(), "v1_recurrent", "lightning");
    // softmax attention: the tensor-core versions where they take the head dim (32/64/128; and, for
    // split-KV decode, a GQA group of at most 16 heads), v1 otherwise (any head dim 1..256, e.g. the
    // goldens' 16 and 24); check_head_dims refused the rest above
    if (std::any_of(c.softmax.begin(), c.softmax.end(), [](auto x) { return x != 0; })) {
      namespace sa = mm::softmax_attention;
      const std::string sshape = "head_dim " + std::to_string(c.d) + ", heads " + std::to_string(c.nh) + "/" +
                                 std::to_string(c.nkv);
      sa::RopeAppendArgs ra;
      ra.sh = sh_;
      k_.rope_append = &mm::gpu::pick(sa::rope_append_versions(), ra, "cuda_model: softmax attention", sshape);
      sa::PrefillArgs pa;
      pa.sh = sh_;
      k_.softmax_prefill = &mm::gpu::pick(sa::prefill_versions(), pa, "cuda_model: softmax attention", sshape);
      sa::DecodeArgs da;
      da.sh = sh_;
      k_.softmax_decode = &mm::gpu::pick(sa::decode_versions(), da, "cuda_model: softmax attention", sshape);
    }
    {  // MoE: one version per routing step; the grouped FFN's last, v2 (tile height from the rows per expert)
      namespace moe = mm::moe;
      const std::string mshape = "E " + std::to_string(c.E) + ", k " + std::to_string(c.k) + ", H " +
                                 std::to_string(c.H) + ", I " + std::to_string(c.I);
      moe::RouterArgs ra;
      ra.T = 1; ra.E = c.E; ra.k = c.k;
      k_.router = &mm::gpu::pick(moe::router_versions(), ra, "cuda_model: moe", mshape);
      moe::PermuteArgs pa;
      pa.T = 1; pa.E = c.E; pa.k = c.k;
      k_.permute = &mm::gpu::pick(moe::permute_versions(), pa, "cuda_model: moe", mshape);
      moe::GatherArgs ga;
      ga.n = c.k; ga.H = c.H;
      k_.gather = &mm::gpu::pick(moe::gather_versions(), ga, "cuda_model: moe", mshape);
      moe::GroupedFfnArgs fa;
      fa.n = c.k; fa.E = c.E; fa.H = c.H; fa.I = c.I;
      k_.grouped_ffn = &mm::gpu::pick(moe::grouped_ffn_versions(), fa, "cuda_model: moe", mshape);
      moe::CombineArgs ca;
      ca.T = 1; ca.k = c.k; ca.H = c.H;
      k_.combine = &mm::gpu::pick(moe::combine_versions(), ca, "cuda_model: moe", mshape);
    }
    // sampling: the table's last version; its buffers are made once here (a few MiB at V = 200064)
    {
      mm::sampling::Args sa;
      sa.rows = 1; sa.V = c.V;
      k_.sampling = &mm::gpu::pick(mm::sampling::versions(), sa, "sampling", "vocab " + std::to_string(c.V));
    }
    sample_logits_ = Buf<float>(static_cast<size_t>(c.V));
    sample_u_ = Buf<double>(1);
    sample_out_ = Buf<int>(2);
    sample_ws_ = Buf<unsigned char>(std::max<size_t>(1, mm::sampling::workspace_bytes(1, c.V)));
    if (w.vision.dims.D > 0) load_vision(w.vision);
    reset();
  }

  const Dims& dims() const override { return d_; }
  int64_t position() const override { return pos_; }
  std::string kernels() const override {
    return std::string("lightning prefill ") + k_.lightning_prefill->name + ", lightning decode " +
           k_.lightning_decode->name + ", lightning continuation " + k_.lightning_recurrent->name + ", softmax " +
           (k_.softmax_prefill ? std::string(k_.softmax_prefill->name) + " / " + k_.softmax_decode->name
                               : std::string("none (no softmax layer)")) +
           ", moe " + k_.router->name + " / " + k_.permute->name + " / " + k_.gather->name + " / ffn " +
           k_.grouped_ffn->name + " / " + k_.combine->name + ", rmsnorm " + k_.rmsnorm->name + " / residual " +
           k_.residual_rmsnorm->name + ", norm-gate " + k_.norm_gate->name + ", silu " + k_.silu->name +
           ", embedding " + k_.embedding->name + ", sampling " + k_.sampling->name +
           (vd_.D > 0 ? std::string(", vision: patch_embed ") + k_.patch_embed->name + " / layer_norm " +
                            k_.layer_norm->name + " / attention " + k_.vision_attention->name + " / vl_projector " +
                            k_.vl_projector->name + " / linear " + vision_linear_name()
                      : std::string()) +
           ", gemm via optimized/common/gemm.h (each the last version in its stem's table that takes the "
           "model's shape: assumed the fastest, not yet measured on a GPU)" +
           (stream_ ? ", layer weights streamed from pinned host memory through " +
                          std::to_string(stream_->slot_count()) + " device slot(s) of " +
                          std::to_string(stream_->slot_bytes()) + " bytes"
                    : std::string());
  }
  uint64_t device_allocations() const override { return mm::gpu::device_allocations(); }
  uint64_t device_allocated_bytes() const override { return mm::gpu::device_allocated_bytes(); }
  uint64_t weight_copies() const override { return stream_ ? stream_->copies() : 0; }

  void reset() override {
    pos_ = 0;
    last_logit_rows_ = 0;
    for (auto& L : layers_) {
      if (!L.softmax) mm::gpu::device_memset(L.state.data(), 0, L.state.size() * sizeof(float));
    }
  }

  Caches caches() const override {
    Caches c;
    const size_t row = static_cast<size_t>(d_.nkv) * d_.d, rows = static_cast<size_t>(pos_);
    for (const auto& L : layers_) {
      c.lightning_state.emplace_back();
      c.k.emplace_back();
      c.v.emplace_back();
      if (!L.softmax) {
        c.lightning_state.back() = L.state.download();
      } else if (rows) {
        c.k.back().resize(rows * row);
        c.v.back().resize(rows * row);
        download_f32(L.kc, rows * row, c.k.back().data());
        download_f32(L.vc, rows * row, c.v.back().data());
      }
    }
    return c;
  }

  // One step, in named stages: inputs and embedding, then per decoder layer the attention block (lightning
  // or softmax), the DeepNorm residual + post-attention norm, the MoE block, the residual + next norm (and
  // the hook), then the head (lm_head on the last R rows) and the step's one synchronisation.
  StepOutput step(const ModelInput& in, bool capture, const LayerHook& hook, bool time_layers,
                  Logits logits, const VisionHook& vision_hook) override {
    const Dims& c = d_;
    const int S = static_cast<int>(in.tokens.size());
    if (S == 0) throw std::invalid_argument("cuda_model: empty token list");
    if (!in.spliced.empty())
      throw mm::Error("cuda_model: precomputed spliced embeddings are not supported (the kernels splice the "
                      "image features they compute from ModelInput::images)");
    if (!in.images.empty()) {
      if (vd_.D == 0) throw mm::Error("cuda_model: images need a MiniMax-VL-01 checkpoint; this model has no vision tower");
      if (in.image_token_id != vd_.image_token_id)
        throw mm::Error("forward: images are placed at token id " + std::to_string(in.image_token_id) +
                        ", but this model's image_token_index is " + std::to_string(vd_.image_token_id));
    }
    last_logit_rows_ = 0;  // the last step's logits are overwritten (or reallocated) from here on: a step
                           // that throws leaves none to sample
    // Timing marks (time_layers): 0 step start, 2l+1 / 2l+2 layer l start / end, 2L+1 step end. Events on
    // the GPU: recorded without waiting, read after the one synchronisation at the end of the step.
    if (time_layers) timer_.record(0);
    const int past = static_cast<int>(pos_);
    // logits rows: all S, or the last only (its lm_head input is row S-1 of the final norm, in w.n1)
    const int R = logits == Logits::all_rows ? S : 1;
    StepOutput out;
    out.S = S;
    embed_step(in, past, R, capture, vision_hook, time_layers, out);
    if (time_layers) timer_.record(1);
    if (capture) out.layers.resize(static_cast<size_t>(c.L));
    const size_t SH = static_cast<size_t>(S) * c.H;
    const bool decode = S == 1 && past > 0;
    float* dws = nullptr;
    if (decode && k_.softmax_decode) {
      mm::softmax_attention::DecodeArgs da;
      da.sh = sh_; da.B = 1; da.capacity = capacity_; da.max_len = past + 1; da.split_size = 0;
      dws = decode_workspace(mm::softmax_attention::decode_workspace_floats(*k_.softmax_decode, da));
    }
    Work& w = work_;
    for (int l = 0; l < c.L; ++l) {
      Layer& L = layers_[static_cast<size_t>(l)];
      LayerCapture* lc = capture ? &out.layers[static_cast<size_t>(l)] : nullptr;
      // the layer's large matrices: its own buffers, or its slot once the copy stream delivered it
      const LayerMatrices M = stream_ ? stream_->acquire(l) : L.mats;
      // a = attention(n1); y = deepnorm(postnorm ? n1 : x, a); n2 = LN2(y)
      if (!L.softmax) lightning_block(L, M, S, past, decode, lc);
      else softmax_block(L, M, S, past, decode, dws);
      if (lc) lc->attn_out = download_f32(w.a, SH);
      const double alpha = L.softmax ? c.alpha_full : c.alpha_linear, beta = L.softmax ? c.beta_full : c.beta_linear;
      residual_norm(c.postnorm ? w.n1.data() : w.x.data(), L.post_norm.data(), w.y.data(), w.n2.data(), S, alpha, beta);
      // a = MoE(n2); out = deepnorm(postnorm ? n2 : y, a) -> x; n1 = next layer's LN1(out) (the final norm
      // after the last layer)
      moe_block(L, M, S, lc);
      if (stream_) stream_->release(l);  // the layer's last reader of its matrices is issued
      if (lc) lc->moe_out = download_f32(w.a, SH);
      const u16* next_w = l + 1 < c.L ? layers_[static_cast<size_t>(l) + 1].input_norm.data() : final_norm_.data();
      residual_norm(c.postnorm ? w.n2.data() : w.y.data(), next_w, w.x.data(), w.n1.data(), S, c.alpha_mlp, c.beta_mlp);
      if (hook) apply_hook(hook, l, S, next_w);
      // The layer ends before its output's capture download, which is not the layer's work (the mid-layer
      // capture downloads above do fall inside it: time without capture for clean numbers).
      if (time_layers) timer_.record(2 * static_cast<size_t>(l) + 2);
      if (lc) lc->output = download_f32(w.x, SH);
      if (time_layers && l + 1 < c.L) timer_.record(2 * static_cast<size_t>(l) + 3);
    }
    if (capture) out.final_norm = download_f32(w.n1, SH);
    head(S, R, out);
    if (time_layers) timer_.record(2 * static_cast<size_t>(c.L) + 1);
    mm::gpu::synchronize();  // the step's one wait; every timing mark is complete after it
    if (time_layers) {
      for (int l = 0; l < c.L; ++l)
        out.layer_seconds.push_back(timer_.seconds(2 * static_cast<size_t>(l) + 1, 2 * static_cast<size_t>(l) + 2));
      out.total_seconds = timer_.seconds(0, 2 * static_cast<size_t>(c.L) + 1);
      if (!in.images.empty())
        out.vision_seconds = timer_.seconds(2 * static_cast<size_t>(c.L) + 2, 2 * static_cast<size_t>(c.L) + 3);
    }
    pos_ += S;
    last_logit_rows_ = R;
    return out;
  }

  int64_t sample(double temperature, int top_k, double top_p, double u) override {
    // the reference's checks (ref::sample_token), with its messages
    mm::check_sampling_params(temperature, top_k, top_p);
    mm::require(temperature == 0 || (u >= 0 && u < 1), "sample: uniform must be in [0, 1)");
    mm::require(last_logit_rows_ > 0, "sample: no logits to sample from (no step completed since reset)");
    const int V = d_.V;
    // the last logits row of the last step, still in logits_ (bf16; its last row whether the step made S
    // rows or one): to fp32 for the sampler, NaN flagged
    const u16* row = logits_.data() + static_cast<size_t>(last_logit_rows_ - 1) * V;
    mm::gpu::device_memset(sample_out_.data(), 0, sample_out_.size() * sizeof(int));
    mm::gpu::copy_to_device(sample_u_.data(), &u, sizeof(double));
    mm::gpu::launch(bf16_to_f32_kernel, dim3(static_cast<unsigned>((V + 255) / 256)), dim3(256), 0, nullptr,
                    reinterpret_cast<const __nv_bfloat16*>(row), sample_logits_.data(), V, sample_out_.data() + 1);
    mm::sampling::Args sa;
    sa.logits = sample_logits_.data(); sa.rows = 1; sa.V = V; sa.temperature = temperature; sa.top_k = top_k;
    sa.top_p = top_p; sa.uniforms = sample_u_.data(); sa.tokens = sample_out_.data(); sa.workspace = sample_ws_.data();
    mm::gpu::launch_checked(*k_.sampling, sa, nullptr, "cuda_model: sampling");
    int res[2] = {0, 0};  // token, NaN flag
    mm::gpu::copy_to_host(res, sample_out_.data(), sizeof res);
    mm::require(res[1] == 0, "sample: logits contain NaN");
    return res[0];
  }

 private:
  // --- the stages of step() -------------------------------------------------------------------------

  // Sizes the buffers for S tokens at `past` and R logits rows, uploads the step's small inputs, and
  // runs the embedding and the first layer's input norm: x = embed[ids], n1 = LN1_0(x). With images, x
  // is the token embeddings with the images' packed rows spliced in (vision_embed) instead.
  void embed_step(const ModelInput& in, int past, int R, bool capture, const VisionHook& vision_hook,
                  bool time_layers, StepOutput& out) {
    const std::vector<int64_t>& tokens = in.tokens;
    const Dims& c = d_;
    const int S = static_cast<int>(tokens.size());
    ensure_capacity(past + S);
    ensure_logits(R);  // first: the fp32 scratch is then sized once for both needs when both grow
    ensure_work(S);
#if MM_SIMT
    poison_step_buffers();
#endif
    Work& w = work_;
    // The step's small inputs in one upload into the persistent w.in: [past, past + S, ids...]. The ids
    // are checked here too: the embedding kernel would give a zero row for a bad id, not an error.
    host_in_.assign({past, past + S});
    for (int64_t t : tokens) {
      if (t < 0 || t >= c.V)
        throw mm::Error("cuda_model: token id " + std::to_string(t) + " is out of range [0, vocab_size = " +
                        std::to_string(c.V) + ")");
      host_in_.push_back(static_cast<int>(t));
    }
    mm::gpu::copy_to_device(w.in.data(), host_in_.data(), host_in_.size() * sizeof(int));
    const int* dids = w.in.data() + 2;
    if (!in.images.empty()) {
      const size_t mark = 2 * static_cast<size_t>(c.L) + 2;  // after the step's layer marks (step())
      if (time_layers) timer_.record(mark);
      vision_embed(in, capture ? &out.vision : nullptr, vision_hook);
      if (time_layers) timer_.record(mark + 1);
    } else {
      mm::embedding::Args e;
      e.table = embed_.data(); e.ids = dids; e.out = w.x.data(); e.tokens = S; e.H = c.H; e.vocab = c.V;
      mm::gpu::launch_checked(*k_.embedding, e, nullptr, "cuda_model: embedding");
    }
    rmsnorm(w.x.data(), layers_[0].input_norm.data(), w.n1.data(), S);
  }

  // Lightning attention on n1 -> a [S, H]: qkv = silu(n1 Wqkv^T); o = lightning(qkv) (block prefill from a
  // zero state, token recurrence when continuing, the decode kernel for one token); a = Wout(norm_gate(o, g)).
  void lightning_block(Layer& L, const LayerMatrices& M, int S, int past, bool decode, LayerCapture* lc) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, inner = c.inner();
    project(w.n1.data(), M.qkv, S, 3 * inner, H, f32, w.t1.data());
    mm::norm_gate::SiluArgs sa;
    sa.x = w.t1.data(); sa.y = w.qkv.data(); sa.n = static_cast<size_t>(S) * 3 * inner;
    mm::gpu::launch_checked(*k_.silu, sa, nullptr, "cuda_model: silu");
    mm::lightning::Args a = mm::lightning::dense_args(1, S, c.nh, c.d, c.block);
    a.qkv = w.qkv.data();
    a.s = L.slopes.data();
    a.state = L.state.data();
    a.o = w.o.data();
    const mm::lightning::Version& v = decode ? *k_.lightning_decode
                                      : past == 0 ? *k_.lightning_prefill
                                                  : *k_.lightning_recurrent;  // token recurrence
    mm::gpu::launch_checked(v, a, nullptr, "cuda_model: lightning");
    if (lc) lc->lightning_attn = download_f32(w.o, static_cast<size_t>(S) * inner);
    project(w.n1.data(), M.gate, S, inner, H, f32, w.t1.data());  // gate projection (pre-sigmoid)
    mm::norm_gate::Args ng;
    ng.o = w.o.data(); ng.g = w.t1.data(); ng.w = L.norm.data(); ng.out = w.t2.data(); ng.rows = S; ng.D = inner;
    ng.eps = static_cast<float>(c.lightning_eps);
    mm::gpu::launch_checked(*k_.norm_gate, ng, nullptr, "cuda_model: norm_gate");
    project(w.t2.data(), M.out, S, H, inner, f32, w.a.data());
  }

  // Softmax attention (GQA, RoPE on half the head) on n1 -> a [S, H]: q, k, v projections, RoPE and the
  // append of k, v to the layer's cache, then the prefill kernel (causal over past + S) or, for one
  // token, the split-KV decode kernel (workspace `dws`).
  void softmax_block(Layer& L, const LayerMatrices& M, int S, int past, bool decode, float* dws) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, inner = c.inner(), kvd = c.nkv * c.d;
    const int *dpast = w.in.data(), *dlens = w.in.data() + 1;
    project(w.n1.data(), M.q, S, inner, H, f32, w.t1.data());
    project(w.n1.data(), M.k, S, kvd, H, f32, w.kk.data());
    project(w.n1.data(), M.v, S, kvd, H, f32, w.vv.data());
    namespace sa = mm::softmax_attention;
    sa::RopeAppendArgs ra;
    ra.sh = sh_; ra.q = w.t1.data(); ra.k = w.kk.data(); ra.v = w.vv.data(); ra.q_rot = w.t2.data();
    ra.k_cache = L.kc.data(); ra.v_cache = L.vc.data(); ra.past = dpast; ra.inv_freq = inv_freq_.data();
    ra.rows = S; ra.rows_per_seq = S; ra.capacity = capacity_;
    mm::gpu::launch_checked(*k_.rope_append, ra, nullptr, "cuda_model: rope_append");
    if (decode) {
      sa::DecodeArgs da;
      da.sh = sh_; da.q_rot = w.t2.data(); da.k_cache = L.kc.data(); da.v_cache = L.vc.data(); da.lens = dlens;
      da.o = w.o.data(); da.B = 1; da.capacity = capacity_; da.max_len = past + 1; da.split_size = 0;
      da.workspace = dws;
      mm::gpu::launch_checked(*k_.softmax_decode, da, nullptr, "cuda_model: softmax decode");
    } else {
      sa::PrefillArgs pa;
      pa.sh = sh_; pa.q_rot = w.t2.data(); pa.k_cache = L.kc.data(); pa.v_cache = L.vc.data(); pa.o = w.o.data();
      pa.T = S; pa.past = past;
      mm::gpu::launch_checked(*k_.softmax_prefill, pa, nullptr, "cuda_model: softmax prefill");
    }
    project(w.o.data(), M.o, S, H, inner, f32, w.a.data());
  }

  // DeepNorm residual and the next RMSNorm: y = bf16(bf16(r*alpha) + bf16(a*beta)) with a = w.a, n = RMSNorm_w(y).
  void residual_norm(const u16* r, const u16* norm_w, u16* y, u16* n, int S, double alpha, double beta) {
    mm::rmsnorm::ResidualArgs a;
    a.r = r; a.a = work_.a.data(); a.w = norm_w; a.y = y; a.n = n; a.rows = S; a.H = d_.H;
    a.alpha = static_cast<float>(alpha); a.beta = static_cast<float>(beta); a.eps = static_cast<float>(d_.rms_eps);
    mm::gpu::launch_checked(*k_.residual_rmsnorm, a, nullptr, "cuda_model: rmsnorm");
  }

  // n = RMSNorm_w(x) over S rows (the first layer's input norm; again after a hook changed x).
  void rmsnorm(const u16* x, const u16* norm_w, u16* n, int S) {
    mm::rmsnorm::Args a;
    a.x = x; a.w = norm_w; a.n = n; a.rows = S; a.H = d_.H; a.eps = static_cast<float>(d_.rms_eps);
    mm::gpu::launch_checked(*k_.rmsnorm, a, nullptr, "cuda_model: rmsnorm");
  }

  // The top-k MoE on n2 -> a [S, H]: router GEMM (fp32 out), top-k + weights, permutation by expert,
  // gather, the grouped expert FFN, and the weighted combine back to token order.
  void moe_block(const Layer& L, const LayerMatrices& M, int S, LayerCapture* lc) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, E = c.E, K = c.k, n = S * K;
    project_f32(w.n2.data(), L.router.data(), S, E, H, f32);
    namespace moe = mm::moe;
    moe::RouterArgs ra;
    ra.logits = f32; ra.T = S; ra.E = E; ra.k = K; ra.ids = w.eids.data(); ra.weights = w.ewts.data();
    mm::gpu::launch_checked(*k_.router, ra, nullptr, "cuda_model: moe router");
    if (lc) {
      lc->router_logits.resize(static_cast<size_t>(S) * E);
      mm::gpu::copy_to_host(lc->router_logits.data(), f32, lc->router_logits.size() * sizeof(float));
      for (float& x : lc->router_logits) x = bits_to_f32(f32_to_bits(x));  // the router kernel's bf16 view
      lc->router_experts.resize(static_cast<size_t>(n));
      mm::gpu::copy_to_host(lc->router_experts.data(), w.eids.data(), lc->router_experts.size() * sizeof(int));
    }
    moe::PermuteArgs pa;
    pa.ids = w.eids.data(); pa.T = S; pa.E = E; pa.k = K; pa.counts = w.counts.data(); pa.offsets = w.offsets.data();
    pa.perm_token = w.perm.data(); pa.inv_row = w.inv.data();
    mm::gpu::launch_checked(*k_.permute, pa, nullptr, "cuda_model: moe permute");
    moe::GatherArgs ga;
    ga.x = w.n2.data(); ga.perm_token = w.perm.data(); ga.n = n; ga.H = H; ga.xperm = w.xperm.data();
    mm::gpu::launch_checked(*k_.gather, ga, nullptr, "cuda_model: moe gather");
    moe::GroupedFfnArgs fa;
    fa.xperm = w.xperm.data(); fa.offsets = w.offsets.data(); fa.n = n; fa.E = E; fa.H = H; fa.I = c.I;
    fa.w1 = M.w1; fa.w3 = M.w3; fa.w2 = M.w2; fa.h = w.h.data(); fa.ye = w.ye.data();
    mm::gpu::launch_checked(*k_.grouped_ffn, fa, nullptr, "cuda_model: moe grouped FFN");
    moe::CombineArgs ca;
    ca.ye = w.ye.data(); ca.ids = w.eids.data(); ca.weights = w.ewts.data(); ca.inv_row = w.inv.data(); ca.T = S;
    ca.k = K; ca.H = H; ca.y = w.a.data();
    mm::gpu::launch_checked(*k_.combine, ca, nullptr, "cuda_model: moe combine");
  }

  // The hook sees and may change the layer output x; the next norm (`next_w`) then reads what it left.
  void apply_hook(const LayerHook& hook, int l, int S, const u16* next_w) {
    Work& w = work_;
    const size_t SH = static_cast<size_t>(S) * d_.H;
    std::vector<float> xf = download_f32(w.x, SH);
    std::vector<double> buf(xf.begin(), xf.end());
    hook(l, S, d_.H, buf.data());
    std::vector<u16> bits(SH);
    for (size_t i = 0; i < SH; ++i) bits[i] = f32_to_bits(static_cast<float>(buf[i]));
    mm::gpu::copy_to_device(w.x.data(), bits.data(), SH * sizeof(u16));
    rmsnorm(w.x.data(), next_w, w.n1.data(), S);
  }

  // --- MiniMax-VL-01: the vision tower, projector and splice (reference/vl_model.cpp) ---------------

  void load_vision(const VisionHostWeights& v) {
    vd_ = v.dims;
    const VisionDims& g = vd_;
    if (static_cast<int>(v.layers.size()) != g.L) throw std::invalid_argument("cuda_model: vision layer count mismatch");
    check_vision_head_dims(g);  // before any upload, as check_head_dims
    v_patch_ = upload(v.patch); v_cls_ = upload(v.cls); v_pos_ = upload(v.pos);
    v_pre_w_ = upload(v.pre_w); v_pre_b_ = upload(v.pre_b);
    for (const VisionLayerHostWeights& h : v.layers) {
      VisionLayer L;
      L.ln1_w = upload(h.ln1_w); L.ln1_b = upload(h.ln1_b);
      std::vector<u16> qkv_w(h.q_w), qkv_b(h.q_b);  // [D, D] row-major each: stacked rows
      qkv_w.insert(qkv_w.end(), h.k_w.begin(), h.k_w.end());
      qkv_w.insert(qkv_w.end(), h.v_w.begin(), h.v_w.end());
      qkv_b.insert(qkv_b.end(), h.k_b.begin(), h.k_b.end());
      qkv_b.insert(qkv_b.end(), h.v_b.begin(), h.v_b.end());
      L.qkv_w = upload(qkv_w); L.qkv_b = upload(qkv_b); L.o_w = upload(h.o_w); L.o_b = upload(h.o_b);
      L.ln2_w = upload(h.ln2_w); L.ln2_b = upload(h.ln2_b);
      L.fc1_w = upload(h.fc1_w); L.fc1_b = upload(h.fc1_b); L.fc2_w = upload(h.fc2_w); L.fc2_b = upload(h.fc2_b);
      vlayers_.push_back(std::move(L));
    }
    p_l1_w_ = upload(v.l1_w); p_l1_b_ = upload(v.l1_b); p_l2_w_ = upload(v.l2_w); p_l2_b_ = upload(v.l2_b);
    p_newline_ = upload(v.newline);
    // Versions, the last of each table that takes the tower's shape. patch_embed is probed with no crops
    // (its workspaces are then not needed to take the shape; the image step provides what the pick needs).
    const std::string vshape = "D " + std::to_string(g.D) + ", heads " + std::to_string(g.heads);
    mm::patch_embed::Args pe;
    pe.crops = 0; pe.C = g.C; pe.S = g.image; pe.p = g.patch; pe.D = g.D;
    k_.patch_embed = &mm::gpu::pick(mm::patch_embed::versions(), pe, "cuda_model: patch_embed", vshape);
    mm::layer_norm::Args ln;
    ln.rows = 1; ln.H = g.D;
    k_.layer_norm = &mm::gpu::pick(mm::layer_norm::versions(), ln, "cuda_model: layer_norm", vshape);
    mm::vision_attention::Args va;
    va.n_crops = 1; va.n_heads = g.heads; va.d = g.D / g.heads; va.total_rows = g.rows_per_crop();
    va.max_len = g.rows_per_crop(); va.ld_qkv = 3 * g.D;
    k_.vision_attention = &mm::gpu::pick(mm::vision_attention::versions(), va, "cuda_model: vision_attention", vshape);
    mm::vl_projector::Args vp;
    vp.rows = 1; vp.Ht = d_.H; vp.feature_rows = 1; vp.vocab = d_.V;
    k_.vl_projector = &mm::gpu::pick(mm::vl_projector::versions(), vp, "cuda_model: vl_projector", "H " + std::to_string(d_.H));
  }

  // The six Linear shapes of an image step (mode, k, n): the fused q|k|v projection, out_proj (+ residual),
  // fc1 (+ GELU), fc2 (+ residual), the projector's linear_1 (+ GELU) and linear_2.
  static std::array<std::tuple<mm::vision_mlp::Mode, int, int>, 6> vision_linear_shapes(int D, int I, int H) {
    namespace vm = mm::vision_mlp;
    return {{{vm::kBias, D, 3 * D}, {vm::kBiasResidual, D, D}, {vm::kBiasGelu, D, I}, {vm::kBiasResidual, I, D},
             {vm::kBiasGelu, D, H}, {vm::kBias, H, H}}};
  }

  // The Linear versions launch_linear picks over those shapes at one crop's rows, for kernels().
  std::string vision_linear_name() const {
    std::string names;
    for (const auto& [md, kk, nn] : vision_linear_shapes(vd_.D, vd_.I, d_.H)) {
      mm::vision_mlp::LinearArgs a;
      a.m = vd_.rows_per_crop(); a.k = kk; a.n = nn;
      static float workspace;  // a non-null stand-in: the image step gives v1 its workspace
      a.c = &workspace;
      const std::string name = mm::gpu::pick(mm::vision_mlp::linear_versions(md), a, "vision_mlp", "a vision shape").name;
      if (names.find(name) == std::string::npos) names += (names.empty() ? "" : " + ") + name;
    }
    return names;
  }

  // n = LayerNorm_{w,b}(x) over `rows` rows of width D.
  void vision_norm(const u16* x, const Buf<u16>& w, const Buf<u16>& b, u16* n, int rows) {
    mm::layer_norm::Args a;
    a.x = x; a.w = w.data(); a.b = b.data(); a.n = n; a.rows = rows; a.H = vd_.D; a.eps = static_cast<float>(vd_.eps);
    mm::gpu::launch_checked(*k_.layer_norm, a, nullptr, "cuda_model: layer_norm");
  }

  // y (m_out) = epilogue(x W^T + b): x [m, k], W [n, k]; c the fp32 scratch, [m, n] at least where the
  // shape needs it (vision_mlp::linear_needs_workspace: v1 only) and handed over only there, so a v1 pick
  // the image step did not size the scratch for is an error naming the shape, never an overrun.
  static void vision_linear(mm::vision_mlp::Mode mode, const u16* x, const Buf<u16>& w, const Buf<u16>& b,
                            const u16* h, u16* y, u16* m_out, float* c, int m, int k, int n) {
    float* workspace = mm::vision_mlp::linear_needs_workspace(mode, m, k, n) ? c : nullptr;
    mm::vision_mlp::launch_linear(mode, x, w.data(), b.data(), h, y, m_out, workspace, m, k, n, nullptr);
  }

  // The images of `in` -> w.x [S, H]: the token embeddings with the images' packed rows at the image-token
  // positions (reference/vl_model.cpp VlModel::forward). Every crop of every image goes through each
  // stage at once (R = crops * 577 rows; crops never see each other: the attention is block-diagonal
  // over the varlen pack, every other stage is row-wise), with the reference's bf16 rounding points:
  //   e  = patch_embed(pixels)                               [R, D]  conv and [cls; conv] + pos, bf16 each
  //   h  = LN_pre(e)                                         [R, D]
  //   per layer: n = LN1(h); [q|k|v] = bf16(n Wqkv^T + bqkv) [R, 3 D]  (the three projections stacked:
  //              one GEMM; each column is the same dot product as in its own projection)
  //              o = attention(q, k, v) per crop             [R, D]  (q, k, v read with row stride 3 D)
  //              a = bf16(o Wo^T + bo); h2 = bf16(h + a)     (kBiasResidual: a is m_out)
  //              n = LN2(h2); f = bf16(gelu(bf16(n W1^T + b1)))  [R, I]
  //              m = bf16(f W2^T + b2); h = bf16(h2 + m)     (kBiasResidual), then the hook per crop
  //   proj = bf16(bf16(gelu(bf16(h L1^T + b1))) L2^T + b2)   [R, H]  (linear_1 kBiasGelu, linear_2 kBias;
  //          every row: the reference's feat = h without the CLS rows, F = crops * 576, is row-wise the same)
  //   x = gather([proj; image_newline; embed_tokens], row map planned on the host, skipping the CLS rows)  [S, H]
  void vision_embed(const ModelInput& in, VisionCapture* cap, const VisionHook& hook) {
    namespace vm = mm::vision_mlp;
    const VisionDims& g = vd_;
    const int P = g.rows_per_crop(), N = P - 1, D = g.D, I = g.I, H = d_.H, V = d_.V;
    const int S = static_cast<int>(in.tokens.size());
    // the packing and splice as one source row per output row (throws before any launch)
    std::vector<mm::vl_projector::ImageGeometry> geo;
    int64_t crops64 = 0;
    std::vector<float> pixels;
    const size_t crop_values = static_cast<size_t>(g.C) * g.image * g.image;
    for (size_t k = 0; k < in.images.size(); ++k) {
      const ImageCrops& im = in.images[k];
      if (im.crop_size != g.image || im.pixel_values.size() != static_cast<size_t>(im.num_crops) * crop_values)
        throw mm::Error("cuda_model: image " + std::to_string(k + 1) + " has " + std::to_string(im.pixel_values.size()) +
                        " pixel values in " + std::to_string(im.num_crops) + " crops of " + std::to_string(im.crop_size) +
                        " px; this tower takes crops of " + std::to_string(g.C) + " x " + std::to_string(g.image) +
                        " x " + std::to_string(g.image));
      if (im.num_crops != 1 + im.grid_rows * im.grid_cols)
        throw mm::Error("cuda_model: image " + std::to_string(k + 1) + " has " + std::to_string(im.num_crops) +
                        " crops for a " + std::to_string(im.grid_rows) + " x " + std::to_string(im.grid_cols) +
                        " grid (expected 1 + rows * cols)");
      mm::vl_projector::ImageGeometry ig;
      ig.width = static_cast<int>(im.width); ig.height = static_cast<int>(im.height);
      ig.grid_rows = static_cast<int>(im.grid_rows); ig.grid_cols = static_cast<int>(im.grid_cols);
      ig.side = g.side(); ig.num_tokens = im.num_tokens;
      ig.cls = true;  // the projector runs on the tower's rows as they are; the packing skips each CLS row
      geo.push_back(ig);
      crops64 += im.num_crops;
      pixels.insert(pixels.end(), im.pixel_values.begin(), im.pixel_values.end());
    }
    std::vector<int> ids(in.tokens.begin(), in.tokens.end());  // range-checked by embed_step
    std::vector<int> row_map;
    int F = 0;
    try {
      row_map = mm::vl_projector::plan_rows(ids, static_cast<int>(g.image_token_id), geo, V, &F);
    } catch (const std::invalid_argument& e) {
      throw mm::Error(std::string("cuda_model: ") + e.what());
    }
    const int crops = static_cast<int>(crops64), R = crops * P;
    if (F != R) throw std::logic_error("cuda_model: the packing plan's feature rows disagree with the crops");
    const size_t RD = static_cast<size_t>(R) * D, RH = static_cast<size_t>(R) * H;
    // the step's vision buffers: an image step is a prefill, allocated for it and freed after
    Buf<float> dpix(pixels);
    Buf<int> dmap(row_map);
    std::vector<int> offs(static_cast<size_t>(crops) + 1);
    for (int i = 0; i <= crops; ++i) offs[static_cast<size_t>(i)] = i * P;
    Buf<int> doffs(offs);
    Buf<u16> e(RD), h(RD), h2(RD), n(RD), qkv(3 * RD), o(RD), m(RD), big(static_cast<size_t>(R) * std::max(I, 1));
    mm::patch_embed::Args pa;
    pa.pixels = dpix.data(); pa.w = v_patch_.data(); pa.cls = v_cls_.data(); pa.pos = v_pos_.data(); pa.out = e.data();
    pa.crops = crops; pa.C = g.C; pa.S = g.image; pa.p = g.patch; pa.D = D;
    Buf<u16> patches(std::max<size_t>(1, mm::patch_embed::patches_workspace(pa)));
    pa.patches = patches.data();
    // the fp32 scratch: patch_embed's conv [crops * N, D] if its version needs one (v2; not the fused v3),
    // and C [R, n] of every Linear whose shape the fused version refuses (vision_mlp::linear_needs_workspace;
    // none at the released dims)
    const bool conv_needed = !k_.patch_embed->supports(pa);
    size_t c_elems = conv_needed ? mm::patch_embed::conv_workspace(pa) : 1;
    for (const auto& [md, kk, nn] : vision_linear_shapes(D, I, H))
      if (vm::linear_needs_workspace(md, R, kk, nn)) c_elems = std::max(c_elems, static_cast<size_t>(R) * nn);
    Buf<float> c32(c_elems);
    if (conv_needed) pa.conv = c32.data();
    mm::gpu::launch_checked(*k_.patch_embed, pa, nullptr, "cuda_model: patch_embed");
    vision_norm(e.data(), v_pre_w_, v_pre_b_, h.data(), R);
    if (cap) {
      cap->crops = crops;
      cap->embeddings = download_f32(e, RD);
      cap->pre_layrnorm = download_f32(h, RD);
      cap->layers.resize(static_cast<size_t>(g.L));
    }
    mm::vision_attention::Args va;
    // q, k, v: the column blocks of one [R, 3 D] projection output
    va.q = qkv.data(); va.k = qkv.data() + D; va.v = qkv.data() + 2 * D; va.ld_qkv = 3 * D;
    va.o = o.data(); va.offsets = doffs.data();
    va.n_crops = crops; va.n_heads = g.heads; va.d = D / g.heads; va.total_rows = R; va.max_len = P;
    va.scale = 1.0f / std::sqrt(static_cast<float>(va.d));  // the reference's fp32 1/sqrt(d)
    std::vector<double> hbuf;
    std::vector<u16> hbits;
    for (int l = 0; l < g.L; ++l) {
      VisionLayer& L = vlayers_[static_cast<size_t>(l)];
      vision_norm(h.data(), L.ln1_w, L.ln1_b, n.data(), R);
      vision_linear(vm::kBias, n.data(), L.qkv_w, L.qkv_b, nullptr, qkv.data(), nullptr, c32.data(), R, D, 3 * D);
      mm::gpu::launch_checked(*k_.vision_attention, va, nullptr, "cuda_model: vision_attention");
      vision_linear(vm::kBiasResidual, o.data(), L.o_w, L.o_b, h.data(), h2.data(), m.data(), c32.data(), R, D, D);
      if (cap) cap->layers[static_cast<size_t>(l)].attn = download_f32(m, RD);
      vision_norm(h2.data(), L.ln2_w, L.ln2_b, n.data(), R);
      vision_linear(vm::kBiasGelu, n.data(), L.fc1_w, L.fc1_b, nullptr, big.data(), nullptr, c32.data(), R, D, I);
      vision_linear(vm::kBiasResidual, big.data(), L.fc2_w, L.fc2_b, h2.data(), h.data(), m.data(), c32.data(), R, I, D);
      if (cap) cap->layers[static_cast<size_t>(l)].mlp = download_f32(m, RD);
      if (hook) {  // crop by crop, each on its [577, D] rows; what it leaves is rounded to bf16
        const std::vector<float> hf = download_f32(h, RD);
        hbuf.assign(hf.begin(), hf.end());
        for (int cr = 0; cr < crops; ++cr)
          hook(l, cr, P, D, hbuf.data() + static_cast<size_t>(cr) * P * D);
        hbits.resize(RD);
        for (size_t i = 0; i < RD; ++i) hbits[i] = f32_to_bits(static_cast<float>(hbuf[i]));
        mm::gpu::copy_to_device(h.data(), hbits.data(), RD * sizeof(u16));
      }
      if (cap) cap->layers[static_cast<size_t>(l)].output = download_f32(h, RD);
    }
    // The projector on every row of the tower's output, CLS rows included (1 in 577: rows are independent,
    // so the patch rows are what the reference computes on the CLS-dropped features); the packing kernel's
    // row map skips the CLS rows (ImageGeometry::cls), so no pass drops them.
    Buf<u16> p1(RH), p2(RH);
    vision_linear(vm::kBiasGelu, h.data(), p_l1_w_, p_l1_b_, nullptr, p1.data(), nullptr, c32.data(), R, D, H);
    vision_linear(vm::kBias, p1.data(), p_l2_w_, p_l2_b_, nullptr, p2.data(), nullptr, c32.data(), R, H, H);
    mm::vl_projector::Args ga;
    ga.features = p2.data(); ga.newline = p_newline_.data(); ga.table = embed_.data(); ga.row_map = dmap.data();
    ga.out = work_.x.data(); ga.rows = S; ga.Ht = H; ga.feature_rows = F; ga.vocab = V; ga.bad = nullptr;
    mm::gpu::launch_checked(*k_.vl_projector, ga, nullptr, "cuda_model: vl_projector");
    if (cap) {  // the reference's names: vision.features and projector.output without the CLS rows
      const auto patch_rows = [&](const Buf<u16>& b, int width) {
        const std::vector<float> all = download_f32(b, static_cast<size_t>(R) * width);
        std::vector<float> kept;
        kept.reserve(static_cast<size_t>(crops) * N * width);
        for (int cr = 0; cr < crops; ++cr)
          kept.insert(kept.end(), all.begin() + (static_cast<ptrdiff_t>(cr) * P + 1) * width,
                      all.begin() + (static_cast<ptrdiff_t>(cr) + 1) * P * width);
        return kept;
      };
      cap->features = patch_rows(h, D);
      cap->projector = patch_rows(p2, H);
      const std::vector<float> x = download_f32(work_.x, static_cast<size_t>(S) * H);
      for (int t = 0; t < S; ++t)  // the spliced rows, in prompt order: the packed image features
        if (ids[static_cast<size_t>(t)] == g.image_token_id)
          cap->image_features.insert(cap->image_features.end(), x.begin() + static_cast<ptrdiff_t>(t) * H,
                                     x.begin() + static_cast<ptrdiff_t>(t + 1) * H);
    }
    // the step's vision buffers are freed on return: wait for the kernels that read them
    mm::gpu::synchronize();
  }

  // lm_head on the last R rows of the final norm: [R, H] x [V, H]^T -> [R, V] (m = 1 for last_row).
  void head(int S, int R, StepOutput& out) {
    const Dims& c = d_;
    project(work_.n1.data() + static_cast<size_t>(S - R) * c.H, lm_head_.data(), R, c.V, c.H, f32_.data(), logits_.data());
    out.logits.resize(static_cast<size_t>(R) * c.V);
    download_f32(logits_, out.logits.size(), out.logits.data());
  }

  // Activations and the step's inputs for up to `rows` tokens, kept from step to step (ensure_work).
  // The logits and the fp32 GEMM scratch are apart (ensure_logits, ensure_f32): their rows follow the
  // logits rows asked for, not the step's tokens.
  struct Work {
    int rows = 0;
    Buf<u16> x, n1, y, n2, a, t1, t2, qkv, o, kk, vv, ewts, xperm, h, ye;
    Buf<int> in, eids, counts, offsets, perm, inv;  // in: [past, past + S, ids[rows]]
    Work() = default;
    Work(int S, const Dims& c) : rows(S) {
      const size_t s = static_cast<size_t>(S), H = c.H, inner = c.inner(), kvd = static_cast<size_t>(c.nkv) * c.d;
      const size_t n = s * c.k;
      x = Buf<u16>(s * H); n1 = Buf<u16>(s * H); y = Buf<u16>(s * H); n2 = Buf<u16>(s * H); a = Buf<u16>(s * H);
      t1 = Buf<u16>(s * std::max(3 * inner, H)); t2 = Buf<u16>(s * inner); qkv = Buf<u16>(s * 3 * inner);
      o = Buf<u16>(s * inner); kk = Buf<u16>(s * kvd); vv = Buf<u16>(s * kvd);
      in = Buf<int>(s + 2);
      eids = Buf<int>(n); ewts = Buf<u16>(n); counts = Buf<int>(static_cast<size_t>(c.E));
      offsets = Buf<int>(static_cast<size_t>(c.E) + 1); perm = Buf<int>(n); inv = Buf<int>(n);
      xperm = Buf<u16>(n * H); h = Buf<u16>(n * static_cast<size_t>(c.I)); ye = Buf<u16>(n * H);
    }
  };

#if MM_SIMT
  // The emulator's device memory is NaN-filled at allocation (device_memory.h) so that a kernel reading
  // what nobody wrote shows up. Step buffers now live across steps, so in the SIMT build (tests) they are
  // refilled with NaN bits before every step: a read of a previous step's values would otherwise pass
  // unnoticed. Not the index buffers (an all-ones index would read out of bounds, not show NaN), not
  // the step's uploaded inputs. The GPU build skips it: it costs bandwidth and the kernel tests poison
  // every output on the device too.
  void poison_step_buffers() {
    for (Buf<u16>* b : {&work_.x, &work_.n1, &work_.y, &work_.n2, &work_.a, &work_.t1, &work_.t2, &work_.qkv,
                        &work_.o, &work_.kk, &work_.vv, &work_.ewts, &work_.xperm, &work_.h, &work_.ye, &logits_})
      if (b->size()) mm::gpu::device_memset(b->data(), 0xFF, b->size() * sizeof(u16));
    if (f32_.size()) mm::gpu::device_memset(f32_.data(), 0xFF, f32_.size() * sizeof(float));
    if (dws_.size()) mm::gpu::device_memset(dws_.data(), 0xFF, dws_.size() * sizeof(float));
  }
#endif

  // The activations grow to the largest step so far, rounded up to 64 rows, and never shrink: decode
  // steps and prompts no longer than an earlier one allocate nothing.
  void ensure_work(int S) {
    if (S <= work_.rows) return;
    work_ = Work();  // free the old set first: the two are never held together
    work_ = Work((S + 63) / 64 * 64, d_);
    const Dims& c = d_;  // the projections' and the router's fp32 outputs, [rows, 3 inner | H | E]
    ensure_f32(static_cast<size_t>(work_.rows) * std::max({3 * c.inner(), c.H, c.E}));
  }

  // The bf16 logits [rows, V] (what sample() reads) and the lm_head's fp32 output in the shared scratch.
  // Grown like the activations, except that one row stays one row: a model only ever asked for last rows
  // holds [1, V], never [S, V].
  void ensure_logits(int R) {
    if (R <= logit_rows_) return;
    logit_rows_ = R == 1 ? 1 : (R + 63) / 64 * 64;
    logits_ = Buf<u16>();
    logits_ = Buf<u16>(static_cast<size_t>(logit_rows_) * d_.V);
    ensure_f32(static_cast<size_t>(logit_rows_) * d_.V);
  }

  // fp32 GEMM outputs before their bf16 store: one scratch for every projection and the lm_head, sized
  // for the larger of the two needs (ensure_work, ensure_logits).
  void ensure_f32(size_t floats) {
    if (floats <= f32_.size()) return;
    f32_ = Buf<float>();
    f32_ = Buf<float>(floats);
  }

  // The split-KV decode scratch grows with the context (more splits), by doubling: amortised, and it
  // stops growing once the split count reaches its cap (softmax_attention auto_split_size).
  float* decode_workspace(size_t floats) {
    if (floats > dws_.size()) {
      const size_t n = std::max({floats, 2 * dws_.size(), size_t{1}});
      dws_ = Buf<float>();
      dws_ = Buf<float>(n);
    }
    return dws_.data();
  }

  // c[m,n] f32 = a[m,k] b[n,k]^T
  static void project_f32(const u16* a, const u16* b, int m, int n, int k, float* c) {
    mm::gpu::gemm_linear(nullptr, m, n, k, reinterpret_cast<const __nv_bfloat16*>(a),
                         reinterpret_cast<const __nv_bfloat16*>(b), c);
  }
  // ... then stored as bf16 (the official Linear output dtype)
  static void project(const u16* a, const u16* b, int m, int n, int k, float* tmp, u16* out) {
    project_f32(a, b, m, n, k, tmp);
    const long long total = static_cast<long long>(m) * n;
    mm::gpu::launch(round_bf16_kernel, dim3(static_cast<unsigned>((total + 255) / 256)), dim3(256), 0, nullptr,
                    static_cast<const float*>(tmp), reinterpret_cast<__nv_bfloat16*>(out), total);
  }
  static void download_f32(const Buf<u16>& b, size_t n, float* dst) {
    std::vector<u16> host(n);
    mm::gpu::copy_to_host(host.data(), b.data(), n * sizeof(u16));
    for (size_t i = 0; i < n; ++i) dst[i] = bits_to_f32(host[i]);
  }
  static std::vector<float> download_f32(const Buf<u16>& b, size_t n) {
    std::vector<float> v(n);
    download_f32(b, n, v.data());
    return v;
  }

  // KV caches hold at least `need` rows (grown by doubling, the valid rows copied on the device).
  void ensure_capacity(int need) {
    if (need <= capacity_) return;
    int cap = std::max({need, 2 * capacity_, 256});
    if (d_.max_pos > 0) cap = static_cast<int>(std::min<int64_t>(cap, std::max<int64_t>(need, d_.max_pos)));
    const size_t row = static_cast<size_t>(d_.nkv) * d_.d, valid = static_cast<size_t>(pos_) * row * sizeof(u16);
    for (auto& L : layers_) {
      if (!L.softmax) continue;
      Buf<u16> nk(static_cast<size_t>(cap) * row), nv(static_cast<size_t>(cap) * row);
      mm::gpu::copy_device_to_device(nk.data(), L.kc.data(), valid);
      mm::gpu::copy_device_to_device(nv.data(), L.vc.data(), valid);
      L.kc = std::move(nk);
      L.vc = std::move(nv);
    }
    capacity_ = cap;
  }

  // The kernel version of each call site (chosen in the constructor; kernels() names them).
  struct Chosen {
    const mm::rmsnorm::Version* rmsnorm = nullptr;
    const mm::rmsnorm::ResidualVersion* residual_rmsnorm = nullptr;
    const mm::embedding::Version* embedding = nullptr;
    const mm::norm_gate::Version* norm_gate = nullptr;
    const mm::norm_gate::SiluVersion* silu = nullptr;
    const mm::lightning::Version* lightning_prefill = nullptr;
    const mm::lightning::Version* lightning_decode = nullptr;
    const mm::lightning::Version* lightning_recurrent = nullptr;
    const mm::sampling::Version* sampling = nullptr;
    const mm::moe::RouterVersion* router = nullptr;
    const mm::moe::PermuteVersion* permute = nullptr;
    const mm::moe::GatherVersion* gather = nullptr;
    const mm::moe::GroupedFfnVersion* grouped_ffn = nullptr;
    const mm::moe::CombineVersion* combine = nullptr;
    const mm::softmax_attention::RopeAppendVersion* rope_append = nullptr;  // null without softmax layers
    const mm::softmax_attention::PrefillVersion* softmax_prefill = nullptr;
    const mm::softmax_attention::DecodeVersion* softmax_decode = nullptr;
    // MiniMax-VL-01 (null for a text model); the Linears are vision_mlp::launch_linear's own pick per shape
    const mm::patch_embed::Version* patch_embed = nullptr;
    const mm::layer_norm::Version* layer_norm = nullptr;
    const mm::vision_attention::Version* vision_attention = nullptr;
    const mm::vl_projector::Version* vl_projector = nullptr;
  };

  Dims d_;
  Chosen k_;
  Buf<u16> embed_, final_norm_, lm_head_;
  Buf<float> inv_freq_;
  std::vector<Layer> layers_;
  std::unique_ptr<LayerStream> stream_;  // ModelOptions::stream_weights: the layers' large matrices
  mm::softmax_attention::AttnShape sh_;
  int64_t pos_ = 0;
  int capacity_ = 0;
  Work work_;
  Buf<float> f32_;            // fp32 GEMM scratch (ensure_f32)
  int logit_rows_ = 0;        // rows logits_ holds (ensure_logits)
  Buf<u16> logits_;           // [logit_rows_, V] bf16 logits of the last step (its first R rows)
  Buf<float> dws_;            // split-KV decode scratch (decode_workspace)
  std::vector<int> host_in_;  // staging for Work::in, reused
  mm::gpu::EventTimer timer_;
  int last_logit_rows_ = 0;   // rows of the last step's logits in logits_ (0: none since reset)
  Buf<float> sample_logits_;  // [V] the row being sampled, fp32
  Buf<double> sample_u_;      // [1] the uniform
  Buf<int> sample_out_;       // [2] token, NaN flag
  Buf<unsigned char> sample_ws_;
  // MiniMax-VL-01: the vision tower and projector (vd_.D == 0 for a text model)
  VisionDims vd_;
  Buf<u16> v_patch_, v_cls_, v_pos_, v_pre_w_, v_pre_b_, p_l1_w_, p_l1_b_, p_l2_w_, p_l2_b_, p_newline_;
  std::vector<VisionLayer> vlayers_;
};

}  // namespace detail

}  // namespace MM_BACKEND_NS
}  // namespace mm::cuda_model
