#include "harness/soak.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>
#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "core/strict_number.h"
#include "harness/metrics.h"
#include "harness/progress.h"
#include "harness/stats.h"

namespace mm::harness {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

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
Served serve(Backend& b, const std::vector<int64_t>& prompt, int64_t n_decode, const LayerHook& hook) {
  Served s;
  StepRequest req;
  req.after_layer = hook;
  const auto t0 = Clock::now();
  b.reset();
  StepResult r = b.step(prompt, req);
  int64_t tok = argmax_last_row(r.logits);
  s.ttft = secs(t0, Clock::now());
  append_rows(s.logits, r.logits);
  for (int64_t i = 0; i < n_decode; ++i) {
    s.generated.push_back(tok);
    StepResult d = b.step({tok}, {});
    append_rows(s.logits, d.logits);
    tok = argmax_last_row(d.logits);
  }
  s.e2e = secs(t0, Clock::now());
  return s;
}

// Teacher-forced oracle logits for the same tokens.
Tensor oracle_logits(Backend& o, const std::vector<int64_t>& prompt, const std::vector<int64_t>& generated) {
  o.reset();
  Tensor out = o.step(prompt, {}).logits;
  for (int64_t t : generated) append_rows(out, o.step({t}, {}).logits);
  return out;
}

json window_json(const std::vector<json>& reqs, double t0, double t1) {
  int64_t ok = 0, num = 0, err = 0, slo = 0;
  std::vector<double> e2e, ttft;
  for (const auto& r : reqs) {
    const std::string c = r["class"];
    ok += c == "success";
    num += c == "numerical";
    err += c == "error";
    slo += c == "slo_breach";
    if (c != "error") {
      e2e.push_back(r["e2e_ms"].get<double>());
      ttft.push_back(r["ttft_ms"].get<double>());
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
  return w;
}

}  // namespace

double parse_duration(const std::string& s) {
  std::size_t pos = 0;
  double v = 0;
  // strict decimal (core/strict_number.h): no '+', spaces or hex ("0x10" is 0 with the unit 'x10')
  if (parse_decimal_prefix(s, v, pos) != NumParse::Ok)
    throw Error("soak: --duration expects a decimal number with an optional unit (500ms, 30s, 2m, 1h), got '" + s + "'");
  const std::string unit = s.substr(pos);
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 1e-3;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else throw Error("soak: --duration has an unknown unit '" + unit + "' (use ms, s, m or h)");
  if (!std::isfinite(v)) throw Error("soak: --duration must be a finite number with an optional unit, got '" + s + "'");
  if (!(v > 0))
    throw Error("soak: --duration must be positive, got '" + s + "' (a soak of zero or negative length measures nothing)");
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
      throw Error("soak: --inject: element " + std::to_string(out.size() + 1) + " is empty (in '" + s +
                  "'; expected KIND:RATE[,KIND:RATE...])");
    const auto c = item.find(':');
    FaultRate f;
    f.kind = item.substr(0, c);
    if (f.kind != "nan" && f.kind != "bitflip" && f.kind != "alloc" && f.kind != "slow")
      throw Error("soak: unknown fault kind '" + f.kind + "' in --inject (expected nan, bitflip, alloc or slow)");
    if (c == std::string::npos || parse_decimal(std::string_view(item).substr(c + 1), f.rate) != NumParse::Ok)
      throw Error("soak: --inject expects KIND:RATE with RATE a decimal number in [0, 1], got '" + item + "'");
    if (!(f.rate >= 0 && f.rate <= 1)) throw Error("soak: fault rate must be in [0, 1], got '" + item + "'");
    out.push_back(f);
  }
  return out;
}

SoakResult run_soak(const ModelSource& src, const SoakOptions& opt) {
  require(opt.duration_s > 0 && opt.duration_s <= 30 * 86400.0, "soak: --duration must be positive and at most 30 days");
  const ModelConfig& cfg = src.model.config;
  require(opt.min_prompt >= 1 && opt.max_prompt >= opt.min_prompt, "soak: need 1 <= --min-prompt <= --max-prompt");
  require(opt.min_decode >= 0 && opt.max_decode >= opt.min_decode, "soak: need 0 <= --min-decode <= --max-decode");
  require(opt.max_prompt + opt.max_decode <= cfg.max_position_embeddings, "soak: prompt + decode exceed max_position_embeddings");
  require(opt.check_rate >= 0 && opt.check_rate <= 1, "soak: --check-rate must be in [0, 1]");
  auto b = registry().make(opt.backend, src.model);
  auto oracle = registry().make("ref-f64", src.model);
  auto budget = registry().make("ref-bf16", src.model);

  // Calibration: one request of the longest prompt; its timings set the default SLOs and its ref-bf16
  // error the oracle tolerance.
  Rng rng(opt.seed);
  std::vector<int64_t> cal(static_cast<std::size_t>(opt.max_prompt));
  for (auto& t : cal) t = rng.below(cfg.vocab_size);
  const int64_t cal_dec = std::max<int64_t>(opt.max_decode, 1);
  serve(*b, cal, cal_dec, {});  // warm-up
  const Served c1 = serve(*b, cal, cal_dec, {});
  const Served cb = serve(*budget, cal, cal_dec, {});
  const double budget_err = error_stats(cb.logits, oracle_logits(*oracle, cal, cb.generated)).rel_fro;
  const double tol = opt.k * budget_err + opt.floor_rel;
  const double slo_ttft = opt.slo_ttft_ms > 0 ? opt.slo_ttft_ms / 1e3 : std::max(10 * c1.ttft, 0.020);
  const double tpot_cal = (c1.e2e - c1.ttft) / static_cast<double>(cal_dec);
  const double slo_tpot = opt.slo_tpot_ms > 0 ? opt.slo_tpot_ms / 1e3 : std::max(10 * tpot_cal, 0.005);
  const double window = opt.window_s > 0 ? opt.window_s : std::max(opt.duration_s / 10, 0.25);

  std::vector<json> reqs;
  json injected = {{"nan", 0}, {"bitflip", 0}, {"alloc", 0}, {"slow", 0}};
  json caught = injected, not_injectable = injected;
  json flips = json::array();
  int64_t unexplained = 0, served_corrupt = 0;
  bool flip_out = false;
  int64_t flip_req = 0;
  std::string flip_desc;
  Progress prog("soak", static_cast<int64_t>(opt.duration_s), opt.progress);
  int shown = 0;
  const auto start = Clock::now();
  int64_t caught_final = 0;  // bit flips found only by the verification request after the stream ended
  auto detect_flip = [&](int64_t i, bool at_final_verification) {
    flips.push_back({{"weight", flip_desc}, {"injected_at_request", flip_req}, {"detected_at_request", i},
                     {"latency_requests", i - flip_req}, {"at_final_verification", at_final_verification}});
    if (at_final_verification) ++caught_final;
    else caught["bitflip"] = caught["bitflip"].get<int>() + 1;
    b->restore_weights();
    flip_out = false;
  };
  for (int64_t i = 0;; ++i) {
    const double t_start = secs(start, Clock::now());
    if (t_start >= opt.duration_s && i >= opt.min_requests) break;
    while (opt.progress && shown < static_cast<int>(t_start)) prog.step(std::to_string(i) + " requests"), ++shown;
    const int64_t S = opt.min_prompt + rng.below(opt.max_prompt - opt.min_prompt + 1);
    const int64_t N = opt.min_decode + rng.below(opt.max_decode - opt.min_decode + 1);
    std::vector<int64_t> prompt(static_cast<std::size_t>(S));
    for (auto& t : prompt) t = rng.below(cfg.vocab_size);
    const bool checked = rng.uniform() < opt.check_rate;
    std::string fault;
    for (const auto& f : opt.inject)
      if (rng.uniform() < f.rate && fault.empty()) fault = f.kind;
    const int fault_layer = static_cast<int>(rng.below(cfg.num_hidden_layers));
    const uint64_t fault_seed = rng.next();
    if (flip_out) fault.clear();  // one fault in flight: nothing else is injected while a corruption is outstanding
    if (fault == "bitflip") {
      try {
        flip_desc = b->corrupt_weight(fault_seed);
        flip_out = true;
        flip_req = i;
      } catch (const Error&) {
        not_injectable["bitflip"] = not_injectable["bitflip"].get<int>() + 1;
        fault.clear();
      }
    }
    if (!fault.empty()) injected[fault] = injected[fault].get<int>() + 1;
    LayerHook hook;
    if (fault == "nan" || fault == "alloc" || fault == "slow")
      hook = [&, fault_layer, fault_seed](int layer, int64_t rows, int64_t cols, double* h) {
        if (layer != fault_layer) return;
        if (fault == "nan") h[fault_seed % static_cast<uint64_t>(rows * cols)] = NAN;
        else if (fault == "alloc") throw std::bad_alloc();
        else std::this_thread::sleep_for(std::chrono::duration<double>(1.5 * slo_ttft));
      };
    json r = {{"t_s", t_start}, {"prompt", S}, {"decode", N}, {"fault", fault.empty() ? json(nullptr) : json(fault)},
              {"checked", checked}};
    std::string cls, why;
    Served s;
    try {
      s = serve(*b, prompt, N, hook);
      r["ttft_ms"] = s.ttft * 1e3;
      r["e2e_ms"] = s.e2e * 1e3;
      r["tpot_ms"] = N > 0 ? (s.e2e - s.ttft) / static_cast<double>(N) * 1e3 : 0.0;
      if (!all_finite(s.logits)) cls = "numerical", why = "non-finite logits";
      else if (checked) {
        const double e = error_stats(s.logits, oracle_logits(*oracle, prompt, s.generated)).rel_fro;
        r["oracle_rel_fro"] = e;
        if (!(e <= tol)) cls = "numerical", why = "logits differ from ref-f64";
      }
      if (cls.empty()) {
        const bool late = s.ttft > slo_ttft || (N > 0 && (s.e2e - s.ttft) / static_cast<double>(N) > slo_tpot);
        cls = late ? "slo_breach" : "success";
      }
    } catch (const std::bad_alloc&) {
      cls = "error", why = "alloc";
    } catch (const Error& e) {
      cls = "error", why = std::string("mm::Error: ") + e.what();
    } catch (const std::exception& e) {
      cls = "error", why = std::string("exception: ") + e.what();
    }
    r["class"] = cls;
    if (!why.empty()) r["why"] = why;
    // Attribution: was this outcome the injected fault, caught as its class?
    const bool flip_active = flip_out;
    if (flip_active && cls == "numerical") detect_flip(i, false);
    else if (flip_active && fault != "bitflip" && cls == "success") ++served_corrupt;
    if (fault == "nan" && cls == "numerical") caught["nan"] = caught["nan"].get<int>() + 1;
    if (fault == "alloc" && cls == "error" && why == "alloc") caught["alloc"] = caught["alloc"].get<int>() + 1;
    if (fault == "slow" && cls == "slo_breach") caught["slow"] = caught["slow"].get<int>() + 1;
    // A failure is explained only by an injected fault of the matching class; anything else (e.g. an
    // exception while a NaN was injected) is a real, unexplained failure.
    const bool explained = (fault == "nan" && cls == "numerical") ||
                           (fault == "alloc" && cls == "error" && why == "alloc") ||
                           (fault == "slow" && cls == "slo_breach") || (flip_active && cls == "numerical");
    if (!explained && (cls == "numerical" || cls == "error")) ++unexplained;
    reqs.push_back(std::move(r));
  }
  prog.done();
  // A corruption still outstanding at the end: one verification request against the oracle.
  if (flip_out) {
    const Served s = serve(*b, cal, 1, {});
    const bool bad = !all_finite(s.logits) ||
                     !(error_stats(s.logits, oracle_logits(*oracle, cal, s.generated)).rel_fro <= tol);
    if (bad) detect_flip(static_cast<int64_t>(reqs.size()), true);
    else b->restore_weights();
  }
  const double total = secs(start, Clock::now());
  json windows = json::array();
  for (double w0 = 0; w0 < total; w0 += window) {
    std::vector<json> in;
    for (const auto& r : reqs)
      if (r["t_s"].get<double>() >= w0 && r["t_s"].get<double>() < w0 + window) in.push_back(r);
    windows.push_back(window_json(in, w0, std::min(w0 + window, total)));
  }
  json overall = window_json(reqs, 0, total);
  overall["unexplained_failures"] = unexplained;
  overall["served_while_corrupt_unchecked"] = served_corrupt;
  int64_t inj = 0, cau = 0;
  for (auto& [k, v] : injected.items()) inj += v.get<int64_t>(), cau += caught[k].get<int64_t>();
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
  res["slo"] = {{"ttft_ms", slo_ttft * 1e3}, {"tpot_ms", slo_tpot * 1e3},
                {"source", opt.slo_ttft_ms > 0 ? "given" : "10x the calibration request (min 20 / 5 ms)"}};
  res["calibration"] = {{"prompt", opt.max_prompt}, {"decode", cal_dec}, {"ttft_ms", c1.ttft * 1e3},
                        {"tpot_ms", tpot_cal * 1e3}, {"bf16_logits_rel_fro", budget_err}, {"oracle_tol_rel_fro", tol}};
  res["stream"] = {{"seed", opt.seed}, {"prompt", {opt.min_prompt, opt.max_prompt}}, {"decode", {opt.min_decode, opt.max_decode}},
                   {"check_rate", opt.check_rate}};
  json inject_opt = json::object();
  for (const auto& f : opt.inject) inject_opt[f.kind] = f.rate;
  res["faults"] = {{"rates", inject_opt}, {"injected", injected}, {"caught", caught}, {"not_injectable", not_injectable},
                   {"caught_at_final_verification", caught_final}, {"missed", inj - cau - caught_final},
                   {"bitflips", flips}};
  res["overall"] = overall;
  res["windows"] = windows;
  if (reqs.size() <= 5000) res["requests"] = reqs;
  SoakResult out;
  // Every injected fault must be caught in the stream, or (bit flips still outstanding at the end) by the
  // final verification; the report keeps the two apart.
  out.pass = inj == cau + caught_final && unexplained == 0;
  res["pass"] = out.pass;
  out.result = std::move(res);
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
  s += r["pass"].get<bool>() ? "soak: PASS\n" : "soak: FAIL\n";
  return s;
}

}  // namespace mm::harness
