#include "reference/gemv_bf16.h"

#include <algorithm>

#include "core/dtype.h"
#include "reference/blas_cpu.h"
#include "reference/team.h"

namespace mm::ref {
namespace gemv_detail {

// The same arithmetic as the AVX2 kernel's, lane by lane (two 8-lane partial sums over alternate
// 8-wide steps, a last 8-wide step into the first when K % 16 >= 8, the two added lane by lane, the lanes
// summed in its order, then the k % 8 tail), without FMA: the two agree to rounding (the fused
// multiply-adds), not bit for bit.
void gemv_bf16_rows_portable(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, int64_t n0,
                             int64_t n1, float* y) {
  const int64_t K16 = K & ~int64_t{15};
  const bool half = K - K16 >= 8;
  const int64_t K8 = half ? K16 + 8 : K16;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const float* xs = x + s * K;
      const uint16_t* wn = w + n * K;
      float a0[8] = {}, a1[8] = {};
      for (int64_t k = 0; k < K16; k += 16)
        for (int j = 0; j < 8; ++j) {
          a0[j] += xs[k + j] * bf16_bits_to_f32(wn[k + j]);
          a1[j] += xs[k + 8 + j] * bf16_bits_to_f32(wn[k + 8 + j]);
        }
      if (half)
        for (int j = 0; j < 8; ++j) a0[j] += xs[K16 + j] * bf16_bits_to_f32(wn[K16 + j]);
      float v[8];
      for (int j = 0; j < 8; ++j) v[j] = a0[j] + a1[j];
      float t = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
      for (int64_t k = K8; k < K; ++k) t += xs[k] * bf16_bits_to_f32(wn[k]);
      y[s * N + n] = t;
    }
}

namespace {

RowsFn pick() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return gemv_bf16_rows_avx2;
#endif
  return gemv_bf16_rows_portable;
}

}  // namespace

const char* gemv_bf16_isa() { return pick() == gemv_bf16_rows_avx2 ? "avx2" : "portable"; }

int64_t gemv_team_rows(int part, int parts, int64_t N, int64_t* n0) { return team_block(part, parts, N, 4, n0); }

void gemv_bf16_team(RowsFn fn, int parts, const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N,
                    float* y) {
  run_team(static_cast<int>(std::min<int64_t>(parts, (N + 3) / 4)), [&](int part, int n_parts) {
    int64_t n0 = 0;
    const int64_t n = gemv_team_rows(part, n_parts, N, &n0);
    if (n > 0) fn(x, S, K, w, N, n0, n0 + n, y);
  });
}

}  // namespace gemv_detail

void gemv_bf16(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, float* y) {
  static const gemv_detail::RowsFn fn = gemv_detail::pick();
  gemv_detail::gemv_bf16_team(fn, N * K >= gemv_detail::kParallelMinWeights ? blas_threads() : 1, x, S, K, w, N, y);
}

void bf16_to_f32(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_bits_to_f32(in[i]);
}

}  // namespace mm::ref
