// Emulated tensor-core and async-copy wrappers (optimized/common/ptx.cuh): mma against a plain loop
// with fragments packed from the PTX formulas written out here, ldmatrix against element ids, and
// the cp.async deferral (a missing wait reads poison).
#include <gtest/gtest.h>

#include <random>

#include "optimized/common/device.cuh"
#include "optimized/common/ptx.cuh"
#include "simt_test_util.h"

namespace {

using mm::simt::launch;

// One warp: D = A(16x16 row-major) * B(16x8, given as [k][n]) + C. Fragments are packed in the kernel
// with the PTX ISA case formulas (not layouts.h), so this checks the emulator against the spec.
template <bool kF16>
__global__ void mma_kernel(const uint16_t* a, const uint16_t* b, const float* c, float* d) {
  const int lane = threadIdx.x, g = lane >> 2, t = lane % 4;
  uint32_t af[4], bf[2];
  float cf[4], df[4];
  for (int i = 0; i < 8; i += 2) {
    const int row = (i < 2 || (4 <= i && i < 6)) ? g : g + 8;
    const int col = t * 2 + (i >= 4 ? 8 : 0);
    af[i / 2] = mm::gpu::pack_b16(a[row * 16 + col], a[row * 16 + col + 1]);
  }
  for (int i = 0; i < 4; i += 2) {
    const int k = t * 2 + (i >= 2 ? 8 : 0);
    bf[i / 2] = mm::gpu::pack_b16(b[k * 8 + g], b[(k + 1) * 8 + g]);
  }
  for (int i = 0; i < 4; ++i) cf[i] = c[(i < 2 ? g : g + 8) * 8 + t * 2 + (i & 1)];
  if (kF16) mm::gpu::mma_m16n8k16_f16(df, af, bf, cf);
  else mm::gpu::mma_m16n8k16_bf16(df, af, bf, cf);
  for (int i = 0; i < 4; ++i) d[(i < 2 ? g : g + 8) * 8 + t * 2 + (i & 1)] = df[i];
}

template <bool kF16>
void check_mma(bool integer_valued) {
  std::mt19937 rng(kF16 ? 3 : 4);
  std::uniform_int_distribution<int> small(-8, 8);
  std::uniform_real_distribution<float> uni(-2.0f, 2.0f);
  auto gen = [&] { return integer_valued ? static_cast<float>(small(rng)) : uni(rng); };
  auto to16 = [](float f) {
    return kF16 ? __half_as_ushort(__float2half(f)) : __bfloat16_as_ushort(__float2bfloat16(f));
  };
  auto from16 = [](uint16_t u) {
    return kF16 ? __half2float(__ushort_as_half(u)) : __bfloat162float(__ushort_as_bfloat16(u));
  };
  std::vector<uint16_t> a(256), b(128);
  std::vector<float> c(128), d(128);
  for (auto& x : a) x = to16(gen());
  for (auto& x : b) x = to16(gen());
  for (auto& x : c) x = gen();
  launch(mma_kernel<kF16>, dim3(1), dim3(32), 0, a.data(), b.data(), c.data(), d.data());
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double ref = c[i * 8 + j];
      for (int k = 0; k < 16; ++k) ref += double(from16(a[i * 16 + k])) * from16(b[k * 8 + j]);
      if (integer_valued) EXPECT_EQ(d[i * 8 + j], static_cast<float>(ref)) << i << "," << j;
      else EXPECT_NEAR(d[i * 8 + j], ref, 1e-5 * (1 + std::abs(ref))) << i << "," << j;
    }
}

TEST(SimtPtx, MmaBf16MatchesLoop) {
  check_mma<false>(true);
  check_mma<false>(false);
}
TEST(SimtPtx, MmaF16MatchesLoop) {
  check_mma<true>(true);
  check_mma<true>(false);
}

// Shared memory holds four 8x8 matrices, element (j, r, c) = j << 8 | r << 4 | c. Lane l supplies the
// address of row l%8 of matrix l/8; the result must follow the PTX figure: thread l holds row l/4,
// columns 2(l%4) and 2(l%4)+1 (transposed: rows 2(l%4)+h, column l/4).
template <int N, bool kTrans>
__global__ void ldmatrix_kernel(uint32_t* out) {
  MM_SHARED(uint16_t, m, [4][8][8]);
  const int lane = threadIdx.x;
  for (int i = lane; i < 256; i += 32) m[i / 64][i / 8 % 8][i % 8] = static_cast<uint16_t>((i / 64) << 8 | (i / 8 % 8) << 4 | (i % 8));
  __syncwarp();
  uint32_t r[N];
  const void* row = &m[(lane / 8) % N][lane % 8][0];
  if constexpr (N == 1) { if (kTrans) mm::gpu::ldmatrix_x1_trans(r, row); else mm::gpu::ldmatrix_x1(r, row); }
  if constexpr (N == 2) { if (kTrans) mm::gpu::ldmatrix_x2_trans(r, row); else mm::gpu::ldmatrix_x2(r, row); }
  if constexpr (N == 4) { if (kTrans) mm::gpu::ldmatrix_x4_trans(r, row); else mm::gpu::ldmatrix_x4(r, row); }
  for (int j = 0; j < N; ++j) out[lane * 4 + j] = r[j];
}

template <int N, bool kTrans>
void check_ldmatrix() {
  std::vector<uint32_t> out(128, 0);
  launch(ldmatrix_kernel<N, kTrans>, dim3(1), dim3(32), 0, out.data());
  for (int l = 0; l < 32; ++l)
    for (int j = 0; j < N; ++j)
      for (int h = 0; h < 2; ++h) {
        const int row = kTrans ? 2 * (l % 4) + h : l / 4, col = kTrans ? l / 4 : 2 * (l % 4) + h;
        EXPECT_EQ((out[l * 4 + j] >> (16 * h)) & 0xffff, static_cast<uint32_t>(j << 8 | row << 4 | col))
            << "x" << N << (kTrans ? ".trans" : "") << " lane " << l << " reg " << j << " half " << h;
      }
}

TEST(SimtPtx, Ldmatrix) {
  check_ldmatrix<1, false>();
  check_ldmatrix<2, false>();
  check_ldmatrix<4, false>();
  check_ldmatrix<1, true>();
  check_ldmatrix<2, true>();
  check_ldmatrix<4, true>();
}

// cp.async: group 0 = 16 bytes, group 1 = 8 + 4 bytes. Snapshots: before any wait, after
// wait_group<1> (group 0 landed, group 1 still poison), after wait_group<0>. Plus zfill.
__global__ void cp_async_kernel(const uint32_t* src, uint32_t* out) {
  MM_SHARED(uint32_t, s, [12]);
  if (threadIdx.x != 0) return;
  mm::gpu::cp_async_16(&s[0], &src[0]);
  mm::gpu::cp_async_commit();
  mm::gpu::cp_async_8(&s[4], &src[4]);
  mm::gpu::cp_async_4(&s[6], &src[6]);
  mm::gpu::cp_async_commit();
  for (int i = 0; i < 7; ++i) out[i] = s[i];
  mm::gpu::cp_async_wait<1>();
  for (int i = 0; i < 7; ++i) out[7 + i] = s[i];
  mm::gpu::cp_async_wait<0>();
  for (int i = 0; i < 7; ++i) out[14 + i] = s[i];
  mm::gpu::cp_async_16_zfill(&s[8], &src[8], 6);
  mm::gpu::cp_async_wait_all();
  for (int i = 0; i < 4; ++i) out[21 + i] = s[8 + i];
}

TEST(SimtPtx, CpAsyncIsDeferredUntilItsWait) {
  std::vector<uint32_t> src(12);
  for (int i = 0; i < 12; ++i) src[i] = 0x01010101u * (i + 1);
  std::vector<uint32_t> out(25, 0);
  launch(cp_async_kernel, dim3(1), dim3(32), 0, src.data(), out.data());
  for (int i = 0; i < 7; ++i) EXPECT_EQ(out[i], 0xFFFFFFFFu) << "no wait yet, word " << i;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[7 + i], src[i]) << "wait_group 1, word " << i;
  for (int i = 4; i < 7; ++i) EXPECT_EQ(out[7 + i], 0xFFFFFFFFu) << "wait_group 1, word " << i;
  for (int i = 0; i < 7; ++i) EXPECT_EQ(out[14 + i], src[i]) << "wait_group 0, word " << i;
  EXPECT_EQ(out[21], src[8]);
  EXPECT_EQ(out[22], src[9] & 0xffffu);  // 6 of 16 bytes copied, the rest zero-filled
  EXPECT_EQ(out[23], 0u);
  EXPECT_EQ(out[24], 0u);
}

__global__ void cp_async_to_global(const uint32_t* src, uint32_t* dst) { mm::gpu::cp_async_4(dst, src); }
__global__ void ldmatrix_from_global(const uint16_t* p, uint32_t* out) {
  uint32_t r[1];
  mm::gpu::ldmatrix_x1(r, p + threadIdx.x % 8 * 8);
  out[threadIdx.x] = r[0];
}

TEST(SimtPtxDeathTest, AddressesAreChecked) {
  alignas(16) uint32_t buf[64] = {};
  EXPECT_DEATH(launch(cp_async_to_global, dim3(1), dim3(1), 0, buf, buf + 8), "cp.async destination .* is not in shared memory");
  alignas(16) uint16_t m[64] = {};
  EXPECT_DEATH(launch(ldmatrix_from_global, dim3(1), dim3(32), 0, m, buf), "ldmatrix.x1: row address .* is not in shared memory");
}

}  // namespace
