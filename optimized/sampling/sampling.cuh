// On-device next-token selection from fp32 logits rows [B, V] (V up to 200064), one block per row.
// Exactly the CPU reference (reference/sampling.cpp, sample_token) given the same uniform u in [0, 1):
//   temperature == 0: argmax, ties to the lowest id (std::max_element); NaN never wins.
//   otherwise: ids sorted by logit descending, ties by ascending id (std::stable_sort); keep = top_k
//   (0 = all); e_i = exp(double(l_i)/T - mx) in double; sum, the top_p prefix scan, the renormalizing
//   sum and the final u < cum scan run sequentially in the reference's order (one thread), the
//   order-free elementwise parts (exp, divisions) in parallel. So every double the reference computes is
//   computed with the same operations in the same order: the token agrees bit for bit on the emulator
//   (same libm); on a GPU, CUDA's double exp may differ from glibc's by 1 ulp, which can change the
//   token only when u lies within ~1e-16 of a cumulative-probability boundary.
// -0.0 and +0.0 compare equal (as in the reference) and tie by id.
// v1: a 64-bit key per element (descending-order float bits << 32 | id), bitonic sort of the padded
//     power-of-two array in global scratch by the one block, then the reference loops.
// v2: greedy over many blocks per row (chunk argmax + one-warp combine);
//     sampling: only the candidates are sorted (in shared memory): with top_k, the top_k-th largest value is found
//     by a 4-pass 8-bit radix select over the value bits; candidates are the values >= it (all ties)
//     that also satisfy z = x/T - mx >= -43. Exactness of the cut: the top logit gives e = exp(0) = 1,
//     so every partial sum is >= 1 and every later cumulative sum >= 0.5; an excluded term has
//     e < exp(-42) < 2^-60, below half an ulp of those sums, so adding it in the reference's loops
//     changes nothing. The loops therefore run on the sorted candidates only; when a scan would have to
//     continue past them (u or top_p within ~1e-16 of 1), or there are more than kCap candidates, the
//     row is flagged and v1 recomputes it exactly (a second launch that skips unflagged rows).
#pragma once
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace sampling {

using Key = unsigned long long;

// Ascending keys = logits descending, then ids ascending.
__device__ __forceinline__ Key make_key(float v, int id) {
  if (v == 0.0f) v = 0.0f;  // -0.0 == +0.0 in the reference's comparison
  const uint32_t u = __float_as_uint(v);
  const uint32_t ord = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // ascending float order
  return (static_cast<Key>(~ord) << 32) | static_cast<uint32_t>(id);
}
__device__ __forceinline__ int key_id(Key k) { return static_cast<int>(k & 0xffffffffu); }

struct ArgMax {
  float v;
  int i;  // 0x7fffffff: nothing seen (empty range or all NaN)
};
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

// Block argmax of x[0, n) with ties to the lowest index; NaN skipped; indices offset by `base`.
template <int kThreads>
__device__ __forceinline__ ArgMax block_argmax_pair(const float* x, int n, int base) {
  constexpr int kWarps = kThreads / 32;
  MM_SHARED(float, s_val, [kWarps]);
  MM_SHARED(int, s_idx, [kWarps]);
  float best = -INFINITY;
  int bi = 0x7fffffff;
  for (int i = static_cast<int>(threadIdx.x); i < n; i += kThreads) {
    const float v = x[i];
    if (better(v, base + i, best, bi)) { best = v; bi = base + i; }
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, best, bi)) { best = ov; bi = oi; }
  }
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) { s_val[warp] = best; s_idx[warp] = bi; }
  __syncthreads();
  best = s_val[0];
  bi = s_idx[0];
  for (int w = 1; w < kWarps; ++w)
    if (better(s_val[w], s_idx[w], best, bi)) { best = s_val[w]; bi = s_idx[w]; }
  return {best, bi};
}

// The row's argmax (0 when every logit is NaN; the runners reject NaN).
template <int kThreads>
__device__ __forceinline__ int block_argmax(const float* x, int V) {
  const ArgMax r = block_argmax_pair<kThreads>(x, V, 0);
  return r.i == 0x7fffffff ? 0 : r.i;
}

// Greedy across many blocks (v2): grid (chunks, rows); each block writes its chunk's (value, index).
template <int kThreads>
__global__ void __launch_bounds__(kThreads)
    argmax_partial_kernel(const float* __restrict__ logits, int V, int chunk, ArgMax* __restrict__ partial) {
  const int row = static_cast<int>(blockIdx.y), c = static_cast<int>(blockIdx.x);
  const int begin = c * chunk, n = V - begin < chunk ? V - begin : chunk;
  const ArgMax r = block_argmax_pair<kThreads>(logits + static_cast<size_t>(row) * V + begin, n, begin);
  if (threadIdx.x == 0) partial[static_cast<size_t>(row) * gridDim.x + c] = r;
}
// One warp per row combines the chunks in any order (the comparison is a total order on (value, id)).
__global__ void argmax_final_kernel(const ArgMax* __restrict__ partial, int chunks, int* __restrict__ out,
                                    int* __restrict__ flagged) {
  const int row = static_cast<int>(blockIdx.x), lane = static_cast<int>(threadIdx.x);
  float best = -INFINITY;
  int bi = 0x7fffffff;
  for (int c = lane; c < chunks; c += 32) {
    const ArgMax p = partial[static_cast<size_t>(row) * chunks + c];
    if (better(p.v, p.i, best, bi)) { best = p.v; bi = p.i; }
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (better(ov, oi, best, bi)) { best = ov; bi = oi; }
  }
  if (lane == 0) {
    out[row] = bi == 0x7fffffff ? 0 : bi;
    flagged[row] = 0;
  }
}

// keys: N (power of two >= V) per row; prob: V doubles per row.
template <int kThreads>
__global__ void __launch_bounds__(kThreads)
    sample_v1_kernel(const float* __restrict__ logits, int V, int N, double temperature, int top_k, double top_p,
                     const double* __restrict__ uniforms, Key* __restrict__ keys_all, double* __restrict__ prob_all,
                     int* __restrict__ out, const int* __restrict__ only_flagged) {
  MM_SHARED(double, s_sum, [1]);
  MM_SHARED(int, s_keep, [1]);
  const int row = static_cast<int>(blockIdx.x), tid = static_cast<int>(threadIdx.x);
  if (only_flagged && !only_flagged[row]) return;  // v2 already chose this row's token
  const float* x = logits + static_cast<size_t>(row) * V;
  if (temperature == 0.0) {
    const int best = block_argmax<kThreads>(x, V);
    if (tid == 0) out[row] = best;
    return;
  }
  Key* keys = keys_all + static_cast<size_t>(row) * N;
  double* prob = prob_all + static_cast<size_t>(row) * V;
  for (int i = tid; i < N; i += kThreads) keys[i] = i < V ? make_key(x[i], i) : ~Key{0};
  __syncthreads();
  for (int k = 2; k <= N; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = tid; i < N; i += kThreads) {
        const int l = i ^ j;
        if (l > i) {
          const Key a = keys[i], b = keys[l];
          if ((a > b) == ((i & k) == 0)) { keys[i] = b; keys[l] = a; }
        }
      }
      __syncthreads();
    }
  }
  const int keep0 = top_k > 0 && top_k < V ? top_k : V;
  const double mx = static_cast<double>(x[key_id(keys[0])]) / temperature;
  for (int i = tid; i < keep0; i += kThreads) prob[i] = exp(static_cast<double>(x[key_id(keys[i])]) / temperature - mx);
  __syncthreads();
  if (tid == 0) {
    double sum = 0;
    for (int i = 0; i < keep0; ++i) sum += prob[i];
    s_sum[0] = sum;
  }
  __syncthreads();
  const double sum = s_sum[0];
  for (int i = tid; i < keep0; i += kThreads) prob[i] /= sum;
  __syncthreads();
  int keep = keep0;
  if (top_p < 1.0) {
    __syncthreads();  // everyone has read s_sum before thread 0 reuses it
    if (tid == 0) {
      double cum = 0;
      int n = 0;
      while (n < keep0) { cum += prob[n++]; if (cum >= top_p) break; }
      double sum2 = 0;
      for (int i = 0; i < n; ++i) sum2 += prob[i];
      s_keep[0] = n;
      s_sum[0] = sum2;
    }
    __syncthreads();
    keep = s_keep[0];
    const double sum2 = s_sum[0];
    for (int i = tid; i < keep; i += kThreads) prob[i] /= sum2;
    __syncthreads();
  }
  if (tid == 0) {
    const double u = uniforms[row];
    double cum = 0;
    int tok = key_id(keys[keep - 1]);
    for (int i = 0; i < keep; ++i) {
      cum += prob[i];
      if (u < cum) { tok = key_id(keys[i]); break; }
    }
    out[row] = tok;
  }
}

constexpr int kCap = 4096;  // candidates sorted in shared memory (32 KiB of keys)

// The reference loops on the sorted candidates cand[0, L) (L = min(keep0, c)), block-cooperative: the
// order-free parts (exp, divisions) in parallel, every sum and scan on thread 0 in the reference's
// order. Returns (in every thread) the token, or -1 when the answer lies beyond the candidates (the
// excluded tail; the caller falls back to v1).
template <int kThreads>
__device__ __forceinline__ int reference_loops(const float* x, const Key* cand, int c, int keep0, double temperature,
                                               double top_p, double u, double* prob) {
  MM_SHARED(double, s_d, [1]);
  MM_SHARED(int, s_i, [2]);
  const int tid = static_cast<int>(threadIdx.x);
  const int L = c < keep0 ? c : keep0;
  const double mx = static_cast<double>(x[key_id(cand[0])]) / temperature;
  for (int i = tid; i < L; i += kThreads) prob[i] = exp(static_cast<double>(x[key_id(cand[i])]) / temperature - mx);
  __syncthreads();
  if (tid == 0) {
    double sum = 0;
#pragma unroll 8
    for (int i = 0; i < L; ++i) sum += prob[i];
    s_d[0] = sum;
  }
  __syncthreads();
  const double sum = s_d[0];
  for (int i = tid; i < L; i += kThreads) prob[i] /= sum;
  __syncthreads();  // also: every thread has read s_d before it is reused
  int keep = keep0;   // may exceed L: the excluded tail, whose terms leave every sum unchanged
  if (top_p < 1.0) {
    if (tid == 0) {
      double cum = 0;
      int n = 0;
      while (n < L) { cum += prob[n++]; if (cum >= top_p) break; }
      const int k = cum >= top_p ? n : keep0;
      const int m = k < L ? k : L;
      double sum2 = 0;
      for (int i = 0; i < m; ++i) sum2 += prob[i];
      s_i[0] = k;
      s_d[0] = sum2;
    }
    __syncthreads();
    keep = s_i[0];
    const double sum2 = s_d[0];
    const int m = keep < L ? keep : L;
    for (int i = tid; i < m; i += kThreads) prob[i] /= sum2;
    __syncthreads();
  }
  if (tid == 0) {
    const int m = keep < L ? keep : L;
    double cum = 0;
    int tok = keep <= L ? key_id(cand[keep - 1]) : -1;
    for (int i = 0; i < m; ++i) {
      cum += prob[i];
      if (u < cum) { tok = key_id(cand[i]); break; }
    }
    s_i[1] = tok;
  }
  __syncthreads();
  return s_i[1];
}

template <int kThreads>
__global__ void __launch_bounds__(kThreads)
    sample_v2_kernel(const float* __restrict__ logits, int V, double temperature, int top_k, double top_p,
                     const double* __restrict__ uniforms, double* __restrict__ prob_all, int* __restrict__ out,
                     int* __restrict__ flagged) {
  MM_SHARED(Key, s_keys, [kCap]);
  MM_SHARED(unsigned, s_hist, [256]);
  MM_SHARED(unsigned, s_sel, [3]);  // prefix, mask, need
  MM_SHARED(int, s_count, [1]);
  const int row = static_cast<int>(blockIdx.x), tid = static_cast<int>(threadIdx.x);
  const float* x = logits + static_cast<size_t>(row) * V;
  const int best = block_argmax<kThreads>(x, V);  // ends with a barrier-separated shared read
  if (temperature == 0.0) {
    if (tid == 0) { out[row] = best; flagged[row] = 0; }
    return;
  }
  const int keep0 = top_k > 0 && top_k < V ? top_k : V;
  // top_k-th smallest descending-order value bits (hi word of the key): 4 passes of 8 bits
  if (tid == 0) { s_sel[0] = 0; s_sel[1] = 0; s_sel[2] = static_cast<unsigned>(keep0); s_count[0] = 0; }
  __syncthreads();
  unsigned hi_cut = 0xffffffffu;
  if (keep0 < V) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int i = tid; i < 256; i += kThreads) s_hist[i] = 0;
      __syncthreads();
      const unsigned prefix = s_sel[0], mask = s_sel[1];
      for (int i = tid; i < V; i += kThreads) {
        const unsigned h = static_cast<unsigned>(make_key(x[i], 0) >> 32);
        if ((h & mask) == prefix) atomicAdd(&s_hist[(h >> shift) & 255u], 1u);
      }
      __syncthreads();
      if (tid == 0) {
        unsigned need = s_sel[2], d = 0;
        while (s_hist[d] < need) need -= s_hist[d++];
        s_sel[0] = prefix | (d << shift);
        s_sel[1] = mask | (255u << shift);
        s_sel[2] = need;
      }
      __syncthreads();
    }
    hi_cut = s_sel[0];
  }
  // candidates: value rank within the top_k (ties included) and z >= -43
  const double m = static_cast<double>(x[best]);
  for (int i = tid; i < V; i += kThreads) {
    const Key k = make_key(x[i], i);
    if (static_cast<unsigned>(k >> 32) <= hi_cut && (static_cast<double>(x[i]) - m) / temperature >= -43.0) {
      const int slot = atomicAdd(&s_count[0], 1);
      if (slot < kCap) s_keys[slot] = k;
    }
  }
  __syncthreads();
  const int c = s_count[0];
  if (c > kCap || c == 0) {  // too many candidates (or all -inf): v1 takes the row
    if (tid == 0) flagged[row] = 1;
    return;
  }
  int P = 1;
  while (P < c) P <<= 1;
  for (int i = c + tid; i < P; i += kThreads) s_keys[i] = ~Key{0};
  __syncthreads();
  for (int k = 2; k <= P; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = tid; i < P; i += kThreads) {
        const int l = i ^ j;
        if (l > i) {
          const Key a = s_keys[i], b = s_keys[l];
          if ((a > b) == ((i & k) == 0)) { s_keys[i] = b; s_keys[l] = a; }
        }
      }
      __syncthreads();
    }
  }
  const int tok = reference_loops<kThreads>(x, s_keys, c, keep0, temperature, top_p, uniforms[row],
                                            prob_all + static_cast<size_t>(row) * V);
  if (tid == 0) {
    out[row] = tok;
    flagged[row] = tok < 0 ? 1 : 0;
  }
}

}  // namespace sampling
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
