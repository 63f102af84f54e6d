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
// without OpenBLAS. Inside a SingleThreadedBlas scope: the count outside it. The bf16 GEMV's team
// (gemv_bf16.h) takes the same count.
int blas_threads();
// The size of a team whose parts call the BLAS (reference/team.h: the vision tower): blas_threads(), but
// 1 when OpenBLAS is an OpenMP build, where the thread count is per calling thread and a team's helpers
// would each run OpenBLAS's own threads on the same cores (SingleThreadedBlas does nothing there).
int blas_team_threads();

// While alive, OpenBLAS runs every call on the calling thread (openblas_set_num_threads(1)); the count it
// found comes back at the end of the scope. For a team of the reference's own threads (reference/team.h)
// whose parts each call the BLAS: OpenBLAS's threads would only compete with the team for the same
// cores. The count is process-wide, so BLAS calls other threads make meanwhile run single-threaded too
// (slower), and two scopes on two threads at once would end early for one of them (its team's calls
// then run on OpenBLAS's threads again: slower, and rounded in that count's order): the reference runs
// one tower at a time. Nothing happens without OpenBLAS, or with an OpenMP build (blas_team_threads()).
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_ = 0;  // OpenBLAS's count before; 0: nothing to restore
};

}  // namespace mm::ref
