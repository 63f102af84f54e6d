// Definitions of the LayerNorm runners (layer_norm_runner.h) for whichever build includes this file,
// and the host-side launch of the kernels (layer_norm.cuh) by version.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/layer_norm/layer_norm.cuh"
#include "optimized/layer_norm/layer_norm_runner.h"

MM_LAYER_NORM_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_LAYER_NORM_RUNNER inline
#else
#define MM_LAYER_NORM_RUNNER
#endif

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace layer_norm {

constexpr int kV1Threads = 128;
constexpr int kV2Threads = 256;

inline const __nv_bfloat16* as_bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* as_bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

// One launch of mode kMode, version 0 (v1) or 1 (v2). x = r and a = the sub-layer output (kResidual;
// a unused in kPlain), w, b [H], y (kResidual only) and n as in layer_norm.cuh.
template <int kMode>
void launch_rows(int version, const uint16_t* x, const uint16_t* a, const uint16_t* w, const uint16_t* b, uint16_t* y,
                 uint16_t* n, int rows, int H, float eps, Stream stream) {
  if (rows < 0 || H <= 0)
    throw std::invalid_argument("layer_norm: bad shape rows=" + std::to_string(rows) + " H=" + std::to_string(H));
  if (rows == 0) return;
  if (version == 0) {
    const int blocks = (rows + kV1Threads - 1) / kV1Threads;
    mm::gpu::launch(layer_norm_v1_kernel<kMode>, dim3(static_cast<unsigned>(blocks)), dim3(kV1Threads), 0, stream,
                    as_bf(x), as_bf(a), as_bf(w), as_bf(b), as_bf(y), as_bf(n), rows, H, eps);
    return;
  }
  if (version != 1) throw std::invalid_argument("layer_norm: unknown version " + std::to_string(version));
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vec = H % 8 == 0 && aligned(x) && aligned(w) && aligned(b) && aligned(n) &&
                   (kMode == kPlain || (aligned(a) && aligned(y)));
  const int nv = H / 8;
  if (vec && nv <= 32 * kMaxWarpVecs) {  // one warp per row, 8 rows per block
    const dim3 grid(static_cast<unsigned>((rows + 7) / 8)), block(256);
#define MM_LAYER_NORM_WARP(K)                                                                                 \
  mm::gpu::launch(layer_norm_v2_warp_kernel<kMode, K>, grid, block, 0, stream, as_bf(x), as_bf(a), as_bf(w), \
                  as_bf(b), as_bf(y), as_bf(n), rows, H, eps)
    if (nv <= 32) MM_LAYER_NORM_WARP(1);
    else if (nv <= 64) MM_LAYER_NORM_WARP(2);
    else MM_LAYER_NORM_WARP(4);
#undef MM_LAYER_NORM_WARP
    return;
  }
  const dim3 grid(static_cast<unsigned>(rows)), block(kV2Threads);
#define MM_LAYER_NORM_BLOCK(K)                                                                              \
  mm::gpu::launch(layer_norm_v2_block_kernel<kMode, kV2Threads, K>, grid, block, 0, stream, as_bf(x), as_bf(a), \
                  as_bf(w), as_bf(b), as_bf(y), as_bf(n), H, eps)
  if (vec && nv <= 2 * kV2Threads) MM_LAYER_NORM_BLOCK(2);
  else if (vec && nv <= kMaxBlockVecs * kV2Threads) MM_LAYER_NORM_BLOCK(4);
  else MM_LAYER_NORM_BLOCK(0);
#undef MM_LAYER_NORM_BLOCK
}

}  // namespace layer_norm
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu

namespace mm::layer_norm {
inline namespace MM_BACKEND_NS {

namespace detail {
// Every version takes every row count and width; pointers are the caller's (v2 checks alignment and
// takes its scalar path where a pointer is not 16-byte aligned).
template <class A>
bool supports_any(const A& a) {
  return a.rows >= 0 && a.H > 0;
}
// K: 0 v1, 1 v2
template <int K>
void launch_plain(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::layer_norm::launch_rows<mm::gpu::layer_norm::kPlain>(K, a.x, nullptr, a.w, a.b, nullptr, a.n, a.rows, a.H,
                                                                a.eps, stream);
}
template <int K>
void launch_residual(const ResidualArgs& a, mm::gpu::Stream stream) {
  mm::gpu::layer_norm::launch_rows<mm::gpu::layer_norm::kResidual>(K, a.r, a.a, a.w, a.b, a.y, a.n, a.rows, a.H,
                                                                   a.eps, stream);
}
}  // namespace detail

MM_LAYER_NORM_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_row", &detail::launch_plain<0>, &detail::supports_any<Args>},
      {"v2_warp_or_block_per_row_vec16", &detail::launch_plain<1>, &detail::supports_any<Args>},
  };
  return v;
}

MM_LAYER_NORM_RUNNER const std::vector<ResidualVersion>& residual_versions() {
  static const std::vector<ResidualVersion> v = {
      {"v1_thread_per_row", &detail::launch_residual<0>, &detail::supports_any<ResidualArgs>},
      {"v2_warp_or_block_per_row_vec16", &detail::launch_residual<1>, &detail::supports_any<ResidualArgs>},
  };
  return v;
}

MM_LAYER_NORM_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_LAYER_NORM_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& x,
                                               const std::vector<uint16_t>& w, const std::vector<uint16_t>& b,
                                               int rows, int H, float eps) {
  if (rows < 0 || H <= 0)
    throw std::invalid_argument("layer_norm: bad shape rows=" + std::to_string(rows) + " H=" + std::to_string(H));
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(H);
  mm::gpu::require_size(x.size(), n, "layer_norm", "x");
  mm::gpu::require_size(w.size(), static_cast<size_t>(H), "layer_norm", "w");
  mm::gpu::require_size(b.size(), static_cast<size_t>(H), "layer_norm", "b");
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dw(w), db(b);
  auto dn = mm::gpu::poisoned<uint16_t>(n);
  Args a;
  a.x = dx.data(); a.w = dw.data(); a.b = db.data(); a.n = dn.data(); a.rows = rows; a.H = H; a.eps = eps;
  mm::gpu::launch_checked(v, a, nullptr, "layer_norm");
  mm::gpu::synchronize();
  return dn.download();
}

MM_LAYER_NORM_RUNNER std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run(
    const ResidualVersion& v, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a,
    const std::vector<uint16_t>& w, const std::vector<uint16_t>& b, int rows, int H, float eps) {
  if (rows < 0 || H <= 0)
    throw std::invalid_argument("layer_norm: bad shape rows=" + std::to_string(rows) + " H=" + std::to_string(H));
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(H);
  mm::gpu::require_size(r.size(), n, "layer_norm", "r");
  mm::gpu::require_size(a.size(), n, "layer_norm", "a");
  mm::gpu::require_size(w.size(), static_cast<size_t>(H), "layer_norm", "w");
  mm::gpu::require_size(b.size(), static_cast<size_t>(H), "layer_norm", "b");
  mm::gpu::DeviceBuffer<uint16_t> dr(r), da(a), dw(w), db(b);
  auto dy = mm::gpu::poisoned<uint16_t>(n), dn = mm::gpu::poisoned<uint16_t>(n);
  ResidualArgs args;
  args.r = dr.data(); args.a = da.data(); args.w = dw.data(); args.b = db.data(); args.y = dy.data();
  args.n = dn.data(); args.rows = rows; args.H = H; args.eps = eps;
  mm::gpu::launch_checked(v, args, nullptr, "layer_norm");
  mm::gpu::synchronize();
  return {dy.download(), dn.download()};
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::layer_norm
