#include "cli/version.h"

#include "harness/backend.h"
#if MM_CUDA
#include "optimized/model/cuda_model_loader.h"
#endif
#include "reference/blas_cpu.h"

namespace mm::cli {
namespace {

// "yes" or the backend's reason it cannot run here.
std::string runs_here(const std::string& backend) {
  const harness::BackendEntry* e = harness::registry().find(backend);
  if (!e) return "not registered";
  const std::string why = e->why_unavailable();
  return why.empty() ? "runs here" : "cannot run here: " + why;
}

}  // namespace

std::string version_text() {
  std::string s = std::string("minimax01 ") + MM_VERSION + "\n";
  s += std::string("commit: ") + build_commit() + "\n";
#if defined(__clang__)
  const char* compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const char* compiler = "GCC " __VERSION__;
#else
  const char* compiler = __VERSION__;
#endif
  s += std::string("build type: ") + MM_BUILD_TYPE + ", compiler: " + compiler + "\n";
#if MM_SIMT
  s += "SIMT layer: built (backend cuda-sim: " + runs_here("cuda-sim") + ")\n";
#else
  s += "SIMT layer: not built (configured with -DMM_SIMT=OFF): no cuda-sim, no kernel tests\n";
#endif
#if MM_CUDA
  const std::string gpu = cuda_model::gpu_description();
  s += std::string("CUDA kernels: built with nvcc for ") + MM_CUDA_ARCHITECTURES + " (backend cuda: " + runs_here("cuda") +
       (gpu.empty() ? "" : ", on " + gpu) + ")\n";
#else
  s += "CUDA kernels: not built with nvcc (backend cuda: " + runs_here("cuda") + ")\n";
#endif
  const ref::BlasKernels k = ref::blas_kernels();
  s += "reference GEMMs: " + k.library + (k.core.empty() ? std::string() : ", kernels " + k.core) + "\n";
  return s;
}

}  // namespace mm::cli
