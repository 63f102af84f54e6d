// Warp collectives: shuffles with widths (expected values from the CUDA Programming Guide's rules,
// written independently of the emulator's PTX clamp formula), votes, reductions, divergent groups,
// exited lanes, misuse.
#include <gtest/gtest.h>

#include "optimized/common/device.cuh"
#include "simt_test_util.h"

namespace {

using mm::simt::launch;

enum Op { kIdx, kUp, kDown, kXor };

template <int kOp>
__global__ void shuffle_kernel(int* out, int arg, int width) {
  const int lane = threadIdx.x;
  const int v = 100 + lane;
  int r = 0;
  if (kOp == kIdx) r = __shfl_sync(0xffffffffu, v, arg, width);
  if (kOp == kUp) r = __shfl_up_sync(0xffffffffu, v, static_cast<unsigned>(arg), width);
  if (kOp == kDown) r = __shfl_down_sync(0xffffffffu, v, static_cast<unsigned>(arg), width);
  if (kOp == kXor) r = __shfl_xor_sync(0xffffffffu, v, arg, width);
  out[lane] = r;
}

// The Programming Guide's description of each shuffle, lane by lane.
int expected(Op op, int lane, int arg, int width) {
  const int base = lane / width * width, in_seg = lane % width;
  switch (op) {
    case kIdx: return 100 + base + arg % width;
    case kUp: return 100 + (in_seg - arg >= 0 ? lane - arg : lane);
    case kDown: return 100 + (in_seg + arg < width ? lane + arg : lane);
    case kXor: {
      const int src = lane ^ arg;  // "later groups" (src beyond this segment's end) give own value
      return 100 + (src < base + width ? src : lane);
    }
  }
  return 0;
}

TEST(SimtWarp, ShufflesMatchProgrammingGuide) {
  for (int width : {32, 16, 8, 4, 2}) {
    for (int arg : {0, 1, 3, 5, 8, 17}) {
      std::vector<int> out(32);
      launch(shuffle_kernel<kIdx>, dim3(1), dim3(32), 0, out.data(), arg, width);
      for (int l = 0; l < 32; ++l) EXPECT_EQ(out[l], expected(kIdx, l, arg, width)) << "idx w" << width << " a" << arg;
      launch(shuffle_kernel<kUp>, dim3(1), dim3(32), 0, out.data(), arg, width);
      for (int l = 0; l < 32; ++l) EXPECT_EQ(out[l], expected(kUp, l, arg, width)) << "up w" << width << " a" << arg;
      launch(shuffle_kernel<kDown>, dim3(1), dim3(32), 0, out.data(), arg, width);
      for (int l = 0; l < 32; ++l) EXPECT_EQ(out[l], expected(kDown, l, arg, width)) << "down w" << width << " a" << arg;
      if (arg < 32) {
        launch(shuffle_kernel<kXor>, dim3(1), dim3(32), 0, out.data(), arg, width);
        for (int l = 0; l < 32; ++l) EXPECT_EQ(out[l], expected(kXor, l, arg, width)) << "xor w" << width << " a" << arg;
      }
    }
  }
}

__global__ void shuffle_types(double* d, long long* ll, __nv_bfloat162* h) {
  const int lane = threadIdx.x;
  d[lane] = __shfl_xor_sync(0xffffffffu, 0.25 * lane, 1);
  ll[lane] = __shfl_down_sync(0xffffffffu, (1LL << 40) + lane, 1);
  h[lane] = __shfl_sync(0xffffffffu, __floats2bfloat162_rn(float(lane), -float(lane)), 31);
}

TEST(SimtWarp, ShufflesCarry8ByteAndPackedTypes) {
  std::vector<double> d(32);
  std::vector<long long> ll(32);
  std::vector<__nv_bfloat162> h(32);
  launch(shuffle_types, dim3(1), dim3(32), 0, d.data(), ll.data(), h.data());
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(d[l], 0.25 * (l ^ 1));
    EXPECT_EQ(ll[l], (1LL << 40) + (l < 31 ? l + 1 : l));
    EXPECT_EQ(__low2float(h[l]), 31.0f);
    EXPECT_EQ(__high2float(h[l]), -31.0f);
  }
}

// Two half-warps in different branches shuffle with disjoint masks: they must not wait for each other
// (a block- or warp-wide barrier here would deadlock or mix the halves).
__global__ void divergent_halves(int* out) {
  const int lane = threadIdx.x % 32;
  int v = lane;
  if (lane < 16) {
    for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0x0000ffffu, v, o, 16);
  } else {
    v *= 10;
    for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(0xffff0000u, v, o, 16);
  }
  out[threadIdx.x] = v;
}

TEST(SimtWarp, DivergentGroupsUseTheirOwnMasks) {
  std::vector<int> out = mm::simt::test::run_all_schedules<int>([] {
    std::vector<int> o(64);
    launch(divergent_halves, dim3(1), dim3(64), 0, o.data());
    return o;
  });
  for (int t = 0; t < 64; ++t) EXPECT_EQ(out[t], t % 32 < 16 ? 120 : 3760);  // 0+..+15, 10*(16+..+31)
}

// Lanes 24-31 exit; the rest shuffle with the full mask (exited lanes do not count). Reading an
// exited lane gives poison (-1).
__global__ void exited_lanes(int* out) {
  const int lane = threadIdx.x;
  if (lane >= 24) return;
  out[lane] = __shfl_down_sync(0xffffffffu, lane, 4);
  out[32 + lane] = static_cast<int>(__activemask());
}

TEST(SimtWarp, ExitedLanesDoNotBlockAndReadAsPoison) {
  std::vector<int> out(64, 7);
  launch(exited_lanes, dim3(1), dim3(32), 0, out.data());
  for (int l = 0; l < 24; ++l) {
    EXPECT_EQ(out[l], l + 4 < 24 ? l + 4 : -1) << l;
    // __activemask is approximate (no convergence model): it names the caller, never an exited lane,
    // and may omit lanes that already finished in this schedule.
    const unsigned active = static_cast<unsigned>(out[32 + l]);
    EXPECT_TRUE(active >> l & 1);
    EXPECT_EQ(active & 0xff000000u, 0u);
  }
}

__global__ void votes(unsigned* out) {
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  const unsigned b = __ballot_sync(0xffffffffu, lane % 3 == 0);
  const int any = __any_sync(0xffffffffu, lane == 31 && w == 1);
  const int all = __all_sync(0xffffffffu, lane < 32);
  const int all2 = __all_sync(0xffffffffu, lane != 5);
  const unsigned sum = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(lane));
  const int mn = __reduce_min_sync(0xffffffffu, 10 - lane);
  const unsigned mx = __reduce_max_sync(0xffffffffu, static_cast<unsigned>(lane * 3));
  const unsigned orr = __reduce_or_sync(0xffffffffu, 1u << (lane % 8));
  const unsigned match = __match_any_sync(0xffffffffu, lane / 4);
  __syncwarp();
  if (lane == 0) {
    unsigned* o = out + 8 * w;
    o[0] = b; o[1] = any; o[2] = all; o[3] = all2; o[4] = sum; o[5] = static_cast<unsigned>(mn); o[6] = mx; o[7] = orr;
  }
  out[16 + threadIdx.x] = match;
}

TEST(SimtWarp, VotesReductionsMatch) {
  std::vector<unsigned> out(16 + 64);
  launch(votes, dim3(1), dim3(64), 0, out.data());
  for (int w = 0; w < 2; ++w) {
    EXPECT_EQ(out[8 * w + 0], 0x49249249u);
    EXPECT_EQ(out[8 * w + 1], w == 1 ? 1u : 0u);
    EXPECT_EQ(out[8 * w + 2], 1u);
    EXPECT_EQ(out[8 * w + 3], 0u);
    EXPECT_EQ(out[8 * w + 4], 496u);
    EXPECT_EQ(out[8 * w + 5], static_cast<unsigned>(-21));
    EXPECT_EQ(out[8 * w + 6], 93u);
    EXPECT_EQ(out[8 * w + 7], 0xffu);
  }
  for (int t = 0; t < 64; ++t) EXPECT_EQ(out[16 + t], 0xfu << (t % 32 / 4 * 4));
}

// A partial last warp (block of 40): lanes 8-31 of warp 1 never exist and must not be waited for.
__global__ void partial_warp(int* out) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

TEST(SimtWarp, PartialWarpCompletes) {
  std::vector<int> out(40);
  launch(partial_warp, dim3(1), dim3(40), 0, out.data());
  for (int t = 0; t < 40; ++t) EXPECT_EQ(out[t], t ^ 1);
}

__global__ void mask_without_self(int* out) { out[threadIdx.x] = __shfl_sync(0x1u, 1, 0); }
__global__ void disagreeing_lanes(int* out) {
  if (threadIdx.x == 3) out[0] = static_cast<int>(__ballot_sync(0xffffffffu, 1));
  else out[1] = __shfl_sync(0xffffffffu, 1, 0);
}

TEST(SimtWarpDeathTest, MaskMustNameTheCallingLane) {
  std::vector<int> out(32);
  EXPECT_DEATH(launch(mask_without_self, dim3(1), dim3(32), 0, out.data()),
               "thread \\(1,0,0\\): __shfl_sync with mask 0x00000001 that does not name the calling lane 1");
}

TEST(SimtWarpDeathTest, LanesMustCallTheSameCollective) {
  std::vector<int> out(32);
  EXPECT_DEATH(launch(disagreeing_lanes, dim3(1), dim3(32), 0, out.data()), "lanes of warp 0 disagree");
}

}  // namespace
