// Softmax attention kernels on the GPU (MiniMax-Text-01 softmax layers: 64 query heads, 8 KV heads,
// head_dim 128, rotary_dim 64, theta 1e7). CUDA-event timing (manual time), analytic counters.
//   prefill: causal, FLOPs = 4 * S^2/2 * d * n_h (QK^T and PV, causal half); yardstick = a cuBLAS bf16
//            GEMM (8192^3, through optimized/common/gemm.h) measured in this program: target >= 45 %.
//   decode:  bytes = the K/V read, sum_b len_b * n_kv * d * 2 (K and V) * 2 B; yardstick = a
//            device-to-device copy of the same bytes in this program, counted as read + write traffic
//            (2 x bytes / time): target >= 80 %.
//   rope_append: bytes = q, k, v read + q_rot, k, v written; yardstick = a device-to-device copy moving
//            the same traffic (membound_bench_util.h copy_gbps): copy_GBps, pct_of_copy.
// Without a device every benchmark reports SkipWithError("no CUDA device").
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "bench/gpu/membound_bench_util.h"
#define MM_SOFTMAX_ATTENTION_DECLARE_CUDA 1
#include "optimized/softmax_attention/softmax_attention_api.h"

namespace sa = mm::softmax_attention::backend_cuda;
using mm::softmax_attention::AttnShape;

namespace {

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t count) : n(count) { ck(cudaMalloc(&p, count * sizeof(T) + 256), "cudaMalloc"); }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
};

uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

void fill_random(Dev<uint16_t>& d, uint64_t seed, float scale = 1.0f) {
  std::vector<uint16_t> h(d.n);
  std::mt19937_64 r(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  for (auto& x : h) x = bf16_bits(nd(r));
  ck(cudaMemcpy(d.p, h.data(), d.n * 2, cudaMemcpyHostToDevice), "upload");
}

// Times `fn` (enqueued on stream 0) with CUDA events over the benchmark loop; returns the median
// iteration time in ms (the statistic a same-run ceiling is compared against).
template <class F>
double timed_loop(benchmark::State& state, F&& fn) {
  cudaEvent_t a, b;
  ck(cudaEventCreate(&a), "event");
  ck(cudaEventCreate(&b), "event");
  fn();  // warm-up
  ck(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> times;
  for (auto _ : state) {
    ck(cudaEventRecord(a), "record");
    fn();
    ck(cudaEventRecord(b), "record");
    ck(cudaEventSynchronize(b), "sync");
    float ms = 0;
    ck(cudaEventElapsedTime(&ms, a, b), "elapsed");
    times.push_back(ms);
    state.SetIterationTime(ms * 1e-3);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return mm::bench::median_of(std::move(times));
}

template <class F>
double median_ms(F&& fn, int reps) {
  cudaEvent_t a, b;
  ck(cudaEventCreate(&a), "event");
  ck(cudaEventCreate(&b), "event");
  fn();
  ck(cudaDeviceSynchronize(), "warm-up");
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    ck(cudaEventRecord(a), "record");
    fn();
    ck(cudaEventRecord(b), "record");
    ck(cudaEventSynchronize(b), "sync");
    float ms = 0;
    ck(cudaEventElapsedTime(&ms, a, b), "elapsed");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// cuBLAS bf16 GEMM rate (TFLOP/s), 8192^3, measured once per program.
double cublas_tflops() {
  static const double rate = [] {
    const int n = 8192;
    Dev<uint16_t> a(size_t(n) * n), b(size_t(n) * n);
    Dev<float> c(size_t(n) * n);
    fill_random(a, 1, 0.1f);
    fill_random(b, 2, 0.1f);
    const double ms = median_ms([&] { sa::enqueue_gemm_bf16(nullptr, n, n, n, a.p, b.p, c.p); }, 10);
    return 2.0 * n * n * double(n) / (ms * 1e-3) / 1e12;
  }();
  return rate;
}

const AttnShape kModel{64, 8, 128, 64, 1e7};

void BM_Prefill(benchmark::State& state) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const int version = static_cast<int>(state.range(0)), S = static_cast<int>(state.range(1));
  const AttnShape sh = kModel;
  Dev<uint16_t> q(size_t(S) * sh.n_h * sh.d), kc(size_t(S) * sh.n_kv * sh.d), vc(kc.n), o(q.n);
  fill_random(q, 3);
  fill_random(kc, 4);
  fill_random(vc, 5);
  timed_loop(state, [&] { sa::enqueue_prefill(version, nullptr, sh, q.p, kc.p, vc.p, o.p, S, 0); });
  const double flops = 4.0 * (double(S) * S / 2) * sh.d * sh.n_h;
  const double ref = cublas_tflops();
  state.counters["TFLOPs"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["cublas_TFLOPs"] = ref;
  state.counters["FLOP"] = flops;
  state.SetLabel(mm::softmax_attention::kPrefillVersions[version]);
}

void BM_Decode(benchmark::State& state) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const int version = static_cast<int>(state.range(0)), B = static_cast<int>(state.range(1));
  const int len = static_cast<int>(state.range(2));
  const AttnShape sh = kModel;
  const int cap = len;
  std::vector<int> lens(B);
  long long keys = 0;
  int max_len = 0;
  for (int b = 0; b < B; ++b) {  // different lengths, none a multiple of the split size
    lens[b] = std::max(1, len - 37 * b - 5);
    keys += lens[b];
    max_len = std::max(max_len, lens[b]);
  }
  const size_t row = size_t(sh.n_kv) * sh.d;
  Dev<uint16_t> q(size_t(B) * sh.n_h * sh.d), o(q.n), kc(size_t(B) * cap * row), vc(kc.n);
  Dev<int> dl(B);
  fill_random(q, 6);
  ck(cudaMemset(kc.p, 0x3F, kc.n * 2), "memset");  // 0x3F3F = 0.746 in bf16: finite, timing only
  ck(cudaMemset(vc.p, 0x3E, vc.n * 2), "memset");
  ck(cudaMemcpy(dl.p, lens.data(), B * sizeof(int), cudaMemcpyHostToDevice), "upload");
  const int split = sa::auto_split_size(sh, B, max_len);
  Dev<float> ws(std::max<size_t>(1, sa::decode_workspace_floats(version, sh, B, cap, max_len, split)));
  timed_loop(state, [&] { sa::enqueue_decode(version, nullptr, sh, q.p, kc.p, vc.p, dl.p, o.p, B, cap, max_len, split, ws.p); });
  const double bytes = double(keys) * row * 2 * 2;
  // Yardstick: copy the same number of bytes device to device (read + write traffic).
  const size_t nb = static_cast<size_t>(bytes);
  Dev<uint8_t> src(nb), dst(nb);
  ck(cudaMemset(src.p, 1, nb), "memset");
  const double copy_ms = median_ms([&] { ck(cudaMemcpyAsync(dst.p, src.p, nb, cudaMemcpyDeviceToDevice), "copy"); }, 10);
  const double copy_gbs = 2.0 * bytes / (copy_ms * 1e-3) / 1e9;
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["copy_GBps"] = copy_gbs;
  state.counters["bytes"] = bytes;
  state.counters["split"] = split;
  state.SetLabel(mm::softmax_attention::kDecodeVersions[version]);
}

void BM_RopeAppend(benchmark::State& state) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const int T = static_cast<int>(state.range(0));
  const AttnShape sh = kModel;
  Dev<uint16_t> q(size_t(T) * sh.n_h * sh.d), k(size_t(T) * sh.n_kv * sh.d), v(k.n), qr(q.n), kc(k.n), vc(k.n);
  fill_random(q, 7);
  fill_random(k, 8);
  fill_random(v, 9);
  std::vector<float> inv(sh.rd / 2);
  for (int i = 0; i < sh.rd / 2; ++i) inv[i] = static_cast<float>(1.0 / std::pow(sh.theta, (2.0 * i) / sh.rd));
  Dev<float> dinv(inv.size());
  Dev<int> dpast(1);
  const int zero = 0;
  ck(cudaMemcpy(dinv.p, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice), "upload");
  ck(cudaMemcpy(dpast.p, &zero, 4, cudaMemcpyHostToDevice), "upload");
  const double kernel_ms = timed_loop(state, [&] {
    sa::enqueue_rope_append(nullptr, sh, q.p, k.p, v.p, qr.p, kc.p, vc.p, dpast.p, dinv.p, T, T, T);
  });
  const double bytes = 2.0 * 2.0 * (double(q.n) + 2.0 * k.n);
  // rope_append is memory-bound (a few FLOPs per element), so its yardstick is the same-run copy ceiling,
  // as for decode: copy_gbps moves the same traffic (bytes/2 read + bytes/2 written) and is a median, so
  // pct_of_copy compares it with the kernel's median iteration, like with like.
  const double copy_gbs = mm::bench::copy_gbps(static_cast<size_t>(bytes));
  state.counters["GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["copy_GBps"] = copy_gbs;
  state.counters["pct_of_copy"] = 100.0 * (bytes / (kernel_ms * 1e-3) / 1e9) / copy_gbs;
  state.counters["bytes"] = bytes;
}

}  // namespace

BENCHMARK(BM_Prefill)
    ->Args({1, 8192})->Args({2, 8192})->Args({1, 4096})->Args({2, 4096})->Args({1, 16384})->Args({2, 16384})
    ->Args({0, 2048})->Args({1, 2048})->Args({2, 2048})
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)
    ->Args({1, 8, 32768})->Args({1, 32, 8192})->Args({1, 1, 131072})->Args({1, 64, 4096})->Args({0, 8, 32768})
    ->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RopeAppend)->Arg(8192)->UseManualTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
