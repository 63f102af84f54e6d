// Shared by every kernel benchmark in bench/gpu (bench/gpu/README.md has the whole picture).
//
// ONE counter scheme for every kernel benchmark (scripts/gpu_summary.py reads exactly these names):
//   us              median time of one kernel call, microseconds (median over the benchmark's iterations)
//   GB/s            achieved bandwidth: the call's DRAM traffic (reads + writes) / median time
//   TFLOP/s         achieved arithmetic rate: the call's useful FLOPs / median time
//   copy_GB/s       memory ceiling, measured in the same benchmark run: a device-to-device cudaMemcpy
//                   moving the same traffic (bytes/2 read + bytes/2 written), median of 20
//   cublas_TFLOP/s  compute ceiling, measured in the same benchmark run: a cuBLAS bf16 GEMM (fp32 out,
//                   through the stem runner's optimized/common/gemm.h wrapper) of a stated shape, median
//   pct_of_ceiling  100 * achieved / ceiling, against the benchmark's PRIMARY ceiling: cublas_TFLOP/s
//                   when the benchmark reports it, copy_GB/s otherwise
//   pct_of_copy     only where a compute-bound benchmark also reports copy_GB/s as a secondary
//                   (memory) ceiling (the MoE grouped FFN at decode sizes): 100 * GB/s / copy_GB/s
//   MB, GFLOP       the call's traffic / arithmetic (what the rates divide)
// Both sides of every ratio are medians timed with CUDA events under the same clocks, so the ratio
// compares like with like. Benchmarks whose traffic fits in L2 (50 MB on an H100/H200) measure L2 on
// both sides; at a few KB both sides measure launch latency.
// Every benchmark has a `version:N` argument where the kernel has versions, and the version's name as
// its label; without a CUDA device every benchmark reports SkipWithError("no CUDA device").
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mm::bench {

inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

inline bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// Prints the card (name, SM count, memory clock, bus width) to stderr and records it in the JSON
// context (gpu, gpu_sms, gpu_cc, gpu_mem_GBps_theoretical, cuda_runtime, cuda_driver). Called from
// main (MM_GPU_BENCH_MAIN) before the benchmarks run: the context is written before the first result.
inline void describe_device() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    // Say why: on a machine whose nvidia-smi shows a GPU, this is the driver / runtime mismatch to fix.
    const std::string why = e != cudaSuccess ? cudaGetErrorString(e) : "no device";
    benchmark::AddCustomContext("gpu", "none (no CUDA device: " + why + ")");
    std::fprintf(stderr, "device: none (cudaGetDeviceCount: %s; every benchmark reports SkipWithError)\n",
                 why.c_str());
    return;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return;
  int mem_khz = 0, bus_bits = 0, rt = 0, drv = 0;
  cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  const double theo = 2.0 * mem_khz * 1e3 * bus_bits / 8 / 1e9;
  std::fprintf(stderr, "device: %s, %d SMs, sm_%d%d, memory clock %d MHz, bus %d bit (theoretical %.0f GB/s)\n",
               p.name, p.multiProcessorCount, p.major, p.minor, mem_khz / 1000, bus_bits, theo);
  benchmark::AddCustomContext("gpu", p.name);
  benchmark::AddCustomContext("gpu_sms", std::to_string(p.multiProcessorCount));
  benchmark::AddCustomContext("gpu_cc", std::to_string(p.major) + "." + std::to_string(p.minor));
  benchmark::AddCustomContext("gpu_mem_GBps_theoretical", std::to_string(static_cast<long long>(theo)));
  benchmark::AddCustomContext("gpu_l2_MB", std::to_string(p.l2CacheSize / (1 << 20)));
  benchmark::AddCustomContext("cuda_runtime", std::to_string(rt));
  benchmark::AddCustomContext("cuda_driver", std::to_string(drv));
}

// Owning raw device allocation.
struct DevMem {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DevMem(size_t n) : bytes(n) { cuda_check(cudaMalloc(&p, n ? n : 1), "cudaMalloc"); }
  ~DevMem() { cudaFree(p); }
  DevMem(const DevMem&) = delete;
  DevMem& operator=(const DevMem&) = delete;
  template <class T> T* as() const { return static_cast<T*>(p); }
};

// Owning device array of `n` T (plus 256 bytes of slack, so that a kernel's vector tail read past n
// stays inside the allocation).
template <class T>
struct DevArray {
  T* p = nullptr;
  size_t n = 0;
  explicit DevArray(size_t count) : n(count) { cuda_check(cudaMalloc(&p, count * sizeof(T) + 256), "cudaMalloc"); }
  ~DevArray() { cudaFree(p); }
  DevArray(const DevArray&) = delete;
  DevArray& operator=(const DevArray&) = delete;
  void upload(const std::vector<T>& h) {
    cuda_check(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), "H2D");
  }
};

inline uint16_t bf16_bits(float f) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// Fills `count` bf16 values on the device with N(0, scale^2) numbers: a host pattern of at most 8 Mi
// values (generated once per (seed, scale) for the whole program: Google Benchmark calls a benchmark
// function several times while it sizes the iteration count, and a full-size host fill would dominate
// the run) tiled over the buffer. Timing only: the values are finite and do not change the work.
inline void fill_bf16_normal(void* dev, size_t count, uint64_t seed, float scale) {
  static std::map<std::pair<uint64_t, float>, std::vector<uint16_t>> cache;
  std::vector<uint16_t>& h = cache[{seed, scale}];
  if (h.empty()) {
    h.resize(size_t{8} << 20);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.0f, scale);
    for (auto& v : h) v = bf16_bits(nd(rng));
  }
  auto* d = static_cast<uint16_t*>(dev);
  for (size_t off = 0; off < count; off += h.size()) {
    const size_t c = std::min(h.size(), count - off);
    cuda_check(cudaMemcpy(d + off, h.data(), c * 2, cudaMemcpyHostToDevice), "fill H2D");
  }
}

// Milliseconds of `launches` back-to-back calls of f() between one pair of CUDA events (stream 0). The
// event pair is created once per program: per-iteration event creation would add host overhead to every
// iteration of a microsecond kernel (not to its measured time, but to the benchmark's wall time).
inline std::pair<cudaEvent_t, cudaEvent_t> event_pair() {
  static cudaEvent_t a = nullptr, b = nullptr;
  if (!a) {
    cuda_check(cudaEventCreate(&a), "event");
    cuda_check(cudaEventCreate(&b), "event");
  }
  return {a, b};
}

template <class F> double time_ms(F&& f, int launches = 1) {
  const auto [a, b] = event_pair();
  cuda_check(cudaEventRecord(a), "record");
  for (int i = 0; i < launches; ++i) f();
  cuda_check(cudaEventRecord(b), "record");
  cuda_check(cudaEventSynchronize(b), "sync");
  float ms = 0;
  cuda_check(cudaEventElapsedTime(&ms, a, b), "elapsed");
  return ms;
}

inline double median_of(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t.empty() ? 0.0 : t[t.size() / 2];
}

// Median per-call milliseconds of f() over `reps` samples of `launches` calls each, after a warm-up.
template <class F> double median_ms(F&& f, int reps = 10, int launches = 1) {
  f();
  cuda_check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(time_ms(f, launches) / launches);
  return median_of(std::move(t));
}

// The memory ceiling: GB/s of a device-to-device copy moving `bytes` of traffic (bytes/2 read + bytes/2
// written), median of 20 after warm-up, timed `launches` copies per event pair like the kernel it is
// compared with.
inline double copy_gbps(size_t bytes, int launches = 1) {
  const size_t half = bytes / 2 > 0 ? bytes / 2 : 1;
  DevMem src(half), dst(half);
  cuda_check(cudaMemset(src.p, 1, half), "memset");
  const double ms = median_ms([&] { cudaMemcpyAsync(dst.p, src.p, half, cudaMemcpyDeviceToDevice); }, 20, launches);
  return 2.0 * static_cast<double>(half) / (ms * 1e-3) / 1e9;
}

// The compute ceiling: TFLOP/s of C[m,n] (f32) = A[m,k] B[n,k]^T in bf16, enqueued on stream 0 by
// gemm(a, b, c, m, n, k) (each stem's runner exposes its optimized/common/gemm.h cuBLAS call), median of
// `reps` after warm-up. A and B hold N(0, 0.1^2) values.
template <class Gemm> double cublas_tflops(int m, int n, int k, Gemm&& gemm, int reps = 10) {
  DevMem a(size_t(m) * k * 2), b(size_t(n) * k * 2), c(size_t(m) * n * 4);
  fill_bf16_normal(a.p, size_t(m) * k, 101, 0.1f);
  fill_bf16_normal(b.p, size_t(n) * k, 102, 0.1f);
  const double ms = median_ms([&] { gemm(a.as<uint16_t>(), b.as<uint16_t>(), c.as<float>(), m, n, k); }, reps);
  return 2.0 * m * n * double(k) / (ms * 1e-3) / 1e12;
}

// A 4096 x 4096 x k GEMM shape with about `flops` arithmetic (k a multiple of 64, at least 64): the
// "same FLOPs" cuBLAS ceiling of a kernel that is not itself one GEMM.
inline int same_flops_k(double flops, int m = 4096, int n = 4096) {
  const int k = static_cast<int>(std::llround(flops / (2.0 * m * n) / 64.0)) * 64;
  return std::max(k, 64);
}

// ---- reporting (the counter scheme above) ----------------------------------------------------------

inline void report_membound(benchmark::State& state, double median_s, double bytes, double copy, double flops = 0) {
  const double gbps = bytes / median_s / 1e9;
  state.counters["us"] = median_s * 1e6;
  state.counters["MB"] = bytes / 1e6;
  state.counters["GB/s"] = gbps;
  state.counters["copy_GB/s"] = copy;
  state.counters["pct_of_ceiling"] = 100.0 * gbps / copy;
  if (flops > 0) {
    state.counters["GFLOP"] = flops / 1e9;
    state.counters["TFLOP/s"] = flops / median_s / 1e12;
  }
}

inline void report_compute(benchmark::State& state, double median_s, double flops, double cublas, double bytes = 0) {
  const double tflops = flops / median_s / 1e12;
  state.counters["us"] = median_s * 1e6;
  state.counters["GFLOP"] = flops / 1e9;
  state.counters["TFLOP/s"] = tflops;
  state.counters["cublas_TFLOP/s"] = cublas;
  state.counters["pct_of_ceiling"] = 100.0 * tflops / cublas;
  if (bytes > 0) {
    state.counters["MB"] = bytes / 1e6;
    state.counters["GB/s"] = bytes / median_s / 1e9;
  }
}

// The benchmark loop with CUDA-event manual time: each iteration times `launches` back-to-back calls of
// f() and records the per-call time. Warm-up first. Returns the median per-call seconds.
template <class F> double timed_loop(benchmark::State& state, F&& f, int launches = 1) {
  for (int i = 0; i < 3; ++i) f();
  cuda_check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> times;
  for (auto _ : state) {
    const double ms = time_ms(f, launches) / launches;
    times.push_back(ms);
    state.SetIterationTime(ms * 1e-3);
  }
  cuda_check(cudaGetLastError(), "kernel");
  cuda_check(cudaDeviceSynchronize(), "kernel");
  return median_of(std::move(times)) * 1e-3;
}

// A memory-bound kernel: `bytes` = DRAM traffic of one call (reads + writes), `flops` = arithmetic of one
// call (0 to omit). Times the loop, then the same-run copy ceiling; reports the counter scheme above.
template <class F>
void run_timed(benchmark::State& state, size_t bytes, double flops, F&& f, int launches = 1) {
  const double median_s = timed_loop(state, f, launches);
  report_membound(state, median_s, static_cast<double>(bytes), copy_gbps(bytes, launches), flops);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * static_cast<int64_t>(state.iterations()));
}

// A compute-bound kernel: `flops` = useful arithmetic of one call; `cublas` = the same-run ceiling
// (cublas_tflops of the stated shape, measured by the caller after the loop); `bytes` optional.
template <class F, class Ceiling>
void run_timed_compute(benchmark::State& state, double flops, double bytes, Ceiling&& ceiling, F&& f,
                       int launches = 1) {
  const double median_s = timed_loop(state, f, launches);
  report_compute(state, median_s, flops, ceiling(), bytes);
}

}  // namespace mm::bench

// main() of every kernel benchmark: records the card in the JSON context, then runs as BENCHMARK_MAIN.
#define MM_GPU_BENCH_MAIN()                                                   \
  int main(int argc, char** argv) {                                           \
    ::benchmark::Initialize(&argc, argv);                                     \
    if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;       \
    ::mm::bench::describe_device();                                           \
    ::benchmark::RunSpecifiedBenchmarks();                                    \
    ::benchmark::Shutdown();                                                  \
    return 0;                                                                 \
  }                                                                           \
  int main(int, char**)
