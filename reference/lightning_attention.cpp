#include "reference/lightning_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/linear.h"
#include "reference/rmsnorm.h"

namespace mm::ref {

template <class P>
Mat<typename P::T> lightning_block(const Mat<typename P::T>& q, const Mat<typename P::T>& k, const Mat<typename P::T>& v,
                                   double s_in, int block, Mat<typename P::T>& kv) {
  using T = typename P::T;
  const Eigen::Index S = q.rows(), dv = v.cols();
  const T s = static_cast<T>(s_in);
  const Eigen::Index B = block;
  // Decay tables, each entry exp(-s*n) computed directly (fp32 in the official code).
  Vec<T> q_decay(B), k_decay_full(B);
  for (Eigen::Index j = 0; j < B; ++j) {
    q_decay(j) = std::exp(-s * static_cast<T>(j + 1));
    k_decay_full(j) = std::exp(-s * static_cast<T>(B - 1 - j));
  }
  Mat<T> diag(B, B);
  for (Eigen::Index a = 0; a < B; ++a)
    for (Eigen::Index b = 0; b < B; ++b) diag(a, b) = a >= b ? std::exp(-s * static_cast<T>(a - b)) : T(0);

  Mat<T> out(S, dv);
  for (Eigen::Index si = 0; si < S; si += B) {
    const Eigen::Index m = std::min(B, S - si);
    const auto Qi = q.middleRows(si, m);
    const auto Ki = k.middleRows(si, m);
    const auto Vi = v.middleRows(si, m);
    // inter-block: (Q_i * lambda^{j+1}) KV, fp32 (no rounding of the scaled Q in the official code)
    const Mat<T> o_inter = (q_decay.head(m).asDiagonal() * Qi) * kv;
    // intra-block: bf16 GEMM Q K^T (rounded), then fp32 decay mask and fp32 product with V
    Mat<T> qk = stored<P>(Qi * Ki.transpose());
    qk = qk.cwiseProduct(diag.topLeftCorner(m, m));
    const Mat<T> o_intra = qk * Vi;
    out.middleRows(si, m) = stored<P>(o_inter + o_intra);
    // state: KV <- lambda^m KV + bf16( bf16(K_i * lambda^{m-1-j})^T V_i ); k_decay[-m:] is lambda^{m-1-j}
    const Mat<T> kd = stored<P>(k_decay_full.tail(m).asDiagonal() * Ki);
    const Mat<T> upd = stored<P>(kd.transpose() * Vi);
    kv = std::exp(-s * static_cast<T>(m)) * kv + upd;
  }
  return out;
}

template <class P>
Mat<typename P::T> lightning_recurrent(const Mat<typename P::T>& q, const Mat<typename P::T>& k,
                                       const Mat<typename P::T>& v, double s_in, Mat<typename P::T>& kv) {
  using T = typename P::T;
  const T ratio = std::exp(-static_cast<T>(s_in));
  Mat<T> out(q.rows(), v.cols());
  for (Eigen::Index t = 0; t < q.rows(); ++t) {
    // kv = ratio*kv + bf16(k_t^T v_t)  (the einsum is a bf16 op; kv stays fp32)
    kv = ratio * kv + stored<P>(k.row(t).transpose() * v.row(t));
    // o_t = q_t @ kv.to(bf16): a bf16 GEMM on the rounded state (official decode asymmetry,
    // docs/semantics/text-01-numerics.md#lightning-recurrence)
    out.row(t) = stored<P>(q.row(t) * stored<P>(kv));
  }
  return out;
}

Mat<double> lightning_naive(const Mat<double>& q, const Mat<double>& k, const Mat<double>& v, double s,
                            Mat<double>& state) {
  const Eigen::Index S = q.rows();
  Mat<double> out(S, v.cols());
  for (Eigen::Index t = 0; t < S; ++t) {
    RowVec<double> o = std::exp(-s * static_cast<double>(t + 1)) * (q.row(t) * state);
    for (Eigen::Index j = 0; j <= t; ++j)
      o += std::exp(-s * static_cast<double>(t - j)) * q.row(t).dot(k.row(j)) * v.row(j);
    out.row(t) = o;
  }
  Mat<double> fin = std::exp(-s * static_cast<double>(S)) * state;
  for (Eigen::Index j = 0; j < S; ++j)
    fin += std::exp(-s * static_cast<double>(S - 1 - j)) * k.row(j).transpose() * v.row(j);
  state = fin;
  return out;
}

template <class P>
Mat<typename P::T> lightning_attention(const Mat<typename P::T>& x, const LightningWeights<typename P::T>& w,
                                       const ModelConfig& cfg, const std::vector<double>& slopes,
                                       LightningCache<typename P::T>& cache, Continuation cont,
                                       LightningTrace<typename P::T>* trace) {
  using T = typename P::T;
  const Eigen::Index S = x.rows(), nh = cfg.num_attention_heads, d = cfg.head_dim;
  // silu on the whole fused projection (q, k AND v), stored as bf16 in the official model
  Mat<T> qkv = linear<P>(x, w.qkv);
  qkv = qkv.unaryExpr([](T a) { return P::r(silu(a)); });
  const bool fresh = cache.fresh();
  if (fresh) cache.state.assign(static_cast<std::size_t>(nh), Mat<T>::Zero(d, d));
  Mat<T> o(S, nh * d);
  if (trace) { trace->q.resize(S, nh * d); trace->k.resize(S, nh * d); trace->v.resize(S, nh * d); }
  for (Eigen::Index h = 0; h < nh; ++h) {
    // per-head interleaved layout: columns [h*3d, h*3d+d) = q, next d = k, next d = v
    const Mat<T> q = qkv.middleCols(h * 3 * d, d);
    const Mat<T> k = qkv.middleCols(h * 3 * d + d, d);
    const Mat<T> v = qkv.middleCols(h * 3 * d + 2 * d, d);
    if (trace) { trace->q.middleCols(h * d, d) = q; trace->k.middleCols(h * d, d) = k; trace->v.middleCols(h * d, d) = v; }
    Mat<T>& st = cache.state[static_cast<std::size_t>(h)];
    const double s = slopes[static_cast<std::size_t>(h)];
    if (fresh || cont == Continuation::Block)
      o.middleCols(h * d, d) = lightning_block<P>(q, k, v, s, static_cast<int>(cfg.block_size), st);
    else
      o.middleCols(h * d, d) = lightning_recurrent<P>(q, k, v, s, st);
  }
  if (trace) trace->attn = o;
  Mat<T> normed = rmsnorm<P>(o, w.norm, cfg.lightning_norm_eps);
  Mat<T> gate = linear<P>(x, w.gate);
  gate = gate.unaryExpr([](T a) { return P::r(sigmoid(a)); });
  const Mat<T> gated = stored<P>(gate.cwiseProduct(normed));
  return linear<P>(gated, w.out);
}

#define MM_INSTANTIATE(P)                                                                                      \
  template Mat<P::T> lightning_block<P>(const Mat<P::T>&, const Mat<P::T>&, const Mat<P::T>&, double, int,     \
                                        Mat<P::T>&);                                                           \
  template Mat<P::T> lightning_recurrent<P>(const Mat<P::T>&, const Mat<P::T>&, const Mat<P::T>&, double,      \
                                            Mat<P::T>&);                                                       \
  template Mat<P::T> lightning_attention<P>(const Mat<P::T>&, const LightningWeights<P::T>&, const ModelConfig&, \
                                            const std::vector<double>&, LightningCache<P::T>&, Continuation,   \
                                            LightningTrace<P::T>*);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

}  // namespace mm::ref
