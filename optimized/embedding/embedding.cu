// nvcc translation unit of the embedding gather (backend_cuda runners).
#include "optimized/embedding/embedding_runner.cuh"
