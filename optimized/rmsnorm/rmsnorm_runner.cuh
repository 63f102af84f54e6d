// Definitions of the RMSNorm runners (rmsnorm_runner.h) for whichever build includes this file.
#pragma once
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/rmsnorm/rmsnorm.cuh"
#include "optimized/rmsnorm/rownorm_launch.cuh"
#include "optimized/rmsnorm/rmsnorm_runner.h"

MM_RMSNORM_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_RMSNORM_RUNNER inline
#else
#define MM_RMSNORM_RUNNER
#endif

namespace mm::rmsnorm_gpu {
inline namespace MM_BACKEND_NS {

namespace detail {
inline const char* const kNames[] = {"v1_thread_per_row", "v2_block_per_row_vec16", "v3_warp_per_row_small_h"};
inline mm::gpu::DeviceBuffer<uint16_t> poisoned(size_t n) {
  mm::gpu::DeviceBuffer<uint16_t> b(n);
  mm::gpu::device_memset(b.data(), 0xFF, n * sizeof(uint16_t));
  return b;
}
inline void check_sizes(size_t got, size_t want, const char* what) {
  if (got != want) throw std::invalid_argument(std::string("rmsnorm: ") + what + " has the wrong size");
}
}  // namespace detail

MM_RMSNORM_RUNNER int num_versions() { return 3; }
MM_RMSNORM_RUNNER const char* version_name(int version) {
  if (version < 0 || version >= num_versions()) throw std::invalid_argument("rmsnorm: unknown version");
  return detail::kNames[version];
}
MM_RMSNORM_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_RMSNORM_RUNNER void launch_rmsnorm(int version, const uint16_t* x, const uint16_t* w, uint16_t* n, int rows, int H,
                                      float eps, cudaStream_t stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kPlain>(version, x, nullptr, w, nullptr, n, rows, H, 1.0f, 1.0f,
                                                          eps, stream);
}

MM_RMSNORM_RUNNER void launch_residual_rmsnorm(int version, const uint16_t* r, const uint16_t* a, const uint16_t* w,
                                               uint16_t* y, uint16_t* n, int rows, int H, float alpha, float beta,
                                               float eps, cudaStream_t stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kResidual>(version, r, a, w, y, n, rows, H, alpha, beta, eps,
                                                             stream);
}

MM_RMSNORM_RUNNER std::vector<uint16_t> run_rmsnorm(int version, const std::vector<uint16_t>& x,
                                                    const std::vector<uint16_t>& w, int rows, int H, float eps) {
  const size_t n = static_cast<size_t>(rows) * H;
  detail::check_sizes(x.size(), n, "x");
  detail::check_sizes(w.size(), static_cast<size_t>(H), "w");
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dw(w);
  auto dn = detail::poisoned(n);
  launch_rmsnorm(version, dx.data(), dw.data(), dn.data(), rows, H, eps, nullptr);
  mm::gpu::synchronize();
  return dn.download();
}

MM_RMSNORM_RUNNER std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run_residual_rmsnorm(
    int version, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a, const std::vector<uint16_t>& w,
    int rows, int H, float alpha, float beta, float eps) {
  const size_t n = static_cast<size_t>(rows) * H;
  detail::check_sizes(r.size(), n, "r");
  detail::check_sizes(a.size(), n, "a");
  detail::check_sizes(w.size(), static_cast<size_t>(H), "w");
  mm::gpu::DeviceBuffer<uint16_t> dr(r), da(a), dw(w);
  auto dy = detail::poisoned(n), dn = detail::poisoned(n);
  launch_residual_rmsnorm(version, dr.data(), da.data(), dw.data(), dy.data(), dn.data(), rows, H, alpha, beta, eps,
                          nullptr);
  mm::gpu::synchronize();
  return {dy.download(), dn.download()};
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::rmsnorm_gpu
