// nvcc translation unit of the on-device sampler (backend_cuda runners).
#include "optimized/sampling/sampling_runner.cuh"
