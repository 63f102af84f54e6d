// Definitions of the embedding runners (embedding_runner.h) for whichever build includes this file.
#pragma once
#include <climits>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/embedding/embedding.cuh"
#include "optimized/embedding/embedding_runner.h"

MM_EMBEDDING_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_EMBEDDING_RUNNER inline
#else
#define MM_EMBEDDING_RUNNER
#endif

namespace mm::embedding_gpu {
inline namespace MM_BACKEND_NS {

namespace detail {
inline const char* const kNames[] = {"v1_thread_per_element", "v2_block_per_token_vec16"};
}

MM_EMBEDDING_RUNNER int num_versions() { return 2; }
MM_EMBEDDING_RUNNER const char* version_name(int version) {
  if (version < 0 || version >= num_versions()) throw std::invalid_argument("embedding: unknown version");
  return detail::kNames[version];
}
MM_EMBEDDING_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_EMBEDDING_RUNNER void launch_embedding(int version, const uint16_t* table, const int* ids, uint16_t* out,
                                          int tokens, int H, int vocab, int* bad, cudaStream_t stream) {
  if (tokens < 0 || H <= 0 || vocab <= 0) throw std::invalid_argument("embedding: bad shape");
  if (tokens == 0) return;
  namespace k = mm::gpu::embedding;
  const auto* tb = reinterpret_cast<const __nv_bfloat16*>(table);
  auto* ob = reinterpret_cast<__nv_bfloat16*>(out);
  if (version == 0) {
    const size_t n = static_cast<size_t>(tokens) * H;
    mm::gpu::launch(k::gather_v1_kernel, dim3(static_cast<unsigned>((n + 255) / 256)), dim3(256), 0, stream, tb, ids,
                    ob, tokens, H, vocab, bad);
  } else if (version == 1) {
    const bool vec = H % 8 == 0 && reinterpret_cast<uintptr_t>(table) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(out) % 16 == 0;
    if (vec)
      mm::gpu::launch(k::gather_v2_kernel<true>, dim3(static_cast<unsigned>(tokens)), dim3(128), 0, stream, tb, ids,
                      ob, H, vocab, bad);
    else
      mm::gpu::launch(k::gather_v2_kernel<false>, dim3(static_cast<unsigned>(tokens)), dim3(128), 0, stream, tb, ids,
                      ob, H, vocab, bad);
  } else {
    throw std::invalid_argument("embedding: unknown version " + std::to_string(version));
  }
}

MM_EMBEDDING_RUNNER std::vector<uint16_t> run_embedding_unchecked(int version, const std::vector<uint16_t>& table,
                                                                  int vocab, int H, const std::vector<int>& ids,
                                                                  int* first_bad) {
  if (table.size() != static_cast<size_t>(vocab) * H) throw std::invalid_argument("embedding: table size");
  mm::gpu::DeviceBuffer<uint16_t> dt(table), dout(ids.size() * static_cast<size_t>(H));
  mm::gpu::device_memset(dout.data(), 0xFF, dout.size() * sizeof(uint16_t));
  mm::gpu::DeviceBuffer<int> dids(ids), dbad(std::vector<int>{INT_MAX});
  launch_embedding(version, dt.data(), dids.data(), dout.data(), static_cast<int>(ids.size()), H, vocab, dbad.data(),
                   nullptr);
  mm::gpu::synchronize();
  if (first_bad) *first_bad = dbad.download()[0];
  return dout.download();
}

MM_EMBEDDING_RUNNER std::vector<uint16_t> run_embedding(int version, const std::vector<uint16_t>& table, int vocab,
                                                        int H, const std::vector<int>& ids) {
  for (size_t t = 0; t < ids.size(); ++t)
    mm::require(ids[t] >= 0 && ids[t] < vocab, "embedding: token id " + std::to_string(ids[t]) + " at position " +
                                                   std::to_string(t) + " is outside the vocabulary [0, " +
                                                   std::to_string(vocab) + ")");
  return run_embedding_unchecked(version, table, vocab, H, ids, nullptr);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::embedding_gpu
