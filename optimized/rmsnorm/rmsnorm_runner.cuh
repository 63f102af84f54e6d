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

namespace mm::rmsnorm {
inline namespace MM_BACKEND_NS {

namespace detail {
template <class A>
bool supports_any(const A& a) {
  return a.rows >= 0 && a.H > 0;
}
// K: 0 v1, 1 v2, 2 v3 (rownorm_launch.cuh)
template <int K>
void launch_plain(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kPlain>(K, a.x, nullptr, a.w, nullptr, a.n, a.rows, a.H, 1.0f,
                                                          1.0f, a.eps, stream);
}
template <int K>
void launch_residual(const ResidualArgs& a, mm::gpu::Stream stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kResidual>(K, a.r, a.a, a.w, a.y, a.n, a.rows, a.H, a.alpha,
                                                             a.beta, a.eps, stream);
}
}  // namespace detail

MM_RMSNORM_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_row", &detail::launch_plain<0>, &detail::supports_any<Args>},
      {"v2_block_per_row_vec16", &detail::launch_plain<1>, &detail::supports_any<Args>},
      {"v3_warp_per_row_small_h", &detail::launch_plain<2>, &detail::supports_any<Args>},
  };
  return v;
}

MM_RMSNORM_RUNNER const std::vector<ResidualVersion>& residual_versions() {
  static const std::vector<ResidualVersion> v = {
      {"v1_thread_per_row", &detail::launch_residual<0>, &detail::supports_any<ResidualArgs>},
      {"v2_block_per_row_vec16", &detail::launch_residual<1>, &detail::supports_any<ResidualArgs>},
      {"v3_warp_per_row_small_h", &detail::launch_residual<2>, &detail::supports_any<ResidualArgs>},
  };
  return v;
}

MM_RMSNORM_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_RMSNORM_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& x,
                                            const std::vector<uint16_t>& w, int rows, int H, float eps) {
  const size_t n = static_cast<size_t>(rows) * H;
  mm::gpu::require_size(x.size(), n, "rmsnorm", "x");
  mm::gpu::require_size(w.size(), static_cast<size_t>(H), "rmsnorm", "w");
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dw(w);
  auto dn = mm::gpu::poisoned<uint16_t>(n);
  Args a;
  a.x = dx.data(); a.w = dw.data(); a.n = dn.data(); a.rows = rows; a.H = H; a.eps = eps;
  mm::gpu::launch_checked(v, a, nullptr, "rmsnorm");
  mm::gpu::synchronize();
  return dn.download();
}

MM_RMSNORM_RUNNER std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run(
    const ResidualVersion& v, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a,
    const std::vector<uint16_t>& w, int rows, int H, float alpha, float beta, float eps) {
  const size_t n = static_cast<size_t>(rows) * H;
  mm::gpu::require_size(r.size(), n, "rmsnorm", "r");
  mm::gpu::require_size(a.size(), n, "rmsnorm", "a");
  mm::gpu::require_size(w.size(), static_cast<size_t>(H), "rmsnorm", "w");
  mm::gpu::DeviceBuffer<uint16_t> dr(r), da(a), dw(w);
  auto dy = mm::gpu::poisoned<uint16_t>(n), dn = mm::gpu::poisoned<uint16_t>(n);
  ResidualArgs args;
  args.r = dr.data(); args.a = da.data(); args.w = dw.data(); args.y = dy.data(); args.n = dn.data();
  args.rows = rows; args.H = H; args.alpha = alpha; args.beta = beta; args.eps = eps;
  mm::gpu::launch_checked(v, args, nullptr, "rmsnorm");
  mm::gpu::synchronize();
  return {dy.download(), dn.download()};
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::rmsnorm
