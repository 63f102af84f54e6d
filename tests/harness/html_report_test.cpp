// The HTML report, tested by its structure rather than by its looks: the page's SVG and table elements
// carry their values (data- attributes, exact to the double), so each test reads them back and checks
// them against the JSON the page was made from: one summary row per backend with its verdict and the
// bound that decided it; one point per judged tensor and phase, a failing one above the bound line
// (the bound that failed, NMSE ceilings included); the roofline's roofs; the box plots' percentiles;
// the soak verdict; every report string escaped; the INCOMPLETE banner. (The page's looks: the
// headless-Chromium test, render_screenshot_test.sh.)
#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/check.h"
#include "harness/html_report.h"
#include "harness/report.h"
#include "harness/stats.h"

namespace mm::harness {
namespace {

using nlohmann::json;
using Attrs = std::map<std::string, std::string>;

// The attributes of every opening <tag ...> whose class list holds `cls`, in document order, with
// their SVG (the enclosing <svg>'s class) under the key "svg".
std::vector<Attrs> elements(const std::string& html, const std::string& tag, const std::string& cls) {
  static const std::regex attr_re("([a-zA-Z][a-zA-Z0-9-]*)='([^']*)'");
  std::vector<Attrs> out;
  std::string svg;
  for (std::size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    const std::size_t end = html.find('>', at);
    if (end == std::string::npos) break;
    const std::string open = html.substr(at + 1, end - at - 1);
    const std::string name = open.substr(0, open.find_first_of(" />"));
    Attrs a;
    for (std::sregex_iterator it(open.begin(), open.end(), attr_re), e; it != e; ++it) a[(*it)[1]] = (*it)[2];
    if (name == "svg") svg = a["class"];
    if (name != tag) continue;
    const std::string c = " " + a["class"] + " ";
    if (c.find(" " + cls + " ") == std::string::npos) continue;
    a["svg"] = svg;
    out.push_back(a);
  }
  return out;
}

double d(const Attrs& a, const std::string& key) {
  const auto it = a.find(key);
  EXPECT_NE(it, a.end()) << "no attribute " << key;
  return it == a.end() ? NAN : std::stod(it->second);
}

// The envelope without tool_json()'s `git` calls.
json envelope(const std::string& kind) {
  return {{"schema", kReportSchema}, {"schema_version", kReportSchemaVersion}, {"kind", kind},
          {"created_utc", "2026-01-01T00:00:00Z"}, {"tool", {{"git_commit", "abc"}, {"git_dirty", false}}}};
}

json tensor(const std::string& name, int layer, const std::string& phase, double rel_fro, double max_abs, double nmse) {
  json t = {{"name", name},
            {"layer", layer},
            {"phase", phase},
            {"mode", "teacher_forced"},
            {"pass", true},
            {"error", {{"rel_fro", rel_fro}, {"max_abs", max_abs}, {"nmse", nmse}, {"cosine", 1.0}}},
            {"tol_rel_fro", 1e-2},
            {"tol_max_abs", 1e-1},
            {"nmse_ceiling", 1e-7}};
  return t;
}

// ref-f32 fails layers.1.output on the NMSE ceiling only (rel_fro and max_abs well inside their bounds:
// the page used to draw such a layer below its line); cuda-sim passes; cuda is skipped.
json check_fixture() {
  json r = envelope("check");
  json bad = tensor("layers.1.output", 1, "prefill", 5e-3, 1e-2, 3e-5);
  bad["pass"] = false;
  bad["why"] = "NMSE 3.000e-05 > ceiling 1.000e-07";
  json experts = tensor("layers.1.router_experts", 1, "prefill", 0, 0, 0);
  experts["choices"] = {{"compared", 8}, {"mismatched", 0}};
  json e2e = tensor("e2e.logits", -1, "prefill", 1e-3, 1e-3, 1e-9);
  e2e["mode"] = "end_to_end";
  json f32 = {{"name", "ref-f32"},
              {"status", "fail"},
              {"reason", "layers.1.output: NMSE 3.000e-05 > ceiling 1.000e-07"},
              {"seconds", 0.25},
              {"first_diverging", {{"tensor", "layers.1.output"}, {"layer", 1}, {"phase", "prefill"}}},
              {"tensors", json::array({tensor("layers.0.output", 0, "prefill", 1e-7, 1e-6, 1e-14), bad, experts,
                                       tensor("decode.layers.0.output", 0, "decode", 2e-7, 1e-6, 1e-14),
                                       tensor("decode.layers.1.output", 1, "decode", 3e-7, 2e-6, 1e-14),
                                       tensor("logits", -1, "prefill", 1e-7, 1e-6, 1e-14), e2e})}};
  json sim = {{"name", "cuda-sim"},
              {"status", "pass"},
              {"tensors", json::array({tensor("layers.0.output", 0, "prefill", 4e-3, 2e-2, 1e-8),
                                       tensor("layers.1.output", 1, "prefill", 8e-3, 1e-2, 1e-8),
                                       tensor("decode.layers.1.output", 1, "decode", 1e-3, 1e-2, 1e-8)})}};
  json skipped = {{"name", "cuda"}, {"status", "skipped"}, {"reason", "no GPU"}, {"tensors", json::array()}};
  r["result"] = {{"reference", "ref-f64"},
                 {"budget_backend", "ref-bf16"},
                 {"rule", {{"k", 2.0}, {"floor_rel", 1e-6}, {"nmse_ceiling", {{"f32", 1e-7}, {"bf16", 2e-3}}}}},
                 {"backends", json::array({f32, sim, skipped})},
                 {"pass", false}};
  return r;
}

json series(const std::string& backend, const std::string& phase, int length, std::vector<double> samples) {
  const double ai = phase == "ttft" ? 4.0 : 0.5;
  return {{"backend", backend},
          {"phase", phase},
          {"length", length},
          {"samples", samples},
          {"p50", percentile(samples, 50)},
          {"p90", percentile(samples, 90)},
          {"p99", percentile(samples, 99)},
          {"flops", 1e8},
          {"bytes", 1e8 / ai},
          {"arithmetic_intensity", ai},
          {"gflops", phase == "ttft" ? 20.0 : 4.0},
          {"roof_gflops", phase == "ttft" ? 80.0 : 8.0}};
}

json bench_fixture() {
  json r = envelope("bench");
  r["result"] = {{"roof", {{"memcpy_gbps", 12.0}, {"read_gbps", 16.0}, {"bandwidth_gbps", 16.0}, {"sgemm_gflops", 170.0}, {"dgemm_gflops", 85.0}}},
                 {"series", json::array({series("ref-f32", "ttft", 16, {0.0110, 0.0112, 0.0111, 0.0113, 0.0114}),
                                         series("ref-f32", "ttft", 64, {17.6, 17.7, 17.8, 17.9, 18.0}),  // seconds: no "1.77e+04 ms"
                                         series("ref-bf16", "ttft", 16, {0.010, 0.020, 0.012, 0.011, 0.030}),  // noisy
                                         series("ref-f32", "tpot", 64, {6e-4, 6.1e-4, 6.2e-4, 6.05e-4, 6.15e-4})})},
                 {"skipped", json::array()}};
  return r;
}

json soak_fixture(bool pass) {
  json r = envelope("soak");
  auto window = [](double start, int err) {
    return json{{"start_s", start}, {"end_s", start + 1}, {"requests", 10}, {"success", 9 - err}, {"slo_breach", 1},
                {"numerical", 0}, {"error", err}, {"uptime_percent", 100.0 * (10 - err) / 10}, {"goodput_rps", 9.0},
                {"e2e_ms", {{"p50", 30.0}, {"p90", 40.0}, {"p99", 45.0}}}};
  };
  r["result"] = {{"backend", "ref-f32"},
                 {"elapsed_s", 3.0},
                 {"window_s", 1.0},
                 {"overall", {{"requests", 30}, {"uptime_percent", 96.7}, {"goodput_rps", 9.0}, {"unexplained_failures", pass ? 0 : 1}}},
                 {"faults", {{"injected", {{"alloc", 1}}}, {"caught", {{"alloc", 1}}}, {"missed", 0}, {"rates", {{"alloc", 0.05}}}}},
                 {"windows", json::array({window(0, 1), window(1, 0), window(2, 0)})},
                 {"requests", json::array({{{"t_s", 0.5}, {"class", "error"}, {"fault", "alloc"}, {"why", "alloc"}},
                                           {{"t_s", 0.7}, {"class", "success"}}})},
                 {"pass", pass}};
  return r;
}

std::string render(const json& r) { return render_html({{"r.json", parse_report_text(r.dump(), "r.json")}}); }

// The failing tensors' points lie above the bound line of their chart, the passing ones below it, and
// each chart has one point per drawn tensor of its phase.
void expect_points_consistent(const std::string& html, const json& report) {
  std::map<std::string, int> drawn;  // phase -> tensors the page should draw
  std::map<std::string, bool> failing;  // backend|phase|tensor -> failed
  for (const auto& b : report["result"]["backends"]) {
    if (b["status"] == "oracle") continue;
    for (const auto& t : b.value("tensors", json::array())) {
      if (t.value("mode", "") == "end_to_end" || t.contains("choices") || t.contains("family") || t.value("inconclusive", false) ||
          !t.value("produced", true))
        continue;
      ++drawn[t["phase"]];
      failing[b["name"].get<std::string>() + "|" + t["phase"].get<std::string>() + "|" + t["name"].get<std::string>()] = !t["pass"];
    }
  }
  ASSERT_FALSE(drawn.empty());
  for (const auto& [phase, n] : drawn) {
    const auto lines = elements(html, "line", "bound-line");
    const auto pts = elements(html, "circle", "pt");
    double line_y = NAN;
    for (const auto& l : lines)
      if (l.at("svg") == "layer-chart " + phase) line_y = d(l, "y1");
    ASSERT_TRUE(std::isfinite(line_y)) << "no bound line in the " << phase << " chart";
    int seen = 0;
    for (const auto& p : pts) {
      if (p.at("data-phase") != phase) continue;
      ++seen;
      EXPECT_EQ(p.at("svg"), "layer-chart " + phase);
      const std::string key = p.at("data-backend") + "|" + phase + "|" + p.at("data-tensor");
      ASSERT_TRUE(failing.count(key)) << key;
      const bool failed = failing[key];
      EXPECT_EQ(p.at("data-pass"), failed ? "0" : "1") << key;
      const double ratio = p.at("data-ratio") == "NaN/Inf" ? INFINITY : d(p, "data-ratio");
      if (failed) {
        EXPECT_GT(ratio, 1.0) << key;
        EXPECT_LT(d(p, "cy"), line_y) << key << ": a failing tensor drawn on or below its bound";
      } else if (ratio < 0.9) {
        EXPECT_GT(d(p, "cy"), line_y) << key;
      }
    }
    EXPECT_EQ(seen, n) << phase;
  }
}

TEST(HtmlReport, SummaryHasOneRowPerBackendWithItsVerdictAndDecidingBound) {
  const json r = check_fixture();
  const std::string html = render(r);
  const auto rows = elements(html, "tr", "backend-row");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("data-backend"), "ref-f32");
  EXPECT_EQ(rows[0].at("data-verdict"), "FAIL");
  EXPECT_EQ(rows[0].at("data-bound"), "NMSE");  // the bound that failed, not rel_fro
  EXPECT_EQ(rows[1].at("data-verdict"), "PASS");
  EXPECT_EQ(rows[1].at("data-bound"), "rel_fro");  // nearest: rel_fro 8e-3 / 1e-2
  EXPECT_EQ(rows[2].at("data-verdict"), "SKIPPED");
  EXPECT_NE(html.find("NMSE 3.000e-05 &gt; ceiling 1.000e-07"), std::string::npos);
  EXPECT_NE(html.find("class='verdict' data-verdict='FAIL'"), std::string::npos);
  // both tables of tensors, and the sorter they use
  EXPECT_EQ(elements(html, "table", "tensors").size(), 1u);
  EXPECT_EQ(elements(html, "table", "failing").size(), 1u);
  EXPECT_NE(html.find("table.sortable th"), std::string::npos);
}

TEST(HtmlReport, FailingTensorIsAboveItsBoundLineInPrefillAndDecode) {
  json r = check_fixture();
  std::string html = render(r);
  expect_points_consistent(html, r);
  // the NMSE failure is drawn at NMSE / ceiling = 300, not rel_fro / tolerance = 0.5
  for (const auto& p : elements(html, "circle", "pt"))
    if (p.at("data-tensor") == "layers.1.output" && p.at("data-backend") == "ref-f32") {
      EXPECT_EQ(p.at("data-bound"), "NMSE");
      EXPECT_NEAR(d(p, "data-ratio"), 300.0, 1e-9);
    }
  // a decode failure (rel_fro), a NaN (null) error and an argmax failure with every bound inside
  json& t = r["result"]["backends"][0]["tensors"];
  t[4]["pass"] = false, t[4]["why"] = "rel_fro 2.000e-02 > 1.000e-02 (k * ref-bf16 + floor)", t[4]["error"]["rel_fro"] = 2e-2;
  t[3]["pass"] = false, t[3]["why"] = "3 NaN and 0 Inf values", t[3]["error"]["rel_fro"] = nullptr;
  t[5]["pass"] = false, t[5]["why"] = "2 rows with a different argmax (top-1/top-2 gap above 0.1)";
  html = render(r);
  expect_points_consistent(html, r);
}

// A slice run (check --layers 78:80) draws its own layers, labelled by their index, not 78 empty slots.
TEST(HtmlReport, SliceRunChartStartsAtItsFirstLayer) {
  json r = check_fixture();
  for (auto& b : r["result"]["backends"])
    for (auto& t : b["tensors"])
      if (t.contains("layer") && t["layer"].is_number_integer() && t["layer"].get<int>() >= 0) t["layer"] = t["layer"].get<int>() + 78;
  const std::string html = render(r);
  expect_points_consistent(html, r);
  const std::string chart = html.substr(html.find("layer-chart prefill"));
  EXPECT_NE(chart.find(">78</text>"), std::string::npos);
  EXPECT_EQ(chart.find(">0</text>"), std::string::npos) << "a slot for layer 0, which the run did not hold";
  // the slots are the run's layers (and the head), not 0 .. 79: the points spread over the plot's width
  double lo = INFINITY, hi = 0;
  for (const auto& p : elements(html, "circle", "pt")) lo = std::min(lo, d(p, "cx")), hi = std::max(hi, d(p, "cx"));
  EXPECT_GT(hi - lo, 100.0) << "the points crowd into one corner of the chart";
}

TEST(HtmlReport, RealCheckRunIsDrawnAsJudged) {
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.prompt_len = 24;
  opt.decode_steps = 2;
  opt.perturb = parse_perturbation("1:0.05");
  static const ModelSource src = resolve_model("", "", 0);
  const CheckResult res = run_check(src, opt);
  json r = envelope("check");
  r["result"] = to_json(res, opt);
  const std::string html = render(r);
  bool any_failed = false;
  for (const auto& b : r["result"]["backends"])
    for (const auto& t : b["tensors"]) any_failed |= !t["pass"].get<bool>();
  ASSERT_TRUE(any_failed) << "the perturbation should fail layer 1";
  expect_points_consistent(html, r);
  EXPECT_EQ(elements(html, "tr", "backend-row").size(), r["result"]["backends"].size());
}

TEST(HtmlReport, RooflineHasTheMeasuredRoofsAndOnePointPerSeries) {
  const json r = bench_fixture();
  const std::string html = render(r);
  const auto roofs = elements(html, "polyline", "roof");
  ASSERT_EQ(roofs.size(), 2u);
  std::map<std::string, double> peak;
  for (const auto& f : roofs) {
    EXPECT_EQ(f.at("svg"), "roofline");
    peak[f.at("data-roof")] = d(f, "data-peak-gflops");
    EXPECT_EQ(d(f, "data-bandwidth-gbps"), 16.0);  // bandwidth_gbps, not memcpy_gbps
  }
  EXPECT_EQ(peak["sgemm"], 170.0);
  EXPECT_EQ(peak["dgemm"], 85.0);
  int pts = 0;
  for (const char* tag : {"circle", "rect"})
    for (const auto& p : elements(html, tag, "rl-pt")) {
      ++pts;
      EXPECT_EQ(d(p, "data-ai"), p.at("data-phase") == "ttft" ? 4.0 : 0.5);
    }
  EXPECT_EQ(pts, 4);
}

TEST(HtmlReport, BoxPlotsCarryTheReportsPercentilesAndFlagNoise) {
  const json r = bench_fixture();
  const std::string html = render(r);
  const auto boxes = elements(html, "g", "box");
  ASSERT_EQ(boxes.size(), r["result"]["series"].size());
  std::map<std::string, Attrs> by_series;  // drawn grouped by length: matched by backend, phase and length
  for (const auto& b : boxes) by_series[b.at("data-backend") + "|" + b.at("data-phase") + "|" + b.at("data-length")] = b;
  int noisy = 0;
  for (const json& s : r["result"]["series"]) {
    const std::string key = s["backend"].get<std::string>() + "|" + s["phase"].get<std::string>() + "|" + std::to_string(s["length"].get<int>());
    ASSERT_TRUE(by_series.count(key)) << key;
    const Attrs& b = by_series[key];
    EXPECT_EQ(b.at("svg"), "latency-chart " + s["phase"].get<std::string>());
    EXPECT_EQ(d(b, "data-p50"), s["p50"].get<double>());
    EXPECT_EQ(d(b, "data-p90"), s["p90"].get<double>());
    EXPECT_EQ(d(b, "data-p99"), s["p99"].get<double>());
    const std::vector<double> v = s["samples"];
    EXPECT_EQ(d(b, "data-min"), *std::min_element(v.begin(), v.end()));
    EXPECT_EQ(d(b, "data-max"), *std::max_element(v.begin(), v.end()));
    const double cv = stddev(v) / mean(v);
    EXPECT_NEAR(d(b, "data-cv"), cv, 1e-12);
    EXPECT_EQ(b.at("data-noisy"), cv > 0.10 ? "1" : "0");
    noisy += cv > 0.10;
  }
  EXPECT_EQ(noisy, 1);
  EXPECT_NE(html.find("1 of 4 series noisy"), std::string::npos);
  // times read as times: 17.7 s, never 1.77e+04 ms; no exponent in any SVG text
  EXPECT_NE(html.find("17.7 s"), std::string::npos);
  static const std::regex text_re(">([^<]*)<");
  static const std::regex exp_re("[0-9]e[+-][0-9]");
  for (std::sregex_iterator it(html.begin(), html.end(), text_re), e; it != e; ++it)
    EXPECT_FALSE(std::regex_search((*it)[1].str(), exp_re)) << (*it)[1];
}

TEST(HtmlReport, SoakStatesItsVerdictAndDrawsEveryWindow) {
  for (const bool pass : {true, false}) {
    const json r = soak_fixture(pass);
    const std::string html = render(r);
    EXPECT_NE(html.find(std::string("class='verdict' data-verdict='") + (pass ? "PASS" : "FAIL") + "'"), std::string::npos);
    EXPECT_NE(html.find(pass ? "every injected fault caught (1 of 1)" : "1 unexplained failure"), std::string::npos);
    const auto w = elements(html, "g", "win");
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[0].at("data-error"), "1");
    EXPECT_EQ(d(w[0], "data-uptime"), 90.0);
    EXPECT_EQ(elements(html, "table", "error-classes").size(), 1u);
    EXPECT_EQ(html.find("{&quot;"), std::string::npos) << "raw JSON printed";
  }
}

TEST(HtmlReport, ReportStringsAreEscaped) {
  const std::string evil = "<script>alert(\"x\")</script>&'";
  json c = check_fixture();
  c["result"]["backends"][0]["name"] = evil;
  c["result"]["backends"][0]["tensors"][0]["name"] = evil;
  c["result"]["backends"][0]["reason"] = evil;
  json b = bench_fixture();
  b["result"]["series"][0]["backend"] = evil;
  b["result"]["skipped"] = json::array({{{"backend", evil}, {"reason", evil}}});
  json s = soak_fixture(true);
  s["result"]["backend"] = evil;
  s["result"]["requests"][0]["why"] = evil;
  s["result"]["faults"]["injected"][evil] = 1;
  for (const json& r : {c, b, s}) {
    const std::string html = render_html({{evil + ".json", parse_report_text(r.dump(), "r.json")}});
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"), std::string::npos);
    std::size_t scripts = 0;
    for (std::size_t at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1)) ++scripts;
    EXPECT_EQ(scripts, 1u) << "only the page's own sorter";
  }
}

TEST(HtmlReport, IncompleteReportKeepsItsBanner) {
  json r = soak_fixture(false);
  r["complete"] = false;
  r["interrupted"] = {{"signal", "SIGINT"}, {"during", "soak: request 12"}, {"steps_done", 11}, {"steps_total", nullptr}};
  const std::string html = render(r);
  EXPECT_NE(html.find("<p class='incomplete'>INCOMPLETE (interrupted by SIGINT during soak: request 12"), std::string::npos);
  EXPECT_NE(html.find("data-verdict='FAIL'"), std::string::npos);
  EXPECT_EQ(render(soak_fixture(true)).find("INCOMPLETE"), std::string::npos);
}

}  // namespace
}  // namespace mm::harness
