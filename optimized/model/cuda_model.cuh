// The model path on the optimized kernels (cuda_model.h), written once for both builds: included by
// cuda_model.cu (nvcc, backend_cuda: the stems' runners are declared by their *_runner.h and defined in
// their own .cu) and by cuda_model_sim.cpp (g++, backend_simt: the runners are header-inline *.cuh).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
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
#include "optimized/lightning_attention/lightning_attention_runner.cuh"
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.cuh"
#include "optimized/moe/moe_runner.cuh"
#include "optimized/rmsnorm/rmsnorm_runner.cuh"
#include "optimized/sampling/sampling_runner.cuh"
#include "optimized/softmax_attention/softmax_attention_runner.cuh"
#else
#include "optimized/embedding/embedding_runner.h"
#include "optimized/lightning_attention/lightning_attention_runner.h"
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.h"
#include "optimized/moe/moe_runner.h"
#include "optimized/rmsnorm/rmsnorm_runner.h"
#include "optimized/sampling/sampling_runner.h"
#include "optimized/softmax_attention/softmax_attention_api.h"
#endif
#include "optimized/model/cuda_model.h"

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

struct Layer {
  bool softmax = false;
  Buf<u16> input_norm, post_norm, qkv, gate, norm, out, q, k, v, o, router, w1, w3, w2;
  Buf<float> slopes, state;  // lightning: [nh], [nh, d, d]
  Buf<u16> kc, vc;           // softmax: [capacity, nkv*d]
};

class ModelImpl final : public Model {
 public:
  explicit ModelImpl(const HostWeights& w) : d_(w.dims) {
    const Dims& c = d_;
    if (static_cast<int>(w.layers.size()) != c.L) throw std::invalid_argument("cuda_model: layer count mismatch");
    embed_ = upload(w.embed);
    final_norm_ = upload(w.final_norm);
    lm_head_ = upload(w.lm_head);
    for (int l = 0; l < c.L; ++l) {
      const LayerHostWeights& h = w.layers[static_cast<size_t>(l)];
      Layer L;
      L.softmax = c.softmax[static_cast<size_t>(l)] != 0;
      L.input_norm = upload(h.input_norm);
      L.post_norm = upload(h.post_norm);
      if (L.softmax) {
        L.q = upload(h.q); L.k = upload(h.k); L.v = upload(h.v); L.o = upload(h.o);
      } else {
        L.qkv = upload(h.qkv); L.gate = upload(h.gate); L.norm = upload(h.norm); L.out = upload(h.out);
        L.slopes = Buf<float>(c.slopes[static_cast<size_t>(l)]);
        L.state = Buf<float>(static_cast<size_t>(c.nh) * c.d * c.d);
      }
      L.router = upload(h.router); L.w1 = upload(h.w1); L.w3 = upload(h.w3); L.w2 = upload(h.w2);
      layers_.push_back(std::move(L));
    }
    std::vector<float> freq(static_cast<size_t>(c.rd / 2));
    for (int i = 0; i < c.rd / 2; ++i) freq[static_cast<size_t>(i)] = static_cast<float>(1.0 / std::pow(c.theta, (2.0 * i) / c.rd));
    inv_freq_ = Buf<float>(freq.empty() ? std::vector<float>{0.f} : freq);
    sh_.n_h = c.nh; sh_.n_kv = c.nkv; sh_.d = c.d; sh_.rd = c.rd; sh_.theta = c.theta;
    // kernel versions: the fastest that takes the shape (lists are ordered slow -> fast)
    mm::lightning::Args probe;
    probe.n_h = c.nh; probe.d = c.d; probe.block = c.block; probe.T = 2; probe.ld_qkv = 3LL * c.inner();
    const auto& pv = mm::lightning::prefill_versions();
    for (int i = static_cast<int>(pv.size()) - 1; i >= 0 && lp_ < 0; --i) if (pv[static_cast<size_t>(i)].supports(probe)) lp_ = i;
    probe.T = 1;
    const auto& dv = mm::lightning::decode_versions();
    for (int i = static_cast<int>(dv.size()) - 1; i >= 0 && ld_ < 0; --i) if (dv[static_cast<size_t>(i)].supports(probe)) ld_ = i;
    if (lp_ < 0 || ld_ < 0) throw std::invalid_argument("cuda_model: no lightning kernel takes head_dim " + std::to_string(c.d));
    // softmax attention: the tensor-core versions where they take the head dim (and, for split-KV decode,
    // a GQA group of at most 16 heads), v1 otherwise (e.g. the goldens' head dims 16 and 24)
    namespace sa = mm::softmax_attention;
    sp_ = sa::prefill_supports(2, c.d) ? 2 : 0;
    sd_ = sa::decode_supports(1, c.d) && c.nh / c.nkv <= 16 ? 1 : 0;
    if (c.L > 0 && !sa::head_dim_known(c.d) &&
        std::any_of(c.softmax.begin(), c.softmax.end(), [](auto x) { return x != 0; }))
      throw std::invalid_argument("cuda_model: no softmax attention kernel takes head_dim " + std::to_string(c.d));
    // sampling: the fastest version; its buffers are made once here (a few MiB at V = 200064)
    sv_ = mm::sampling_gpu::num_versions() - 1;
    sample_logits_ = Buf<float>(static_cast<size_t>(c.V));
    sample_u_ = Buf<double>(1);
    sample_out_ = Buf<int>(2);
    sample_ws_ = Buf<unsigned char>(std::max<size_t>(1, mm::sampling_gpu::workspace_bytes(sv_, 1, c.V)));
    reset();
  }

  const Dims& dims() const override { return d_; }
  int64_t position() const override { return pos_; }
  std::string kernels() const override {
    return std::string("lightning prefill ") + mm::lightning::prefill_versions()[static_cast<size_t>(lp_)].name +
           ", lightning decode " + mm::lightning::decode_versions()[static_cast<size_t>(ld_)].name + ", softmax " +
           mm::softmax_attention::kPrefillVersions[sp_] + " / " + mm::softmax_attention::kDecodeVersions[sd_] +
           ", moe v2 (tile by rows per expert), rmsnorm/norm-gate v2/v3, embedding v2, sampling " +
           mm::sampling_gpu::version_name(sv_) + ", gemm via optimized/common/gemm.h";
  }
  uint64_t device_allocations() const override { return mm::gpu::device_allocations(); }
  uint64_t device_allocated_bytes() const override { return mm::gpu::device_allocated_bytes(); }

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
                  Logits logits) override {
    const Dims& c = d_;
    const int S = static_cast<int>(in.tokens.size());
    if (S == 0) throw std::invalid_argument("cuda_model: empty token list");
    last_logit_rows_ = 0;  // the last step's logits are overwritten (or reallocated) from here on: a step
                           // that throws leaves none to sample
    // Timing marks (time_layers): 0 step start, 2l+1 / 2l+2 layer l start / end, 2L+1 step end. Events on
    // the GPU: recorded without waiting, read after the one synchronisation at the end of the step.
    if (time_layers) timer_.record(0);
    const int past = static_cast<int>(pos_);
    // logits rows: all S, or the last only (its lm_head input is row S-1 of the final norm, in w.n1)
    const int R = logits == Logits::all_rows ? S : 1;
    embed_step(in.tokens, past, R);
    if (time_layers) timer_.record(1);
    StepOutput out;
    out.S = S;
    if (capture) out.layers.resize(static_cast<size_t>(c.L));
    const size_t SH = static_cast<size_t>(S) * c.H;
    const bool decode = S == 1 && past > 0;
    float* dws = decode ? decode_workspace(mm::softmax_attention::decode_workspace_floats(sd_, sh_, 1, capacity_, past + 1, 0))
                        : nullptr;
    Work& w = work_;
    for (int l = 0; l < c.L; ++l) {
      Layer& L = layers_[static_cast<size_t>(l)];
      LayerCapture* lc = capture ? &out.layers[static_cast<size_t>(l)] : nullptr;
      // a = attention(n1); y = deepnorm(postnorm ? n1 : x, a); n2 = LN2(y)
      if (!L.softmax) lightning_block(L, S, past, decode, lc);
      else softmax_block(L, S, past, decode, dws);
      if (lc) lc->attn_out = download_f32(w.a, SH);
      const double alpha = L.softmax ? c.alpha_full : c.alpha_linear, beta = L.softmax ? c.beta_full : c.beta_linear;
      residual_norm(c.postnorm ? w.n1.data() : w.x.data(), L.post_norm.data(), w.y.data(), w.n2.data(), S, alpha, beta);
      // a = MoE(n2); out = deepnorm(postnorm ? n2 : y, a) -> x; n1 = next layer's LN1(out) (the final norm
      // after the last layer)
      moe_block(L, S, lc);
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
    mm::sampling_gpu::launch_sample(sv_, sample_logits_.data(), 1, V, temperature, top_k, top_p, sample_u_.data(),
                                    sample_out_.data(), sample_ws_.data(), nullptr);
    int res[2] = {0, 0};  // token, NaN flag
    mm::gpu::copy_to_host(res, sample_out_.data(), sizeof res);
    mm::require(res[1] == 0, "sample: logits contain NaN");
    return res[0];
  }

 private:
  // --- the stages of step() -------------------------------------------------------------------------

  // Sizes the buffers for S tokens at `past` and R logits rows, uploads the step's small inputs, and
  // runs the embedding and the first layer's input norm: x = embed[ids], n1 = LN1_0(x).
  void embed_step(const std::vector<int64_t>& tokens, int past, int R) {
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
    mm::embedding_gpu::launch_embedding(1, embed_.data(), dids, w.x.data(), S, c.H, c.V, nullptr, nullptr);
    mm::rmsnorm_gpu::launch_rmsnorm(2, w.x.data(), layers_[0].input_norm.data(), w.n1.data(), S, c.H,
                                    static_cast<float>(c.rms_eps), nullptr);
  }

  // Lightning attention on n1 -> a [S, H]: qkv = silu(n1 Wqkv^T); o = lightning(qkv) (block prefill from a
  // zero state, token recurrence when continuing, the decode kernel for one token); a = Wout(norm_gate(o, g)).
  void lightning_block(Layer& L, int S, int past, bool decode, LayerCapture* lc) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, inner = c.inner();
    project(w.n1.data(), L.qkv.data(), S, 3 * inner, H, f32, w.t1.data());
    mm::norm_gate_gpu::launch_silu(1, w.t1.data(), w.qkv.data(), static_cast<size_t>(S) * 3 * inner, nullptr);
    mm::lightning::Args a;
    a.qkv = w.qkv.data(); a.ld_qkv = 3LL * inner; a.seq_stride_qkv = a.ld_qkv * S;
    a.s = L.slopes.data(); a.state = L.state.data();
    a.o = w.o.data(); a.ld_o = inner; a.seq_stride_o = 1LL * inner * S;
    a.nb = 1; a.T = S; a.n_h = c.nh; a.d = c.d; a.block = c.block;
    const mm::lightning::Version& v = decode ? mm::lightning::decode_versions()[static_cast<size_t>(ld_)]
                                      : past == 0 ? mm::lightning::prefill_versions()[static_cast<size_t>(lp_)]
                                                  : mm::lightning::prefill_versions()[0];  // token recurrence
    if (!v.supports(a)) throw std::invalid_argument(std::string("cuda_model: lightning ") + v.name + " does not take the shape");
    v.launch(a, nullptr);
    if (lc) lc->lightning_attn = download_f32(w.o, static_cast<size_t>(S) * inner);
    project(w.n1.data(), L.gate.data(), S, inner, H, f32, w.t1.data());  // gate projection (pre-sigmoid)
    mm::norm_gate_gpu::launch_norm_gate(2, w.o.data(), w.t1.data(), L.norm.data(), w.t2.data(), S, inner,
                                        static_cast<float>(c.lightning_eps), nullptr);
    project(w.t2.data(), L.out.data(), S, H, inner, f32, w.a.data());
  }

  // Softmax attention (GQA, RoPE on half the head) on n1 -> a [S, H]: q, k, v projections, RoPE and the
  // append of k, v to the layer's cache, then the prefill kernel (causal over past + S) or, for one
  // token, the split-KV decode kernel (workspace `dws`).
  void softmax_block(Layer& L, int S, int past, bool decode, float* dws) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, inner = c.inner(), kvd = c.nkv * c.d;
    const int *dpast = w.in.data(), *dlens = w.in.data() + 1;
    project(w.n1.data(), L.q.data(), S, inner, H, f32, w.t1.data());
    project(w.n1.data(), L.k.data(), S, kvd, H, f32, w.kk.data());
    project(w.n1.data(), L.v.data(), S, kvd, H, f32, w.vv.data());
    mm::softmax_attention::enqueue_rope_append(nullptr, sh_, w.t1.data(), w.kk.data(), w.vv.data(), w.t2.data(),
                                               L.kc.data(), L.vc.data(), dpast, inv_freq_.data(), S, S, capacity_);
    if (decode) {
      mm::softmax_attention::enqueue_decode(sd_, nullptr, sh_, w.t2.data(), L.kc.data(), L.vc.data(), dlens,
                                            w.o.data(), 1, capacity_, past + 1, 0, dws);
    } else {
      mm::softmax_attention::enqueue_prefill(sp_, nullptr, sh_, w.t2.data(), L.kc.data(), L.vc.data(), w.o.data(), S,
                                             past);
    }
    project(w.o.data(), L.o.data(), S, H, inner, f32, w.a.data());
  }

  // DeepNorm residual and the next RMSNorm: y = bf16(bf16(r*alpha) + bf16(a*beta)) with a = w.a, n = RMSNorm_w(y).
  void residual_norm(const u16* r, const u16* norm_w, u16* y, u16* n, int S, double alpha, double beta) {
    mm::rmsnorm_gpu::launch_residual_rmsnorm(2, r, work_.a.data(), norm_w, y, n, S, d_.H, static_cast<float>(alpha),
                                             static_cast<float>(beta), static_cast<float>(d_.rms_eps), nullptr);
  }

  // The top-k MoE on n2 -> a [S, H]: router GEMM (fp32 out), top-k + weights, permutation by expert,
  // gather, the grouped expert FFN, and the weighted combine back to token order.
  void moe_block(Layer& L, int S, LayerCapture* lc) {
    const Dims& c = d_;
    Work& w = work_;
    float* const f32 = f32_.data();
    const int H = c.H, E = c.E, K = c.k, n = S * K;
    project_f32(w.n2.data(), L.router.data(), S, E, H, f32);
    mm::moe::dev_router(f32, S, E, K, w.eids.data(), w.ewts.data(), nullptr);
    if (lc) {
      lc->router_logits.resize(static_cast<size_t>(S) * E);
      mm::gpu::copy_to_host(lc->router_logits.data(), f32, lc->router_logits.size() * sizeof(float));
      for (float& x : lc->router_logits) x = bits_to_f32(f32_to_bits(x));  // the router kernel's bf16 view
      lc->router_experts.resize(static_cast<size_t>(n));
      mm::gpu::copy_to_host(lc->router_experts.data(), w.eids.data(), lc->router_experts.size() * sizeof(int));
    }
    mm::moe::dev_permute(w.eids.data(), S, E, K, w.counts.data(), w.offsets.data(), w.perm.data(), w.inv.data(), nullptr);
    mm::moe::dev_gather(w.n2.data(), w.perm.data(), n, H, w.xperm.data(), nullptr);
    mm::moe::dev_grouped_ffn(mm::moe::FfnVersion::v2, w.xperm.data(), w.offsets.data(), n, E, H, c.I, L.w1.data(),
                             L.w3.data(), L.w2.data(), w.h.data(), w.ye.data(), nullptr);
    mm::moe::dev_combine(w.ye.data(), w.eids.data(), w.ewts.data(), w.inv.data(), S, K, H, w.a.data(), nullptr);
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
    mm::rmsnorm_gpu::launch_rmsnorm(2, w.x.data(), next_w, w.n1.data(), S, d_.H, static_cast<float>(d_.rms_eps), nullptr);
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

  Dims d_;
  Buf<u16> embed_, final_norm_, lm_head_;
  Buf<float> inv_freq_;
  std::vector<Layer> layers_;
  mm::softmax_attention::AttnShape sh_;
  int lp_ = -1, ld_ = -1, sp_ = 2, sd_ = 1, sv_ = 0;
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
};

}  // namespace detail

}  // namespace MM_BACKEND_NS
}  // namespace mm::cuda_model
