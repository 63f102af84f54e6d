// LayerNorm kernels (optimized/layer_norm) at the MiniMax-VL-01 vision tower's shape: 19 crops of 577
// rows (the CLS row and 24 x 24 patches), width 1024.
// Plain norm: reads x, writes n (+ w, b); fused residual + norm: reads r and a, writes y and n.
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s (same-run D2D memcpy of the same traffic),
// pct_of_ceiling.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_LAYER_NORM_DECLARE_CUDA 1
#include "optimized/layer_norm/layer_norm_runner.h"

namespace {
namespace k = mm::layer_norm::backend_cuda;
constexpr int kWidth = 1024;     // the vision hidden size
constexpr int kRows = 19 * 577;  // 19 crops x (1 + 24 * 24) rows

void BM_layer_norm(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const bool residual = state.range(2) != 0;
  const size_t n = static_cast<size_t>(T) * kWidth;
  mm::bench::DevMem r(n * 2), a(n * 2), w(kWidth * 2), b(kWidth * 2), y(n * 2), out(n * 2);
  cudaMemset(r.p, 0x3f, n * 2);  // 0x3f3f: bf16 ~0.75
  cudaMemset(a.p, 0x3e, n * 2);
  cudaMemset(w.p, 0x3f, kWidth * 2);
  cudaMemset(b.p, 0x3d, kWidth * 2);
  state.SetLabel(std::string(k::versions()[static_cast<size_t>(version)].name) + (residual ? " residual+norm" : " norm"));
  mm::layer_norm::Args plain_args;
  plain_args.x = r.as<uint16_t>(); plain_args.w = w.as<uint16_t>(); plain_args.b = b.as<uint16_t>();
  plain_args.n = out.as<uint16_t>(); plain_args.rows = T; plain_args.H = kWidth; plain_args.eps = 1e-5f;
  mm::layer_norm::ResidualArgs residual_args;
  residual_args.r = r.as<uint16_t>(); residual_args.a = a.as<uint16_t>(); residual_args.w = w.as<uint16_t>();
  residual_args.b = b.as<uint16_t>(); residual_args.y = y.as<uint16_t>(); residual_args.n = out.as<uint16_t>();
  residual_args.rows = T; residual_args.H = kWidth; residual_args.eps = 1e-5f;
  const size_t bytes = (residual ? 4 : 2) * n * 2 + 2 * kWidth * 2;
  // per element: sum (1), deviation and square and sum (3), normalise, weight, bias (4); + 1 for the
  // residual add
  const double flops = static_cast<double>(n) * (residual ? 9 : 8);
  mm::bench::run_timed(state, bytes, flops, [&] {
    if (residual)
      k::residual_versions()[static_cast<size_t>(version)].launch(residual_args, nullptr);
    else
      k::versions()[static_cast<size_t>(version)].launch(plain_args, nullptr);
  });
}

void args(benchmark::internal::Benchmark* bm) {
  for (int residual : {0, 1})
    for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
      for (int T : {577, kRows}) bm->Args({v, T, residual});
  bm->ArgNames({"version", "rows", "residual"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_layer_norm)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
