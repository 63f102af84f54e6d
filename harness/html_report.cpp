#include "harness/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "harness/html_svg.h"
#include "harness/report.h"
#include "harness/report_schema.h"
#include "harness/stats.h"

namespace mm::harness {
namespace {

using nlohmann::json;
using html::dur;
using html::esc;
using html::exact;
using html::fmt;
using html::Frame;
using html::jnum;
using html::jstr;
using html::num;
using html::Scale;

// A validated number or null (NaN when null).
double val(const JsonView& j) { return j.number_or_null().value_or(NAN); }

std::string td(const std::string& text, double sort_value) {
  return "<td data-v='" + exact(sort_value) + "'>" + text + "</td>";
}
std::string td(const std::string& text) { return "<td>" + text + "</td>"; }
std::string th_row(const std::vector<std::string>& heads) {
  std::string s = "<thead><tr>";
  for (const auto& h : heads) s += "<th>" + h + "</th>";
  return s + "</tr></thead><tbody>";
}

// ---- check ------------------------------------------------------------------------------------------

// One tensor of one backend, with the ratio of its error to each bound of the rule (docs/harness.md):
// ratio > 1 is a violation. `bound` / `ratio` is the bound that decided: the one the verdict's `why`
// names for a failing tensor, the nearest to failing (largest ratio) for a passing one.
struct Judged {
  std::string backend, name, phase, mode, why, bound;
  int64_t layer = -1;
  bool pass = true, plotted = false, choices = false, inconclusive = false, end_to_end = false, vision = false;
  double rel_fro = NAN, tol_rel_fro = NAN, max_abs = NAN, tol_max_abs = NAN, nmse = NAN, ceiling = NAN, cosine = NAN;
  double r_max_abs = NAN, r_rel_fro = NAN, r_nmse = NAN, ratio = 0;
};

Judged judge_entry(const std::string& backend, const JsonView& t) {
  Judged j;
  j.backend = backend;
  j.name = t.at("name").str();
  j.pass = t.at("pass").boolean();
  j.phase = t.at("phase").str_in({"prefill", "decode"});
  j.layer = t.at("layer").integer(-1, kMaxReportLayer);
  j.rel_fro = val(t.at("error").at("rel_fro"));
  j.tol_rel_fro = val(t.at("tol_rel_fro"));
  if (const auto w = t.find("why")) j.why = w->str();
  j.choices = t.has("choices");
  const json& raw = t.raw();
  const json* err = html::field(raw, "error");
  j.max_abs = err ? jnum(*err, "max_abs") : NAN;
  j.nmse = err ? jnum(*err, "nmse") : NAN;
  j.cosine = err ? jnum(*err, "cosine") : NAN;
  j.tol_max_abs = jnum(raw, "tol_max_abs");
  j.ceiling = jnum(raw, "nmse_ceiling");
  j.mode = jstr(raw, "mode");
  const json* inc = html::field(raw, "inconclusive");
  j.inconclusive = inc && inc->is_boolean() && inc->get<bool>();
  const json* produced = html::field(raw, "produced");
  const bool not_produced = produced && produced->is_boolean() && !produced->get<bool>();
  j.end_to_end = j.mode == "end_to_end" || j.name.rfind("e2e.", 0) == 0;
  const std::string family = jstr(raw, "family");
  j.vision = family == "vision_encoder" || family == "projector";
  const json* gates = html::field(raw, "max_abs_gates");
  const bool max_gates = !(gates && gates->is_boolean() && !gates->get<bool>());
  const double nan_count = err ? jnum(*err, "nan") : NAN, inf_count = err ? jnum(*err, "inf") : NAN;
  const bool nonfinite = !std::isfinite(j.rel_fro) || nan_count > 0 || inf_count > 0 || j.why.find(" NaN and ") != std::string::npos;
  if (max_gates && j.tol_max_abs > 0 && std::isfinite(j.max_abs)) j.r_max_abs = j.max_abs / j.tol_max_abs;
  if (j.tol_rel_fro > 0 && std::isfinite(j.rel_fro)) j.r_rel_fro = j.rel_fro / j.tol_rel_fro;
  if (j.ceiling > 0 && std::isfinite(j.nmse)) j.r_nmse = j.nmse / j.ceiling;
  // the nearest bound (largest ratio)
  std::string near = "";
  double near_r = -1;
  for (auto [name, r] : {std::pair<const char*, double>{"max_abs", j.r_max_abs}, {"rel_fro", j.r_rel_fro}, {"NMSE", j.r_nmse}})
    if (std::isfinite(r) && r > near_r) near = name, near_r = r;
  if (nonfinite && !j.pass) {
    j.bound = "NaN/Inf", j.ratio = INFINITY;
  } else if (!j.pass && j.why.rfind("max_abs", 0) == 0 && std::isfinite(j.r_max_abs)) {
    j.bound = "max_abs", j.ratio = j.r_max_abs;
  } else if (!j.pass && j.why.rfind("rel_fro", 0) == 0 && std::isfinite(j.r_rel_fro)) {
    j.bound = "rel_fro", j.ratio = j.r_rel_fro;
  } else if (!j.pass && j.why.rfind("NMSE", 0) == 0 && std::isfinite(j.r_nmse)) {
    j.bound = "NMSE", j.ratio = j.r_nmse;
  } else if (!j.pass) {
    // failed on something that is not an error bound (router choices, argmax, shape, end-to-end cosine):
    // drawn at the top of the chart, never below the line
    j.bound = j.choices ? "router choices" : j.why.find("argmax") != std::string::npos ? "argmax"
              : j.why.rfind("cosine", 0) == 0                                          ? "cosine"
                                                                                       : "other";
    j.ratio = near_r > 1 ? near_r : INFINITY;
  } else if (near_r >= 0) {
    j.bound = near, j.ratio = near_r;
  } else {
    j.bound = "—", j.ratio = 0;
  }
  // Drawn: the teacher-forced text tensors judged by error bounds. Not drawn (listed in the tables):
  // end-to-end tensors (reported, gated only by NaN/cosine), router choices (judged by count), vision
  // tensors (their own list), inconclusive and not produced tensors (nothing judged).
  j.plotted = !j.end_to_end && !j.choices && !j.vision && !j.inconclusive && !not_produced;
  return j;
}

std::string verdict_word(const std::string& status) {
  if (status == "pass") return "PASS";
  if (status == "fail") return "FAIL";
  if (status == "skipped") return "SKIPPED";
  if (status == "error") return "ERROR";
  if (status == "oracle") return "ORACLE";
  if (status == "budget") return "BUDGET";
  return status;
}

std::string ratio_text(double r) {
  if (!std::isfinite(r)) return "NaN/Inf";
  return num(r, 3) + "×";
}

// The tooltip of one tensor: every bound with its exact numbers.
std::string tensor_tooltip(const Judged& j) {
  std::string s = j.backend + " · " + j.name + " (" + j.phase + (j.layer >= 0 ? ", layer " + std::to_string(j.layer) : "") + ")\n";
  s += (j.pass ? "PASS" : "FAIL: " + j.why) + "\n";
  s += "decided by " + j.bound + ": error / bound = " + num(j.ratio, 6) + "\n";
  s += "max_abs " + num(j.max_abs, 6) + " / bound " + num(j.tol_max_abs, 6) + (std::isfinite(j.r_max_abs) ? " = " + num(j.r_max_abs, 6) : " (reported only)") + "\n";
  s += "rel_fro " + num(j.rel_fro, 6) + " / bound " + num(j.tol_rel_fro, 6) + (std::isfinite(j.r_rel_fro) ? " = " + num(j.r_rel_fro, 6) : "") + "\n";
  s += "NMSE " + num(j.nmse, 6) + " / ceiling " + num(j.ceiling, 6) + (std::isfinite(j.r_nmse) ? " = " + num(j.r_nmse, 6) : "");
  return s;
}

// One chart per phase: every drawn tensor of every judged backend at its layer, y = error / the bound
// that decided (log), the line y = 1 is the bound: a failing tensor is above it.
std::string layer_chart(const std::vector<Judged>& all, const std::string& phase, const std::vector<std::string>& backends) {
  std::vector<const Judged*> pts;
  int64_t L = 0, F = -1;  // slots for layers F .. L-1 (a slice run, e.g. 78:80, starts past 0)
  bool head = false;
  double rmin = INFINITY, rmax = 0;
  for (const auto& j : all) {
    if (!j.plotted || j.phase != phase) continue;
    pts.push_back(&j);
    if (j.layer >= 0) L = std::max(L, j.layer + 1), F = F < 0 ? j.layer : std::min(F, j.layer);
    else head = true;
    if (std::isfinite(j.ratio) && j.ratio > 0) rmin = std::min(rmin, j.ratio), rmax = std::max(rmax, j.ratio);
  }
  if (pts.empty()) return "";
  F = std::max<int64_t>(F, 0);
  const int64_t slots = L - F + (head ? 1 : 0);
  double lo = std::max(1e-9, std::min(0.1, std::isfinite(rmin) ? rmin : 0.1)), hi = std::min(1e15, std::max(10.0, rmax * 1.5));
  const std::vector<double> ticks = html::decade_ticks(lo, hi);
  Frame fr;
  fr.H = 340;
  const std::string title = phase + ": each tensor's error / its deciding bound (max_abs, rel_fro or NMSE ceiling); above the red line = fail";
  std::string s = html::open_svg(fr, "layer-chart " + phase, title, phase == "prefill" ? "layer (prefill)" : "layer (decode)",
                                 "error / bound (log)");
  const Scale y{lo, hi, fr.y0(), fr.y1(), true};
  s += html::y_grid(fr, y, ticks, [](double v) { return num(v, 1); });
  const double slot = (fr.x1() - fr.x0()) / static_cast<double>(slots);
  const int64_t step = std::max<int64_t>(1, (slots + 39) / 40);  // at most ~40 layer labels
  for (int64_t l = 0; l < slots; ++l) {  // every other layer shaded (up to 400 layers: beyond, a grey wash)
    if (l % 2 && slots <= 400) s += fmt("<rect x='%.1f' y='%.0f' width='%.1f' height='%.0f' fill='#f6f6f6'/>", fr.x0() + slot * static_cast<double>(l), fr.y1(), slot, fr.y0() - fr.y1());
    if (l % step == 0 || l == slots - 1)
      s += fmt("<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>", fr.x0() + slot * (static_cast<double>(l) + 0.5), fr.y0() + 14) +
           (l < L - F ? std::to_string(F + l) : std::string("head")) + "</text>";
  }
  // the bound, y = 1
  const double y1 = y(1.0);
  s += fmt("<line class='bound-line' data-ratio='1' x1='%.0f' y1='%.2f' x2='%.0f' y2='%.2f' stroke='#d62728' stroke-width='2' stroke-dasharray='6 3'/>",
           fr.x0(), y1, fr.x1(), y1);
  s += fmt("<text x='%.0f' y='%.1f' font-size='10' fill='#d62728' text-anchor='end'>bound (error = bound)</text>", fr.x1() - 2, y1 - 3);
  // points: a band per backend inside each layer's slot, spread over the layer's tensors
  std::map<std::pair<std::string, int64_t>, int> count, seen;
  for (const auto* j : pts) ++count[{j->backend, j->layer}];
  const double nb = static_cast<double>(std::max<std::size_t>(1, backends.size()));
  std::string fails;
  for (const auto* j : pts) {
    const std::size_t bi = static_cast<std::size_t>(std::find(backends.begin(), backends.end(), j->backend) - backends.begin());
    const int64_t sl = j->layer >= 0 ? j->layer - F : L - F;
    const int k = seen[{j->backend, j->layer}]++, n = count[{j->backend, j->layer}];
    const double band = slot * 0.8 / nb;
    const double cx = fr.x0() + slot * static_cast<double>(sl) + slot * 0.1 + band * static_cast<double>(bi) + band * (k + 0.5) / n;
    const double cy = y(j->ratio);
    std::string c = fmt("<circle class='pt' cx='%.2f' cy='%.2f' r='%.1f'", cx, cy, j->pass ? 3.0 : 5.0) + " data-backend='" + esc(j->backend) +
                    "' data-phase='" + esc(j->phase) + "' data-tensor='" + esc(j->name) + "' data-bound='" + esc(j->bound) +
                    "' data-ratio='" + exact(j->ratio) + "' data-pass='" + (j->pass ? "1" : "0") + "' fill='" + html::color(bi) + "'" +
                    (j->pass ? " fill-opacity='0.75'" : " stroke='#d62728' stroke-width='2.5'") + "><title>" + esc(tensor_tooltip(*j)) +
                    "</title></circle>";
    if (j->pass) s += c;
    else fails += c;  // drawn last: on top
  }
  s += fails;
  s += html::legend(fr, backends) + "</svg>";
  return s;
}

// `title` and `cls` name the table; a long one starts folded (the charts above carry the overview).
std::string tensor_table(const std::vector<Judged>& all, const std::string& title, const std::string& cls) {
  if (all.empty()) return "";
  std::string s = std::string(all.size() <= 40 ? "<details open>" : "<details>") + "<summary>" + title + " (" + std::to_string(all.size()) +
                  "; click a column to sort)</summary><table class='sortable " + cls + "'>" +
                  th_row({"backend", "tensor", "phase", "layer", "mode", "verdict", "deciding bound", "error / bound", "max_abs",
                          "max_abs bound", "rel_fro", "rel_fro bound", "NMSE", "NMSE ceiling", "cosine", "why / note"});
  for (const auto& j : all) {
    s += std::string("<tr class='") + (j.pass ? "ok" : "bad") + "'>" + td(esc(j.backend)) + td(esc(j.name)) + td(esc(j.phase)) +
         td(j.layer >= 0 ? std::to_string(j.layer) : "—", static_cast<double>(j.layer)) +
         td(j.end_to_end ? "end to end" : j.mode == "teacher_forced" ? "teacher-forced" : esc(j.mode)) +
         td(j.inconclusive ? "inconclusive" : j.pass ? "pass" : "<b>FAIL</b>") + td(esc(j.bound)) +
         td(ratio_text(j.ratio), std::isfinite(j.ratio) ? j.ratio : 1e300) + td(num(j.max_abs, 4), j.max_abs) +
         td(num(j.tol_max_abs, 4), j.tol_max_abs) + td(num(j.rel_fro, 4), j.rel_fro) + td(num(j.tol_rel_fro, 4), j.tol_rel_fro) +
         td(num(j.nmse, 4), j.nmse) + td(num(j.ceiling, 4), j.ceiling) + td(num(j.cosine, 6), j.cosine) + td(esc(j.why)) + "</tr>";
  }
  return s + "</tbody></table></details>";
}

std::string check_section(const JsonView& r) {
  const JsonView res = r.at("result");
  const json& rule = res.at("rule").raw();
  std::string ceilings;
  if (const json* c = html::field(rule, "nmse_ceiling"); c && c->is_object())
    for (const auto& [cls, v] : c->items())
      if (v.is_number()) ceilings += (ceilings.empty() ? "" : ", ") + esc(cls) + " " + num(v.get<double>(), 3);
  const bool pass = res.at("pass").boolean();
  std::string s = "<p class='verdict' data-verdict='" + std::string(pass ? "PASS" : "FAIL") + "'>Verdict: <span class='" +
                  (pass ? "pass" : "fail") + "'>" + (pass ? "PASS" : "FAIL") + "</span></p>";
  s += "<p>reference <b>" + esc(res.at("reference").str()) + "</b>, budget " + esc(jstr(res.raw(), "budget_backend")) +
       "; rule: error ≤ k × error(budget) + floor for max_abs and rel_fro, k = " + num(val(res.at("rule").at("k")), 3) +
       ", floor " + num(jnum(rule, "floor_rel"), 3) + "; NMSE ≤ ceiling (" + (ceilings.empty() ? "not recorded" : ceilings) + ")</p>";
  // MiniMax-VL-01 --golden: the oracle against the independent implementation's case (docs/harness.md)
  if (const auto g = res.find("golden")) {
    const auto first = g->find("first_failing");
    s += "<p>golden case <b>" + esc(g->at("case").str()) + "</b>: ref-f64 against its " +
         std::to_string(g->at("tensors").elements().size()) + " stored tensors (" + esc(g->at("tolerance").str()) +
         "): <b>" + (g->at("pass").boolean() ? "PASS" : "FAIL") + "</b>" +
         (first && first->raw().is_string() ? ", first failing " + esc(first->str()) : std::string()) + "</p>";
  }
  // the summary: one row per backend, its verdict and the bound that decided it
  std::vector<Judged> all;
  std::vector<std::string> charted;
  std::string rows, vision_lines;
  for (const auto& b : res.at("backends").elements()) {
    const std::string& name = b.at("name").str();
    const std::string& status = b.at("status").str();
    const auto reason = b.find("reason");
    std::optional<JsonView> fd = b.find("first_diverging");
    std::string first_text = "—", first_tensor;
    if (fd) {
      // MiniMax-VL-01: a vision tensor's layer is its vision layer ("family": vision_encoder / projector)
      const std::string family = jstr(fd->raw(), "family");
      const std::string what = family == "vision_encoder" ? "vision layer " : family == "projector" ? "projector, layer " : "layer ";
      first_tensor = fd->at("tensor").str();
      const std::string fphase = jstr(fd->raw(), "phase");
      first_text = what + std::to_string(fd->at("layer").integer(-1, kMaxReportLayer)) + (fphase.empty() ? "" : " (" + esc(fphase) + ")") +
                   ", " + esc(first_tensor);
    }
    const std::size_t begin = all.size();
    std::map<int64_t, double> vis;  // the vision tower's layers (MiniMax-VL-01): worst rel_fro / tolerance
    if (const auto tensors = b.find("tensors"))
      for (const auto& t : tensors->elements()) {
        all.push_back(judge_entry(name, t));
        if (const auto vl = t.find("vision_layer"); vl && t.at("phase").str() == "prefill") {
          const int64_t l = vl->integer(0, kMaxReportLayer);
          const double tol = all.back().tol_rel_fro, e = all.back().rel_fro;
          const double q = std::isfinite(e) ? (tol > 0 ? e / tol : 0) : 1e6;
          vis[l] = std::max(vis.count(l) ? vis[l] : 0.0, q);
        }
      }
    if (!vis.empty()) {
      vision_lines += "<li>" + esc(name) + ": vision layers (worst error / tolerance):";
      for (const auto& [l, q] : vis) {  // appended piece by piece: g++ 12 warns a false -Wrestrict on " " + temporaries
        vision_lines += " ";
        vision_lines += std::to_string(l);
        vision_lines += ": ";
        vision_lines += num(q, 3);
        vision_lines += q > 1 ? " <b>over</b>;" : ";";
      }
      vision_lines += "</li>";
    }
    int judged = 0, failed = 0, drawn = 0;
    const Judged* closest = nullptr;
    const Judged* decider = nullptr;
    for (std::size_t i = begin; i < all.size(); ++i) {
      const Judged& j = all[i];
      if (!j.inconclusive) ++judged;
      if (!j.pass) ++failed;
      if (j.plotted) ++drawn;
      if (j.name == first_tensor && !j.pass && !decider) decider = &j;
      if (!j.end_to_end && (!closest || j.ratio > closest->ratio)) closest = &j;
    }
    if (!decider && status == "fail")
      for (std::size_t i = begin; i < all.size() && !decider; ++i)
        if (!all[i].pass) decider = &all[i];
    std::string bound = "—", detail = reason ? esc(reason->str()) : "";
    if (decider) {
      bound = decider->bound;
      if (detail.empty()) detail = esc(decider->name + ": " + decider->why);
    } else if (status == "oracle") {
      detail = "the reference against itself: the yardstick, not judged";
    } else if (closest && status != "skipped" && status != "error") {
      bound = closest->bound;
      detail = "nearest its bound: " + esc(closest->name) + " (" + esc(closest->phase) + ") at " + num(100 * closest->ratio, 3) + "% of " + esc(closest->bound);
    }
    const std::string word = verdict_word(status);
    rows += "<tr class='backend-row' data-backend='" + esc(name) + "' data-verdict='" + esc(word) + "' data-bound='" + esc(bound) + "'>" +
            td(esc(name)) + "<td class='" + (status == "pass" ? "pass" : status == "fail" || status == "error" ? "fail" : "other") + "'>" +
            esc(word) + "</td>" + td(std::to_string(judged), judged) + td(std::to_string(failed), failed) + td(esc(bound)) + td(detail) +
            (closest ? td(esc(closest->name) + " " + ratio_text(closest->ratio), std::isfinite(closest->ratio) ? closest->ratio : 1e300) : td("—", -1)) +
            td(first_text) + td(num(jnum(b.raw(), "seconds"), 3), jnum(b.raw(), "seconds")) + "</tr>";
    if (drawn > 0 && status != "oracle") charted.push_back(name);
  }
  s += "<table class='sortable summary'>" +
       th_row({"backend", "verdict", "tensors judged", "failed", "deciding bound", "why (the first violated bound, or the nearest)",
               "closest to its bound", "first diverging", "seconds"}) +
       rows + "</tbody></table>";
  if (!vision_lines.empty()) s += "<ul>" + vision_lines + "</ul>";
  for (const char* phase : {"prefill", "decode"}) {
    std::vector<Judged> shown;
    for (const auto& j : all)
      if (std::find(charted.begin(), charted.end(), j.backend) != charted.end()) shown.push_back(j);
    s += layer_chart(shown, phase, charted);
  }
  std::vector<Judged> failing;
  for (const auto& j : all)
    if (!j.pass) failing.push_back(j);
  s += tensor_table(failing, "failing tensors", "failing");
  s += tensor_table(all, "every tensor", "tensors");
  return s;
}

// ---- bench ------------------------------------------------------------------------------------------

// One latency series: the JSON's percentiles and the box drawn from its repetitions.
struct Series {
  std::string backend, phase, precision;
  int64_t length = 0;
  std::vector<double> samples;  // seconds, sorted
  double p50 = NAN, p90 = NAN, p99 = NAN, min = NAN, q1 = NAN, q3 = NAN, max = NAN, mean = NAN, cv = NAN;
  double gflops = NAN, roof = NAN, ai = NAN, flops = NAN, bytes = NAN, tokens_per_s = NAN;
  bool noisy = false;
};

// Noisy: the repetitions spread by more than this coefficient of variation (stddev / mean).
constexpr double kNoisyCv = 0.10;

Series read_series(const JsonView& x) {
  Series s;
  s.backend = x.at("backend").str();
  s.phase = x.at("phase").str_in({"ttft", "tpot"});
  s.length = x.at("length").integer(0);
  for (const auto& v : x.at("samples").elements()) s.samples.push_back(v.number());
  std::sort(s.samples.begin(), s.samples.end());
  s.p50 = val(x.at("p50"));
  s.p90 = val(x.at("p90"));
  s.p99 = val(x.at("p99"));
  s.gflops = val(x.at("gflops"));
  s.roof = val(x.at("roof_gflops"));
  const json& raw = x.raw();
  s.precision = jstr(raw, "precision");
  s.ai = jnum(raw, "arithmetic_intensity");
  s.flops = jnum(raw, "flops");
  s.bytes = jnum(raw, "bytes");
  s.tokens_per_s = jnum(raw, "tokens_per_s");
  if (!s.samples.empty()) {
    s.min = s.samples.front();
    s.max = s.samples.back();
    s.q1 = percentile(s.samples, 25);  // the interpolation of p50/p90/p99 (harness/stats.h)
    s.q3 = percentile(s.samples, 75);
    s.mean = mean(s.samples);
    s.cv = s.mean > 0 ? stddev(s.samples) / s.mean : NAN;
    s.noisy = s.cv > kNoisyCv;
  }
  return s;
}

// Box plots per length (min / p25 / p50 / p75 / max; p90 and p99 as marks), one box per backend, one
// panel per length with its own time axis: lengths differ by orders of magnitude, and a shared axis from
// zero would flatten every box into a line.
std::string latency_boxes(const std::vector<Series>& all, const std::string& phase, const std::vector<std::string>& backends) {
  std::map<int64_t, std::vector<const Series*>> by_len;
  for (const auto& x : all)
    if (x.phase == phase) by_len[x.length].push_back(&x);
  if (by_len.empty()) return "";
  Frame fr;
  fr.H = 300;
  fr.l = 30;
  const bool ttft = phase == "ttft";
  std::string s = html::open_svg(fr, "latency-chart " + phase,
                                 ttft ? "TTFT (prefill latency) per prompt length: box p25–p75, median line, whiskers min–max, ● p90 ◆ p99"
                                      : "TPOT (time per output token) per context length: box p25–p75, median line, whiskers min–max, ● p90 ◆ p99",
                                 ttft ? "prompt tokens" : "context tokens", ttft ? "TTFT" : "TPOT");
  const double pw = (fr.x1() - fr.x0()) / static_cast<double>(by_len.size()), nb = static_cast<double>(std::max<std::size_t>(1, backends.size()));
  std::size_t li = 0;
  for (const auto& [len, ss] : by_len) {
    double lo = INFINITY, hi = 0;
    for (const auto* x : ss)
      for (double v : {x->min, x->max, x->p50, x->p90, x->p99})
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!std::isfinite(lo)) lo = 0, hi = 1e-3;
    const double pad = std::max(0.05 * (hi - lo), 0.01 * hi);
    lo = std::max(0.0, lo - pad), hi = hi + pad;
    if (!(hi > lo)) hi = lo + 1e-6;
    const std::vector<double> ticks = html::nice_ticks(lo, hi, 4);
    const double px0 = fr.x0() + pw * static_cast<double>(li) + 56, px1 = fr.x0() + pw * static_cast<double>(li + 1) - 10;
    Frame panel = fr;
    panel.l = px0, panel.r = fr.W - px1;
    const Scale y{lo, hi, fr.y0(), fr.y1(), false};
    s += html::y_grid(panel, y, ticks, [](double v) { return dur(v, 4); });
    s += fmt("<line x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' stroke='#333'/>", px0, fr.y0(), px0, fr.y1());
    s += fmt("<text x='%.1f' y='%.0f' font-size='11' text-anchor='middle'>", (px0 + px1) / 2, fr.y0() + 15) + (ttft ? "S = " : "C = ") +
         std::to_string(len) + "</text>";
    for (const auto* x : ss) {
      const std::size_t bi = static_cast<std::size_t>(std::find(backends.begin(), backends.end(), x->backend) - backends.begin());
      const double band = (px1 - px0) / nb, cx = px0 + band * (static_cast<double>(bi) + 0.5);
      const double w = std::min(band * 0.55, 50.0), xl = cx - w / 2;
      const char* col = html::color(bi);
      s += "<g class='box' data-backend='" + esc(x->backend) + "' data-phase='" + esc(phase) + "' data-length='" + std::to_string(x->length) +
           "' data-p50='" + exact(x->p50) + "' data-p90='" + exact(x->p90) + "' data-p99='" + exact(x->p99) + "' data-min='" + exact(x->min) +
           "' data-max='" + exact(x->max) + "' data-cv='" + exact(x->cv) + "' data-noisy='" + (x->noisy ? "1" : "0") + "'>";
      s += "<title>" +
           esc(x->backend + " " + (ttft ? "TTFT" : "TPOT") + " at " + std::to_string(x->length) + " tokens, " + std::to_string(x->samples.size()) +
               " repetitions\nmin " + dur(x->min, 6) + ", p25 " + dur(x->q1, 6) + ", p50 " + dur(x->p50, 6) + ", p75 " + dur(x->q3, 6) +
               "\np90 " + dur(x->p90, 6) + ", p99 " + dur(x->p99, 6) + ", max " + dur(x->max, 6) + "\nCV " +
               (std::isfinite(x->cv) ? num(100 * x->cv, 3) + " %" : std::string("—")) + (x->noisy ? " (noisy: above 10 %)" : "")) +
           "</title>";
      if (!x->samples.empty()) {
        s += fmt("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555'/>", cx, y(x->min), cx, y(x->max));
        s += fmt("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555'/>", cx - w / 4, y(x->min), cx + w / 4, y(x->min));
        s += fmt("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555'/>", cx - w / 4, y(x->max), cx + w / 4, y(x->max));
        const double top = y(x->q3), bottom = y(x->q1);
        s += fmt("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill-opacity='0.35' fill='", xl, top, w, std::max(1.0, bottom - top)) + col +
             "' stroke='" + (x->noisy ? "#d62728' stroke-width='2.5' stroke-dasharray='4 2'" : std::string(col) + "'") + "/>";
      }
      if (std::isfinite(x->p50))
        s += fmt("<line class='median' x1='%.1f' y1='%.2f' x2='%.1f' y2='%.2f' stroke='#000' stroke-width='2'/>", xl, y(x->p50), xl + w, y(x->p50));
      if (std::isfinite(x->p90)) s += fmt("<circle cx='%.1f' cy='%.1f' r='2.5' fill='#000'/>", xl + w + 5, y(x->p90));
      if (std::isfinite(x->p99))
        s += fmt("<rect x='%.1f' y='%.1f' width='4' height='4' fill='#000' transform='rotate(45 %.1f %.1f)'/>", xl + w + 10, y(x->p99) - 2,
                 xl + w + 12, y(x->p99));
      if (x->noisy)
        s += fmt("<text x='%.1f' y='%.1f' font-size='10' fill='#d62728' text-anchor='middle'>", cx, (x->samples.empty() ? y(x->p50) : y(x->max)) - 5) +
             "noisy (CV " + num(100 * x->cv, 2) + " %)</text>";
      s += "</g>";
    }
    ++li;
  }
  return s + html::legend(fr, backends) + "</svg>";
}

// The roofline (Williams et al.): achieved GFLOP/s against arithmetic intensity, log-log, under the
// measured roofs: bandwidth x AI up to each GEMM peak (sgemm for f32 / bf16, dgemm for f64).
std::string roofline(const std::vector<Series>& all, double bw, double sgemm, double dgemm, const std::vector<std::string>& backends) {
  std::vector<const Series*> pts;
  double xmin = INFINITY, xmax = 0, ymin = INFINITY, ymax = 0;
  for (const auto& x : all)
    if (x.ai > 0 && x.gflops > 0 && std::isfinite(x.ai) && std::isfinite(x.gflops)) {
      pts.push_back(&x);
      xmin = std::min(xmin, x.ai), xmax = std::max(xmax, x.ai), ymin = std::min(ymin, x.gflops), ymax = std::max(ymax, x.gflops);
    }
  const bool have_bw = bw > 0 && std::isfinite(bw);
  std::vector<std::pair<std::string, double>> peaks;
  if (sgemm > 0 && std::isfinite(sgemm)) peaks.push_back({"sgemm", sgemm});
  if (dgemm > 0 && std::isfinite(dgemm)) peaks.push_back({"dgemm", dgemm});
  if (pts.empty() && (peaks.empty() || !have_bw)) return "";
  for (const auto& [n, p] : peaks) {
    ymax = std::max(ymax, p);
    if (have_bw) xmin = std::min(xmin, p / bw), xmax = std::max(xmax, p / bw);
  }
  if (!std::isfinite(xmin)) xmin = 0.1, xmax = 10;
  if (!std::isfinite(ymin)) ymin = ymax / 100;
  double xlo = xmin / 4, xhi = xmax * 4, ylo = std::min(ymin / 4, have_bw ? bw * xlo : ymin / 4), yhi = ymax * 3;
  ylo = std::max(ylo, yhi * 1e-9);
  Frame fr;
  fr.H = 380;
  std::string s = html::open_svg(fr, "roofline", "roofline: achieved rate vs arithmetic intensity, under the roofs measured in the run",
                                 "arithmetic intensity (FLOP / byte, log)", "GFLOP/s (log)");
  const std::vector<double> xt = html::decade_ticks(xlo, xhi), yt = html::decade_ticks(ylo, yhi);
  const Scale x{xlo, xhi, fr.x0(), fr.x1(), true}, y{ylo, yhi, fr.y0(), fr.y1(), true};
  s += html::y_grid(fr, y, yt, [](double v) { return num(v, 2); });
  s += html::x_grid(fr, x, xt, [](double v) { return num(v, 2); });
  for (const auto& [name, peak] : peaks) {
    const bool dashed = name == "dgemm";
    std::string pts_attr;
    if (have_bw) {
      const double ridge = std::clamp(peak / bw, xlo, xhi);
      pts_attr = fmt("%.1f,%.1f %.1f,%.1f ", x(xlo), y(bw * xlo), x(ridge), y(std::min(peak, bw * ridge))) + fmt("%.1f,%.1f", x(xhi), y(peak));
    } else {
      pts_attr = fmt("%.1f,%.1f %.1f,%.1f", x(xlo), y(peak), x(xhi), y(peak));
    }
    s += "<polyline class='roof' data-roof='" + name + "' data-peak-gflops='" + exact(peak) + "' data-bandwidth-gbps='" + exact(bw) +
         "' fill='none' stroke='#333' stroke-width='2'" + (dashed ? " stroke-dasharray='6 4'" : "") + " points='" + pts_attr + "'><title>" +
         esc(name + " roof: " + num(peak, 6) + " GFLOP/s peak" + (have_bw ? ", memory roof " + num(bw, 6) + " GB/s × AI, ridge at " + num(peak / bw, 4) + " FLOP/byte" : "")) +
         "</title></polyline>";
    s += fmt("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>", fr.x1() - 4, y(peak) - 4) +
         esc(name + " " + num(peak, 3) + " GFLOP/s" + (dashed ? " (f64)" : " (f32, bf16)")) + "</text>";
  }
  if (have_bw) {
    const double xl = xlo * 1.5;
    s += fmt("<text x='%.1f' y='%.1f' font-size='10'>", x(xl) + 4, y(bw * xl) - 6) + esc("memory " + num(bw, 3) + " GB/s") + "</text>";
  }
  for (const auto* p : pts) {
    const std::size_t bi = static_cast<std::size_t>(std::find(backends.begin(), backends.end(), p->backend) - backends.begin());
    const std::string tip = p->backend + " " + p->phase + " at " + std::to_string(p->length) + " tokens\nAI " + num(p->ai, 6) + " FLOP/byte (" +
                            num(p->flops, 6) + " FLOP, " + num(p->bytes, 6) + " bytes)\nachieved " + num(p->gflops, 6) +
                            " GFLOP/s at the p50\nattainable " + num(p->roof, 6) + " GFLOP/s (" + num(100 * p->gflops / p->roof, 3) + " % of it)";
    const std::string attrs = " class='rl-pt' data-backend='" + esc(p->backend) + "' data-phase='" + p->phase + "' data-length='" +
                              std::to_string(p->length) + "' data-ai='" + exact(p->ai) + "' data-gflops='" + exact(p->gflops) + "' fill='" +
                              html::color(bi) + "' stroke='#000'";
    if (p->phase == "ttft") s += fmt("<circle cx='%.1f' cy='%.1f' r='5'", x(p->ai), y(p->gflops)) + attrs + "><title>" + esc(tip) + "</title></circle>";
    else s += fmt("<rect x='%.1f' y='%.1f' width='9' height='9'", x(p->ai) - 4.5, y(p->gflops) - 4.5) + attrs + "><title>" + esc(tip) + "</title></rect>";
  }
  s += html::legend(fr, backends);
  s += fmt("<text x='%.0f' y='%.0f' font-size='10'>● TTFT  ■ TPOT</text>", fr.x1() + 12, fr.y1() + 4 + 14 * static_cast<double>(backends.size()) + 10);
  return s + "</svg>";
}

// MiniMax-VL-01 bench: one row per image series (image TTFT and the vision tower per crop), then the
// backends that refused images. Nothing for a text model's report.
std::string image_bench_table(const JsonView& res) {
  std::string s;
  const auto list = res.find("image_series");
  if (list && list->size() > 0) {
    s += "<p><b>Image requests</b> (text + one seeded synthetic image; TTFT = the prefill call, vision = the vision "
         "tower + projector per crop)</p><table class='sortable images'>" +
         th_row({"backend", "image", "crops", "image + text tokens", "TTFT p50 / p90 / p99", "GFLOP/s", "vision per crop p50 / p90 / p99",
                 "vision GFLOP/s", "vision share of TTFT"});
    for (const auto& x : list->elements()) {
      s += "<tr>" + td(esc(x.at("backend").str())) + td(std::to_string(x.at("width").integer(1)) + "x" + std::to_string(x.at("height").integer(1))) +
           td(std::to_string(x.at("crops").integer(1))) +
           td(std::to_string(x.at("image_tokens").integer(0)) + " + " + std::to_string(x.at("text_tokens").integer(0))) +
           td(dur(val(x.at("p50"))) + " / " + dur(val(x.at("p90"))) + " / " + dur(val(x.at("p99"))), val(x.at("p50"))) +
           td(num(val(x.at("gflops")), 3), val(x.at("gflops")));
      const JsonView v = x.at("vision");
      if (v.is_null()) s += "<td colspan='3'>not timed by this backend</td>";
      else
        s += td(dur(val(v.at("p50"))) + " / " + dur(val(v.at("p90"))) + " / " + dur(val(v.at("p99"))), val(v.at("p50"))) +
             td(num(val(v.at("gflops")), 3), val(v.at("gflops"))) + td(num(100 * val(v.at("share_of_ttft")), 3) + " %", val(v.at("share_of_ttft")));
      s += "</tr>";
    }
    s += "</tbody></table>";
  }
  if (const auto sk = res.find("image_skipped"))
    for (const auto& k : sk->elements())
      s += "<p>image series skipped on " + esc(k.at("backend").str()) + ": " + esc(k.at("reason").str()) + "</p>";
  return s;
}

// The machine's load when the run was timed, where the report records it (a number or [1, 5, 15 min]).
std::string load_average(const json& report) {
  for (const json* at : {html::field(report, "machine"), html::field(report, "result")}) {
    if (!at) continue;
    const json* la = html::field(*at, "load_average");
    if (la && la->is_number()) return num(la->get<double>(), 3);
    if (la && la->is_array()) {
      std::string s;
      for (const auto& v : *la)
        if (v.is_number()) s += (s.empty() ? "" : " / ") + num(v.get<double>(), 3);
      if (!s.empty()) return s + " (1 / 5 / 15 min)";
    }
  }
  return "";
}

std::string bench_section(const JsonView& r) {
  const JsonView res = r.at("result");
  const JsonView roof = res.at("roof");
  // bandwidth_gbps / read_gbps since the read-only measurement was added; older reports have memcpy only
  const auto bandwidth = roof.find("bandwidth_gbps");
  const double bw = val(bandwidth ? *bandwidth : roof.at("memcpy_gbps"));
  const double sgemm = val(roof.at("sgemm_gflops")), dgemm = val(roof.at("dgemm_gflops"));
  std::string s = "<p>roofs measured in the run: bandwidth <b>" + num(bw, 4) + " GB/s</b> (memcpy " + num(val(roof.at("memcpy_gbps")), 4) +
                  ", read " + num(jnum(roof.raw(), "read_gbps"), 4) + "), sgemm <b>" + num(sgemm, 4) + " GFLOP/s</b>, dgemm <b>" +
                  num(dgemm, 4) + " GFLOP/s</b></p>";
  std::vector<Series> all;
  std::vector<std::string> backends;
  for (const auto& x : res.at("series").elements()) {
    all.push_back(read_series(x));
    if (std::find(backends.begin(), backends.end(), all.back().backend) == backends.end()) backends.push_back(all.back().backend);
  }
  const std::string load = load_average(r.raw());
  int noisy = 0;
  for (const auto& x : all) noisy += x.noisy;
  s += "<p class='noise'>noise: " + std::to_string(noisy) + " of " + std::to_string(all.size()) +
       " series noisy (CV = stddev / mean of the repetitions above " + num(100 * kNoisyCv, 2) + " %, outlined red); load average " +
       (load.empty() ? "not recorded in this report" : esc(load)) + "</p>";
  s += latency_boxes(all, "ttft", backends);
  s += latency_boxes(all, "tpot", backends);
  s += roofline(all, bw, sgemm, dgemm, backends);
  if (!all.empty()) {
    s += "<table class='sortable series'>" +
         th_row({"backend", "phase", "length", "reps", "min", "p25", "p50", "p75", "p90", "p99", "max", "CV", "noise", "tokens/s", "GFLOP/s",
                 "FLOP / byte", "attainable GFLOP/s", "of the roof"});
    for (const auto& x : all)
      s += "<tr class='series-row' data-backend='" + esc(x.backend) + "' data-phase='" + x.phase + "' data-length='" + std::to_string(x.length) +
           "'>" + td(esc(x.backend)) + td(x.phase == "ttft" ? "TTFT" : "TPOT") + td(std::to_string(x.length), static_cast<double>(x.length)) +
           td(std::to_string(x.samples.size()), static_cast<double>(x.samples.size())) + td(dur(x.min), x.min) + td(dur(x.q1), x.q1) +
           td(dur(x.p50), x.p50) + td(dur(x.q3), x.q3) + td(dur(x.p90), x.p90) + td(dur(x.p99), x.p99) + td(dur(x.max), x.max) +
           td(std::isfinite(x.cv) ? num(100 * x.cv, 3) + " %" : "—", x.cv) + td(x.noisy ? "<b class='fail'>noisy</b>" : "ok") +
           td(html::opt(x.tokens_per_s, 4), x.tokens_per_s) + td(num(x.gflops, 4), x.gflops) + td(html::opt(x.ai, 4), x.ai) + td(num(x.roof, 4), x.roof) +
           td(num(100 * x.gflops / x.roof, 3) + " %", x.gflops / x.roof) + "</tr>";
    s += "</tbody></table>";
  }
  for (const auto& k : res.at("skipped").elements())
    s += "<p>skipped " + esc(k.at("backend").str()) + ": " + esc(k.at("reason").str()) + "</p>";
  s += image_bench_table(res);
  return s;
}

// ---- soak -------------------------------------------------------------------------------------------

// MiniMax-VL-01 soak: the image requests overall and per window (present only with images on).
std::string image_soak_summary(const JsonView& o, const std::vector<JsonView>& w) {
  const auto im = o.find("images");
  if (!im) return "";
  auto n = [](const JsonView& j, const char* k) { return std::to_string(j.at(k).integer(0)); };
  const JsonView t = im->at("ttft_ms");
  std::string s = "<p><b>Image requests</b>: " + n(*im, "requests") + " (checked against ref-f64 " + n(*im, "checked") + ", " +
                  n(*im, "crops") + " crops): success " + n(*im, "success") + ", SLO breach " + n(*im, "slo_breach") + ", numerical " +
                  n(*im, "numerical") + ", error " + n(*im, "error") + "; TTFT p50 / p90 / p99 " + dur(val(t.at("p50")) / 1e3) + " / " +
                  dur(val(t.at("p90")) / 1e3) + " / " + dur(val(t.at("p99")) / 1e3) + "</p>";
  s += "<table class='sortable image-windows'>" +
       th_row({"window start", "requests", "with an image", "image failures (numerical + error)", "image TTFT p50 / p99"});
  for (const auto& x : w) {
    const auto wi = x.find("images");
    if (!wi) continue;
    s += "<tr>" + td(num(val(x.at("start_s")), 4) + " s", val(x.at("start_s"))) + td(std::to_string(static_cast<long long>(jnum(x.raw(), "requests")))) +
         td(n(*wi, "requests")) + td(std::to_string(wi->at("numerical").integer(0) + wi->at("error").integer(0))) +
         td(dur(val(wi->at("ttft_ms").at("p50")) / 1e3) + " / " + dur(val(wi->at("ttft_ms").at("p99")) / 1e3)) + "</tr>";
  }
  return s + "</tbody></table>";
}

struct Window {
  double start = NAN, end = NAN, uptime = NAN, goodput = NAN, e2e_p50 = NAN, e2e_p99 = NAN, ttft_p50 = NAN;
  double requests = 0, success = 0;
  int64_t slo = 0, numerical = 0, error = 0;
};

// The timeline: per window, the requests by class (stacked bars: success, SLO breach, numerical,
// error) and the uptime (line, right axis); then the latency per window.
std::string soak_timeline(const std::vector<Window>& w, double window_s) {
  double t1 = 0, cmax = 1, lmax = 0;
  for (const auto& x : w) {
    for (double v : {x.start, x.end})
      if (std::isfinite(v)) t1 = std::max(t1, v);
    cmax = std::max(cmax, std::max(x.requests, x.success + static_cast<double>(x.slo + x.numerical + x.error)));
    for (double v : {x.e2e_p50, x.e2e_p99, x.ttft_p50})
      if (std::isfinite(v)) lmax = std::max(lmax, v / 1e3);
  }
  if (!(t1 > 0)) t1 = std::max(1.0, static_cast<double>(w.size()) * (window_s > 0 ? window_s : 1));
  Frame fr;
  fr.r = 200;  // the uptime axis, then the legend
  std::string s = html::open_svg(fr, "soak-timeline", "requests per window by class (bars) and uptime (line, right axis)", "time (s)", "requests");
  double c0 = 0, c1 = cmax, x0 = 0, x1 = t1;
  const std::vector<double> ct = html::nice_ticks(c0, c1, 4), xt = html::nice_ticks(x0, x1, 8);
  const Scale y{c0, c1, fr.y0(), fr.y1(), false}, x{x0, x1, fr.x0(), fr.x1(), false}, u{0, 100, fr.y0(), fr.y1(), false};
  s += html::y_grid(fr, y, ct, [](double v) { return num(v, 3); });
  s += html::x_grid(fr, x, xt, [](double v) { return num(v, 3); });
  for (double p : {0.0, 50.0, 100.0})
    s += fmt("<text x='%.0f' y='%.1f' font-size='10' fill='#1f77b4'>%.0f %%</text>", fr.x1() + 4, u(p) + 3, p);
  std::string path;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const Window& q = w[i];
    const double a = std::isfinite(q.start) ? q.start : static_cast<double>(i) * window_s;
    const double b = std::isfinite(q.end) && q.end > a ? q.end : a + (window_s > 0 ? window_s : t1 / static_cast<double>(w.size()));
    const double xl = x(a) + 1, width = std::max(1.0, x(b) - x(a) - 2);
    s += "<g class='win' data-start='" + exact(q.start) + "' data-error='" + std::to_string(q.error) + "' data-numerical='" +
         std::to_string(q.numerical) + "' data-slo-breach='" + std::to_string(q.slo) + "' data-uptime='" + exact(q.uptime) + "'><title>" +
         esc("window " + num(a, 4) + "–" + num(b, 4) + " s: " + num(q.requests, 6) + " requests, success " + num(q.success, 6) + ", SLO breach " +
             std::to_string(q.slo) + ", numerical " + std::to_string(q.numerical) + ", error " + std::to_string(q.error) + "\nuptime " +
             (std::isfinite(q.uptime) ? num(q.uptime, 6) + " %" : std::string("— (no request)")) + ", goodput " + num(q.goodput, 4) +
             " req/s\ne2e p50 " + dur(q.e2e_p50 / 1e3) + ", p99 " + dur(q.e2e_p99 / 1e3)) +
         "</title>";
    double base = y(0);
    for (auto [count, col] : {std::pair{q.success, "#8fd18f"}, {static_cast<double>(q.slo), "#999"}, {static_cast<double>(q.numerical), "#ff7f0e"},
                              {static_cast<double>(q.error), "#d62728"}}) {
      if (!(count > 0)) continue;
      const double top = y(std::min(c1, count + y.d0 + (y(0) - base) / (fr.y0() - fr.y1()) * (c1 - c0)));
      s += fmt("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='", xl, top, width, std::max(0.0, base - top)) + col + "'/>";
      base = top;
    }
    s += "</g>";
    if (std::isfinite(q.uptime)) path += fmt("%.1f,%.1f ", (x(a) + x(b)) / 2, u(std::clamp(q.uptime, 0.0, 100.0)));
  }
  s += "<polyline class='uptime' fill='none' stroke='#1f77b4' stroke-width='2.5' points='" + path + "'/>";
  int k = 0;
  for (auto [name, col] : {std::pair{"success", "#8fd18f"}, {"SLO breach", "#999"}, {"numerical", "#ff7f0e"}, {"error", "#d62728"}, {"uptime % (line)", "#1f77b4"}}) {
    s += fmt("<rect x='%.0f' y='%.0f' width='10' height='10' fill='", fr.x1() + 56, fr.y1() + 4 + 14 * k) + col + "'/>";
    s += fmt("<text x='%.0f' y='%.0f' font-size='11'>", fr.x1() + 70, fr.y1() + 13 + 14 * k) + name + "</text>";
    ++k;
  }
  s += "</svg>";
  // latency per window
  if (lmax > 0) {
    Frame f2;
    f2.H = 260;
    s += html::open_svg(f2, "soak-latency", "latency per window: end-to-end p50 and p99, TTFT p50", "time (s)", "latency");
    double l0 = 0, l1 = lmax * 1.05;
    const std::vector<double> lt = html::nice_ticks(l0, l1, 4);
    const Scale yl{l0, l1, f2.y0(), f2.y1(), false}, xl2{x0, x1, f2.x0(), f2.x1(), false};
    s += html::y_grid(f2, yl, lt, [](double v) { return dur(v); });
    s += html::x_grid(f2, xl2, xt, [](double v) { return num(v, 3); });
    int idx = 0;
    for (auto [pick, name] : {std::pair{&Window::e2e_p50, "e2e p50"}, {&Window::e2e_p99, "e2e p99"}, {&Window::ttft_p50, "TTFT p50"}}) {
      std::string pts;
      for (std::size_t i = 0; i < w.size(); ++i) {
        const double v = w[i].*pick;
        const double a = std::isfinite(w[i].start) ? w[i].start : static_cast<double>(i) * window_s;
        if (std::isfinite(v)) pts += fmt("%.1f,%.1f ", xl2(a + window_s / 2), yl(v / 1e3));
      }
      s += "<polyline fill='none' stroke-width='2' stroke='" + std::string(html::color(static_cast<std::size_t>(idx))) + "'" +
           (idx == 1 ? " stroke-dasharray='5 3'" : "") + " points='" + pts + "'/>";
      ++idx;
    }
    s += html::legend(f2, {"e2e p50", "e2e p99 (dashed)", "TTFT p50"}) + "</svg>";
  }
  return s;
}

std::string soak_section(const JsonView& r) {
  const JsonView res = r.at("result");
  const JsonView o = res.at("overall"), faults = res.at("faults");
  const json& raw = res.raw();
  const int64_t missed = faults.at("missed").integer(), unexplained = o.at("unexplained_failures").integer(0);
  const json* pass_field = html::field(raw, "pass");
  const bool pass = pass_field && pass_field->is_boolean() ? pass_field->get<bool>() : missed == 0 && unexplained == 0;
  int64_t injected = 0, caught = 0;
  std::string fault_rows;
  const JsonView inj = faults.at("injected").object(), cau = faults.at("caught").object();
  std::set<std::string> kinds;
  for (const auto& [k, v] : inj.raw().items()) kinds.insert(k);
  for (const auto& [k, v] : cau.raw().items()) kinds.insert(k);
  const json* rates = html::field(faults.raw(), "rates");
  const json* not_inj = html::field(faults.raw(), "not_injectable");
  for (const auto& k : kinds) {
    const double i = jnum(inj.raw(), k.c_str()), c = jnum(cau.raw(), k.c_str());
    if (std::isfinite(i)) injected += static_cast<int64_t>(i);
    if (std::isfinite(c)) caught += static_cast<int64_t>(c);
    fault_rows += "<tr>" + td(esc(k)) + td(rates ? html::opt(jnum(*rates, k.c_str()), 3) : "—") + td(html::opt(i, 6), i) + td(html::opt(c, 6), c) +
                  td(not_inj ? html::opt(jnum(*not_inj, k.c_str()), 6) : "—") + "</tr>";
  }
  std::string why = pass ? "every injected fault caught (" + std::to_string(caught) + " of " + std::to_string(injected) + "), no unexplained failure"
                         : std::to_string(missed) + " injected fault(s) missed, " + std::to_string(unexplained) + " unexplained failure(s)";
  if (!report_complete(r.raw()) && !pass) why = "interrupted: no verdict";
  std::string s = "<p class='verdict' data-verdict='" + std::string(pass ? "PASS" : "FAIL") + "'>Verdict: <span class='" + (pass ? "pass" : "fail") +
                  "'>" + (pass ? "PASS" : "FAIL") + "</span> — " + esc(why) + "</p>";
  const json& ov = o.raw();
  const json* slo = html::field(raw, "slo");
  s += "<p>backend <b>" + esc(res.at("backend").str()) + "</b>, " + num(val(res.at("elapsed_s")), 4) + " s, " +
       std::to_string(o.at("requests").integer(0)) + " requests: success " + num(jnum(ov, "success"), 6) + ", SLO breach " +
       num(jnum(ov, "slo_breach"), 6) + ", numerical " + num(jnum(ov, "numerical"), 6) + ", error " + num(jnum(ov, "error"), 6) + "; uptime <b>" +
       num(val(o.at("uptime_percent")), 4) + " %</b>, goodput <b>" + num(val(o.at("goodput_rps")), 4) + " req/s</b>; e2e p50 / p90 / p99 " +
       dur(jnum(ov, "e2e_ms", "p50") / 1e3) + " / " + dur(jnum(ov, "e2e_ms", "p90") / 1e3) + " / " + dur(jnum(ov, "e2e_ms", "p99") / 1e3) +
       (slo ? "; SLO: TTFT " + dur(jnum(*slo, "ttft_ms") / 1e3) + ", TPOT " + dur(jnum(*slo, "tpot_ms") / 1e3) : std::string()) + "</p>";
  s += "<table class='sortable faults'>" + th_row({"fault kind", "rate / request", "injected", "caught", "not injectable"}) + fault_rows +
       "</tbody></table>";
  std::vector<Window> win;
  const std::vector<JsonView> w = res.at("windows").elements();
  for (const auto& x : w) {
    Window q;
    q.start = val(x.at("start_s"));
    q.uptime = val(x.at("uptime_percent"));
    q.error = x.at("error").integer(0);
    q.numerical = x.at("numerical").integer(0);
    q.slo = x.at("slo_breach").integer(0);
    const json& xr = x.raw();
    q.end = jnum(xr, "end_s");
    q.requests = jnum(xr, "requests");
    q.success = jnum(xr, "success");
    if (!std::isfinite(q.success)) q.success = 0;
    if (!std::isfinite(q.requests)) q.requests = q.success + static_cast<double>(q.slo + q.numerical + q.error);
    q.goodput = jnum(xr, "goodput_rps");
    q.e2e_p50 = jnum(xr, "e2e_ms", "p50");
    q.e2e_p99 = jnum(xr, "e2e_ms", "p99");
    q.ttft_p50 = jnum(xr, "ttft_ms", "p50");
    win.push_back(q);
  }
  if (!win.empty()) s += soak_timeline(win, jnum(raw, "window_s"));
  // error classes: the failed requests grouped by class, injected fault and reason
  if (const json* reqs = html::field(raw, "requests"); reqs && reqs->is_array()) {
    std::map<std::tuple<std::string, std::string, std::string>, std::pair<int, double>> classes;
    for (const auto& q : *reqs) {
      const std::string cls = jstr(q, "class");
      if (cls.empty() || cls == "success") continue;
      auto& e = classes[{cls, jstr(q, "fault"), jstr(q, "why")}];
      if (e.first++ == 0) e.second = jnum(q, "t_s");
    }
    if (!classes.empty()) {
      s += "<table class='sortable error-classes'>" + th_row({"class", "injected fault", "why", "requests", "first at"});
      for (const auto& [key, e] : classes)
        s += "<tr>" + td(esc(std::get<0>(key))) + td(std::get<1>(key).empty() ? "none" : esc(std::get<1>(key))) + td(esc(std::get<2>(key))) +
             td(std::to_string(e.first), e.first) + td(num(e.second, 4) + " s", e.second) + "</tr>";
      s += "</tbody></table>";
    }
  }
  if (!win.empty()) {
    s += "<details><summary>every window (" + std::to_string(win.size()) + ")</summary><table class='sortable windows'>" +
         th_row({"start", "requests", "success", "SLO breach", "numerical", "error", "uptime", "goodput req/s", "e2e p50", "e2e p99"});
    for (const auto& q : win)
      s += "<tr>" + td(num(q.start, 4) + " s", q.start) + td(num(q.requests, 6), q.requests) + td(num(q.success, 6), q.success) +
           td(std::to_string(q.slo), static_cast<double>(q.slo)) + td(std::to_string(q.numerical), static_cast<double>(q.numerical)) +
           td(std::to_string(q.error), static_cast<double>(q.error)) + td(num(q.uptime, 4) + " %", q.uptime) + td(num(q.goodput, 4), q.goodput) +
           td(dur(q.e2e_p50 / 1e3), q.e2e_p50) + td(dur(q.e2e_p99 / 1e3), q.e2e_p99) + "</tr>";
    s += "</tbody></table></details>";
  }
  s += image_soak_summary(o, w);
  return s;
}

// Click a column heading to sort its table (numbers by their data-v value, text otherwise); no network,
// no library.
constexpr const char* kSortScript =
    "<script>document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){"
    "var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),d=th.dataset.dir==='a'?-1:1;"
    "th.dataset.dir=d>0?'a':'d';var k=function(r){var c=r.cells[i];if(!c)return '';var v=c.getAttribute('data-v');"
    "return v===null?c.textContent:parseFloat(v);};Array.from(b.rows).sort(function(p,q){var x=k(p),y=k(q);"
    "if(typeof x==='number'&&typeof y==='number'){if(isNaN(x))return 1;if(isNaN(y))return -1;return d*(x-y);}"
    "return d*String(x).localeCompare(String(y));}).forEach(function(r){b.appendChild(r);});});});</script>";

}  // namespace

std::string render_html(const std::vector<std::pair<std::string, json>>& reports) {
  std::string s =
      "<!DOCTYPE html><html><head><meta charset='utf-8'><title>minimax01 harness report</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222;background:#fff}h2{border-bottom:1px solid #ccc}"
      "svg{display:block;margin:12px 0;border:1px solid #eee}.meta{color:#555;font-size:12px}"
      ".incomplete{background:#fde2e1;border:2px solid #c0392b;color:#8e1c10;font-weight:bold;padding:8px 12px}"
      "table{border-collapse:collapse;font-size:12px;margin:8px 0;display:block;overflow-x:auto;max-width:100%}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}"
      "th{background:#f0f0f0;cursor:pointer;user-select:none}th:hover{background:#e0e0e0}tr.bad td{background:#fde2e1}"
      ".pass{color:#1a7f37;font-weight:bold}.fail{color:#c0392b;font-weight:bold}.verdict{font-size:18px}"
      "details>summary{cursor:pointer;color:#335;margin:6px 0}"
      "</style></head><body>"
      "<h1>minimax01 harness report</h1>";
  for (const auto& [file, rep] : reports) {
    const JsonView r(rep, file);
    const std::string& kind = r.at("kind").str_in({"check", "bench", "soak"});
    // envelope fields shown here are optional (validate_report types them when present)
    auto opt_str = [](const std::optional<JsonView>& obj, const char* key, const std::string& dflt) {
      if (!obj) return dflt;
      const auto v = obj->find(key);
      return v ? v->str() : dflt;
    };
    const auto tool = r.find("tool"), machine = r.find("machine"), model = r.find("model");
    const auto created = r.find("created_utc");
    const auto dirty = tool ? tool->find("git_dirty") : std::nullopt;
    s += "<h2>" + esc(kind) + ": " + esc(file) + "</h2><p class='meta'>" + esc(created ? created->str() : "") + " &middot; commit " +
         esc(opt_str(tool, "git_commit", "?")) + (dirty && dirty->boolean() ? " (dirty)" : "") + " &middot; " +
         esc(opt_str(machine, "cpu", "")) + " &middot; model " + esc(opt_str(model, "source", "")) + "</p>";
    // An interrupted run (core/interrupt.h): what follows is partial, and must not read as a result.
    if (!report_complete(rep))
      s += "<p class='incomplete'>INCOMPLETE (" + esc(describe_interruption(rep)) +
           "): partial results of a run that was stopped, not a verdict</p>";
    if (kind == "check") s += check_section(r);
    else if (kind == "bench") s += bench_section(r);
    else s += soak_section(r);
  }
  return s + kSortScript + "</body></html>\n";
}

}  // namespace mm::harness
