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

namespace mm::embedding {
inline namespace MM_BACKEND_NS {

namespace detail {
inline bool supports(const Args& a) { return a.tokens >= 0 && a.H > 0 && a.vocab > 0; }
inline void launch_v1(const Args& a, mm::gpu::Stream stream) {
  if (a.tokens == 0) return;
  const size_t n = static_cast<size_t>(a.tokens) * a.H;
  mm::gpu::launch(mm::gpu::embedding::gather_v1_kernel, dim3(static_cast<unsigned>((n + 255) / 256)), dim3(256), 0,
                  stream, reinterpret_cast<const __nv_bfloat16*>(a.table), a.ids,
                  reinterpret_cast<__nv_bfloat16*>(a.out), a.tokens, a.H, a.vocab, a.bad);
}
inline void launch_v2(const Args& a, mm::gpu::Stream stream) {
  if (a.tokens == 0) return;
  namespace k = mm::gpu::embedding;
  const auto* tb = reinterpret_cast<const __nv_bfloat16*>(a.table);
  auto* ob = reinterpret_cast<__nv_bfloat16*>(a.out);
  const bool vec = a.H % 8 == 0 && reinterpret_cast<uintptr_t>(a.table) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(a.out) % 16 == 0;
  const dim3 grid(static_cast<unsigned>(a.tokens)), block(128);
  if (vec)
    mm::gpu::launch(k::gather_v2_kernel<true>, grid, block, 0, stream, tb, a.ids, ob, a.H, a.vocab, a.bad);
  else
    mm::gpu::launch(k::gather_v2_kernel<false>, grid, block, 0, stream, tb, a.ids, ob, a.H, a.vocab, a.bad);
}
}  // namespace detail

MM_EMBEDDING_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_element", &detail::launch_v1, &detail::supports},
      {"v2_block_per_token_vec16", &detail::launch_v2, &detail::supports},
  };
  return v;
}

MM_EMBEDDING_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_EMBEDDING_RUNNER std::vector<uint16_t> run_unchecked(const Version& v, const std::vector<uint16_t>& table,
                                                        int vocab, int H, const std::vector<int>& ids,
                                                        int* first_bad) {
  if (table.size() != static_cast<size_t>(vocab) * H) throw std::invalid_argument("embedding: table size");
  mm::gpu::DeviceBuffer<uint16_t> dt(table), dout(ids.size() * static_cast<size_t>(H));
  mm::gpu::device_memset(dout.data(), 0xFF, dout.size() * sizeof(uint16_t));
  mm::gpu::DeviceBuffer<int> dids(ids), dbad(std::vector<int>{INT_MAX});
  Args a;
  a.table = dt.data(); a.ids = dids.data(); a.out = dout.data(); a.bad = dbad.data();
  a.tokens = static_cast<int>(ids.size()); a.H = H; a.vocab = vocab;
  mm::gpu::launch_checked(v, a, nullptr, "embedding");
  mm::gpu::synchronize();
  if (first_bad) *first_bad = dbad.download()[0];
  return dout.download();
}

MM_EMBEDDING_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& table, int vocab, int H,
                                              const std::vector<int>& ids) {
  for (size_t t = 0; t < ids.size(); ++t)
    mm::require(ids[t] >= 0 && ids[t] < vocab, "embedding: token id " + std::to_string(ids[t]) + " at position " +
                                                   std::to_string(t) + " is outside the vocabulary [0, " +
                                                   std::to_string(vocab) + ")");
  return MM_BACKEND_NS::run_unchecked(v, table, vocab, H, ids, nullptr);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::embedding
