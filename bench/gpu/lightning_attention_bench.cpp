// Lightning-attention kernels on the GPU (optimized/lightning_attention), MiniMax-Text-01 shapes:
// 64 heads x 128, decay rates of layer 0 (s from 0.917 down to 0.0039), block B = 256.
//   Prefill/<version>/T     one sequence of T tokens (v3 4-warp and 8-warp variants at every T; v2, v1 at 4K); FLOPs of the block algorithm (per head and block of m
//                           rows: Q K^T 2 m^2 d + P V 2 m^2 d + inter Q KV 2 m d^2 + KV update 2 m d^2),
//                           reported as TFLOP/s; GemmSameFlops/T is a cuBLAS bf16 GEMM (4096 x 4096 x k)
//                           with the same FLOP count, measured in this program for comparison.
//   Decode/<version>/nb     one token for each of nb sequences; bytes = fp32 state read + written (2 x nb x
//                           64 x 128 x 128 x 4); D2DCopy/nb copies the same state bytes with cudaMemcpyAsync
//                           (also 2 x bytes of traffic). Target on H100: decode >= 80 % of the copy's GB/s.
// CUDA-event timing (manual time); each benchmark skips with an error when there is no CUDA device.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#define MM_LIGHTNING_DECLARE_CUDA 1
#include "optimized/lightning_attention/lightning_attention_runner.h"

namespace {

namespace gpu = mm::lightning::backend_cuda;

constexpr int kHeads = 64, kD = 128, kBlock = 256;

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

template <class T>
struct Dev {
  T* p = nullptr;
  explicit Dev(size_t n) { ck(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc"); }
  ~Dev() { cudaFree(p); }
};

// Fills bf16 bits with small pseudo-random values (silu-like range), host side once.
void fill_bf16(uint16_t* dev, size_t n, uint32_t seed) {
  std::vector<uint16_t> h(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& v : h) {
    x = x * 1664525u + 1013904223u;
    const float f = (static_cast<float>(x >> 8) / 16777216.0f - 0.3f) * 0.5f;
    uint32_t u;
    std::memcpy(&u, &f, 4);
    v = static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
  }
  ck(cudaMemcpy(dev, h.data(), n * 2, cudaMemcpyHostToDevice), "upload");
}

std::vector<float> slopes_layer0() {
  std::vector<float> s(kHeads);
  for (int h = 0; h < kHeads; ++h) s[h] = static_cast<float>(std::pow(2.0, -(h + 1) / 8.0) * (1.0 + 1e-5));
  return s;
}

// Useful work of the block algorithm per head and block of m tokens, counted like the softmax-attention
// benchmark counts causal attention (only the causal half of the intra-block products):
//   intra  Q K^T and (QK^T . M) V over the m(m+1)/2 causal pairs: 2 * 2 * d * m(m+1)/2
//   inter  (Q . decay) KV: 2 * m * d * d;  state update K^T V: 2 * m * d * d
// Kernels that compute masked tiles anyway do more arithmetic than this; it is not counted as useful.
double block_algorithm_flops(long long T) {
  double f = 0;
  for (long long si = 0; si < T; si += kBlock) {
    const double m = static_cast<double>(std::min<long long>(kBlock, T - si));
    f += 2.0 * m * (m + 1) * kD + 4.0 * m * kD * kD;
  }
  return f * kHeads;
}

// Times `body` with CUDA events; one benchmark iteration = `reps` launches.
template <class F>
void timed(benchmark::State& state, int reps, F&& body) {
  cudaEvent_t a, b;
  ck(cudaEventCreate(&a), "event");
  ck(cudaEventCreate(&b), "event");
  body();  // warm-up
  ck(cudaDeviceSynchronize(), "sync");
  for (auto _ : state) {
    ck(cudaEventRecord(a), "record");
    for (int r = 0; r < reps; ++r) body();
    ck(cudaEventRecord(b), "record");
    ck(cudaEventSynchronize(b), "sync");
    float ms = 0;
    ck(cudaEventElapsedTime(&ms, a, b), "elapsed");
    state.SetIterationTime(ms / 1e3 / reps);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
}

const mm::lightning::Version* find(const std::vector<mm::lightning::Version>& vs, const std::string& name) {
  for (const auto& v : vs)
    if (name == v.name) return &v;
  return nullptr;
}

void BM_Prefill(benchmark::State& state, const std::string& version) {
  if (!have_device()) { state.SkipWithError("no CUDA device"); return; }
  const long long T = state.range(0);
  const auto* v = find(gpu::prefill_versions(), version);
  mm::lightning::Args a;
  a.nb = 1;
  a.T = static_cast<int>(T);
  a.n_h = kHeads;
  a.d = kD;
  a.block = kBlock;
  a.ld_qkv = 3LL * kHeads * kD;
  a.seq_stride_qkv = a.ld_qkv * T;
  a.ld_o = 1LL * kHeads * kD;
  a.seq_stride_o = a.ld_o * T;
  if (!v || !v->supports(a)) { state.SkipWithError("version does not take this shape"); return; }
  Dev<uint16_t> qkv(size_t(a.seq_stride_qkv)), o(size_t(a.seq_stride_o));
  Dev<float> s(kHeads), st(size_t(kHeads) * kD * kD);
  fill_bf16(qkv.p, size_t(a.seq_stride_qkv), 1);
  const auto sl = slopes_layer0();
  ck(cudaMemcpy(s.p, sl.data(), kHeads * 4, cudaMemcpyHostToDevice), "upload");
  ck(cudaMemset(st.p, 0, size_t(kHeads) * kD * kD * 4), "memset");
  a.qkv = qkv.p;
  a.s = s.p;
  a.state = st.p;
  a.o = o.p;
  timed(state, 3, [&] { v->launch(a, nullptr); });
  const double flops = block_algorithm_flops(T);
  state.counters["TFLOP/s"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(double(a.seq_stride_qkv + a.seq_stride_o) * 2 / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GemmSameFlops(benchmark::State& state) {
  if (!have_device()) { state.SkipWithError("no CUDA device"); return; }
  const long long T = state.range(0);
  const int m = 4096, n = 4096;
  int k = static_cast<int>(std::llround(block_algorithm_flops(T) / (2.0 * m * n) / 64.0)) * 64;
  if (k < 64) k = 64;
  Dev<uint16_t> A(size_t(m) * k), B(size_t(n) * k);
  Dev<float> C(size_t(m) * n);
  fill_bf16(A.p, size_t(m) * k, 2);
  fill_bf16(B.p, size_t(n) * k, 3);
  timed(state, 3, [&] { gpu::gemm_bf16_nk(nullptr, m, n, k, A.p, B.p, C.p); });
  state.counters["TFLOP/s"] = benchmark::Counter(2.0 * m * n * k / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["k"] = k;
}

void BM_Decode(benchmark::State& state, const std::string& version) {
  if (!have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int nb = static_cast<int>(state.range(0));
  const auto* v = find(gpu::decode_versions(), version);
  mm::lightning::Args a;
  a.nb = nb;
  a.T = 1;
  a.n_h = kHeads;
  a.d = kD;
  a.ld_qkv = 3LL * kHeads * kD;
  a.seq_stride_qkv = a.ld_qkv;
  a.ld_o = 1LL * kHeads * kD;
  a.seq_stride_o = a.ld_o;
  if (!v || !v->supports(a)) { state.SkipWithError("version does not take this shape"); return; }
  const size_t state_elems = size_t(nb) * kHeads * kD * kD;
  Dev<uint16_t> qkv(size_t(nb) * a.ld_qkv), o(size_t(nb) * a.ld_o);
  Dev<float> s(kHeads), st(state_elems);
  fill_bf16(qkv.p, size_t(nb) * a.ld_qkv, 4);
  const auto sl = slopes_layer0();
  ck(cudaMemcpy(s.p, sl.data(), kHeads * 4, cudaMemcpyHostToDevice), "upload");
  ck(cudaMemset(st.p, 0, state_elems * 4), "memset");
  a.qkv = qkv.p;
  a.s = s.p;
  a.state = st.p;
  a.o = o.p;
  timed(state, 20, [&] { v->launch(a, nullptr); });
  state.counters["GB/s"] = benchmark::Counter(2.0 * state_elems * 4 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_D2DCopy(benchmark::State& state) {
  if (!have_device()) { state.SkipWithError("no CUDA device"); return; }
  const size_t bytes = size_t(state.range(0)) * kHeads * kD * kD * 4;
  Dev<unsigned char> src(bytes), dst(bytes);
  ck(cudaMemset(src.p, 0, bytes), "memset");
  timed(state, 20, [&] { ck(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice, nullptr), "copy"); });
  state.counters["GB/s"] = benchmark::Counter(2.0 * bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void prefill_args(benchmark::internal::Benchmark* b) {
  for (long long T : {4096LL, 8192LL, 16384LL, 32768LL, 65536LL}) b->Arg(T);
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}
void decode_args(benchmark::internal::Benchmark* b) {
  for (int nb : {1, 8, 32, 64}) b->Arg(nb);
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_Prefill, v3_block_mma, std::string("v3_block_mma"))->Apply(prefill_args);
BENCHMARK_CAPTURE(BM_Prefill, v3_block_mma_w8, std::string("v3_block_mma_w8"))->Apply(prefill_args);
BENCHMARK(BM_GemmSameFlops)->Apply(prefill_args);
BENCHMARK_CAPTURE(BM_Prefill, v2_block_simt, std::string("v2_block_simt"))->Arg(4096)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Prefill, v1_recurrent, std::string("v1_recurrent"))->Arg(4096)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, decode_v1_column, std::string("decode_v1_column"))->Apply(decode_args);
BENCHMARK_CAPTURE(BM_Decode, decode_v2_vec4, std::string("decode_v2_vec4"))->Apply(decode_args);
BENCHMARK(BM_D2DCopy)->Apply(decode_args);

}  // namespace

BENCHMARK_MAIN();
