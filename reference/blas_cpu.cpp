#include "reference/blas_cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

// OpenBLAS's own entry points, declared weak: absent (null) when the reference is linked without
// OpenBLAS (MM_USE_OPENBLAS=OFF, or another BLAS). gotoblas_dynamic_quit/_init are what the library's
// load-time constructor runs in a DYNAMIC_ARCH build: quit forgets the kernel table, init picks it again,
// reading OPENBLAS_CORETYPE first. Both are exported by every DYNAMIC_ARCH OpenBLAS since 0.2.
extern "C" {
__attribute__((weak)) char* openblas_get_corename(void);
__attribute__((weak)) char* openblas_get_config(void);
__attribute__((weak)) void gotoblas_dynamic_init(void);
__attribute__((weak)) void gotoblas_dynamic_quit(void);
__attribute__((weak)) int openblas_get_num_threads(void);
__attribute__((weak)) void openblas_set_num_threads(int);
__attribute__((weak)) int openblas_get_parallel(void);  // 0 sequential, 1 pthreads, 2 OpenMP
}

namespace mm::ref {
namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

// The OpenBLAS core name that fits the CPU's features, or nullptr. The model tables of old OpenBLAS
// releases are the problem, not the features: a CPU with AVX-512 F/BW/VL/DQ runs the SkylakeX kernels.
const char* core_for_features() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

std::string selected_how;  // set once by select_blas_kernels

}  // namespace

namespace {
// OpenBLAS's count while a SingleThreadedBlas scope holds it at 1 (0: no scope).
std::atomic<int> count_outside_scope{0};
}  // namespace

int blas_threads() {
  if (const int n = count_outside_scope.load(std::memory_order_relaxed); n > 0) return n;
  return openblas_get_num_threads ? std::max(1, openblas_get_num_threads()) : 1;
}

static bool openmp_build() { return openblas_get_parallel && openblas_get_parallel() == 2; }

int blas_team_threads() { return openmp_build() ? 1 : blas_threads(); }

SingleThreadedBlas::SingleThreadedBlas() {
  if (!openblas_get_num_threads || !openblas_set_num_threads || openmp_build()) return;
  const int n = openblas_get_num_threads();
  if (n <= 1) return;  // already one thread (or inside another scope, which restores)
  saved_ = n;
  count_outside_scope.store(n, std::memory_order_relaxed);
  openblas_set_num_threads(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (saved_ == 0) return;
  openblas_set_num_threads(saved_);
  count_outside_scope.store(0, std::memory_order_relaxed);
}

BlasKernels blas_kernels() {
  BlasKernels k;
  if (!openblas_get_corename) {
    k.library = "not OpenBLAS";
    return k;
  }
  k.library = str(openblas_get_config ? openblas_get_config() : nullptr);  // "OpenBLAS 0.3.21 ... DYNAMIC_ARCH ..."
  if (k.library.rfind("OpenBLAS", 0) != 0) k.library = "OpenBLAS " + k.library;
  k.core = str(openblas_get_corename());
  k.how = !selected_how.empty()                   ? selected_how
          : std::getenv("OPENBLAS_CORETYPE") != nullptr ? "OPENBLAS_CORETYPE"
                                                  : "library's choice";
  return k;
}

BlasKernels select_blas_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
    if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice stands
    const std::string core = str(openblas_get_corename());
    const char* want = core_for_features();
    // Only the fallback is corrected: a core the library recognised keeps its own (tuned) kernels.
    if (core != "Prescott" || want == nullptr) return;
    // Set the variable for the re-initialisation only, then remove it again, so that child processes
    // make their own choice (they call this too, or keep the library's).
    setenv("OPENBLAS_CORETYPE", want, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    // A build without that core (DYNAMIC_LIST), or a release that checks the core's support itself,
    // may keep Prescott: say what happened, not what was asked.
    const std::string got = str(openblas_get_corename());
    selected_how = got == core ? "OpenBLAS did not recognise this CPU (fell back to Prescott); minimax01 asked it for " +
                                     std::string(want) + ", which it did not take"
                               : "selected by minimax01: OpenBLAS did not recognise this CPU (fell back to Prescott); "
                                 "its features fit " + std::string(want);
  });
  return blas_kernels();
}

}  // namespace mm::ref
