// Lightning attention prefill v3: the block algorithm (docs/semantics/text-01-model.md#block-prefill) on tensor
// cores, d = 64 or 128.
// One CTA of W warps (W = 4 or 8) per (sequence, head, 64-column value slice) walks the blocks of B rows
// (B a multiple of the 16 W-row query tile) in order; a block is cut into query tiles of 16 W rows (16 per
// warp), and each query tile streams the block's 64-row key/value tiles up to the diagonal
// (flash-attention style, cp.async double buffering):
//   o_tile  = exp(-s(a+1)) * (Q S_hi + Q S_lo)         inter: the fp32 state split into two bf16 parts
//           + sum_kt bf16((Q K_kt^T) . M) V_kt          intra: scores fp32 in registers, decay mask in fp32,
//                                                      rounded once to bf16 as the A operand of P V
//   S       = exp(-s m) S + sum_kt K_kt^T bf16(exp(-s(m-1-b)) V_kt)   during the last query tile;
//             S is held in fp32 mma accumulators spread over the warps (16-row x 32/64-column pieces).
// Fragments: Q (A) ldmatrix.x4, re-read per k-step; K as B of Q K^T ldmatrix.x4 (K stored [key][feature] =
// [n][k]); V and S as B ldmatrix.x4.trans ([k][n] row-major); K^T as A of the state update
// ldmatrix.x4.trans. Key n-tiles / k-steps past a warp's last row are skipped (all masked).
// Rows past the sequence end are zero-filled by cp.async and never stored.
// Rounding points: bf16(P) (official: bf16(Q K^T) before the mask), bf16(decayed V) in the KV update
// (official: bf16(decayed K) and a bf16 product); everything else fp32 (Q S is ~fp32 through the split).
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/ptx.cuh"
#include "optimized/lightning_attention/lightning_attention_runner.h"

namespace mm::lightning {
inline namespace MM_BACKEND_NS {

template <int D, int W>
struct V3 {
  static_assert(D == 64 || D == 128, "v3 takes head_dim 64 or 128");
  static_assert(W == 4 || W == 8, "v3 runs 4 or 8 warps");
  static constexpr int kThreads = 32 * W;
  static constexpr int kQT = 16 * W;    // query tile rows (16 per warp)
  static constexpr int kDV = 64;        // value columns per CTA
  static constexpr int kPD = D + 8;     // smem row pitch of Q/K tiles (elements; 16-byte aligned rows)
  static constexpr int kPV = kDV + 8;   // smem row pitch of V / Vd / S tiles
  // state pieces: RT row tiles of 16; a warp owns MI row tiles x NJ n8-tiles starting at column group CG
  static constexpr int kRT = D / 16;
  static constexpr int kMI = kRT > W ? kRT / W : 1;
  static constexpr int kCG = W > kRT ? W / kRT : 1;  // column groups
  static constexpr int kNJ = 8 / kCG;
  static size_t smem_bytes(int B) {
    return 2 * (size_t(kQT + 128) * kPD + size_t(3) * 64 * kPV + size_t(2) * D * kPV) + size_t(B + 1) * 4;
  }
};

namespace v3detail {

using bf16 = __nv_bfloat16;

// kRows x kCols bf16 (kCols a multiple of 8) from global (row stride ld) into smem (pitch), by kThreads
// threads; rows >= valid are zero-filled.
template <int kRows, int kCols, int kThreads>
__device__ __forceinline__ void load_tile(bf16* dst, int pitch, const bf16* src, long long ld, int valid) {
  constexpr int kCpr = kCols / 8, kTotal = kRows * kCpr;
#pragma unroll 4
  for (int c = threadIdx.x; c < kTotal; c += kThreads) {
    const int r = c / kCpr, k = (c % kCpr) * 8;
    if (r < valid) mm::gpu::cp_async_16(dst + r * pitch + k, src + r * ld + k);
    else mm::gpu::cp_async_16_zfill(dst + r * pitch + k, src, 0);
  }
}

__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  return mm::gpu::pack_b16(__bfloat16_as_ushort(__float2bfloat16(lo)), __bfloat16_as_ushort(__float2bfloat16(hi)));
}

}  // namespace v3detail

// grid (D/64, n_h, nb), block 32 W, dynamic smem V3<D, W>::smem_bytes(B); B % (16 W) == 0.
template <int D, int W>
__global__ void __launch_bounds__(32 * W) block_v3_kernel(Args a) {
  using Cfg = V3<D, W>;
  using v3detail::bf16;
  constexpr int PD = Cfg::kPD, PV = Cfg::kPV, MI = Cfg::kMI, NJ = Cfg::kNJ, KD = D / 16, DV = Cfg::kDV;
  constexpr int NT = Cfg::kThreads, QT = Cfg::kQT;
  MM_SHARED_DYN(unsigned char, smem);
  bf16* Qs = reinterpret_cast<bf16*>(smem);  // [QT][PD]
  bf16* Ks = Qs + QT * PD;                   // [2][64][PD]
  bf16* Vs = Ks + 2 * 64 * PD;               // [2][64][PV]
  bf16* Vd = Vs + 2 * 64 * PV;               // [64][PV]  decayed V of the current key tile
  bf16* Shi = Vd + 64 * PV;                  // [D][PV]   bf16(S)
  bf16* Slo = Shi + D * PV;                  // [D][PV]   bf16(S - bf16(S))
  float* E = reinterpret_cast<float*>(Slo + D * PV);  // [B+1]: E[n] = exp(-s n)

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t4 = lane & 3;
  const int B = a.block, h = blockIdx.y, n = blockIdx.z, c0 = blockIdx.x * DV;
  const bf16* base = reinterpret_cast<const bf16*>(a.qkv) + n * a.seq_stride_qkv + static_cast<long long>(h) * 3 * D;
  uint16_t* obase = a.o + n * a.seq_stride_o + static_cast<long long>(h) * D + c0;
  float* st = a.state + (static_cast<long long>(n) * a.n_h + h) * D * D + c0;
  const float s = a.s[h];
  for (int j = tid; j <= B; j += NT) E[j] = expf(-s * static_cast<float>(j));
  __syncthreads();  // E is read by every thread below

  // this warp's piece of the fp32 state: rows (rt0 + mi) * 16 + [0,16), columns cb + [0, 8 NJ)
  const int rt0 = (warp % (Cfg::kRT / MI)) * MI, cb = (warp / (Cfg::kRT / MI)) * NJ * 8;
  float sacc[MI][NJ][4];
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int j = 0; j < NJ; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = (rt0 + mi) * 16 + g + 8 * (e >> 1), c = cb + j * 8 + 2 * t4 + (e & 1);
        sacc[mi][j][e] = st[static_cast<long long>(i) * D + c];
      }
  auto store_split = [&]() {  // S -> Shi, Slo (bf16 hi/lo parts) for the inter-block products
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int j = 0; j < NJ; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int i = (rt0 + mi) * 16 + g + 8 * (e >> 1), c = cb + j * 8 + 2 * t4 + (e & 1);
          const bf16 hi = __float2bfloat16(sacc[mi][j][e]);
          Shi[i * PV + c] = hi;
          Slo[i * PV + c] = __float2bfloat16(sacc[mi][j][e] - __bfloat162float(hi));
        }
  };
  store_split();

  for (int si = 0; si < a.T; si += B) {
    const int m = min(B, a.T - si), nq = (m + QT - 1) / QT, nk_all = (m + 63) / 64;
    const bf16* blk = base + si * a.ld_qkv;
    for (int qt = 0; qt < nq; ++qt) {
      const bool last = qt == nq - 1;
      const int nk = min(nk_all, (qt + 1) * QT / 64);  // key tiles up to the diagonal
      const int wr = warp * 16;                          // this warp's rows inside the query tile
      const int rmax = qt * QT + wr + 15;                // its last row (block-local)
      if (last) {  // this query tile also carries the state update: S <- exp(-s m) S + ...
        const float em = E[m];
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
#pragma unroll
          for (int j = 0; j < NJ; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) sacc[mi][j][e] *= em;
      }
      v3detail::load_tile<QT, D, NT>(Qs, PD, blk + qt * QT * a.ld_qkv, a.ld_qkv, m - qt * QT);
      v3detail::load_tile<64, D, NT>(Ks, PD, blk + D, a.ld_qkv, m);
      v3detail::load_tile<64, DV, NT>(Vs, PV, blk + 2 * D + c0, a.ld_qkv, m);
      mm::gpu::cp_async_commit();

      float oacc[8][4];
      for (int kt = 0; kt < nk; ++kt) {
        const int stage = kt & 1;
        if (kt + 1 < nk) {
          const int nxt = (kt + 1) * 64;
          v3detail::load_tile<64, D, NT>(Ks + (stage ^ 1) * 64 * PD, PD, blk + nxt * a.ld_qkv + D, a.ld_qkv, m - nxt);
          v3detail::load_tile<64, DV, NT>(Vs + (stage ^ 1) * 64 * PV, PV, blk + nxt * a.ld_qkv + 2 * D + c0, a.ld_qkv,
                                          m - nxt);
        }
        mm::gpu::cp_async_commit();
        mm::gpu::cp_async_wait<1>();
        __syncthreads();
        const bf16* Kst = Ks + stage * 64 * PD;
        const bf16* Vst = Vs + stage * 64 * PV;
        if (kt == 0) {
          // inter: (Q S_hi + Q S_lo) * exp(-s (a+1))
#pragma unroll
          for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) oacc[j][e] = 0.0f;
#pragma unroll
          for (int kk = 0; kk < KD; ++kk) {
            uint32_t qa[4];  // Q fragments are re-read from smem per k-step (keeps registers for the state)
            mm::gpu::ldmatrix_x4(qa, &Qs[(wr + lane % 16) * PD + kk * 16 + (lane / 16) * 8]);
#pragma unroll
            for (int jj = 0; jj < 8; jj += 2) {
              const int off = (kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * PV + jj * 8 + (lane / 16) * 8;
              uint32_t r[4];
              mm::gpu::ldmatrix_x4_trans(r, &Shi[off]);
              mm::gpu::mma_m16n8k16_bf16_x2(oacc[jj], oacc[jj + 1], qa, r);
              mm::gpu::ldmatrix_x4_trans(r, &Slo[off]);
              mm::gpu::mma_m16n8k16_bf16_x2(oacc[jj], oacc[jj + 1], qa, r);
            }
          }
#pragma unroll
          for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) oacc[j][e] *= E[qt * QT + wr + g + 8 * (e >> 1) + 1];
        }
        if (last) {  // decayed V of this key tile for the state update: bf16(exp(-s (m-1-b)) V[b])
          for (int idx = tid; idx < 64 * DV; idx += NT) {
            const int r = idx / DV, c = idx % DV, b = kt * 64 + r;
            const float w = b < m ? E[m - 1 - b] : 0.0f;
            Vd[r * PV + c] = __float2bfloat16(w * __bfloat162float(Vst[r * PV + c]));
          }
        }
        if (kt * 64 <= rmax) {  // warp-uniform: some key of this tile is at or before this warp's last row
          // intra: scores = Q K^T (fp32), decay mask, P V
          float sc[8][4];
#pragma unroll
          for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) sc[j][e] = 0.0f;
#pragma unroll
          for (int kk = 0; kk < KD; ++kk) {
            uint32_t qa[4];
            mm::gpu::ldmatrix_x4(qa, &Qs[(wr + lane % 16) * PD + kk * 16 + (lane / 16) * 8]);
#pragma unroll
            for (int jj = 0; jj < 8; jj += 2) {
              if (kt * 64 + jj * 8 > rmax) break;  // keys past this warp's rows are all masked
              uint32_t r[4];
              mm::gpu::ldmatrix_x4(r, &Kst[(jj * 8 + lane % 8 + (lane / 16) * 8) * PD + kk * 16 + ((lane / 8) % 2) * 8]);
              mm::gpu::mma_m16n8k16_bf16_x2(sc[jj], sc[jj + 1], qa, r);
            }
          }
#pragma unroll
          for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int ar = qt * QT + wr + g + 8 * (e >> 1), bc = kt * 64 + j * 8 + 2 * t4 + (e & 1);
              sc[j][e] *= bc <= ar ? E[ar - bc] : 0.0f;
            }
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) {
            if (kt * 64 + kk * 16 > rmax) break;  // all-zero P columns
            const uint32_t pa[4] = {v3detail::pack2(sc[2 * kk][0], sc[2 * kk][1]), v3detail::pack2(sc[2 * kk][2], sc[2 * kk][3]),
                                    v3detail::pack2(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                                    v3detail::pack2(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
#pragma unroll
            for (int jj = 0; jj < 8; jj += 2) {
              uint32_t r[4];
              mm::gpu::ldmatrix_x4_trans(r, &Vst[(kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * PV + jj * 8 + (lane / 16) * 8]);
              mm::gpu::mma_m16n8k16_bf16_x2(oacc[jj], oacc[jj + 1], pa, r);
            }
          }
        }
        if (last) {
          __syncthreads();  // Vd complete
#pragma unroll
          for (int mi = 0; mi < MI; ++mi) {
            const int i0 = (rt0 + mi) * 16;
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) {
              uint32_t ka[4];
              mm::gpu::ldmatrix_x4_trans(ka, &Kst[(kk * 16 + lane % 8 + (lane / 16) * 8) * PD + i0 + ((lane / 8) % 2) * 8]);
#pragma unroll
              for (int jj = 0; jj < NJ; jj += 2) {
                uint32_t r[4];
                mm::gpu::ldmatrix_x4_trans(r, &Vd[(kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * PV + cb + jj * 8 + (lane / 16) * 8]);
                mm::gpu::mma_m16n8k16_bf16_x2(sacc[mi][jj], sacc[mi][jj + 1], ka, r);
              }
            }
          }
        }
        __syncthreads();  // this stage (and Vd) may be overwritten now
      }
      // store this warp's 16 rows of the query tile
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; e += 2) {
          const int ar = qt * QT + wr + g + 8 * (e >> 1);
          if (ar < m) {
            uint16_t* p = obase + (si + ar) * a.ld_o + j * 8 + 2 * t4;
            p[0] = __bfloat16_as_ushort(__float2bfloat16(oacc[j][e]));
            p[1] = __bfloat16_as_ushort(__float2bfloat16(oacc[j][e + 1]));
          }
        }
    }
    store_split();  // every reader of the old Shi/Slo passed the last barrier of the loop above
  }
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int j = 0; j < NJ; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = (rt0 + mi) * 16 + g + 8 * (e >> 1), c = cb + j * 8 + 2 * t4 + (e & 1);
        st[static_cast<long long>(i) * D + c] = sacc[mi][j][e];
      }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::lightning
