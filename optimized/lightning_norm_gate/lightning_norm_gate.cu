// nvcc translation unit of the lightning norm-gate and silu kernels (backend_cuda runners).
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.cuh"
