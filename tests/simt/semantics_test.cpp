// Execution model: indexing, the block barrier with exited-thread semantics, barrier reductions,
// schedules, several OS threads, atomics.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "optimized/common/device.cuh"
#include "simt_test_util.h"

namespace {

using mm::simt::launch;

__global__ void write_indices(uint32_t* out) {
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned nt = blockDim.x * blockDim.y * blockDim.z;
  out[b * nt + t] = (blockIdx.z << 24) | (blockIdx.y << 20) | (blockIdx.x << 16) | (threadIdx.z << 8) |
                    (threadIdx.y << 4) | threadIdx.x;
}

TEST(SimtSemantics, IndicesCoverTheGridOnce) {
  const dim3 grid(3, 2, 2), block(5, 3, 2);
  std::vector<uint32_t> out(12 * 30, 0xdeadbeef);
  launch(write_indices, grid, block, 0, out.data());
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 2; ++by)
      for (unsigned bx = 0; bx < 3; ++bx)
        for (unsigned tz = 0; tz < 2; ++tz)
          for (unsigned ty = 0; ty < 3; ++ty)
            for (unsigned tx = 0; tx < 5; ++tx) {
              const unsigned b = bx + 3 * (by + 2 * bz), t = tx + 5 * (ty + 3 * tz);
              EXPECT_EQ(out[b * 30 + t], (bz << 24) | (by << 20) | (bx << 16) | (tz << 8) | (ty << 4) | tx);
            }
}

// Threads with odd index exit early; the others still pass two barriers (Volta+: a barrier waits for
// the non-exited threads only).
__global__ void exit_then_barrier(int* out) {
  MM_SHARED(int, v, [64]);
  out += blockIdx.x * 64;
  const int t = threadIdx.x;
  if (t % 2) return;
  v[t] = t;
  __syncthreads();
  const int x = v[(t + 2) % 64];
  __syncthreads();
  out[t] = x;
}

TEST(SimtSemantics, BarrierCountsOnlyNonExitedThreads) {
  std::vector<int> out = mm::simt::test::run_all_schedules<int>([] {
    std::vector<int> o(128, -5);
    launch(exit_then_barrier, dim3(2), dim3(64), 0, o.data());
    return o;
  });
  for (int t = 0; t < 128; ++t) EXPECT_EQ(out[t], t % 2 ? -5 : (t % 64 + 2) % 64);
}

__global__ void barrier_reductions(int* out) {
  const int t = threadIdx.x;
  const int count = __syncthreads_count(t % 3 == 0);
  const int all = __syncthreads_and(t < 1000);
  const int none = __syncthreads_or(t > 1000);
  const int some = __syncthreads_or(t == 17);
  if (t == 0) {
    out[0] = count;
    out[1] = all;
    out[2] = none;
    out[3] = some;
  }
}

TEST(SimtSemantics, SyncthreadsCountAndOr) {
  std::vector<int> out(4, -1);
  launch(barrier_reductions, dim3(1), dim3(100), 0, out.data());
  EXPECT_EQ(out, (std::vector<int>{34, 1, 0, 1}));
}

__global__ void atomics_kernel(int* counter, float* fsum, unsigned* umax, int* cas_winner) {
  const int gid = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicMax(umax, static_cast<unsigned>(gid * 7 % 1000));
  atomicCAS(cas_winner, -1, gid);
}

TEST(SimtSemantics, AtomicsAcrossBlocksAndOsThreads) {
  for (const auto& s : mm::simt::test::all_schedules()) {
    mm::simt::ScopedLaunchOptions scope(s.opt);
    int counter = 0, winner = -1;
    float fsum = 0;
    unsigned umax = 0;
    launch(atomics_kernel, dim3(8), dim3(96), 0, &counter, &fsum, &umax, &winner);
    EXPECT_EQ(counter, 8 * 96) << s.name;
    EXPECT_EQ(fsum, 8 * 96 * 0.5f) << s.name;
    unsigned expect_max = 0;
    for (int g = 0; g < 8 * 96; ++g) expect_max = std::max(expect_max, static_cast<unsigned>(g * 7 % 1000));
    EXPECT_EQ(umax, expect_max) << s.name;
    EXPECT_GE(winner, 0) << s.name;
  }
}

// Each thread adds its index into a block-shared slot after a barrier-separated init: the result
// depends on nothing but the data, under every schedule.
__global__ void race_free_scan(const int* in, int* out) {
  MM_SHARED(int, buf, [128]);
  const int t = threadIdx.x;
  buf[t] = in[blockIdx.x * 128 + t];
  __syncthreads();
  for (int off = 1; off < 128; off *= 2) {  // Hillis-Steele scan, two barriers per step
    const int add = t >= off ? buf[t - off] : 0;
    __syncthreads();
    buf[t] += add;
    __syncthreads();
  }
  out[blockIdx.x * 128 + t] = buf[t];
}

TEST(SimtSemantics, ScanIsScheduleIndependent) {
  std::vector<int> in(4 * 128);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i * 37 % 11) - 5;
  std::vector<int> out = mm::simt::test::run_all_schedules<int>([&] {
    std::vector<int> o(in.size());
    launch(race_free_scan, dim3(4), dim3(128), 0, in.data(), o.data());
    return o;
  });
  for (int b = 0; b < 4; ++b) {
    int acc = 0;
    for (int t = 0; t < 128; ++t) EXPECT_EQ(out[b * 128 + t], acc += in[b * 128 + t]);
  }
}

__global__ void params_are_per_thread(int* out, int n) {
  n += threadIdx.x;  // modifying a parameter must not leak to other threads
  out[blockIdx.x * blockDim.x + threadIdx.x] = n;
}

TEST(SimtSemantics, ParametersAreCopiedPerThread) {
  std::vector<int> out(32);
  launch(params_are_per_thread, dim3(1), dim3(32), 0, out.data(), 100);
  for (int t = 0; t < 32; ++t) EXPECT_EQ(out[t], 100 + t);
}

TEST(SimtSemantics, StatsCountSwitches) {
  const auto before = mm::simt::stats();
  std::vector<int> out(64);
  launch(params_are_per_thread, dim3(2), dim3(32), 0, out.data(), 0);
  const auto after = mm::simt::stats();
  EXPECT_EQ(after.launches - before.launches, 1u);
  EXPECT_EQ(after.blocks - before.blocks, 2u);
  EXPECT_EQ(after.threads - before.threads, 64u);
  EXPECT_EQ(after.switches - before.switches, 2u * 64);  // into each fiber and back once
}

}  // namespace
