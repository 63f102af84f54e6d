// Emulator vs hardware: the proof kernels on the GPU (nvcc build, backend_cuda) and under the emulator
// (this TU, backend_simt) must give the same bits. Inputs are integer-valued so that every summation
// order and the MMA are exact. Skips cleanly without a usable GPU (fails instead under MM_REQUIRE_GPU=1:
// tests/gpu_expect.h).
#include <gtest/gtest.h>

#include <random>

#include "tests/gpu_expect.h"

#define MM_PROOF_DECLARE_CUDA 1
#include "optimized/proof/runners.cuh"

namespace {

namespace cpu = mm::proof::backend_simt;
namespace gpu = mm::proof::backend_cuda;

template <class T>
void expect_same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0);
}

TEST(SimtGpu, RowSum) {
  MM_NEEDS_GPU(gpu::device_present());
  const int rows = 8, n = 3000;
  std::vector<float> x(rows * n);
  std::mt19937 rng(1);
  for (auto& v : x) v = static_cast<float>(static_cast<int>(rng() % 101) - 50);
  expect_same_bits(cpu::run_row_sum(x, rows, n), gpu::run_row_sum(x, rows, n));
}

TEST(SimtGpu, GemmBf16) {
  MM_NEEDS_GPU(gpu::device_present());
  const int m = 128, n = 192, k = 256;
  std::vector<uint16_t> a(size_t(m) * k), b(size_t(n) * k);
  std::mt19937 rng(2);
  for (auto& v : a) v = __bfloat16_as_ushort(__float2bfloat16(static_cast<float>(static_cast<int>(rng() % 9) - 4)));
  for (auto& v : b) v = __bfloat16_as_ushort(__float2bfloat16(static_cast<float>(static_cast<int>(rng() % 9) - 4)));
  expect_same_bits(cpu::run_gemm_bf16(a, b, m, n, k), gpu::run_gemm_bf16(a, b, m, n, k));
}

TEST(SimtGpu, NeighbourWithBarrier) {
  MM_NEEDS_GPU(gpu::device_present());
  std::vector<float> in(4 * 256);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  expect_same_bits(cpu::run_neighbour(in, 256, true), gpu::run_neighbour(in, 256, true));
}

}  // namespace
