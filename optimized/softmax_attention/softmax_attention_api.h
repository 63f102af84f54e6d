// Host entry points of the softmax-attention kernels with plain types only (bf16 as raw uint16_t bits,
// streams as void*), so that one program can declare both builds side by side: the emulator's
// (backend_simt, header-inline in softmax_attention_runner.cuh) and the GPU's (backend_cuda, compiled
// by nvcc in softmax_attention.cu). Tests call both; the benchmark calls the enqueue_* functions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mm::softmax_attention {

struct AttnShape {
  int n_h = 64, n_kv = 8, d = 128, rd = 64;  // heads, kv heads, head dim (head_dim_known), rotary dim
  double theta = 1e7;
};

// Version tables (index = the `version` argument). v1: simple and obviously right; v2/v3: the fast ones
// (prefill v3 = v2 with 8 warps / 128 query rows per block).
inline constexpr const char* kPrefillVersions[] = {"prefill_v1_thread_per_query", "prefill_v2_fa2_mma",
                                                   "prefill_v3_fa2_mma_8warps"};
inline constexpr const char* kDecodeVersions[] = {"decode_v1_block_per_head", "decode_v2_split_kv_mma"};
inline constexpr int kNumPrefillVersions = 3, kNumDecodeVersions = 2;

// Head dims with kernels (16, 24, 32, 64, 128). Text-01 uses 128; 16 and 24 are the golden cases' (golden/cases), 32 and 64 the
// test presets'. v1 (plain fp32 loops, any D) takes them all; the tensor-core versions take 32, 64 and
// 128 (mma k = 16 over D, 16-byte cp.async rows, tiles sized for those).
inline constexpr bool head_dim_known(int d) { return d == 16 || d == 24 || d == 32 || d == 64 || d == 128; }
inline constexpr bool prefill_supports(int version, int d) {
  return head_dim_known(d) && (version == 0 || d == 32 || d == 64 || d == 128);
}
inline constexpr bool decode_supports(int version, int d) { return prefill_supports(version, d); }

// Layer-core results: the attention output [rows, n_h*d] and the caches after the append.
struct LayerResult {
  std::vector<uint16_t> o, k_cache, v_cache, q_rot;
};

}  // namespace mm::softmax_attention

#define MM_SOFTMAX_ATTENTION_DECLARE_RUNNERS(ns)                                                                   \
  namespace mm::softmax_attention {                                                                               \
  inline namespace ns {                                                                                           \
  bool device_present();                                                                                          \
  /* Prefill of one sequence: q [T, n_h d], k/v [T, n_kv d] (pre-RoPE), caches [capacity, n_kv d] holding     */ \
  /* `past` valid rows. RoPE + append, then causal attention with prefill version `version`.                 */ \
  LayerResult run_prefill_layer(int version, const AttnShape& sh, const std::vector<uint16_t>& q,                  \
                                const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,                    \
                                const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache, int T,  \
                                int past, int capacity);                                                           \
  /* Decode step of B sequences: q [B, n_h d], k/v [B, n_kv d], caches [B, capacity, n_kv d], past[b] valid   */ \
  /* rows each; the new token goes to row past[b]. split_size (multiple of 64) is used by v2; 0 = auto.     */ \
  LayerResult run_decode_layer(int version, const AttnShape& sh, const std::vector<uint16_t>& q,                   \
                               const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,                     \
                               const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,          \
                               const std::vector<int>& past, int capacity, int split_size);                       \
  /* Device-pointer entry points (benchmarks). Pointers are device memory; bf16 as uint16_t.               */ \
  void enqueue_rope_append(void* stream, const AttnShape& sh, const uint16_t* q, const uint16_t* k,               \
                           const uint16_t* v, uint16_t* q_rot, uint16_t* k_cache, uint16_t* v_cache,               \
                           const int* past_dev, const float* inv_freq_dev, int rows, int rows_per_seq,             \
                           int capacity);                                                                         \
  void enqueue_prefill(int version, void* stream, const AttnShape& sh, const uint16_t* q_rot,                      \
                       const uint16_t* k_cache, const uint16_t* v_cache, uint16_t* o, int T, int past);            \
  /* lens_dev[b] = keys to attend (past + 1); max_len >= every lens; workspace: decode_workspace_floats.   */ \
  void enqueue_decode(int version, void* stream, const AttnShape& sh, const uint16_t* q_rot,                       \
                      const uint16_t* k_cache, const uint16_t* v_cache, const int* lens_dev, uint16_t* o, int B,    \
                      int capacity, int max_len, int split_size, float* workspace);                               \
  std::size_t decode_workspace_floats(int version, const AttnShape& sh, int B, int capacity, int max_len,          \
                                      int split_size);                                                             \
  /* The split size v2 picks when given 0: about 16 blocks per SM over B * n_kv * splits blocks (>= 256).  */ \
  int auto_split_size(const AttnShape& sh, int B, int max_len);                                                   \
  /* C[m,n] f32 = A[m,k] B[n,k]^T through optimized/common/gemm.h (cuBLAS on the GPU): the bench's yardstick. */ \
  void enqueue_gemm_bf16(void* stream, int m, int n, int k, const uint16_t* a, const uint16_t* b, float* c);      \
  }                                                                                                               \
  }

#if defined(__CUDACC__) || defined(MM_SOFTMAX_ATTENTION_DECLARE_CUDA)
MM_SOFTMAX_ATTENTION_DECLARE_RUNNERS(backend_cuda)
#endif
