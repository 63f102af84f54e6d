// Host entry points of the embedding gather (plain types; bf16 as uint16_t bits), declared for
// backend_simt (header-inline, embedding_runner.cuh) and, when linked, backend_cuda (embedding.cu).
// The stem convention (docs/architecture.md, "Kernel stems: one convention"): Args, the version table
// (optimized/common/version_table.h) whose entries' `launch(args, stream)` is the entry verb, and `run`,
// the host round trip the tests use.
#pragma once
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::embedding {

// out[t, :] = table[ids[t], :]; ids outside [0, vocab) give a zero row and atomicMin(bad, t) (bad may be
// null). Device pointers.
struct Args {
  const uint16_t* table = nullptr;  // [vocab, H] bf16
  const int* ids = nullptr;         // [tokens]
  uint16_t* out = nullptr;          // [tokens, H] bf16
  int tokens = 0, H = 0, vocab = 0;
  int* bad = nullptr;  // [1], first bad position (min), or null
};

using Version = mm::gpu::KernelVersion<Args>;

}  // namespace mm::embedding

#define MM_EMBEDDING_DECLARE_RUNNERS(ns)                                                                     \
  MM_DECLARE_STEM_RUNNERS(embedding, ns,                                                                     \
  /* v1 thread per element, v2 block per token (16-byte loads where H % 8 == 0 and aligned, else scalar); */ \
  /* both take every shape */                                                                               \
  const std::vector<Version>& versions();                                                                   \
  /* validates the ids (mm::Error naming the id and its position), then gathers */                          \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& table, int vocab, int H,          \
                            const std::vector<int>& ids);                                                   \
  /* no host validation: returns the output and the kernel's first bad position (INT32_MAX if none) */      \
  std::vector<uint16_t> run_unchecked(const Version& v, const std::vector<uint16_t>& table, int vocab, int H, \
                                      const std::vector<int>& ids, int* first_bad);                         \
  )

#if defined(__CUDACC__) || defined(MM_EMBEDDING_DECLARE_CUDA)
MM_EMBEDDING_DECLARE_RUNNERS(backend_cuda)
#endif
