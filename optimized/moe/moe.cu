// nvcc translation unit for the MoE kernels: instantiates them for sm_80/sm_90a and defines the GPU
// runners (backend_cuda) that tests/optimized/moe_test.cpp and bench/gpu/moe_bench.cpp call.
#include "optimized/moe/moe_runner.cuh"
