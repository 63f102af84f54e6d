#include "harness/bench.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/rng.h"
#include "harness/flops.h"
#include "harness/generation.h"
#include "harness/progress.h"
#include "harness/report.h"
#include "harness/stats.h"
#include "harness/vl_inputs.h"

namespace mm::harness {
namespace {

using nlohmann::json;
using Clock = SteadyClock;
constexpr auto secs = seconds_between;

json dist(const std::vector<double>& s) {
  return {{"samples", s}, {"p50", percentile(s, 50)}, {"p90", percentile(s, 90)}, {"p99", percentile(s, 99)},
          {"mean", mean(s)}, {"stddev", stddev(s)}};
}

// Adds achieved rates and the roof fraction for a time `t` (the p50) of a call costing `c`.
void add_rates(json& j, const Cost& c, double t, const Roof& roof, Precision precision) {
  const double gf = c.flops / t / 1e9, gb = c.bytes / t / 1e9;
  const double att = roof.attainable_gflops(precision, c.flops, c.bytes);
  j["flops"] = c.flops;
  j["bytes"] = c.bytes;
  j["gflops"] = gf;
  j["gbps"] = gb;
  j["arithmetic_intensity"] = c.bytes > 0 ? c.flops / c.bytes : 0;
  j["roof_gflops"] = att;
  j["roof_fraction"] = att > 0 ? gf / att : 0;
}

struct LayerSamples {
  std::vector<double> lightning, softmax, head;
};

// Per-layer time of one repetition, averaged over the layers of each type.
void add_layer_sample(LayerSamples& ls, const ModelConfig& c, const std::vector<double>& layer_s, double head_s,
                      double scale) {
  double sl = 0, ss = 0;
  int nl = 0, ns = 0;
  for (std::size_t l = 0; l < layer_s.size(); ++l) {  // the run's layers: a slice's start at first_layer
    if (c.layer_types[static_cast<std::size_t>(c.first_layer()) + l] == LayerType::Lightning) sl += layer_s[l], ++nl;
    else ss += layer_s[l], ++ns;
  }
  if (nl) ls.lightning.push_back(sl / nl * scale);
  if (ns) ls.softmax.push_back(ss / ns * scale);
  ls.head.push_back(head_s * scale);
}

json layer_json(const LayerSamples& ls, const ModelConfig& c, const Cost& light, const Cost& soft, const Cost& head,
                const Roof& roof, Precision prec) {
  json j;
  auto one = [&](const char* name, const std::vector<double>& s, const Cost& cost, int64_t count) {
    if (s.empty()) return;
    json x = dist(s);
    x["count"] = count;
    add_rates(x, cost, percentile(s, 50), roof, prec);
    j[name] = std::move(x);
  };
  one("lightning", ls.lightning, light, c.run_layers_of(LayerType::Lightning));
  one("softmax", ls.softmax, soft, c.run_layers_of(LayerType::Softmax));
  one("head", ls.head, head, 1);
  return j;
}

int first_of(const ModelConfig& c, LayerType t) {  // among the layers run
  for (int64_t l = c.first_layer(); l < c.end_layer(); ++l)
    if (c.layer_types[static_cast<std::size_t>(l)] == t) return static_cast<int>(l);
  return -1;
}

}  // namespace

void check_bench_options(const BenchOptions& opt) {
  require(opt.reps >= 1 && opt.reps <= 1'000'000, "bench: --reps must be in [1, 1000000], got " + std::to_string(opt.reps));
  require(opt.warmup >= 0 && opt.warmup <= 1'000'000,
          "bench: --warmup must be in [0, 1000000], got " + std::to_string(opt.warmup));
  require(opt.decode_steps >= 1, "bench: --decode-steps must be >= 1 (TPOT needs at least one decode step)");
  for (auto v : opt.prompt_lens) require(v >= 1, "bench: prompt lengths must be >= 1");
  for (auto v : opt.context_lens) require(v >= 1, "bench: context lengths must be >= 1");
  require(opt.prompt_lens.size() <= kMaxBenchLengths,
          "bench: --prompt-lens has " + std::to_string(opt.prompt_lens.size()) + " entries, at most " +
              std::to_string(kMaxBenchLengths) + " are allowed");
  require(opt.context_lens.size() <= kMaxBenchLengths,
          "bench: --context-lens has " + std::to_string(opt.context_lens.size()) + " entries, at most " +
              std::to_string(kMaxBenchLengths) + " are allowed");
  if (opt.image_sizes) {
    require(opt.image_sizes->size() <= 16, "bench: --image-sizes has " + std::to_string(opt.image_sizes->size()) +
                                               " entries, at most 16 are allowed");
    for (const auto& wh : *opt.image_sizes)
      require(wh[0] >= 1 && wh[1] >= 1 && wh[0] <= kMaxImageSide && wh[1] <= kMaxImageSide,
              "bench: --image-sizes: " + std::to_string(wh[0]) + "x" + std::to_string(wh[1]) +
                  " is out of range (each side in [1, " + std::to_string(kMaxImageSide) + "])");
  }
  require(opt.image_text_tokens >= 0, "bench: image_text_tokens must be >= 0");
  // every factor is bounded above, so the product fits an int64 with room to spare
  const int64_t per = static_cast<int64_t>(opt.warmup) + opt.reps;
  const int64_t lengths = static_cast<int64_t>(opt.prompt_lens.size() + opt.context_lens.size());
  require(per * lengths <= kMaxBenchCalls,
          "bench: (--warmup + --reps) x (entries of --prompt-lens + --context-lens) = (" + std::to_string(opt.warmup) +
              " + " + std::to_string(opt.reps) + ") x " + std::to_string(lengths) + " = " + std::to_string(per * lengths) +
              " runs per backend, more than the limit of " + std::to_string(kMaxBenchCalls));
  // (run_bench checks again once a VL model's default sizes are known)
  const int64_t images = static_cast<int64_t>(opt.image_sizes ? opt.image_sizes->size() : 0);
  if (images > 0)
    require(per * (lengths + images) <= kMaxBenchCalls,
          "bench: (--warmup + --reps) x (entries of --prompt-lens + --context-lens + --image-sizes) = (" +
              std::to_string(opt.warmup) + " + " + std::to_string(opt.reps) + ") x " + std::to_string(lengths + images) +
              " = " + std::to_string(per * (lengths + images)) + " runs per backend, more than the limit of " +
              std::to_string(kMaxBenchCalls));
}

namespace {

// What every series of one backend shares.
struct SeriesContext {
  const ModelConfig& cfg;
  const BenchOptions& opt;
  const Roof& roof;
  Progress& prog;
  std::string backend;
  Precision precision = Precision::F32;
  int eb = 4, sb = 4;           // bytes per weight/activation element; per state/score element
  int L_light = -1, L_soft = -1;  // the first layer of each type (its cost stands for all of them)
  int64_t per = 0;              // warm-up + measured repetitions

  // The progress label of repetition i (0-based): "warm-up 1/1", then "rep 1/9" .. "rep 9/9".
  std::string rep_label(int64_t i) const {
    const int64_t w = opt.warmup;
    return i < w ? "warm-up " + std::to_string(i + 1) + "/" + std::to_string(w)
                 : "rep " + std::to_string(i - w + 1) + "/" + std::to_string(per - w);
  }
};

// Generation reads only the last logits row: every step makes that row alone (the lm_head on one row),
// as a server would, and the head costs count one row.
StepRequest last_row_step(bool time_layers) {
  StepRequest r;
  r.time_layers = time_layers;
  r.all_logits = false;
  return r;
}

// TTFT at prompt length S: the prefill call (with the first output token chosen), per repetition.
json ttft_series(Backend& b, const SeriesContext& x, const std::vector<int64_t>& prompt) {
  const ModelConfig& cfg = x.cfg;
  const int64_t S = static_cast<int64_t>(prompt.size());
  std::vector<double> samples;
  LayerSamples ls;
  for (int64_t i = 0; i < x.per; ++i) {
    if (x.prog.stop_requested()) break;  // interrupted: the repetitions so far are kept
    x.prog.step(x.backend + " TTFT S=" + std::to_string(S) + " " + x.rep_label(i));
    b.reset();
    const auto t0 = Clock::now();
    StepResult res = b.step(prompt, last_row_step(true));
    (void)argmax_last_row(res.logits);  // the first output token is part of TTFT
    const double t = secs(t0, Clock::now());
    if (i < x.opt.warmup) continue;
    samples.push_back(t);
    add_layer_sample(ls, cfg, res.layer_seconds, res.head_seconds, 1.0);
  }
  if (samples.empty()) return nullptr;  // interrupted before a timed repetition
  json s = {{"backend", x.backend}, {"precision", to_string(x.precision)}, {"phase", "ttft"}, {"length", S}, {"unit", "s"}};
  s.update(dist(samples));
  s["tokens_per_s"] = static_cast<double>(S) / percentile(samples, 50);
  add_rates(s, forward_cost(cfg, S, 0, 1, x.eb, x.sb), percentile(samples, 50), x.roof, x.precision);
  s["layers"] = layer_json(ls, cfg, x.L_light >= 0 ? layer_cost(cfg, x.L_light, S, 0, x.eb, x.sb) : Cost{},
                           x.L_soft >= 0 ? layer_cost(cfg, x.L_soft, S, 0, x.eb, x.sb) : Cost{},
                           head_cost(cfg, S, 1, x.eb), x.roof, x.precision);
  return s;
}

// TPOT at context length C: greedy through the one generation loop (the prefill of the context, then
// decode_steps timed decode steps), TPOT = (E2E - TTFT) / (N_out - 1) per repetition.
json tpot_series(Backend& b, const SeriesContext& x, const std::vector<int64_t>& ctx) {
  const ModelConfig& cfg = x.cfg;
  const int64_t C = static_cast<int64_t>(ctx.size());
  const int steps = x.opt.decode_steps;
  std::vector<double> samples;
  LayerSamples ls;
  for (int64_t i = 0; i < x.per; ++i) {
    if (x.prog.stop_requested()) break;  // interrupted: the repetitions so far are kept
    x.prog.step(x.backend + " TPOT ctx=" + std::to_string(C) + " " + x.rep_label(i));
    std::vector<double> layer_sum(static_cast<std::size_t>(cfg.run_layer_count()), 0.0);
    double head_sum = 0;
    GenerationSteps g;
    g.prefill = last_row_step(false);
    g.decode = last_row_step(true);
    g.choose = [](const StepResult& r) { return argmax_last_row(r.logits); };
    auto t1 = Clock::now();
    g.on_token = [&](int64_t index, int64_t) {
      if (index == 0) t1 = Clock::now();  // first token out: TTFT
    };
    g.on_step = [&](int64_t step, const StepResult& d) {
      if (step == 0) return;
      for (std::size_t l = 0; l < layer_sum.size(); ++l) layer_sum[l] += d.layer_seconds[l];
      head_sum += d.head_seconds;
    };
    b.reset();
    const auto t0 = Clock::now();
    generate_tokens(b, ctx, steps + 1, g);
    const auto t2 = Clock::now();
    if (i < x.opt.warmup) continue;
    samples.push_back((secs(t0, t2) - secs(t0, t1)) / steps);  // (E2E - TTFT) / (N_out - 1)
    add_layer_sample(ls, cfg, layer_sum, head_sum, 1.0 / steps);
  }
  if (samples.empty()) return nullptr;  // interrupted before a timed repetition
  // The cost of the average decode step over contexts C .. C+steps-1.
  Cost step, light, soft, head;
  for (int s = 0; s < steps; ++s) {
    const double w = 1.0 / steps;
    auto add = [w](Cost& acc, const Cost& c) { acc.flops += w * c.flops; acc.bytes += w * c.bytes; };
    add(step, forward_cost(cfg, 1, C + s, 1, x.eb, x.sb));
    if (x.L_light >= 0) add(light, layer_cost(cfg, x.L_light, 1, C + s, x.eb, x.sb));
    if (x.L_soft >= 0) add(soft, layer_cost(cfg, x.L_soft, 1, C + s, x.eb, x.sb));
    add(head, head_cost(cfg, 1, 1, x.eb));
  }
  json s = {{"backend", x.backend}, {"precision", to_string(x.precision)}, {"phase", "tpot"},
            {"length", C},          {"decode_steps", steps},       {"unit", "s"}};
  s.update(dist(samples));
  s["tokens_per_s"] = 1.0 / percentile(samples, 50);
  add_rates(s, step, percentile(samples, 50), x.roof, x.precision);
  s["layers"] = layer_json(ls, cfg, light, soft, head, x.roof, x.precision);
  return s;
}

// One image request of the image series: its prompt (text + one image's placeholders) and the image.
struct ImageRequest {
  ModelInput input;
  SyntheticImage image;
  int64_t text_tokens = 0;
};

// Image TTFT (MiniMax-VL-01): the prefill call on text + one image, per repetition, and the images' part
// of it per crop (StepResult::vision_seconds / crops). A backend that does not time its vision part
// (vision_seconds 0 throughout) gets "vision": null.
json image_series(Backend& b, const SeriesContext& x, const ImageRequest& q, const VlConfig& vl) {
  const ModelConfig& cfg = x.cfg;
  const int64_t S = q.input.length(), crops = q.image.crops;
  const std::string size = std::to_string(q.image.width) + "x" + std::to_string(q.image.height);
  std::vector<double> samples, vision;
  bool vision_timed = false;
  LayerSamples ls;
  for (int64_t i = 0; i < x.per; ++i) {
    if (x.prog.stop_requested()) break;  // interrupted: the repetitions so far are kept
    x.prog.step(x.backend + " image TTFT " + size + " " + x.rep_label(i));
    b.reset();
    const auto t0 = Clock::now();
    StepResult res = b.step(q.input, last_row_step(true));
    (void)argmax_last_row(res.logits);
    const double t = secs(t0, Clock::now());
    if (i < x.opt.warmup) continue;
    samples.push_back(t);
    vision.push_back(res.vision_seconds / static_cast<double>(crops));
    vision_timed = vision_timed || res.vision_seconds > 0;
    add_layer_sample(ls, cfg, res.layer_seconds, res.head_seconds, 1.0);
  }
  if (samples.empty()) return nullptr;  // interrupted before a timed repetition
  json s = {{"backend", x.backend}, {"precision", to_string(x.precision)}, {"phase", "image_ttft"},
            {"width", q.image.width}, {"height", q.image.height}, {"image_seed", q.image.seed},
            {"crops", crops}, {"image_tokens", q.image.tokens}, {"text_tokens", q.text_tokens},
            {"length", S}, {"unit", "s"}};
  s.update(dist(samples));
  s["tokens_per_s"] = static_cast<double>(S) / percentile(samples, 50);
  const Cost vis = vision_cost(vl, crops, x.eb);
  Cost all = forward_cost(cfg, S, 0, 1, x.eb, x.sb);
  all += vis;
  add_rates(s, all, percentile(samples, 50), x.roof, x.precision);
  s["layers"] = layer_json(ls, cfg, x.L_light >= 0 ? layer_cost(cfg, x.L_light, S, 0, x.eb, x.sb) : Cost{},
                           x.L_soft >= 0 ? layer_cost(cfg, x.L_soft, S, 0, x.eb, x.sb) : Cost{},
                           head_cost(cfg, S, 1, x.eb), x.roof, x.precision);
  if (vision_timed) {
    json v = dist(vision);
    v["per"] = "crop";
    v["count"] = crops;
    const double c = static_cast<double>(crops);
    add_rates(v, Cost{vis.flops / c, vis.bytes / c}, percentile(vision, 50), x.roof, x.precision);
    v["share_of_ttft"] = percentile(vision, 50) * c / percentile(samples, 50);
    s["vision"] = std::move(v);
  } else {
    s["vision"] = nullptr;
  }
  return s;
}

// A backend that cannot run images refuses them with this message (a test-only or future backend; the
// kernels' backends run images since harness/cuda_backend.cpp took them): its image series is skipped.
bool refuses_images(const Error& e) { return std::string(e.what()).find("image inputs are not supported") != std::string::npos; }

// The image requests of a run (MiniMax-VL-01): one per size, each text + one seeded image, drawn after
// the text series' tokens (so those stay what they were). Checked to fit max_position_embeddings.
std::vector<ImageRequest> image_requests(const LoadedModel& m, const std::vector<std::array<int, 2>>& sizes,
                                         const BenchOptions& opt, Rng& rng) {
  std::vector<ImageRequest> out;
  if (sizes.empty()) return out;
  const vl::PreprocessConfig pc = vl::load_preprocess_config(m.dir);
  const int64_t id = m.vl->image_token_index;
  std::vector<int64_t> text = rng.tokens(opt.image_text_tokens, m.config.vocab_size);
  avoid_placeholder(text, id, m.config.vocab_size);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    ImageRequest q;
    const uint64_t seed = opt.seed * 64 + k + 1;  // <= 16 sizes: distinct per (seed, k)
    std::vector<ImageCrops> im;
    try {
      im.push_back(synthetic_image_crops(pc, sizes[k][0], sizes[k][1], seed, &q.image));
    } catch (const Error& e) {
      throw Error("bench: --image-sizes: " + std::to_string(sizes[k][0]) + "x" + std::to_string(sizes[k][1]) + ": " + e.what());
    }
    q.input = image_prompt(text, std::move(im), id);
    q.text_tokens = static_cast<int64_t>(text.size());
    require(q.input.length() <= m.config.max_position_embeddings,
            "bench: --image-sizes: the " + std::to_string(sizes[k][0]) + "x" + std::to_string(sizes[k][1]) +
                " image request is " + std::to_string(q.text_tokens) + " text + " + std::to_string(q.image.tokens) +
                " image tokens, more than max_position_embeddings = " + std::to_string(m.config.max_position_embeddings));
    out.push_back(std::move(q));
  }
  return out;
}

void check_lengths_fit(const BenchOptions& opt, const ModelConfig& cfg) {
  for (auto v : opt.prompt_lens)
    require(v <= cfg.max_position_embeddings, "bench: prompt length " + std::to_string(v) + " exceeds max_position_embeddings");
  for (auto v : opt.context_lens)
    require(v + opt.decode_steps <= cfg.max_position_embeddings,
            "bench: context length " + std::to_string(v) + " + decode steps exceeds max_position_embeddings");
}

// Why `name` cannot run here, or with these weights ("" when it can).
std::string unavailable(const std::string& name, WeightResidency weights) {
  if (name == "ref-f64" && weights == WeightResidency::Bf16)
    return "weights held in bf16 (--weights bf16) are for ref-f32 and ref-bf16; ref-f64 is the oracle and holds doubles";
  const BackendEntry* e = registry().find(name);
  return e ? e->why_unavailable() : "";
}

}  // namespace

BenchResult run_bench(const ModelSource& src, const BenchOptions& opt) {
  check_bench_options(opt);
  const ModelConfig& cfg = src.model.config;
  check_lengths_fit(opt, cfg);
  require(!opt.image_sizes || src.model.vl.has_value(),
          "bench: --image-sizes needs a MiniMax-VL-01 model (a vision tower); this one is a text model");
  BenchResult r;
  r.series = json::array();
  r.skipped = json::array();
  const std::vector<std::string> names = opt.backends.empty() ? registry().names() : opt.backends;
  Rng rng(opt.seed);
  int64_t maxlen = 1;
  for (auto v : opt.prompt_lens) maxlen = std::max(maxlen, v);
  for (auto v : opt.context_lens) maxlen = std::max(maxlen, v);
  const std::vector<int64_t> tokens = rng.tokens(maxlen, cfg.vocab_size);
  // MiniMax-VL-01: the image requests (the default size unless --image-sizes); a text model has none
  const std::vector<ImageRequest> image_reqs =
      src.model.vl ? image_requests(src.model, opt.image_sizes ? *opt.image_sizes : kDefaultImageSizes, opt, rng)
                   : std::vector<ImageRequest>{};
  if (src.model.vl) {
    BenchOptions with_sizes = opt;
    with_sizes.image_sizes = opt.image_sizes ? *opt.image_sizes : kDefaultImageSizes;
    check_bench_options(with_sizes);
    r.image_series = json::array();
    r.image_skipped = json::array();
  }
  r.load_average = load_average();  // before the run adds its own load
  r.roof = measure_roof();  // after every input is made and checked: a bad option fails at once
  const int64_t per = static_cast<int64_t>(opt.warmup) + opt.reps;  // check_bench_options: per x lengths <= 1e6
  const int64_t lengths = static_cast<int64_t>(opt.prompt_lens.size() + opt.context_lens.size() + image_reqs.size());
  int64_t total = 0;
  for (const auto& n : names)
    if (registry().find(n) && unavailable(n, src.model.weights).empty()) total += per * lengths;
  Progress prog("bench", total, opt.progress);
  for (const auto& name : names) {
    const std::string why = unavailable(name, src.model.weights);
    if (!why.empty()) {
      r.skipped.push_back({{"backend", name}, {"reason", why}});
      continue;
    }
    if (prog.stop_requested()) break;  // before loading the next backend
    auto b = registry().make(name, src.model);
    SeriesContext x{cfg, opt, r.roof, prog, name, b->precision()};
    x.eb = b->bytes_per_element();
    x.sb = x.precision == Precision::F64 ? 8 : 4;
    x.L_light = first_of(cfg, LayerType::Lightning);
    x.L_soft = first_of(cfg, LayerType::Softmax);
    x.per = per;
    // Interrupted (SIGINT / SIGTERM, core/interrupt.h): a series polls between its repetitions and
    // returns the ones it timed (null when none); the run stops after it, keeping every series so far.
    auto keep = [&](json& list, json s) {
      if (!s.is_null()) list.push_back(std::move(s));
      return !prog.stopped();
    };
    bool go = true;
    for (std::size_t k = 0; go && k < opt.prompt_lens.size(); ++k)
      go = keep(r.series, ttft_series(*b, x, {tokens.begin(), tokens.begin() + opt.prompt_lens[k]}));
    for (std::size_t k = 0; go && k < opt.context_lens.size(); ++k)
      go = keep(r.series, tpot_series(*b, x, {tokens.begin(), tokens.begin() + opt.context_lens[k]}));
    try {
      for (std::size_t k = 0; go && k < image_reqs.size(); ++k)
        go = keep(r.image_series, image_series(*b, x, image_reqs[k], *src.model.vl));
    } catch (const Error& e) {
      if (!refuses_images(e)) throw;
      r.image_skipped.push_back({{"backend", name}, {"reason", e.what()}});
    }
    if (prog.stopped()) break;
  }
  prog.done();
  if (prog.stopped()) r.interrupted = prog.interruption();
  return r;
}

json to_json(const BenchResult& r, const BenchOptions& opt) {
  json j = {{"roof", to_json(r.roof)},
            {"load_average", r.load_average.empty() ? json() : json(r.load_average)},
          {"formulas",
           {{"ttft", "time of the prefill call (S prompt tokens -> first output token; logits of the last row only); "
                     "prefill tok/s = S / TTFT p50"},
            {"tpot", "(E2E - TTFT) / (N_out - 1), N_out = decode_steps + 1, context C..C+decode_steps-1; "
                     "decode tok/s = 1 / TPOT p50"},
            {"flops_bytes", "harness/flops.h (analytic; GEMM + attention/state terms; weights, activations, caches)"},
            {"roof_fraction", "achieved GFLOP/s / min(peak GEMM GFLOP/s of the precision, AI x bandwidth GB/s)"},
            {"clock", "TTFT/TPOT: std::chrono::steady_clock (monotonic) on the host; per-layer: the backend's "
                      "(steady_clock; cuda: CUDA events, no per-layer synchronisation)"}}},
          {"options",
           {{"prompt_lens", opt.prompt_lens}, {"context_lens", opt.context_lens}, {"decode_steps", opt.decode_steps},
            {"reps", opt.reps}, {"warmup", opt.warmup}}},
          {"series", r.series},
          {"skipped", r.skipped}};
  if (!r.image_series.is_null()) {  // MiniMax-VL-01
    j["formulas"]["image_ttft"] =
        "time of the prefill call on text_tokens text tokens + one seeded synthetic image of width x height "
        "(its image_tokens placeholders expanded; the vision tower on every crop, the projector, the text model "
        "on all length tokens); tok/s = length / image TTFT p50; FLOP/bytes: text forward + vision tower + projector";
    j["formulas"]["vision_per_crop"] =
        "the images' part of the step (StepResult::vision_seconds: vision tower + projector + packing) / crops, "
        "per repetition; FLOP/bytes per crop: harness/flops.h vision_cost / crops";
    json sizes = json::array();
    for (const auto& wh : opt.image_sizes ? *opt.image_sizes : kDefaultImageSizes) sizes.push_back({wh[0], wh[1]});
    j["options"]["image_sizes"] = sizes;
    j["options"]["image_text_tokens"] = opt.image_text_tokens;
    j["image_series"] = r.image_series;
    j["image_skipped"] = r.image_skipped;
  }
  return j;
}

std::string summary(const BenchResult& r) {
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "bench: roof (measured now) bandwidth %.1f GB/s (memcpy %.1f, read %.1f), sgemm %.1f GFLOP/s, dgemm %.1f GFLOP/s\n",
                r.roof.bandwidth_gbps(), r.roof.memcpy_gbps, r.roof.read_gbps, r.roof.sgemm_gflops, r.roof.dgemm_gflops);
  s += buf;
  s += "  backend   phase  length   p50 ms   p90 ms   p99 ms    tok/s  GFLOP/s    GB/s  %roof | per layer p50 ms: lightning / softmax / head\n";
  for (const auto& x : r.series) {
    auto lay = [&](const char* k) { return x["layers"].contains(k) ? x["layers"][k]["p50"].get<double>() * 1e3 : NAN; };
    std::snprintf(buf, sizeof buf, "  %-9s %-5s %7lld %8.3f %8.3f %8.3f %8.1f %8.2f %7.2f %5.1f%% | %.3f / %.3f / %.3f\n",
                  x["backend"].get<std::string>().c_str(), x["phase"] == "ttft" ? "TTFT" : "TPOT",
                  static_cast<long long>(x["length"].get<int64_t>()), x["p50"].get<double>() * 1e3,
                  x["p90"].get<double>() * 1e3, x["p99"].get<double>() * 1e3, x["tokens_per_s"].get<double>(),
                  x["gflops"].get<double>(), x["gbps"].get<double>(), 100 * x["roof_fraction"].get<double>(),
                  lay("lightning"), lay("softmax"), lay("head"));
    s += buf;
  }
  for (const auto& k : r.skipped)
    s += "  " + k["backend"].get<std::string>() + ": SKIPPED " + k["reason"].get<std::string>() + "\n";
  if (r.image_series.is_array() && !r.image_series.empty())
    s += "  image TTFT (MiniMax-VL-01): backend  WxH  crops  image+text tokens  p50/p90/p99 ms  tok/s  GFLOP/s | "
         "vision per crop p50 ms, GFLOP/s, share of TTFT\n";
  if (r.image_series.is_array())
    for (const auto& x : r.image_series) {
      const json& v = x["vision"];
      std::snprintf(buf, sizeof buf, "  %-9s %dx%d %3lld crops %6lld+%lld tokens %8.3f %8.3f %8.3f %8.1f %8.2f | ",
                    x["backend"].get<std::string>().c_str(), x["width"].get<int>(), x["height"].get<int>(),
                    static_cast<long long>(x["crops"].get<int64_t>()), static_cast<long long>(x["image_tokens"].get<int64_t>()),
                    static_cast<long long>(x["text_tokens"].get<int64_t>()), x["p50"].get<double>() * 1e3,
                    x["p90"].get<double>() * 1e3, x["p99"].get<double>() * 1e3, x["tokens_per_s"].get<double>(),
                    x["gflops"].get<double>());
      s += buf;
      if (v.is_null()) s += "vision not timed by this backend\n";
      else {
        std::snprintf(buf, sizeof buf, "%.3f ms, %.2f GFLOP/s, %.0f%%\n", v["p50"].get<double>() * 1e3,
                      v["gflops"].get<double>(), 100 * v["share_of_ttft"].get<double>());
        s += buf;
      }
    }
  if (r.image_skipped.is_array())
    for (const auto& k : r.image_skipped)
      s += "  " + k["backend"].get<std::string>() + ": image series SKIPPED " + k["reason"].get<std::string>() + "\n";
  s += "  TTFT = prefill call time; TPOT = (E2E - TTFT) / (N_out - 1); %roof = achieved / min(peak, AI x BW)\n";
  return s;
}

}  // namespace mm::harness
