// nvcc translation unit of the vision attention core kernels: instantiates them for sm_80/sm_90a and
// defines the backend_cuda runners declared in vision_attention_runner.h (tests/optimized/
// vision_attention_test.cpp and bench/gpu/vision_attention_bench.cpp call them).
#include "optimized/vision_attention/vision_attention_runner.cuh"
