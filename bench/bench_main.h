// The main() of every CPU benchmark program: selects OpenBLAS's kernels for this CPU before anything runs
// (reference/blas_cpu.h) and records the GEMM library and its kernels in the benchmark's context (the
// "context" object of the JSON output), since they change the reference's GEMM speed 3-6x on some CPUs.
#pragma once
#include <benchmark/benchmark.h>

#include "reference/blas_cpu.h"

#define MM_BENCHMARK_MAIN()                                                                  \
  int main(int argc, char** argv) {                                                          \
    const mm::ref::BlasKernels blas = mm::ref::select_blas_kernels();                       \
    benchmark::AddCustomContext("blas", blas.library);                                       \
    benchmark::AddCustomContext("blas_kernels", blas.core.empty() ? "unknown" : blas.core); \
    benchmark::AddCustomContext("blas_kernels_chosen_by", blas.how);                         \
    benchmark::Initialize(&argc, argv);                                                      \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                        \
    benchmark::RunSpecifiedBenchmarks();                                                     \
    benchmark::Shutdown();                                                                   \
    return 0;                                                                                \
  }
