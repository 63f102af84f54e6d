// Which BLAS kernels the reference's GEMMs run on, and a correction for OpenBLAS builds that do not know
// the CPU they run on.
//
// OpenBLAS (DYNAMIC_ARCH builds, as Debian ships) picks its kernels once, when the library loads, from a
// table of CPU models it knows. A release older than the CPU does not find the model and falls back to
// its SSE3 "Prescott" kernels: Debian 12's 0.3.21 on a Sapphire/Emerald Rapids Xeon (family 6, model
// 143/207) runs sgemm at ~44 instead of ~200 GFLOP/s on two cores (docs/perf/vl-vision-cpu.md). The
// environment variable OPENBLAS_CORETYPE overrides the choice, but only when it is set before the
// library loads.
//
// select_blas_kernels() makes that choice again from the CPU's features, as OPENBLAS_CORETYPE would:
// when OpenBLAS reports "Prescott" while the CPU has AVX-512 (F, BW, VL, DQ) it selects "SkylakeX"; with
// AVX2 and FMA only, "Haswell". It changes nothing when OPENBLAS_CORETYPE is set (the user chose), when
// OpenBLAS recognised the CPU, or when the reference is not linked against OpenBLAS. It must run before
// any BLAS call and before other threads start: the command-line tool and the benchmarks call it first
// thing in main(). The kernels change the rounding order of the GEMMs, not their results beyond it.
#pragma once
#include <string>

namespace mm::ref {

struct BlasKernels {
  std::string library;  // "OpenBLAS 0.3.21 ..." (openblas_get_config), or "none / not OpenBLAS"
  std::string core;     // the kernels in use ("SkylakeX", "Prescott", ...), empty when unknown
  std::string how;      // "library's choice", "OPENBLAS_CORETYPE", or "selected by minimax01 (...)"
};

// Re-selects the kernels as described above (once per process; later calls only report) and says
// which kernels are in use and why.
BlasKernels select_blas_kernels();
// The kernels in use, without changing anything.
BlasKernels blas_kernels();
// The threads the reference's GEMMs run on: OpenBLAS's count (OPENBLAS_NUM_THREADS, else the CPUs), 1
// without OpenBLAS. The bf16 GEMV's team (gemv_bf16.h) takes the same count.
int blas_threads();

}  // namespace mm::ref
