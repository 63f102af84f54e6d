// Lightning-attention kernels on the GPU (optimized/lightning_attention), MiniMax-Text-01 shapes:
// 64 heads x 128, decay rates of layer 0 (s from 0.917 down to 0.0039), block B = 256.
//   BM_Prefill/version:v/T:t  one sequence of T tokens (v3 4-warp and 8-warp variants at every T; v2, v1
//                             at 4K); FLOPs of the block algorithm (per head and block of m rows: causal
//                             Q K^T and P V 2 m(m+1) d, inter Q KV 2 m d^2, KV update 2 m d^2) as TFLOP/s.
//                             Ceiling, measured in the same benchmark: cublas_TFLOP/s of a cuBLAS bf16 GEMM
//                             (4096 x 4096 x k, k chosen for the same FLOP count). No issue-5 target.
//   BM_Decode/version:v/nb:n  one token for each of nb sequences; bytes = fp32 state read + written
//                             (2 x nb x 64 x 128 x 128 x 4). Ceiling, measured in the same benchmark:
//                             copy_GB/s of a device-to-device copy moving the same traffic, 20 back-to-back
//                             calls per event pair on both sides. Target (issue 5): >= 80 % of copy_GB/s.
// Counters and timing: bench/gpu/gpu_bench_util.h (us, GB/s, TFLOP/s, copy_GB/s or cublas_TFLOP/s,
// pct_of_ceiling). Each benchmark skips with an error when there is no CUDA device.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/gpu/gpu_bench_util.h"

#define MM_LIGHTNING_DECLARE_CUDA 1
#include "optimized/lightning_attention/lightning_attention_runner.h"

namespace {

namespace gpu = mm::lightning::backend_cuda;
namespace mb = mm::bench;

constexpr int kHeads = 64, kD = 128, kBlock = 256;
// The versions benchmarked, by name (the `version` argument indexes these tables).
constexpr const char* kPrefillVersions[] = {"v3_block_mma", "v3_block_mma_w8", "v2_block_simt", "v1_recurrent"};
constexpr const char* kDecodeVersions[] = {"decode_v1_column", "decode_v2_vec4"};

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

// Device inputs of one launch, wired into `a`: qkv [qkv_elems] bf16 ~ N(0, 0.2) (seeded), o [o_elems]
// bf16, the layer-0 slopes [n_h] fp32, and a zero fp32 state [state_elems].
struct Buffers {
  mb::DevMem qkv, o, s, st;
  Buffers(mm::lightning::Args& a, size_t qkv_elems, size_t o_elems, size_t state_elems, uint64_t seed)
      : qkv(qkv_elems * 2), o(o_elems * 2), s(kHeads * 4), st(state_elems * 4) {
    mb::fill_bf16_normal(qkv.p, qkv_elems, seed, 0.2f);
    const auto sl = slopes_layer0();
    mb::cuda_check(cudaMemcpy(s.p, sl.data(), kHeads * 4, cudaMemcpyHostToDevice), "upload");
    mb::cuda_check(cudaMemset(st.p, 0, st.bytes), "memset");
    a.qkv = qkv.as<uint16_t>();
    a.s = s.as<float>();
    a.state = st.as<float>();
    a.o = o.as<uint16_t>();
  }
};

void BM_Prefill(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const char* name = kPrefillVersions[state.range(0)];
  const long long T = state.range(1);
  state.SetLabel(name);
  const auto* v = &mm::gpu::find_version(gpu::prefill_versions(), name, "lightning");
  mm::lightning::Args a = mm::lightning::dense_args(1, static_cast<int>(T), kHeads, kD, kBlock);
  if (!v->supports(a)) return state.SkipWithError("version does not take this shape");
  Buffers buf(a, size_t(a.seq_stride_qkv), size_t(a.seq_stride_o), size_t(kHeads) * kD * kD, 1);
  const double flops = block_algorithm_flops(T);
  const double bytes = double(a.seq_stride_qkv + a.seq_stride_o) * 2;
  const int k = mb::same_flops_k(flops);
  mb::run_timed_compute(
      state, flops, bytes,
      [&] {
        return mb::cublas_tflops(4096, 4096, k, [](const uint16_t* A, const uint16_t* B, float* C, int m, int n,
                                                   int kk) { gpu::gemm_bf16_nk(nullptr, m, n, kk, A, B, C); });
      },
      [&] { v->launch(a, nullptr); });
  state.counters["gemm_k"] = k;
}

void BM_Decode(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const char* name = kDecodeVersions[state.range(0)];
  const int nb = static_cast<int>(state.range(1));
  state.SetLabel(name);
  const auto* v = &mm::gpu::find_version(gpu::decode_versions(), name, "lightning");
  mm::lightning::Args a = mm::lightning::dense_args(nb, 1, kHeads, kD, 256);  // block: unused by decode
  if (!v->supports(a)) return state.SkipWithError("version does not take this shape");
  const size_t state_elems = size_t(nb) * kHeads * kD * kD;
  Buffers buf(a, size_t(nb) * a.ld_qkv, size_t(nb) * a.ld_o, state_elems, 4);
  // 20 back-to-back launches per event pair (a decode step is a few microseconds); the copy ceiling is
  // timed the same way.
  mb::run_timed(state, 2 * state_elems * 4, 0, [&] { v->launch(a, nullptr); }, 20);
}

void prefill_args(benchmark::internal::Benchmark* b) {
  for (int v : {0, 1})
    for (long long T : {4096LL, 8192LL, 16384LL, 32768LL, 65536LL}) b->Args({v, T});
  for (int v : {2, 3}) b->Args({v, 4096});  // the SIMT and recurrent versions: one shape
  b->ArgNames({"version", "T"})->UseManualTime()->Unit(benchmark::kMillisecond);
}
void decode_args(benchmark::internal::Benchmark* b) {
  for (int v : {0, 1})
    for (int nb : {1, 8, 32, 64}) b->Args({v, nb});
  b->ArgNames({"version", "nb"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Prefill)->Apply(prefill_args);
BENCHMARK(BM_Decode)->Apply(decode_args);

}  // namespace

MM_GPU_BENCH_MAIN();
