// On-device sampling (optimized/sampling) at the MiniMax-Text-01 vocabulary (200064 fp32 logits per
// row), batch 1 .. 64: greedy, temperature 1 with top-k 50 / top-p 0.9, and full-vocabulary sampling.
// Traffic counted: the logits read once (the floor; the sort's scratch traffic is the kernel's cost).
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s (same-run D2D memcpy of the same traffic),
// pct_of_ceiling.
#include <benchmark/benchmark.h>

#include <map>
#include <utility>
#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#include "core/rng.h"

#define MM_SAMPLING_DECLARE_CUDA 1
#include "optimized/sampling/sampling_runner.h"

namespace {
namespace k = mm::sampling::backend_cuda;
constexpr int kVocab = 200064;

// mode 0: greedy; 1: T=1, top_k 50, top_p 0.9; 2: T=1, no filters (full sort)
void BM_sample(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), rows = static_cast<int>(state.range(1));
  const int mode = static_cast<int>(state.range(2));
  // Host data generated once per row count (Google Benchmark calls this function several times).
  static std::map<int, std::pair<std::vector<float>, std::vector<double>>> host;
  auto& [logits, us] = host[rows];
  if (logits.empty()) {
    logits.resize(static_cast<size_t>(rows) * kVocab);
    us.resize(static_cast<size_t>(rows));
    mm::Rng r(7);
    for (auto& v : logits) v = static_cast<float>(3.0 * r.normal());
    for (auto& u : us) u = r.uniform();
  }
  mm::bench::DevMem dl(logits.size() * 4), du(us.size() * 8), dt(us.size() * 4),
      ws(k::workspace_bytes(rows, kVocab));
  cudaMemcpy(dl.p, logits.data(), logits.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(du.p, us.data(), us.size() * 8, cudaMemcpyHostToDevice);
  const double T = mode == 0 ? 0.0 : 1.0;
  const int top_k = mode == 1 ? 50 : 0;
  const double top_p = mode == 1 ? 0.9 : 1.0;
  const mm::sampling::Version& v = k::versions()[static_cast<size_t>(version)];
  state.SetLabel(std::string(v.name) + (mode == 0 ? " greedy" : mode == 1 ? " T1 k50 p0.9" : " T1 full"));
  mm::sampling::Args a;
  a.logits = dl.as<float>(); a.rows = rows; a.V = kVocab; a.temperature = T; a.top_k = top_k; a.top_p = top_p;
  a.uniforms = du.as<double>(); a.tokens = dt.as<int>(); a.workspace = ws.p;
  mm::bench::run_timed(state, logits.size() * 4, 0, [&] { v.launch(a, nullptr); });
}

void args(benchmark::internal::Benchmark* b) {
  for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
    for (int mode : {0, 1, 2})
      for (int rows : {1, 8, 64}) b->Args({v, rows, mode});
  b->ArgNames({"version", "rows", "mode"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_sample)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
