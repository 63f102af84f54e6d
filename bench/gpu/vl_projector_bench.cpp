// MiniMax-VL-01 packing + splicing (optimized/vl_projector) at the released shapes: one 1920 x 1080 image
// (anyres: a 3 x 6 tile grid, 19 crops of 24 x 24 features; kept 72 x 128 after unpadding, so
// 576 + 72 x 129 = 9864 image tokens) in a prompt of 32 + 32 text tokens, Ht 6144 (the text hidden size),
// the embedding table of the released vocabulary (200064 rows, 2.46 GB). `images` repeats the image in the
// prompt (1 or 4: prompts with several images). The op is a copy: every output row is read once (a feature
// row, the newline or a token embedding) and written once, so it is bound by copy bandwidth.
// Traffic: rows x Ht x 2 bytes read + the same written + the row map (4 bytes a row).
// Counters (bench/gpu/gpu_bench_util.h): us, MB, GB/s, copy_GB/s (same-run D2D memcpy of the same traffic),
// pct_of_ceiling.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/gpu/gpu_bench_util.h"
#include "core/rng.h"

#define MM_VL_PROJECTOR_DECLARE_CUDA 1
#include "optimized/vl_projector/vl_projector_runner.h"

namespace {
namespace k = mm::vl_projector::backend_cuda;
constexpr int kVocab = 200064, kHidden = 6144, kImageToken = 200025;  // image_token_index
constexpr int kText = 32;                                             // text tokens before and after

void BM_splice(benchmark::State& state) {
  if (!mm::bench::have_device()) { state.SkipWithError("no CUDA device"); return; }
  const int version = static_cast<int>(state.range(0)), n_images = static_cast<int>(state.range(1));
  static mm::bench::DevMem* table = nullptr;  // allocated once: 2.46 GB
  if (!table) {
    table = new mm::bench::DevMem(static_cast<size_t>(kVocab) * kHidden * 2);
    cudaMemset(table->p, 0x3f, static_cast<size_t>(kVocab) * kHidden * 2);
  }
  mm::vl_projector::ImageGeometry hd;
  hd.width = 1920; hd.height = 1080; hd.grid_rows = 3; hd.grid_cols = 6; hd.side = 24;
  const std::vector<mm::vl_projector::ImageGeometry> images(static_cast<size_t>(n_images), hd);
  const size_t per_image = mm::vl_projector::pack_rows({hd}).size();
  mm::Rng r(static_cast<uint64_t>(n_images));
  std::vector<int> ids;
  for (int i = 0; i < kText; ++i) ids.push_back(static_cast<int>(r.below(kImageToken)));
  ids.insert(ids.end(), per_image * static_cast<size_t>(n_images), kImageToken);
  for (int i = 0; i < kText; ++i) ids.push_back(static_cast<int>(r.below(kImageToken)));
  int F = 0;
  const std::vector<int> map = mm::vl_projector::plan_rows(ids, kImageToken, images, kVocab, &F);
  const size_t rows = map.size();
  mm::bench::DevMem features(static_cast<size_t>(F) * kHidden * 2), newline(kHidden * 2),
      dmap(rows * sizeof(int)), out(rows * kHidden * 2), bad(sizeof(int));
  mm::bench::fill_bf16_normal(features.p, static_cast<size_t>(F) * kHidden, 1, 1.0f);
  mm::bench::fill_bf16_normal(newline.p, kHidden, 2, 1.0f);
  cudaMemcpy(dmap.p, map.data(), rows * sizeof(int), cudaMemcpyHostToDevice);
  const mm::vl_projector::Version& v = k::versions()[static_cast<size_t>(version)];
  state.SetLabel(v.name);
  mm::vl_projector::Args a;
  a.features = features.as<uint16_t>(); a.newline = newline.as<uint16_t>(); a.table = table->as<uint16_t>();
  a.row_map = dmap.as<int>(); a.out = out.as<uint16_t>(); a.bad = bad.as<int>();
  a.rows = static_cast<int>(rows); a.Ht = kHidden; a.feature_rows = F; a.vocab = kVocab;
  state.counters["rows"] = static_cast<double>(rows);
  const size_t bytes = 2 * rows * kHidden * 2 + rows * sizeof(int);
  mm::bench::run_timed(state, bytes, 0, [&] { v.launch(a, nullptr); });
}

void args(benchmark::internal::Benchmark* b) {
  for (int v = 0; v < static_cast<int>(k::versions().size()); ++v)
    for (int images : {1, 4}) b->Args({v, images});
  b->ArgNames({"version", "images"})->UseManualTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_splice)->Apply(args);

}  // namespace

MM_GPU_BENCH_MAIN();
