// Reference (Eigen) throughput on this machine: whole-model prefill and decode, and each layer type,
// for the tiny and small presets. Counters: tokens/s and, for the layers, achieved GFLOP/s from an
// analytic FLOP count (2 flops per multiply-add of the GEMMs; the lightning core counted per the block
// algorithm, docs/semantics/text-01-model.md#block-prefill).
//   ./reference_bench --benchmark_format=json --benchmark_out=ref.json
#include <benchmark/benchmark.h>

#include "bench/bench_main.h"

#include <filesystem>
#include <map>
#include <memory>

#include "core/rng.h"
#include "reference/model.h"
#include "core/slopes.h"
#include "reference/synthetic.h"

namespace {
using namespace mm;

// One synthetic checkpoint per preset, written once under the temp dir and loaded per precision.
template <class P> const ref::Model<P>& model_for(const std::string& preset) {
  static std::map<std::string, std::unique_ptr<ref::Model<P>>> models;
  auto& m = models[preset];
  if (!m) {
    const ModelConfig c = preset_config(preset);
    const auto dir = (std::filesystem::temp_directory_path() / ("minimax01-bench-" + preset)).string();
    if (!std::filesystem::exists(dir + "/config.json")) ref::write_synthetic_checkpoint(dir, c, {});
    m = std::make_unique<ref::Model<P>>(c, ref::load_weights<P>(Checkpoint(dir), c));
  }
  return *m;
}

std::vector<int64_t> tokens(int64_t n, int64_t vocab) {
  Rng r(42);
  std::vector<int64_t> t(static_cast<std::size_t>(n));
  for (auto& x : t) x = r.below(vocab);
  return t;
}

const char* preset_of(int64_t i) { return i == 0 ? "tiny" : "small"; }

template <class P> void BM_Prefill(benchmark::State& st) {
  const auto& m = model_for<P>(preset_of(st.range(0)));
  const auto t = tokens(st.range(1), m.config().vocab_size);
  for (auto _ : st) {
    auto cache = m.new_cache();
    benchmark::DoNotOptimize(m.forward(t, cache));
  }
  st.counters["tokens/s"] = benchmark::Counter(static_cast<double>(t.size()) * st.iterations(), benchmark::Counter::kIsRate);
  st.SetLabel(std::string(P::kName) + " " + preset_of(st.range(0)));
}

// Decode: time one token after a prefill of range(1) tokens (the cache is rebuilt outside the timing).
template <class P> void BM_Decode(benchmark::State& st) {
  const auto& m = model_for<P>(preset_of(st.range(0)));
  const auto t = tokens(st.range(1), m.config().vocab_size);
  auto cache = m.new_cache();
  m.forward(t, cache);
  for (auto _ : st) {
    st.PauseTiming();
    auto c2 = cache;
    st.ResumeTiming();
    benchmark::DoNotOptimize(m.forward({7}, c2));
  }
  st.counters["tokens/s"] = benchmark::Counter(static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.SetLabel(std::string(P::kName) + " " + preset_of(st.range(0)) + " context " + std::to_string(st.range(1)));
}

// One decoder layer of a given type (layer 0 = lightning, layer 7 = softmax) on S tokens.
template <class P> void BM_Layer(benchmark::State& st) {
  const auto& m = model_for<P>(preset_of(st.range(0)));
  const ModelConfig& c = m.config();
  const int layer = static_cast<int>(st.range(2));
  const int64_t S = st.range(1), H = c.hidden_size, inner = c.inner_dim();
  Rng r(1);
  ref::Mat<typename P::T> x(S, H);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<typename P::T>(r.normal());
  for (auto _ : st) {
    ref::LayerCache<typename P::T> cache;
    benchmark::DoNotOptimize(ref::decoder_layer<P>(x, m.weights().layers[layer], c, layer, cache, ref::Continuation::Recurrent));
  }
  // GEMM flops: attention projections + top-k experts + router; plus the attention core.
  const double s = static_cast<double>(S), d = static_cast<double>(c.head_dim), nh = static_cast<double>(c.num_attention_heads);
  double f = 2.0 * s * static_cast<double>(c.num_experts_per_tok) * 3.0 * static_cast<double>(c.intermediate_size * H) +
             2.0 * s * static_cast<double>(c.num_local_experts * H);
  if (c.layer_types[layer] == LayerType::Lightning) {
    const double B = static_cast<double>(std::min<int64_t>(S, c.block_size));
    f += 2.0 * s * static_cast<double>(5 * inner * H);             // qkv (3), gate, out
    f += nh * (2.0 * s * d * d * 2 + 2.0 * s * B * d * 2);        // inter (Q KV, K^T V) + intra (Q K^T, P V)
  } else {
    f += 2.0 * s * static_cast<double>(2 * inner * H + 2 * c.kv_dim() * H);
    f += nh * 2.0 * (s * (s + 1) / 2) * d * 2;                     // causal QK^T and PV
  }
  st.counters["GFLOP/s"] = benchmark::Counter(f * st.iterations() / 1e9, benchmark::Counter::kIsRate);
  st.counters["tokens/s"] = benchmark::Counter(s * st.iterations(), benchmark::Counter::kIsRate);
  st.SetLabel(std::string(P::kName) + " " + preset_of(st.range(0)) +
              (c.layer_types[layer] == LayerType::Lightning ? " lightning layer" : " softmax layer"));
}

using ref::BF16;
using ref::F32;
using ref::F64;
// args: {preset (0 tiny, 1 small), tokens}
BENCHMARK(BM_Prefill<F32>)->Args({0, 300})->Args({1, 300})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Prefill<F64>)->Args({0, 300})->Args({1, 300})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Prefill<BF16>)->Args({0, 300})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Decode<F32>)->Args({0, 300})->Args({1, 300})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Decode<F64>)->Args({1, 300})->Unit(benchmark::kMillisecond)->UseRealTime();
// args: {preset, tokens, layer index}
BENCHMARK(BM_Layer<F32>)->Args({1, 300, 0})->Args({1, 300, 7})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

MM_BENCHMARK_MAIN()
