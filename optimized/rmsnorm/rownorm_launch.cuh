// Host-side launch of the row-norm kernels (rmsnorm.cuh) by version, shared by the RMSNorm and the
// lightning norm-gate runners (a template, so it can be included by several nvcc TUs).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/launch.h"
#include "optimized/rmsnorm/rmsnorm.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace rownorm {

constexpr int kV1Threads = 128;
constexpr int kV2Threads = 256;

inline const __nv_bfloat16* as_bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* as_bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

// One launch of row-norm mode kMode, version 0 (v1) or 1 (v2). x, b, w, y, n as in rmsnorm.cuh.
template <int kMode>
void launch_rows(int version, const uint16_t* x, const uint16_t* b, const uint16_t* w, uint16_t* y, uint16_t* n,
                 int rows, int H, float alpha, float beta, float eps, Stream stream) {
  if (rows < 0 || H <= 0) throw std::invalid_argument("rownorm: bad shape");
  if (rows == 0) return;
  if (version == 0) {
    const int blocks = (rows + kV1Threads - 1) / kV1Threads;
    mm::gpu::launch(rownorm_v1_kernel<kMode>, dim3(blocks), dim3(kV1Threads), 0, stream, as_bf(x), as_bf(b),
                    as_bf(w), as_bf(y), as_bf(n), rows, H, alpha, beta, eps);
    return;
  }
  if (version != 1 && version != 2) throw std::invalid_argument("rownorm: unknown version " + std::to_string(version));
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vec = H % 8 == 0 && aligned(x) && aligned(w) && aligned(n) && (kMode == kPlain || aligned(b)) &&
                   (kMode != kResidual || aligned(y));
  const int nv = H / 8;
  if (version == 2 && vec && nv <= 32 * kMaxV3Vecs) {  // v3: one warp per row
    const dim3 g3(static_cast<unsigned>((rows + 7) / 8)), b3(256);
#define MM_ROWNORM_V3(K)                                                                                   \
  mm::gpu::launch(rownorm_v3_kernel<kMode, K>, g3, b3, 0, stream, as_bf(x), as_bf(b), as_bf(w), as_bf(y), \
                  as_bf(n), rows, H, alpha, beta, eps)
    if (nv <= 32) MM_ROWNORM_V3(1);
    else if (nv <= 64) MM_ROWNORM_V3(2);
    else if (nv <= 128) MM_ROWNORM_V3(4);
    else MM_ROWNORM_V3(8);
#undef MM_ROWNORM_V3
    return;
  }
  const dim3 grid(static_cast<unsigned>(rows)), block(kV2Threads);
#define MM_ROWNORM_V2(K) \
  mm::gpu::launch(rownorm_v2_kernel<kMode, kV2Threads, K>, grid, block, 0, stream, as_bf(x), as_bf(b), as_bf(w), \
                  as_bf(y), as_bf(n), H, alpha, beta, eps)
  if (vec && nv <= kV2Threads) MM_ROWNORM_V2(1);
  else if (vec && nv <= 2 * kV2Threads) MM_ROWNORM_V2(2);
  else if (vec && nv <= 3 * kV2Threads) MM_ROWNORM_V2(3);
  else if (vec && nv <= 4 * kV2Threads) MM_ROWNORM_V2(4);
  else MM_ROWNORM_V2(0);
#undef MM_ROWNORM_V2
}

}  // namespace rownorm
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu

