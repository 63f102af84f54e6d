// Lightning output path (optimized/lightning_norm_gate) at MiniMax-Text-01 shapes: 64 heads x 128 =
// 8192 features per token (norm over all of them, eps 1e-6, times sigmoid(gate)); and the silu of the
// fused qkv projection (3 x 8192 per token). Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, TFLOP/s,
// copy_GB/s (same-run D2D memcpy of the same traffic), pct_of_ceiling.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_NORM_GATE_DECLARE_CUDA 1
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.h"

namespace {
namespace k = mm::norm_gate::backend_cuda;
constexpr int kD = 64 * 128;

void BM_norm_gate(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(T) * kD;
  mm::bench::DevMem o(n * 2), g(n * 2), w(kD * 2), out(n * 2);
  cudaMemset(o.p, 0x3f, n * 2);
  cudaMemset(g.p, 0x3e, n * 2);
  cudaMemset(w.p, 0x3f, kD * 2);
  const mm::norm_gate::Version& v = k::versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  mm::norm_gate::Args a;
  a.o = o.as<uint16_t>(); a.g = g.as<uint16_t>(); a.w = w.as<uint16_t>(); a.out = out.as<uint16_t>();
  a.rows = T; a.D = kD; a.eps = 1e-6f;
  mm::bench::run_timed(state, 3 * n * 2 + kD * 2, static_cast<double>(n) * 10, [&] { v.launch(a, nullptr); });
}

void BM_silu(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(T) * 3 * kD;
  mm::bench::DevMem x(n * 2), y(n * 2);
  cudaMemset(x.p, 0x3f, n * 2);
  const mm::norm_gate::SiluVersion& v = k::silu_versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  mm::norm_gate::SiluArgs a;
  a.x = x.as<uint16_t>(); a.y = y.as<uint16_t>(); a.n = n;
  mm::bench::run_timed(state, 2 * n * 2, static_cast<double>(n) * 4, [&] { v.launch(a, nullptr); });
}

void args(benchmark::internal::Benchmark* b, size_t versions) {
  for (int v = 0; v < static_cast<int>(versions); ++v)
    for (int T : {1, 16, 128, 1024, 4096, 16384}) b->Args({v, T});
  b->ArgNames({"version", "tokens"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_norm_gate)->Apply([](benchmark::internal::Benchmark* b) { args(b, k::versions().size()); });
BENCHMARK(BM_silu)->Apply([](benchmark::internal::Benchmark* b) { args(b, k::silu_versions().size()); });

}  // namespace

MM_GPU_BENCH_MAIN();
