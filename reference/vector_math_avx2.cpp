// The AVX2 + FMA path of reference/vector_math.h (SLEEF's FMA code); this file alone is compiled with
// -mavx2 -mfma (reference/CMakeLists.txt) and is called only when the CPU has both.
#include <immintrin.h>
#include <sleef.h>

#include "reference/vector_math_isa.h"

namespace mm::ref::vmath::detail {

void erf_f32_avx2(float* x, std::size_t n) {
  apply<8>(x, n, [](const float* p, float* q) { _mm256_storeu_ps(q, Sleef_erff8_u10avx2(_mm256_loadu_ps(p))); });
}
void exp_f32_avx2(float* x, std::size_t n) {
  apply<8>(x, n, [](const float* p, float* q) { _mm256_storeu_ps(q, Sleef_expf8_u10avx2(_mm256_loadu_ps(p))); });
}
void erf_f64_avx2(double* x, std::size_t n) {
  apply<4>(x, n, [](const double* p, double* q) { _mm256_storeu_pd(q, Sleef_erfd4_u10avx2(_mm256_loadu_pd(p))); });
}
void exp_f64_avx2(double* x, std::size_t n) {
  apply<4>(x, n, [](const double* p, double* q) { _mm256_storeu_pd(q, Sleef_expd4_u10avx2(_mm256_loadu_pd(p))); });
}

}  // namespace mm::ref::vmath::detail
