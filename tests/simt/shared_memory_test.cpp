// Shared memory: one copy per block, poisoned (0xFF) at every block start, static and dynamic.
#include <gtest/gtest.h>

#include "optimized/common/device.cuh"
#include "simt_test_util.h"

namespace {

using mm::simt::launch;

// Thread 0 reads a shared element before anyone wrote it in this block, then writes it. On the second
// block the read must again see poison, not the first block's value.
__global__ void read_before_write(uint32_t* out) {
  MM_SHARED(uint32_t, v, [4]);
  MM_SHARED(float, f);
  if (threadIdx.x == 0) {
    out[blockIdx.x * 2] = v[2];
    uint32_t fb;
    std::memcpy(&fb, &f, 4);
    out[blockIdx.x * 2 + 1] = fb;
    v[2] = 42;
    f = 1.0f;
  }
}

TEST(SimtShared, PoisonedAtEveryBlockStart) {
  std::vector<uint32_t> out(6, 0);
  launch(read_before_write, dim3(3), dim3(32), 0, out.data());
  for (uint32_t v : out) EXPECT_EQ(v, 0xFFFFFFFFu);
}

// All threads of a block see the same variable; different declarations do not alias; the address
// is aligned as requested.
__global__ void sharing(int* out, uintptr_t* addr) {
  MM_SHARED(int, a, [64]);
  MM_SHARED(int, b, [64]);
  MM_SHARED_ALIGNED(128, char, c, [3]);
  a[threadIdx.x] = static_cast<int>(threadIdx.x);
  b[threadIdx.x] = -static_cast<int>(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * 64 + threadIdx.x] = a[63 - threadIdx.x] + 1000 * b[threadIdx.x];
  if (threadIdx.x == 0 && blockIdx.x == 1) {
    addr[0] = reinterpret_cast<uintptr_t>(&a[0]);
    addr[1] = reinterpret_cast<uintptr_t>(&b[0]);
    addr[2] = reinterpret_cast<uintptr_t>(&c[0]);
  }
}

TEST(SimtShared, OneCopyPerBlockPerDeclaration) {
  std::vector<int> out(128);
  std::vector<uintptr_t> addr(3);
  launch(sharing, dim3(2), dim3(64), 0, out.data(), addr.data());
  for (int t = 0; t < 128; ++t) EXPECT_EQ(out[t], 63 - t % 64 - 1000 * (t % 64));
  EXPECT_GE(addr[1], addr[0] + 64 * sizeof(int));
  EXPECT_EQ(addr[2] % 128, 0u);
  EXPECT_EQ(addr[0] % 16, 0u);
}

__global__ void dynamic_smem(float* out, int n) {
  MM_SHARED_DYN(float, buf);
  MM_SHARED(float, after, [1]);
  const int t = threadIdx.x;
  out[t] = buf[t];  // unwritten: poison
  __syncthreads();
  for (int i = t; i < n; i += blockDim.x) buf[i] = static_cast<float>(i);
  if (t == 0) after[0] = -1.0f;
  __syncthreads();
  out[blockDim.x + t] = buf[n - 1 - t];
  if (t == 0) out[2 * blockDim.x] = static_cast<float>(mm::simt::detail::shared_dynamic_bytes());
  if (t == 0) out[2 * blockDim.x + 1] = static_cast<float>(reinterpret_cast<char*>(&after[0]) - reinterpret_cast<char*>(buf));
}

TEST(SimtShared, DynamicSharedMemory) {
  const int n = 1000;
  std::vector<float> out(2 * 32 + 2);
  launch(dynamic_smem, dim3(1), dim3(32), n * sizeof(float), out.data(), n);
  for (int t = 0; t < 32; ++t) {
    EXPECT_TRUE(mm::simt::test::is_poison(out[t]));
    EXPECT_EQ(out[32 + t], static_cast<float>(n - 1 - t));
  }
  EXPECT_EQ(out[64], n * 4.0f);
  EXPECT_GE(out[65], n * 4.0f);  // static variables live after the dynamic region
}

__global__ void too_much_shared(int* out) {
  MM_SHARED(int, big, [300 * 1024 / 4]);
  out[0] = big[0];
}

TEST(SimtSharedDeathTest, CapacityIsEnforced) {
  int out = 0;
  EXPECT_DEATH(launch(too_much_shared, dim3(1), dim3(1), 0, &out), "exceeds the .*-byte limit");
  EXPECT_DEATH(launch(dynamic_smem, dim3(1), dim3(32), 300 * 1024, nullptr, 0), "dynamic shared memory of");
}

}  // namespace
