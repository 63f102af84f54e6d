// Shared by the memory-bound kernel benchmarks (embedding, rmsnorm, lightning_norm_gate, sampling, the MoE
// routing steps; softmax rope_append uses copy_gbps):
// CUDA-event timing through Google Benchmark's manual time, and the same-run ceiling: a device-to-device
// cudaMemcpy moving the same number of bytes (bytes/2 read + bytes/2 written), timed in the same
// benchmark right before the kernel, so "pct_of_copy" compares the two under the same clocks.
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace mm::bench {

inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

inline bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// Prints the card once (name, SM count, memory clock, bus width) to stderr.
inline void print_device_once() {
  static bool done = false;
  if (done) return;
  done = true;
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return;
  int mem_khz = 0, bus_bits = 0;
  cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  std::fprintf(stderr, "device: %s, %d SMs, memory clock %d MHz, bus %d bit (theoretical %.0f GB/s)\n", p.name,
               p.multiProcessorCount, mem_khz / 1000, bus_bits, 2.0 * mem_khz * 1e3 * bus_bits / 8 / 1e9);
}

// Owning raw device allocation.
struct DevMem {
  void* p = nullptr;
  explicit DevMem(size_t bytes) { cuda_check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc"); }
  ~DevMem() { cudaFree(p); }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
  template <class T> T* as() const { return static_cast<T*>(p); }
};

// Median-free simple timing: each iteration is one event pair around f(); warm-up first.
template <class F> double time_once_ms(F&& f) {
  cudaEvent_t a, b;
  cuda_check(cudaEventCreate(&a), "event");
  cuda_check(cudaEventCreate(&b), "event");
  cuda_check(cudaEventRecord(a), "record");
  f();
  cuda_check(cudaEventRecord(b), "record");
  cuda_check(cudaEventSynchronize(b), "sync");
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms;
}

// Median of a list of timings.
inline double median_of(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t.empty() ? 0.0 : t[t.size() / 2];
}

// GB/s of a device-to-device copy moving `bytes` of traffic (bytes/2 read + bytes/2 written): the
// ceiling for a kernel with the same traffic. Median of 20 after warm-up, the same statistic as the
// kernel's (run_timed), so the ratio compares like with like. Shapes whose traffic fits in L2 (50 MB on
// an H100) measure L2, not DRAM, bandwidth on both sides.
inline double copy_gbps(size_t bytes) {
  const size_t half = bytes / 2 > 0 ? bytes / 2 : 1;
  DevMem src(half), dst(half);
  cuda_check(cudaMemset(src.p, 1, half), "memset");
  for (int i = 0; i < 3; ++i) cuda_check(cudaMemcpy(dst.p, src.p, half, cudaMemcpyDeviceToDevice), "copy");
  std::vector<double> t;
  for (int i = 0; i < 20; ++i)
    t.push_back(time_once_ms([&] { cudaMemcpyAsync(dst.p, src.p, half, cudaMemcpyDeviceToDevice); }));
  return 2.0 * static_cast<double>(half) / (median_of(t) * 1e-3) / 1e9;
}

// Runs the benchmark loop with CUDA-event manual time; `bytes` = DRAM traffic of one call (reads +
// writes), `flops` = arithmetic of one call (0 to omit). Adds GB/s, copy_GB/s, pct_of_copy, us.
template <class F> void run_timed(benchmark::State& state, size_t bytes, double flops, F&& f) {
  print_device_once();
  for (int i = 0; i < 3; ++i) f();
  cuda_check(cudaDeviceSynchronize(), "warm-up");
  const double copy = copy_gbps(bytes);
  std::vector<double> times;
  for (auto _ : state) {
    const double ms = time_once_ms(f);
    times.push_back(ms);
    state.SetIterationTime(ms * 1e-3);
  }
  cuda_check(cudaGetLastError(), "kernel");
  const double median_s = median_of(times) * 1e-3;  // the median, the same statistic as the copy ceiling
  const double gbps = static_cast<double>(bytes) / median_s / 1e9;
  state.counters["us"] = median_s * 1e6;
  state.counters["GB/s"] = gbps;
  state.counters["copy_GB/s"] = copy;
  state.counters["pct_of_copy"] = 100.0 * gbps / copy;
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  if (flops > 0) state.counters["TFLOP/s"] = flops / median_s / 1e12;
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * static_cast<int64_t>(state.iterations()));
}

}  // namespace mm::bench
