// Definitions of the patch-embedding runners (patch_embed_runner.h) for whichever build includes this file,
// and the host-side launch of the kernels (patch_embed.cuh) by version.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#include "optimized/patch_embed/patch_embed.cuh"
#include "optimized/patch_embed/patch_embed_runner.h"

MM_PATCH_EMBED_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_PATCH_EMBED_RUNNER inline
#else
#define MM_PATCH_EMBED_RUNNER
#endif

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace patch_embed {

constexpr int kThreads = 256;

inline const __nv_bfloat16* as_bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* as_bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
inline unsigned blocks_for(size_t threads) { return static_cast<unsigned>((threads + kThreads - 1) / kThreads); }

// v3's tiles: 128 x 128 from 2048 patch rows up (4 crops and more), 64 x 128 below, as the vision Linear
// v2 (vision_mlp_runner.cuh), whose shapes these are (D 1024, one crop 576 rows).
using PatchTileBig = GemmTile<128, 128, 2, 2>;
using PatchTileSmall = GemmTile<64, 128, 1, 4>;

template <class Tl>
void launch_v3_gemm(const mm::patch_embed::Args& a, const __nv_bfloat16* w_pad, int N, int Kp, Stream stream) {
  static const bool opted_in =  // once per instantiation (> 48 KiB of dynamic shared memory)
      (mm::gpu::allow_dynamic_smem(patch_embed_v3_mma_kernel<Tl>, Tl::kSmemBytes), true);
  (void)opted_in;
  const int M = a.crops * N;
  const dim3 grid(static_cast<unsigned>((M + Tl::kBM - 1) / Tl::kBM), static_cast<unsigned>((a.D + Tl::kBN - 1) / Tl::kBN));
  mm::gpu::launch(patch_embed_v3_mma_kernel<Tl>, grid, dim3(Tl::kThreads), Tl::kSmemBytes, stream,
                  static_cast<const __nv_bfloat16*>(as_bf(a.patches)), w_pad, as_bf(a.cls), as_bf(a.pos), as_bf(a.out),
                  a.crops, N, a.D, Kp);
}

// One launch of version 0 (v1), 1 (v2) or 2 (v3) on a checked shape (mm::patch_embed::check_args).
inline void launch_version(int version, const mm::patch_embed::Args& a, Stream stream) {
  mm::patch_embed::check_args(a);
  if (a.crops == 0) return;
  const int N = mm::patch_embed::patches_of(a), K = mm::patch_embed::k_of(a);
  const size_t total = static_cast<size_t>(a.crops) * static_cast<size_t>(N + 1) * static_cast<size_t>(a.D);
  if (version == 0) {
    mm::gpu::launch(patch_embed_v1_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a.pixels, as_bf(a.w),
                    as_bf(a.cls), as_bf(a.pos), as_bf(a.out), total, a.C, a.S, a.p, a.D);
    return;
  }
  const size_t segs = static_cast<size_t>(a.crops) * static_cast<size_t>(N) * static_cast<size_t>(a.C) *
                      static_cast<size_t>(a.p);
  if (version == 2) {
    if (a.patches == nullptr) throw std::invalid_argument("patch_embed: v3 needs the patches workspace");
    if (a.D % 8 != 0) throw std::invalid_argument("patch_embed: v3 needs D % 8 == 0");
    const int Kp = mm::patch_embed::kp_of(a);
    __nv_bfloat16* w_pad = as_bf(a.patches) + static_cast<size_t>(a.crops) * N * Kp;  // after the patch rows
    mm::gpu::launch(patch_embed_im2col_kernel, dim3(blocks_for(segs)), dim3(kThreads), 0, stream, a.pixels,
                    as_bf(a.patches), segs, a.C, a.S, a.p, Kp);
    const size_t wn = static_cast<size_t>(a.D) * Kp;
    mm::gpu::launch(patch_embed_v3_pad_weight_kernel, dim3(blocks_for(wn)), dim3(kThreads), 0, stream, as_bf(a.w),
                    w_pad, wn, K, Kp);
    if (a.crops * N >= 2048) launch_v3_gemm<PatchTileBig>(a, w_pad, N, Kp, stream);
    else launch_v3_gemm<PatchTileSmall>(a, w_pad, N, Kp, stream);
    return;
  }
  if (version != 1) throw std::invalid_argument("patch_embed: unknown version " + std::to_string(version));
  if (a.patches == nullptr || a.conv == nullptr)
    throw std::invalid_argument("patch_embed: v2 needs the patches and conv workspaces");
  mm::gpu::launch(patch_embed_im2col_kernel, dim3(blocks_for(segs)), dim3(kThreads), 0, stream, a.pixels,
                  as_bf(a.patches), segs, a.C, a.S, a.p, K);
  // conv [crops * N, D] fp32 = patches [crops * N, K] w [D, K]^T: the one GEMM interface
  mm::gpu::gemm_linear(stream, a.crops * N, a.D, K, as_bf(a.patches), as_bf(a.w), a.conv);
  mm::gpu::launch(patch_embed_v2_epilogue_kernel, dim3(blocks_for(total)), dim3(kThreads), 0, stream, a.conv,
                  as_bf(a.cls), as_bf(a.pos), as_bf(a.out), total, N, a.D);
}

}  // namespace patch_embed
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu

namespace mm::patch_embed {
inline namespace MM_BACKEND_NS {

namespace detail {
inline bool valid(const Args& a) {
  return a.crops >= 0 && a.C > 0 && a.p > 0 && a.S > 0 && a.S % a.p == 0 && a.D > 0;
}
inline bool supports_v1(const Args& a) { return valid(a); }
// v2 needs its workspace (any crops > 0).
inline bool supports_v2(const Args& a) {
  return valid(a) && (a.crops == 0 || (a.patches != nullptr && a.conv != nullptr));
}
// v3 needs the patches workspace (no conv), 16-byte aligned for cp.async, and whole 8-column groups of D
// (16-byte weight rows per tile row, bf16 pairs of pos and out, 4-byte aligned, in the epilogue). A null
// pointer is a probe standing for an aligned device buffer (docs/architecture.md, "Choosing").
inline bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }
inline bool supports_v3(const Args& a) {
  return valid(a) && a.D % 8 == 0 && (a.crops == 0 || a.patches != nullptr) && aligned(a.patches, 16) &&
         aligned(a.pos, 4) && aligned(a.out, 4);
}
// K: 0 v1, 1 v2, 2 v3
template <int K>
void launch(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::patch_embed::launch_version(K, a, stream);
}
}  // namespace detail

MM_PATCH_EMBED_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_direct_conv_thread_per_element", &detail::launch<0>, &detail::supports_v1},
      {"v2_im2col_gemm_epilogue", &detail::launch<1>, &detail::supports_v2},
      {"v3_im2col_mma_fused_epilogue", &detail::launch<2>, &detail::supports_v3},
  };
  return v;
}

MM_PATCH_EMBED_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_PATCH_EMBED_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<float>& pixels,
                                                const std::vector<uint16_t>& w, const std::vector<uint16_t>& cls,
                                                const std::vector<uint16_t>& pos, int crops, int C, int S, int p,
                                                int D) {
  Args a;
  a.crops = crops; a.C = C; a.S = S; a.p = p; a.D = D;
  check_args(a);
  const int N = patches_of(a), K = k_of(a);
  const size_t d = static_cast<size_t>(D);
  mm::gpu::require_size(pixels.size(), static_cast<size_t>(crops) * C * static_cast<size_t>(S) * S, "patch_embed",
                        "pixels");
  mm::gpu::require_size(w.size(), d * static_cast<size_t>(K), "patch_embed", "w");
  mm::gpu::require_size(cls.size(), d, "patch_embed", "cls");
  mm::gpu::require_size(pos.size(), static_cast<size_t>(N + 1) * d, "patch_embed", "pos");
  mm::gpu::DeviceBuffer<float> dpix(pixels);
  mm::gpu::DeviceBuffer<uint16_t> dw(w), dcls(cls), dpos(pos);
  // the workspace poisoned as well: v2 and v3 must write every element they read (v3's pad columns too)
  auto dpatches = mm::gpu::poisoned<uint16_t>(patches_workspace(a));
  auto dconv = mm::gpu::poisoned<float>(conv_workspace(a));
  auto dout = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(crops) * static_cast<size_t>(N + 1) * d);
  a.pixels = dpix.data(); a.w = dw.data(); a.cls = dcls.data(); a.pos = dpos.data(); a.out = dout.data();
  a.patches = dpatches.data(); a.conv = dconv.data();
  mm::gpu::launch_checked(v, a, nullptr, "patch_embed");
  mm::gpu::synchronize();
  return dout.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::patch_embed
