#include "harness/soak.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/rng.h"
#include "core/strict_number.h"
#include "harness/generation.h"
#include "harness/metrics.h"
#include "harness/progress.h"
#include "harness/stats.h"
#include "harness/vl_inputs.h"

namespace mm::harness {
namespace {

using nlohmann::json;
using Clock = SteadyClock;
constexpr auto secs = seconds_between;

bool all_finite(const Tensor& t) {
  for (double v : t.values)
    if (!std::isfinite(v)) return false;
  return true;
}

struct Served {
  std::vector<int64_t> generated;
  Tensor logits;  // prefill logits then one row per decode step, stacked
  double ttft = 0, e2e = 0;
};

// Prefill, then greedy decode of `n_decode` tokens; every step's logits are kept for the checks.
// The prefill makes every logits row (StepRequest::all_logits stays true), unlike bench and generate:
// the non-finite check reads all of them on every request (a NaN injected into row r < S-1 of the last
// layer reaches only row r's logits, no cache and no later token), the oracle check compares all of
// them, and the oracle tolerance is calibrated on all of them. A decode step's one row is its last.
Served serve(Backend& b, const ModelInput& prompt, int64_t n_decode, const LayerHook& hook) {
  Served s;
  GenerationSteps g;
  g.prefill.after_layer = hook;
  g.choose = [](const StepResult& r) { return argmax_last_row(r.logits); };
  const auto t0 = Clock::now();
  g.on_token = [&](int64_t index, int64_t) {
    if (index == 0) s.ttft = secs(t0, Clock::now());
  };
  g.on_step = [&](int64_t, const StepResult& r) { append_rows(s.logits, r.logits); };
  b.reset();
  // n_decode decode steps; the token chosen after the last one is not fed, nor kept
  s.generated = generate_tokens(b, prompt, n_decode + 1, g);
  s.generated.pop_back();
  s.e2e = secs(t0, Clock::now());
  return s;
}

// Teacher-forced oracle logits for the same input (images included) and generated tokens.
Tensor oracle_logits(Backend& o, const ModelInput& prompt, const std::vector<int64_t>& generated) {
  o.reset();
  Tensor out = o.step(prompt, {}).logits;
  for (int64_t t : generated) append_rows(out, o.step({t}, {}).logits);
  return out;
}

// How a request ended (the header's classes), in the report's spelling.
enum class RequestClass : uint8_t { Success, SloBreach, Numerical, Error };
const char* to_string(RequestClass c) {
  switch (c) {
    case RequestClass::Success: return "success";
    case RequestClass::SloBreach: return "slo_breach";
    case RequestClass::Numerical: return "numerical";
    case RequestClass::Error: return "error";
  }
  return "?";
}

// One served request, as the report lists it.
struct RequestRecord {
  double t_s = 0;  // start, seconds since the stream began
  int64_t prompt = 0, decode = 0;  // prompt: every token, an image's placeholders included
  std::optional<SyntheticImage> image;  // MiniMax-VL-01: the request's image
  std::optional<FaultKind> fault;
  bool checked = false;                   // compared with the oracle
  bool served = false;                    // completed: the timings are set
  double ttft_ms = 0, e2e_ms = 0, tpot_ms = 0;
  std::optional<double> oracle_rel_fro;   // checked and finite
  RequestClass cls = RequestClass::Success;
  bool alloc_failure = false;             // the error was std::bad_alloc
  std::string why;                        // empty on success

  json to_json() const {
    json r = {{"t_s", t_s}, {"prompt", prompt}, {"decode", decode},
              {"fault", fault ? json(to_string(*fault)) : json(nullptr)}, {"checked", checked}};
    if (image)
      r["image"] = {{"width", image->width}, {"height", image->height}, {"seed", image->seed},
                    {"crops", image->crops}, {"tokens", image->tokens}};
    if (served) {
      r["ttft_ms"] = ttft_ms;
      r["e2e_ms"] = e2e_ms;
      r["tpot_ms"] = tpot_ms;
    }
    if (oracle_rel_fro) r["oracle_rel_fro"] = *oracle_rel_fro;
    r["class"] = to_string(cls);
    if (!why.empty()) r["why"] = why;
    return r;
  }
};

// Per fault kind, in the report's object form {"alloc": n, "bitflip": n, "nan": n, "slow": n}.
struct PerFault {
  int64_t n[4] = {0, 0, 0, 0};
  int64_t& operator[](FaultKind k) { return n[static_cast<int>(k)]; }
  int64_t operator[](FaultKind k) const { return n[static_cast<int>(k)]; }
  int64_t total() const { return n[0] + n[1] + n[2] + n[3]; }
  json to_json() const {
    json j = json::object();
    for (FaultKind k : kFaultKinds) j[to_string(k)] = (*this)[k];
    return j;
  }
};

// The image requests among `reqs` (MiniMax-VL-01): how many, their classes, crops and TTFT percentiles.
json image_window_json(const std::vector<const RequestRecord*>& reqs) {
  int64_t n = 0, checked = 0, ok = 0, num = 0, err = 0, slo = 0, crops = 0;
  std::vector<double> ttft;
  for (const RequestRecord* r : reqs) {
    if (!r->image) continue;
    ++n;
    checked += r->checked;
    crops += r->image->crops;
    ok += r->cls == RequestClass::Success;
    num += r->cls == RequestClass::Numerical;
    err += r->cls == RequestClass::Error;
    slo += r->cls == RequestClass::SloBreach;
    if (r->cls != RequestClass::Error) ttft.push_back(r->ttft_ms);
  }
  auto pct = [&](double p) { return ttft.empty() ? json(nullptr) : json(percentile(ttft, p)); };
  return {{"requests", n}, {"checked", checked}, {"crops", crops}, {"success", ok}, {"slo_breach", slo},
          {"numerical", num}, {"error", err}, {"ttft_ms", {{"p50", pct(50)}, {"p90", pct(90)}, {"p99", pct(99)}}}};
}

json window_json(const std::vector<const RequestRecord*>& reqs, double t0, double t1, bool images) {
  int64_t ok = 0, num = 0, err = 0, slo = 0;
  std::vector<double> e2e, ttft;
  for (const RequestRecord* r : reqs) {
    ok += r->cls == RequestClass::Success;
    num += r->cls == RequestClass::Numerical;
    err += r->cls == RequestClass::Error;
    slo += r->cls == RequestClass::SloBreach;
    if (r->cls != RequestClass::Error) {
      e2e.push_back(r->e2e_ms);
      ttft.push_back(r->ttft_ms);
    }
  }
  const int64_t n = static_cast<int64_t>(reqs.size());
  const int64_t succ = ok + slo, failed = err + num;
  json w = {{"start_s", t0}, {"end_s", t1}, {"requests", n}, {"success", ok}, {"slo_breach", slo},
            {"numerical", num}, {"error", err}};
  w["uptime_percent"] = succ + failed ? json(100.0 * succ / (succ + failed)) : json(nullptr);
  w["goodput_rps"] = t1 > t0 ? static_cast<double>(ok) / (t1 - t0) : 0.0;
  w["e2e_ms"] = {{"p50", e2e.empty() ? json(nullptr) : json(percentile(e2e, 50))},
                 {"p90", e2e.empty() ? json(nullptr) : json(percentile(e2e, 90))},
                 {"p99", e2e.empty() ? json(nullptr) : json(percentile(e2e, 99))}};
  w["ttft_ms"] = {{"p50", ttft.empty() ? json(nullptr) : json(percentile(ttft, 50))},
                  {"p99", ttft.empty() ? json(nullptr) : json(percentile(ttft, 99))}};
  if (images) w["images"] = image_window_json(reqs);
  return w;
}

// What a request is judged against: its SLOs (seconds) and the oracle tolerance (rel_fro).
struct Budgets {
  double slo_ttft = 0, slo_tpot = 0, tol = 0;
};

// One calibration request: served warm by the backend, its ref-bf16 error against the oracle.
struct CalRequest {
  ModelInput prompt;
  Served served;  // the backend's second (warm) run
  double budget_err = 0, tpot = 0;
  Budgets budgets;
};

CalRequest calibrate_one(Backend& b, Backend& oracle, Backend& budget, const SoakOptions& opt, ModelInput prompt,
                         int64_t decode) {
  CalRequest c;
  c.prompt = std::move(prompt);
  serve(b, c.prompt, decode, {});  // warm-up
  c.served = serve(b, c.prompt, decode, {});
  const Served cb = serve(budget, c.prompt, decode, {});
  c.budget_err = error_stats(cb.logits, oracle_logits(oracle, c.prompt, cb.generated)).rel_fro;
  c.budgets.tol = opt.k * c.budget_err + opt.floor_rel;
  c.budgets.slo_ttft = opt.slo_ttft_ms > 0 ? opt.slo_ttft_ms / 1e3 : std::max(10 * c.served.ttft, 0.020);
  c.tpot = (c.served.e2e - c.served.ttft) / static_cast<double>(decode);
  c.budgets.slo_tpot = opt.slo_tpot_ms > 0 ? opt.slo_tpot_ms / 1e3 : std::max(10 * c.tpot, 0.005);
  return c;
}

// MiniMax-VL-01 image requests: the preprocessing settings and the placeholder id.
struct ImageSource {
  double rate = 0;
  vl::PreprocessConfig pc;
  int64_t token_id = -1;
};

// The text prompt with one seeded image of (w, h) in its middle (harness/vl_inputs.h).
ModelInput with_image(std::vector<int64_t> text, const ImageSource& is, const ModelConfig& cfg, int w, int h,
                      uint64_t seed, SyntheticImage* info) {
  avoid_placeholder(text, is.token_id, cfg.vocab_size);
  std::vector<ImageCrops> im;
  im.push_back(synthetic_image_crops(is.pc, w, h, seed, info));
  return image_prompt(text, std::move(im), is.token_id);
}

// The run's fixed points, from one calibration request of the longest prompt: its timings set the
// default SLOs and its ref-bf16 error the oracle tolerance; with image requests, a second one with
// the largest image sets those of image requests.
struct Calibration {
  std::vector<int64_t> prompt;  // [max_prompt], reused by the final verification
  int64_t decode = 0;
  Served served;                // the backend's second (warm) run
  double budget_err = 0, tol = 0;
  double slo_ttft = 0, slo_tpot = 0, tpot = 0;  // seconds
  Budgets text() const { return {slo_ttft, slo_tpot, tol}; }
  // MiniMax-VL-01 with image requests: max_prompt text + a max_image_side x max_image_side image
  std::optional<CalRequest> image;
  SyntheticImage image_info;
};

Calibration calibrate(Backend& b, Backend& oracle, Backend& budget, const SoakOptions& opt, const ModelConfig& cfg,
                      Rng& rng) {
  Calibration c;
  c.prompt.resize(static_cast<std::size_t>(opt.max_prompt));
  for (auto& t : c.prompt) t = rng.below(cfg.vocab_size);
  c.decode = std::max<int64_t>(opt.max_decode, 1);
  const CalRequest t = calibrate_one(b, oracle, budget, opt, c.prompt, c.decode);
  c.served = t.served;
  c.budget_err = t.budget_err;
  c.tol = t.budgets.tol;
  c.slo_ttft = t.budgets.slo_ttft;
  c.tpot = t.tpot;
  c.slo_tpot = t.budgets.slo_tpot;
  return c;
}

// The image calibration request (drawn after the text one, only when images are on).
void calibrate_images(Calibration& c, Backend& b, Backend& oracle, Backend& budget, const SoakOptions& opt,
                      const ModelConfig& cfg, const ImageSource& is, Rng& rng) {
  const int side = opt.max_image_side;
  ModelInput in = with_image(c.prompt, is, cfg, side, side, rng.next(), &c.image_info);
  c.image = calibrate_one(b, oracle, budget, opt, std::move(in), c.decode);
}

// One request of the seeded stream, drawn in a fixed order (the stream depends on the seed alone).
struct DrawnRequest {
  ModelInput prompt;
  std::optional<SyntheticImage> image;
  int64_t decode = 0;
  bool checked = false;
  std::optional<FaultKind> fault;  // the first kind whose draw hits
  int fault_layer = 0;
  uint64_t fault_seed = 0;
};

DrawnRequest draw_request(Rng& rng, const SoakOptions& opt, const ModelConfig& cfg, const ImageSource& is) {
  DrawnRequest d;
  const int64_t S = opt.min_prompt + rng.below(opt.max_prompt - opt.min_prompt + 1);
  d.decode = opt.min_decode + rng.below(opt.max_decode - opt.min_decode + 1);
  std::vector<int64_t> text(static_cast<std::size_t>(S));
  for (auto& t : text) t = rng.below(cfg.vocab_size);
  d.checked = rng.uniform() < opt.check_rate;
  for (const auto& f : opt.inject)  // every kind draws, whether or not an earlier one hit
    if (rng.uniform() < f.rate && !d.fault) d.fault = f.kind;
  d.fault_layer = static_cast<int>(cfg.first_layer() + rng.below(cfg.run_layer_count()));  // a layer that runs
  d.fault_seed = rng.next();
  // Image draws come last and only with images on, so a text-only stream is what it always was.
  if (is.rate > 0) {
    const bool image = rng.uniform() < is.rate;
    const int span = opt.max_image_side - opt.min_image_side + 1;
    const int w = opt.min_image_side + static_cast<int>(rng.below(span)), h = opt.min_image_side + static_cast<int>(rng.below(span));
    const uint64_t seed = rng.next();
    if (image) {
      d.image.emplace();
      d.prompt = with_image(std::move(text), is, cfg, w, h, seed, &*d.image);
      return d;
    }
  }
  d.prompt = ModelInput(std::move(text));
  return d;
}

// The hook that plants a nan, alloc or slow fault after layer `layer` (none for the others).
LayerHook fault_hook(std::optional<FaultKind> fault, int layer, uint64_t seed, double slo_ttft) {
  if (!fault || *fault == FaultKind::Bitflip) return {};
  const FaultKind k = *fault;
  return [k, layer, seed, slo_ttft](int l, int64_t rows, int64_t cols, double* h) {
    if (l != layer) return;
    if (k == FaultKind::Nan) h[seed % static_cast<uint64_t>(rows * cols)] = NAN;
    else if (k == FaultKind::Alloc) throw std::bad_alloc();
    else std::this_thread::sleep_for(std::chrono::duration<double>(1.5 * slo_ttft));
  };
}

// Serves the request and classifies it: error (any exception), numerical (non-finite logits, or oracle
// error over the tolerance when checked), slo_breach, success.
void serve_and_classify(RequestRecord& r, Backend& b, Backend& oracle, const DrawnRequest& d, const LayerHook& hook,
                        const Budgets& cal) {
  const int64_t N = d.decode;
  try {
    const Served s = serve(b, d.prompt, N, hook);
    r.served = true;
    r.ttft_ms = s.ttft * 1e3;
    r.e2e_ms = s.e2e * 1e3;
    r.tpot_ms = N > 0 ? (s.e2e - s.ttft) / static_cast<double>(N) * 1e3 : 0.0;
    bool numerical = false;
    if (!all_finite(s.logits)) numerical = true, r.why = "non-finite logits";
    else if (d.checked) {
      const double e = error_stats(s.logits, oracle_logits(oracle, d.prompt, s.generated)).rel_fro;
      r.oracle_rel_fro = e;
      if (!(e <= cal.tol)) numerical = true, r.why = "logits differ from ref-f64";
    }
    const bool late = s.ttft > cal.slo_ttft || (N > 0 && (s.e2e - s.ttft) / static_cast<double>(N) > cal.slo_tpot);
    r.cls = numerical ? RequestClass::Numerical : late ? RequestClass::SloBreach : RequestClass::Success;
  } catch (const std::bad_alloc&) {
    r.cls = RequestClass::Error, r.why = "alloc", r.alloc_failure = true;
  } catch (const Error& e) {
    r.cls = RequestClass::Error, r.why = std::string("mm::Error: ") + e.what();
  } catch (const std::exception& e) {
    r.cls = RequestClass::Error, r.why = std::string("exception: ") + e.what();
  }
}

// A weight bit flip in flight: one at a time, persistent until a numerical failure detects it.
struct BitflipState {
  bool out = false;          // a corruption is outstanding
  int64_t injected_at = 0;   // its request
  std::string weight;        // what was flipped
  json flips = json::array();
  int64_t caught_final = 0;  // found only by the verification request after the stream ended
};

// Which outcomes the injected faults explain; counts what was caught and what was not.
struct FaultLedger {
  PerFault injected, caught, not_injectable;
  int64_t unexplained = 0;     // failures no injected fault of the matching class explains
  int64_t served_corrupt = 0;  // successes served while a bit flip was outstanding (not checked)
  BitflipState flip;

  void detect_flip(Backend& b, int64_t request, bool at_final_verification) {
    flip.flips.push_back({{"weight", flip.weight}, {"injected_at_request", flip.injected_at},
                          {"detected_at_request", request}, {"latency_requests", request - flip.injected_at},
                          {"at_final_verification", at_final_verification}});
    if (at_final_verification) ++flip.caught_final;
    else ++caught[FaultKind::Bitflip];
    b.restore_weights();
    flip.out = false;
  }

  // Was this outcome the injected fault, caught as its class?
  void attribute(Backend& b, int64_t i, const RequestRecord& r) {
    const std::optional<FaultKind> f = r.fault;
    const bool flip_active = flip.out;
    const bool numerical = r.cls == RequestClass::Numerical, error = r.cls == RequestClass::Error;
    if (flip_active && numerical) detect_flip(b, i, false);
    else if (flip_active && f != FaultKind::Bitflip && r.cls == RequestClass::Success) ++served_corrupt;
    const bool nan_caught = f == FaultKind::Nan && numerical;
    const bool alloc_caught = f == FaultKind::Alloc && error && r.alloc_failure;
    const bool slow_caught = f == FaultKind::Slow && r.cls == RequestClass::SloBreach;
    if (nan_caught) ++caught[FaultKind::Nan];
    if (alloc_caught) ++caught[FaultKind::Alloc];
    if (slow_caught) ++caught[FaultKind::Slow];
    // A failure is explained only by an injected fault of the matching class; anything else (e.g. an
    // exception while a NaN was injected) is a real, unexplained failure.
    const bool explained = nan_caught || alloc_caught || slow_caught || (flip_active && numerical);
    if (!explained && (numerical || error)) ++unexplained;
  }
};

// The windows of `window` seconds over [0, total), then the overall one.
json windows_json(const std::vector<RequestRecord>& reqs, double total, double window, bool images) {
  json windows = json::array();
  for (double w0 = 0; w0 < total; w0 += window) {
    std::vector<const RequestRecord*> in;
    for (const auto& r : reqs)
      if (r.t_s >= w0 && r.t_s < w0 + window) in.push_back(&r);
    windows.push_back(window_json(in, w0, std::min(w0 + window, total), images));
  }
  return windows;
}

}  // namespace

const char* to_string(FaultKind k) {
  switch (k) {
    case FaultKind::Nan: return "nan";
    case FaultKind::Bitflip: return "bitflip";
    case FaultKind::Alloc: return "alloc";
    case FaultKind::Slow: return "slow";
  }
  return "?";
}

double parse_duration(const std::string& s) {
  std::size_t pos = 0;
  double v = 0;
  // strict decimal (core/strict_number.h): no '+', spaces or hex ("0x10" is 0 with the unit 'x10')
  if (parse_decimal_prefix(s, v, pos) != NumParse::Ok)
    throw UsageError("soak: --duration expects a decimal number with an optional unit (500ms, 30s, 2m, 1h), got '" + s + "'");
  const std::string unit = s.substr(pos);
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 1e-3;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else throw UsageError("soak: --duration has an unknown unit '" + unit + "' (use ms, s, m or h)");
  if (!std::isfinite(v)) throw UsageError("soak: --duration must be a finite number with an optional unit, got '" + s + "'");
  if (!(v > 0))
    throw UsageError("soak: --duration must be positive, got '" + s + "' (a soak of zero or negative length measures nothing)");
  return v * mult;
}

std::vector<FaultRate> parse_inject(const std::string& s) {
  std::vector<FaultRate> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string item = s.substr(start, end - start);
    start = end + 1;
    if (item.empty())
      throw UsageError("soak: --inject: element " + std::to_string(out.size() + 1) + " is empty (in '" + s +
                  "'; expected KIND:RATE[,KIND:RATE...])");
    const auto c = item.find(':');
    FaultRate f;
    const std::string kind = item.substr(0, c);
    bool known = false;
    for (FaultKind k : kFaultKinds)
      if (kind == to_string(k)) f.kind = k, known = true;
    if (!known) throw UsageError("soak: unknown fault kind '" + kind + "' in --inject (expected nan, bitflip, alloc or slow)");
    if (c == std::string::npos || parse_decimal(std::string_view(item).substr(c + 1), f.rate) != NumParse::Ok)
      throw UsageError("soak: --inject expects KIND:RATE with RATE a decimal number in [0, 1], got '" + item + "'");
    if (!(f.rate >= 0 && f.rate <= 1)) throw UsageError("soak: fault rate must be in [0, 1], got '" + item + "'");
    out.push_back(f);
  }
  return out;
}

namespace {

void check_options(const SoakOptions& opt, const ModelConfig& cfg) {
  require(opt.duration_s > 0 && opt.duration_s <= 30 * 86400.0, "soak: --duration must be positive and at most 30 days");
  require(opt.min_prompt >= 1 && opt.max_prompt >= opt.min_prompt, "soak: need 1 <= --min-prompt <= --max-prompt");
  require(opt.min_decode >= 0 && opt.max_decode >= opt.min_decode, "soak: need 0 <= --min-decode <= --max-decode");
  require(opt.max_prompt + opt.max_decode <= cfg.max_position_embeddings, "soak: prompt + decode exceed max_position_embeddings");
  require(opt.check_rate >= 0 && opt.check_rate <= 1, "soak: --check-rate must be in [0, 1]");
}

// The largest placeholder count of an image with both sides in [lo, hi] (every size is tried: the count
// is not monotone in either side). About (hi - lo)^2 x pinpoints steps: milliseconds at the defaults.
int64_t max_image_tokens(int lo, int hi, const vl::PreprocessConfig& pc) {
  int64_t m = 0;
  for (int w = lo; w <= hi; ++w)
    for (int h = lo; h <= hi; ++h) m = std::max(m, vl::image_token_count(w, h, pc));
  return m;
}

// The image rate in force (the default resolved) and, with images on, where they come from; mm::Error
// naming --image-rate for a rate outside [0, 1] or a rate > 0 on a text model, and for image requests
// that cannot fit max_position_embeddings.
ImageSource image_source(const SoakOptions& opt, const LoadedModel& m) {
  ImageSource is;
  const bool vl = m.vl.has_value();
  if (opt.image_rate >= 0 || std::isnan(opt.image_rate)) {
    require(opt.image_rate >= 0 && opt.image_rate <= 1,
            "soak: --image-rate must be a probability in [0, 1], got " + json(opt.image_rate).dump());
    require(vl || opt.image_rate == 0, "soak: --image-rate " + json(opt.image_rate).dump() +
                                           " needs a MiniMax-VL-01 model (a vision tower); this one is a text model");
    is.rate = opt.image_rate;
  } else {
    is.rate = vl ? kDefaultImageRate : 0;
  }
  if (is.rate == 0) return is;
  require(opt.min_image_side >= 1 && opt.min_image_side <= opt.max_image_side && opt.max_image_side <= kMaxImageSide,
          "soak: image sides need 1 <= min_image_side <= max_image_side <= " + std::to_string(kMaxImageSide) + ", got [" +
              std::to_string(opt.min_image_side) + ", " + std::to_string(opt.max_image_side) + "]");
  is.pc = vl::load_preprocess_config(m.dir);
  is.token_id = m.vl->image_token_index;
  const int64_t most = max_image_tokens(opt.min_image_side, opt.max_image_side, is.pc);
  require(opt.max_prompt + most + opt.max_decode <= m.config.max_position_embeddings,
          "soak: --max-prompt " + std::to_string(opt.max_prompt) + " + up to " + std::to_string(most) +
              " image tokens (sides up to " + std::to_string(opt.max_image_side) + ") + --max-decode " +
              std::to_string(opt.max_decode) + " exceed max_position_embeddings = " +
              std::to_string(m.config.max_position_embeddings) + " (lower --image-rate to 0 or the prompt lengths)");
  return is;
}

// The report's "result" (docs/report-schema.md).
json result_json(const SoakOptions& opt, const Calibration& cal, const std::vector<RequestRecord>& reqs,
                 const FaultLedger& led, double total, double window, const ImageSource& is) {
  const bool images = is.rate > 0;
  json overall = window_json([&] {
    std::vector<const RequestRecord*> all;
    for (const auto& r : reqs) all.push_back(&r);
    return all;
  }(), 0, total, images);
  overall["unexplained_failures"] = led.unexplained;
  overall["served_while_corrupt_unchecked"] = led.served_corrupt;
  json res;
  res["backend"] = opt.backend;
  res["duration_s"] = opt.duration_s;
  res["min_requests"] = opt.min_requests;
  res["elapsed_s"] = total;
  res["window_s"] = window;
  res["definitions"] = {
      {"uptime", "successful / (successful + errored) x 100 (OpenRouter); errored = error + numerical; "
                 "SLO breaches count as successful"},
      {"goodput", "requests that are correct and meet both SLOs, per second"},
      {"tpot", "(E2E - TTFT) / N_decode"},
      {"numerical", "non-finite logits (every request) or oracle rel_fro > k * err(ref-bf16) + floor (sampled)"}};
  res["slo"] = {{"ttft_ms", cal.slo_ttft * 1e3}, {"tpot_ms", cal.slo_tpot * 1e3},
                {"source", opt.slo_ttft_ms > 0 ? "given" : "10x the calibration request (min 20 / 5 ms)"}};
  res["calibration"] = {{"prompt", opt.max_prompt}, {"decode", cal.decode}, {"ttft_ms", cal.served.ttft * 1e3},
                        {"tpot_ms", cal.tpot * 1e3}, {"bf16_logits_rel_fro", cal.budget_err}, {"oracle_tol_rel_fro", cal.tol}};
  res["stream"] = {{"seed", opt.seed}, {"prompt", {opt.min_prompt, opt.max_prompt}}, {"decode", {opt.min_decode, opt.max_decode}},
                   {"check_rate", opt.check_rate}};
  if (images) {  // MiniMax-VL-01 image requests
    res["stream"]["image_rate"] = is.rate;
    res["stream"]["image_side"] = {opt.min_image_side, opt.max_image_side};
    const CalRequest& c = *cal.image;
    res["slo"]["image_ttft_ms"] = c.budgets.slo_ttft * 1e3;
    res["slo"]["image_tpot_ms"] = c.budgets.slo_tpot * 1e3;
    res["calibration"]["image"] = {{"width", cal.image_info.width}, {"height", cal.image_info.height},
                                   {"crops", cal.image_info.crops}, {"image_tokens", cal.image_info.tokens},
                                   {"prompt", c.prompt.length()}, {"ttft_ms", c.served.ttft * 1e3},
                                   {"tpot_ms", c.tpot * 1e3}, {"bf16_logits_rel_fro", c.budget_err},
                                   {"oracle_tol_rel_fro", c.budgets.tol}};
    res["definitions"]["images"] = "requests with one seeded synthetic image (probability image_rate); judged by the "
                                   "image calibration request's SLOs and tolerance; oracle teacher-forced on the same "
                                   "input, images included; TTFT excludes preprocessing (done when the request is drawn)";
  }
  json inject_opt = json::object();
  for (const auto& f : opt.inject) inject_opt[to_string(f.kind)] = f.rate;
  res["faults"] = {{"rates", inject_opt}, {"injected", led.injected.to_json()}, {"caught", led.caught.to_json()},
                   {"not_injectable", led.not_injectable.to_json()},
                   {"caught_at_final_verification", led.flip.caught_final},
                   {"missed", led.injected.total() - led.caught.total() - led.flip.caught_final},
                   {"bitflips", led.flip.flips}};
  res["overall"] = overall;
  res["windows"] = windows_json(reqs, total, window, images);
  if (reqs.size() <= 5000) {
    json list = json::array();
    for (const auto& r : reqs) list.push_back(r.to_json());
    res["requests"] = std::move(list);
  }
  return res;
}

}  // namespace

SoakResult run_soak(const ModelSource& src, const SoakOptions& opt) {
  const ModelConfig& cfg = src.model.config;
  check_options(opt, cfg);
  const ImageSource is = image_source(opt, src.model);
  auto b = registry().make(opt.backend, src.model);
  auto oracle = registry().make("ref-f64", src.model);
  auto budget = registry().make("ref-bf16", src.model);
  Rng rng(opt.seed);
  Calibration cal = calibrate(*b, *oracle, *budget, opt, cfg, rng);
  if (is.rate > 0) calibrate_images(cal, *b, *oracle, *budget, opt, cfg, is, rng);
  const double window = opt.window_s > 0 ? opt.window_s : std::max(opt.duration_s / 10, 0.25);

  std::vector<RequestRecord> reqs;
  FaultLedger led;
  Progress prog("soak", static_cast<int64_t>(opt.duration_s), opt.progress);
  int shown = 0;
  const auto start = Clock::now();
  std::optional<Interruption> stopped;
  for (int64_t i = 0;; ++i) {
    const double t_start = secs(start, Clock::now());
    if (t_start >= opt.duration_s && i >= opt.min_requests) break;
    // SIGINT / SIGTERM (core/interrupt.h): stop between two requests; every request served is kept.
    if (interrupt_at_step_boundary()) {
      char during[160];
      if (i == 0) std::snprintf(during, sizeof during, "soak: before the first request (loading the model, calibration)");
      else
        std::snprintf(during, sizeof during, "soak: request %lld, started %.2f s into a %.2f s run", static_cast<long long>(i),
                      reqs.back().t_s, opt.duration_s);
      stopped = Interruption{interrupt_signal_name(), during, i, -1};
      break;
    }
    while (opt.progress && shown < static_cast<int>(t_start)) prog.step(std::to_string(i) + " requests"), ++shown;
    const DrawnRequest d = draw_request(rng, opt, cfg, is);
    RequestRecord r;
    r.t_s = t_start;
    r.prompt = d.prompt.length();
    r.image = d.image;
    const Budgets budgets = d.image ? cal.image->budgets : cal.text();
    r.decode = d.decode;
    r.checked = d.checked;
    // One fault in flight: nothing else is injected while a corruption is outstanding.
    r.fault = led.flip.out ? std::nullopt : d.fault;
    if (r.fault == FaultKind::Bitflip) {
      try {
        led.flip.weight = b->corrupt_weight(d.fault_seed);
        led.flip.out = true;
        led.flip.injected_at = i;
      } catch (const Error&) {
        ++led.not_injectable[FaultKind::Bitflip];
        r.fault.reset();
      }
    }
    if (r.fault) ++led.injected[*r.fault];
    serve_and_classify(r, *b, *oracle, d, fault_hook(r.fault, d.fault_layer, d.fault_seed, budgets.slo_ttft), budgets);
    led.attribute(*b, i, r);
    reqs.push_back(std::move(r));
  }
  prog.done();
  // A corruption still outstanding at the end: one verification request against the oracle. Not after
  // an interrupt (the user asked to stop): the flip is reported outstanding, neither caught nor missed.
  int64_t outstanding = 0;
  if (led.flip.out && stopped) {
    b->restore_weights();
    led.flip.out = false;
    outstanding = 1;
  }
  if (led.flip.out) {
    const Served s = serve(*b, ModelInput(cal.prompt), 1, {});
    const bool bad = !all_finite(s.logits) ||
                     !(error_stats(s.logits, oracle_logits(*oracle, ModelInput(cal.prompt), s.generated)).rel_fro <= cal.tol);
    if (bad) led.detect_flip(*b, static_cast<int64_t>(reqs.size()), true);
    else b->restore_weights();
  }
  const double total = secs(start, Clock::now());
  SoakResult out;
  out.result = result_json(opt, cal, reqs, led, total, window, is);
  // Every injected fault must be caught in the stream, or (bit flips still outstanding at the end) by the
  // final verification; the report keeps the two apart. An interrupted soak is no verdict: it never passes.
  out.pass = led.injected.total() == led.caught.total() + led.flip.caught_final && led.unexplained == 0 && !stopped;
  if (stopped) {
    out.result["faults"]["outstanding_at_interrupt"] = outstanding;
    out.result["faults"]["missed"] = out.result["faults"]["missed"].get<int64_t>() - outstanding;
  }
  out.result["pass"] = out.pass;
  out.interrupted = stopped;
  return out;
}

std::string soak_summary(const json& r) {
  std::string s;
  char buf[512];
  const json& o = r["overall"];
  auto num = [](const json& j) { return j.is_null() ? NAN : j.get<double>(); };
  std::snprintf(buf, sizeof buf, "soak: backend %s, %.1f s, %lld requests (window %.2f s); SLO TTFT %.1f ms, TPOT %.1f ms\n",
                r["backend"].get<std::string>().c_str(), r["elapsed_s"].get<double>(),
                static_cast<long long>(o["requests"].get<int64_t>()), r["window_s"].get<double>(),
                r["slo"]["ttft_ms"].get<double>(), r["slo"]["tpot_ms"].get<double>());
  s += buf;
  std::snprintf(buf, sizeof buf,
                "  overall: uptime %.2f%%  success %lld  slo_breach %lld  numerical %lld  error %lld  goodput %.1f req/s  "
                "E2E p50/p90/p99 %.2f/%.2f/%.2f ms\n",
                num(o["uptime_percent"]), (long long)o["success"].get<int64_t>(), (long long)o["slo_breach"].get<int64_t>(),
                (long long)o["numerical"].get<int64_t>(), (long long)o["error"].get<int64_t>(), o["goodput_rps"].get<double>(),
                num(o["e2e_ms"]["p50"]), num(o["e2e_ms"]["p90"]), num(o["e2e_ms"]["p99"]));
  s += buf;
  if (o.contains("images")) {  // MiniMax-VL-01 image requests
    const json& im = o["images"];
    std::snprintf(buf, sizeof buf,
                  "  image requests (rate %.2f): %lld (checked %lld, %lld crops)  success %lld  slo_breach %lld  numerical %lld  "
                  "error %lld  TTFT p50/p90/p99 %.2f/%.2f/%.2f ms (SLO %.1f ms)\n",
                  r["stream"]["image_rate"].get<double>(), (long long)im["requests"].get<int64_t>(),
                  (long long)im["checked"].get<int64_t>(), (long long)im["crops"].get<int64_t>(),
                  (long long)im["success"].get<int64_t>(), (long long)im["slo_breach"].get<int64_t>(),
                  (long long)im["numerical"].get<int64_t>(), (long long)im["error"].get<int64_t>(), num(im["ttft_ms"]["p50"]),
                  num(im["ttft_ms"]["p90"]), num(im["ttft_ms"]["p99"]), r["slo"]["image_ttft_ms"].get<double>());
    s += buf;
  }
  s += "  windows (uptime%):";
  for (const auto& w : r["windows"]) {
    std::snprintf(buf, sizeof buf, w["uptime_percent"].is_null() ? " -" : " %.0f", num(w["uptime_percent"]));
    s += buf;
  }
  s += "\n  faults injected/caught:";
  for (auto& [k, v] : r["faults"]["injected"].items()) {
    std::snprintf(buf, sizeof buf, " %s %d/%d", k.c_str(), v.get<int>(), r["faults"]["caught"][k].get<int>());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "; bit flips caught only at the final verification %lld; missed %lld; "
                "failures without a matching injection %lld\n",
                (long long)r["faults"].value("caught_at_final_verification", int64_t{0}),
                (long long)r["faults"]["missed"].get<int64_t>(), (long long)o["unexplained_failures"].get<int64_t>());
  s += buf;
  if (r.contains("faults") && r["faults"].contains("outstanding_at_interrupt"))  // written by an interrupted soak only
    s += "soak: INCOMPLETE (interrupted): no verdict; the requests above are what was served\n";
  else
    s += r["pass"].get<bool>() ? "soak: PASS\n" : "soak: FAIL\n";
  return s;
}

}  // namespace mm::harness
