#include "reference/decoder_layer.h"

#include "reference/rmsnorm.h"
#include "core/slopes.h"

namespace mm::ref {

// out = bf16(bf16(resid * alpha) + bf16(branch * beta))  (exact for beta = 1)
template <class P>
static Mat<typename P::T> deepnorm_residual(const Mat<typename P::T>& resid, const Mat<typename P::T>& branch,
                                           double alpha, double beta) {
  using T = typename P::T;
  const T a = constant<P>(alpha), b = constant<P>(beta);
  return resid.binaryExpr(branch, [a, b](T r, T x) { return P::r(P::r(r * a) + P::r(x * b)); });
}

template <class P>
Mat<typename P::T> decoder_layer(const Mat<typename P::T>& x, const LayerWeights<typename P::T>& w,
                                 const ModelConfig& cfg, int layer, LayerCache<typename P::T>& cache,
                                 Continuation cont, LayerTrace<typename P::T>* trace) {
  using T = typename P::T;
  const Mat<T> n1 = rmsnorm<P>(x, w.input_norm, cfg.rms_norm_eps);
  Mat<T> a;
  double alpha, beta;
  if (w.type == LayerType::Lightning) {
    const auto slopes = lightning_slopes(static_cast<int>(cfg.num_attention_heads), layer,
                                         static_cast<int>(cfg.num_hidden_layers));
    a = lightning_attention<P>(n1, w.lightning, cfg, slopes, cache.lightning, cont, trace ? &trace->lightning : nullptr);
    alpha = cfg.alpha_linear;
    beta = cfg.beta_linear;
  } else {
    a = softmax_attention<P>(n1, w.softmax, cfg, cache.kv);
    alpha = cfg.alpha_full;
    beta = cfg.beta_full;
  }
  const Mat<T> y = deepnorm_residual<P>(cfg.postnorm ? n1 : x, a, alpha, beta);
  const Mat<T> n2 = rmsnorm<P>(y, w.post_norm, cfg.rms_norm_eps);
  Mat<T> m = moe<P>(n2, w.moe, static_cast<int>(cfg.num_experts_per_tok), trace ? &trace->router : nullptr);
  Mat<T> out = deepnorm_residual<P>(cfg.postnorm ? n2 : y, m, cfg.alpha_mlp, cfg.beta_mlp);
  if (trace) {
    trace->attn_out = std::move(a);
    trace->moe_out = std::move(m);
    trace->output = out;
  }
  return out;
}

#define MM_INSTANTIATE(P)                                                                                  \
  template Mat<P::T> decoder_layer<P>(const Mat<P::T>&, const LayerWeights<P::T>&, const ModelConfig&, int, \
                                      LayerCache<P::T>&, Continuation, LayerTrace<P::T>*);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

}  // namespace mm::ref
