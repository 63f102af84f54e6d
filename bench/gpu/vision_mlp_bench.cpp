// Vision linear layers (optimized/vision_mlp) at the MiniMax-VL-01 vision tower's shapes, 19 crops of 577
// rows (the CLS row and 24 x 24 patches).
// BM_vision_mlp_epilogue: the epilogue kernels alone (the path of Linear v1, and of any shape the fused v2
// refuses); n = 4096 (fc1 + bias + GELU, and the plain bias mode at the same size) and n = 1024 (fc2 /
// out_proj + bias + residual add). The GEMM is not timed: C is a preset fp32 [m, n] buffer.
// Traffic per element: C read (4 bytes), y written (2); + h read and m written (4) in the residual mode;
// + the bias row (2 n). Copy-bandwidth-bound: GB/s against the same-run D2D memcpy of the same traffic.
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s, pct_of_ceiling.
// BM_vision_linear: the whole Linear (GEMM + epilogue), both versions (v1 cuBLAS into fp32 C then the
// epilogue kernel; v2 the tensor-core GEMM with the epilogue fused), at the tower's and the projector's
// shapes: TFLOP/s (2 m n k) against a cuBLAS bf16 GEMM of the same shape in the same run (the GEMM alone,
// without any epilogue: v1 is that GEMM plus its epilogue pass, so v1 < 100 % by the epilogue's share).
// Counters: us, GFLOP, TFLOP/s, cublas_TFLOP/s, pct_of_ceiling, MB and GB/s (the version's own traffic:
// x, W, b, y (+ h, m_out), and C written and read back in v1).
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_VISION_MLP_DECLARE_CUDA 1
#include "optimized/vision_mlp/vision_mlp_runner.h"
#define MM_MOE_DECLARE_CUDA 1
#include "optimized/moe/moe_runner.h"  // gemm_bf16_nk: the cuBLAS call of the same-run ceiling

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

void BM_vision_linear(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0));
  const auto mode = static_cast<mm::vision_mlp::Mode>(state.range(1));
  const int m = static_cast<int>(state.range(2)), kk = static_cast<int>(state.range(3)),
            n = static_cast<int>(state.range(4));
  const bool residual = mode == mm::vision_mlp::kBiasResidual;
  const size_t mn = static_cast<size_t>(m) * n;
  mm::bench::DevMem x(static_cast<size_t>(m) * kk * 2), w(static_cast<size_t>(n) * kk * 2), b(static_cast<size_t>(n) * 2),
      h(residual ? mn * 2 : 0), y(mn * 2), mo(residual ? mn * 2 : 0), c(mn * 4);
  mm::bench::fill_bf16_normal(x.p, static_cast<size_t>(m) * kk, 11, 1.0f);
  mm::bench::fill_bf16_normal(w.p, static_cast<size_t>(n) * kk, 12, 0.03f);
  mm::bench::fill_bf16_normal(b.p, static_cast<size_t>(n), 13, 0.5f);
  if (residual) mm::bench::fill_bf16_normal(h.p, mn, 14, 3.0f);
  const auto& v = k::linear_versions(mode)[static_cast<size_t>(version)];
  static const char* const kModeNames[] = {"bias", "bias+gelu", "bias+residual"};
  state.SetLabel(std::string(v.name) + " " + kModeNames[static_cast<int>(mode)]);
  mm::vision_mlp::LinearArgs a;
  a.x = x.as<uint16_t>(); a.w = w.as<uint16_t>(); a.b = b.as<uint16_t>(); a.y = y.as<uint16_t>(); a.c = c.as<float>();
  a.m = m; a.k = kk; a.n = n;
  if (residual) { a.h = h.as<uint16_t>(); a.m_out = mo.as<uint16_t>(); }
  if (!v.supports(a)) { state.SkipWithError("version does not take this shape"); return; }
  const double flops = 2.0 * m * n * static_cast<double>(kk);
  const double bytes = 2.0 * (static_cast<double>(m) * kk + static_cast<double>(n) * kk + n) +
                       static_cast<double>(mn) * (residual ? 6 : 2) + (version == 0 ? 8.0 * mn : 0.0);
  mm::bench::run_timed_compute(
      state, flops, bytes,
      [&] {
        return mm::bench::cublas_tflops(m, n, kk, [](const uint16_t* A, const uint16_t* B, float* C, int mm_, int nn,
                                                      int k_) { mm::moe::backend_cuda::gemm_bf16_nk(nullptr, mm_, nn, k_, A, B, C); });
      },
      [&] { v.launch(a, nullptr); });
}

// ViT width 1024, MLP 4096; projector 1024 -> 6144 -> 6144 (MiniMax-VL-01); 19 crops, and one crop for
// fc1 and the fused q|k|v (the small-tile configuration below 2048 rows).
void linear_args(benchmark::internal::Benchmark* bm) {
  for (int v = 0; v < static_cast<int>(k::linear_versions(mm::vision_mlp::kBias).size()); ++v) {
    bm->Args({v, mm::vision_mlp::kBias, kRows, 1024, 3072});            // q|k|v_proj, one fused GEMM
    bm->Args({v, mm::vision_mlp::kBiasResidual, kRows, 1024, 1024});    // out_proj + residual
    bm->Args({v, mm::vision_mlp::kBiasGelu, kRows, 1024, 4096});        // fc1 + GELU
    bm->Args({v, mm::vision_mlp::kBiasResidual, kRows, 4096, 1024});    // fc2 + residual
    bm->Args({v, mm::vision_mlp::kBiasGelu, kRows, 1024, 6144});        // projector linear_1 + GELU
    bm->Args({v, mm::vision_mlp::kBias, kRows, 6144, 6144});            // projector linear_2
    bm->Args({v, mm::vision_mlp::kBias, 577, 1024, 3072});              // one crop: q|k|v_proj
    bm->Args({v, mm::vision_mlp::kBiasGelu, 577, 1024, 4096});          // one crop: fc1
  }
  bm->ArgNames({"version", "mode", "m", "k", "n"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_vision_linear)->Apply(linear_args);

}  // namespace

MM_GPU_BENCH_MAIN();
