// Host entry points of the vision attention core kernels (vision_attention.cuh) with plain types only
// (bf16 as raw uint16_t bits), declared for the emulator build (backend_simt, header-inline from
// vision_attention_runner.cuh) and, when a program links the nvcc build, for backend_cuda
// (vision_attention.cu). The stem convention (docs/architecture.md, "Kernel stems: one convention"): one
// Args struct and one version table (optimized/common/version_table.h), the entry verb is a table entry's
// `launch(args, stream)`, and `run` is the host round trip (allocate, upload, poison the output, launch,
// download) the tests use.
#pragma once
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::vision_attention {

// Head dims: v1 takes every d in [1, kMaxHeadDimV1] (its per-thread arrays are sized for the largest);
// the tensor-core version 32, 64 (the CLIP tower's: hidden 1024 / 16 heads) and 128 (mma k = 16 over d,
// 16-byte cp.async rows).
inline constexpr int kMaxHeadDimV1 = 256;
inline constexpr bool head_dim_v1(int d) { return d >= 1 && d <= kMaxHeadDimV1; }
inline constexpr bool head_dim_tensor_core(int d) { return d == 32 || d == 64 || d == 128; }

// o = per head softmax(scale * q_h k_h^T) v_h within each crop (no mask inside a crop, nothing across
// crops). Device pointers.
struct Args {
  const uint16_t *q = nullptr, *k = nullptr, *v = nullptr;  // [total_rows, n_heads d] bf16, crops packed
  uint16_t* o = nullptr;                                     // [total_rows, n_heads d] bf16
  const int* offsets = nullptr;  // [n_crops + 1] device ints: crop c = rows [offsets[c], offsets[c+1])
  int n_crops = 0, n_heads = 0, d = 0;
  // Host-side sizes for the grid (the offsets live on the device): total_rows = offsets[n_crops],
  // max_len >= every crop's length (as flash_attn_varlen_func's max_seqlen).
  int total_rows = 0, max_len = 0;
  float scale = 0.0f;  // 1/sqrt(d) in the model
  // Row stride of q, k and v in elements: 0 means n_heads d (three packed tensors); 3 n_heads d reads them
  // as the column blocks of one fused q|k|v projection output (k = q + n_heads d, v = q + 2 n_heads d).
  // o is always packed [total_rows, n_heads d].
  int ld_qkv = 0;
};
// The row stride of q, k and v that `a` means (ld_qkv, or n_heads d when 0).
inline int qkv_stride(const Args& a) { return a.ld_qkv != 0 ? a.ld_qkv : a.n_heads * a.d; }

using Version = mm::gpu::KernelVersion<Args>;

}  // namespace mm::vision_attention

#define MM_VISION_ATTENTION_DECLARE_RUNNERS(ns)                                                              \
  MM_DECLARE_STEM_RUNNERS(vision_attention, ns,                                                              \
  /* v1 thread per (query row, head), d 1..256; v2 FA2 on mma.sync, 4 warps, d 32/64/128.                */ \
  /* supports(): the head dim and n_heads, n_crops >= 0; launch checks nothing else.                     */ \
  const std::vector<Version>& versions();                                                                    \
  /* Host round trip: q/k/v [offsets.back(), n_heads d] bf16 bits, offsets [n_crops + 1] (host) -> o.    */ \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& q, const std::vector<uint16_t>& k, \
                            const std::vector<uint16_t>& v_in, const std::vector<int>& offsets, int n_heads,  \
                            int d, float scale);                                                             \
  /* The same from one fused projection output qkv [offsets.back(), 3 n_heads d] (q | k | v column        */ \
  /* blocks; ld_qkv = 3 n_heads d).                                                                       */ \
  std::vector<uint16_t> run_fused_qkv(const Version& v, const std::vector<uint16_t>& qkv,                     \
                                      const std::vector<int>& offsets, int n_heads, int d, float scale);     \
  )

#if defined(__CUDACC__) || defined(MM_VISION_ATTENTION_DECLARE_CUDA)
MM_VISION_ATTENTION_DECLARE_RUNNERS(backend_cuda)
#endif
