// nvcc translation unit of the RMSNorm kernels: instantiates them for sm_80/sm_90a and defines the
// backend_cuda runners declared in rmsnorm_runner.h.
#include "optimized/rmsnorm/rmsnorm_runner.cuh"
