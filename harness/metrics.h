// Error statistics of a tensor against its reference (the oracle ref-f64, or a golden's expected tensor).
//   rel_fro  = ||got - ref||_F / ||ref||_F                 (||got - ref||_F when ref == 0)
//   max_abs  = max_i |got_i - ref_i|
//   max_rel  = max_i |got_i - ref_i| / max(|ref_i|, rel_floor * max_j |ref_j|)   (floor keeps ~0 entries sane)
//   nmse     = sum (got_i - ref_i)^2 / sum ref_i^2          (ggml test-backend-ops definition)
//   cosine   = <got, ref> / (||got|| ||ref||)
// NaN/Inf are counted on both sides; the sums above run over entries finite on both sides, and an
// Inf matched by the same-sign Inf is not an error.
#pragma once
#include <cstdint>
#include <string>

#include "harness/tensor.h"

namespace mm::harness {

struct ErrorStats {
  bool shape_ok = true;
  int64_t n = 0;
  double rel_fro = 0, max_abs = 0, max_rel = 0, nmse = 0, cosine = 1, ref_max_abs = 0;
  int64_t nan_got = 0, inf_got = 0, nan_ref = 0, inf_ref = 0;
  int64_t nonfinite_mismatch = 0;  // entries non-finite in got or ref, except the same infinity in both
};

ErrorStats error_stats(const Tensor& got, const Tensor& ref, double rel_floor = 1e-6);

// Top-k expert choices ([T, k] ids) against the reference's, as sets. Token t is ignored when its
// reference router margin m_t = p_(k) - p_(k+1) (k-th minus (k+1)-th largest reference probability) is
// at most 2 * d_t + floor, d_t = max_e |p_got[t,e] - p_ref[t,e]|: a probability error of d_t can swap
// two experts only when they are within 2 d_t, so such a flip is explained by the (separately judged)
// router_probs error at rounding level, not a routing bug. Every other token must choose the same set.
struct ChoiceStats {
  int64_t tokens = 0, compared = 0, ignored = 0, mismatched = 0;
  double threshold = 0;   // the largest per-token threshold 2 d_t + floor that was applied
  double min_margin = 0;  // the smallest reference margin seen
};
ChoiceStats expert_agreement(const Tensor& got_ids, const Tensor& ref_ids, const Tensor& ref_probs,
                             const Tensor* got_probs, double floor);

// Argmax agreement of logits rows ([T, V]); rows whose reference top-1 minus top-2 gap is below
// `gap_threshold` are ignored for the same reason.
struct ArgmaxStats {
  int64_t rows = 0, agree = 0, ignored = 0, disagree = 0;
  double threshold = 0;
};
ArgmaxStats argmax_agreement(const Tensor& got, const Tensor& ref, double gap_threshold);

}  // namespace mm::harness
