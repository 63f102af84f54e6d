// Host runners of the softmax-attention kernels (softmax_attention_api.h) for whichever build includes
// this file: header-inline for the emulator (backend_simt), compiled once by softmax_attention.cu for
// the GPU (backend_cuda). Runners allocate, upload, poison outputs (all-ones bits), launch, download.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#include "optimized/softmax_attention/softmax_attention.cuh"
#include "optimized/softmax_attention/softmax_attention_api.h"

MM_SOFTMAX_ATTENTION_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_SA_RUNNER inline
#else
#define MM_SA_RUNNER
#endif

namespace mm::softmax_attention {
inline namespace MM_BACKEND_NS {

namespace detail {

inline mm::gpu::Stream as_stream(void* s) { return static_cast<mm::gpu::Stream>(s); }
inline const bf16* cb(const uint16_t* p) { return reinterpret_cast<const bf16*>(p); }
inline bf16* mb(uint16_t* p) { return reinterpret_cast<bf16*>(p); }

inline void check_shape(const AttnShape& sh) {
  if (!head_dim_known(sh.d))
    throw std::invalid_argument("softmax_attention: head_dim " + std::to_string(sh.d) + " has no kernel (16/24/32/64/128)");
  if (sh.n_kv <= 0 || sh.n_h % sh.n_kv) throw std::invalid_argument("softmax_attention: n_h must be a multiple of n_kv");
  if (sh.rd % 2 || sh.rd > sh.d || sh.rd / 2 > kRopeMaxHalf) throw std::invalid_argument("softmax_attention: bad rotary_dim");
}

// inv_freq[i] = fl32(1 / theta^(2i/rd)), evaluated in double (reference/rope.cpp, rope_inv_freq).
inline std::vector<float> inv_freq_table(const AttnShape& sh) {
  std::vector<float> t(static_cast<size_t>(sh.rd / 2));
  for (int i = 0; i < sh.rd / 2; ++i) t[i] = static_cast<float>(1.0 / std::pow(sh.theta, (2.0 * i) / sh.rd));
  return t;
}

inline int sm_count() {
#if MM_SIMT
  return 132;
#else
  int dev = 0, n = 0;
  mm::gpu::check(cudaGetDevice(&dev), "cudaGetDevice");
  mm::gpu::check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
  return n;
#endif
}

// The error for a version asked for a head dim it has no kernel for (names[version] in the message).
[[noreturn]] inline void refuse_head_dim(const char* const* names, int count, int version, int d) {
  throw std::invalid_argument(std::string("softmax_attention: ") +
                              (version >= 0 && version < count ? names[version] : "unknown version") +
                              " does not take head_dim " + std::to_string(d) + " (tensor cores: 32/64/128; v1 takes all)");
}

template <int D, int kWarps>
void prefill_fa2(mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc, bf16* o, int T,
                 int past, float scale) {
  using C = PrefillFa2<D, kWarps>;
  static const bool smem_ok = (mm::gpu::allow_dynamic_smem(prefill_fa2_kernel<D, kWarps>, C::kSmemBytes), true);
  (void)smem_ok;
  const dim3 grid((T + C::kBM - 1) / C::kBM, sh.n_h);
  mm::gpu::launch(prefill_fa2_kernel<D, kWarps>, grid, dim3(C::kThreads), C::kSmemBytes, st, q, kc, vc, o, T, past,
                  sh.n_h, sh.n_kv, scale * 1.4426950408889634f);
}

template <int D>
void prefill(int version, mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc,
             bf16* o, int T, int past) {
  if (T <= 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (!prefill_supports(version, D)) refuse_head_dim(kPrefillVersions, kNumPrefillVersions, version, D);
  if (version == 0) {
    const int n = T * sh.n_h;
    mm::gpu::launch(prefill_v1_kernel<D>, dim3((n + 127) / 128), dim3(128), 0, st, q, kc, vc, o, T, past, sh.n_h,
                    sh.n_kv, scale);
  } else if constexpr (D == 32 || D == 64 || D == 128) {  // the only instantiations of the mma kernels
    if (version == 1) prefill_fa2<D, 4>(st, sh, q, kc, vc, o, T, past, scale);
    else if (version == 2) prefill_fa2<D, 8>(st, sh, q, kc, vc, o, T, past, scale);
    else throw std::invalid_argument("softmax_attention: unknown prefill version " + std::to_string(version));
  } else {
    throw std::invalid_argument("softmax_attention: unknown prefill version " + std::to_string(version));
  }
}

inline int max_splits(int max_len, int split_size) { return (max_len + split_size - 1) / split_size; }

template <int D>
void decode(int version, mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc,
            const int* lens, bf16* o, int B, int capacity, int max_len, int split_size, float* ws) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  if (!decode_supports(version, D)) refuse_head_dim(kDecodeVersions, kNumDecodeVersions, version, D);
  if (version == 0) {
    mm::gpu::launch(decode_v1_kernel<D>, dim3(sh.n_h, B), dim3(128), 0, st, q, kc, vc, lens, o, ws, sh.n_h, sh.n_kv,
                    capacity, scale);
  } else if constexpr (D == 32 || D == 64 || D == 128) {
    if (version != 1) throw std::invalid_argument("softmax_attention: unknown decode version " + std::to_string(version));
    using C = DecodeSplit<D>;
    if (sh.n_h / sh.n_kv > 16) throw std::invalid_argument("decode v2: group size above 16");
    if (split_size <= 0 || split_size % C::kBN) throw std::invalid_argument("decode v2: split_size must be a multiple of 64");
    static const bool smem_ok = (mm::gpu::allow_dynamic_smem(decode_split_kernel<D>, C::kSmemBytes), true);
    (void)smem_ok;
    const int ns = max_splits(max_len, split_size);
    float* part_o = ws;
    float* part_lse = ws + static_cast<size_t>(B) * sh.n_h * ns * D;
    mm::gpu::launch(decode_split_kernel<D>, dim3(ns, sh.n_kv, B), dim3(Fa::kThreads), C::kSmemBytes, st, q, kc, vc,
                    lens, part_o, part_lse, sh.n_h, sh.n_kv, capacity, split_size, ns,
                    scale * 1.4426950408889634f);
    mm::gpu::launch(decode_combine_kernel<D>, dim3(sh.n_h, B), dim3(D), 0, st, part_o, part_lse, lens, o, sh.n_h,
                    split_size, ns);
  } else {
    throw std::invalid_argument("softmax_attention: unknown decode version " + std::to_string(version));
  }
}

template <class T>
mm::gpu::DeviceBuffer<T> poisoned(size_t n) {
  mm::gpu::DeviceBuffer<T> b(n);
  mm::gpu::device_memset(b.data(), 0xFF, n * sizeof(T));
  return b;
}

template <class T>
mm::gpu::DeviceBuffer<T> uploaded(const std::vector<T>& v) {
  return mm::gpu::DeviceBuffer<T>(v);
}

inline void check_size(const std::vector<uint16_t>& v, size_t n, const char* what) {
  if (v.size() != n) throw std::invalid_argument(std::string("softmax_attention: size of ") + what);
}

}  // namespace detail

MM_SA_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_SA_RUNNER void enqueue_rope_append(void* stream, const AttnShape& sh, const uint16_t* q, const uint16_t* k,
                                      const uint16_t* v, uint16_t* q_rot, uint16_t* k_cache, uint16_t* v_cache,
                                      const int* past_dev, const float* inv_freq_dev, int rows, int rows_per_seq,
                                      int capacity) {
  detail::check_shape(sh);
  if (rows <= 0) return;
  mm::gpu::launch(rope_append_kernel<kRopeMaxHalf>, dim3(rows), dim3(128), 0, detail::as_stream(stream), detail::cb(q), detail::cb(k),
                  detail::cb(v), detail::mb(q_rot), detail::mb(k_cache), detail::mb(v_cache), past_dev, inv_freq_dev,
                  rows_per_seq, sh.n_h, sh.n_kv, sh.d, sh.rd, capacity);
}

MM_SA_RUNNER void enqueue_prefill(int version, void* stream, const AttnShape& sh, const uint16_t* q_rot,
                                  const uint16_t* k_cache, const uint16_t* v_cache, uint16_t* o, int T, int past) {
  detail::check_shape(sh);
  const auto st = detail::as_stream(stream);
  const bf16 *q = detail::cb(q_rot), *kc = detail::cb(k_cache), *vc = detail::cb(v_cache);
  switch (sh.d) {
    case 16: detail::prefill<16>(version, st, sh, q, kc, vc, detail::mb(o), T, past); break;
    case 24: detail::prefill<24>(version, st, sh, q, kc, vc, detail::mb(o), T, past); break;
    case 32: detail::prefill<32>(version, st, sh, q, kc, vc, detail::mb(o), T, past); break;
    case 64: detail::prefill<64>(version, st, sh, q, kc, vc, detail::mb(o), T, past); break;
    default: detail::prefill<128>(version, st, sh, q, kc, vc, detail::mb(o), T, past); break;
  }
}

MM_SA_RUNNER int auto_split_size(const AttnShape& sh, int B, int max_len) {
  // ~16 blocks per SM (about 5 waves at 3 resident blocks/SM for d=128) keeps the last-wave tail small;
  // the partials cost B*n_h*splits*(d+1)*4 bytes each way, ~1 % of the K/V bytes for long caches.
  const long target_blocks = 16L * detail::sm_count();
  const long per_split = static_cast<long>(B) * sh.n_kv;
  long splits = std::max<long>(1, (target_blocks + per_split - 1) / per_split);
  long size = (max_len + splits - 1) / splits;
  size = std::max<long>(256, (size + 63) / 64 * 64);  // at least 4 tiles per block
  return static_cast<int>(size);
}

MM_SA_RUNNER std::size_t decode_workspace_floats(int version, const AttnShape& sh, int B, int capacity, int max_len,
                                                 int split_size) {
  if (version == 0) return static_cast<size_t>(B) * sh.n_h * capacity;
  if (split_size <= 0) split_size = MM_BACKEND_NS::auto_split_size(sh, B, max_len);
  return static_cast<size_t>(B) * sh.n_h * detail::max_splits(max_len, split_size) * (sh.d + 1);
}

MM_SA_RUNNER void enqueue_decode(int version, void* stream, const AttnShape& sh, const uint16_t* q_rot,
                                 const uint16_t* k_cache, const uint16_t* v_cache, const int* lens_dev, uint16_t* o,
                                 int B, int capacity, int max_len, int split_size, float* workspace) {
  detail::check_shape(sh);
  if (B <= 0) return;
  if (split_size <= 0) split_size = MM_BACKEND_NS::auto_split_size(sh, B, max_len);
  const auto st = detail::as_stream(stream);
  const bf16 *q = detail::cb(q_rot), *kc = detail::cb(k_cache), *vc = detail::cb(v_cache);
  switch (sh.d) {
    case 16: detail::decode<16>(version, st, sh, q, kc, vc, lens_dev, detail::mb(o), B, capacity, max_len, split_size, workspace); break;
    case 24: detail::decode<24>(version, st, sh, q, kc, vc, lens_dev, detail::mb(o), B, capacity, max_len, split_size, workspace); break;
    case 32: detail::decode<32>(version, st, sh, q, kc, vc, lens_dev, detail::mb(o), B, capacity, max_len, split_size, workspace); break;
    case 64: detail::decode<64>(version, st, sh, q, kc, vc, lens_dev, detail::mb(o), B, capacity, max_len, split_size, workspace); break;
    default: detail::decode<128>(version, st, sh, q, kc, vc, lens_dev, detail::mb(o), B, capacity, max_len, split_size, workspace); break;
  }
}

MM_SA_RUNNER void enqueue_gemm_bf16(void* stream, int m, int n, int k, const uint16_t* a, const uint16_t* b, float* c) {
  mm::gpu::gemm_linear(detail::as_stream(stream), m, n, k, detail::cb(a), detail::cb(b), c);
}

MM_SA_RUNNER LayerResult run_prefill_layer(int version, const AttnShape& sh, const std::vector<uint16_t>& q,
                                           const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,
                                           const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,
                                           int T, int past, int capacity) {
  detail::check_shape(sh);
  if (past + T > capacity) throw std::invalid_argument("softmax_attention: cache capacity exceeded");
  const size_t qn = static_cast<size_t>(T) * sh.n_h * sh.d, kn = static_cast<size_t>(T) * sh.n_kv * sh.d;
  const size_t cn = static_cast<size_t>(capacity) * sh.n_kv * sh.d;
  detail::check_size(q, qn, "q");
  detail::check_size(k, kn, "k");
  detail::check_size(v, kn, "v");
  detail::check_size(k_cache, cn, "k_cache");
  detail::check_size(v_cache, cn, "v_cache");
  auto dq = detail::uploaded(q), dk = detail::uploaded(k), dv = detail::uploaded(v);
  auto dkc = detail::uploaded(k_cache), dvc = detail::uploaded(v_cache);
  auto dpast = detail::uploaded(std::vector<int>{past});
  auto dfreq = detail::uploaded(detail::inv_freq_table(sh));
  auto dqr = detail::poisoned<uint16_t>(qn), dout = detail::poisoned<uint16_t>(qn);
  MM_BACKEND_NS::enqueue_rope_append(nullptr, sh, dq.data(), dk.data(), dv.data(), dqr.data(), dkc.data(), dvc.data(), dpast.data(),
                      dfreq.data(), T, T, capacity);
  MM_BACKEND_NS::enqueue_prefill(version, nullptr, sh, dqr.data(), dkc.data(), dvc.data(), dout.data(), T, past);
  mm::gpu::synchronize();
  return {dout.download(), dkc.download(), dvc.download(), dqr.download()};
}

MM_SA_RUNNER LayerResult run_decode_layer(int version, const AttnShape& sh, const std::vector<uint16_t>& q,
                                          const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,
                                          const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,
                                          const std::vector<int>& past, int capacity, int split_size) {
  detail::check_shape(sh);
  const int B = static_cast<int>(past.size());
  const size_t qn = static_cast<size_t>(B) * sh.n_h * sh.d, kn = static_cast<size_t>(B) * sh.n_kv * sh.d;
  const size_t cn = static_cast<size_t>(B) * capacity * sh.n_kv * sh.d;
  detail::check_size(q, qn, "q");
  detail::check_size(k, kn, "k");
  detail::check_size(v, kn, "v");
  detail::check_size(k_cache, cn, "k_cache");
  detail::check_size(v_cache, cn, "v_cache");
  std::vector<int> lens(past);
  int max_len = 0;
  for (int& x : lens) {
    if (x < 0 || x >= capacity) throw std::invalid_argument("softmax_attention: cache capacity exceeded");
    max_len = std::max(max_len, ++x);
  }
  if (split_size <= 0) split_size = MM_BACKEND_NS::auto_split_size(sh, B, max_len);
  auto dq = detail::uploaded(q), dk = detail::uploaded(k), dv = detail::uploaded(v);
  auto dkc = detail::uploaded(k_cache), dvc = detail::uploaded(v_cache);
  auto dpast = detail::uploaded(past), dlens = detail::uploaded(lens);
  auto dfreq = detail::uploaded(detail::inv_freq_table(sh));
  auto dqr = detail::poisoned<uint16_t>(qn), dout = detail::poisoned<uint16_t>(qn);
  auto ws = detail::poisoned<float>(std::max<size_t>(1, MM_BACKEND_NS::decode_workspace_floats(version, sh, B, capacity, max_len, split_size)));
  MM_BACKEND_NS::enqueue_rope_append(nullptr, sh, dq.data(), dk.data(), dv.data(), dqr.data(), dkc.data(), dvc.data(), dpast.data(),
                      dfreq.data(), B, 1, capacity);
  MM_BACKEND_NS::enqueue_decode(version, nullptr, sh, dqr.data(), dkc.data(), dvc.data(), dlens.data(), dout.data(), B, capacity,
                 max_len, split_size, ws.data());
  mm::gpu::synchronize();
  return {dout.download(), dkc.download(), dvc.download(), dqr.download()};
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::softmax_attention
