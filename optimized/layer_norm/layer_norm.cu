// nvcc translation unit of the LayerNorm kernels: instantiates them for sm_80/sm_90a and defines the
// backend_cuda runners declared in layer_norm_runner.h.
#include "optimized/layer_norm/layer_norm_runner.cuh"
