// Sparse MoE block kernels (docs/semantics/text-01-model.md#moe, reference/moe.{h,cpp}):
//   router_kernel        bf16 logits -> fp32 softmax -> top-k (ties to the lower index) -> renorm -> bf16 w
//   permute_kernel       counts per expert, offsets, stable permuted row list (one block, deterministic)
//   gather_kernel        x rows -> contiguous [T*k, H] buffer in permuted order
//   ffn13_v1 / ffn2_v1   grouped expert FFN, one thread per output element (the obviously-right version)
//   grouped_gemm_kernel  v2: tiled tensor-core grouped GEMM (the shared tile main loop of
//                        optimized/common/tile_gemm.cuh: mma.sync m16n8k16 bf16/f32, ldmatrix,
//                        cp.async multi-stage pipeline) with a tile scheduler over (expert, column tile,
//                        row tile); SwiGLU fused into the epilogue of the W1/W3 GEMM. Configurations
//                        (moe_runner.cuh): 128x128 tiles of 2x2 warps (64x64 warp tiles, 4 stages) for
//                        prefill, 64x128 (1x4 warps) in between, 32x64 (2x4 warps, 8 stages) for decode
//   combine_kernel       y[t] = sum over its experts in ascending index of bf16(y_e * w), bf16 accumulate
// v1 (gather, ffn13_v1/ffn2_v1, combine) takes any H and I; v2's tiles need H % 8 == 0 and I % 8 == 0.
// Rounding follows ref::moe<ref::BF16>: bf16 GEMM outputs, bf16 silu output, bf16 product, bf16 weights,
// bf16 index_add_.
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/ptx.cuh"
#include "optimized/common/tile_gemm.cuh"

namespace mm::moe {
inline namespace MM_BACKEND_NS {

constexpr int kMaxExperts = 64;  // router: two experts per lane
constexpr int kMaxTopK = 8;

__device__ __forceinline__ float bf16r(float x) { return __bfloat162float(__float2bfloat16(x)); }

// The official SwiGLU rounding: act = bf16(silu(bf16 gate)), h = bf16(act * bf16 up).
__device__ __forceinline__ float swiglu_bf16(float gate_acc, float up_acc) {
  const float g = bf16r(gate_acc), u = bf16r(up_acc);
  const float s = bf16r(g / (1.0f + expf(-g)));
  return bf16r(s * u);
}

// Expert of permuted row r: offsets[e] <= r < offsets[e+1] (E + 1 entries).
__device__ __forceinline__ int expert_of_row(const int* offsets, int E, int r) {
  int e = 0;
  while (e + 1 < E && offsets[e + 1] <= r) ++e;
  return e;
}

// ---- 1. router: one warp per token ---------------------------------------------------------------
// logits: fp32 [T, E] (the gate GEMM's accumulator), rounded to bf16 here (the bf16 Linear output).
// ids [T, k] highest probability first; weights [T, k] bf16, renormalised to sum to 1 before rounding.
__global__ void router_kernel(const float* __restrict__ logits, int T, int E, int k, int* __restrict__ ids,
                              __nv_bfloat16* __restrict__ weights) {
  const int lane = threadIdx.x % 32;
  const int t = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) / 32);
  if (t >= T) return;  // warp-uniform
  float p[2];
  float mx = -INFINITY;
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    const int e = lane + 32 * j;
    p[j] = e < E ? bf16r(logits[static_cast<size_t>(t) * E + e]) : -INFINITY;
    mx = fmaxf(mx, p[j]);
  }
#pragma unroll
  for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    p[j] = lane + 32 * j < E ? expf(p[j] - mx) : 0.0f;
    sum += p[j];
  }
#pragma unroll
  for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);  // same bits on every lane
#pragma unroll
  for (int j = 0; j < 2; ++j) p[j] = lane + 32 * j < E ? p[j] / sum : -1.0f;  // -1: never chosen
  float wsel[kMaxTopK];
  int isel[kMaxTopK];
  for (int r = 0; r < k; ++r) {
    // lane-local best (index lane beats lane+32 on a tie), then warp argmax, ties to the lower index
    float v = p[0];
    int idx = lane;
    if (p[1] > v) {
      v = p[1];
      idx = lane + 32;
    }
#pragma unroll
    for (int o = 16; o > 0; o /= 2) {
      const float ov = __shfl_xor_sync(0xffffffffu, v, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      if (ov > v || (ov == v && oi < idx)) {
        v = ov;
        idx = oi;
      }
    }
    wsel[r] = v;
    isel[r] = idx;
    if (idx == lane) p[0] = -1.0f;
    if (idx == lane + 32) p[1] = -1.0f;
  }
  if (lane == 0) {
    float wsum = 0.0f;
    for (int r = 0; r < k; ++r) wsum += wsel[r];  // in selection order, as the reference
    for (int r = 0; r < k; ++r) {
      ids[static_cast<size_t>(t) * k + r] = isel[r];
      weights[static_cast<size_t>(t) * k + r] = __float2bfloat16(wsel[r] / wsum);
    }
  }
}

// ---- 2. permutation: one block ---------------------------------------------------------------------
// Assignment i = t*k + j (token-major) goes to row offsets[e] + (number of earlier assignments to e),
// so within an expert the rows are in ascending token order. Ranks within a tile of blockDim
// assignments: __match_any_sync inside the warp, an exclusive scan over the warps per expert.
constexpr int kPermuteMaxThreads = 1024;

__global__ void __launch_bounds__(kPermuteMaxThreads)
    permute_kernel(const int* __restrict__ ids, int n, int k, int E, int* __restrict__ counts,
                   int* __restrict__ offsets, int* __restrict__ perm_token, int* __restrict__ inv_row) {
  MM_SHARED(int, s_count, [kMaxExperts]);
  MM_SHARED(int, s_base, [kMaxExperts]);
  MM_SHARED(int, s_tile, [kMaxExperts]);
  MM_SHARED(int, s_warp, [kPermuteMaxThreads / 32][kMaxExperts]);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, nwarps = blockDim.x / 32;
  for (int e = tid; e < E; e += blockDim.x) s_count[e] = 0;
  __syncthreads();
  for (int i = tid; i < n; i += blockDim.x) atomicAdd(&s_count[ids[i]], 1);
  __syncthreads();
  if (tid == 0) {
    int run = 0;
    for (int e = 0; e < E; ++e) {
      offsets[e] = run;
      s_base[e] = run;
      counts[e] = s_count[e];
      run += s_count[e];
    }
    offsets[E] = run;
  }
  for (int base = 0; base < n; base += blockDim.x) {  // uniform trip count: every lane reaches the match
    for (int j = tid; j < nwarps * kMaxExperts; j += blockDim.x) s_warp[j / kMaxExperts][j % kMaxExperts] = 0;
    __syncthreads();
    const int i = base + tid;
    const bool valid = i < n;
    const int e = valid ? ids[i] : -1;
    const unsigned peers = __match_any_sync(0xffffffffu, e);
    const int rank = __popc(peers & ((1u << lane) - 1u));
    if (valid && rank == 0) s_warp[warp][e] = __popc(peers);
    __syncthreads();
    if (tid < E) {  // exclusive scan over warps
      int run = 0;
      for (int w = 0; w < nwarps; ++w) {
        const int c = s_warp[w][tid];
        s_warp[w][tid] = run;
        run += c;
      }
      s_tile[tid] = run;
    }
    __syncthreads();
    if (valid) {
      const int pos = s_base[e] + s_warp[warp][e] + rank;
      perm_token[pos] = i / k;
      inv_row[i] = pos;
    }
    __syncthreads();
    if (tid < E) s_base[tid] += s_tile[tid];
  }
}

// ---- gather: x rows into the permuted buffer (16-byte chunks when H % 8 == 0, else element by element) -
__global__ void gather_kernel(const __nv_bfloat16* __restrict__ x, const int* __restrict__ perm_token, int H,
                              __nv_bfloat16* __restrict__ xperm) {
  const int row = blockIdx.x;
  const __nv_bfloat16* src = x + static_cast<size_t>(perm_token[row]) * H;
  __nv_bfloat16* dst = xperm + static_cast<size_t>(row) * H;
  if (H % 8 == 0) {  // rows start on 16-byte boundaries (cudaMalloc'd buffers)
    for (int c = threadIdx.x; c < H / 8; c += blockDim.x)
      reinterpret_cast<uint4*>(dst)[c] = reinterpret_cast<const uint4*>(src)[c];
  } else {
    for (int c = threadIdx.x; c < H; c += blockDim.x) dst[c] = src[c];
  }
}

// ---- 3a. grouped FFN, v1: one thread per output element -------------------------------------------
// h[r, i] = swiglu(x_r . w1_e[i], x_r . w3_e[i]) for the expert e of permuted row r.
__global__ void ffn13_v1_kernel(const __nv_bfloat16* __restrict__ xperm, const int* __restrict__ offsets, int n,
                                int E, int H, int I, const __nv_bfloat16* __restrict__ w1,
                                const __nv_bfloat16* __restrict__ w3, __nv_bfloat16* __restrict__ h) {
  const size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<size_t>(n) * I) return;
  const int r = static_cast<int>(idx / I), i = static_cast<int>(idx % I);
  const int e = expert_of_row(offsets, E, r);
  const __nv_bfloat16* xr = xperm + static_cast<size_t>(r) * H;
  const __nv_bfloat16* g = w1 + (static_cast<size_t>(e) * I + i) * H;
  const __nv_bfloat16* u = w3 + (static_cast<size_t>(e) * I + i) * H;
  float ag = 0.0f, au = 0.0f;
  for (int c = 0; c < H; ++c) {
    const float xv = __bfloat162float(xr[c]);
    ag += xv * __bfloat162float(g[c]);
    au += xv * __bfloat162float(u[c]);
  }
  h[idx] = __float2bfloat16(swiglu_bf16(ag, au));
}

// ye[r, c] = bf16(h_r . w2_e[c])
__global__ void ffn2_v1_kernel(const __nv_bfloat16* __restrict__ h, const int* __restrict__ offsets, int n, int E,
                               int H, int I, const __nv_bfloat16* __restrict__ w2, __nv_bfloat16* __restrict__ ye) {
  const size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<size_t>(n) * H) return;
  const int r = static_cast<int>(idx / H), c = static_cast<int>(idx % H);
  const int e = expert_of_row(offsets, E, r);
  const __nv_bfloat16* hr = h + static_cast<size_t>(r) * I;
  const __nv_bfloat16* w = w2 + (static_cast<size_t>(e) * H + c) * I;
  float acc = 0.0f;
  for (int i = 0; i < I; ++i) acc += __bfloat162float(hr[i]) * __bfloat162float(w[i]);
  ye[idx] = __float2bfloat16(acc);
}

// ---- 3b. grouped GEMM, v2: tensor cores ------------------------------------------------------------
// C_e[rows of e, N] = A[rows of e, K] * B_e[N, K]^T for every expert e, A row-major (permuted rows),
// B_e row-major [N, K] (PyTorch Linear layout), fp32 accumulation, bf16 output. The main loop is the
// shared tensor-core tile (optimized/common/tile_gemm.cuh: mma.sync m16n8k16, ldmatrix, cp.async
// pipeline); this kernel adds the tile scheduler and the epilogue.
// kSwiGLU: B = (w1, w3), both [E, N, K]; the B tile interleaves 8 rows of w1 and the same 8 rows of w3,
// so fragment n8-tiles 2q (gate) and 2q+1 (up) of a warp hold the same output columns and the epilogue
// writes h = swiglu(gate, up) [rows, N] directly; a tile covers BN/2 output columns.
// Tile scheduler: linear tile id -> expert-major (expert, column tile, row tile); row tiles of an expert
// are adjacent so the CTAs sharing a weight tile run together, and one expert's weights stream once.
// Requires K % 8 == 0 and N % 8 == 0 (16-byte rows); rows/columns/K past the end are zero-filled.
template <int BM, int BN, int WM, int WN>
using GroupedTile = mm::gpu::GemmTile<BM, BN, WM, WN>;

// Upper bound of the number of row tiles over all experts, whatever the counts: sum ceil(c_e / BM).
inline int grouped_row_tile_bound(int n, int E, int BM) {
  const int b = (n + BM - 1) / BM + E;
  return b < n ? b : n;
}

template <class Tl, bool kSwiGLU>
__global__ void __launch_bounds__(Tl::kThreads, Tl::kMinBlocks)
    grouped_gemm_kernel(const __nv_bfloat16* __restrict__ a, const int* __restrict__ offsets, int E,
                        const __nv_bfloat16* __restrict__ b0, const __nv_bfloat16* __restrict__ b1, int N, int K,
                        __nv_bfloat16* __restrict__ c) {
  constexpr int BM = Tl::kBM;
  constexpr int kOutCols = kSwiGLU ? Tl::kBN / 2 : Tl::kBN;  // output columns per tile
  const int col_tiles = (N + kOutCols - 1) / kOutCols;

  // Tile scheduler (block-uniform): find the expert whose tiles contain this block's id.
  int tile = static_cast<int>(blockIdx.x), e = -1, row_begin = 0, rows = 0, m0 = 0, n0 = 0;
  {
    int before = 0;  // row tiles of earlier experts
    for (int x = 0; x < E; ++x) {
      const int cnt = offsets[x + 1] - offsets[x];
      const int rt = (cnt + BM - 1) / BM;
      if (tile < (before + rt) * col_tiles) {
        const int local = tile - before * col_tiles;
        e = x;
        row_begin = offsets[x];
        rows = cnt;
        m0 = (local % rt) * BM;
        n0 = (local / rt) * kOutCols;
        break;
      }
      before += rt;
    }
  }
  if (e < 0) return;  // past the last tile (the grid is an upper bound)

  MM_SHARED_DYN(__nv_bfloat16, smem);
  const __nv_bfloat16* w0 = b0 + static_cast<size_t>(e) * N * K;
  const __nv_bfloat16* w1 = kSwiGLU ? b1 + static_cast<size_t>(e) * N * K : w0;
  // B tile row r: w0 row n0 + r, or (SwiGLU) 8 rows of w1 then the same 8 rows of w3, and so on
  auto b_row = [&](int r) -> const __nv_bfloat16* {
    int wrow;
    const __nv_bfloat16* w;
    if constexpr (kSwiGLU) {
      wrow = n0 + (r / 16) * 8 + r % 8;
      w = (r / 8) % 2 ? w1 : w0;
    } else {
      wrow = n0 + r;
      w = w0;
    }
    return wrow < N ? w + static_cast<size_t>(wrow) * K : nullptr;
  };
  float acc[Tl::kMI][Tl::kNI][4];
  mm::gpu::tile_gemm_mainloop<Tl>(a + static_cast<size_t>(row_begin) * K, rows, m0, b_row, K, a, smem, acc);

  // Epilogue: C fragment elements (0,1) and (2,3) are column pairs of one row: bf16x2 stores.
  __nv_bfloat16* c_rows = c + static_cast<size_t>(row_begin) * N;
  if constexpr (kSwiGLU) {  // n8-tiles 2q (gate) and 2q + 1 (up) pair up: its own walk
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int wm = Tl::warp_row(warp), wn = Tl::warp_col(warp);
#pragma unroll
    for (int i = 0; i < Tl::kMI; ++i)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const mm::gpu::layout::RowCol p = mm::gpu::layout::mma_m16n8k16_c(lane, 2 * h);
        const int row = m0 + wm + i * 16 + p.row;
        if (row >= rows) continue;
#pragma unroll
        for (int j = 0; j < Tl::kNI; j += 2) {
          const int col = n0 + (wn / 16 + j / 2) * 8 + p.col;
          if (col >= N) continue;
          __nv_bfloat162 v;
          v.x = __float2bfloat16(swiglu_bf16(acc[i][j][2 * h], acc[i][j + 1][2 * h]));
          v.y = __float2bfloat16(swiglu_bf16(acc[i][j][2 * h + 1], acc[i][j + 1][2 * h + 1]));
          *reinterpret_cast<__nv_bfloat162*>(c_rows + static_cast<size_t>(row) * N + col) = v;
        }
      }
  } else {
    mm::gpu::tile_gemm_for_each_pair<Tl>(acc, [&](int r, int cc, float v0, float v1) {
      const int row = m0 + r, col = n0 + cc;
      if (row >= rows || col >= N) return;
      __nv_bfloat162 v;
      v.x = __float2bfloat16(v0);
      v.y = __float2bfloat16(v1);
      *reinterpret_cast<__nv_bfloat162*>(c_rows + static_cast<size_t>(row) * N + col) = v;
    });
  }
}

// ---- 4. combine: one thread per (token, kVec columns) ----------------------------------------------
// kVec 8: 16-byte loads and stores (H % 8 == 0); kVec 1: one column per thread (any H).
template <int kVec>
__global__ void combine_kernel(const __nv_bfloat16* __restrict__ ye, const int* __restrict__ ids,
                               const __nv_bfloat16* __restrict__ weights, const int* __restrict__ inv_row, int T,
                               int k, int H, __nv_bfloat16* __restrict__ y) {
  static_assert(kVec == 8 || kVec == 1, "combine: 8 columns (16 bytes) or 1 per thread");
  const int chunks = H / kVec;
  const size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<size_t>(T) * chunks) return;
  const int t = static_cast<int>(idx / chunks), c0 = static_cast<int>(idx % chunks) * kVec;
  int ex[kMaxTopK], row[kMaxTopK];
  float w[kMaxTopK];
  for (int j = 0; j < k; ++j) {  // insertion sort by ascending expert index (index_add_ order)
    int e = ids[static_cast<size_t>(t) * k + j], r = inv_row[static_cast<size_t>(t) * k + j];
    float wv = __bfloat162float(weights[static_cast<size_t>(t) * k + j]);
    int q = j;
    while (q > 0 && ex[q - 1] > e) {
      ex[q] = ex[q - 1];
      row[q] = row[q - 1];
      w[q] = w[q - 1];
      --q;
    }
    ex[q] = e;
    row[q] = r;
    w[q] = wv;
  }
  if constexpr (kVec == 1) {
    float acc = 0.0f;
    for (int j = 0; j < k; ++j)
      acc = bf16r(acc + bf16r(__bfloat162float(ye[static_cast<size_t>(row[j]) * H + c0]) * w[j]));
    y[static_cast<size_t>(t) * H + c0] = __float2bfloat16(acc);
  } else {
    float acc[8];
#pragma unroll
    for (int q = 0; q < 8; ++q) acc[q] = 0.0f;
    for (int j = 0; j < k; ++j) {  // 16-byte load; bf16 q is the upper half of an fp32 bit pattern
      const uint4 raw = *reinterpret_cast<const uint4*>(ye + static_cast<size_t>(row[j]) * H + c0);
      const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        const float v = __uint_as_float(q % 2 ? words[q / 2] & 0xFFFF0000u : words[q / 2] << 16);
        acc[q] = bf16r(acc[q] + bf16r(v * w[j]));
      }
    }
    uint32_t packed[4];
#pragma unroll
    for (int q = 0; q < 4; ++q)
      packed[q] = static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16(acc[2 * q]))) |
                  (static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16(acc[2 * q + 1]))) << 16);
    const uint4 out = make_uint4(packed[0], packed[1], packed[2], packed[3]);
    *reinterpret_cast<uint4*>(y + static_cast<size_t>(t) * H + c0) = out;
  }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::moe
