// Shared checks for every optimized kernel test (issue 5), used by tests/optimized/*_test.cpp.
//
// The acceptance rule (flash-attention style, see docs/testing.md):
//   with oracle = ref-f64 output, budget = ref-bf16 output (official bf16 rounding), got = kernel output,
//   pass iff  no NaN/Inf in got  AND  max|got - oracle| <= k * max|budget - oracle| + floor
//                                AND  nmse(got, oracle)  <= nmse_ceiling
//   k = 2, floor = 1e-4 * max|oracle| + 1e-6 by default (stricter than FA3's bf16-rounding floor).
// Outputs are poisoned (all bits 1: NaN for f32/bf16) before every launch and must be fully written.
// Include this header BEFORE any kernel header (Eigen and the SIMT keywords must not meet).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/rng.h"

namespace mm::kt {

// Seeded N(0, scale^2) values rounded to bf16 (so the kernel's bf16 inputs are exactly the oracle's).
inline std::vector<float> randn_bf16(std::size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = round_bf16(static_cast<float>(scale * r.normal()));
  return v;
}

// bf16 bit patterns <-> float (host side; kernels see __nv_bfloat16 with the same bits).
inline std::vector<uint16_t> to_bf16_bits(const std::vector<float>& v) {
  std::vector<uint16_t> b(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) b[i] = f32_to_bf16_bits(v[i]);
  return b;
}
inline std::vector<float> from_bf16_bits(const std::vector<uint16_t>& b) {
  std::vector<float> v(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) v[i] = bf16_bits_to_f32(b[i]);
  return v;
}

// Poison: every bit set. As f32 and as bf16 that is a NaN, which no kernel produces from finite inputs.
inline bool is_poison_f32(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u == 0xFFFFFFFFu; }
inline bool is_poison_bf16(uint16_t b) { return b == 0xFFFFu; }

template <class V> ::testing::AssertionResult fully_written(const V& out, bool (*poison)(typename V::value_type)) {
  for (std::size_t i = 0; i < out.size(); ++i)
    if (poison(out[i])) return ::testing::AssertionFailure() << "element " << i << " of " << out.size() << " was never written";
  return ::testing::AssertionSuccess();
}

struct ErrStats {
  double max_abs = 0, rel_fro = 0, nmse = 0, max_ref = 0;
  std::size_t nonfinite = 0;      // non-finite values in `got`
  std::size_t nonfinite_ref = 0;  // non-finite values in the oracle: a broken oracle never passes
};

template <class A, class B> ErrStats error_stats(const std::vector<A>& oracle, const std::vector<B>& got) {
  ErrStats s;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < oracle.size(); ++i) {
    const double g = static_cast<double>(got[i]), o = static_cast<double>(oracle[i]);
    if (!std::isfinite(o)) { ++s.nonfinite_ref; continue; }
    if (!std::isfinite(g)) { ++s.nonfinite; continue; }
    s.max_abs = std::max(s.max_abs, std::abs(g - o));
    s.max_ref = std::max(s.max_ref, std::abs(o));
    num += (g - o) * (g - o);
    den += o * o;
  }
  s.nmse = den > 0 ? num / den : num;
  s.rel_fro = std::sqrt(s.nmse);
  return s;
}

struct Rule {
  double k = 2.0;
  double floor_rel = 1e-4;  // floor = floor_rel * max|oracle| + floor_abs
  double floor_abs = 1e-6;
  double nmse_ceiling = 1e-4;
};

// The acceptance rule above. `what` names the kernel version and output in the failure message.
template <class G>
::testing::AssertionResult passes_fa_rule(const std::string& what, const std::vector<double>& oracle,
                                          const std::vector<G>& got, const std::vector<float>& budget,
                                          const Rule& rule = {}) {
  if (got.size() != oracle.size() || budget.size() != oracle.size())
    return ::testing::AssertionFailure() << what << ": size mismatch";
  const ErrStats g = error_stats(oracle, got), b = error_stats(oracle, budget);
  const double bound = rule.k * b.max_abs + rule.floor_rel * g.max_ref + rule.floor_abs;
  auto msg = [&](::testing::AssertionResult r) {
    return r << what << ": max_abs " << g.max_abs << " (bound " << bound << " = " << rule.k << " x bf16-reference "
             << b.max_abs << " + floor), nmse " << g.nmse << " (ceiling " << rule.nmse_ceiling << "), error ratio "
             << (b.max_abs > 0 ? g.max_abs / b.max_abs : 0.0) << ", non-finite " << g.nonfinite << " (oracle "
             << g.nonfinite_ref << ", budget " << b.nonfinite << ")";
  };
  // Written so that a NaN anywhere (oracle, budget, bound, NMSE) fails.
  const bool ok = g.nonfinite == 0 && g.nonfinite_ref == 0 && b.nonfinite == 0 && !oracle.empty() &&
                  g.max_abs <= bound && g.nmse <= rule.nmse_ceiling;
  if (!ok) return msg(::testing::AssertionFailure());
  return msg(::testing::AssertionSuccess());
}

// Prints the version's error ratio against the bf16 budget (the issue note lists them), records it as a
// test property, and applies the acceptance rule.
inline void expect_fa_rule_and_report(const std::string& what, const std::vector<double>& oracle,
                                      const std::vector<float>& got, const std::vector<float>& budget,
                                      const Rule& rule = {}) {
  const ErrStats g = error_stats(oracle, got), b = error_stats(oracle, budget);
  const double ratio = b.max_abs > 0 ? g.max_abs / b.max_abs : 0.0;
  std::printf("[error-ratio] %s: max_abs %g / bf16 budget %g = %g, nmse %g\n", what.c_str(), g.max_abs, b.max_abs,
              ratio, g.nmse);
  ::testing::Test::RecordProperty(what, std::to_string(ratio));
  EXPECT_TRUE(passes_fa_rule(what, oracle, got, budget, rule));
}

}  // namespace mm::kt
