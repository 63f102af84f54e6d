// Measures the emulator's speed for docs/simt.md: raw fiber switches per second (a barrier-only
// kernel), the row-sum proof kernel, and the proof bf16 GEMM at a few sizes.
#include <chrono>
#include <cstdio>
#include <random>

#include "optimized/proof/runners.cuh"

namespace {

__global__ void barriers_only(int rounds) {
  for (int r = 0; r < rounds; ++r) __syncthreads();
}

__global__ void shuffles_only(int rounds, int* out) {
  int v = static_cast<int>(threadIdx.x);
  for (int r = 0; r < rounds; ++r) v += __shfl_xor_sync(0xffffffffu, v, 1);
  if (v == 42) out[0] = v;
}

template <class F>
double time_ms(F f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  {
    const auto s0 = mm::simt::stats();
    const double ms = time_ms([] { mm::simt::launch(barriers_only, dim3(16), dim3(256), 0, 200); });
    const double sw = double(mm::simt::stats().switches - s0.switches);
    std::printf("barrier loop   16 blocks x 256 threads x 200 barriers: %8.1f ms, %.3g switches, %.1f ns/switch, %.3g switches/s\n",
                ms, sw, ms * 1e6 / sw, sw / ms * 1e3);
  }
  {
    int out = 0;
    const auto s0 = mm::simt::stats();
    const double ms = time_ms([&] { mm::simt::launch(shuffles_only, dim3(16), dim3(256), 0, 200, &out); });
    const double sw = double(mm::simt::stats().switches - s0.switches);
    std::printf("shuffle loop   16 blocks x 256 threads x 200 shuffles: %8.1f ms, %.1f ns/switch, %.3g shuffles/s (per lane)\n",
                ms, ms * 1e6 / sw, 16.0 * 256 * 200 / ms * 1e3);
  }
  {
    const int rows = 64, n = 1000;
    std::vector<float> x(rows * n, 1.0f);
    const double ms = time_ms([&] { mm::proof::run_row_sum(x, rows, n); });
    std::printf("row_sum        64 rows x 1000, 256 threads/block:     %8.1f ms\n", ms);
  }
  for (int size : {64, 128, 256}) {
    std::vector<uint16_t> a(size_t(size) * size, 0x3f80), b(size_t(size) * size, 0x3f80);  // bf16 1.0
    const double ms = time_ms([&] { mm::proof::run_gemm_bf16(a, b, size, size, size); });
    std::printf("gemm_bf16      %dx%dx%d:                              %8.1f ms (%.2f MFLOP/s)\n", size, size, size, ms,
                2.0 * size * size * size / ms / 1e3);
  }
  return 0;
}
