// Definitions of the sampling runners (sampling_runner.h) for whichever build includes this file.
#pragma once
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/sampling_params.h"
#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/sampling/sampling.cuh"
#include "optimized/sampling/sampling_runner.h"

MM_SAMPLING_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_SAMPLING_RUNNER inline
#else
#define MM_SAMPLING_RUNNER
#endif

namespace mm::sampling {
inline namespace MM_BACKEND_NS {

namespace detail {
constexpr int kThreads = 256;
constexpr int kV2Threads = 512;
constexpr int kArgmaxChunk = 2048;  // logits per block of the v2 greedy path
constexpr int kArgmaxThreads = 256;
inline int argmax_chunks(int V) { return (V + kArgmaxChunk - 1) / kArgmaxChunk; }
inline int pow2_at_least(int v) {
  int n = 1;
  while (n < v) n <<= 1;
  return n;
}
}  // namespace detail

MM_SAMPLING_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_SAMPLING_RUNNER size_t workspace_bytes(int rows, int V) {
  const size_t n = static_cast<size_t>(detail::pow2_at_least(V));
  // v1 keys [rows, N] + probabilities [rows, V] + v2's fallback flags [rows] + v2 greedy partials
  return static_cast<size_t>(rows) * (n * sizeof(unsigned long long) + static_cast<size_t>(V) * sizeof(double) +
                                      sizeof(int) + static_cast<size_t>(detail::argmax_chunks(V)) * 8);
}

namespace detail {
// version 0 (v1) or 1 (v2)
inline void launch_sample(int version, const Args& a, mm::gpu::Stream stream) {
  const float* logits = a.logits;
  const int rows = a.rows, V = a.V, top_k = a.top_k;
  const double temperature = a.temperature, top_p = a.top_p;
  const double* uniforms = a.uniforms;
  int* tokens = a.tokens;
  void* workspace = a.workspace;
  if (rows <= 0 || V <= 0) throw std::invalid_argument("sampling: bad shape");
  namespace k = mm::gpu::sampling;
  const int N = detail::pow2_at_least(V);
  auto* keys = static_cast<k::Key*>(workspace);
  auto* prob = reinterpret_cast<double*>(keys + static_cast<size_t>(rows) * N);
  auto* flags = reinterpret_cast<int*>(prob + static_cast<size_t>(rows) * V);
  const int* only = nullptr;
  if (version == 1 && temperature == 0.0) {
    auto* partial = reinterpret_cast<k::ArgMax*>(flags + rows);
    const int chunks = detail::argmax_chunks(V);
    mm::gpu::launch(k::argmax_partial_kernel<detail::kArgmaxThreads>,
                    dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(rows)), dim3(detail::kArgmaxThreads), 0,
                    stream, logits, V, detail::kArgmaxChunk, partial);
    mm::gpu::launch(k::argmax_final_kernel, dim3(static_cast<unsigned>(rows)), dim3(32), 0, stream, partial, chunks,
                    tokens, flags);
    return;
  }
  if (version == 1) {
    mm::gpu::launch(k::sample_v2_kernel<detail::kV2Threads>, dim3(static_cast<unsigned>(rows)),
                    dim3(detail::kV2Threads), 0, stream, logits, V, temperature, top_k, top_p, uniforms, prob, tokens,
                    flags);
    only = flags;
  }
  mm::gpu::launch(k::sample_v1_kernel<detail::kThreads>, dim3(static_cast<unsigned>(rows)), dim3(detail::kThreads), 0,
                  stream, logits, V, N, temperature, top_k, top_p, uniforms, keys, prob, tokens, only);
}

template <int K>
void launch(const Args& a, mm::gpu::Stream stream) {
  launch_sample(K, a, stream);
}
inline bool supports(const Args& a) { return a.rows > 0 && a.V > 0; }
}  // namespace detail

MM_SAMPLING_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_block_bitonic_exact", &detail::launch<0>, &detail::supports},
      {"v2_select_candidates_exact", &detail::launch<1>, &detail::supports},
  };
  return v;
}

MM_SAMPLING_RUNNER std::vector<int> run(const Version& v, const std::vector<float>& logits, int rows, int V,
                                        double temperature, int top_k, double top_p,
                                        const std::vector<double>& uniforms) {
  // the reference's checks (sample_token), with its messages
  mm::require(V > 0 && rows > 0 && logits.size() == static_cast<size_t>(rows) * V, "sample: empty logits");
  mm::check_sampling_params(temperature, top_k, top_p);
  for (float v : logits) mm::require(!std::isnan(v), "sample: logits contain NaN");
  mm::require(uniforms.size() == static_cast<size_t>(rows), "sample: one uniform per row");
  for (double u : uniforms) mm::require(u >= 0 && u < 1, "sample: uniform must be in [0, 1)");
  mm::gpu::DeviceBuffer<float> dl(logits);
  mm::gpu::DeviceBuffer<double> du(uniforms);
  mm::gpu::DeviceBuffer<int> dt(static_cast<size_t>(rows));
  mm::gpu::device_memset(dt.data(), 0xFF, dt.size() * sizeof(int));
  mm::gpu::DeviceBuffer<unsigned char> ws(workspace_bytes(rows, V));
  Args a;
  a.logits = dl.data(); a.rows = rows; a.V = V; a.temperature = temperature; a.top_k = top_k; a.top_p = top_p;
  a.uniforms = du.data(); a.tokens = dt.data(); a.workspace = ws.data();
  mm::gpu::launch_checked(v, a, nullptr, "sampling");
  mm::gpu::synchronize();
  return dt.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::sampling
