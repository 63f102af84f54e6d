// cuBLAS implementation of gemm.h. cuBLAS is column-major, so the row-major C = A*op(B) is computed
// as the column-major C^T = op(B)^T * A^T, which reads the same memory without copies.
#include <cublas_v2.h>

#include "optimized/common/gemm.h"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace {

cublasHandle_t handle() {
  thread_local cublasHandle_t h = [] {
    cublasHandle_t x = nullptr;
    if (cublasCreate(&x) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
    return x;
  }();
  return h;
}

void gemm_ex(Stream s, const GemmArgs& g, const void* a, const void* b, cudaDataType_t in_type, float* c) {
  cublasHandle_t h = handle();
  cublasSetStream(h, s);
  const cublasOperation_t op_b = g.b_is_nk ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasStatus_t st =
      cublasGemmEx(h, op_b, CUBLAS_OP_N, g.n, g.m, g.k, &g.alpha, b, in_type, g.ldb, a, in_type, g.lda, &g.beta, c,
                   CUDA_R_32F, g.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasGemmEx failed");
}

}  // namespace

void gemm(Stream s, const GemmArgs& g, const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
  gemm_ex(s, g, a, b, CUDA_R_16BF, c);
}
void gemm(Stream s, const GemmArgs& g, const float* a, const float* b, float* c) {
  gemm_ex(s, g, a, b, CUDA_R_32F, c);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
