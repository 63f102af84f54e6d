// Weight streaming (optimized/model/layer_stream.cuh, `--weights streamed` on `cuda`) on a GPU: what a
// layer's copy costs, and whether it hides behind the previous layer's compute.
//
//   BM_h2d/pinned:1|0/MiB:N   cudaMemcpyAsync host -> device of N MiB on a non-blocking stream, from
//       pinned (cudaHostAlloc, what the model streams from) or pageable memory. Counters: us, MB, GB/s
//       (the copy rate), and s_per_token_real_model: the bytes a streamed MiniMax-Text-01 copies per
//       step (every layer's matrices, 907.2 GB: docs/memory.md) at that rate — the PCIe-bound time of
//       one decode step.
//   BM_copy_beside_gemm/MiB:N  a copy of N MiB on the copy stream while the default stream runs the real
//       lightning qkv projection of a 256-token block ([256, 6144] x [24576, 6144]^T, bf16 -> fp32, the
//       model's cuBLAS call) back to back for about as long: us_gemm, us_copy (each alone) and us_both
//       (issued together), overlap_pct = 100 (us_gemm + us_copy - us_both) / min(us_gemm, us_copy):
//       100 when the shorter hides entirely behind the longer, 0 when they serialise.
// Medians of CUDA-event times; without a device every benchmark reports SkipWithError.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#define MM_MOE_DECLARE_CUDA 1
#include "optimized/moe/moe_runner.h"  // gemm_bf16_nk: the model's cuBLAS call (optimized/common/gemm.h)

namespace {

// The real model's streamed bytes per step: 70 lightning layers (5 x 8192 x 6144 attention + 3 x 32 x
// 9216 x 6144 experts) and 10 softmax layers (2 x 8192 x 6144 + 2 x 1024 x 6144 attention + experts),
// bf16. The same sum as harness/run_memory.cpp's `matrices` for --preset minimax-text-01.
constexpr double kExperts = 3.0 * 32 * 9216 * 6144, kLightning = 5.0 * 8192 * 6144,
                 kSoftmax = 2.0 * 8192 * 6144 + 2.0 * 1024 * 6144;
constexpr double kRealStreamedBytes = 2 * (70 * (kLightning + kExperts) + 10 * (kSoftmax + kExperts));

struct HostMem {  // pinned (cudaHostAlloc) or pageable (malloc)
  void* p = nullptr;
  bool pinned;
  HostMem(size_t n, bool pin) : pinned(pin) {
    if (pin) mm::bench::cuda_check(cudaHostAlloc(&p, n, cudaHostAllocDefault), "cudaHostAlloc");
    else if (!(p = std::malloc(n))) throw std::runtime_error("malloc");
    std::memset(p, 0x3c, n);  // touched: a pageable copy must not be timing first-touch faults
  }
  ~HostMem() { pinned ? (void)cudaFreeHost(p) : std::free(p); }
  HostMem(const HostMem&) = delete;
  HostMem& operator=(const HostMem&) = delete;
};

// Milliseconds between two events recorded on `s` around f() (which enqueues on s).
template <class F> double stream_ms(cudaStream_t s, F&& f) {
  cudaEvent_t a, b;
  mm::bench::cuda_check(cudaEventCreate(&a), "event");
  mm::bench::cuda_check(cudaEventCreate(&b), "event");
  mm::bench::cuda_check(cudaEventRecord(a, s), "record");
  f();
  mm::bench::cuda_check(cudaEventRecord(b, s), "record");
  mm::bench::cuda_check(cudaEventSynchronize(b), "sync");
  float ms = 0;
  mm::bench::cuda_check(cudaEventElapsedTime(&ms, a, b), "elapsed");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms;
}

void BM_h2d(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const bool pinned = state.range(0) != 0;
  const size_t bytes = static_cast<size_t>(state.range(1)) << 20;
  state.SetLabel(pinned ? "pinned" : "pageable");
  HostMem src(bytes, pinned);
  mm::bench::DevMem dst(bytes);
  cudaStream_t s;
  mm::bench::cuda_check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream");
  const auto copy = [&] { mm::bench::cuda_check(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyHostToDevice, s), "H2D"); };
  copy();
  mm::bench::cuda_check(cudaStreamSynchronize(s), "warm-up");
  std::vector<double> ms;
  for (auto _ : state) {
    ms.push_back(stream_ms(s, copy));
    state.SetIterationTime(ms.back() * 1e-3);
  }
  cudaStreamDestroy(s);
  const double sec = mm::bench::median_of(ms) * 1e-3, gbps = static_cast<double>(bytes) / sec / 1e9;
  state.counters["us"] = sec * 1e6;
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["GB/s"] = gbps;
  state.counters["s_per_token_real_model"] = kRealStreamedBytes / (gbps * 1e9);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * static_cast<int64_t>(state.iterations()));
}

void BM_copy_beside_gemm(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  const int m = 256, n = 3 * 8192, k = 6144;
  mm::bench::DevMem a(size_t(m) * k * 2), b(size_t(n) * k * 2), c(size_t(m) * n * 4), dst(bytes);
  mm::bench::fill_bf16_normal(a.p, size_t(m) * k, 11, 0.1f);
  mm::bench::fill_bf16_normal(b.p, size_t(n) * k, 12, 0.1f);
  HostMem src(bytes, true);
  cudaStream_t cs;
  mm::bench::cuda_check(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking), "stream");
  const auto gemm_once = [&] {
    mm::moe::backend_cuda::gemm_bf16_nk(nullptr, m, n, k, a.as<const uint16_t>(), b.as<const uint16_t>(), c.as<float>());
  };
  const auto copy = [&] { mm::bench::cuda_check(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyHostToDevice, cs), "H2D"); };
  // GEMMs back to back for about as long as one copy, so neither side is negligible
  const double gemm_ms = mm::bench::median_ms(gemm_once, 10);
  const double copy_ms1 = stream_ms(cs, copy);
  const int reps = std::max(1, static_cast<int>(copy_ms1 / std::max(gemm_ms, 1e-3)));
  const auto gemms = [&] { for (int i = 0; i < reps; ++i) gemm_once(); };
  std::vector<double> tg, tc, tb;
  for (auto _ : state) {
    tg.push_back(mm::bench::time_ms(gemms));
    tc.push_back(stream_ms(cs, copy));
    // both: the copy enqueued first on its stream, the GEMMs on the default stream, one wall span
    cudaEvent_t start, done_copy, done_gemm;
    cudaEventCreate(&start);
    cudaEventCreate(&done_copy);
    cudaEventCreate(&done_gemm);
    mm::bench::cuda_check(cudaDeviceSynchronize(), "sync");
    cudaEventRecord(start, nullptr);
    cudaStreamWaitEvent(cs, start, 0);
    copy();
    cudaEventRecord(done_copy, cs);
    gemms();
    cudaEventRecord(done_gemm, nullptr);
    cudaEventSynchronize(done_copy);
    cudaEventSynchronize(done_gemm);
    float a_ms = 0, b_ms = 0;
    cudaEventElapsedTime(&a_ms, start, done_copy);
    cudaEventElapsedTime(&b_ms, start, done_gemm);
    tb.push_back(std::max(a_ms, b_ms));
    state.SetIterationTime(tb.back() * 1e-3);
    cudaEventDestroy(start);
    cudaEventDestroy(done_copy);
    cudaEventDestroy(done_gemm);
  }
  cudaStreamDestroy(cs);
  const double g = mm::bench::median_of(tg), cp = mm::bench::median_of(tc), both = mm::bench::median_of(tb);
  state.counters["us_gemm"] = g * 1e3;
  state.counters["us_copy"] = cp * 1e3;
  state.counters["us_both"] = both * 1e3;
  state.counters["gemm_reps"] = reps;
  state.counters["overlap_pct"] = 100.0 * (g + cp - both) / std::min(g, cp);
}

}  // namespace

BENCHMARK(BM_h2d)->ArgNames({"pinned", "MiB"})->ArgsProduct({{1, 0}, {64, 1024}})->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_copy_beside_gemm)->ArgNames({"MiB"})->Arg(1024)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

MM_GPU_BENCH_MAIN();
