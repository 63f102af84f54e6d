// Patch embedding (optimized/patch_embed) at the MiniMax-VL-01 vision tower's shape: 19 crops (the 1920 x
// 1080 image's anyres plan: a 3 x 6 grid + the base crop) of 3 x 336 x 336 fp32 pixels, p = 14 (576
// patches, K = 588), D = 1024 -> [19 * 577, 1024] bf16.
// FLOPs: the conv, 2 * N * K * D per crop (the CLS rows and position adds are not counted). Bytes: the
// useful traffic, pixels read (4 per value), w, cls and pos read once (bf16), the output written (bf16);
// the workspaces (v2: the bf16 im2col matrix and the fp32 GEMM output; v3: the padded im2col matrix and
// weight) are extra traffic not credited.
// The ceiling: a cuBLAS bf16 GEMM of the conv's shape ([crops N, K] x [D, K]^T, fp32 out) in the same run;
// the work is a GEMM of 13 GFLOP at 19 crops, with im2col (and v3's weight padding) around it.
// Counters (bench/gpu/gpu_bench_util.h): us, GFLOP, TFLOP/s, cublas_TFLOP/s, pct_of_ceiling, MB, GB/s.
#include <benchmark/benchmark.h>

#include "bench/gpu/gpu_bench_util.h"

#define MM_PATCH_EMBED_DECLARE_CUDA 1
#include "optimized/patch_embed/patch_embed_runner.h"
#define MM_MOE_DECLARE_CUDA 1
#include "optimized/moe/moe_runner.h"  // gemm_bf16_nk: the cuBLAS call of the same-run ceiling

namespace {
namespace k = mm::patch_embed::backend_cuda;
constexpr int kCrops = 19, kC = 3, kS = 336, kP = 14, kD = 1024;

void BM_patch_embed(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), crops = static_cast<int>(state.range(1));
  mm::patch_embed::Args a;
  a.crops = crops; a.C = kC; a.S = kS; a.p = kP; a.D = kD;
  const int N = mm::patch_embed::patches_of(a), K = mm::patch_embed::k_of(a);
  const size_t pix = static_cast<size_t>(crops) * kC * kS * kS, wn = static_cast<size_t>(kD) * K,
               posn = static_cast<size_t>(N + 1) * kD, outn = static_cast<size_t>(crops) * (N + 1) * kD;
  mm::bench::DevMem dpix(pix * 4), dw(wn * 2), dcls(kD * 2), dpos(posn * 2), dout(outn * 2),
      dpatches(mm::patch_embed::patches_workspace(a) * 2), dconv(mm::patch_embed::conv_workspace(a) * 4);
  mm::bench::fill_bf16_normal(dw.p, wn, 11, 0.04f);
  mm::bench::fill_bf16_normal(dcls.p, kD, 12, 0.5f);
  mm::bench::fill_bf16_normal(dpos.p, posn, 13, 0.5f);
  cudaMemset(dpix.p, 0x3f, pix * 4);  // 0x3f3f3f3f: fp32 ~0.75
  a.pixels = dpix.as<float>(); a.w = dw.as<uint16_t>(); a.cls = dcls.as<uint16_t>(); a.pos = dpos.as<uint16_t>();
  a.out = dout.as<uint16_t>(); a.patches = dpatches.as<uint16_t>(); a.conv = dconv.as<float>();
  const auto& v = k::versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  const size_t bytes = pix * 4 + (wn + kD + posn) * 2 + outn * 2;
  const double flops = 2.0 * N * static_cast<double>(K) * kD * crops;
  const int M = crops * N;
  mm::bench::run_timed_compute(
      state, flops, static_cast<double>(bytes),
      [&] {
        return mm::bench::cublas_tflops(M, kD, K, [](const uint16_t* A, const uint16_t* B, float* C, int m, int n,
                                                      int k_) { mm::moe::backend_cuda::gemm_bf16_nk(nullptr, m, n, k_, A, B, C); });
      },
      [&] { v.launch(a, nullptr); });
}

void args(benchmark::internal::Benchmark* bm) {
  for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
    for (int crops : {1, kCrops}) bm->Args({v, crops});
  bm->ArgNames({"version", "crops"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_patch_embed)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
