// The only place with inline PTX. Every wrapper has two bodies: the instruction under nvcc, an
// emulation under the SIMT-on-CPU build that uses the same fragment maps (layouts.h).
//   mma_m16n8k16_{bf16,f16}: D(16x8,f32) = A(16x16,row) * B(16x8,col) + C, one warp (and _bf16_x2:
//   two adjacent B tiles from one ldmatrix_x4)
//   ldmatrix_x{1,2,4}[_trans]: 8x8 b16 matrices from shared memory into fragments, one warp
//   cp_async_{4,8,16}[_zfill], cp_async_commit, cp_async_wait<N>, cp_async_wait_all
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"

#if !defined(__CUDACC__)
#include <cstring>
#endif

namespace mm::gpu {

#if defined(__CUDACC__)

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                  const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
}

__device__ __forceinline__ void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                 const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
}

__device__ __forceinline__ void ldmatrix_x1(uint32_t (&r)[1], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(smem_u32(row)));
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_u32(row)));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row)));
}
__device__ __forceinline__ void ldmatrix_x1_trans(uint32_t (&r)[1], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(smem_u32(row)));
}
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_u32(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row)));
}

// .ca (cache in L1) for 4 and 8 bytes; 16 bytes use .cg (L2 only), the usual choice for tiles.
__device__ __forceinline__ void cp_async_4(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(smem_u32(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_8(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(smem_u32(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(dst)), "l"(src));
}
// Copies src_bytes (0..16) and zero-fills the rest of the 16 bytes (for tile edges).
__device__ __forceinline__ void cp_async_16_zfill(void* dst, const void* src, unsigned src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::); }

#else  // SIMT-on-CPU bodies

namespace detail {

inline float bf16_bits_to_float(uint16_t h) {
  const uint32_t u = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float f16_bits_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }

struct MmaIn {
  uint32_t a[4], b[2];
  float c[4];
};

// Assembles A, B, C from the 32 lanes' fragments, computes D once for the warp and scatters it.
// Products of 16-bit floats are exact in double and 16 of them sum exactly unless their exponents
// differ wildly, so D is the correctly rounded fp32 of A*B+C; hardware accumulates in fp32 in an
// unspecified order and may differ by a few ulp (docs/simt.md).
template <float (*Cvt)(uint16_t)>
void mma_m16n8k16_op(mm::simt::detail::CollectiveData& d) {
  double A[16][16], B[16][8], C[16][8];
  for (int l = 0; l < 32; ++l) {
    MmaIn in;
    std::memcpy(&in, d.in[l], sizeof in);
    for (int e = 0; e < 8; ++e) {
      const layout::RowCol p = layout::mma_m16n8k16_a(l, e);
      A[p.row][p.col] = Cvt(static_cast<uint16_t>(in.a[e / 2] >> (16 * (e & 1))));
    }
    for (int e = 0; e < 4; ++e) {
      const layout::RowCol p = layout::mma_m16n8k16_b(l, e);
      B[p.row][p.col] = Cvt(static_cast<uint16_t>(in.b[e / 2] >> (16 * (e & 1))));
    }
    for (int e = 0; e < 4; ++e) {
      const layout::RowCol p = layout::mma_m16n8k16_c(l, e);
      C[p.row][p.col] = in.c[e];
    }
  }
  for (int l = 0; l < 32; ++l) {
    float out[4];
    for (int e = 0; e < 4; ++e) {
      const layout::RowCol p = layout::mma_m16n8k16_c(l, e);
      double acc = 0;
      for (int k = 0; k < 16; ++k) acc += A[p.row][k] * B[k][p.col];
      out[e] = static_cast<float>(acc + C[p.row][p.col]);
    }
    std::memcpy(d.out[l], out, sizeof out);
  }
}

template <float (*Cvt)(uint16_t)>
void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4],
                  const char* name) {
  MmaIn in;
  std::memcpy(in.a, a, sizeof in.a);
  std::memcpy(in.b, b, sizeof in.b);
  std::memcpy(in.c, c, sizeof in.c);
  float out[4];
  mm::simt::detail::warp_collective(0xffffffffu, name, &mma_m16n8k16_op<Cvt>, &in, sizeof in, out, sizeof out);
  std::memcpy(d, out, sizeof out);
}

struct LdmatrixIn {
  uint16_t row[8];  // the 8 elements at this lane's address (lanes that supply an address only)
};

template <int N, bool Trans>
void ldmatrix_op(mm::simt::detail::CollectiveData& d) {
  for (int l = 0; l < 32; ++l) {
    uint32_t out[N];
    for (int j = 0; j < N; ++j) {
      uint32_t reg = 0;
      for (int h = 0; h < 2; ++h) {
        const layout::RowCol p = layout::ldmatrix_m8n8(l, h, Trans);
        LdmatrixIn in;
        std::memcpy(&in, d.in[layout::ldmatrix_row_lane(j, p.row)], sizeof in);
        reg |= uint32_t{in.row[p.col]} << (16 * h);
      }
      out[j] = reg;
    }
    std::memcpy(d.out[l], out, sizeof out);
  }
}

template <int N, bool Trans>
void ldmatrix(uint32_t (&r)[N], const void* row, const char* name) {
  LdmatrixIn in{};
  const unsigned lane = mm::simt::detail::self(name).lane;
  if (lane < 8u * N) {  // the lane's row is read by the lane itself, so TSan attributes it correctly
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) mm::simt::detail::fail("%s: row address %p is not 16-byte aligned", name, row);
    if (!mm::simt::detail::is_shared(row, 16)) mm::simt::detail::fail("%s: row address %p is not in shared memory", name, row);
    std::memcpy(in.row, row, 16);
  }
  uint32_t out[N];
  mm::simt::detail::warp_collective(0xffffffffu, name, &ldmatrix_op<N, Trans>, &in, sizeof in, out, sizeof out);
  std::memcpy(r, out, sizeof out);
}

}  // namespace detail

inline void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
  detail::mma_m16n8k16<&detail::bf16_bits_to_float>(d, a, b, c, "mma.sync.m16n8k16.bf16");
}
inline void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
  detail::mma_m16n8k16<&detail::f16_bits_to_float>(d, a, b, c, "mma.sync.m16n8k16.f16");
}
inline void ldmatrix_x1(uint32_t (&r)[1], const void* row) { detail::ldmatrix<1, false>(r, row, "ldmatrix.x1"); }
inline void ldmatrix_x2(uint32_t (&r)[2], const void* row) { detail::ldmatrix<2, false>(r, row, "ldmatrix.x2"); }
inline void ldmatrix_x4(uint32_t (&r)[4], const void* row) { detail::ldmatrix<4, false>(r, row, "ldmatrix.x4"); }
inline void ldmatrix_x1_trans(uint32_t (&r)[1], const void* row) { detail::ldmatrix<1, true>(r, row, "ldmatrix.x1.trans"); }
inline void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row) { detail::ldmatrix<2, true>(r, row, "ldmatrix.x2.trans"); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) { detail::ldmatrix<4, true>(r, row, "ldmatrix.x4.trans"); }

inline void cp_async_4(void* dst, const void* src) { mm::simt::detail::cp_async(dst, src, 4, 4); }
inline void cp_async_8(void* dst, const void* src) { mm::simt::detail::cp_async(dst, src, 8, 8); }
inline void cp_async_16(void* dst, const void* src) { mm::simt::detail::cp_async(dst, src, 16, 16); }
inline void cp_async_16_zfill(void* dst, const void* src, unsigned src_bytes) {
  mm::simt::detail::cp_async(dst, src, 16, src_bytes);
}
inline void cp_async_commit() { mm::simt::detail::cp_async_commit(); }
template <int N>
void cp_async_wait() {
  mm::simt::detail::cp_async_wait(N);
}
inline void cp_async_wait_all() {
  mm::simt::detail::cp_async_commit();
  mm::simt::detail::cp_async_wait(0);
}

#endif

// Two adjacent 8-column tiles from one ldmatrix_x4 of B (r = {tile 0 regs 0-1, tile 1 regs 0-1}):
// c0 += A * B_tile0, c1 += A * B_tile1. The pattern every tensor-core kernel here repeats.
__device__ inline void mma_m16n8k16_bf16_x2(float (&c0)[4], float (&c1)[4], const uint32_t (&a)[4],
                                            const uint32_t (&r)[4]) {
  const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
  mma_m16n8k16_bf16(c0, a, b0, c0);
  mma_m16n8k16_bf16(c1, a, b1, c1);
}

// Packs two 16-bit values (element 2i in the low half) as fragments expect.
__host__ __device__ inline uint32_t pack_b16(uint16_t lo, uint16_t hi) { return uint32_t{lo} | (uint32_t{hi} << 16); }

}  // namespace mm::gpu
