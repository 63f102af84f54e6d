// Definitions of the MoE runners (moe_runner.h) for whichever build includes this file: header-inline
// in the emulator build (backend_simt), compiled once into mm_optimized_cuda by moe.cu (backend_cuda).
// Host-vector runners allocate, upload, poison every output (all bits set), launch and download.
#pragma once
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#include "optimized/moe/moe.cuh"
#include "optimized/moe/moe_runner.h"

MM_MOE_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_MOE_RUNNER inline
#else
#define MM_MOE_RUNNER
#endif

namespace mm::moe {
inline namespace MM_BACKEND_NS {
namespace detail {

inline cudaStream_t stream_of(void* s) { return static_cast<cudaStream_t>(s); }
inline const __nv_bfloat16* bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

template <class T>
mm::gpu::DeviceBuffer<T> poisoned(size_t n) {
  mm::gpu::DeviceBuffer<T> b(n);
  mm::gpu::device_memset(b.data(), 0xFF, n * sizeof(T));
  return b;
}

inline void check_shape(int E, int H, int I, int k) {
  if (E < 1 || E > kMaxExperts) throw std::invalid_argument("moe: E must be in [1, 64]");
  if (k < 1 || k > kMaxTopK || k > E) throw std::invalid_argument("moe: k must be in [1, min(8, E)]");
  if (H % 8 || I % 8 || H <= 0 || I <= 0) throw std::invalid_argument("moe: H and I must be positive multiples of 8");
}

inline int unsigned_blocks(size_t work, int threads) { return static_cast<int>((work + threads - 1) / threads); }

template <class Tl>
void launch_grouped(const __nv_bfloat16* xperm, const int* offsets, int n, int E, int H, int I,
                    const __nv_bfloat16* w1, const __nv_bfloat16* w3, const __nv_bfloat16* w2, __nv_bfloat16* h,
                    __nv_bfloat16* ye, cudaStream_t s) {
  const int row_tiles = grouped_row_tile_bound(n, E, Tl::kBM);
  static const bool opted_in = [] {  // once per instantiation (> 48 KiB of dynamic shared memory)
    mm::gpu::allow_dynamic_smem(grouped_gemm_kernel<Tl, true>, Tl::kSmemBytes);
    mm::gpu::allow_dynamic_smem(grouped_gemm_kernel<Tl, false>, Tl::kSmemBytes);
    return true;
  }();
  (void)opted_in;
  const int ct13 = (I + Tl::kBN / 2 - 1) / (Tl::kBN / 2), ct2 = (H + Tl::kBN - 1) / Tl::kBN;
  mm::gpu::launch(grouped_gemm_kernel<Tl, true>, dim3(static_cast<unsigned>(ct13 * row_tiles)), dim3(Tl::kThreads),
                  Tl::kSmemBytes, s, xperm, offsets, E, w1, w3, I, H, h);
  mm::gpu::launch(grouped_gemm_kernel<Tl, false>, dim3(static_cast<unsigned>(ct2 * row_tiles)), dim3(Tl::kThreads),
                  Tl::kSmemBytes, s, static_cast<const __nv_bfloat16*>(h), offsets, E, w2, w2, H, I, ye);
}

}  // namespace detail

MM_MOE_RUNNER bool device_present() { return mm::gpu::device_available(); }

// ---- device-pointer steps ----------------------------------------------------------------------------

MM_MOE_RUNNER void dev_router(const float* logits, int T, int E, int k, int* ids, uint16_t* weights, void* stream) {
  constexpr int kThreads = 128;  // 4 tokens per block
  mm::gpu::launch(router_kernel, dim3(static_cast<unsigned>((T + 3) / 4)), dim3(kThreads), 0,
                  detail::stream_of(stream), logits, T, E, k, ids, detail::bf(weights));
}

MM_MOE_RUNNER void dev_permute(const int* ids, int T, int E, int k, int* counts, int* offsets, int* perm_token,
                               int* inv_row, void* stream) {
  const int n = T * k;
  const int threads = std::min(kPermuteMaxThreads, (n + 31) / 32 * 32);
  mm::gpu::launch(permute_kernel, dim3(1), dim3(static_cast<unsigned>(threads)), 0, detail::stream_of(stream), ids, n,
                  k, E, counts, offsets, perm_token, inv_row);
}

MM_MOE_RUNNER void dev_gather(const uint16_t* x, const int* perm_token, int n, int H, uint16_t* xperm, void* stream) {
  const int threads = std::min(256, std::max(32, (H / 8 + 31) / 32 * 32));
  mm::gpu::launch(gather_kernel, dim3(static_cast<unsigned>(n)), dim3(static_cast<unsigned>(threads)), 0,
                  detail::stream_of(stream), detail::bf(x), perm_token, H, detail::bf(xperm));
}

MM_MOE_RUNNER void dev_grouped_ffn(FfnVersion v, const uint16_t* xperm, const int* offsets, int n, int E, int H, int I,
                                   const uint16_t* w1, const uint16_t* w3, const uint16_t* w2, uint16_t* h,
                                   uint16_t* ye, void* stream) {
  const cudaStream_t s = detail::stream_of(stream);
  if (v == FfnVersion::v2) {  // tile height from the mean rows per expert
    const int mean = n / std::max(1, std::min(E, n));
    v = mean > 64 ? FfnVersion::v2_bm128 : mean > 32 ? FfnVersion::v2_bm64 : FfnVersion::v2_bm32;
  }
  switch (v) {
    case FfnVersion::v1: {
      constexpr int kThreads = 256;
      mm::gpu::launch(ffn13_v1_kernel, dim3(detail::unsigned_blocks(static_cast<size_t>(n) * I, kThreads)),
                      dim3(kThreads), 0, s, detail::bf(xperm), offsets, n, E, H, I, detail::bf(w1), detail::bf(w3),
                      detail::bf(h));
      mm::gpu::launch(ffn2_v1_kernel, dim3(detail::unsigned_blocks(static_cast<size_t>(n) * H, kThreads)),
                      dim3(kThreads), 0, s, static_cast<const __nv_bfloat16*>(detail::bf(h)), offsets, n, E, H, I,
                      detail::bf(w2), detail::bf(ye));
      return;
    }
    case FfnVersion::v2_bm128:
      return detail::launch_grouped<GroupedTile<128, 128, 2, 2>>(detail::bf(xperm), offsets, n, E, H, I, detail::bf(w1), detail::bf(w3),
                                         detail::bf(w2), detail::bf(h), detail::bf(ye), s);
    case FfnVersion::v2_bm64:
      return detail::launch_grouped<GroupedTile<64, 128, 1, 4>>(detail::bf(xperm), offsets, n, E, H, I, detail::bf(w1), detail::bf(w3),
                                        detail::bf(w2), detail::bf(h), detail::bf(ye), s);
    case FfnVersion::v2_bm32:
      return detail::launch_grouped<GroupedTile<32, 64, 2, 4>>(detail::bf(xperm), offsets, n, E, H, I, detail::bf(w1), detail::bf(w3),
                                        detail::bf(w2), detail::bf(h), detail::bf(ye), s);
    default:
      throw std::invalid_argument("moe: unknown FFN version");
  }
}

MM_MOE_RUNNER void dev_combine(const uint16_t* ye, const int* ids, const uint16_t* weights, const int* inv_row, int T,
                               int k, int H, uint16_t* y, void* stream) {
  constexpr int kThreads = 256;
  mm::gpu::launch(combine_kernel, dim3(detail::unsigned_blocks(static_cast<size_t>(T) * (H / 8), kThreads)),
                  dim3(kThreads), 0, detail::stream_of(stream), detail::bf(ye), ids, detail::bf(weights), inv_row, T,
                  k, H, detail::bf(y));
}

MM_MOE_RUNNER void dev_gemm_bf16(const uint16_t* a, const uint16_t* b, float* c, int m, int n, int k, void* stream) {
  mm::gpu::gemm_linear(detail::stream_of(stream), m, n, k, detail::bf(a), detail::bf(b), c);
}

// ---- host-vector runners (tests) ---------------------------------------------------------------------

MM_MOE_RUNNER void run_router(const std::vector<float>& logits, int T, int E, int k, std::vector<int>& ids,
                              std::vector<uint16_t>& weights) {
  detail::check_shape(E, 8, 8, k);
  mm::gpu::DeviceBuffer<float> dl(logits);
  auto di = detail::poisoned<int>(static_cast<size_t>(T) * k);
  auto dw = detail::poisoned<uint16_t>(static_cast<size_t>(T) * k);
  dev_router(dl.data(), T, E, k, di.data(), dw.data(), nullptr);
  mm::gpu::synchronize();
  ids = di.download();
  weights = dw.download();
}

MM_MOE_RUNNER Permutation run_permute(const std::vector<int>& ids, int T, int E, int k) {
  detail::check_shape(E, 8, 8, k);
  const size_t n = static_cast<size_t>(T) * k;
  mm::gpu::DeviceBuffer<int> di(ids);
  auto dc = detail::poisoned<int>(static_cast<size_t>(E));
  auto doff = detail::poisoned<int>(static_cast<size_t>(E) + 1);
  auto dp = detail::poisoned<int>(n), dinv = detail::poisoned<int>(n);
  dev_permute(di.data(), T, E, k, dc.data(), doff.data(), dp.data(), dinv.data(), nullptr);
  mm::gpu::synchronize();
  return Permutation{dc.download(), doff.download(), dp.download(), dinv.download()};
}

MM_MOE_RUNNER std::vector<uint16_t> run_grouped_ffn(FfnVersion v, const std::vector<uint16_t>& xperm,
                                                    const std::vector<int>& counts, const std::vector<uint16_t>& w1,
                                                    const std::vector<uint16_t>& w3, const std::vector<uint16_t>& w2,
                                                    int E, int H, int I) {
  detail::check_shape(E, H, I, 1);
  std::vector<int> offsets(static_cast<size_t>(E) + 1, 0);
  for (int e = 0; e < E; ++e) offsets[static_cast<size_t>(e) + 1] = offsets[static_cast<size_t>(e)] + counts[static_cast<size_t>(e)];
  const int n = offsets.back();
  if (static_cast<size_t>(n) * H != xperm.size()) throw std::invalid_argument("run_grouped_ffn: xperm size");
  mm::gpu::DeviceBuffer<uint16_t> dx(xperm), d1(w1), d3(w3), d2(w2);
  mm::gpu::DeviceBuffer<int> doff(offsets);
  auto dh = detail::poisoned<uint16_t>(static_cast<size_t>(n) * I);
  auto dy = detail::poisoned<uint16_t>(static_cast<size_t>(n) * H);
  mm::moe::MM_BACKEND_NS::dev_grouped_ffn(v, dx.data(), doff.data(), n, E, H, I, d1.data(), d3.data(), d2.data(), dh.data(), dy.data(), nullptr);
  mm::gpu::synchronize();
  return dy.download();
}

MM_MOE_RUNNER std::vector<uint16_t> run_moe(FfnVersion v, const std::vector<uint16_t>& x,
                                            const std::vector<uint16_t>& gate, const std::vector<uint16_t>& w1,
                                            const std::vector<uint16_t>& w3, const std::vector<uint16_t>& w2, int T,
                                            int E, int H, int I, int k, std::vector<int>* ids_out) {
  detail::check_shape(E, H, I, k);
  const size_t n = static_cast<size_t>(T) * k;
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dg(gate), d1(w1), d3(w3), d2(w2);
  auto dlog = detail::poisoned<float>(static_cast<size_t>(T) * E);
  auto dids = detail::poisoned<int>(n), dinv = detail::poisoned<int>(n), dperm = detail::poisoned<int>(n);
  auto dwts = detail::poisoned<uint16_t>(n);
  auto dcnt = detail::poisoned<int>(static_cast<size_t>(E)), doff = detail::poisoned<int>(static_cast<size_t>(E) + 1);
  auto dxp = detail::poisoned<uint16_t>(n * H), dh = detail::poisoned<uint16_t>(n * I);
  auto dye = detail::poisoned<uint16_t>(n * H), dy = detail::poisoned<uint16_t>(static_cast<size_t>(T) * H);
  dev_gemm_bf16(dx.data(), dg.data(), dlog.data(), T, E, H, nullptr);  // router logits (dense GEMM)
  dev_router(dlog.data(), T, E, k, dids.data(), dwts.data(), nullptr);
  dev_permute(dids.data(), T, E, k, dcnt.data(), doff.data(), dperm.data(), dinv.data(), nullptr);
  dev_gather(dx.data(), dperm.data(), static_cast<int>(n), H, dxp.data(), nullptr);
  mm::moe::MM_BACKEND_NS::dev_grouped_ffn(v, dxp.data(), doff.data(), static_cast<int>(n), E, H, I, d1.data(), d3.data(), d2.data(), dh.data(),
                  dye.data(), nullptr);
  dev_combine(dye.data(), dids.data(), dwts.data(), dinv.data(), T, k, H, dy.data(), nullptr);
  mm::gpu::synchronize();
  if (ids_out) *ids_out = dids.download();
  return dy.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::moe
