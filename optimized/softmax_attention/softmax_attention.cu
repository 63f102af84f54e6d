// nvcc translation unit of the softmax-attention kernels: instantiates them for sm_80/sm_90a and
// defines the GPU runners (backend_cuda) that tests/optimized/softmax_attention_test.cpp and
// bench/gpu/softmax_attention_bench.cpp call.
#include "optimized/softmax_attention/softmax_attention_runner.cuh"
