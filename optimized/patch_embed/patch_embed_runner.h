// Host entry points of the MiniMax-VL-01 patch-embedding kernels (patch_embed.cuh) with plain types (bf16
// as raw uint16_t bits), declared for the emulator build (backend_simt, header-inline from
// patch_embed_runner.cuh) and, when a program links the nvcc build, for backend_cuda (patch_embed.cu). The
// stem convention (docs/architecture.md, "Kernel stems: one convention"): one Args struct, one table
// (optimized/common/version_table.h), the entry verb is a table entry's `launch(args, stream)`, and `run`
// is the host round trip (allocate, upload, poison outputs, launch, download) that the tests use.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::patch_embed {

// E = [cls ; conv_pxp(x)] + pos for `crops` crops at once (docs/semantics/vl-01-vision.md#patch-embedding),
// with N = (S / p)^2 patches per crop and K = C * p * p. Device pointers.
struct Args {
  const float* pixels = nullptr;  // [crops, C, S, S] fp32, normalised, channels first, crops contiguous
  const uint16_t* w = nullptr;    // [D, K] bf16: patch_embedding.weight [D, C, p, p] flattened (c, ky, kx)
  const uint16_t* cls = nullptr;  // [D] bf16 class_embedding
  const uint16_t* pos = nullptr;  // [N + 1, D] bf16 position_embedding
  uint16_t* out = nullptr;        // [crops * (N + 1), D] bf16; crop b's rows are [b (N + 1), (b + 1)(N + 1))
  // the workspace (unused by v1): the im2col matrix, and (v2) the GEMM output
  uint16_t* patches = nullptr;    // patches_workspace(): v2 [crops * N, K]; v3 [crops * N, Kp] then the
                                  // padded weight [D, Kp] (Kp = kp_of: K rounded up to a multiple of 8)
  float* conv = nullptr;          // [crops * N, D] fp32 (v2 only)
  int crops = 0, C = 3, S = 336, p = 14, D = 0;
};

using Version = mm::gpu::KernelVersion<Args>;

// The geometry of a valid Args (check_args first): patches per side, per crop, and the im2col width.
inline int side_of(const Args& a) { return a.S / a.p; }
inline int patches_of(const Args& a) { return side_of(a) * side_of(a); }
inline int k_of(const Args& a) { return a.C * a.p * a.p; }
// v3's padded row width: K rounded up to a multiple of 8 (16-byte rows).
inline int kp_of(const Args& a) { return (k_of(a) + 7) / 8 * 8; }
// Elements of the workspace buffers: patches (enough for v2 and v3), conv (v2).
inline size_t patches_workspace(const Args& a) {
  return (static_cast<size_t>(a.crops) * static_cast<size_t>(patches_of(a)) + static_cast<size_t>(a.D)) *
         static_cast<size_t>(kp_of(a));
}
inline size_t conv_workspace(const Args& a) {
  return static_cast<size_t>(a.crops) * static_cast<size_t>(patches_of(a)) * static_cast<size_t>(a.D);
}

// Throws std::invalid_argument naming the bad field: crops >= 0, C > 0, p > 0, S > 0 a multiple of p, D > 0.
inline void check_args(const Args& a) {
  const std::string shape = " (crops=" + std::to_string(a.crops) + " C=" + std::to_string(a.C) + " S=" +
                            std::to_string(a.S) + " p=" + std::to_string(a.p) + " D=" + std::to_string(a.D) + ")";
  if (a.crops < 0) throw std::invalid_argument("patch_embed: crops must be >= 0" + shape);
  if (a.C <= 0) throw std::invalid_argument("patch_embed: channels C must be > 0" + shape);
  if (a.p <= 0) throw std::invalid_argument("patch_embed: patch size p must be > 0" + shape);
  if (a.S <= 0 || a.S % a.p != 0)
    throw std::invalid_argument("patch_embed: image size S must be a positive multiple of the patch size p" + shape);
  if (a.D <= 0) throw std::invalid_argument("patch_embed: hidden size D must be > 0" + shape);
}

}  // namespace mm::patch_embed

#define MM_PATCH_EMBED_DECLARE_RUNNERS(ns)                                                                     \
  MM_DECLARE_STEM_RUNNERS(patch_embed, ns,                                                                   \
  /* v1 direct convolution, one thread per output element; v2 im2col + the shared GEMM + an epilogue */      \
  /* (needs Args::patches and Args::conv); v3 im2col + the tensor-core GEMM with the CLS / position */        \
  /* epilogue fused (needs Args::patches and D % 8 == 0). Every version takes crops >= 0, S % p == 0, D > 0 */ \
  const std::vector<Version>& versions();                                                                    \
  /* out [crops * (N + 1), D] from pixels [crops, C, S, S], w [D, C p p], cls [D], pos [N + 1, D] */          \
  std::vector<uint16_t> run(const Version& v, const std::vector<float>& pixels, const std::vector<uint16_t>& w, \
                            const std::vector<uint16_t>& cls, const std::vector<uint16_t>& pos, int crops, int C, \
                            int S, int p, int D);                                                            \
  )

#if defined(__CUDACC__) || defined(MM_PATCH_EMBED_DECLARE_CUDA)
MM_PATCH_EMBED_DECLARE_RUNNERS(backend_cuda)
#endif
