// `minimax01 bench`: latency and throughput per backend, per layer type and end to end.
//   TTFT(S)  = time of the prefill call on an S-token prompt (embedding, every layer, final norm,
//              lm_head) that yields the first output token; prefill tokens/s = S / TTFT. Every bench
//              step makes the last logits row only (StepRequest::all_logits = false), as generation does.
//   TPOT(C)  = (E2E - TTFT) / (N_out - 1) for a request with a C-token context that produces N_out =
//              decode_steps + 1 tokens (the first from the prefill, then decode_steps decode calls; the
//              vLLM `bench serve` definition); decode tokens/s = 1 / TPOT. The context grows C..C+N-1.
// Every series repeats `reps` times after `warmup` untimed runs (monotonic clock); p50/p90/p99, mean,
// stddev and the raw samples are reported (compare's U test uses the samples). Per layer type
// (lightning, softmax, head) the per-layer time of each repetition is reported the same way. FLOP and
// bytes come from harness/flops.h, the roof from harness/roof.h.
// MiniMax-VL-01 models add one image series per image size:
//   image TTFT = time of the prefill call on a prompt of image_text_tokens text tokens and one seeded
//              synthetic image of that size (harness/vl_inputs.h), its placeholders expanded (so the
//              length is text + image tokens); the step runs the vision tower on every crop, the
//              projector, and the text model on the whole prompt.
//   vision per crop = StepResult::vision_seconds / crops of each repetition (the images' part of the
//              step: vision tower + projector + packing), with its FLOP from harness/flops.h.
// A backend that refuses images ("image inputs are not supported") is listed in image_skipped with its
// reason; its text series still run. (Every registered backend runs images today.)
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/interrupt.h"
#include "harness/model_source.h"
#include "harness/roof.h"

namespace mm::harness {

struct BenchOptions {
  std::vector<std::string> backends;  // empty = every registered backend (unavailable ones skipped)
  std::vector<int64_t> prompt_lens = {64, 256, 512};
  std::vector<int64_t> context_lens = {256, 1024};
  int decode_steps = 8;
  int reps = 9;  // >= 9 so that compare's U test is meaningful
  int warmup = 1;
  uint64_t seed = 0;
  bool progress = false;
  // MiniMax-VL-01: (width, height) of the image of each image series (--image-sizes). nullopt: the
  // default kDefaultImageSizes on a VL model, no image series on a text model; given (even empty) on a
  // text model: mm::Error naming --image-sizes. An empty list on a VL model runs no image series.
  std::optional<std::vector<std::array<int, 2>>> image_sizes;
  int64_t image_text_tokens = 32;  // text tokens around the image in an image request
};

// One 300 x 200 image: 2 crops (thumbnail + one tile) and 976 placeholder tokens with the released
// pinpoints, so a default run on vl-tiny / vl-small stays quick.
inline const std::vector<std::array<int, 2>> kDefaultImageSizes = {{300, 200}};

struct BenchResult {
  Roof roof;
  nlohmann::json series;   // array, see docs/report-schema.md
  nlohmann::json skipped;  // [{backend, reason}]
  // MiniMax-VL-01 only (null on a text model): the image series and the backends that refused images
  nlohmann::json image_series;   // array, see docs/report-schema.md
  nlohmann::json image_skipped;  // [{backend, reason}]
  // Set when SIGINT / SIGTERM stopped the run between two repetitions (core/interrupt.h): the series
  // above hold the repetitions timed until then (a series with none is left out), later ones are missing.
  std::optional<Interruption> interrupted;
  // The machine's load average (1, 5, 15 min, /proc/loadavg) when the run began, before its own load:
  // other work on the machine, which the timings share the cores with. Empty where unreadable.
  std::vector<double> load_average;
};

// Bounds on the size of a run, checked before anything runs: at most kMaxBenchLengths entries in each of
// prompt_lens and context_lens; reps and warmup at most 1e6; and (warmup + reps) x (number of prompt
// lengths + number of context lengths) at most kMaxBenchCalls series runs (warm-up or timed) per backend.
inline constexpr std::size_t kMaxBenchLengths = 64;
inline constexpr int64_t kMaxBenchCalls = 1'000'000;
// The image series count as lengths too: (warmup + reps) x (lengths + image sizes) <= kMaxBenchCalls.
// Throws mm::Error naming the options (--reps, --warmup, --prompt-lens, --context-lens, --decode-steps,
// --image-sizes) when `opt` is out of those bounds or malformed (a length < 1, reps < 1, ...). run_bench
// calls it too.
void check_bench_options(const BenchOptions& opt);

BenchResult run_bench(const ModelSource& src, const BenchOptions& opt);
nlohmann::json to_json(const BenchResult& r, const BenchOptions& opt);
std::string summary(const BenchResult& r);

}  // namespace mm::harness
