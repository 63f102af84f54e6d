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

inline const __nv_bfloat16* bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

inline void check_shape(int E, int H, int I, int k) {
  if (E < 1 || E > kMaxExperts) throw std::invalid_argument("moe: E must be in [1, 64]");
  if (k < 1 || k > kMaxTopK || k > E) throw std::invalid_argument("moe: k must be in [1, min(8, E)]");
  // the FFN version's own supports() says whether it takes H and I (v2's tiles: multiples of 8)
  if (H <= 0 || I <= 0) throw std::invalid_argument("moe: H and I must be positive");
}

inline int unsigned_blocks(size_t work, int threads) { return static_cast<int>((work + threads - 1) / threads); }

template <class Tl>
void launch_grouped(const __nv_bfloat16* xperm, const int* offsets, int n, int E, int H, int I,
                    const __nv_bfloat16* w1, const __nv_bfloat16* w3, const __nv_bfloat16* w2, __nv_bfloat16* h,
                    __nv_bfloat16* ye, mm::gpu::Stream s) {
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

namespace detail {

inline void launch_router(const RouterArgs& a, mm::gpu::Stream stream) {
  constexpr int kThreads = 128;  // 4 tokens per block
  mm::gpu::launch(router_kernel, dim3(static_cast<unsigned>((a.T + 3) / 4)), dim3(kThreads), 0, stream, a.logits, a.T,
                  a.E, a.k, a.ids, bf(a.weights));
}
inline bool supports_router(const RouterArgs& a) {
  return a.T >= 0 && a.E >= 1 && a.E <= kMaxExperts && a.k >= 1 && a.k <= kMaxTopK && a.k <= a.E;
}

inline void launch_permute(const PermuteArgs& a, mm::gpu::Stream stream) {
  const int n = a.T * a.k;
  const int threads = std::min(kPermuteMaxThreads, (n + 31) / 32 * 32);
  mm::gpu::launch(permute_kernel, dim3(1), dim3(static_cast<unsigned>(threads)), 0, stream, a.ids, n, a.k, a.E,
                  a.counts, a.offsets, a.perm_token, a.inv_row);
}
inline bool supports_permute(const PermuteArgs& a) {
  return a.T >= 0 && a.E >= 1 && a.E <= kMaxExperts && a.k >= 1 && a.k <= kMaxTopK && a.k <= a.E;
}

inline void launch_gather(const GatherArgs& a, mm::gpu::Stream stream) {
  const int threads = std::min(256, std::max(32, (a.H / 8 + 31) / 32 * 32));
  mm::gpu::launch(gather_kernel, dim3(static_cast<unsigned>(a.n)), dim3(static_cast<unsigned>(threads)), 0, stream,
                  bf(a.x), a.perm_token, a.H, bf(a.xperm));
}
inline bool supports_gather(const GatherArgs& a) { return a.n >= 0 && a.H > 0; }

inline bool supports_ffn_v1(const GroupedFfnArgs& a) {  // one thread per output element: any H, I
  return a.n >= 0 && a.E >= 1 && a.E <= kMaxExperts && a.H > 0 && a.I > 0;
}
inline bool supports_ffn(const GroupedFfnArgs& a) {  // the tiles load 16-byte rows
  return supports_ffn_v1(a) && a.H % 8 == 0 && a.I % 8 == 0;
}
inline void launch_ffn_v1(const GroupedFfnArgs& a, mm::gpu::Stream s) {
  constexpr int kThreads = 256;
  mm::gpu::launch(ffn13_v1_kernel, dim3(unsigned_blocks(static_cast<size_t>(a.n) * a.I, kThreads)), dim3(kThreads), 0,
                  s, bf(a.xperm), a.offsets, a.n, a.E, a.H, a.I, bf(a.w1), bf(a.w3), bf(a.h));
  mm::gpu::launch(ffn2_v1_kernel, dim3(unsigned_blocks(static_cast<size_t>(a.n) * a.H, kThreads)), dim3(kThreads), 0,
                  s, static_cast<const __nv_bfloat16*>(bf(a.h)), a.offsets, a.n, a.E, a.H, a.I, bf(a.w2), bf(a.ye));
}
template <class Tl>
void launch_ffn_tiles(const GroupedFfnArgs& a, mm::gpu::Stream s) {
  launch_grouped<Tl>(bf(a.xperm), a.offsets, a.n, a.E, a.H, a.I, bf(a.w1), bf(a.w3), bf(a.w2), bf(a.h), bf(a.ye), s);
}
using Bm128 = GroupedTile<128, 128, 2, 2>;  // 128x128 tiles, 64x64 warp tiles (prefill)
using Bm64 = GroupedTile<64, 128, 1, 4>;    // 64x128 tiles, 64x32 warp tiles
using Bm32 = GroupedTile<32, 64, 2, 4>;     // 32x64 tiles (decode: few rows per expert)
inline void launch_ffn_v2(const GroupedFfnArgs& a, mm::gpu::Stream s) {  // tile height from the mean rows per expert
  const int mean = a.n / std::max(1, std::min(a.E, a.n));
  if (mean > 64) launch_ffn_tiles<Bm128>(a, s);
  else if (mean > 32) launch_ffn_tiles<Bm64>(a, s);
  else launch_ffn_tiles<Bm32>(a, s);
}

inline void launch_combine(const CombineArgs& a, mm::gpu::Stream stream) {
  constexpr int kThreads = 256;
  const int vec = a.H % 8 == 0 ? 8 : 1;  // columns per thread: 16-byte rows, or any H
  mm::gpu::launch(vec == 8 ? combine_kernel<8> : combine_kernel<1>,
                  dim3(unsigned_blocks(static_cast<size_t>(a.T) * (a.H / vec), kThreads)), dim3(kThreads), 0, stream,
                  bf(a.ye), a.ids, bf(a.weights), a.inv_row, a.T, a.k, a.H, bf(a.y));
}
inline bool supports_combine(const CombineArgs& a) { return a.T >= 0 && a.k >= 1 && a.k <= kMaxTopK && a.H > 0; }

}  // namespace detail

MM_MOE_RUNNER const std::vector<RouterVersion>& router_versions() {
  static const std::vector<RouterVersion> v = {{"router_v1_warp_per_token", &detail::launch_router, &detail::supports_router}};
  return v;
}
MM_MOE_RUNNER const std::vector<PermuteVersion>& permute_versions() {
  static const std::vector<PermuteVersion> v = {{"permute_v1_one_block", &detail::launch_permute, &detail::supports_permute}};
  return v;
}
MM_MOE_RUNNER const std::vector<GatherVersion>& gather_versions() {
  static const std::vector<GatherVersion> v = {{"gather_v1_block_per_row", &detail::launch_gather, &detail::supports_gather}};
  return v;
}
MM_MOE_RUNNER const std::vector<GroupedFfnVersion>& grouped_ffn_versions() {
  static const std::vector<GroupedFfnVersion> v = {
      {"v1", &detail::launch_ffn_v1, &detail::supports_ffn_v1},
      {"v2_bm128", &detail::launch_ffn_tiles<detail::Bm128>, &detail::supports_ffn},
      {"v2_bm64", &detail::launch_ffn_tiles<detail::Bm64>, &detail::supports_ffn},
      {"v2_bm32", &detail::launch_ffn_tiles<detail::Bm32>, &detail::supports_ffn},
      {"v2", &detail::launch_ffn_v2, &detail::supports_ffn},
  };
  return v;
}
MM_MOE_RUNNER const std::vector<CombineVersion>& combine_versions() {
  static const std::vector<CombineVersion> v = {{"combine_v1", &detail::launch_combine, &detail::supports_combine}};
  return v;
}

MM_MOE_RUNNER void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b,
                                float* c) {
  mm::gpu::gemm_linear(stream, m, n, k, detail::bf(a), detail::bf(b), c);
}

// ---- host-vector runners (tests) ---------------------------------------------------------------------

MM_MOE_RUNNER void run_router(const std::vector<float>& logits, int T, int E, int k, std::vector<int>& ids,
                              std::vector<uint16_t>& weights) {
  detail::check_shape(E, 8, 8, k);
  mm::gpu::DeviceBuffer<float> dl(logits);
  auto di = mm::gpu::poisoned<int>(static_cast<size_t>(T) * k);
  auto dw = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(T) * k);
  RouterArgs a;
  a.logits = dl.data(); a.T = T; a.E = E; a.k = k; a.ids = di.data(); a.weights = dw.data();
  mm::gpu::launch_checked(router_versions().front(), a, nullptr, "moe router");
  mm::gpu::synchronize();
  ids = di.download();
  weights = dw.download();
}

MM_MOE_RUNNER Permutation run_permute(const std::vector<int>& ids, int T, int E, int k) {
  detail::check_shape(E, 8, 8, k);
  const size_t n = static_cast<size_t>(T) * k;
  mm::gpu::DeviceBuffer<int> di(ids);
  auto dc = mm::gpu::poisoned<int>(static_cast<size_t>(E));
  auto doff = mm::gpu::poisoned<int>(static_cast<size_t>(E) + 1);
  auto dp = mm::gpu::poisoned<int>(n), dinv = mm::gpu::poisoned<int>(n);
  PermuteArgs a;
  a.ids = di.data(); a.T = T; a.E = E; a.k = k; a.counts = dc.data(); a.offsets = doff.data();
  a.perm_token = dp.data(); a.inv_row = dinv.data();
  mm::gpu::launch_checked(permute_versions().front(), a, nullptr, "moe permute");
  mm::gpu::synchronize();
  return Permutation{dc.download(), doff.download(), dp.download(), dinv.download()};
}

MM_MOE_RUNNER std::vector<uint16_t> run_grouped_ffn(const GroupedFfnVersion& v, const std::vector<uint16_t>& xperm,
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
  auto dh = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(n) * I);
  auto dy = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(n) * H);
  GroupedFfnArgs a;
  a.xperm = dx.data(); a.offsets = doff.data(); a.n = n; a.E = E; a.H = H; a.I = I;
  a.w1 = d1.data(); a.w3 = d3.data(); a.w2 = d2.data(); a.h = dh.data(); a.ye = dy.data();
  mm::gpu::launch_checked(v, a, nullptr, "moe grouped FFN");
  mm::gpu::synchronize();
  return dy.download();
}

MM_MOE_RUNNER std::vector<uint16_t> run_moe(const GroupedFfnVersion& v, const std::vector<uint16_t>& x,
                                            const std::vector<uint16_t>& gate, const std::vector<uint16_t>& w1,
                                            const std::vector<uint16_t>& w3, const std::vector<uint16_t>& w2, int T,
                                            int E, int H, int I, int k, std::vector<int>* ids_out) {
  detail::check_shape(E, H, I, k);
  const size_t n = static_cast<size_t>(T) * k;
  mm::gpu::DeviceBuffer<uint16_t> dx(x), dg(gate), d1(w1), d3(w3), d2(w2);
  auto dlog = mm::gpu::poisoned<float>(static_cast<size_t>(T) * E);
  auto dids = mm::gpu::poisoned<int>(n), dinv = mm::gpu::poisoned<int>(n), dperm = mm::gpu::poisoned<int>(n);
  auto dwts = mm::gpu::poisoned<uint16_t>(n);
  auto dcnt = mm::gpu::poisoned<int>(static_cast<size_t>(E)), doff = mm::gpu::poisoned<int>(static_cast<size_t>(E) + 1);
  auto dxp = mm::gpu::poisoned<uint16_t>(n * H), dh = mm::gpu::poisoned<uint16_t>(n * I);
  auto dye = mm::gpu::poisoned<uint16_t>(n * H), dy = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(T) * H);
  MM_BACKEND_NS::gemm_bf16_nk(nullptr, T, E, H, dx.data(), dg.data(), dlog.data());  // router logits (dense GEMM)
  RouterArgs ra;
  ra.logits = dlog.data(); ra.T = T; ra.E = E; ra.k = k; ra.ids = dids.data(); ra.weights = dwts.data();
  mm::gpu::launch_checked(router_versions().front(), ra, nullptr, "moe router");
  PermuteArgs pa;
  pa.ids = dids.data(); pa.T = T; pa.E = E; pa.k = k; pa.counts = dcnt.data(); pa.offsets = doff.data();
  pa.perm_token = dperm.data(); pa.inv_row = dinv.data();
  mm::gpu::launch_checked(permute_versions().front(), pa, nullptr, "moe permute");
  GatherArgs ga;
  ga.x = dx.data(); ga.perm_token = dperm.data(); ga.n = static_cast<int>(n); ga.H = H; ga.xperm = dxp.data();
  mm::gpu::launch_checked(gather_versions().front(), ga, nullptr, "moe gather");
  GroupedFfnArgs fa;
  fa.xperm = dxp.data(); fa.offsets = doff.data(); fa.n = static_cast<int>(n); fa.E = E; fa.H = H; fa.I = I;
  fa.w1 = d1.data(); fa.w3 = d3.data(); fa.w2 = d2.data(); fa.h = dh.data(); fa.ye = dye.data();
  mm::gpu::launch_checked(v, fa, nullptr, "moe grouped FFN");
  CombineArgs ca;
  ca.ye = dye.data(); ca.ids = dids.data(); ca.weights = dwts.data(); ca.inv_row = dinv.data(); ca.T = T; ca.k = k;
  ca.H = H; ca.y = dy.data();
  mm::gpu::launch_checked(combine_versions().front(), ca, nullptr, "moe combine");
  mm::gpu::synchronize();
  if (ids_out) *ids_out = dids.download();
  return dy.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::moe
