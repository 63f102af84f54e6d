// MiniMax-VL-01's vision tower (reference/vision_encoder.h) on the CPU at the released sizes
// (vl_preset_config("minimax-vl-01").vision: D 1024, MLP 4096, 24 layers, 16 heads, 336 / 14), beside
// bench/vl_vision_hf.py (transformers' CLIPVisionModel, fp32, the same config and thread count).
// Seeded random weights (random_vision_weights, seed 1; built once, ~2.4 GB fp64 + 1.2 GB fp32) and
// seeded N(0,1) pixel values (seed 2).
//   BM_VisionTower<P>/crops   vision_tower_crops on 1 or 19 crops (19 = a 1920x1080 image: 18 tiles + thumbnail)
//   BM_VisionPart/part        one layer's pieces on one crop, fp32: 0 LayerNorm, 1 attention (q/k/v, core,
//                             out_proj), 2 MLP (fc1, GELU, fc2), 3 the patch embedding
//   BM_AttentionCore/parts    the attention core of one crop (16 heads) on a team of 1 or 2 threads
//   BM_Sgemm                  a same-run roof: Eigen (-> OpenBLAS sgemm) [577 x 1024] x [1024 x 4096]
//   BM_TowerGemms             only the GEMMs of one crop (every product the tower computes, with its
//                             shapes and weights, nothing between them): the time any implementation on
//                             this BLAS pays before its first LayerNorm; bench/vl_vision_hf.py --gemms times
//                             the same products through torch (MKL)
// Threads: OpenBLAS's count (OPENBLAS_NUM_THREADS; the default is every core). The tower runs on a team of
// that many threads (reference/team.h), each GEMM split into column blocks on single-threaded OpenBLAS;
// BM_Sgemm and BM_TowerGemms use OpenBLAS's own threads.
//
// FLOP count per crop (2 flops per multiply-add; S = N + 1 = 577 rows, N = 576 patches, K = 3*14*14 = 588,
// D = 1024, I = 4096, L = 24 layers, the attention core summed over heads: h * d = D):
//   patch conv as a GEMM  2 N K D                    =   0.694 GFLOP
//   per layer: q, k, v, out_proj  4 * 2 S D D        =   4.840 GFLOP
//              fc1 + fc2          2 * 2 S D I        =   9.680 GFLOP
//              QK^T + PV          2 * 2 S S D        =   1.364 GFLOP
//   total  2NKD + L (8 S D^2 + 4 S D I + 4 S^2 D)    = 381.9 GFLOP per crop (7.26 TFLOP for 19 crops)
// LayerNorm, softmax, GELU and the residual adds (O(S D) or O(S^2 h) each) are not counted.
//   ./vl_vision_bench --benchmark_filter='VisionTower<mm::ref::F32>/1' --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include "bench/bench_main.h"

#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/rng.h"
#include "core/vl_config.h"
#include "reference/vision_encoder.h"

namespace {
using namespace mm;
using ref::F32;
using ref::F64;

const VisionConfig& config() {
  static const VisionConfig c = vl_preset_config("minimax-vl-01").vision;
  return c;
}

const ref::VisionWeights<double>& weights64() {
  static const auto w = [] {
    Rng r(1);
    return std::make_unique<ref::VisionWeights<double>>(ref::random_vision_weights(config(), r));
  }();
  return *w;
}

template <class P> const ref::VisionWeights<typename P::T>& weights() {
  if constexpr (std::is_same_v<typename P::T, double>) {
    return weights64();
  } else {
    static const auto w = std::make_unique<ref::VisionWeights<float>>(ref::convert_weights<P>(weights64()));
    return *w;
  }
}

const std::vector<float>& pixels(int64_t crops) {
  static std::vector<float> p;
  const auto crop = static_cast<std::size_t>(config().num_channels * config().image_size * config().image_size);
  if (p.size() < crop * static_cast<std::size_t>(crops)) {
    Rng r(2);
    p.resize(crop * static_cast<std::size_t>(crops));
    for (auto& v : p) v = static_cast<float>(r.normal());
  }
  return p;
}

// The formula above.
double flops_per_crop() {
  const VisionConfig& c = config();
  const double N = static_cast<double>(c.num_patches()), S = N + 1, D = static_cast<double>(c.hidden_size),
               I = static_cast<double>(c.intermediate_size), L = static_cast<double>(c.num_hidden_layers),
               K = static_cast<double>(c.num_channels * c.patch_size * c.patch_size);
  return 2 * N * K * D + L * (8 * S * D * D + 4 * S * D * I + 4 * S * S * D);
}

template <class P> void BM_VisionTower(benchmark::State& st) {
  const int64_t n = st.range(0);
  const auto& w = weights<P>();
  const auto& px = pixels(n);
  const auto crop = static_cast<std::size_t>(config().num_channels * config().image_size * config().image_size);
  const std::span<const float> in(px.data(), crop * static_cast<std::size_t>(n));
  for (auto _ : st) benchmark::DoNotOptimize(ref::vision_tower_crops<P>(in, w, config()));
  const double it = static_cast<double>(st.iterations());
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_crop() * static_cast<double>(n) * it / 1e9,
                                              benchmark::Counter::kIsRate);
  st.counters["crops/s"] = benchmark::Counter(static_cast<double>(n) * it, benchmark::Counter::kIsRate);
  st.SetLabel(std::string(P::kName) + " " + std::to_string(n) + " crop(s)");
}

// One layer's pieces on one crop (layer 0's weights, fp32), to see where the time goes.
void BM_VisionPart(benchmark::State& st) {
  const VisionConfig& c = config();
  const auto& w = weights<F32>();
  const auto& L = w.layers[0];
  const Eigen::Index S = c.num_positions(), D = c.hidden_size;
  const double s = static_cast<double>(S), d = static_cast<double>(D), i4 = static_cast<double>(c.intermediate_size);
  ref::Mat<float> x(S, D);
  Rng r(3);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(r.normal());
  const auto crop = static_cast<std::size_t>(c.num_channels * c.image_size * c.image_size);
  const std::span<const float> px(pixels(1).data(), crop);
  double f = 0;
  const char* name = "";
  switch (st.range(0)) {
    case 0:
      for (auto _ : st) benchmark::DoNotOptimize(ref::layer_norm<F32>(x, L.layer_norm1, c.layer_norm_eps));
      name = "layer_norm";
      break;
    case 1:
      for (auto _ : st) benchmark::DoNotOptimize(ref::vision_attention<F32>(x, L, c.num_attention_heads));
      f = 8 * s * d * d + 4 * s * s * d;
      name = "attention";
      break;
    case 2:
      for (auto _ : st) benchmark::DoNotOptimize(ref::vision_mlp<F32>(x, L));
      f = 4 * s * d * i4;
      name = "mlp";
      break;
    default:
      for (auto _ : st) benchmark::DoNotOptimize(ref::patch_embed<F32>(px, w, c));
      f = 2 * (s - 1) * static_cast<double>(c.num_channels * c.patch_size * c.patch_size) * d;
      name = "patch_embed";
  }
  st.counters["GFLOP/s"] = benchmark::Counter(f * static_cast<double>(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
  st.SetLabel(name);
}

// The attention core of one crop (QK^T, softmax and PV of the 16 heads: attention_core) on a team of
// range(0) parts, fp32, q, k, v ~ N(0, 1): how the heads scale over the team.
void BM_AttentionCore(benchmark::State& st) {
  const VisionConfig& c = config();
  const Eigen::Index S = c.num_positions(), D = c.hidden_size;
  Rng r(6);
  ref::Mat<float> q(S, D), k(S, D), v(S, D);
  for (auto* m : {&q, &k, &v})
    for (Eigen::Index i = 0; i < m->size(); ++i) m->data()[i] = static_cast<float>(r.normal());
  const int parts = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(ref::attention_core<F32>(q, k, v, c.num_attention_heads, parts));
  const double s = static_cast<double>(S), d = static_cast<double>(D);
  st.counters["GFLOP/s"] = benchmark::Counter(4 * s * s * d * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  st.SetLabel(std::to_string(parts) + " part(s)");
}

// The roof: the tower's biggest GEMM shape (fc1 of one crop) through the same Eigen -> BLAS path.
void BM_Sgemm(benchmark::State& st) {
  const Eigen::Index M = 577, K = 1024, N = 4096;
  Rng r(4);
  ref::Mat<float> a(M, K), b(N, K);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(r.normal());
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = static_cast<float>(r.normal());
  ref::Mat<float> c(M, N);
  for (auto _ : st) {
    c.noalias() = a * b.transpose();  // x W^T (linear_bias runs the same product in column blocks)
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * K * N * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

// The GEMMs of one crop, alone: the patch conv [576 x 588] x [588 x 1024]; per layer q, k, v, out_proj
// [577 x 1024] x [1024 x 1024], fc1 [577 x 1024] x [1024 x 4096], fc2 [577 x 4096] x [4096 x 1024] (each
// layer's own weights, as the tower reads them), and per head QK^T [577 x 64] x [64 x 577] and
// PV [577 x 577] x [577 x 64]: exactly the 381.9 GFLOP of the formula above. The inputs are fixed
// random activations of the right shapes; the outputs are discarded.
void BM_TowerGemms(benchmark::State& st) {
  const VisionConfig& c = config();
  const auto& w = weights<F32>();
  const Eigen::Index S = c.num_positions(), N = c.num_patches(), D = c.hidden_size, I = c.intermediate_size,
                     K = c.num_channels * c.patch_size * c.patch_size, H = c.num_attention_heads, d = D / H;
  Rng r(5);
  auto randn = [&r](Eigen::Index rows, Eigen::Index cols) {
    ref::Mat<float> m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(r.normal());
    return m;
  };
  const ref::Mat<float> patches = randn(N, K), x = randn(S, D), h = randn(S, I), q = randn(S, D), k = randn(S, D),
                        v = randn(S, D);
  ref::Mat<float> conv(N, D), yd(S, D), yi(S, I), scores(S, S), o(S, D);
  auto once = [&] {
    conv.noalias() = patches * w.patch_embedding.transpose();
    for (const auto& L : w.layers) {
      for (const auto* p : {&L.q_proj, &L.k_proj, &L.v_proj, &L.out_proj}) yd.noalias() = x * p->w.transpose();
      yi.noalias() = x * L.fc1.w.transpose();
      yd.noalias() = h * L.fc2.w.transpose();
      for (Eigen::Index j = 0; j < H; ++j) {
        scores.noalias() = q.middleCols(j * d, d) * k.middleCols(j * d, d).transpose();
        o.middleCols(j * d, d).noalias() = scores * v.middleCols(j * d, d);
      }
    }
  };
  once();  // untimed: OpenBLAS's threads started, the outputs' pages touched (as the HF side's warm-up)
  for (auto _ : st) {
    once();
    benchmark::DoNotOptimize(o.data());
    benchmark::DoNotOptimize(yd.data());
    benchmark::DoNotOptimize(yi.data());
    benchmark::DoNotOptimize(conv.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_crop() * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  st.SetLabel("the GEMMs of 1 crop, fp32");
}

BENCHMARK(BM_Sgemm)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_VisionPart)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_AttentionCore)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_TowerGemms)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_VisionTower<F32>)->Arg(1)->Arg(19)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_VisionTower<F64>)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

MM_BENCHMARK_MAIN()
