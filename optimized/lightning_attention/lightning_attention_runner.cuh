// Definitions of the lightning-attention runners (lightning_attention_runner.h) for whichever build
// includes this file: header-inline for the emulator (backend_simt), compiled once by nvcc in
// lightning_attention.cu for the GPU (backend_cuda).
#pragma once
#include <cstring>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/gemm.h"
#include "optimized/common/launch.h"
#include "optimized/lightning_attention/lightning_attention.cuh"
#include "optimized/lightning_attention/lightning_attention_mma.cuh"
#include "optimized/lightning_attention/lightning_attention_runner.h"

MM_LIGHTNING_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_LIGHTNING_RUNNER inline
#else
#define MM_LIGHTNING_RUNNER
#endif

namespace mm::lightning {
inline namespace MM_BACKEND_NS {

namespace detail {

inline bool basic_ok(const Args& a, int max_d = kMaxD) {
  return a.d > 0 && a.d <= max_d && a.n_h > 0 && a.nb > 0 && a.T >= 0;
}

inline void launch_v1(const Args& a, mm::gpu::Stream stream) {
  if (a.T == 0) return;
  mm::gpu::launch(recurrent_v1_kernel, dim3(a.n_h, a.nb), dim3(a.d), 0, stream, a);
}
inline bool supports_v1(const Args& a) { return basic_ok(a, kMaxDV1); }

inline void launch_v2(const Args& a, mm::gpu::Stream stream) {
  if (a.T == 0) return;
  const size_t smem = V2::smem_bytes(a.d, a.block);
  mm::gpu::allow_dynamic_smem(block_v2_kernel, smem);
  mm::gpu::launch(block_v2_kernel, dim3(a.d / V2::kDV, a.n_h, a.nb), dim3(V2::kThreads), smem, stream, a);
}
inline bool supports_v2(const Args& a) {
  return basic_ok(a) && a.d % V2::kDV == 0 && a.block >= 1 && V2::smem_bytes(a.d, a.block) <= 200 * 1024;
}

template <int D, int W>
void launch_v3_dw(const Args& a, mm::gpu::Stream stream) {
  using Cfg = V3<D, W>;
  const size_t smem = Cfg::smem_bytes(a.block);
  mm::gpu::allow_dynamic_smem(block_v3_kernel<D, W>, smem);
  mm::gpu::launch(block_v3_kernel<D, W>, dim3(D / Cfg::kDV, a.n_h, a.nb), dim3(Cfg::kThreads), smem, stream, a);
}
template <int W>
void launch_v3(const Args& a, mm::gpu::Stream stream) {
  if (a.T == 0) return;
  if (a.d == 64) launch_v3_dw<64, W>(a, stream);
  else launch_v3_dw<128, W>(a, stream);
}
template <int W>
bool supports_v3(const Args& a) {
  return basic_ok(a) && (a.d == 64 || a.d == 128) && a.block >= 16 * W && a.block % (16 * W) == 0 &&
         a.block <= 1024 && a.ld_qkv % 8 == 0 && a.seq_stride_qkv % 8 == 0;
}

template <int D, int kSplit>
void launch_decode_v2_ds(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::launch(decode_v2_kernel<D, kSplit>, dim3(a.n_h, a.nb, kSplit), dim3(256), 0, stream, a);
}
// Column split: the smallest of 1, 2, 4 (at most D/32) that gives >= 2 CTAs per SM of an H100 (132 SMs).
inline int decode_split(const Args& a) {
  const long long ctas = 1LL * a.n_h * a.nb;
  int split = 1;
  while (split < a.d / 32 && split < 4 && ctas * split < 264) split *= 2;
  return split;
}
inline void launch_decode_v2(const Args& a, mm::gpu::Stream stream) {
  const int split = decode_split(a);
  if (a.d == 32) launch_decode_v2_ds<32, 1>(a, stream);
  else if (a.d == 64) split == 1 ? launch_decode_v2_ds<64, 1>(a, stream) : launch_decode_v2_ds<64, 2>(a, stream);
  else if (split == 1) launch_decode_v2_ds<128, 1>(a, stream);
  else if (split == 2) launch_decode_v2_ds<128, 2>(a, stream);
  else launch_decode_v2_ds<128, 4>(a, stream);
}
inline bool supports_decode(const Args& a) { return basic_ok(a) && a.T == 1; }
inline bool supports_decode_v1(const Args& a) { return basic_ok(a, kMaxDV1) && a.T == 1; }
inline bool supports_decode_v2(const Args& a) {
  return supports_decode(a) && (a.d == 32 || a.d == 64 || a.d == 128);
}

}  // namespace detail

MM_LIGHTNING_RUNNER const std::vector<Version>& prefill_versions() {
  static const std::vector<Version> v = {
      {"v1_recurrent", &detail::launch_v1, &detail::supports_v1},
      {"v2_block_simt", &detail::launch_v2, &detail::supports_v2},
      {"v3_block_mma", &detail::launch_v3<4>, &detail::supports_v3<4>},        // 4 warps, 64-row query tiles
      {"v3_block_mma_w8", &detail::launch_v3<8>, &detail::supports_v3<8>},     // 8 warps, 128-row query tiles
  };
  return v;
}

MM_LIGHTNING_RUNNER const std::vector<Version>& decode_versions() {
  static const std::vector<Version> v = {
      {"decode_v1_column", &detail::launch_v1, &detail::supports_decode_v1},
      {"decode_v2_vec4", &detail::launch_decode_v2, &detail::supports_decode_v2},
  };
  return v;
}

MM_LIGHTNING_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_LIGHTNING_RUNNER void gemm_bf16_nk(mm::gpu::Stream stream, int m, int n, int k, const uint16_t* a, const uint16_t* b,
                                      float* c) {
  mm::gpu::gemm_linear(stream, m, n, k, reinterpret_cast<const __nv_bfloat16*>(a),
                       reinterpret_cast<const __nv_bfloat16*>(b), c);
}

MM_LIGHTNING_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& qkv,
                                              const std::vector<float>& s, std::vector<float>& state, int nb, int T,
                                              int n_h, int d, int block) {
  Args a = dense_args(nb, T, n_h, d, block);
  if (!v.supports(a)) throw std::invalid_argument(std::string("lightning: ") + v.name + " does not take this shape");
  if (qkv.size() != size_t(a.seq_stride_qkv) * nb || s.size() != size_t(n_h) || state.size() != size_t(nb) * n_h * d * d)
    throw std::invalid_argument("lightning: size mismatch");
  std::vector<__nv_bfloat16> hq(qkv.size());
  std::memcpy(static_cast<void*>(hq.data()), qkv.data(), qkv.size() * 2);
  mm::gpu::DeviceBuffer<__nv_bfloat16> dq(hq);
  mm::gpu::DeviceBuffer<float> ds(s), dst(state);
  mm::gpu::DeviceBuffer<__nv_bfloat16> dout(size_t(a.seq_stride_o) * nb);
  mm::gpu::device_memset(dout.data(), 0xFF, dout.size() * 2);  // poison: all ones (NaN)
  a.qkv = reinterpret_cast<const uint16_t*>(dq.data());
  a.s = ds.data();
  a.state = dst.data();
  a.o = reinterpret_cast<uint16_t*>(dout.data());
  v.launch(a, nullptr);
  mm::gpu::synchronize();
  state = dst.download();
  const std::vector<__nv_bfloat16> ho = dout.download();
  std::vector<uint16_t> out(ho.size());
  std::memcpy(out.data(), static_cast<const void*>(ho.data()), ho.size() * 2);
  return out;
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::lightning
