// RMSNorm kernels (optimized/rmsnorm) at MiniMax-Text-01 shapes: hidden 6144, tokens 1 .. 16384.
// Plain norm: reads x, writes n (+ w); fused DeepNorm residual + norm: reads r and a, writes y and n.
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s (same-run D2D memcpy of the same traffic),
// pct_of_ceiling.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_RMSNORM_DECLARE_CUDA 1
#include "optimized/rmsnorm/rmsnorm_runner.h"

namespace {
namespace k = mm::rmsnorm::backend_cuda;
constexpr int kHidden = 6144;

void BM_rmsnorm(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const bool residual = state.range(2) != 0;
  const size_t n = static_cast<size_t>(T) * kHidden;
  mm::bench::DevMem r(n * 2), a(n * 2), w(kHidden * 2), y(n * 2), out(n * 2);
  cudaMemset(r.p, 0x3f, n * 2);  // 0x3f3f: bf16 ~0.75
  cudaMemset(a.p, 0x3e, n * 2);
  cudaMemset(w.p, 0x3f, kHidden * 2);
  state.SetLabel(std::string(k::versions()[static_cast<size_t>(version)].name) + (residual ? " residual+norm" : " norm"));
  mm::rmsnorm::Args plain_args;
  plain_args.x = r.as<uint16_t>(); plain_args.w = w.as<uint16_t>(); plain_args.n = out.as<uint16_t>();
  plain_args.rows = T; plain_args.H = kHidden; plain_args.eps = 1e-5f;
  mm::rmsnorm::ResidualArgs residual_args;
  residual_args.r = r.as<uint16_t>(); residual_args.a = a.as<uint16_t>(); residual_args.w = w.as<uint16_t>();
  residual_args.y = y.as<uint16_t>(); residual_args.n = out.as<uint16_t>(); residual_args.rows = T;
  residual_args.H = kHidden; residual_args.alpha = 3.5565588f; residual_args.beta = 1.0f; residual_args.eps = 1e-5f;
  const size_t bytes = (residual ? 4 : 2) * n * 2 + kHidden * 2;
  const double flops = static_cast<double>(n) * (residual ? 7 : 4);
  mm::bench::run_timed(state, bytes, flops, [&] {
    if (residual)
      k::residual_versions()[static_cast<size_t>(version)].launch(residual_args, nullptr);
    else
      k::versions()[static_cast<size_t>(version)].launch(plain_args, nullptr);
  });
}

void args(benchmark::internal::Benchmark* b) {
  for (int residual : {0, 1})
    for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
      for (int T : {1, 16, 128, 1024, 4096, 16384}) b->Args({v, T, residual});
  b->ArgNames({"version", "tokens", "residual"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_rmsnorm)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
