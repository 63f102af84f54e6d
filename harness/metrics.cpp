#include "harness/metrics.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace mm::harness {

ErrorStats error_stats(const Tensor& got, const Tensor& ref, double rel_floor) {
  ErrorStats s;
  if (got.shape != ref.shape || got.values.size() != ref.values.size()) {
    s.shape_ok = false;
    return s;
  }
  s.n = static_cast<int64_t>(ref.values.size());
  for (double r : ref.values)
    if (std::isfinite(r)) s.ref_max_abs = std::max(s.ref_max_abs, std::abs(r));
  const double floor = std::max(rel_floor * s.ref_max_abs, 1e-300);
  double num = 0, den = 0, gg = 0, dot = 0;
  for (std::size_t i = 0; i < ref.values.size(); ++i) {
    const double g = got.values[i], r = ref.values[i];
    s.nan_got += std::isnan(g);
    s.inf_got += std::isinf(g);
    s.nan_ref += std::isnan(r);
    s.inf_ref += std::isinf(r);
    if (!std::isfinite(g) || !std::isfinite(r)) {
      const bool same_inf = std::isinf(g) && std::isinf(r) && (g > 0) == (r > 0);
      // Any non-finite value on either side, other than the same infinity on both, is a mismatch: a
      // broken reference must not pass by having its NaN/Inf entries skipped.
      if (!same_inf) ++s.nonfinite_mismatch;
      continue;
    }
    const double e = g - r;
    num += e * e;
    den += r * r;
    gg += g * g;
    dot += g * r;
    s.max_abs = std::max(s.max_abs, std::abs(e));
    s.max_rel = std::max(s.max_rel, std::abs(e) / std::max(std::abs(r), floor));
  }
  s.rel_fro = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  s.nmse = den > 0 ? num / den : num;
  s.cosine = (gg > 0 && den > 0) ? dot / std::sqrt(gg * den) : (gg == den ? 1.0 : 0.0);
  if (s.nonfinite_mismatch) s.rel_fro = s.nmse = s.max_abs = s.max_rel = INFINITY, s.cosine = NAN;
  return s;
}

ChoiceStats expert_agreement(const Tensor& got_ids, const Tensor& ref_ids, const Tensor& ref_probs,
                             const Tensor* got_probs, double floor) {
  ChoiceStats c;
  c.min_margin = INFINITY;
  if (got_probs && got_probs->shape != ref_probs.shape) got_probs = nullptr;
  if (ref_ids.shape.size() != 2 || got_ids.shape != ref_ids.shape || ref_probs.shape.size() != 2 ||
      ref_probs.shape[0] != ref_ids.shape[0]) {
    c.tokens = c.mismatched = ref_ids.shape.empty() ? 1 : ref_ids.shape[0];
    return c;
  }
  const int64_t T = ref_ids.shape[0], k = ref_ids.shape[1], E = ref_probs.shape[1];
  c.tokens = T;
  std::vector<double> p(static_cast<std::size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    std::copy_n(ref_probs.values.begin() + t * E, E, p.begin());
    std::sort(p.begin(), p.end(), std::greater<>());
    const double margin = k < E ? p[static_cast<std::size_t>(k - 1)] - p[static_cast<std::size_t>(k)] : INFINITY;
    c.min_margin = std::min(c.min_margin, margin);
    double d = 0;
    if (got_probs)
      for (int64_t e = 0; e < E; ++e)
        d = std::max(d, std::abs(got_probs->values[t * E + e] - ref_probs.values[t * E + e]));
    if (!std::isfinite(d)) d = INFINITY;  // NaN probabilities: judged by router_probs, choices not comparable
    const double thr = 2 * d + floor;
    c.threshold = std::max(c.threshold, thr);
    if (margin <= thr) { ++c.ignored; continue; }
    ++c.compared;
    std::set<double> a(got_ids.values.begin() + t * k, got_ids.values.begin() + (t + 1) * k);
    std::set<double> b(ref_ids.values.begin() + t * k, ref_ids.values.begin() + (t + 1) * k);
    if (a != b) ++c.mismatched;
  }
  return c;
}

ArgmaxStats argmax_agreement(const Tensor& got, const Tensor& ref, double gap_threshold) {
  ArgmaxStats a;
  a.threshold = gap_threshold;
  if (ref.shape.size() != 2 || got.shape != ref.shape) return a;
  const int64_t T = ref.shape[0], V = ref.shape[1];
  a.rows = T;
  for (int64_t t = 0; t < T; ++t) {
    const double* r = ref.values.data() + t * V;
    const double* g = got.values.data() + t * V;
    int64_t ri = 0, gi = 0;
    double top1 = -INFINITY, top2 = -INFINITY;
    for (int64_t j = 0; j < V; ++j) {
      if (r[j] > top1) { top2 = top1; top1 = r[j]; ri = j; }
      else if (r[j] > top2) top2 = r[j];
      if (g[j] > g[gi] || std::isnan(g[gi])) gi = j;
    }
    if (top1 - top2 < gap_threshold) { ++a.ignored; continue; }
    if (ri == gi && !std::isnan(g[gi])) ++a.agree;
    else ++a.disagree;
  }
  return a;
}

}  // namespace mm::harness
