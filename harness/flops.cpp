#include "harness/flops.h"

#include <algorithm>

namespace mm::harness {

Cost lightning_attention_cost(const ModelConfig& c, int64_t S, int64_t P, int e, int s) {
  const double H = static_cast<double>(c.hidden_size), inner = static_cast<double>(c.inner_dim());
  const double nh = static_cast<double>(c.num_attention_heads), d = static_cast<double>(c.head_dim);
  Cost k;
  k.flops = 10.0 * S * H * inner;
  if (P == 0) {
    for (int64_t start = 0; start < S; start += c.block_size) {
      const double m = static_cast<double>(std::min<int64_t>(c.block_size, S - start));
      k.flops += nh * (4 * m * m * d + 4 * m * d * d);
    }
  } else {
    k.flops += nh * static_cast<double>(S) * 4 * d * d;
  }
  k.bytes = e * (5 * inner * H + inner) + 2.0 * e * S * H + 2.0 * s * nh * d * d;
  return k;
}

Cost softmax_attention_cost(const ModelConfig& c, int64_t S, int64_t P, int e) {
  const double H = static_cast<double>(c.hidden_size), inner = static_cast<double>(c.inner_dim());
  const double kvd = static_cast<double>(c.kv_dim()), nh = static_cast<double>(c.num_attention_heads);
  const double d = static_cast<double>(c.head_dim), dS = static_cast<double>(S), dP = static_cast<double>(P);
  Cost k;
  k.flops = 2 * dS * H * (2 * inner + 2 * kvd) + 4 * nh * d * (dS * dP + dS * (dS + 1) / 2);
  k.bytes = e * (2 * inner * H + 2 * kvd * H) + 2.0 * e * dS * H + e * 2 * kvd * (dP + dS) + e * 2 * kvd * dS;
  return k;
}

Cost moe_cost(const ModelConfig& c, int64_t S, int e) {
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double E = static_cast<double>(c.num_local_experts), k = static_cast<double>(c.num_experts_per_tok);
  const double dS = static_cast<double>(S);
  Cost m;
  m.flops = 2 * dS * H * E + k * dS * 6 * H * I;
  m.bytes = e * (E * H + std::min(E, k * dS) * 3 * H * I) + 2.0 * e * dS * H;
  return m;
}

Cost head_cost(const ModelConfig& c, int64_t S, int64_t R, int e) {
  const double H = static_cast<double>(c.hidden_size), V = static_cast<double>(c.vocab_size);
  const double dS = static_cast<double>(S), dR = static_cast<double>(R);
  return {2 * dR * H * V, e * (dS * H + H + V * H) + 4 * dR * V};
}

Cost layer_cost(const ModelConfig& c, int layer, int64_t S, int64_t P, int e, int s) {
  Cost k = c.layer_types[static_cast<std::size_t>(layer)] == LayerType::Lightning
               ? lightning_attention_cost(c, S, P, e, s)
               : softmax_attention_cost(c, S, P, e);
  k += moe_cost(c, S, e);
  k.bytes += 2.0 * e * static_cast<double>(c.hidden_size);  // the two RMSNorm weights
  return k;
}

Cost forward_cost(const ModelConfig& c, int64_t S, int64_t P, int64_t R, int e, int s) {
  // A slice (docs/slices.md): its layers, and the lm_head only when it ends with the head (the embedding
  // reads S rows either way).
  Cost k = c.runs_head() ? head_cost(c, S, R, e) : Cost{0, e * static_cast<double>(S * c.hidden_size)};
  for (int64_t l = c.first_layer(); l < c.end_layer(); ++l) k += layer_cost(c, static_cast<int>(l), S, P, e, s);
  return k;
}

Cost vision_cost(const VlConfig& c, int64_t crops, int e) {
  const VisionConfig& v = c.vision;
  const double D = static_cast<double>(v.hidden_size), I = static_cast<double>(v.intermediate_size);
  const double L = static_cast<double>(v.num_hidden_layers), Ht = static_cast<double>(c.text.hidden_size);
  const double N = static_cast<double>(v.num_patches()), S = static_cast<double>(v.num_positions());
  const double K = static_cast<double>(v.num_channels * v.patch_size * v.patch_size);
  const double C = static_cast<double>(crops), px = static_cast<double>(v.num_channels * v.image_size * v.image_size);
  const double per_crop = 2 * N * K * D + L * (8 * S * D * D + 4 * S * D * I + 4 * S * S * D) + 2 * N * (D * Ht + Ht * Ht);
  const double weights = K * D + S * D + L * (4 * D * D + 2 * D * I) + D * Ht + Ht * Ht;
  return {C * per_crop, e * weights + C * (4 * px + e * N * Ht)};
}

}  // namespace mm::harness
