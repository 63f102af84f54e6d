// Deadlock detection (no fiber can progress) names the block and the waiting threads; a stack
// overflow hits the guard page.
#include <gtest/gtest.h>

#include "optimized/common/device.cuh"

namespace {

using mm::simt::launch;

// In block 1 only, lanes 0-15 of warp 0 wait at __syncthreads while lanes 16-31 wait in a full-warp
// shuffle that needs lanes 0-15: neither can complete.
__global__ void barrier_vs_shuffle(int* out) {
  if (blockIdx.x == 1 && threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
  }
}

TEST(SimtDeadlockDeathTest, ReportsBlockAndThreads) {
  std::vector<int> out(64);
  EXPECT_DEATH(launch(barrier_vs_shuffle, dim3(2), dim3(64), 0, out.data()),
               "deadlock in block \\(1,0,0\\)(.|\n)*16 thread\\(s\\) wait at __syncthreads, first thread \\(0,0,0\\)"
               "(.|\n)*warp 0: lanes 0xffff0000 wait in __shfl_sync\\(mask 0xffffffff\\) for lanes 0x0000ffff, first "
               "thread \\(16,0,0\\)");
}

// __syncwarp with a mask naming a lane that waits elsewhere forever.
__global__ void syncwarp_missing_lane(int* out) {
  if (threadIdx.x == 5) {
    __syncthreads();
  }
  __syncwarp();
  out[threadIdx.x] = 1;
}

TEST(SimtDeadlockDeathTest, SyncwarpWithMissingLane) {
  std::vector<int> out(32);
  EXPECT_DEATH(launch(syncwarp_missing_lane, dim3(1), dim3(32), 0, out.data()),
               "deadlock in block \\(0,0,0\\)(.|\n)*1 thread\\(s\\) wait at __syncthreads, first thread \\(5,0,0\\)");
}

__attribute__((noinline)) int deep(volatile char* p, int n) {
  volatile char buf[4096];
  buf[0] = static_cast<char>(n);
  if (p) p[0] = buf[0];
  return n == 0 ? buf[0] : deep(buf, n - 1) + buf[0];
}

__global__ void overflow_stack(int* out) { out[threadIdx.x] = deep(nullptr, 1000); }

TEST(SimtDeadlockDeathTest, StackOverflowHitsTheGuardPage) {
  std::vector<int> out(1);
  EXPECT_DEATH(launch(overflow_stack, dim3(1), dim3(1), 0, out.data()), "");
}

}  // namespace
