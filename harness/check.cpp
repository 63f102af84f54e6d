#include "harness/check.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "harness/capture.h"
#include "harness/golden_case.h"
#include "harness/progress.h"

namespace mm::harness {

LayerHook perturbation_hook(const Perturbation& p) {
  return [p](int layer, int64_t rows, int64_t cols, double* h) {
    if (layer != p.layer) return;
    const int64_t n = rows * cols;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += h[i] * h[i];
    const double rms = std::sqrt(ss / static_cast<double>(std::max<int64_t>(n, 1)));
    Rng rng(p.seed);
    for (int64_t i = 0; i < n; ++i) h[i] += p.rel * rms * rng.normal();
  };
}

Perturbation parse_perturbation(const std::string& spec) {
  const auto c = spec.find(':');
  Perturbation p;
  try {
    std::size_t pos = 0;
    if (c == std::string::npos) throw 0;
    p.layer = std::stoi(spec.substr(0, c), &pos);
    if (pos != c) throw 0;
    p.rel = std::stod(spec.substr(c + 1), &pos);
    if (pos != spec.size() - c - 1) throw 0;
  } catch (...) {
    throw Error("--perturb expects LAYER:REL (e.g. 3:1e-2), got '" + spec + "'");
  }
  return p;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TensorMap run_named(const std::string& name, const LoadedModel& m, const std::vector<int64_t>& prompt,
                    const std::vector<int64_t>& decode, const LayerHook& hook = {}) {
  auto b = registry().make(name, m);
  return run_sequence(*b, prompt, decode, hook);
}

// Row-wise softmax in double of a [rows, E] logits tensor.
Tensor softmax_rows(const Tensor& logits) {
  Tensor p = logits;
  if (logits.shape.size() != 2) return p;
  const int64_t rows = logits.shape[0], E = logits.shape[1];
  for (int64_t r = 0; r < rows; ++r) {
    double* x = p.values.data() + r * E;
    double mx = x[0], sum = 0;
    for (int64_t e = 1; e < E; ++e) mx = std::max(mx, x[e]);
    for (int64_t e = 0; e < E; ++e) sum += (x[e] = std::exp(x[e] - mx));
    for (int64_t e = 0; e < E; ++e) x[e] /= sum;
  }
  return p;
}

BackendCheck judge_backend(const std::string& name, const std::string& precision, const TensorMap& got,
                           const TensorMap& ref, const TensorMap& budget, const Tolerance& tol,
                           const std::vector<std::string>& not_produced = {}) {
  BackendCheck bc;
  bc.name = name;
  std::vector<std::string> names;
  for (const auto& [n, t] : ref) names.push_back(n);
  std::sort(names.begin(), names.end(), [](auto& a, auto& b) { return order_key(a) < order_key(b); });
  for (const auto& n : names) {
    const auto g = got.find(n);
    TensorVerdict v;
    // Only auxiliary kinds may be declared not produced: logits and layer outputs are always compared.
    const bool may_skip = tensor_kind(n) != "logits" && tensor_kind(n) != "output";
    if (g == got.end() && may_skip &&
        std::find(not_produced.begin(), not_produced.end(), tensor_kind(n)) != not_produced.end()) {
      v.name = n;  // declared by the backend as never materialised: reported, not compared, not faked
      v.produced = false;
      v.why = "not produced by this backend (it never materialises '" + tensor_kind(n) + "')";
    } else if (g == got.end()) {
      v.name = n;
      v.pass = false;
      v.why = "the backend produced no tensor '" + n + "'";
    } else {
      const auto b = budget.find(n);
      const Tensor *probs = nullptr, *got_probs = nullptr;
      Tensor implied_probs;
      if (tensor_kind(n) == "router_experts") {
        const std::string pn = n.substr(0, n.size() - std::string("router_experts").size()) + "router_probs";
        if (ref.count(pn)) probs = &ref.at(pn);
        const std::string ln = n.substr(0, n.size() - std::string("router_experts").size()) + "router_logits";
        if (got.count(pn)) {
          got_probs = &got.at(pn);
        } else if (got.count(ln)) {
          // A backend that never materialises router_probs (not_produced): its probability error is
          // measured on softmax(its own router_logits), the probabilities its router kernel ranks.
          implied_probs = softmax_rows(got.at(ln));
          got_probs = &implied_probs;
        }
      }
      v = judge(n, g->second, ref.at(n), b == budget.end() ? nullptr : &b->second, precision, tol, probs, got_probs);
    }
    if (!v.pass) {
      ++bc.failed;
      if (bc.first_diverging.empty()) {
        bc.first_diverging = n;
        bc.first_layer = tensor_layer(n);
        bc.first_phase = is_decode_tensor(n) ? "decode" : "prefill";
        bc.reason = v.why;
      }
    }
    bc.tensors.push_back(std::move(v));
  }
  int64_t compared = 0;
  for (const auto& v : bc.tensors) compared += v.produced;
  if (compared == 0) {  // nothing was compared: never a pass
    ++bc.failed;
    bc.reason = "no tensor was compared";
  }
  bc.status = bc.failed ? "fail" : "pass";
  return bc;
}

std::string precision_of(const std::string& name, const LoadedModel& m, TensorMap* out_run,
                         const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode, const LayerHook& hook,
                         std::vector<std::string>* not_produced = nullptr) {
  auto b = registry().make(name, m);
  const std::string p = b->precision();
  if (not_produced) *not_produced = b->not_produced();
  if (out_run) *out_run = run_sequence(*b, prompt, decode, hook);
  return p;
}

}  // namespace

CheckResult run_check(const ModelSource& src, const CheckOptions& opt) {
  CheckResult r;
  const LoadedModel& m = src.model;
  const ModelConfig& cfg = m.config;
  TensorMap ref;
  if (!opt.golden_dir.empty()) {
    const golden::Case c = golden::load_case(opt.golden_dir);
    require_same_config(load_config(c.dir), cfg, "golden case '" + c.name + "' (" + c.dir + ")");
    r.prompt = c.prompt;
    r.decode = c.decode;
    r.reference = "golden:" + c.name;
    ref = golden::expected_tensors(c);
  } else {
    require(opt.prompt_len >= 1, "check: --prompt-len must be >= 1");
    require(opt.decode_steps >= 0, "check: --decode-steps must be >= 0");
    require(opt.prompt_len + opt.decode_steps <= cfg.max_position_embeddings,
            "check: prompt + decode steps exceed max_position_embeddings = " + std::to_string(cfg.max_position_embeddings));
    Rng rng(opt.seed);
    for (int64_t i = 0; i < opt.prompt_len; ++i) r.prompt.push_back(rng.below(cfg.vocab_size));
    for (int64_t i = 0; i < opt.decode_steps; ++i) r.decode.push_back(rng.below(cfg.vocab_size));
    r.reference = "ref-f64";
  }
  std::vector<std::string> names = opt.backends.empty() ? registry().names() : opt.backends;
  Progress prog("check", static_cast<int>(names.size()) + 2, opt.progress);
  if (ref.empty()) {
    prog.step("ref-f64 (oracle)");
    ref = run_named("ref-f64", m, r.prompt, r.decode);
  }
  prog.step("ref-bf16 (budget)");
  const TensorMap budget = run_named("ref-bf16", m, r.prompt, r.decode);
  const LayerHook hook = opt.perturb ? perturbation_hook(*opt.perturb) : LayerHook{};
  for (const auto& name : names) {
    prog.step(name);
    const BackendEntry* e = registry().find(name);
    if (!e) throw Error("unknown backend '" + name + "'");
    const std::string why = e->unavailable_reason ? e->unavailable_reason() : "";
    if (!why.empty()) {
      BackendCheck bc;
      bc.name = name;
      // Asked for by name (--backends) but unavailable: that request cannot be honoured, so the run fails.
      // In the default list (every registered backend) it is reported as skipped, with the reason.
      bc.status = opt.backends.empty() ? "skipped" : "error";
      bc.reason = why;
      r.backends.push_back(std::move(bc));
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      TensorMap got;
      std::string precision;
      const bool plain = name == "ref-bf16" || (name == "ref-f64" && r.reference == "ref-f64");
      if (plain) precision = name == "ref-bf16" ? "bf16" : "f64";  // reuse the oracle / budget runs above
      std::vector<std::string> not_produced;
      if (!plain) precision = precision_of(name, m, &got, r.prompt, r.decode, hook, &not_produced);
      const TensorMap& g = name == "ref-bf16" ? budget : plain ? ref : got;
      BackendCheck bc = judge_backend(name, precision, g, ref, budget, opt.tol, not_produced);
      bc.seconds = seconds_since(t0);
      // The oracle against itself and the budget against its own error bound cannot fail: they are
      // reported (the budget's errors are the yardstick) but do not count as checked backends.
      if (plain) {
        bc.status = name == "ref-bf16" ? "budget" : "oracle";
        r.backends.push_back(std::move(bc));
        continue;
      }
      r.backends.push_back(std::move(bc));
    } catch (const std::exception& ex) {
      BackendCheck bc;
      bc.name = name;
      bc.status = "error";
      bc.reason = ex.what();
      bc.seconds = seconds_since(t0);
      r.backends.push_back(std::move(bc));
    }
    ++r.checked;
  }
  prog.done();
  r.pass = r.checked > 0;
  for (const auto& b : r.backends)
    if (b.status == "fail" || b.status == "error") r.pass = false;
  return r;
}

nlohmann::json to_json(const CheckResult& r, const CheckOptions& opt) {
  nlohmann::json j;
  j["reference"] = r.reference;
  j["budget_backend"] = "ref-bf16";
  j["rule"] = {{"formula", "err(backend) <= k * err(ref-bf16) + floor, err in {max_abs, rel_fro}; NMSE <= ceiling; "
                           "no NaN; router choices exact where margin >= 2k*err_bf16(probs)+floor"},
               {"k", opt.tol.k},
               {"floor_rel", opt.tol.floor_rel},
               {"nmse_ceiling", opt.tol.nmse_ceiling}};
  j["inputs"] = {{"prompt_len", r.prompt.size()}, {"decode_steps", r.decode.size()},
                 {"prompt_tokens", r.prompt}, {"decode_tokens", r.decode}};
  if (opt.perturb) j["perturbation"] = {{"layer", opt.perturb->layer}, {"rel", opt.perturb->rel}, {"seed", opt.perturb->seed}};
  j["backends"] = nlohmann::json::array();
  for (const auto& b : r.backends) {
    nlohmann::json bj = {{"name", b.name}, {"status", b.status}, {"seconds", b.seconds}, {"failed", b.failed}};
    if (!b.reason.empty()) bj["reason"] = b.reason;
    if (!b.first_diverging.empty())
      bj["first_diverging"] = {{"tensor", b.first_diverging}, {"layer", b.first_layer}, {"phase", b.first_phase}};
    bj["tensors"] = nlohmann::json::array();
    for (const auto& v : b.tensors) bj["tensors"].push_back(to_json(v));
    j["backends"].push_back(std::move(bj));
  }
  j["checked"] = r.checked;
  j["pass"] = r.pass;
  return j;
}

std::string summary(const CheckResult& r) {
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf, "check: reference %s, budget ref-bf16; prompt %zu tokens + %zu decode steps\n",
                r.reference.c_str(), r.prompt.size(), r.decode.size());
  s += buf;
  for (const auto& b : r.backends) {
    if (b.status == "skipped" || b.status == "error") {
      std::snprintf(buf, sizeof buf, "  %-9s %-7s %s\n", b.name.c_str(), b.status == "skipped" ? "SKIPPED" : "ERROR",
                    b.reason.c_str());
      s += buf;
      continue;
    }
    double worst_rel = 0, worst_ratio = 0;
    std::string worst;
    for (const auto& v : b.tensors) {
      if (v.choices || !std::isfinite(v.err.rel_fro)) continue;
      worst_rel = std::max(worst_rel, v.err.rel_fro);
      const double ratio = v.tol_rel_fro > 0 ? v.err.rel_fro / v.tol_rel_fro : 0;
      if (ratio >= worst_ratio) { worst_ratio = ratio; worst = v.name; }
    }
    int choices = 0, ignored = 0;
    for (const auto& v : b.tensors)
      if (v.choices) { choices += static_cast<int>(v.choices->compared); ignored += static_cast<int>(v.choices->ignored); }
    std::snprintf(buf, sizeof buf,
                  "  %-9s %-7s %3zu tensors, %d failed; worst rel_fro %.2e; closest to tolerance %s (%.0f%% of it); "
                  "router choices %d compared, %d ignored (margin within 2x prob error); %.2f s\n",
                  b.name.c_str(),
                  b.status == "pass" ? "PASS" : b.status == "oracle" ? "ORACLE" : b.status == "budget" ? "BUDGET" : "FAIL", b.tensors.size(), b.failed, worst_rel,
                  worst.c_str(), 100 * worst_ratio, choices, ignored, b.seconds);
    s += buf;
    if (!b.first_diverging.empty()) {
      std::snprintf(buf, sizeof buf, "            first diverging layer: %d (%s), tensor %s: %s\n", b.first_layer,
                    b.first_phase.c_str(), b.first_diverging.c_str(), b.reason.c_str());
      s += buf;
    }
  }
  s += r.pass ? "check: PASS\n" : r.checked ? "check: FAIL\n" : "check: FAIL (no backend could be checked)\n";
  return s;
}

}  // namespace mm::harness
