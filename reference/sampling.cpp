#include "reference/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace mm::ref {

int64_t sample_token(const std::vector<double>& logits, const SamplingParams& p, Rng& rng) {
  require(!logits.empty(), "sample: empty logits");
  check_sampling_params(p);
  for (double v : logits) require(!std::isnan(v), "sample: logits contain NaN");
  if (p.temperature == 0.0)
    return std::max_element(logits.begin(), logits.end()) - logits.begin();
  std::vector<int64_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  std::size_t keep = ids.size();
  if (p.top_k > 0) keep = std::min<std::size_t>(keep, static_cast<std::size_t>(p.top_k));
  const double mx = logits[ids[0]] / p.temperature;
  std::vector<double> prob(keep);
  double sum = 0;
  for (std::size_t i = 0; i < keep; ++i) sum += (prob[i] = std::exp(logits[ids[i]] / p.temperature - mx));
  for (auto& v : prob) v /= sum;
  if (p.top_p < 1.0) {  // smallest prefix whose mass reaches top_p (always at least one token)
    double cum = 0;
    std::size_t n = 0;
    while (n < keep) { cum += prob[n++]; if (cum >= p.top_p) break; }
    keep = n;
    prob.resize(keep);
    sum = std::accumulate(prob.begin(), prob.end(), 0.0);
    for (auto& v : prob) v /= sum;
  }
  double u = rng.uniform(), cum = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    cum += prob[i];
    if (u < cum) return ids[i];
  }
  return ids[keep - 1];
}

}  // namespace mm::ref
