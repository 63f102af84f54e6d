// Analytic FLOP and byte counts per decoder layer and per forward call, so every timing can report
// achieved GFLOP/s, GB/s and a fraction of the roof. One multiply-add = 2 FLOP. Counted: the matrix
// products and the attention/state arithmetic; elementwise work (norms, silu, gates, softmax exp,
// decay scaling) is O(S*H) and left out (a few % at these shapes). Bytes: what a call must move at
// least once: every weight it reads, its input and output activations, caches/state read and written.
// Notation: S new tokens, P cached tokens before the call, H hidden, n_h heads, d head_dim,
// inner = n_h d, kvd = n_kv d, E experts, k top-k, I expert width, V vocab, b block size,
// e = bytes per element (weights/activations), s = bytes per lightning-state element.
//
// Lightning layer (qkv 3 inner x H, gate inner x H, out H x inner):
//   proj FLOP  = 2 S H (3 inner) + 2 S H inner + 2 S inner H = 10 S H inner
//   core FLOP, prefill from an empty state (block algorithm, blocks m_1..m_B of size <= b):
//             per head and block: intra Q K^T and (.)V 4 m^2 d; inter Q KV 2 m d^2; KV update 2 m d^2
//             = n_h sum_i (4 m_i^2 d + 4 m_i d^2)
//   core FLOP, continuing a state (decode, recurrent): n_h S (4 d^2)   (k^T v update + q S)
//   bytes     = e (5 inner H + inner) + 2 e S H + 2 s n_h d^2 (state read + written)
// Softmax layer (q inner x H, k/v kvd x H, o H x inner), causal over P + S keys:
//   FLOP  = 2 S H (2 inner + 2 kvd) + 4 n_h d (S P + S (S + 1) / 2)     (QK^T and PV)
//   bytes = e (2 inner H + 2 kvd H) + 2 e S H + e 2 kvd (P + S) (cache read) + e 2 kvd S (cache write)
// MoE block (router E x H, experts 3 I x H each), top-k:
//   FLOP  = 2 S H E + k S (6 H I)
//   bytes = e (E H + min(E, k S) 3 H I) + 2 e S H   (an expert's weights are read once per call,
//           min(E, kS) experts at most are touched)
// Head (embedding rows, final norm, lm_head V x H) of S tokens making R logits rows (R = S, or 1 for a
// last-row-only step, StepRequest::all_logits = false):
//   FLOP  = 2 R H V;   bytes = e (S H + H + V H) + 4 R V (fp32 logits out)
//
// MiniMax-VL-01 vision side (per 336 x 336 crop; D vision hidden, I vision MLP width, L vision layers,
// N = 576 patches, K = 3 x 14 x 14 = 588 patch values, S = N + 1 = 577 rows with CLS, Ht text hidden):
//   patch conv (a GEMM)        2 N K D
//   per encoder layer          8 S D^2 (q, k, v, out) + 4 S D I (fc1 + fc2) + 4 S^2 D (QK^T and PV over
//                              the crop's own 577 rows: crops never see each other)
//   projector (2-layer MLP)    2 N (D Ht + Ht Ht)
//   FLOP per crop = 2 N K D + L (8 S D^2 + 4 S D I + 4 S^2 D) + 2 N (D Ht + Ht Ht)
//   bytes of a call of C crops = e (K D + S D + L (4 D^2 + 2 D I) + D Ht + Ht Ht) (every weight once)
//                                + C (4 x 3 x 336^2 (fp32 pixels in) + e N Ht (projected features out))
// (layer norms, biases, GELU and the packing's copies are elementwise and left out, as above).
#pragma once
#include <cstdint>

#include "core/config.h"
#include "core/vl_config.h"

namespace mm::harness {

struct Cost {
  double flops = 0, bytes = 0;
  Cost& operator+=(const Cost& o) {
    flops += o.flops;
    bytes += o.bytes;
    return *this;
  }
};

Cost lightning_attention_cost(const ModelConfig& c, int64_t S, int64_t P, int e, int s);
Cost softmax_attention_cost(const ModelConfig& c, int64_t S, int64_t P, int e);
Cost moe_cost(const ModelConfig& c, int64_t S, int e);
Cost head_cost(const ModelConfig& c, int64_t S, int64_t R, int e);
// One decoder layer (attention of its type + MoE + its two norms' weights).
Cost layer_cost(const ModelConfig& c, int layer, int64_t S, int64_t P, int e, int s);
// The whole forward call: every layer + head (R logits rows).
Cost forward_cost(const ModelConfig& c, int64_t S, int64_t P, int64_t R, int e, int s);
// The vision tower + projector on `crops` crops (MiniMax-VL-01; the formula above). The cost of one
// crop in a call of C crops is vision_cost(c, C, e) / C (weights read once per call, shared).
Cost vision_cost(const VlConfig& c, int64_t crops, int e);

}  // namespace mm::harness
