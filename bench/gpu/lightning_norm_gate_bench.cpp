// Lightning output path (optimized/lightning_norm_gate) at MiniMax-Text-01 shapes: 64 heads x 128 =
// 8192 features per token (norm over all of them, eps 1e-6, times sigmoid(gate)); and the silu of the
// fused qkv projection (3 x 8192 per token). Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, TFLOP/s,
// copy_GB/s (same-run D2D memcpy of the same traffic), pct_of_ceiling.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_NORM_GATE_DECLARE_CUDA 1
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.h"

namespace {
namespace k = mm::norm_gate_gpu::backend_cuda;
constexpr int kD = 64 * 128;

void BM_norm_gate(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(T) * kD;
  mm::bench::DevMem o(n * 2), g(n * 2), w(kD * 2), out(n * 2);
  cudaMemset(o.p, 0x3f, n * 2);
  cudaMemset(g.p, 0x3e, n * 2);
  cudaMemset(w.p, 0x3f, kD * 2);
  state.SetLabel(k::version_name(version));
  mm::bench::run_timed(state, 3 * n * 2 + kD * 2, static_cast<double>(n) * 10, [&] {
    k::launch_norm_gate(version, o.as<uint16_t>(), g.as<uint16_t>(), w.as<uint16_t>(), out.as<uint16_t>(), T, kD,
                        1e-6f, nullptr);
  });
}

void BM_silu(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(T) * 3 * kD;
  mm::bench::DevMem x(n * 2), y(n * 2);
  cudaMemset(x.p, 0x3f, n * 2);
  state.SetLabel(k::version_name(version));
  mm::bench::run_timed(state, 2 * n * 2, static_cast<double>(n) * 4,
                       [&] { k::launch_silu(version, x.as<uint16_t>(), y.as<uint16_t>(), n, nullptr); });
}

void args(benchmark::internal::Benchmark* b) {
  for (int v = 0; v < k::num_versions(); ++v)
    for (int T : {1, 16, 128, 1024, 4096, 16384}) b->Args({v, T});
  b->ArgNames({"version", "tokens"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_norm_gate)->Apply(args);
BENCHMARK(BM_silu)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
