// Host-side entry points of the proof kernels, with plain types only (bf16 as raw uint16_t bits) so
// that a program can declare both builds' versions side by side: the emulator's (backend_simt,
// defined by including runners.cuh in a host-compiled TU) and the GPU's (backend_cuda, compiled by
// nvcc in proof_kernels.cu). The emulator-vs-hardware test calls both.
#pragma once
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

#define MM_PROOF_DECLARE_RUNNERS(ns)                                                                    \
  MM_DECLARE_STEM_RUNNERS(proof, ns,                                                                    \
  /* out[r] = sum of row r of x[rows, n] */                                                            \
  std::vector<float> run_row_sum(const std::vector<float>& x, int rows, int n);                        \
  /* C[m,n] = A[m,k] * B[n,k]^T; bf16 bits in, f32 out */                                             \
  std::vector<float> run_gemm_bf16(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b, int m, \
                                   int n, int k);                                                      \
  /* out[i] = 2 * in[neighbour of i within its block of `threads`] */                                  \
  std::vector<float> run_neighbour(const std::vector<float>& in, int threads, bool with_barrier);      \
  )

#if defined(__CUDACC__) || defined(MM_PROOF_DECLARE_CUDA)
MM_PROOF_DECLARE_RUNNERS(backend_cuda)
#endif
