// Vision linear-layer epilogues (optimized/vision_mlp) alone, at the MiniMax-VL-01 vision tower's shapes:
// 19 crops of 577 rows (the CLS row and 24 x 24 patches); n = 4096 (fc1 + bias + GELU, and the plain bias
// mode at the same size) and n = 1024 (fc2 / out_proj + bias + residual add). The GEMM is not timed: C is
// a preset fp32 [m, n] buffer.
// Traffic per element: C read (4 bytes), y written (2); + h read and m written (4) in the residual mode;
// + the bias row (2 n). Copy-bandwidth-bound: GB/s against the same-run D2D memcpy of the same traffic.
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s, pct_of_ceiling.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_VISION_MLP_DECLARE_CUDA 1
#include "optimized/vision_mlp/vision_mlp_runner.h"

namespace {
namespace k = mm::vision_mlp::backend_cuda;
constexpr int kRows = 19 * 577;  // 19 crops x (1 + 24 * 24) rows

void BM_vision_mlp_epilogue(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0));
  const auto mode = static_cast<mm::vision_mlp::Mode>(state.range(1));
  const int n = static_cast<int>(state.range(2)), m = kRows;
  const bool residual = mode == mm::vision_mlp::kBiasResidual;
  const size_t total = static_cast<size_t>(m) * n;
  mm::bench::DevMem c(total * 4), b(static_cast<size_t>(n) * 2), h(residual ? total * 2 : 0), y(total * 2),
      mo(residual ? total * 2 : 0);
  cudaMemset(c.p, 0x3f, total * 4);  // 0x3f3f3f3f: fp32 ~0.75
  cudaMemset(b.p, 0x3d, static_cast<size_t>(n) * 2);
  if (residual) cudaMemset(h.p, 0x3e, total * 2);
  const auto& v = k::versions(mode)[static_cast<size_t>(version)];
  static const char* const kModeNames[] = {"bias", "bias+gelu", "bias+residual"};
  state.SetLabel(std::string(v.name) + " " + kModeNames[static_cast<int>(mode)]);
  mm::vision_mlp::Args a;
  a.c = c.as<float>(); a.b = b.as<uint16_t>(); a.y = y.as<uint16_t>(); a.m = m; a.n = n;
  if (residual) { a.h = h.as<uint16_t>(); a.m_out = mo.as<uint16_t>(); }
  const size_t bytes = total * (residual ? 10 : 6) + static_cast<size_t>(n) * 2;
  // per element: the bias add (1); GELU: scale, erf argument, 1 + e, two products (5, erf not counted);
  // residual: one add (1)
  const double flops = static_cast<double>(total) * (mode == mm::vision_mlp::kBiasGelu ? 6 : residual ? 2 : 1);
  mm::bench::run_timed(state, bytes, flops, [&] { v.launch(a, nullptr); });
}

void args(benchmark::internal::Benchmark* bm) {
  for (int v = 0; v < static_cast<int>(k::versions(mm::vision_mlp::kBias).size()); ++v) {
    bm->Args({v, mm::vision_mlp::kBiasGelu, 4096});      // fc1
    bm->Args({v, mm::vision_mlp::kBias, 4096});          // the plain bias epilogue at fc1's size
    bm->Args({v, mm::vision_mlp::kBiasResidual, 1024});  // fc2 / out_proj + the residual add
  }
  bm->ArgNames({"version", "mode", "n"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_vision_mlp_epilogue)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
