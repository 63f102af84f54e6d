// The exact check for the row-norm kernels (optimized/rmsnorm/rmsnorm.cuh: RMSNorm, the residual +
// RMSNorm, and the lightning norm-gate), used by rmsnorm_test.cpp and lightning_norm_gate_test.cpp.
//
// The kernels compute the ref-bf16 formula (reference/rmsnorm.h, and the gate of
// reference/lightning_attention.cpp) with the same roundings:
//   inv = 1 / sqrt(fl32(ss / H) + eps)                  (fp32, IEEE sqrt and division)
//   n   = bf16(w * bf16(y * inv))                       (RMSNorm, plain and residual)
//   out = bf16(bf16(sigmoid(g)) * n)                    (norm-gate)
// except for one thing: ss, the fp32 sum of y^2 over the row, is summed in another order (per thread,
// then a shuffle/shared-memory tree; Eigen vectorises the reference's). So exact bits cannot be expected
// of every element: where y * inv lies within the sum's rounding error of a bf16 rounding boundary, a
// different but legitimate order gives the neighbouring bf16 value.
//
// The strictest honest test: compute the exact sum s = sum y^2 in double (y is bf16, so y^2 is exact and
// the double sum is s to ~1e-16), allow the kernel's fp32 sum anywhere in s * (1 +- kSumRel), push both
// ends through the same fp32 steps (inv_lo, inv_hi), and require every output to lie between the
// formula's outputs at inv_lo and inv_hi (the formula is monotone in inv). Where both ends give the same
// bf16 value, which is nearly everywhere (~0.3 % of the elements admit two values), that is exact bit
// identity.
// kSumRel = 2^-16 (~1.5e-5): the rounding error of a fp32 sum of n positive terms grows like
// sqrt(n) * 2^-24 for a sequential sum (the v1 kernel; ~2^-19 at n = 8200) and far slower for the tree
// sums of v2/v3, so 2^-16 is > 8 standard deviations for every version and shape tested. It still fails
// bugs far below one bf16 ulp (2^-8): a divisor H - 1 moves inv by 1/(2H) = 2^-14 at H = 8200, eps * 1.01
// by ~2^-9 on rows where mean(y^2) ~ eps, and a dropped intermediate rounding changes a share of all
// elements. rownorm_host() below plants those bugs in a host copy of the formula, and the tests require
// this check to fail each of them at every shape (so a widened window cannot pass unnoticed).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "reference/precision.h"
#include "tests/optimized/kernel_test_util.h"

namespace mm::kt {

constexpr double kSumRel = 0x1p-16;

// One element of the formula, from the row's inv and the element's bf16(sigmoid(g)) (has_gate false:
// RMSNorm). inner_round false drops the bf16 rounding of y * inv (a planted bug, rownorm_host).
inline float rownorm_elem(float y, float w, float inv, bool has_gate, float gate, bool inner_round = true) {
  const float t = inner_round ? round_bf16(y * inv) : y * inv;
  const float n = round_bf16(w * t);
  return has_gate ? round_bf16(gate * n) : n;
}

// inv from a fp32 sum of squares, exactly as reference/rmsnorm.h continues from squaredNorm().
inline float rownorm_inv(float ss, int H, float eps) { return 1.0f / std::sqrt(ss / static_cast<float>(H) + eps); }

// The allowed output range of every element: bf16 bits lo and hi (equal where exactly one value is
// right), in bf16 order.
struct RownormExpect {
  std::vector<uint16_t> lo, hi;
  std::size_t ambiguous = 0;  // elements where lo != hi (reported)
};

// y [rows, H]: the values normed (bf16-exact); w [H]; g [rows, H] the gate inputs, or empty for RMSNorm.
// gate_rel: relative error allowed in sigmoid(g) before its bf16 rounding (0 on the emulator, which uses
// the reference's expf; a GPU's expf may differ by a few fp32 ulps).
inline RownormExpect rownorm_expect(const std::vector<float>& y, const std::vector<float>& w,
                                    const std::vector<float>& g, int rows, int H, float eps, double gate_rel = 0) {
  RownormExpect e;
  e.lo.resize(y.size());
  e.hi.resize(y.size());
  for (int r = 0; r < rows; ++r) {
    const std::size_t base = static_cast<std::size_t>(r) * H;
    double s = 0;
    for (int j = 0; j < H; ++j) s += static_cast<double>(y[base + j]) * y[base + j];
    const float ss_lo = std::nextafter(static_cast<float>(s * (1 - kSumRel)), 0.0f);
    const float ss_hi = std::nextafter(static_cast<float>(s * (1 + kSumRel)), std::numeric_limits<float>::infinity());
    const float invs[2] = {rownorm_inv(ss_hi, H, eps), rownorm_inv(ss_lo, H, eps)};  // inv falls as ss grows
    for (int j = 0; j < H; ++j) {
      const std::size_t i = base + j;
      // bf16(sigmoid(g)) at both ends of its own error window (one value on the emulator)
      float gates[2] = {1.0f, 1.0f};
      if (!g.empty()) {
        const float sig = ref::sigmoid(g[i]);
        gates[0] = round_bf16(static_cast<float>(sig * (1 - gate_rel)));
        gates[1] = round_bf16(static_cast<float>(sig * (1 + gate_rel)));
      }
      int lo = 0, hi = 0;
      bool first = true;
      for (float inv : invs)
        for (float gate : gates) {  // the formula is monotone in inv and in the gate: the corners bound it
          const uint16_t b = f32_to_bf16_bits(rownorm_elem(y[i], w[static_cast<std::size_t>(j)], inv, !g.empty(), gate));
          if (first || bf16_ord(b) < lo) lo = bf16_ord(b), e.lo[i] = b;
          if (first || bf16_ord(b) > hi) hi = bf16_ord(b), e.hi[i] = b;
          first = false;
        }
      e.ambiguous += e.lo[i] != e.hi[i];
    }
  }
  return e;
}

// Every element within its range: its exact bits where the range is one value.
inline ::testing::AssertionResult rownorm_bits_match(const std::string& what, const RownormExpect& e,
                                                     const std::vector<uint16_t>& got) {
  if (got.size() != e.lo.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " elements, want " << e.lo.size();
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool ok = e.lo[i] == e.hi[i] ? got[i] == e.lo[i]
                                       : bf16_ord(got[i]) >= bf16_ord(e.lo[i]) && bf16_ord(got[i]) <= bf16_ord(e.hi[i]);
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << got.size()
                                       << " elements are not the ref-bf16 formula's bits, first at " << first << " (got "
                                       << hex_bits(got[first]) << ", want " << hex_bits(e.lo[first]) << " .. "
                                       << hex_bits(e.hi[first]) << "; " << e.ambiguous << " elements admit two values)";
}

// A host copy of the formula with a sequential fp32 sum (the v1 kernel's order), and the sub-ulp bugs
// the check must catch, to plant one at a time.
struct HostBug {
  bool h_minus_1 = false;    // mean of squares over H - 1
  float eps_scale = 1.0f;    // eps * 1.01
  bool inner_round = true;   // false: bf16(w * (y * inv)), the bf16 rounding of y * inv dropped
};
inline std::vector<uint16_t> rownorm_host(const std::vector<float>& y, const std::vector<float>& w,
                                          const std::vector<float>& g, int rows, int H, float eps,
                                          const HostBug& bug = {}) {
  std::vector<uint16_t> out(y.size());
  for (int r = 0; r < rows; ++r) {
    const std::size_t base = static_cast<std::size_t>(r) * H;
    float ss = 0;
    for (int j = 0; j < H; ++j) ss += y[base + j] * y[base + j];
    const float inv = rownorm_inv(ss, bug.h_minus_1 ? H - 1 : H, eps * bug.eps_scale);
    for (int j = 0; j < H; ++j) {
      const std::size_t i = base + j;
      const float gate = g.empty() ? 1.0f : round_bf16(ref::sigmoid(g[i]));
      out[i] = f32_to_bf16_bits(rownorm_elem(y[i], w[static_cast<std::size_t>(j)], inv, !g.empty(), gate, bug.inner_round));
    }
  }
  return out;
}

// The check passes the host formula and fails each planted bug (`what` names the shape).
inline void expect_check_catches_planted_bugs(const std::string& what, const RownormExpect& e,
                                              const std::vector<float>& y, const std::vector<float>& w,
                                              const std::vector<float>& g, int rows, int H, float eps) {
  EXPECT_TRUE(rownorm_bits_match(what + " host formula", e, rownorm_host(y, w, g, rows, H, eps)));
  HostBug b1, b2, b3;
  b1.h_minus_1 = true;
  b2.eps_scale = 1.01f;
  b3.inner_round = false;
  EXPECT_FALSE(rownorm_bits_match(what + " host, H - 1", e, rownorm_host(y, w, g, rows, H, eps, b1)))
      << what << ": the check does not catch a divisor H - 1";
  EXPECT_FALSE(rownorm_bits_match(what + " host, eps * 1.01", e, rownorm_host(y, w, g, rows, H, eps, b2)))
      << what << ": the check does not catch eps * 1.01";
  EXPECT_FALSE(rownorm_bits_match(what + " host, no inner rounding", e, rownorm_host(y, w, g, rows, H, eps, b3)))
      << what << ": the check does not catch a dropped bf16 rounding";
}

}  // namespace mm::kt
