// Softmax (full) attention with GQA, partial RoPE and a KV cache (official flash-attention path).
//   q = x Wq^T [S, n_h d_h], k = x Wk^T, v = x Wv^T [S, n_kv d_h]; RoPE on q and k (positions past..past+S-1)
//   K/V caches hold post-RoPE k and v; query head h reads kv head h / (n_h / n_kv)
//   o_h = softmax(q_h K^T / sqrt(d_h) + causal mask) V, causal bottom-right aligned with the cache
//   y = concat_h(o_h) Wo^T
// BF16 mode: q, k, v and the RoPE result stored in bf16; scores, softmax and P V in fp32 (flash-attention
// accumulates in fp32), output stored in bf16.
#pragma once
#include "core/config.h"
#include "reference/weight.h"

namespace mm::ref {

template <class T> struct SoftmaxWeights {
  Weight<T> q;  // [n_h * d_h, H]   self_attn.q_proj.weight
  Weight<T> k;  // [n_kv * d_h, H]  self_attn.k_proj.weight
  Weight<T> v;  // [n_kv * d_h, H]  self_attn.v_proj.weight
  Weight<T> o;  // [H, n_h * d_h]   self_attn.o_proj.weight
};

template <class T> struct KVCache {
  Mat<T> k;  // [S_total, n_kv * d_h] post-RoPE keys
  Mat<T> v;  // [S_total, n_kv * d_h] values
  int64_t length() const { return k.rows(); }
};

// x [S, H] (the input_layernorm output); appends S rows to the cache.
template <class P>
Mat<typename P::T> softmax_attention(const Mat<typename P::T>& x, const SoftmaxWeights<typename P::T>& w,
                                     const ModelConfig& cfg, KVCache<typename P::T>& cache);

}  // namespace mm::ref
