// Vision attention core on the GPU (MiniMax-VL-01's CLIP tower: 16 heads of d 64, crops of 577 rows =
// 1 class token + 24*24 patches; an image of the largest anyres grid is 19 crops, packed varlen).
// CUDA-event timing (manual time), analytic counters, one counter scheme (bench/gpu/gpu_bench_util.h:
// us, GB/s | TFLOP/s, copy_GB/s | cublas_TFLOP/s, pct_of_ceiling):
//   BM_VisionAttention/version:v/crops:c/len:L   c crops of L rows each, bidirectional within a crop,
//            FLOPs = 4 * sum_c L_c^2 * d * n_heads (QK^T and PV, no mask). Ceiling: cublas_TFLOP/s of a
//            cuBLAS bf16 GEMM (8192^3, through the softmax-attention stem's gemm_bf16_nk, i.e.
//            optimized/common/gemm.h) measured in the same benchmark.
//   BM_VisionAttentionMixed/version:v   the 19 crops with lengths 577 and a few shorter ones (varlen
//            with blocks past a short crop's end exiting at once), same counters.
// Without a device every benchmark reports SkipWithError("no CUDA device").
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#define MM_SOFTMAX_ATTENTION_DECLARE_CUDA 1
#include "optimized/softmax_attention/softmax_attention_api.h"
#define MM_VISION_ATTENTION_DECLARE_CUDA 1
#include "optimized/vision_attention/vision_attention_runner.h"

namespace va = mm::vision_attention::backend_cuda;

namespace {

namespace mb = mm::bench;

template <class T>
using Dev = mb::DevArray<T>;

constexpr int kHeads = 16, kD = 64;

double cublas_tflops() {
  return mb::cublas_tflops(8192, 8192, 8192, [](const uint16_t* a, const uint16_t* b, float* c, int m, int n, int k) {
    mm::softmax_attention::backend_cuda::gemm_bf16_nk(nullptr, m, n, k, a, b, c);
  });
}

void run_case(benchmark::State& state, int version, const std::vector<int>& lens) {
  std::vector<int> off(1, 0);
  double sq = 0;
  int max_len = 0;
  for (int L : lens) {
    off.push_back(off.back() + L);
    sq += double(L) * L;
    max_len = std::max(max_len, L);
  }
  const int total = off.back();
  const size_t n = size_t(total) * kHeads * kD;
  Dev<uint16_t> q(n), k(n), v(n), o(n);
  Dev<int> doff(off.size());
  mb::fill_bf16_normal(q.p, q.n, 3, 1.0f);
  mb::fill_bf16_normal(k.p, k.n, 4, 1.0f);
  mb::fill_bf16_normal(v.p, v.n, 5, 1.0f);
  mb::cuda_check(cudaMemcpy(doff.p, off.data(), off.size() * sizeof(int), cudaMemcpyHostToDevice), "upload");
  const mm::vision_attention::Version& ver = va::versions()[static_cast<size_t>(version)];
  state.SetLabel(ver.name);
  mm::vision_attention::Args a;
  a.q = q.p; a.k = k.p; a.v = v.p; a.o = o.p; a.offsets = doff.p;
  a.n_crops = static_cast<int>(lens.size()); a.n_heads = kHeads; a.d = kD;
  a.total_rows = total; a.max_len = max_len; a.scale = 1.0f / std::sqrt(float(kD));
  const double flops = 4.0 * sq * kD * kHeads;
  const double bytes = 2.0 * 4.0 * double(n);  // q, k, v read + o written (the floor)
  mb::run_timed_compute(state, flops, bytes, [] { return cublas_tflops(); }, [&] { ver.launch(a, nullptr); });
}

void BM_VisionAttention(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  const int version = static_cast<int>(state.range(0)), crops = static_cast<int>(state.range(1));
  const int len = static_cast<int>(state.range(2));
  run_case(state, version, std::vector<int>(static_cast<size_t>(crops), len));
}

void BM_VisionAttentionMixed(benchmark::State& state) {
  if (!mb::have_device()) return state.SkipWithError("no CUDA device");
  std::vector<int> lens(19, 577);
  lens[5] = 100;
  lens[11] = 301;
  lens[18] = 33;
  run_case(state, static_cast<int>(state.range(0)), lens);
}

}  // namespace

BENCHMARK(BM_VisionAttention)
    ->Args({1, 19, 577})->Args({0, 19, 577})->Args({1, 1, 577})->Args({1, 64, 577})
    ->ArgNames({"version", "crops", "len"})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VisionAttentionMixed)->Arg(1)->ArgNames({"version"})->UseManualTime()->Unit(benchmark::kMicrosecond);

MM_GPU_BENCH_MAIN();
