// The CPU roof every bench timing is measured against, measured in the same run (so it reflects this
// machine, its load and its clocks now):
//   bandwidth: the larger of
//              memcpy of a 128 MiB buffer, bytes = 2 x size (read + write) / time, best of 5 (one thread), and
//              a read-only sum over a 256 MiB buffer split across every hardware thread, best of 5.
//              A decode step mostly reads (weights, caches) on all cores, and a one-thread memcpy pays
//              write-allocate traffic it does not count: with memcpy alone, ref-f32 TPOT on `small` showed
//              194 % of the "roof" (13.5 GB/s memcpy on this 2-core box).
//   compute:   Eigen float / double 1024^3 GEMM (OpenBLAS sgemm / dgemm when Eigen hands GEMMs to
//              BLAS, as the reference does), FLOP = 2 n^3, best of 5
// Roofline: attainable GFLOP/s = min(peak GEMM rate of the backend's precision, AI x bandwidth), with
// AI = FLOP / byte of the timed call (harness/flops.h), bandwidth = bandwidth_gbps().
// fraction = achieved / attainable.
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "harness/precision.h"

namespace mm::harness {

struct Roof {
  double memcpy_gbps = 0, read_gbps = 0, sgemm_gflops = 0, dgemm_gflops = 0;
  double bandwidth_gbps() const { return memcpy_gbps > read_gbps ? memcpy_gbps : read_gbps; }
  double peak_gflops(Precision p) const { return p == Precision::F64 ? dgemm_gflops : sgemm_gflops; }
  double attainable_gflops(Precision p, double flops, double bytes) const;
};

Roof measure_roof();
nlohmann::json to_json(const Roof& r);

}  // namespace mm::harness
