// Softmax attention kernels on the GPU (MiniMax-Text-01 softmax layers: 64 query heads, 8 KV heads,
// head_dim 128, rotary_dim 64, theta 1e7). CUDA-event timing (manual time), analytic counters, one
// counter scheme (bench/gpu/gpu_bench_util.h: us, GB/s | TFLOP/s, copy_GB/s | cublas_TFLOP/s,
// pct_of_ceiling):
//   BM_Prefill/version:v/S:s   causal, FLOPs = 4 * S^2/2 * d * n_h (QK^T and PV, causal half). Ceiling:
//            cublas_TFLOP/s of a cuBLAS bf16 GEMM (8192^3, through optimized/common/gemm.h) measured in
//            the same benchmark. Target (issue 5): >= 45 % at S = 8192.
//   BM_Decode/version:v/batch:b/len:l   bytes = the K/V read, sum_b len_b * n_kv * d * 2 (K and V) * 2 B.
//            Ceiling: copy_GB/s of a device-to-device copy moving the same traffic, same benchmark.
//            Target (issue 5): >= 80 %.
//   BM_RopeAppend/T:t   bytes = q, k, v read + q_rot, k, v written. Ceiling: copy_GB/s as for decode.
//            Target (issue 5, elementwise): >= 85 %.
// Without a device every benchmark reports SkipWithError("no CUDA device").
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#define MM_SOFTMAX_ATTENTION_DECLARE_CUDA 1
#include "optimized/softmax_attention/softmax_attention_api.h"

namespace sa = mm::softmax_attention::backend_cuda;
using mm::softmax_attention::AttnShape;

namespace {

namespace mb = mm::bench;

void ck(cudaError_t e, const char* what) { mb::cuda_check(e, what); }

template <class T>
using Dev = mb::DevArray<T>;

// N(0, scale^2) bf16 values (a cached host pattern tiled over the buffer: timing only).
void fill_random(Dev<uint16_t>& d, uint64_t seed, float scale = 1.0f) { mb::fill_bf16_normal(d.p, d.n, seed, scale); }

// The compute ceiling: cuBLAS bf16 GEMM 8192^3 (TFLOP/s), through the runner's optimized/common/gemm.h call.
double cublas_tflops() {
  return mb::cublas_tflops(8192, 8192, 8192, [](const uint16_t* a, const uint16_t* b, float* c, int m, int n, int k) {
    sa::gemm_bf16_nk(nullptr, m, n, k, a, b, c);
  });
}

const AttnShape kModel{64, 8, 128, 64, 1e7};

void BM_Prefill(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const int version = static_cast<int>(state.range(0)), S = static_cast<int>(state.range(1));
  const AttnShape sh = kModel;
  Dev<uint16_t> q(size_t(S) * sh.n_h * sh.d), kc(size_t(S) * sh.n_kv * sh.d), vc(kc.n), o(q.n);
  fill_random(q, 3);
  fill_random(kc, 4);
  fill_random(vc, 5);
  const mm::softmax_attention::PrefillVersion& v = sa::prefill_versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  mm::softmax_attention::PrefillArgs a;
  a.sh = sh; a.q_rot = q.p; a.k_cache = kc.p; a.v_cache = vc.p; a.o = o.p; a.T = S; a.past = 0;
  const double flops = 4.0 * (double(S) * S / 2) * sh.d * sh.n_h;
  const double bytes = 2.0 * (double(q.n) * 2 + double(kc.n) * 2);  // q, k, v read + o written (the floor)
  mb::run_timed_compute(state, flops, bytes, [] { return cublas_tflops(); },
                        [&] { v.launch(a, nullptr); });
}

void BM_Decode(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const int version = static_cast<int>(state.range(0)), B = static_cast<int>(state.range(1));
  const int len = static_cast<int>(state.range(2));
  const AttnShape sh = kModel;
  const int cap = len;
  std::vector<int> lens(B);
  long long keys = 0;
  int max_len = 0;
  for (int b = 0; b < B; ++b) {  // different lengths, none a multiple of the split size
    lens[b] = std::max(1, len - 37 * b - 5);
    keys += lens[b];
    max_len = std::max(max_len, lens[b]);
  }
  const size_t row = size_t(sh.n_kv) * sh.d;
  Dev<uint16_t> q(size_t(B) * sh.n_h * sh.d), o(q.n), kc(size_t(B) * cap * row), vc(kc.n);
  Dev<int> dl(B);
  fill_random(q, 6);
  ck(cudaMemset(kc.p, 0x3F, kc.n * 2), "memset");  // 0x3F3F = 0.746 in bf16: finite, timing only
  ck(cudaMemset(vc.p, 0x3E, vc.n * 2), "memset");
  ck(cudaMemcpy(dl.p, lens.data(), B * sizeof(int), cudaMemcpyHostToDevice), "upload");
  const int split = sa::auto_split_size(sh, B, max_len);
  const mm::softmax_attention::DecodeVersion& v = sa::decode_versions()[static_cast<size_t>(version)];
  mm::softmax_attention::DecodeArgs a;
  a.sh = sh; a.q_rot = q.p; a.k_cache = kc.p; a.v_cache = vc.p; a.lens = dl.p; a.o = o.p;
  a.B = B; a.capacity = cap; a.max_len = max_len; a.split_size = split;
  Dev<float> ws(std::max<size_t>(1, sa::decode_workspace_floats(v, a)));
  a.workspace = ws.p;
  state.SetLabel(v.name);
  const double bytes = double(keys) * row * 2 * 2;
  mb::run_timed(state, static_cast<size_t>(bytes), 0, [&] { v.launch(a, nullptr); });
  state.counters["split"] = split;
}

void BM_RopeAppend(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const int T = static_cast<int>(state.range(0));
  const AttnShape sh = kModel;
  Dev<uint16_t> q(size_t(T) * sh.n_h * sh.d), k(size_t(T) * sh.n_kv * sh.d), v(k.n), qr(q.n), kc(k.n), vc(k.n);
  fill_random(q, 7);
  fill_random(k, 8);
  fill_random(v, 9);
  std::vector<float> inv(sh.rd / 2);
  for (int i = 0; i < sh.rd / 2; ++i) inv[i] = static_cast<float>(1.0 / std::pow(sh.theta, (2.0 * i) / sh.rd));
  Dev<float> dinv(inv.size());
  Dev<int> dpast(1);
  const int zero = 0;
  ck(cudaMemcpy(dinv.p, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice), "upload");
  ck(cudaMemcpy(dpast.p, &zero, 4, cudaMemcpyHostToDevice), "upload");
  const double bytes = 2.0 * 2.0 * (double(q.n) + 2.0 * k.n);
  mm::softmax_attention::RopeAppendArgs a;
  a.sh = sh; a.q = q.p; a.k = k.p; a.v = v.p; a.q_rot = qr.p; a.k_cache = kc.p; a.v_cache = vc.p; a.past = dpast.p;
  a.inv_freq = dinv.p; a.rows = T; a.rows_per_seq = T; a.capacity = T;
  const mm::softmax_attention::RopeAppendVersion& ver = sa::rope_append_versions().front();
  mb::run_timed(state, static_cast<size_t>(bytes), 0, [&] { ver.launch(a, nullptr); });
}

}  // namespace

BENCHMARK(BM_Prefill)
    ->Args({1, 8192})->Args({2, 8192})->Args({1, 4096})->Args({2, 4096})->Args({1, 16384})->Args({2, 16384})
    ->Args({0, 2048})->Args({1, 2048})->Args({2, 2048})
    ->ArgNames({"version", "S"})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)
    ->Args({1, 8, 32768})->Args({1, 32, 8192})->Args({1, 1, 131072})->Args({1, 64, 4096})->Args({0, 8, 32768})
    ->ArgNames({"version", "batch", "len"})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RopeAppend)->Arg(8192)->ArgNames({"T"})->UseManualTime()->Unit(benchmark::kMicrosecond);

MM_GPU_BENCH_MAIN();
