#include "harness/roof.h"

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm::harness {
namespace {

template <class F> double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

template <class T> double gemm_gflops(int n) {
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  M a = M::Random(n, n), b = M::Random(n, n), c(n, n);
  c.noalias() = a * b;  // warm-up (thread pool start, page faults)
  const double t = best_seconds(5, [&] { c.noalias() = a * b; });
  volatile T sink = c(0, 0);
  (void)sink;
  return 2.0 * n * n * static_cast<double>(n) / t / 1e9;
}

// Read bandwidth: every hardware thread sums its slice of a 256 MiB buffer of doubles (4 independent
// accumulators so the loads, not the adds, limit it); bytes = size / time, best of 5.
double read_gbps() {
  const std::size_t n = (std::size_t(256) << 20) / sizeof(double);
  std::vector<double> a(n, 1.0);
  const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
  std::vector<double> partial(nt, 0.0);
  auto run = [&] {
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < nt; ++t)
      ts.emplace_back([&, t] {
        const std::size_t lo = n * t / nt, hi = n * (t + 1) / nt;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        std::size_t i = lo;
        for (; i + 4 <= hi; i += 4) s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
        for (; i < hi; ++i) s0 += a[i];
        partial[t] = s0 + s1 + s2 + s3;
      });
    for (auto& th : ts) th.join();
  };
  run();  // warm-up
  const double t = best_seconds(5, run);
  volatile double sink = partial[0];
  (void)sink;
  return static_cast<double>(n * sizeof(double)) / t / 1e9;
}

}  // namespace

double Roof::attainable_gflops(Precision precision, double flops, double bytes) const {
  const double ai = bytes > 0 ? flops / bytes : 1e30;
  return std::min(peak_gflops(precision), ai * bandwidth_gbps());
}

Roof measure_roof() {
  Roof r;
  const std::size_t n = std::size_t(128) << 20;
  std::vector<char> src(n, 1), dst(n, 0);
  std::memcpy(dst.data(), src.data(), n);  // touch the pages first
  const double t = best_seconds(5, [&] { std::memcpy(dst.data(), src.data(), n); });
  r.memcpy_gbps = 2.0 * static_cast<double>(n) / t / 1e9;
  r.read_gbps = read_gbps();
  r.sgemm_gflops = gemm_gflops<float>(1024);
  r.dgemm_gflops = gemm_gflops<double>(1024);
  return r;
}

nlohmann::json to_json(const Roof& r) {
  return {{"memcpy_gbps", r.memcpy_gbps},
          {"read_gbps", r.read_gbps},
          {"bandwidth_gbps", r.bandwidth_gbps()},
          {"sgemm_gflops", r.sgemm_gflops},
          {"dgemm_gflops", r.dgemm_gflops},
          {"method", "measured in this run: memcpy 128 MiB (2 x bytes / time, best of 5, one thread); read-only sum "
                     "of 256 MiB on every hardware thread (bytes / time, best of 5); bandwidth = the larger; Eigen "
                     "1024^3 float/double GEMM (OpenBLAS when EIGEN_USE_BLAS), 2n^3 FLOP, best of 5; attainable = "
                     "min(peak of the backend's precision, AI x bandwidth)"}};
}

}  // namespace mm::harness
