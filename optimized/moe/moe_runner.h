// Host entry points of the MoE kernels with plain types only (bf16 as raw uint16_t bits, device
// pointers as typed raw pointers), so that a program can declare both builds' versions side by side: the
// emulator's (backend_simt, header-inline from moe_runner.cuh) and the GPU's (backend_cuda, compiled by
// nvcc in moe.cu). The stem convention (docs/architecture.md, "Kernel stems: one convention"): one Args
// struct and one version table per step (optimized/common/version_table.h: router, permute, gather,
// grouped FFN, combine), the entry verb is a table entry's `launch(args, stream)`; the run_* host round
// trips are what the tests call.
#pragma once
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::moe {

// Device-pointer arguments of the steps (n = T*k assignment rows).
struct RouterArgs {  // logits fp32 [T,E] (bf16-rounded inside) -> ids [T,k], weights bf16 [T,k]
  const float* logits = nullptr;
  int T = 0, E = 0, k = 0;
  int* ids = nullptr;
  uint16_t* weights = nullptr;
};
struct PermuteArgs {  // ids [T,k] -> counts [E], offsets [E+1], perm_token [n], inv_row [n]
  const int* ids = nullptr;
  int T = 0, E = 0, k = 0;
  int *counts = nullptr, *offsets = nullptr, *perm_token = nullptr, *inv_row = nullptr;
};
struct GatherArgs {  // xperm[r, :] = x[perm_token[r], :], x [T,H], xperm [n,H]
  const uint16_t* x = nullptr;
  const int* perm_token = nullptr;
  int n = 0, H = 0;
  uint16_t* xperm = nullptr;
};
struct GroupedFfnArgs {  // ye [n,H] = per expert e: (silu(xperm w1_e^T) * (xperm w3_e^T)) w2_e^T over its rows
  const uint16_t* xperm = nullptr;  // [n,H] rows grouped by expert
  const int* offsets = nullptr;     // [E+1] on the device
  int n = 0, E = 0, H = 0, I = 0;
  const uint16_t *w1 = nullptr, *w3 = nullptr, *w2 = nullptr;  // [E,I,H], [E,I,H], [E,H,I]
  uint16_t* h = nullptr;   // [n,I] scratch
  uint16_t* ye = nullptr;  // [n,H]
};
struct CombineArgs {  // y [T,H] = sum_j bf16 weights[t,j] * ye[inv_row[t*k+j]] in ascending expert order
  const uint16_t* ye = nullptr;
  const int* ids = nullptr;
  const uint16_t* weights = nullptr;
  const int* inv_row = nullptr;
  int T = 0, k = 0, H = 0;
  uint16_t* y = nullptr;
};
using RouterVersion = mm::gpu::KernelVersion<RouterArgs>;
using PermuteVersion = mm::gpu::KernelVersion<PermuteArgs>;
using GatherVersion = mm::gpu::KernelVersion<GatherArgs>;
using GroupedFfnVersion = mm::gpu::KernelVersion<GroupedFfnArgs>;
using CombineVersion = mm::gpu::KernelVersion<CombineArgs>;

// The stable permutation of the T*k assignments by expert.
struct Permutation {
  std::vector<int> counts;      // [E]
  std::vector<int> offsets;     // [E+1], exclusive prefix sum of counts
  std::vector<int> perm_token;  // [T*k] token of each permuted row
  std::vector<int> inv_row;     // [T*k] permuted row of assignment t*k+j
};

}  // namespace mm::moe

#define MM_MOE_DECLARE_RUNNERS(ns)                                                                              \
  MM_DECLARE_STEM_RUNNERS(moe, ns,                                                                              \
  /* logits fp32 [T,E] (bf16-rounded inside) -> ids [T,k], weights bf16 bits [T,k] */                          \
  void run_router(const std::vector<float>& logits, int T, int E, int k, std::vector<int>& ids,                \
                  std::vector<uint16_t>& weights);                                                             \
  Permutation run_permute(const std::vector<int>& ids, int T, int E, int k);                                   \
  /* xperm [n,H] permuted rows, counts [E]; w1,w3 [E,I,H], w2 [E,H,I] -> y_e rows [n,H] (bf16 bits) */         \
  std::vector<uint16_t> run_grouped_ffn(const GroupedFfnVersion& v, const std::vector<uint16_t>& xperm,                      \
                                        const std::vector<int>& counts, const std::vector<uint16_t>& w1,       \
                                        const std::vector<uint16_t>& w3, const std::vector<uint16_t>& w2, int E, \
                                        int H, int I);                                                         \
  /* the whole block: x [T,H], gate [E,H] -> y [T,H]; ids/weights (optional) receive the routing */           \
  std::vector<uint16_t> run_moe(const GroupedFfnVersion& v, const std::vector<uint16_t>& x, const std::vector<uint16_t>& gate, \
                                const std::vector<uint16_t>& w1, const std::vector<uint16_t>& w3,              \
                                const std::vector<uint16_t>& w2, int T, int E, int H, int I, int k,            \
                                std::vector<int>* ids);                                                        \
  /* Tables. grouped FFN: v1 thread per output, v2_bm128 / v2_bm64 / v2_bm32 tensor-core tiles, v2 (tile   */ \
  /* height from the mean rows per expert); the other steps have one version each.                         */ \
  const std::vector<RouterVersion>& router_versions();                                                         \
  const std::vector<PermuteVersion>& permute_versions();                                                       \
  const std::vector<GatherVersion>& gather_versions();                                                         \
  const std::vector<GroupedFfnVersion>& grouped_ffn_versions();                                                \
  const std::vector<CombineVersion>& combine_versions();                                                       \
  /* the dense projection through optimized/common/gemm.h: c[m,n] f32 = a[m,k] b[n,k]^T */                    \
  void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b, float* c); \
  )

#if defined(__CUDACC__) || defined(MM_MOE_DECLARE_CUDA)
MM_MOE_DECLARE_RUNNERS(backend_cuda)
#endif
