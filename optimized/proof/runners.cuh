// Definitions of the proof runners (runners.h) for whichever build includes this file.
#pragma once
#include <cstring>
#include <stdexcept>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/proof/block_reduce.cuh"
#include "optimized/proof/gemm_bf16.cuh"
#include "optimized/proof/missing_barrier.cuh"
#include "optimized/proof/runners.h"

MM_PROOF_DECLARE_RUNNERS(MM_BACKEND_NS)

// The GPU runners are defined once (proof_kernels.cu) and linked; the emulator's are header-inline.
#if MM_SIMT
#define MM_PROOF_RUNNER inline
#else
#define MM_PROOF_RUNNER
#endif

namespace mm::proof {
inline namespace MM_BACKEND_NS {

MM_PROOF_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_PROOF_RUNNER std::vector<float> run_row_sum(const std::vector<float>& x, int rows, int n) {
  mm::gpu::DeviceBuffer<float> dx(x), dout(static_cast<size_t>(rows));
  mm::gpu::launch(row_sum_kernel<256>, dim3(rows), dim3(256), 0, nullptr, dx.data(), dout.data(), n);
  mm::gpu::synchronize();
  return dout.download();
}

MM_PROOF_RUNNER std::vector<float> run_gemm_bf16(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b, int m, int n,
                                        int k) {
  if (m % GemmTile::kM || n % GemmTile::kN || k % GemmTile::kK) throw std::invalid_argument("gemm: shape not tiled");
  std::vector<__nv_bfloat16> ha(a.size()), hb(b.size());
  std::memcpy(static_cast<void*>(ha.data()), a.data(), a.size() * 2);
  std::memcpy(static_cast<void*>(hb.data()), b.data(), b.size() * 2);
  mm::gpu::DeviceBuffer<__nv_bfloat16> da(ha), db(hb);
  mm::gpu::DeviceBuffer<float> dc(static_cast<size_t>(m) * n);
  mm::gpu::launch(gemm_bf16_kernel, dim3(n / GemmTile::kN, m / GemmTile::kM), dim3(GemmTile::kThreads), 0, nullptr,
                  da.data(), db.data(), dc.data(), m, n, k);
  mm::gpu::synchronize();
  return dc.download();
}

MM_PROOF_RUNNER std::vector<float> run_neighbour(const std::vector<float>& in, int threads, bool with_barrier) {
  mm::gpu::DeviceBuffer<float> din(in), dout(in.size());
  const dim3 grid(static_cast<unsigned>(in.size() / threads));
  if (with_barrier)
    mm::gpu::launch(neighbour_kernel<true>, grid, dim3(threads), 0, nullptr, din.data(), dout.data());
  else
    mm::gpu::launch(neighbour_kernel<false>, grid, dim3(threads), 0, nullptr, din.data(), dout.data());
  mm::gpu::synchronize();
  return dout.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::proof
