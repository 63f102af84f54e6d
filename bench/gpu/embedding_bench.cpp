// Embedding gather (optimized/embedding) at MiniMax-Text-01 shapes: vocab 200064 x hidden 6144 bf16
// (a 2.46 GB table), tokens 1 .. 16384 at random ids. Traffic: the gathered rows read + written + ids.
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s (same-run D2D memcpy of the same traffic),
// pct_of_ceiling.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#include "core/rng.h"

#define MM_EMBEDDING_DECLARE_CUDA 1
#include "optimized/embedding/embedding_runner.h"

namespace {
namespace k = mm::embedding::backend_cuda;
constexpr int kVocab = 200064, kHidden = 6144;

void BM_embedding(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), T = static_cast<int>(state.range(1));
  static mm::bench::DevMem* table = nullptr;  // allocated once: 2.46 GB
  if (!table) {
    table = new mm::bench::DevMem(static_cast<size_t>(kVocab) * kHidden * 2);
    cudaMemset(table->p, 0x3f, static_cast<size_t>(kVocab) * kHidden * 2);
  }
  std::vector<int> ids(static_cast<size_t>(T));
  mm::Rng r(static_cast<uint64_t>(T));
  for (auto& id : ids) id = static_cast<int>(r.below(kVocab));
  mm::bench::DevMem dids(ids.size() * sizeof(int)), out(static_cast<size_t>(T) * kHidden * 2), bad(sizeof(int));
  cudaMemcpy(dids.p, ids.data(), ids.size() * sizeof(int), cudaMemcpyHostToDevice);
  const mm::embedding::Version& v = k::versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  mm::embedding::Args a;
  a.table = table->as<uint16_t>(); a.ids = dids.as<int>(); a.out = out.as<uint16_t>(); a.bad = bad.as<int>();
  a.tokens = T; a.H = kHidden; a.vocab = kVocab;
  const size_t bytes = 2 * static_cast<size_t>(T) * kHidden * 2 + ids.size() * sizeof(int);
  mm::bench::run_timed(state, bytes, 0, [&] {
    v.launch(a, nullptr);
  });
}

void args(benchmark::internal::Benchmark* b) {
  for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
    for (int T : {1, 16, 128, 1024, 4096, 16384}) b->Args({v, T});
  b->ArgNames({"version", "tokens"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_embedding)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
