// Sparse MoE block (official MiniMaxText01SparseMoeBlock, docs/semantics/text-01-model.md#moe), no shared expert.
//   logits = x Wg^T [T, E] (bf16 Linear);  p = softmax(logits) in fp32          (softmax FIRST)
//   (w, idx) = top-k(p), ties to the lower expert index;  w = w / sum(w);  w -> bf16
//   expert_e(x) = W2 (silu(W1 x) * (W3 x))                                      (SwiGLU)
//   y[t] = sum over chosen experts in ASCENDING expert index of bf16(expert_e(x_t) * w),
//          accumulated into a bf16 buffer (index_add_), so the order fixes the rounding.
#pragma once
#include <functional>
#include <vector>

#include "reference/weight.h"

namespace mm::ref {

template <class T> struct ExpertWeights {
  Weight<T> w1;  // [I, H] block_sparse_moe.experts.e.w1.weight (gate proj)
  Weight<T> w3;  // [I, H] block_sparse_moe.experts.e.w3.weight (up proj)
  Weight<T> w2;  // [H, I] block_sparse_moe.experts.e.w2.weight (down proj)
};

template <class T> struct MoEWeights {
  Weight<T> gate;                       // [E, H] block_sparse_moe.gate.weight (router)
  std::vector<ExpertWeights<T>> experts;  // E experts, or none when `stored_expert` is set
  // Streamed weights (ref::load_weights, WeightResidency::Streamed): expert e converted from the mapped
  // checkpoint when a token is routed to it, used, and dropped, so one expert is in memory at a time.
  std::function<ExpertWeights<T>(int e)> stored_expert;
};

template <class T> struct RouterChoice {
  Mat<T> logits;                      // [T, E] router logits (bf16 Linear output)
  Mat<T> probs;                       // [T, E] softmax probabilities
  std::vector<std::vector<int>> ids;  // [T][k] chosen experts, highest probability first
  std::vector<std::vector<T>> weights;  // [T][k] renormalised weights (bf16-rounded in BF16 mode)
};

// Softmax -> top-k -> renormalise. Exposed for tests and the harness.
template <class P>
RouterChoice<typename P::T> route(const Mat<typename P::T>& logits, int top_k);

template <class P>
Mat<typename P::T> expert_forward(const Mat<typename P::T>& x, const ExpertWeights<typename P::T>& w);

// x [T, H] (the post_attention_layernorm output) -> [T, H]. `choice` receives the routing if given.
template <class P>
Mat<typename P::T> moe(const Mat<typename P::T>& x, const MoEWeights<typename P::T>& w, int top_k,
                       RouterChoice<typename P::T>* choice = nullptr);

}  // namespace mm::ref
