// GEMM behind our own interface: cuBLAS in the CUDA build (gemm_cublas.cu), a host loop in the CPU
// build (the emulator does not run cuBLAS). Row-major throughout:
//   C[m,n] (f32, ldc) = alpha * A[m,k] (lda) * op(B) + beta * C
// where B is stored [n,k] (ldb), the PyTorch Linear weight layout, if b_is_nk, else [k,n].
#pragma once
#include <type_traits>

#include "optimized/common/launch.h"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

struct GemmArgs {
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldc = 0;
  bool b_is_nk = true;
  float alpha = 1.0f, beta = 0.0f;
};

#if MM_SIMT

namespace detail {
template <class T>
float gemm_load(T x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __bfloat162float(x);
}
template <class T>
void gemm_host(const GemmArgs& g, const T* a, const T* b, float* c) {
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) {
      double acc = 0;  // double: the host result is at least as accurate as cuBLAS's fp32 accumulation
      for (int p = 0; p < g.k; ++p) {
        const float bv = g.b_is_nk ? gemm_load(b[size_t(j) * g.ldb + p]) : gemm_load(b[size_t(p) * g.ldb + j]);
        acc += double(gemm_load(a[size_t(i) * g.lda + p])) * bv;
      }
      float& out = c[size_t(i) * g.ldc + j];
      out = static_cast<float>(g.alpha * acc + (g.beta != 0.0f ? double(g.beta) * out : 0.0));
    }
}
}  // namespace detail

inline void gemm(Stream, const GemmArgs& g, const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
  detail::gemm_host(g, a, b, c);
}
inline void gemm(Stream, const GemmArgs& g, const float* a, const float* b, float* c) { detail::gemm_host(g, a, b, c); }

#else

void gemm(Stream s, const GemmArgs& g, const __nv_bfloat16* a, const __nv_bfloat16* b, float* c);
void gemm(Stream s, const GemmArgs& g, const float* a, const float* b, float* c);

#endif

// The common case, a packed Linear: C[m,n] (f32) = A[m,k] * B[n,k]^T, all row-major and dense.
inline void gemm_linear(Stream s, int m, int n, int k, const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
  GemmArgs g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = k;
  g.ldb = k;
  g.ldc = n;
  g.b_is_nk = true;
  gemm(s, g, a, b, c);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
