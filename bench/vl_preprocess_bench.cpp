// MiniMax-VL-01 image preprocessing on the CPU (reference/vl_preprocess.h), on the same in-memory
// images as bench/vl_preprocess_pillow.py times in the pinned Pillow: RGB, splitmix64 noise, seed 1
// (core/image_synthetic.h). Single-threaded, like Pillow's resize.
//   BM_Preprocess/W/H  the whole pipeline: decoded image -> float32 pixel_values [crops, 3, 336, 336]
//   BM_Resize/W/H/K    only the two resizes (keep-ratio + thumbnail), Pillow's "resize_*" entries, with
//                      the horizontal pass of K = 0 (v1, direct) or 1 (v2, blocked; the default)
//   BM_Memcpy/W/H      a same-run roof: copying the image's bytes plus the pixel_values' bytes
// Counters: MAC/s (the resampler's integer multiply-adds, reference/pillow_resize.h) and bytes/s
// (image read once + uint8 crops + float32 pixel_values written once).
//   ./vl_preprocess_bench --benchmark_repetitions=9 --benchmark_out=vl.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include "bench/bench_main.h"

#include <cstring>
#include <vector>

#include "core/image_synthetic.h"
#include "reference/vl_preprocess.h"

namespace {
using namespace mm;

const image::Image& source(int w, int h) {
  static image::Image a = image::synthetic_image(1920, 1080, image::Mode::RGB, 1, image::SyntheticContent::Noise);
  static image::Image b = image::synthetic_image(4000, 3000, image::Mode::RGB, 1, image::SyntheticContent::Noise);
  return w == 1920 ? a : b;
}

struct Work {
  double macs = 0, bytes = 0;
};

Work work_of(int w, int h) {
  const vl::PreprocessConfig cfg = vl::released_preprocess_config();
  const vl::AnyresPlan p = vl::plan_anyres(w, h, cfg);
  Work k;
  k.macs = static_cast<double>(image::resize_multiply_adds(w, h, p.resized_width, p.resized_height, 3) +
                               image::resize_multiply_adds(w, h, 336, 336, 3));
  const double crop = 336.0 * 336.0 * 3.0;
  k.bytes = static_cast<double>(w) * h * 3 + p.num_crops * crop * (1 + 4);
  return k;
}

void counters(benchmark::State& st, const Work& k) {
  st.counters["MAC/s"] = benchmark::Counter(k.macs * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.counters["bytes/s"] = benchmark::Counter(k.bytes * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

void BM_Preprocess(benchmark::State& st) {
  const int w = static_cast<int>(st.range(0)), h = static_cast<int>(st.range(1));
  const image::Image& im = source(w, h);
  const vl::PreprocessConfig cfg = vl::released_preprocess_config();
  for (auto _ : st) benchmark::DoNotOptimize(vl::preprocess_image(im, cfg).pixel_values.data());
  counters(st, work_of(w, h));
}

void BM_Resize(benchmark::State& st) {
  const int w = static_cast<int>(st.range(0)), h = static_cast<int>(st.range(1));
  const image::Image& im = source(w, h);
  const vl::AnyresPlan p = vl::plan_anyres(w, h, vl::released_preprocess_config());
  const auto kernel = st.range(2) == 0 ? image::ResizeKernel::V1Direct : image::ResizeKernel::V2Blocked;
  const auto order = image::ResizeOrder::Pillow12;
  for (auto _ : st) {
    benchmark::DoNotOptimize(image::resize_bicubic(im, p.resized_width, p.resized_height, order, kernel).pixels.data());
    benchmark::DoNotOptimize(image::resize_bicubic(im, 336, 336, order, kernel).pixels.data());
  }
  Work k = work_of(w, h);
  k.bytes = static_cast<double>(w) * h * 3 * 2;  // the source read by each resize
  counters(st, k);
}

void BM_Memcpy(benchmark::State& st) {
  const Work k = work_of(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  std::vector<char> a(static_cast<std::size_t>(k.bytes / 2)), b(a.size());
  std::memset(a.data(), 1, a.size());
  for (auto _ : st) {
    std::memcpy(b.data(), a.data(), a.size());
    benchmark::ClobberMemory();
  }
  st.counters["bytes/s"] = benchmark::Counter(static_cast<double>(a.size()) * 2 * static_cast<double>(st.iterations()),
                                              benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Preprocess)->Args({1920, 1080})->Args({4000, 3000})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Resize)->ArgsProduct({{1920}, {1080}, {0, 1}})->ArgsProduct({{4000}, {3000}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Memcpy)->Args({1920, 1080})->Args({4000, 3000})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

MM_BENCHMARK_MAIN()
