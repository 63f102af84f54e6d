// One decoder layer with DeepNorm residuals (docs/semantics/text-01-model.md#decoder-layer):
//   n1 = LN1(x);  r1 = postnorm ? n1 : x;  y   = alpha_attn * r1 + beta_attn * Attn(n1)
//   n2 = LN2(y);  r2 = postnorm ? n2 : y;  out = alpha_mlp  * r2 + beta_mlp  * MoE(n2)
// BF16 mode: y = bf16(bf16(r1 * fl32(alpha)) + bf16(a * fl32(beta))), likewise for out.
#pragma once
#include "core/config.h"
#include "reference/lightning_attention.h"
#include "reference/moe.h"
#include "reference/softmax_attention.h"

namespace mm::ref {

template <class T> struct LayerWeights {
  LayerType type = LayerType::Lightning;
  Vec<T> input_norm;   // [H] input_layernorm.weight
  Vec<T> post_norm;    // [H] post_attention_layernorm.weight
  LightningWeights<T> lightning;  // when type == Lightning
  SoftmaxWeights<T> softmax;      // when type == Softmax
  MoEWeights<T> moe;
};

template <class T> struct LayerCache {
  LightningCache<T> lightning;
  KVCache<T> kv;
};

// What a layer exposes to tests and the harness (filled when a trace is requested).
template <class T> struct LayerTrace {
  Mat<T> attn_out;  // [S, H] attention block output, before the residual
  Mat<T> moe_out;   // [S, H] MoE block output, before the residual
  Mat<T> output;    // [S, H] layer output
  RouterChoice<T> router;
  LightningTrace<T> lightning;
};

template <class P>
Mat<typename P::T> decoder_layer(const Mat<typename P::T>& x, const LayerWeights<typename P::T>& w,
                                 const ModelConfig& cfg, int layer, LayerCache<typename P::T>& cache,
                                 Continuation cont, LayerTrace<typename P::T>* trace = nullptr);

}  // namespace mm::ref
