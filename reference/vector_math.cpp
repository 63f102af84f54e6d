#include "reference/vector_math.h"

#include <immintrin.h>
#include <sleef.h>

#include "core/error.h"
#include "reference/vector_math_isa.h"

namespace mm::ref::vmath {
namespace {

// SSE2 (every x86-64 CPU, used only where AVX2 + FMA are missing): SLEEF's no-FMA SSE2 code, called
// directly rather than through SLEEF's dispatcher, so that the tests run this very code on any CPU.
void erf_f32_sse2(float* x, std::size_t n) {
  detail::apply<4>(x, n, [](const float* p, float* q) { _mm_storeu_ps(q, Sleef_cinz_erff4_u10sse2(_mm_loadu_ps(p))); });
}
void exp_f32_sse2(float* x, std::size_t n) {
  detail::apply<4>(x, n, [](const float* p, float* q) { _mm_storeu_ps(q, Sleef_cinz_expf4_u10sse2(_mm_loadu_ps(p))); });
}
void erf_f64_sse2(double* x, std::size_t n) {
  detail::apply<2>(x, n, [](const double* p, double* q) { _mm_storeu_pd(q, Sleef_cinz_erfd2_u10sse2(_mm_loadu_pd(p))); });
}
void exp_f64_sse2(double* x, std::size_t n) {
  detail::apply<2>(x, n, [](const double* p, double* q) { _mm_storeu_pd(q, Sleef_cinz_expd2_u10sse2(_mm_loadu_pd(p))); });
}

template <class T> struct Paths {
  void (*erf)(T*, std::size_t);
  void (*exp)(T*, std::size_t);
};
template <class T> Paths<T> paths(Isa isa);
template <> Paths<float> paths<float>(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return {detail::erf_f32_avx512, detail::exp_f32_avx512};
    case Isa::Avx2: return {detail::erf_f32_avx2, detail::exp_f32_avx2};
    case Isa::Sse2: break;
  }
  return {erf_f32_sse2, exp_f32_sse2};
}
template <> Paths<double> paths<double>(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return {detail::erf_f64_avx512, detail::exp_f64_avx512};
    case Isa::Avx2: return {detail::erf_f64_avx2, detail::exp_f64_avx2};
    case Isa::Sse2: break;
  }
  return {erf_f64_sse2, exp_f64_sse2};
}

template <class T> Paths<T> checked(Isa isa) {
  require(available(isa), std::string("vector math: this CPU has no ") + to_string(isa) + " instructions");
  return paths<T>(isa);
}

}  // namespace

const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::Sse2: return "SSE2";
    case Isa::Avx2: return "AVX2+FMA";
    case Isa::Avx512: return "AVX-512F";
  }
  return "?";
}

bool available(Isa isa) {
  __builtin_cpu_init();  // libgcc's checks include the OS's support of the wider registers (XGETBV)
  switch (isa) {
    case Isa::Sse2: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

Isa selected_isa() {
  static const Isa isa = available(Isa::Avx512) ? Isa::Avx512 : available(Isa::Avx2) ? Isa::Avx2 : Isa::Sse2;
  return isa;
}

void erf_inplace(Isa isa, std::span<float> x) { checked<float>(isa).erf(x.data(), x.size()); }
void erf_inplace(Isa isa, std::span<double> x) { checked<double>(isa).erf(x.data(), x.size()); }
void exp_inplace(Isa isa, std::span<float> x) { checked<float>(isa).exp(x.data(), x.size()); }
void exp_inplace(Isa isa, std::span<double> x) { checked<double>(isa).exp(x.data(), x.size()); }

void erf_inplace(std::span<float> x) { paths<float>(selected_isa()).erf(x.data(), x.size()); }
void erf_inplace(std::span<double> x) { paths<double>(selected_isa()).erf(x.data(), x.size()); }
void exp_inplace(std::span<float> x) { paths<float>(selected_isa()).exp(x.data(), x.size()); }
void exp_inplace(std::span<double> x) { paths<double>(selected_isa()).exp(x.data(), x.size()); }

}  // namespace mm::ref::vmath
