// Host entry points of the MoE kernels with plain types only (bf16 as raw uint16_t bits, device
// pointers as typed raw pointers, streams as void*), so that a program can declare both builds' versions
// side by side: the emulator's (backend_simt, header-inline from moe_runner.cuh) and the GPU's
// (backend_cuda, compiled by nvcc in moe.cu). Tests call the host-vector runners; the benchmark calls
// the device-pointer ones (dev_*).
#pragma once
#include <cstdint>
#include <vector>

namespace mm::moe {

// Versions of the grouped expert FFN (the table the tests and benchmarks loop over).
enum class FfnVersion : int {
  v1 = 0,        // one thread per output element
  v2_bm128 = 1,  // tensor-core grouped GEMM, 128x128 tiles, 64x64 warp tiles (prefill)
  v2_bm64 = 2,   // 64x128 tiles, 64x32 warp tiles
  v2_bm32 = 3,   // 32x64 tiles (decode: few rows per expert, more CTAs for the weight stream)
  v2 = 4,        // tensor cores, tile height chosen from the mean rows per expert
};
struct FfnVersionInfo {
  const char* name;
  FfnVersion id;
};
inline constexpr FfnVersionInfo kFfnVersions[] = {
    {"v1", FfnVersion::v1}, {"v2_bm128", FfnVersion::v2_bm128}, {"v2_bm64", FfnVersion::v2_bm64},
    {"v2_bm32", FfnVersion::v2_bm32}, {"v2", FfnVersion::v2}};

// The stable permutation of the T*k assignments by expert.
struct Permutation {
  std::vector<int> counts;      // [E]
  std::vector<int> offsets;     // [E+1], exclusive prefix sum of counts
  std::vector<int> perm_token;  // [T*k] token of each permuted row
  std::vector<int> inv_row;     // [T*k] permuted row of assignment t*k+j
};

}  // namespace mm::moe

#define MM_MOE_DECLARE_RUNNERS(ns)                                                                              \
  namespace mm::moe {                                                                                          \
  inline namespace ns {                                                                                        \
  bool device_present();                                                                                       \
  /* logits fp32 [T,E] (bf16-rounded inside) -> ids [T,k], weights bf16 bits [T,k] */                          \
  void run_router(const std::vector<float>& logits, int T, int E, int k, std::vector<int>& ids,                \
                  std::vector<uint16_t>& weights);                                                             \
  Permutation run_permute(const std::vector<int>& ids, int T, int E, int k);                                   \
  /* xperm [n,H] permuted rows, counts [E]; w1,w3 [E,I,H], w2 [E,H,I] -> y_e rows [n,H] (bf16 bits) */         \
  std::vector<uint16_t> run_grouped_ffn(FfnVersion v, const std::vector<uint16_t>& xperm,                      \
                                        const std::vector<int>& counts, const std::vector<uint16_t>& w1,       \
                                        const std::vector<uint16_t>& w3, const std::vector<uint16_t>& w2, int E, \
                                        int H, int I);                                                         \
  /* the whole block: x [T,H], gate [E,H] -> y [T,H]; ids/weights (optional) receive the routing */           \
  std::vector<uint16_t> run_moe(FfnVersion v, const std::vector<uint16_t>& x, const std::vector<uint16_t>& gate, \
                                const std::vector<uint16_t>& w1, const std::vector<uint16_t>& w3,              \
                                const std::vector<uint16_t>& w2, int T, int E, int H, int I, int k,            \
                                std::vector<int>* ids);                                                        \
  /* device-pointer steps (benchmarks); stream = cudaStream_t or nullptr */                                    \
  void dev_router(const float* logits, int T, int E, int k, int* ids, uint16_t* weights, void* stream);        \
  void dev_permute(const int* ids, int T, int E, int k, int* counts, int* offsets, int* perm_token,            \
                   int* inv_row, void* stream);                                                                \
  void dev_gather(const uint16_t* x, const int* perm_token, int n, int H, uint16_t* xperm, void* stream);      \
  /* h: [n,I] scratch; n = T*k rows; offsets [E+1] on the device */                                           \
  void dev_grouped_ffn(FfnVersion v, const uint16_t* xperm, const int* offsets, int n, int E, int H, int I,    \
                       const uint16_t* w1, const uint16_t* w3, const uint16_t* w2, uint16_t* h, uint16_t* ye,  \
                       void* stream);                                                                          \
  void dev_combine(const uint16_t* ye, const int* ids, const uint16_t* weights, const int* inv_row, int T,      \
                   int k, int H, uint16_t* y, void* stream);                                                   \
  /* the dense projection through optimized/common/gemm.h: c[m,n] f32 = a[m,k] b[n,k]^T */                    \
  void dev_gemm_bf16(const uint16_t* a, const uint16_t* b, float* c, int m, int n, int k, void* stream);        \
  }                                                                                                            \
  }

#if defined(__CUDACC__) || defined(MM_MOE_DECLARE_CUDA)
MM_MOE_DECLARE_RUNNERS(backend_cuda)
#endif
