// nvcc translation unit of the patch-embedding kernels: instantiates them for sm_80/sm_90a and defines the
// backend_cuda runners declared in patch_embed_runner.h (v2's GEMM is cuBLAS, optimized/common/gemm_cublas.cu).
#include "optimized/patch_embed/patch_embed_runner.cuh"
