// nvcc translation unit for the proof kernels: instantiates them for sm_80/sm_90a and gives the
// GPU runners (backend_cuda) that the emulator-vs-hardware test calls. Also the TU whose ptxas
// resource report is checked for spills.
#include "optimized/proof/runners.cuh"
