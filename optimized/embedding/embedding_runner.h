// Host entry points of the embedding gather (plain types; bf16 as uint16_t bits), declared for
// backend_simt (header-inline, embedding_runner.cuh) and, when linked, backend_cuda (embedding.cu).
#pragma once
#include <cstdint>
#include <vector>

#include <driver_types.h>

#define MM_EMBEDDING_DECLARE_RUNNERS(ns)                                                                     \
  namespace mm::embedding_gpu {                                                                             \
  inline namespace ns {                                                                                     \
  int num_versions();                                                                                       \
  const char* version_name(int version);                                                                    \
  bool device_present();                                                                                    \
  /* out[t, :] = table[ids[t], :]; ids outside [0, vocab) give a zero row and atomicMin(bad, t) */          \
  void launch_embedding(int version, const uint16_t* table, const int* ids, uint16_t* out, int tokens, int H,  \
                        int vocab, int* bad, cudaStream_t stream);                                          \
  /* validates the ids (mm::Error naming the id and its position), then gathers */                          \
  std::vector<uint16_t> run_embedding(int version, const std::vector<uint16_t>& table, int vocab, int H,     \
                                      const std::vector<int>& ids);                                         \
  /* no host validation: returns the output and the kernel's first bad position (INT32_MAX if none) */      \
  std::vector<uint16_t> run_embedding_unchecked(int version, const std::vector<uint16_t>& table, int vocab,   \
                                                int H, const std::vector<int>& ids, int* first_bad);        \
  }                                                                                                         \
  }

#if defined(__CUDACC__) || defined(MM_EMBEDDING_DECLARE_CUDA)
MM_EMBEDDING_DECLARE_RUNNERS(backend_cuda)
#endif
