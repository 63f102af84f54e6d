// The AVX-512F path of reference/vector_math.h (SLEEF's FMA code); this file alone is compiled with
// -mavx512f
// (reference/CMakeLists.txt) and is called only when the CPU has AVX-512F.
#include <immintrin.h>
#include <sleef.h>

#include "reference/vector_math_isa.h"

namespace mm::ref::vmath::detail {

void erf_f32_avx512(float* x, std::size_t n) {
  apply<16>(x, n, [](const float* p, float* q) { _mm512_storeu_ps(q, Sleef_erff16_u10avx512f(_mm512_loadu_ps(p))); });
}
void exp_f32_avx512(float* x, std::size_t n) {
  apply<16>(x, n, [](const float* p, float* q) { _mm512_storeu_ps(q, Sleef_expf16_u10avx512f(_mm512_loadu_ps(p))); });
}
void erf_f64_avx512(double* x, std::size_t n) {
  apply<8>(x, n, [](const double* p, double* q) { _mm512_storeu_pd(q, Sleef_erfd8_u10avx512f(_mm512_loadu_pd(p))); });
}
void exp_f64_avx512(double* x, std::size_t n) {
  apply<8>(x, n, [](const double* p, double* q) { _mm512_storeu_pd(q, Sleef_expd8_u10avx512f(_mm512_loadu_pd(p))); });
}

}  // namespace mm::ref::vmath::detail
