#include "core/slopes.h"

#include <cmath>

#include "core/error.h"

namespace mm {

static std::vector<double> pow2_slopes(int n) {
  const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(static_cast<double>(n)) - 3.0)));
  std::vector<double> s(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) s[i] = start * std::pow(start, static_cast<double>(i));  // start * ratio**i
  return s;
}

std::vector<double> alibi_slopes_double(int n) {
  require(n > 0, "lightning slopes: head count must be positive");
  const double l2 = std::log2(static_cast<double>(n));
  if (std::floor(l2) == l2) return pow2_slopes(n);
  const int closest = 1 << static_cast<int>(std::floor(l2));
  std::vector<double> s = pow2_slopes(closest);
  const std::vector<double> extra = alibi_slopes_double(2 * closest);
  for (int i = 0; static_cast<int>(s.size()) < n; i += 2) s.push_back(extra[static_cast<std::size_t>(i)]);
  return s;
}

std::vector<double> lightning_slopes(int heads, int layer, int num_layers) {
  require(num_layers >= 2, "lightning slopes: the layer factor 1 - l/(L-1) needs num_hidden_layers >= 2");
  const float f = static_cast<float>(1.0 - static_cast<double>(layer) / static_cast<double>(num_layers - 1) + 1e-5);
  std::vector<double> s;
  for (double b : alibi_slopes_double(heads)) s.push_back(static_cast<double>(static_cast<float>(b) * f));
  return s;
}

}  // namespace mm
