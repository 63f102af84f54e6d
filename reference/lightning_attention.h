// Lightning attention (linear attention with per-head exponential decay), official semantics.
//
// Per head h with decay rate s (lambda = exp(-s)), q_t, k_t, v_t in R^d (row vectors):
//   S_t = lambda * S_{t-1} + k_t^T v_t        S in R^{d x d}: rows = key dim, cols = value dim
//   o_t = q_t S_t                             (no softmax, no normaliser, no 1/sqrt(d))
// Three formulations, which agree in exact arithmetic:
//   naive      o_t = sum_{j<=t} lambda^{t-j} (q_t . k_j) v_j + lambda^{t+1} q_t S_{-1}      O(S^2 d)
//   recurrent  the recurrence above, token by token (official decode / continuation path)
//   block      official 256-block prefill (docs/semantics/text-01-model.md#block-prefill),
//              optionally continuing from a state:
//                o_inter = (Q_i * lambda^{j+1}) KV;  o_intra = ((Q_i K_i^T) . M) V_i,
//                M_ab = lambda^{a-b} (a >= b), 0 otherwise;  KV <- lambda^m KV + (K_i * lambda^{m-1-j})^T V_i
//              every decay computed directly as exp(-s*n), never as a ratio (lambda^-n overflows).
// Layer: qkv = silu(x Wqkv^T) split PER HEAD (row r of Wqkv -> head r/(3d), q|k|v inside),
//        o = concat_h(o_h); o = RMSNorm(o, w_norm, eps 1e-6 over all heads);
//        o = sigmoid(x Wgate^T) * o;  y = o Wout^T.
#pragma once
#include <vector>

#include "core/config.h"
#include "reference/weight.h"

namespace mm::ref {

// Per-head kernels on q, k, v [S, d]; `state` [d, d] is read as S_{-1} and left as S_{S-1}.
template <class P>
Mat<typename P::T> lightning_block(const Mat<typename P::T>& q, const Mat<typename P::T>& k, const Mat<typename P::T>& v,
                                   double s, int block, Mat<typename P::T>& state);
template <class P>
Mat<typename P::T> lightning_recurrent(const Mat<typename P::T>& q, const Mat<typename P::T>& k,
                                       const Mat<typename P::T>& v, double s, Mat<typename P::T>& state);
// Quadratic masked-decay form (tests only): state is read, and the final state is written.
Mat<double> lightning_naive(const Mat<double>& q, const Mat<double>& k, const Mat<double>& v, double s,
                            Mat<double>& state);

template <class T> struct LightningWeights {
  Weight<T> qkv;    // [3 * n_h * d_h, H]  self_attn.qkv_proj.weight (per-head interleaved q|k|v)
  Weight<T> gate;   // [n_h * d_h, H]      self_attn.output_gate.weight
  Vec<T> norm;      // [n_h * d_h]         self_attn.norm.weight (RMSNorm over all heads, eps 1e-6)
  Weight<T> out;    // [H, n_h * d_h]      self_attn.out_proj.weight
};

// How a multi-token call continues from an existing state. Official (and HF) take the per-token
// recurrence; Block runs the block algorithm from the state (vLLM's chunked-prefill path, done right).
enum class Continuation { Recurrent, Block };

template <class T> struct LightningCache {
  std::vector<Mat<T>> state;  // per head [d_h, d_h], fp32 in the BF16 mode (official kv is fp32)
  bool fresh() const { return state.empty(); }
};

template <class T> struct LightningTrace {
  Mat<T> q, k, v;  // [S, n_h * d_h] after silu, head-major columns
  Mat<T> attn;     // [S, n_h * d_h] attention output before the inner norm
};

// x [S, H] (the input_layernorm output). slopes: per-head s for this layer (lightning_slopes).
template <class P>
Mat<typename P::T> lightning_attention(const Mat<typename P::T>& x, const LightningWeights<typename P::T>& w,
                                       const ModelConfig& cfg, const std::vector<double>& slopes,
                                       LightningCache<typename P::T>& cache, Continuation cont,
                                       LightningTrace<typename P::T>* trace = nullptr);

}  // namespace mm::ref
