// Definitions of the packing + splicing runners (vl_projector_runner.h) for whichever build includes this
// file, and the host-side launch of the kernels (vl_projector.cuh) by version.
#pragma once
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/vl_projector/vl_projector.cuh"
#include "optimized/vl_projector/vl_projector_runner.h"

MM_VL_PROJECTOR_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_VL_PROJECTOR_RUNNER inline
#else
#define MM_VL_PROJECTOR_RUNNER
#endif

namespace mm::vl_projector {
inline namespace MM_BACKEND_NS {

namespace detail {
constexpr int kV1Threads = 256;
constexpr int kV2RowsPerBlock = 8;  // one warp per row

inline const __nv_bfloat16* as_bf(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
inline __nv_bfloat16* as_bf(uint16_t* p) { return reinterpret_cast<__nv_bfloat16*>(p); }

// Every version takes every shape whose virtual source space [0, F + 1 + vocab) fits an int.
inline bool supports(const Args& a) {
  return a.rows >= 0 && a.Ht > 0 && a.feature_rows >= 0 && a.vocab >= 0 &&
         int64_t(a.feature_rows) + 1 + a.vocab <= INT_MAX;
}
inline void launch_v1(const Args& a, mm::gpu::Stream stream) {
  if (a.rows == 0) return;
  const size_t n = static_cast<size_t>(a.rows) * a.Ht;
  mm::gpu::launch(mm::gpu::vl_projector::splice_v1_kernel, dim3(static_cast<unsigned>((n + kV1Threads - 1) / kV1Threads)),
                  dim3(kV1Threads), 0, stream, as_bf(a.features), as_bf(a.newline), as_bf(a.table), a.row_map,
                  as_bf(a.out), a.rows, a.Ht, a.feature_rows, a.vocab, a.bad);
}
inline void launch_v2(const Args& a, mm::gpu::Stream stream) {
  if (a.rows == 0) return;
  namespace k = mm::gpu::vl_projector;
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  // Every row start is 16-byte aligned when the buffers are and Ht % 8 == 0 (a row is Ht * 2 bytes).
  const bool vec = a.Ht % 8 == 0 && aligned(a.features) && aligned(a.newline) && aligned(a.table) && aligned(a.out);
  const dim3 grid(static_cast<unsigned>((a.rows + kV2RowsPerBlock - 1) / kV2RowsPerBlock)), block(32 * kV2RowsPerBlock);
  if (vec)
    mm::gpu::launch(k::splice_v2_kernel<true>, grid, block, 0, stream, as_bf(a.features), as_bf(a.newline),
                    as_bf(a.table), a.row_map, as_bf(a.out), a.rows, a.Ht, a.feature_rows, a.vocab, a.bad);
  else
    mm::gpu::launch(k::splice_v2_kernel<false>, grid, block, 0, stream, as_bf(a.features), as_bf(a.newline),
                    as_bf(a.table), a.row_map, as_bf(a.out), a.rows, a.Ht, a.feature_rows, a.vocab, a.bad);
}
}  // namespace detail

MM_VL_PROJECTOR_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_element", &detail::launch_v1, &detail::supports},
      {"v2_warp_per_row_vec16", &detail::launch_v2, &detail::supports},
  };
  return v;
}

MM_VL_PROJECTOR_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_VL_PROJECTOR_RUNNER std::vector<uint16_t> run_unchecked(const Version& v, const std::vector<uint16_t>& features,
                                                           int feature_rows, const std::vector<uint16_t>& newline,
                                                           const std::vector<uint16_t>& table, int vocab, int Ht,
                                                           const std::vector<int>& row_map, int* first_bad) {
  auto need = [&](const char* what, size_t got, int64_t want) {
    if (want < 0 || got != static_cast<size_t>(want))
      throw std::invalid_argument(std::string("vl_projector: ") + what + " has " + std::to_string(got) +
                                  " values, the shape needs " + std::to_string(want) + " (feature_rows " +
                                  std::to_string(feature_rows) + ", vocab " + std::to_string(vocab) + ", Ht " +
                                  std::to_string(Ht) + ")");
  };
  if (Ht <= 0) throw std::invalid_argument("vl_projector: Ht " + std::to_string(Ht) + " is not positive");
  need("features", features.size(), int64_t(feature_rows) * Ht);
  need("image_newline", newline.size(), Ht);
  need("the embedding table", table.size(), int64_t(vocab) * Ht);
  if (row_map.size() > static_cast<size_t>(INT_MAX))
    throw std::invalid_argument("vl_projector: " + std::to_string(row_map.size()) + " rows do not fit an int");
  mm::gpu::DeviceBuffer<uint16_t> df(features), dn(newline), dt(table), dout(row_map.size() * static_cast<size_t>(Ht));
  mm::gpu::device_memset(dout.data(), 0xFF, dout.size() * sizeof(uint16_t));  // poison: must be fully written
  mm::gpu::DeviceBuffer<int> dmap(row_map), dbad(std::vector<int>{INT_MAX});
  Args a;
  a.features = df.data(); a.newline = dn.data(); a.table = dt.data(); a.row_map = dmap.data();
  a.out = dout.data(); a.bad = dbad.data();
  a.rows = static_cast<int>(row_map.size()); a.Ht = Ht; a.feature_rows = feature_rows; a.vocab = vocab;
  mm::gpu::launch_checked(v, a, nullptr, "vl_projector");
  mm::gpu::synchronize();
  if (first_bad) *first_bad = dbad.download()[0];
  return dout.download();
}

MM_VL_PROJECTOR_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& features,
                                                 int feature_rows, const std::vector<uint16_t>& newline,
                                                 const std::vector<uint16_t>& table, int vocab, int Ht,
                                                 const std::vector<int>& row_map) {
  check_row_map(row_map, feature_rows, vocab);
  return MM_BACKEND_NS::run_unchecked(v, features, feature_rows, newline, table, vocab, Ht, row_map, nullptr);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::vl_projector
