// nvcc translation unit of the MiniMax-VL-01 packing + splicing gather (backend_cuda runners).
#include "optimized/vl_projector/vl_projector_runner.cuh"
