// MoE block kernels on the GPU at MiniMax-Text-01 shapes (hidden 6144, 32 experts x 9216, top-2).
// CUDA-event timing (Google Benchmark manual time), analytic counters:
//   GroupedFfn/<version>/T: FLOPs = 6 * n * H * I with n = T*k routed rows (W1, W3: 2*n*I*H each;
//     W2: 2*n*H*I); bytes = the weights of the experts that received a row + x rows in + y rows out.
//     Yardstick: a cuBLAS bf16 GEMM (fp32 out) of the same total FLOPs, [n, H] x [3I, H]^T, through
//     optimized/common/gemm.h, timed in the same benchmark: counter pct_of_cublas (target >= 60 %).
//   Cublas/T: that GEMM alone.
//   Step (router / permute / gather / combine) /T: memory-bound; bytes read + written, timed through
//     bench/gpu/membound_bench_util.h's run_timed like the other memory-bound benches: counters us, GB/s,
//     MB and the same-run copy ceiling copy_GB/s, pct_of_copy (a device-to-device copy of the same traffic).
//     At small T the traffic is a few KB, so both sides measure launch latency rather than bandwidth.
// Routing: uniform random top-2 per token (seeded), expert order per token random.
// Without a device every benchmark reports SkipWithError("no CUDA device").
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/gpu/membound_bench_util.h"
#define MM_MOE_DECLARE_CUDA 1
#include "optimized/moe/moe_runner.h"

namespace moe = mm::moe;
namespace gpu = mm::moe::backend_cuda;

namespace {

constexpr int kH = 6144, kI = 9216, kE = 32, kK = 2;

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void print_device_once() {
  static bool done = false;
  if (done) return;
  done = true;
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return;
  std::fprintf(stderr, "device: %s, %d SMs, sm_%d%d\n", p.name, p.multiProcessorCount, p.major, p.minor);
  benchmark::AddCustomContext("gpu", p.name);
}

template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t count) : n(count) { ck(cudaMalloc(&p, std::max<size_t>(1, count) * sizeof(T)), "cudaMalloc"); }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void upload(const std::vector<T>& h) { ck(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), "H2D"); }
};

uint16_t bf16_bits(float f) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// Fills a large bf16 buffer with N(0, scale^2) values: a 16 MiB random pattern copied over it.
void fill_random_bf16(uint16_t* dst, size_t count, uint64_t seed, float scale) {
  const size_t pattern = std::min<size_t>(count, size_t{8} << 20);
  std::vector<uint16_t> h(pattern);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  for (auto& v : h) v = bf16_bits(nd(rng));
  for (size_t off = 0; off < count; off += pattern) {
    const size_t c = std::min(pattern, count - off);
    ck(cudaMemcpy(dst + off, h.data(), c * 2, cudaMemcpyHostToDevice), "fill H2D");
  }
}

// Uniform random top-k (distinct experts) per token.
std::vector<int> random_ids(int T, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> pool(kE), ids;
  std::iota(pool.begin(), pool.end(), 0);
  for (int t = 0; t < T; ++t) {
    std::shuffle(pool.begin(), pool.end(), rng);
    for (int j = 0; j < kK; ++j) ids.push_back(pool[static_cast<size_t>(j)]);
  }
  return ids;
}

// Events around f(): milliseconds.
template <class F>
double time_ms(F&& f) {
  cudaEvent_t a, b;
  ck(cudaEventCreate(&a), "event");
  ck(cudaEventCreate(&b), "event");
  ck(cudaEventRecord(a), "record");
  f();
  ck(cudaEventRecord(b), "record");
  ck(cudaEventSynchronize(b), "sync");
  float ms = 0;
  ck(cudaEventElapsedTime(&ms, a, b), "elapsed");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms;
}

// The expert weights, allocated once for the whole program (10.9 GB).
struct ExpertWeights {
  Dev<uint16_t> w1{static_cast<size_t>(kE) * kI * kH}, w3{static_cast<size_t>(kE) * kI * kH},
      w2{static_cast<size_t>(kE) * kH * kI};
  ExpertWeights() {
    fill_random_bf16(w1.p, w1.n, 1, 1.0f / 78.4f);  // ~1/sqrt(H)
    fill_random_bf16(w3.p, w3.n, 2, 1.0f / 78.4f);
    fill_random_bf16(w2.p, w2.n, 3, 1.0f / 96.0f);  // ~1/sqrt(I)
  }
};
ExpertWeights& weights() {
  static ExpertWeights w;
  return w;
}

// Routed activations for T tokens: permuted rows, offsets on the device, and the touched-expert count.
struct Routed {
  int T, n, active = 0;
  Dev<int> ids, counts, offsets, perm, inv;
  Dev<uint16_t> x, xperm, h, ye;
  explicit Routed(int t)
      : T(t), n(t * kK), ids(static_cast<size_t>(n)), counts(kE), offsets(kE + 1), perm(static_cast<size_t>(n)),
        inv(static_cast<size_t>(n)), x(static_cast<size_t>(t) * kH), xperm(static_cast<size_t>(n) * kH),
        h(static_cast<size_t>(n) * kI), ye(static_cast<size_t>(n) * kH) {
    const std::vector<int> hid = random_ids(T, 77 + static_cast<uint64_t>(T));
    ids.upload(hid);
    std::vector<int> seen(kE, 0);
    for (int e : hid) seen[static_cast<size_t>(e)] = 1;
    active = std::accumulate(seen.begin(), seen.end(), 0);
    fill_random_bf16(x.p, x.n, 5, 1.0f);
    gpu::dev_permute(ids.p, T, kE, kK, counts.p, offsets.p, perm.p, inv.p, nullptr);
    gpu::dev_gather(x.p, perm.p, n, kH, xperm.p, nullptr);
    ck(cudaDeviceSynchronize(), "routing");
  }
};

const char* version_name(moe::FfnVersion v) {
  for (const auto& i : moe::kFfnVersions)
    if (i.id == v) return i.name;
  return "?";
}

// Median of `reps` timings of `run` (after one warm-up): both sides of a ratio are timed the same way.
template <class F> double median_ms(F&& run, int reps = 5) {
  run();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) t.push_back(time_ms(run));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double cublas_ms(int n, Dev<uint16_t>& a, Dev<float>& c) {
  const ExpertWeights& w = weights();
  // B = the first 3*I rows of w1 (any bf16 [3I, H] matrix; the values do not matter for the timing)
  return median_ms([&] { gpu::dev_gemm_bf16(a.p, w.w1.p, c.p, n, 3 * kI, kH, nullptr); });
}

void BM_GroupedFfn(benchmark::State& st) {
  if (!have_device()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  print_device_once();
  const auto v = static_cast<moe::FfnVersion>(st.range(0));
  const int T = static_cast<int>(st.range(1));
  st.SetLabel(version_name(v));
  ExpertWeights& w = weights();
  Routed r(T);
  auto run = [&] {
    gpu::dev_grouped_ffn(v, r.xperm.p, r.offsets.p, r.n, kE, kH, kI, w.w1.p, w.w3.p, w.w2.p, r.h.p, r.ye.p, nullptr);
  };
  run();  // warm-up (and the dynamic shared memory opt-in)
  ck(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : st) st.SetIterationTime(time_ms(run) / 1e3);
  const double flops = 6.0 * r.n * kH * kI;
  const double bytes = 3.0 * r.active * kH * kI * 2 + 2.0 * r.n * kH * 2 + 2.0 * r.n * kI * 2;
  st.counters["FLOP"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["active_experts"] = r.active;
  // Yardsticks in the same program, both timed as medians of 5 like the kernel here:
  // - compute: a cuBLAS GEMM of the same FLOPs (it reads ONE [3I, H] weight set, while the grouped FFN
  //   must read every active expert's weights, so at decode sizes this ratio is capped near 1/active);
  // - memory: a device-to-device copy of the same bytes, the ceiling that matters when T is small.
  Dev<float> c(static_cast<size_t>(r.n) * 3 * kI);
  const double cb = cublas_ms(r.n, r.xperm, c);
  const double mine = median_ms(run);
  const size_t copy_bytes = static_cast<size_t>(bytes / 2);  // a copy reads and writes: bytes/2 each way
  Dev<uint8_t> src(copy_bytes), dst(copy_bytes);
  const double cp = median_ms([&] { ck(cudaMemcpyAsync(dst.p, src.p, copy_bytes, cudaMemcpyDeviceToDevice), "copy"); });
  st.counters["cublas_TFLOPs"] = flops / (cb * 1e-3) / 1e12;
  st.counters["pct_of_cublas"] = 100.0 * cb / mine;
  st.counters["pct_of_copy"] = 100.0 * cp / mine;
}

void BM_Cublas(benchmark::State& st) {
  if (!have_device()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  print_device_once();
  const int T = static_cast<int>(st.range(0)), n = T * kK;
  const ExpertWeights& w = weights();
  Dev<uint16_t> a(static_cast<size_t>(n) * kH);
  fill_random_bf16(a.p, a.n, 9, 1.0f);
  Dev<float> c(static_cast<size_t>(n) * 3 * kI);
  auto run = [&] { gpu::dev_gemm_bf16(a.p, w.w1.p, c.p, n, 3 * kI, kH, nullptr); };
  run();
  ck(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : st) st.SetIterationTime(time_ms(run) / 1e3);
  st.counters["FLOP"] = benchmark::Counter(6.0 * n * kH * kI, benchmark::Counter::kIsIterationInvariantRate);
}

enum class Step { router, permute, gather, combine };

void BM_Step(benchmark::State& st) {
  if (!have_device()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  print_device_once();
  const auto step = static_cast<Step>(st.range(0));
  const int T = static_cast<int>(st.range(1));
  Routed r(T);
  Dev<float> logits(static_cast<size_t>(T) * kE);
  {
    std::vector<float> h(static_cast<size_t>(T) * kE);
    std::mt19937_64 rng(3);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    for (auto& v : h) v = nd(rng);
    logits.upload(h);
  }
  Dev<int> ids2(static_cast<size_t>(r.n));
  Dev<uint16_t> wts(static_cast<size_t>(r.n)), y(static_cast<size_t>(T) * kH);
  fill_random_bf16(wts.p, wts.n, 4, 0.5f);
  fill_random_bf16(r.ye.p, r.ye.n, 6, 1.0f);
  double bytes = 0;
  std::function<void()> run;
  switch (step) {
    case Step::router:
      st.SetLabel("router");
      run = [&] { gpu::dev_router(logits.p, T, kE, kK, ids2.p, wts.p, nullptr); };
      bytes = 4.0 * T * kE + 6.0 * r.n;
      break;
    case Step::permute:
      st.SetLabel("permute");
      run = [&] { gpu::dev_permute(r.ids.p, T, kE, kK, r.counts.p, r.offsets.p, r.perm.p, r.inv.p, nullptr); };
      bytes = 4.0 * r.n + 8.0 * r.n + 8.0 * kE + 4;
      break;
    case Step::gather:
      st.SetLabel("gather");
      run = [&] { gpu::dev_gather(r.x.p, r.perm.p, r.n, kH, r.xperm.p, nullptr); };
      bytes = 4.0 * r.n * kH + 4.0 * r.n;
      break;
    case Step::combine:
      st.SetLabel("combine");
      run = [&] { gpu::dev_combine(r.ye.p, r.ids.p, wts.p, r.inv.p, T, kK, kH, y.p, nullptr); };
      bytes = 2.0 * r.n * kH + 2.0 * T * kH + 10.0 * r.n;
      break;
  }
  // The routing steps move little data and do almost no arithmetic, so their ceiling is memory, not
  // cuBLAS: run_timed (shared with the other memory-bound benches) times the kernel as the median over
  // the loop and a same-run device-to-device copy of the same traffic as its median, and reports
  // pct_of_copy, the same counter BM_GroupedFfn gives for its memory ceiling.
  mm::bench::run_timed(st, static_cast<size_t>(bytes), 0, run);
}

void grouped_args(benchmark::internal::Benchmark* b) {
  for (const auto& v : moe::kFfnVersions)
    for (int T : {1, 16, 256, 4096}) {
      if (v.id == moe::FfnVersion::v1 && T > 16) continue;  // CUDA-core reference version: decode sizes only
      b->Args({static_cast<int64_t>(v.id), T});
    }
}

void step_args(benchmark::internal::Benchmark* b) {
  for (int s = 0; s < 4; ++s)
    for (int T : {1, 16, 256, 4096, 16384}) b->Args({s, T});
}

}  // namespace

BENCHMARK(BM_GroupedFfn)->Apply(grouped_args)->UseManualTime()->Unit(benchmark::kMicrosecond)->ArgNames({"version", "T"});
BENCHMARK(BM_Cublas)->Arg(1)->Arg(16)->Arg(256)->Arg(4096)->UseManualTime()->Unit(benchmark::kMicrosecond)->ArgNames({"T"});
BENCHMARK(BM_Step)->Apply(step_args)->UseManualTime()->Unit(benchmark::kMicrosecond)->ArgNames({"step", "T"});
BENCHMARK_MAIN();
