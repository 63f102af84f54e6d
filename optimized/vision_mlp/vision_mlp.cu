// nvcc translation unit of the vision linear-layer epilogues: instantiates them for sm_80/sm_90a and
// defines the backend_cuda runners declared in vision_mlp_runner.h (the GEMM of `linear` is cuBLAS,
// optimized/common/gemm_cublas.cu).
#include "optimized/vision_mlp/vision_mlp_runner.cuh"
