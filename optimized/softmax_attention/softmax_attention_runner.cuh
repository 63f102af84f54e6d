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

// The versions' names (the tables below) and which head dims each takes: v1 (plain fp32 loops, D at run
// time) every d in [1, kMaxHeadDimV1], the tensor-core versions 32, 64 and 128 (mma k = 16 over D, 16-byte
// cp.async rows; one instantiation each).
inline constexpr const char* kPrefillVersions[] = {"prefill_v1_thread_per_query", "prefill_v2_fa2_mma",
                                                   "prefill_v3_fa2_mma_8warps"};
inline constexpr const char* kDecodeVersions[] = {"decode_v1_block_per_head", "decode_v2_split_kv_mma"};
inline constexpr int kNumPrefillVersions = 3, kNumDecodeVersions = 2;
inline constexpr bool prefill_supports(int version, int d) {
  return version == 0 ? head_dim_v1(d) : head_dim_tensor_core(d);
}
// RoPE + append: its cos/sin table holds rd / 2 <= d / 2 pairs, so every v1 head dim fits.
static_assert(2 * kRopeMaxHalf >= kMaxHeadDimV1, "rope_append's table must cover rotary_dim <= head_dim");
inline constexpr bool decode_supports(int version, int d) { return prefill_supports(version, d); }

inline const bf16* cb(const uint16_t* p) { return reinterpret_cast<const bf16*>(p); }
inline bf16* mb(uint16_t* p) { return reinterpret_cast<bf16*>(p); }

inline void check_shape(const AttnShape& sh) {
  if (!head_dim_v1(sh.d))
    throw std::invalid_argument("softmax_attention: head_dim " + std::to_string(sh.d) + " has no kernel (v1: 1.." +
                                std::to_string(kMaxHeadDimV1) + "; tensor cores: 32/64/128)");
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
                              " does not take head_dim " + std::to_string(d) + " (tensor cores: 32/64/128; v1: 1.." +
                              std::to_string(kMaxHeadDimV1) + ")");
}

// The same error for the table entry named `name` asked for `d`: run_*_layer report it before anything
// else (rather than launch_checked's generic "does not take this shape").
inline void require_head_dim(const char* const* names, int count, const char* name, int d) {
  for (int i = 0; i < count; ++i)
    if (std::string(names[i]) == name && !prefill_supports(i, d)) refuse_head_dim(names, count, i, d);
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

// Head dim d at run time: v1 takes it as an argument, the tensor-core versions dispatch to their
// instantiation (32/64/128).
inline void prefill(int version, mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc,
                    bf16* o, int T, int past) {
  if (T <= 0) return;
  const int d = sh.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  if (version < 0 || version >= kNumPrefillVersions)
    throw std::invalid_argument("softmax_attention: unknown prefill version " + std::to_string(version));
  if (!prefill_supports(version, d)) refuse_head_dim(kPrefillVersions, kNumPrefillVersions, version, d);
  if (version == 0) {
    const int n = T * sh.n_h;
    mm::gpu::launch(prefill_v1_kernel<kMaxHeadDimV1>, dim3((n + 127) / 128), dim3(128), 0, st, q, kc, vc, o, T, past,
                    sh.n_h, sh.n_kv, d, scale);
    return;
  }
  // v2: 4 warps per block, v3: 8
  switch (d) {
    case 32: version == 1 ? prefill_fa2<32, 4>(st, sh, q, kc, vc, o, T, past, scale)
                          : prefill_fa2<32, 8>(st, sh, q, kc, vc, o, T, past, scale); break;
    case 64: version == 1 ? prefill_fa2<64, 4>(st, sh, q, kc, vc, o, T, past, scale)
                          : prefill_fa2<64, 8>(st, sh, q, kc, vc, o, T, past, scale); break;
    default: version == 1 ? prefill_fa2<128, 4>(st, sh, q, kc, vc, o, T, past, scale)
                          : prefill_fa2<128, 8>(st, sh, q, kc, vc, o, T, past, scale); break;
  }
}

inline int max_splits(int max_len, int split_size) { return (max_len + split_size - 1) / split_size; }

// Split-KV decode (v2) at its instantiation D (32/64/128): partials into ws, then the combine.
template <int D>
void decode_split(mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc,
                  const int* lens, bf16* o, int B, int capacity, int max_len, int split_size, float* ws, float scale) {
  using C = DecodeSplit<D>;
  if (sh.n_h / sh.n_kv > 16) throw std::invalid_argument("decode v2: group size above 16");
  if (split_size <= 0 || split_size % C::kBN) throw std::invalid_argument("decode v2: split_size must be a multiple of 64");
  static const bool smem_ok = (mm::gpu::allow_dynamic_smem(decode_split_kernel<D>, C::kSmemBytes), true);
  (void)smem_ok;
  const int ns = max_splits(max_len, split_size);
  float* part_o = ws;
  float* part_lse = ws + static_cast<size_t>(B) * sh.n_h * ns * D;
  mm::gpu::launch(decode_split_kernel<D>, dim3(ns, sh.n_kv, B), dim3(Fa::kThreads), C::kSmemBytes, st, q, kc, vc, lens,
                  part_o, part_lse, sh.n_h, sh.n_kv, capacity, split_size, ns, scale * 1.4426950408889634f);
  mm::gpu::launch(decode_combine_kernel<D>, dim3(sh.n_h, B), dim3(D), 0, st, part_o, part_lse, lens, o, sh.n_h,
                  split_size, ns);
}

inline void decode(int version, mm::gpu::Stream st, const AttnShape& sh, const bf16* q, const bf16* kc, const bf16* vc,
                   const int* lens, bf16* o, int B, int capacity, int max_len, int split_size, float* ws) {
  const int d = sh.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  if (version < 0 || version >= kNumDecodeVersions)
    throw std::invalid_argument("softmax_attention: unknown decode version " + std::to_string(version));
  if (!decode_supports(version, d)) refuse_head_dim(kDecodeVersions, kNumDecodeVersions, version, d);
  if (version == 0) {
    mm::gpu::launch(decode_v1_kernel<kMaxHeadDimV1>, dim3(sh.n_h, B), dim3(128), 0, st, q, kc, vc, lens, o, ws, sh.n_h,
                    sh.n_kv, d, capacity, scale);
    return;
  }
  switch (d) {
    case 32: decode_split<32>(st, sh, q, kc, vc, lens, o, B, capacity, max_len, split_size, ws, scale); break;
    case 64: decode_split<64>(st, sh, q, kc, vc, lens, o, B, capacity, max_len, split_size, ws, scale); break;
    default: decode_split<128>(st, sh, q, kc, vc, lens, o, B, capacity, max_len, split_size, ws, scale); break;
  }
}

template <class T>
mm::gpu::DeviceBuffer<T> uploaded(const std::vector<T>& v) {
  return mm::gpu::DeviceBuffer<T>(v);
}


}  // namespace detail

MM_SA_RUNNER bool device_present() { return mm::gpu::device_available(); }

namespace detail {

inline bool shape_ok(const AttnShape& sh) {
  return head_dim_v1(sh.d) && sh.n_kv > 0 && sh.n_h % sh.n_kv == 0 && sh.rd % 2 == 0 && sh.rd <= sh.d &&
         sh.rd / 2 <= kRopeMaxHalf;
}

inline bool supports_rope_append(const RopeAppendArgs& a) { return shape_ok(a.sh); }
inline void launch_rope_append(const RopeAppendArgs& a, mm::gpu::Stream stream) {
  detail::check_shape(a.sh);
  if (a.rows <= 0) return;
  mm::gpu::launch(rope_append_kernel<kRopeMaxHalf>, dim3(a.rows), dim3(128), 0, stream, cb(a.q), cb(a.k), cb(a.v),
                  mb(a.q_rot), mb(a.k_cache), mb(a.v_cache), a.past, a.inv_freq, a.rows_per_seq, a.sh.n_h, a.sh.n_kv,
                  a.sh.d, a.sh.rd, a.capacity);
}

template <int K>
bool supports_prefill(const PrefillArgs& a) {
  return shape_ok(a.sh) && prefill_supports(K, a.sh.d);
}
template <int K>
void launch_prefill(const PrefillArgs& a, mm::gpu::Stream st) {
  const AttnShape& sh = a.sh;
  detail::check_shape(sh);
  const bf16 *q = cb(a.q_rot), *kc = cb(a.k_cache), *vc = cb(a.v_cache);
  prefill(K, st, sh, q, kc, vc, mb(a.o), a.T, a.past);
}

template <int K>
bool supports_decode(const DecodeArgs& a) {
  return shape_ok(a.sh) && decode_supports(K, a.sh.d) && (K == 0 || a.sh.n_h / a.sh.n_kv <= 16);
}
template <int K>
void launch_decode(const DecodeArgs& a, mm::gpu::Stream st) {
  const AttnShape& sh = a.sh;
  detail::check_shape(sh);
  if (a.B <= 0) return;
  const int B = a.B, capacity = a.capacity, max_len = a.max_len;
  const int split_size = a.split_size > 0 ? a.split_size : MM_BACKEND_NS::auto_split_size(sh, B, max_len);
  const bf16 *q = cb(a.q_rot), *kc = cb(a.k_cache), *vc = cb(a.v_cache);
  decode(K, st, sh, q, kc, vc, a.lens, mb(a.o), B, capacity, max_len, split_size, a.workspace);
}

}  // namespace detail

MM_SA_RUNNER const std::vector<RopeAppendVersion>& rope_append_versions() {
  static const std::vector<RopeAppendVersion> v = {
      {"rope_append_v1_block_per_row", &detail::launch_rope_append, &detail::supports_rope_append},
  };
  return v;
}

MM_SA_RUNNER const std::vector<PrefillVersion>& prefill_versions() {
  static const std::vector<PrefillVersion> v = {
      {detail::kPrefillVersions[0], &detail::launch_prefill<0>, &detail::supports_prefill<0>},
      {detail::kPrefillVersions[1], &detail::launch_prefill<1>, &detail::supports_prefill<1>},
      {detail::kPrefillVersions[2], &detail::launch_prefill<2>, &detail::supports_prefill<2>},
  };
  return v;
}

MM_SA_RUNNER const std::vector<DecodeVersion>& decode_versions() {
  static const std::vector<DecodeVersion> v = {
      {detail::kDecodeVersions[0], &detail::launch_decode<0>, &detail::supports_decode<0>},
      {detail::kDecodeVersions[1], &detail::launch_decode<1>, &detail::supports_decode<1>},
  };
  return v;
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

MM_SA_RUNNER std::size_t decode_workspace_floats(const DecodeVersion& v, const DecodeArgs& a) {
  const auto& table = decode_versions();
  const std::ptrdiff_t version = &v - table.data();
  if (version < 0 || version >= static_cast<std::ptrdiff_t>(table.size()))
    throw std::invalid_argument("softmax_attention: decode version not from this build's table");
  const AttnShape& sh = a.sh;
  const int B = a.B, capacity = a.capacity, max_len = a.max_len;
  int split_size = a.split_size;
  if (version == 0) return static_cast<size_t>(B) * sh.n_h * capacity;
  if (split_size <= 0) split_size = MM_BACKEND_NS::auto_split_size(sh, B, max_len);
  return static_cast<size_t>(B) * sh.n_h * detail::max_splits(max_len, split_size) * (sh.d + 1);
}

MM_SA_RUNNER void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b,
                                float* c) {
  mm::gpu::gemm_linear(stream, m, n, k, detail::cb(a), detail::cb(b), c);
}

MM_SA_RUNNER LayerResult run_prefill_layer(const PrefillVersion& ver, const AttnShape& sh,
                                           const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                                           const std::vector<uint16_t>& v,
                                           const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,
                                           int T, int past, int capacity) {
  detail::check_shape(sh);
  detail::require_head_dim(detail::kPrefillVersions, detail::kNumPrefillVersions, ver.name, sh.d);
  if (past + T > capacity) throw std::invalid_argument("softmax_attention: cache capacity exceeded");
  const size_t qn = static_cast<size_t>(T) * sh.n_h * sh.d, kn = static_cast<size_t>(T) * sh.n_kv * sh.d;
  const size_t cn = static_cast<size_t>(capacity) * sh.n_kv * sh.d;
  mm::gpu::require_size(q.size(), qn, "softmax_attention", "q");
  mm::gpu::require_size(k.size(), kn, "softmax_attention", "k");
  mm::gpu::require_size(v.size(), kn, "softmax_attention", "v");
  mm::gpu::require_size(k_cache.size(), cn, "softmax_attention", "k_cache");
  mm::gpu::require_size(v_cache.size(), cn, "softmax_attention", "v_cache");
  auto dq = detail::uploaded(q), dk = detail::uploaded(k), dv = detail::uploaded(v);
  auto dkc = detail::uploaded(k_cache), dvc = detail::uploaded(v_cache);
  auto dpast = detail::uploaded(std::vector<int>{past});
  auto dfreq = detail::uploaded(detail::inv_freq_table(sh));
  auto dqr = mm::gpu::poisoned<uint16_t>(qn), dout = mm::gpu::poisoned<uint16_t>(qn);
  RopeAppendArgs ra;
  ra.sh = sh; ra.q = dq.data(); ra.k = dk.data(); ra.v = dv.data(); ra.q_rot = dqr.data(); ra.k_cache = dkc.data();
  ra.v_cache = dvc.data(); ra.past = dpast.data(); ra.inv_freq = dfreq.data(); ra.rows = T; ra.rows_per_seq = T;
  ra.capacity = capacity;
  mm::gpu::launch_checked(rope_append_versions().front(), ra, nullptr, "softmax_attention");
  PrefillArgs pa;
  pa.sh = sh; pa.q_rot = dqr.data(); pa.k_cache = dkc.data(); pa.v_cache = dvc.data(); pa.o = dout.data();
  pa.T = T; pa.past = past;
  mm::gpu::launch_checked(ver, pa, nullptr, "softmax_attention");
  mm::gpu::synchronize();
  return {dout.download(), dkc.download(), dvc.download(), dqr.download()};
}

MM_SA_RUNNER LayerResult run_decode_layer(const DecodeVersion& ver, const AttnShape& sh,
                                          const std::vector<uint16_t>& q, const std::vector<uint16_t>& k,
                                          const std::vector<uint16_t>& v,
                                          const std::vector<uint16_t>& k_cache, const std::vector<uint16_t>& v_cache,
                                          const std::vector<int>& past, int capacity, int split_size) {
  detail::check_shape(sh);
  detail::require_head_dim(detail::kDecodeVersions, detail::kNumDecodeVersions, ver.name, sh.d);
  const int B = static_cast<int>(past.size());
  const size_t qn = static_cast<size_t>(B) * sh.n_h * sh.d, kn = static_cast<size_t>(B) * sh.n_kv * sh.d;
  const size_t cn = static_cast<size_t>(B) * capacity * sh.n_kv * sh.d;
  mm::gpu::require_size(q.size(), qn, "softmax_attention", "q");
  mm::gpu::require_size(k.size(), kn, "softmax_attention", "k");
  mm::gpu::require_size(v.size(), kn, "softmax_attention", "v");
  mm::gpu::require_size(k_cache.size(), cn, "softmax_attention", "k_cache");
  mm::gpu::require_size(v_cache.size(), cn, "softmax_attention", "v_cache");
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
  auto dqr = mm::gpu::poisoned<uint16_t>(qn), dout = mm::gpu::poisoned<uint16_t>(qn);
  DecodeArgs da;
  da.sh = sh; da.q_rot = dqr.data(); da.k_cache = dkc.data(); da.v_cache = dvc.data(); da.lens = dlens.data();
  da.o = dout.data(); da.B = B; da.capacity = capacity; da.max_len = max_len; da.split_size = split_size;
  auto ws = mm::gpu::poisoned<float>(std::max<size_t>(1, MM_BACKEND_NS::decode_workspace_floats(ver, da)));
  da.workspace = ws.data();
  RopeAppendArgs ra;
  ra.sh = sh; ra.q = dq.data(); ra.k = dk.data(); ra.v = dv.data(); ra.q_rot = dqr.data(); ra.k_cache = dkc.data();
  ra.v_cache = dvc.data(); ra.past = dpast.data(); ra.inv_freq = dfreq.data(); ra.rows = B; ra.rows_per_seq = 1;
  ra.capacity = capacity;
  mm::gpu::launch_checked(rope_append_versions().front(), ra, nullptr, "softmax_attention");
  mm::gpu::launch_checked(ver, da, nullptr, "softmax_attention");
  mm::gpu::synchronize();
  return {dout.download(), dkc.download(), dvc.download(), dqr.download()};
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::softmax_attention
