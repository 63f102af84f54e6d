#include "harness/stats.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mm::harness {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

namespace {

// Number of ways to get each U value for sample sizes (m, n): the classic recurrence
// c(u; m, n) = c(u - n; m - 1, n) + c(u; m, n - 1), via a table over (m, n).
std::vector<double> u_counts(int m, int n) {
  // f[i][j] = distribution for sizes (i, j), vectors of length i*j + 1
  std::vector<std::vector<std::vector<double>>> f(m + 1, std::vector<std::vector<double>>(n + 1));
  for (int i = 0; i <= m; ++i)
    for (int j = 0; j <= n; ++j) {
      f[i][j].assign(static_cast<std::size_t>(i * j + 1), 0.0);
      if (i == 0 || j == 0) { f[i][j][0] = 1; continue; }
      for (int u = 0; u <= i * j; ++u) {
        double c = 0;
        if (u - j >= 0 && u - j <= (i - 1) * j) c += f[i - 1][j][static_cast<std::size_t>(u - j)];
        if (u <= i * (j - 1)) c += f[i][j - 1][static_cast<std::size_t>(u)];
        f[i][j][static_cast<std::size_t>(u)] = c;
      }
    }
  return f[m][n];
}

}  // namespace

UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  UTest t;
  const std::size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return t;
  // midranks over the pooled sample
  std::vector<std::pair<double, int>> all;
  for (double x : a) all.push_back({x, 0});
  for (double x : b) all.push_back({x, 1});
  std::sort(all.begin(), all.end(), [](auto& x, auto& y) { return x.first < y.first; });
  const std::size_t N = all.size();
  std::vector<double> rank(N);
  double tie_term = 0;  // sum over tie groups of t^3 - t
  bool ties = false;
  for (std::size_t i = 0; i < N;) {
    std::size_t j = i;
    while (j + 1 < N && all[j + 1].first == all[i].first) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[k] = r;
    const double tg = static_cast<double>(j - i + 1);
    if (tg > 1) ties = true;
    tie_term += tg * tg * tg - tg;
    i = j + 1;
  }
  double r1 = 0;
  for (std::size_t k = 0; k < N; ++k)
    if (all[k].second == 0) r1 += rank[k];
  const double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2);
  t.u = r1 - dn1 * (dn1 + 1) / 2.0;
  const double mu = dn1 * dn2 / 2.0;
  if (std::min(n1, n2) < 8 && std::max(n1, n2) <= 64 && !ties) {  // table size bound: 64 x 8
    // exact: p = 2 * P(U >= max(u, n1 n2 - u)), capped at 1
    const auto c = u_counts(static_cast<int>(n1), static_cast<int>(n2));
    double total = 0, tail = 0;
    const double big = std::max(t.u, dn1 * dn2 - t.u);
    for (std::size_t u = 0; u < c.size(); ++u) {
      total += c[u];
      if (static_cast<double>(u) >= big - 1e-9) tail += c[u];
    }
    t.p = std::min(1.0, 2.0 * tail / total);
    t.exact = true;
    return t;
  }
  const double dN = dn1 + dn2;
  const double sigma = std::sqrt(dn1 * dn2 / 12.0 * ((dN + 1) - tie_term / (dN * (dN - 1))));
  if (sigma == 0) { t.p = 1; return t; }
  const double big = std::max(t.u, dn1 * dn2 - t.u);
  const double z = (big - mu - 0.5) / sigma;  // continuity correction
  t.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));  // 2 * (1 - Phi(z))
  return t;
}

}  // namespace mm::harness
