#include "reference/softmax_attention.h"

#include <cmath>

#include "reference/linear.h"
#include "reference/rope.h"

namespace mm::ref {

template <class P>
Mat<typename P::T> softmax_attention(const Mat<typename P::T>& x, const SoftmaxWeights<typename P::T>& w,
                                     const ModelConfig& cfg, KVCache<typename P::T>& cache) {
  using T = typename P::T;
  const Eigen::Index S = x.rows(), nh = cfg.num_attention_heads, nkv = cfg.num_key_value_heads, d = cfg.head_dim;
  const int64_t past = cache.length();
  Mat<T> q = linear<P>(x, w.q), k = linear<P>(x, w.k), v = linear<P>(x, w.v);
  apply_rope<P>(q, static_cast<int>(nh), static_cast<int>(d), static_cast<int>(cfg.rotary_dim), cfg.rope_theta, past);
  apply_rope<P>(k, static_cast<int>(nkv), static_cast<int>(d), static_cast<int>(cfg.rotary_dim), cfg.rope_theta, past);
  // append to the cache
  Mat<T> K(past + S, nkv * d), V(past + S, nkv * d);
  if (past) { K.topRows(past) = cache.k; V.topRows(past) = cache.v; }
  K.bottomRows(S) = k;
  V.bottomRows(S) = v;
  cache.k = std::move(K);
  cache.v = std::move(V);

  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  const Eigen::Index group = nh / nkv, total = past + S;
  Mat<T> o(S, nh * d);
  for (Eigen::Index h = 0; h < nh; ++h) {
    const Eigen::Index g = h / group;
    const auto Kg = cache.k.middleCols(g * d, d);
    const auto Vg = cache.v.middleCols(g * d, d);
    Mat<T> scores = (q.middleCols(h * d, d) * Kg.transpose()) * scale;  // [S, total]
    for (Eigen::Index i = 0; i < S; ++i) {
      const Eigen::Index last = past + i;  // query i sees keys 0..past+i
      const T mx = scores.row(i).head(last + 1).maxCoeff();
      T sum = 0;
      for (Eigen::Index j = 0; j < total; ++j) {
        const T p = j <= last ? std::exp(scores(i, j) - mx) : T(0);
        scores(i, j) = p;
        sum += p;
      }
      scores.row(i) /= sum;
    }
    o.middleCols(h * d, d) = stored<P>(scores * Vg);
  }
  return linear<P>(o, w.o);
}

template Mat<double> softmax_attention<F64>(const Mat<double>&, const SoftmaxWeights<double>&, const ModelConfig&, KVCache<double>&);
template Mat<float> softmax_attention<F32>(const Mat<float>&, const SoftmaxWeights<float>&, const ModelConfig&, KVCache<float>&);
template Mat<float> softmax_attention<BF16>(const Mat<float>&, const SoftmaxWeights<float>&, const ModelConfig&, KVCache<float>&);

}  // namespace mm::ref
