// Definitions of the vision linear-layer epilogue runners (vision_mlp_runner.h) for whichever build
// includes this file, and the host-side launch of the kernels (vision_mlp.cuh) by version and mode.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#include "optimized/vision_mlp/vision_mlp.cuh"
#include "optimized/vision_mlp/vision_mlp_runner.h"

MM_VISION_MLP_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_VISION_MLP_RUNNER inline
#else
#define MM_VISION_MLP_RUNNER
#endif

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace vision_mlp {

constexpr int kThreads = 256;

inline const __nv_bfloat16* as_bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* as_bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

inline unsigned blocks_for(size_t threads) { return static_cast<unsigned>((threads + kThreads - 1) / kThreads); }

// One launch of mode kMode, version 0 (v1) or 1 (v2), on the shape checked by the caller (m >= 0, n > 0).
template <int kMode>
void launch_epilogue(int version, const float* c, const uint16_t* b, const uint16_t* h, uint16_t* y, uint16_t* m_out,
                     int m, int n, Stream stream) {
  const size_t total = static_cast<size_t>(m) * static_cast<size_t>(n);
  if (total == 0) return;
  if (version == 0) {
    mm::gpu::launch(vision_mlp_v1_kernel<kMode>, dim3(blocks_for(total)), dim3(kThreads), 0, stream, c, as_bf(b),
                    as_bf(h), as_bf(y), as_bf(m_out), total, n);
    return;
  }
  if (version != 1) throw std::invalid_argument("vision_mlp: unknown version " + std::to_string(version));
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vec = n % 8 == 0 && aligned(c) && aligned(b) && aligned(y) &&
                   (kMode != kBiasResidual || (aligned(h) && aligned(m_out)));
  const size_t groups = (total + 7) / 8;  // threads: 8 elements each
  if (vec)
    mm::gpu::launch(vision_mlp_v2_vec_kernel<kMode>, dim3(blocks_for(groups)), dim3(kThreads), 0, stream, c,
                    as_bf(b), as_bf(h), as_bf(y), as_bf(m_out), groups, n);
  else
    mm::gpu::launch(vision_mlp_v2_scalar_kernel<kMode>, dim3(blocks_for(groups)), dim3(kThreads), 0, stream, c,
                    as_bf(b), as_bf(h), as_bf(y), as_bf(m_out), total, n);
}

// The fused Linear (Linear v2) on a checked shape. Tiles: 128 x 128 (2 x 2 warps of 64 x 64, the MoE
// prefill tile) from 2048 rows up (a 4-crop image and more: >= 16 row tiles per weight column tile);
// 64 x 128 (1 x 4 warps) below, where one crop (577 rows) would leave most SMs idle with 128-row tiles
// (5 row tiles x 8 column tiles at n = 1024). An unmeasured choice: bench/gpu/vision_mlp_bench.cpp
// times both Linear versions against cuBLAS at the tower's shapes.
using LinearTileBig = GemmTile<128, 128, 2, 2>;
using LinearTileSmall = GemmTile<64, 128, 1, 4>;

template <class Tl, int kMode>
void launch_fused_tiles(const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* b,
                        const __nv_bfloat16* h, __nv_bfloat16* y, __nv_bfloat16* m_out, int m, int k, int n,
                        Stream stream) {
  static const bool opted_in =  // once per instantiation (> 48 KiB of dynamic shared memory)
      (mm::gpu::allow_dynamic_smem(vision_linear_mma_kernel<Tl, kMode>, Tl::kSmemBytes), true);
  (void)opted_in;
  const dim3 grid(static_cast<unsigned>((m + Tl::kBM - 1) / Tl::kBM), static_cast<unsigned>((n + Tl::kBN - 1) / Tl::kBN));
  mm::gpu::launch(vision_linear_mma_kernel<Tl, kMode>, grid, dim3(Tl::kThreads), Tl::kSmemBytes, stream, x, w, b, h, y,
                  m_out, m, n, k);
}

template <int kMode>
void launch_fused(const uint16_t* x, const uint16_t* w, const uint16_t* b, const uint16_t* h, uint16_t* y,
                  uint16_t* m_out, int m, int k, int n, Stream stream) {
  if (m == 0) return;
  if (m >= 2048)
    launch_fused_tiles<LinearTileBig, kMode>(as_bf(x), as_bf(w), as_bf(b), as_bf(h), as_bf(y), as_bf(m_out), m, k, n,
                                             stream);
  else
    launch_fused_tiles<LinearTileSmall, kMode>(as_bf(x), as_bf(w), as_bf(b), as_bf(h), as_bf(y), as_bf(m_out), m, k,
                                               n, stream);
}

}  // namespace vision_mlp
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu

namespace mm::vision_mlp {
inline namespace MM_BACKEND_NS {

namespace detail {
// Every version takes every m >= 0, n > 0 (the grid is 1-D over m * n / 8 or m * n threads: < 2^31 * 256
// for every shape of the model). Pointers are the caller's and not inspected here (a probe with null
// pointers stands for 256-byte aligned device buffers, docs/architecture.md "Choosing"); v2 checks
// alignment at launch and takes its scalar path where a pointer is not 16-byte aligned.
template <int kMode>
bool supports(const Args& a) {
  return a.m >= 0 && a.n > 0;
}
// K: 0 v1, 1 v2
template <int kMode, int K>
void launch(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::vision_mlp::launch_epilogue<kMode>(K, a.c, a.b, a.h, a.y, a.m_out, a.m, a.n, stream);
}
template <int kMode>
const std::vector<Version>& table() {
  static const std::vector<Version> v = {
      {"v1_thread_per_element", &launch<kMode, 0>, &supports<kMode>},
      {"v2_vec8_16byte", &launch<kMode, 1>, &supports<kMode>},
  };
  return v;
}
inline void check_shape(int m, int n) {
  if (m < 0 || n <= 0)
    throw std::invalid_argument("vision_mlp: bad shape m=" + std::to_string(m) + " n=" + std::to_string(n));
}

// ---- the whole Linear --------------------------------------------------------------------------------------
inline bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }
inline bool linear_shape_ok(const LinearArgs& a) { return a.m >= 0 && a.n > 0 && a.k > 0; }
// v1: any shape; the GEMM writes the fp32 workspace, so it needs one whenever there are rows.
inline bool supports_linear_v1(const LinearArgs& a) { return linear_shape_ok(a) && (a.m == 0 || a.c != nullptr); }
// v2: cp.async copies 16-byte chunks of x and W rows (k % 8 == 0, 16-byte aligned bases); the epilogue
// reads and writes bf16 pairs (n % 8 == 0 keeps a pair inside a row; 4-byte aligned b, h, y, m_out).
// A null pointer is a probe standing for an aligned device buffer (docs/architecture.md, "Choosing").
inline bool supports_linear_v2(const LinearArgs& a) {
  return linear_shape_ok(a) && a.k % 8 == 0 && a.n % 8 == 0 && aligned(a.x, 16) && aligned(a.w, 16) &&
         aligned(a.b, 4) && aligned(a.h, 4) && aligned(a.y, 4) && aligned(a.m_out, 4);
}
template <int kMode>
void launch_linear_v1(const LinearArgs& a, mm::gpu::Stream stream) {
  if (a.m == 0) return;
  // C [m, n] fp32 = x [m, k] w [n, k]^T: the one GEMM interface (cuBLAS / the SIMT host loop)
  mm::gpu::gemm_linear(stream, a.m, a.n, a.k, mm::gpu::vision_mlp::as_bf(a.x), mm::gpu::vision_mlp::as_bf(a.w), a.c);
  Args e;
  e.c = a.c; e.b = a.b; e.h = a.h; e.y = a.y; e.m_out = a.m_out; e.m = a.m; e.n = a.n;
  const auto& t = table<kMode>();
  mm::gpu::launch_checked(mm::gpu::pick(t, e, "vision_mlp", "m=" + std::to_string(a.m) + " n=" + std::to_string(a.n)),
                          e, stream, "vision_mlp");
}
template <int kMode>
void launch_linear_v2(const LinearArgs& a, mm::gpu::Stream stream) {
  mm::gpu::vision_mlp::launch_fused<kMode>(a.x, a.w, a.b, a.h, a.y, a.m_out, a.m, a.k, a.n, stream);
}
template <int kMode>
const std::vector<LinearVersion>& linear_table() {
  static const std::vector<LinearVersion> v = {
      {"v1_gemm_then_epilogue", &launch_linear_v1<kMode>, &supports_linear_v1},
      {"v2_mma_fused_epilogue", &launch_linear_v2<kMode>, &supports_linear_v2},
  };
  return v;
}
inline void check_linear_shape(int m, int k, int n) {
  check_shape(m, n);
  if (k <= 0) throw std::invalid_argument("vision_mlp: bad shape k=" + std::to_string(k));
}
}  // namespace detail

MM_VISION_MLP_RUNNER const std::vector<Version>& versions(Mode mode) {
  switch (mode) {
    case kBias: return detail::table<kBias>();
    case kBiasGelu: return detail::table<kBiasGelu>();
    case kBiasResidual: return detail::table<kBiasResidual>();
  }
  throw std::invalid_argument("vision_mlp: unknown mode " + std::to_string(static_cast<int>(mode)));
}

MM_VISION_MLP_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_VISION_MLP_RUNNER Outputs run(Mode mode, const Version& v, const std::vector<float>& c,
                                 const std::vector<uint16_t>& b, const std::vector<uint16_t>& h, int m, int n) {
  detail::check_shape(m, n);
  MM_BACKEND_NS::versions(mode);  // rejects an unknown mode (qualified: both builds' runners may be visible)
  const size_t total = static_cast<size_t>(m) * static_cast<size_t>(n);
  const bool residual = mode == kBiasResidual;
  mm::gpu::require_size(c.size(), total, "vision_mlp", "c");
  mm::gpu::require_size(b.size(), static_cast<size_t>(n), "vision_mlp", "b");
  if (residual) mm::gpu::require_size(h.size(), total, "vision_mlp", "h");
  mm::gpu::DeviceBuffer<float> dc(c);
  mm::gpu::DeviceBuffer<uint16_t> db(b), dh;
  if (residual) dh = mm::gpu::DeviceBuffer<uint16_t>(h);
  auto dy = mm::gpu::poisoned<uint16_t>(total);
  mm::gpu::DeviceBuffer<uint16_t> dm;
  if (residual) dm = mm::gpu::poisoned<uint16_t>(total);
  Args a;
  a.c = dc.data(); a.b = db.data(); a.h = dh.data(); a.y = dy.data(); a.m_out = dm.data(); a.m = m; a.n = n;
  mm::gpu::launch_checked(v, a, nullptr, "vision_mlp");
  mm::gpu::synchronize();
  Outputs out;
  out.y = dy.download();
  if (residual) out.m_out = dm.download();
  return out;
}

MM_VISION_MLP_RUNNER const std::vector<LinearVersion>& linear_versions(Mode mode) {
  switch (mode) {
    case kBias: return detail::linear_table<kBias>();
    case kBiasGelu: return detail::linear_table<kBiasGelu>();
    case kBiasResidual: return detail::linear_table<kBiasResidual>();
  }
  throw std::invalid_argument("vision_mlp: unknown mode " + std::to_string(static_cast<int>(mode)));
}

MM_VISION_MLP_RUNNER void launch_linear(Mode mode, const uint16_t* x, const uint16_t* w, const uint16_t* b,
                                        const uint16_t* h, uint16_t* y, uint16_t* m_out, float* c, int m, int k,
                                        int n, mm::gpu::Stream stream) {
  detail::check_linear_shape(m, k, n);
  LinearArgs a;
  a.x = x; a.w = w; a.b = b; a.h = h; a.y = y; a.m_out = m_out; a.c = c; a.m = m; a.k = k; a.n = n;
  const auto& t = MM_BACKEND_NS::linear_versions(mode);
  const std::string shape = "m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n);
  mm::gpu::launch_checked(mm::gpu::pick(t, a, "vision_mlp", shape), a, stream, "vision_mlp");
}

MM_VISION_MLP_RUNNER bool linear_needs_workspace(Mode mode, int m, int k, int n) {
  detail::check_linear_shape(m, k, n);
  LinearArgs probe;  // null pointers: aligned device buffers, and no workspace
  probe.m = m; probe.k = k; probe.n = n;
  for (const auto& v : MM_BACKEND_NS::linear_versions(mode))
    if (v.supports(probe)) return false;
  return true;
}

MM_VISION_MLP_RUNNER Outputs linear(Mode mode, const LinearVersion& v, const std::vector<uint16_t>& x,
                                    const std::vector<uint16_t>& w, const std::vector<uint16_t>& b,
                                    const std::vector<uint16_t>& h, int m, int k, int n) {
  detail::check_linear_shape(m, k, n);
  MM_BACKEND_NS::linear_versions(mode);  // rejects an unknown mode
  const size_t total = static_cast<size_t>(m) * static_cast<size_t>(n);
  const bool residual = mode == kBiasResidual;
  mm::gpu::require_size(x.size(), static_cast<size_t>(m) * static_cast<size_t>(k), "vision_mlp", "x");
  mm::gpu::require_size(w.size(), static_cast<size_t>(n) * static_cast<size_t>(k), "vision_mlp", "w");
  mm::gpu::require_size(b.size(), static_cast<size_t>(n), "vision_mlp", "b");
  if (residual) mm::gpu::require_size(h.size(), total, "vision_mlp", "h");
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dw(w), db(b), dh;
  if (residual) dh = mm::gpu::DeviceBuffer<uint16_t>(h);
  auto dc = mm::gpu::poisoned<float>(total);
  auto dy = mm::gpu::poisoned<uint16_t>(total);
  mm::gpu::DeviceBuffer<uint16_t> dm;
  if (residual) dm = mm::gpu::poisoned<uint16_t>(total);
  LinearArgs a;
  a.x = dx.data(); a.w = dw.data(); a.b = db.data(); a.h = dh.data(); a.y = dy.data(); a.m_out = dm.data();
  a.c = dc.data(); a.m = m; a.k = k; a.n = n;
  mm::gpu::launch_checked(v, a, nullptr, "vision_mlp");
  mm::gpu::synchronize();
  Outputs out;
  out.y = dy.download();
  if (residual) out.m_out = dm.download();
  return out;
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::vision_mlp
