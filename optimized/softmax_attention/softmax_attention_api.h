// Host entry points of the softmax-attention kernels with plain types only (bf16 as raw uint16_t bits),
// so that one program can declare both builds side by side: the emulator's (backend_simt, header-inline
// in softmax_attention_runner.cuh) and the GPU's (backend_cuda, compiled by nvcc in softmax_attention.cu).
// The stem convention (docs/architecture.md, "Kernel stems: one convention"): one Args struct and one
// version table per op (optimized/common/version_table.h: rope_append, prefill, decode), the entry verb
// is a table entry's `launch(args, stream)`, and run_*_layer are the host round trips the tests use.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::softmax_attention {

struct AttnShape {
  int n_h = 64, n_kv = 8, d = 128, rd = 64;  // heads, kv heads, head dim (1..kMaxHeadDimV1), rotary dim
  double theta = 1e7;
};

// Head dims. v1 (plain fp32 loops, D a run-time argument; its per-thread and shared arrays are sized
// for the largest) takes every d in [1, kMaxHeadDimV1]: Text-01 uses 128, the golden cases 16 and 24, the
// test presets 32 and 64, other checkpoints whatever they declare. The tensor-core versions take 32, 64
// and 128 only (mma k = 16 over D, 16-byte cp.async rows, tiles sized for those). The RoPE + append
// kernel takes any d of v1 (rd <= d, so rd / 2 <= kMaxHeadDimV1 / 2 = its cos/sin table).
inline constexpr int kMaxHeadDimV1 = 256;
inline constexpr bool head_dim_v1(int d) { return d >= 1 && d <= kMaxHeadDimV1; }
inline constexpr bool head_dim_tensor_core(int d) { return d == 32 || d == 64 || d == 128; }

// RoPE on q and k (first rd dims of each head) and the append of k, v to the caches. Device pointers.
struct RopeAppendArgs {
  AttnShape sh;
  const uint16_t *q = nullptr, *k = nullptr, *v = nullptr;  // [rows, n_h d], [rows, n_kv d] x2, pre-RoPE
  uint16_t* q_rot = nullptr;                                 // [rows, n_h d]
  uint16_t *k_cache = nullptr, *v_cache = nullptr;           // [seqs, capacity, n_kv d]
  const int* past = nullptr;       // [seqs] valid cache rows before this step (row r goes to past[r / rows_per_seq] + r % rows_per_seq)
  const float* inv_freq = nullptr;  // [rd / 2] fp32
  int rows = 0, rows_per_seq = 0, capacity = 0;
};

// Causal attention of one sequence's T new queries over past + T cached keys. Device pointers.
struct PrefillArgs {
  AttnShape sh;
  const uint16_t* q_rot = nullptr;                            // [T, n_h d] post-RoPE
  const uint16_t *k_cache = nullptr, *v_cache = nullptr;      // [capacity, n_kv d], rows [0, past + T) valid
  uint16_t* o = nullptr;                                      // [T, n_h d]
  int T = 0, past = 0;
};

// One query per sequence over lens[b] cached keys (B sequences). Device pointers.
struct DecodeArgs {
  AttnShape sh;
  const uint16_t* q_rot = nullptr;                            // [B, n_h d] post-RoPE
  const uint16_t *k_cache = nullptr, *v_cache = nullptr;      // [B, capacity, n_kv d]
  const int* lens = nullptr;                                  // [B] keys to attend (past + 1)
  uint16_t* o = nullptr;                                      // [B, n_h d]
  int B = 0, capacity = 0, max_len = 0;                       // max_len >= every lens[b]
  int split_size = 0;                                         // v2: multiple of 64, 0 = auto_split_size
  float* workspace = nullptr;                                 // decode_workspace_floats(version, args) floats
};

using RopeAppendVersion = mm::gpu::KernelVersion<RopeAppendArgs>;
using PrefillVersion = mm::gpu::KernelVersion<PrefillArgs>;
using DecodeVersion = mm::gpu::KernelVersion<DecodeArgs>;

// Layer-core results: the attention output [rows, n_h*d] and the caches after the append.
struct LayerResult {
  std::vector<uint16_t> o, k_cache, v_cache, q_rot;
};

}  // namespace mm::softmax_attention

#define MM_SOFTMAX_ATTENTION_DECLARE_RUNNERS(ns)                                                                   \
  MM_DECLARE_STEM_RUNNERS(softmax_attention, ns,                                                                   \
  /* Tables, v1 first. prefill: v1 thread per query (head dim 1..256), v2/v3 FA2 mma with 4/8 warps         */ \
  /* (d 32/64/128); decode: v1 block per head, v2 split-KV mma (d 32/64/128, GQA group <= 16); rope_append: */ \
  /* one version. supports(): the head dim and, for decode v2, the GQA group; launch checks the rest.       */ \
  const std::vector<RopeAppendVersion>& rope_append_versions();                                                   \
  const std::vector<PrefillVersion>& prefill_versions();                                                          \
  const std::vector<DecodeVersion>& decode_versions();                                                            \
  /* Prefill of one sequence: q [T, n_h d], k/v [T, n_kv d] (pre-RoPE), caches [capacity, n_kv d] holding     */ \
  /* `past` valid rows. RoPE + append, then causal attention with prefill version `v`.                        */ \
  LayerResult run_prefill_layer(const PrefillVersion& v, const AttnShape& sh, const std::vector<uint16_t>& q,      \
                                const std::vector<uint16_t>& k, const std::vector<uint16_t>& v_new,                \
                                const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache, int T,  \
                                int past, int capacity);                                                           \
  /* Decode step of B sequences: q [B, n_h d], k/v [B, n_kv d], caches [B, capacity, n_kv d], past[b] valid   */ \
  /* rows each; the new token goes to row past[b]. split_size (multiple of 64) is used by v2; 0 = auto.     */ \
  LayerResult run_decode_layer(const DecodeVersion& v, const AttnShape& sh, const std::vector<uint16_t>& q,        \
                               const std::vector<uint16_t>& k, const std::vector<uint16_t>& v_new,                 \
                               const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,          \
                               const std::vector<int>& past, int capacity, int split_size);                       \
  /* The decode workspace `v` needs for `a` (its sh, B, capacity, max_len, split_size), in floats.           */ \
  std::size_t decode_workspace_floats(const DecodeVersion& v, const DecodeArgs& a);                              \
  /* The split size v2 picks when given 0: about 16 blocks per SM over B * n_kv * splits blocks (>= 256).  */ \
  int auto_split_size(const AttnShape& sh, int B, int max_len);                                                   \
  /* C[m,n] f32 = A[m,k] B[n,k]^T through optimized/common/gemm.h (cuBLAS on the GPU): the bench's yardstick. */ \
  void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b, float* c); \
  )

#if defined(__CUDACC__) || defined(MM_SOFTMAX_ATTENTION_DECLARE_CUDA)
MM_SOFTMAX_ATTENTION_DECLARE_RUNNERS(backend_cuda)
#endif
