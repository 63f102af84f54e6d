// Host-side entry points of the lightning-attention kernels (docs/semantics/text-01-model.md#lightning-attention),
// plain types only (bf16 as
// raw uint16_t bits) so that one program can declare both builds side by side: the emulator's
// (backend_simt, defined by including lightning_attention_runner.cuh in a host TU) and the GPU's
// (backend_cuda, compiled by nvcc in lightning_attention.cu).
//
// Layouts (per sequence n of a batch of nb, all sequences the same length T):
//   qkv   bf16, row t at qkv + n*seq_stride_qkv + t*ld_qkv; head h: columns h*3d + [0,d) q, [d,2d) k,
//         [2d,3d) v (the silu'ed fused projection, per-head interleaved)
//   s     fp32 [n_h] decay rates (lambda = exp(-s))
//   state fp32 [nb, n_h, d, d], rows = key dim, cols = value dim; read as S_{-1}, written as S_{T-1}
//   o     bf16, row t at o + n*seq_stride_o + t*ld_o; head h at columns h*d + [0,d)
// Decode is the same call with T = 1 (one token per sequence; seq strides step over the batch).
#pragma once
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::lightning {

struct Args {  // device pointers
  const uint16_t* qkv = nullptr;
  long long ld_qkv = 0, seq_stride_qkv = 0;  // elements
  const float* s = nullptr;
  float* state = nullptr;
  uint16_t* o = nullptr;
  long long ld_o = 0, seq_stride_o = 0;  // elements
  int nb = 1, T = 0, n_h = 0, d = 0;
  int block = 256;  // prefill block size B (the block algorithm's; v1 ignores it)
};

// The shape of `nb` dense sequences of T tokens: qkv [nb, T, 3 * n_h * d], o [nb, T, n_h * d] (pointers left
// unset).
inline Args dense_args(int nb, int T, int n_h, int d, int block) {
  Args a;
  a.nb = nb;
  a.T = T;
  a.n_h = n_h;
  a.d = d;
  a.block = block;
  a.ld_qkv = 3LL * n_h * d;
  a.seq_stride_qkv = a.ld_qkv * T;
  a.ld_o = 1LL * n_h * d;
  a.seq_stride_o = a.ld_o * T;
  return a;
}

// Version table entry (optimized/common/version_table.h): name, launch (device pointers, asynchronous on
// the stream; the entry verb), and which shapes it takes (d, block, ld_qkv; the caller checks first).
using Version = mm::gpu::KernelVersion<Args>;

}  // namespace mm::lightning

#define MM_LIGHTNING_DECLARE_RUNNERS(ns)                                                                        \
  MM_DECLARE_STEM_RUNNERS(lightning, ns,                                                                        \
  /* prefill versions: v1 token recurrence (d 1..256), v2 block SIMT fp32 (d % 32 == 0, <= 128), v3 block */    \
  /* mma.sync (d 64/128) */                                                                                     \
  const std::vector<Version>& prefill_versions();                                                               \
  /* decode versions (T = 1): v1 thread per state column (d 1..256), v2 vectorized and row-split (32/64/128) */ \
  const std::vector<Version>& decode_versions();                                                                \
  /* Host round trip: uploads, poisons o (all ones), launches, downloads o; state is updated in place. */      \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& qkv, const std::vector<float>& s,     \
                            std::vector<float>& state, int nb, int T, int n_h, int d, int block);               \
  /* C[m,n] f32 = A[m,k] B[n,k]^T, bf16 device pointers, through optimized/common/gemm.h (cuBLAS on the GPU): */ \
  /* the benchmark's same-FLOPs baseline */                                                                     \
  void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b, float* c);  \
  )

#if defined(__CUDACC__) || defined(MM_LIGHTNING_DECLARE_CUDA)
MM_LIGHTNING_DECLARE_RUNNERS(backend_cuda)
#endif
