// Summary statistics and the significance test used by `compare`.
#pragma once
#include <vector>

namespace mm::harness {

// Linear interpolation between closest ranks (numpy's default): q in [0, 100]. NaN for no samples.
double percentile(std::vector<double> v, double q);
double mean(const std::vector<double>& v);
double stddev(const std::vector<double>& v);  // sample standard deviation (n - 1)

// Two-sided Mann-Whitney U test, as Google Benchmark's tools/compare.py calls it
// (scipy.stats.mannwhitneyu(a, b, alternative='two-sided')): U of the first sample; the p-value is exact
// (the permutation distribution of U) when one sample has < 8 values, the other <= 64, and there are no
// ties; otherwise the normal approximation with tie and continuity corrections (scipy's method='auto',
// whose exact branch has no bound on the larger sample).
struct UTest {
  double u = 0, p = 1;
  bool exact = false;
};
UTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace mm::harness
