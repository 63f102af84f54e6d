// Internal to reference/vector_math*.cpp: one ISA's entry points (each defined in a file compiled for that
// ISA) and the loop they share.
#pragma once
#include <cstddef>

namespace mm::ref::vmath::detail {

// Applies `vec` (W lanes: reads W values at p, writes W values at q) to x[0, n) in place; the last
// partial vector goes through a zero-padded buffer, so no lane reads or writes past x + n. Plain loops, no
// std:: templates: this is compiled into files built for different ISAs, and a shared (ODR-merged)
// instantiation could hand AVX-512 code to the SSE2 path. Each instantiation here is unique to its file
// (F is a lambda type of that file).
template <std::size_t W, class T, class F>
inline void apply(T* x, std::size_t n, F vec) {
  std::size_t i = 0;
  for (; i + W <= n; i += W) vec(x + i, x + i);
  if (i < n) {
    T buf[W] = {};
    for (std::size_t j = i; j < n; ++j) buf[j - i] = x[j];
    vec(buf, buf);
    for (std::size_t j = i; j < n; ++j) x[j] = buf[j - i];
  }
}

void erf_f32_avx2(float* x, std::size_t n);
void erf_f64_avx2(double* x, std::size_t n);
void exp_f32_avx2(float* x, std::size_t n);
void exp_f64_avx2(double* x, std::size_t n);
void erf_f32_avx512(float* x, std::size_t n);
void erf_f64_avx512(double* x, std::size_t n);
void exp_f32_avx512(float* x, std::size_t n);
void exp_f64_avx512(double* x, std::size_t n);

}  // namespace mm::ref::vmath::detail
