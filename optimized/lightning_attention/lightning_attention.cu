// nvcc translation unit for the lightning-attention kernels: instantiates them for sm_80/sm_90a and
// defines the GPU runners (backend_cuda) that the tests and the benchmark call.
#include "optimized/lightning_attention/lightning_attention_runner.cuh"
