// Reports given to `report` and `compare` are untrusted input: parse_report_text / read_report refuse
// every shape the readers cannot use (a missing key at any depth, a wrong type, an over-deep or
// malformed document, a report of another kind's shape) with an mm::Error naming the file and the JSON
// path; compare_reports and render_html read through the same path-tracking accessor, so even an
// unvalidated report gives an mm::Error, and a validated one always compares and renders (empty arrays,
// zero counts and null numbers included), never crashing or drawing NaN coordinates.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/compare.h"
#include "harness/html_report.h"
#include "harness/report.h"
#include "harness/report_schema.h"

namespace mm::harness {
namespace {

using nlohmann::json;

// The envelope without tool_json()'s `git` calls (fixtures are built often).
json envelope(const std::string& kind) {
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"kind", kind},
          {"created_utc", "2026-01-01T00:00:00Z"},
          {"command", "minimax01 " + kind},
          {"tool", {{"name", "minimax01"}, {"git_commit", "abc"}, {"git_dirty", false}}},
          {"machine", {{"cpu", "test cpu"}, {"gpu", nullptr}}},
          {"model", {{"source", "preset tiny"}}}};
}

json tensor(const std::string& name, int layer, const std::string& phase, bool pass, json rel_fro) {
  json t = {{"name", name},   {"layer", layer},           {"phase", phase},
            {"pass", pass},   {"error", {{"rel_fro", rel_fro}, {"max_abs", 1e-6}}},
            {"tol_rel_fro", 1e-3}};
  if (!pass) t["why"] = "rel_fro above tolerance";
  return t;
}

json check_fixture() {
  json r = envelope("check");
  json ok = {{"name", "ref-f32"},
             {"status", "pass"},
             {"seconds", 0.5},
             {"failed", 0},
             {"tensors", json::array({tensor("layers.0.output", 0, "prefill", true, 1e-6),
                                      tensor("layers.1.output", 1, "prefill", true, 2e-6),
                                      tensor("decode.layers.1.output", 1, "decode", true, 3e-6),
                                      tensor("logits", -1, "prefill", true, 1e-6)})}};
  json experts = tensor("layers.1.router_experts", 1, "prefill", true, 0.0);
  experts["choices"] = {{"tokens", 8}, {"compared", 8}, {"mismatched", 0}};
  ok["tensors"].push_back(experts);
  json bad = {{"name", "ref-bf16x"},
              {"status", "fail"},
              {"reason", "layers.1.output: rel_fro above tolerance"},
              {"first_diverging", {{"tensor", "layers.1.output"}, {"layer", 1}, {"phase", "prefill"}}},
              {"tensors", json::array({tensor("layers.0.output", 0, "prefill", true, 1e-4),
                                       tensor("layers.1.output", 1, "prefill", false, nullptr)})}};
  json skipped = {{"name", "cuda"}, {"status", "skipped"}, {"reason", "no GPU"}, {"tensors", json::array()}};
  r["result"] = {{"reference", "ref-f64"},
                 {"budget_backend", "ref-bf16"},
                 {"rule", {{"k", 2.0}, {"floor_rel", 1e-6}}},
                 {"backends", json::array({ok, bad, skipped})},
                 {"checked", 2},
                 {"pass", false}};
  return r;
}

json series(const std::string& backend, const std::string& phase, int length, double t) {
  return {{"backend", backend},    {"phase", phase},   {"length", length},      {"unit", "s"},
          {"samples", {t, t * 1.01, t * 0.99, t * 1.02, t * 0.98}},
          {"p50", t},              {"p90", t * 1.02},  {"p99", t * 1.02},       {"gflops", 12.5},
          {"roof_gflops", 40.0},   {"gbps", 3.0}};
}

json bench_fixture() {
  json r = envelope("bench");
  r["result"] = {{"roof", {{"memcpy_gbps", 10.0}, {"read_gbps", 20.0}, {"bandwidth_gbps", 20.0}, {"sgemm_gflops", 100.0},
                           {"dgemm_gflops", 50.0}}},
                 {"series", json::array({series("ref-f32", "ttft", 32, 0.01), series("ref-f32", "ttft", 64, 0.02),
                                         series("ref-f32", "tpot", 32, 0.001), series("ref-bf16", "ttft", 32, 0.03)})},
                 {"skipped", json::array({{{"backend", "cuda"}, {"reason", "no GPU"}}})}};
  return r;
}

json window(double start, int err, json uptime) {
  return {{"start_s", start},  {"end_s", start + 1}, {"requests", 10},        {"success", 10 - err},
          {"slo_breach", 1},   {"numerical", 0},     {"error", err},          {"uptime_percent", uptime},
          {"goodput_rps", 9.0}};
}

json soak_fixture() {
  json r = envelope("soak");
  r["result"] = {{"backend", "ref-f32"},
                 {"elapsed_s", 2.0},
                 {"window_s", 1.0},
                 {"overall", {{"requests", 20}, {"uptime_percent", 95.0}, {"goodput_rps", 9.0}, {"unexplained_failures", 0}}},
                 {"faults", {{"injected", {{"nan", 1}, {"alloc", 0}}}, {"caught", {{"nan", 1}, {"alloc", 0}}}, {"missed", 0}}},
                 {"windows", json::array({window(0, 1, 90.0), window(1, 0, 100.0)})},
                 {"pass", true}};
  return r;
}

std::string fixture_text(const json& j) { return j.dump(1); }

// Runs f, which must throw an mm::Error whose message contains every fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an mm::Error with '" << fragments.front() << "'";
  } catch (const Error& e) {
    for (const auto& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}

void expect_parse_error(const json& report, const std::vector<std::string>& fragments) {
  std::vector<std::string> all = fragments;
  all.insert(all.begin(), "bad.json: ");
  expect_error([&] { parse_report_text(report.dump(), "bad.json"); }, all);
}

// No NaN / Inf in the page's SVG (coordinates, tick labels).
void expect_clean_svg(const std::string& html) {
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const std::size_t end = html.find("</svg>", at);
    ASSERT_NE(end, std::string::npos);
    const std::string svg = html.substr(at, end - at);
    EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
  }
}

TEST(ReportInput, ValidReportsParseCompareAndRender) {
  for (const json& r : {check_fixture(), bench_fixture(), soak_fixture()}) {
    const json back = parse_report_text(fixture_text(r), "ok.json");
    EXPECT_EQ(back, r);
    EXPECT_EQ(compare_reports(back, back, {}).regressions, 0) << r["kind"];
    const std::string html = render_html({{"ok.json", back}});
    EXPECT_NE(html.find("<svg"), std::string::npos) << r["kind"];
    expect_clean_svg(html);
  }
  // a pass -> fail through the fixtures' failing backend still reads its first diverging tensor
  json old_r = check_fixture();
  old_r["result"]["backends"][1]["status"] = "pass";
  const auto cr = compare_reports(old_r, check_fixture(), {}, "old.json", "new.json");
  EXPECT_NE(summary(cr).find("first diverging layers.1.output"), std::string::npos) << summary(cr);
}

// The bug an outside suite found: `first_diverging: {}` read tensor/layer out of an empty object.
TEST(ReportInput, EmptyFirstDivergingIsAnErrorNamingThePath) {
  json bad = check_fixture();
  bad["result"]["backends"][1]["first_diverging"] = json::object();
  expect_parse_error(bad, {"result.backends[1].first_diverging", "expected an object with 'tensor'"});
  bad["result"]["backends"][1]["first_diverging"] = {{"tensor", "layers.1.output"}};
  expect_parse_error(bad, {"result.backends[1].first_diverging", "'layer'"});
  // unvalidated, straight into compare and render: the same kind of error, not a heap overflow
  json old_r = check_fixture(), new_r = check_fixture();
  old_r["result"]["backends"][1]["status"] = "pass";
  new_r["result"]["backends"][1]["first_diverging"] = json::object();
  expect_error([&] { compare_reports(old_r, new_r, {}, "old.json", "new.json"); },
               {"new.json: result.backends[1].first_diverging: expected an object with 'tensor'"});
  expect_error([&] { render_html({{"new.json", new_r}}); }, {"new.json: result.backends[1].first_diverging"});
}

TEST(ReportInput, MissingKeysAtEveryDepth) {
  struct Case {
    json report;
    std::vector<std::string> path;  // object keys / array indices, the last one erased
    std::string where;              // the path named in the message
  };
  auto idx = [](int i) { return std::to_string(i); };
  const std::vector<Case> cases = {
      {check_fixture(), {"result"}, "(top level): expected an object with 'result'"},
      {check_fixture(), {"result", "backends"}, "result: expected an object with 'backends'"},
      {check_fixture(), {"result", "rule", "k"}, "result.rule: expected an object with 'k'"},
      {check_fixture(), {"result", "backends", idx(0), "status"}, "result.backends[0]: expected an object with 'status'"},
      {check_fixture(), {"result", "backends", idx(0), "tensors", idx(2), "error", "rel_fro"},
       "result.backends[0].tensors[2].error: expected an object with 'rel_fro'"},
      {check_fixture(), {"result", "backends", idx(1), "tensors", idx(1), "layer"},
       "result.backends[1].tensors[1]: expected an object with 'layer'"},
      {bench_fixture(), {"result", "roof"}, "result: expected an object with 'roof'"},
      {bench_fixture(), {"result", "series", idx(3), "samples"}, "result.series[3]: expected an object with 'samples'"},
      {bench_fixture(), {"result", "skipped", idx(0), "reason"}, "result.skipped[0]: expected an object with 'reason'"},
      {soak_fixture(), {"result", "faults", "missed"}, "result.faults: expected an object with 'missed'"},
      {soak_fixture(), {"result", "overall", "unexplained_failures"}, "result.overall: expected an object with 'unexplained_failures'"},
      {soak_fixture(), {"result", "windows", idx(1), "start_s"}, "result.windows[1]: expected an object with 'start_s'"},
  };
  for (const auto& c : cases) {
    json r = c.report;
    json* at = &r;
    for (std::size_t i = 0; i + 1 < c.path.size(); ++i)
      at = at->is_array() ? &(*at)[std::stoul(c.path[i])] : &(*at)[c.path[i]];
    at->erase(c.path.back());
    expect_parse_error(r, {c.where});
    // compare and render, unvalidated: whichever reads the key fails naming the same place
    if (c.path.size() > 1) {
      const json& good = c.report;
      int threw = 0;
      const std::vector<std::function<void()>> readers = {[&] { compare_reports(good, r, {}, "old.json", "new.json"); },
                                                          [&] { compare_reports(r, good, {}, "new.json", "old.json"); },
                                                          [&] { render_html({{"new.json", r}}); }};
      for (const auto& read : readers) {
        try {
          read();
        } catch (const Error& e) {
          ++threw;
          EXPECT_NE(std::string(e.what()).find("new.json: " + c.where), std::string::npos) << e.what();
        }
      }
      EXPECT_GE(threw, 1) << c.where;
    }
  }
}

TEST(ReportInput, WrongTypesNameThePathAndTheExpectation) {
  auto with = [](json r, const json::json_pointer& p, json v) {
    r[p] = std::move(v);
    return r;
  };
  using P = json::json_pointer;
  // a number where an object is expected
  expect_parse_error(with(check_fixture(), P("/result/backends/1"), 3),
                     {"result.backends[1]: expected an object with 'name', got 3"});
  // the outside suite's "cannot use value() with number": the envelope's tool block as a number
  expect_parse_error(with(check_fixture(), P("/tool"), 7), {"tool: expected an object with 'git_commit', got 7"});
  expect_parse_error(with(check_fixture(), P("/result/backends"), json::object()), {"result.backends: expected an array, got {}"});
  expect_parse_error(with(check_fixture(), P("/result"), json::array()), {"result: expected an object, got []"});
  // a string where a number is expected
  expect_parse_error(with(check_fixture(), P("/result/backends/0/tensors/3/error/rel_fro"), "1e-3"),
                     {"result.backends[0].tensors[3].error.rel_fro: expected a number or null, got a string (\"1e-3\")"});
  expect_parse_error(with(check_fixture(), P("/result/backends/0/tensors/0/layer"), 2.5),
                     {"result.backends[0].tensors[0].layer: expected an integer from -1 to 100000, got 2.5"});
  expect_parse_error(with(check_fixture(), P("/result/backends/0/tensors/0/layer"), 2000000000),
                     {"result.backends[0].tensors[0].layer: expected an integer from -1 to 100000"});
  expect_parse_error(with(check_fixture(), P("/result/backends/0/tensors/0/phase"), "prefil"),
                     {"result.backends[0].tensors[0].phase: expected \"prefill\" or \"decode\", got a string (\"prefil\")"});
  expect_parse_error(with(check_fixture(), P("/result/pass"), "yes"), {"result.pass: expected true or false"});
  expect_parse_error(with(bench_fixture(), P("/result/series/0/samples/2"), "0.01"),
                     {"result.series[0].samples[2]: expected a number, got a string"});
  expect_parse_error(with(bench_fixture(), P("/result/series/0/samples/2"), nullptr),
                     {"result.series[0].samples[2]: expected a number, got null"});
  expect_parse_error(with(bench_fixture(), P("/result/series/1/length"), json::parse("18446744073709551615")),
                     {"result.series[1].length: expected an integer >= 0, got 18446744073709551615"});
  expect_parse_error(with(bench_fixture(), P("/result/series/1/length"), -5), {"result.series[1].length: expected an integer >= 0"});
  expect_parse_error(with(soak_fixture(), P("/result/windows/0/error"), true), {"result.windows[0].error: expected an integer >= 0, got true"});
  expect_parse_error(with(soak_fixture(), P("/result/faults/injected"), "nan:1"), {"result.faults.injected: expected an object"});
  // magnitudes are >= 0: a negative rel_fro compared with itself read as "grew by > 2x" (found by fuzz/report)
  expect_parse_error(with(check_fixture(), P("/result/backends/0/tensors/3/error/rel_fro"), -20.0),
                     {"result.backends[0].tensors[3].error.rel_fro: expected a number >= 0, or null, got -20"});
  expect_parse_error(with(bench_fixture(), P("/result/series/0/samples/1"), -0.5), {"result.series[0].samples[1]: expected a time >= 0"});
  expect_parse_error(with(soak_fixture(), P("/result/overall/uptime_percent"), 100.5),
                     {"result.overall.uptime_percent: expected a number in [0, 100.0], or null"});
  // the envelope's own checks keep their messages
  expect_parse_error(with(check_fixture(), P("/schema_version"), "2"), {"report has no integer \"schema_version\""});
  expect_parse_error(with(check_fixture(), P("/schema_version"), 0), {"schema_version: expected an integer >= 1, got 0"});
  expect_parse_error(with(check_fixture(), P("/kind"), 5), {"unknown report kind 5"});
  expect_parse_error(json::array({1, 2}), {"not a minimax01 report"});
  // unvalidated into compare: a string where a number is expected is an mm::Error, not a type_error
  expect_error([&] {
    compare_reports(bench_fixture(), with(bench_fixture(), P("/result/series/0/samples/0"), "x"), {}, "old.json", "new.json");
  }, {"new.json: result.series[0].samples[0]: expected a number, got a string"});
  expect_error([&] { compare_reports(check_fixture(), with(check_fixture(), P("/schema_version"), "2"), {}, "old.json", "new.json"); },
               {"new.json: schema_version: expected an integer"});
}

TEST(ReportInput, ReportOfAnotherKindsShape) {
  json r = check_fixture();
  r["kind"] = "bench";  // a check result under a bench envelope
  expect_parse_error(r, {"result: expected an object with 'roof'"});
  r = soak_fixture();
  r["kind"] = "check";
  expect_parse_error(r, {"result: expected an object with 'reference'"});
  expect_error([&] { compare_reports(check_fixture(), soak_fixture(), {}, "a.json", "b.json"); },
               {"different kinds", "a.json: check", "b.json: soak"});
}

// Empty arrays, zero counts and null numbers are valid: compare and render cope, with no NaN drawn.
TEST(ReportInput, EmptyArraysZerosAndNullsRender) {
  std::vector<json> reps;
  json c = check_fixture();
  c["result"]["backends"][0]["tensors"] = json::array();
  c["result"]["backends"][1]["tensors"][1]["tol_rel_fro"] = nullptr;
  c["result"]["rule"]["k"] = nullptr;
  reps.push_back(c);
  c["result"]["backends"] = json::array();
  reps.push_back(c);
  json b = bench_fixture();
  for (auto& s : b["result"]["series"]) s["gflops"] = 0, s["roof_gflops"] = 0, s["p50"] = nullptr, s["samples"] = json::array();
  b["result"]["roof"] = {{"memcpy_gbps", nullptr}, {"sgemm_gflops", 0}, {"dgemm_gflops", 0}};  // no bandwidth_gbps (older)
  reps.push_back(b);
  b["result"]["series"][0]["length"] = 0;
  for (auto& s : b["result"]["series"]) s["p90"] = s["p99"] = nullptr, s["gflops"] = s["roof_gflops"] = nullptr;
  reps.push_back(b);
  b["result"]["series"] = json::array();
  b["result"]["skipped"] = json::array();
  reps.push_back(b);
  json s = soak_fixture();
  s["result"]["overall"]["uptime_percent"] = nullptr;
  s["result"]["elapsed_s"] = nullptr;
  for (auto& w : s["result"]["windows"]) w["error"] = w["slo_breach"] = w["numerical"] = 0, w["uptime_percent"] = nullptr, w["start_s"] = nullptr;
  reps.push_back(s);
  s["result"]["windows"] = json::array();
  s["result"]["faults"]["injected"] = s["result"]["faults"]["caught"] = json::object();
  reps.push_back(s);
  for (const json& r : reps) {
    const json v = parse_report_text(r.dump(), "edge.json");
    EXPECT_NO_THROW(compare_reports(v, v, {})) << r["result"].dump();
    const std::string html = render_html({{"edge.json", v}});
    expect_clean_svg(html);
  }
  // null as NaN: a soak uptime that became null (nothing served) is a regression, as is a rel_fro that became null
  // (and the nan faults that are no longer injected: measuring less)
  EXPECT_EQ(compare_reports(soak_fixture(), reps.back(), {}).regressions, 2);
  EXPECT_EQ(compare_reports(reps.back(), soak_fixture(), {}).regressions, 0);
  json nan_rel = check_fixture();
  nan_rel["result"]["backends"][0]["tensors"][1]["error"]["rel_fro"] = nullptr;
  EXPECT_EQ(compare_reports(check_fixture(), nan_rel, {}).regressions, 1);
  // a zero old median gives no ratio, not NaN
  json z = bench_fixture();
  z["result"]["series"][0]["samples"] = {0, 0, 0, 0, 0};
  EXPECT_NO_THROW(compare_reports(z, bench_fixture(), {}));
  EXPECT_NO_THROW(compare_reports(z, z, {}));
  // an in-memory NaN where a finite sample is needed is refused (it would break the sort)
  json nan_sample = bench_fixture();
  nan_sample["result"]["series"][0]["samples"][0] = std::nan("");
  expect_error([&] { compare_reports(bench_fixture(), nan_sample, {}, "old.json", "new.json"); },
               {"new.json: result.series[0].samples[0]: expected a finite number, got NaN"});
}

// A backend, tensor or series repeated within a report is compared once (the first), with one warning;
// many repeats of a key against a large old entry stay linear, not (repeats x samples).
TEST(ReportInput, RepeatedEntriesAreComparedOnce) {
  json b = bench_fixture();
  for (int i = 0; i < 3; ++i) b["result"]["series"].push_back(b["result"]["series"][0]);
  const auto rb = compare_reports(bench_fixture(), b, {});
  ASSERT_FALSE(rb.warnings.empty());
  EXPECT_NE(summary(rb).find("new report: 3 repeated entries (first: ref-f32 ttft S=32)"), std::string::npos) << summary(rb);
  json c = check_fixture();
  c["result"]["backends"].push_back(c["result"]["backends"][0]);
  c["result"]["backends"][1]["tensors"].push_back(c["result"]["backends"][1]["tensors"][0]);
  const auto rc = compare_reports(c, check_fixture(), {});
  EXPECT_NE(summary(rc).find("old report: 2 repeated entries (first: ref-f32)"), std::string::npos) << summary(rc);
  EXPECT_EQ(rc.regressions, 0);
  json big = bench_fixture(), many = bench_fixture();
  std::vector<double> samples(100000);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.01 + 1e-9 * static_cast<double>(i);
  big["result"]["series"][0]["samples"] = samples;
  json one = many["result"]["series"][0];
  one["samples"] = {0.01};
  many["result"]["series"] = json::array();
  for (int i = 0; i < 20000; ++i) many["result"]["series"].push_back(one);
  const auto t0 = std::chrono::steady_clock::now();
  const auto rm = compare_reports(big, many, {});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  // the one shared key compared once; the fixture's other series are missing from `many` (regressions)
  const std::size_t series = bench_fixture()["result"]["series"].size();
  std::size_t gone = 0;
  for (const auto& l : rm.lines) gone += l.detail.find("missing from the new") != std::string::npos;
  EXPECT_EQ(rm.lines.size(), series);
  EXPECT_EQ(gone, series - 1);
}

TEST(ReportInput, DeeplyNestedMalformedAndOversizedDocuments) {
  expect_error([] { parse_report_text(std::string(100000, '['), "deep.json"); }, {"deep.json", "nesting deeper than"});
  expect_error([] { parse_report_text(std::string(100000, '{'), "deep.json"); }, {"deep.json"});
  // deep inside an otherwise valid report
  std::string text = check_fixture().dump();
  text.insert(text.size() - 1, ", \"extra\": " + std::string(100000, '[') + std::string(100000, ']'));
  expect_error([&] { parse_report_text(text, "deep.json"); }, {"deep.json", "nesting deeper than"});
  expect_error([] { parse_report_text("{\"schema\": \"minimax01-report\", ", "trunc.json"); }, {"trunc.json", "malformed JSON"});
  expect_error([] { parse_report_text("", "empty.json"); }, {"empty.json", "malformed JSON"});
  expect_error([] { parse_report_text("{\"kind\": \"check\", \"kind\": \"bench\"}", "dup.json"); }, {"dup.json", "'kind'", "more than once"});
  // files: a directory and a FIFO are refused by name, not read (nor waited on)
  const std::string dir = ::testing::TempDir() + "report_input_test";
  std::filesystem::create_directories(dir + "/sub");
  expect_error([&] { read_report(dir + "/sub"); }, {dir + "/sub", "directory"});
  const std::string fifo = dir + "/fifo.json";
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error([&] { read_report(fifo); }, {fifo, "FIFO"});
  std::ofstream(dir + "/deep.json") << std::string(100000, '[');
  expect_error([&] { read_report(dir + "/deep.json"); }, {dir + "/deep.json", "nesting deeper than"});
  std::ofstream(dir + "/ok.json") << fixture_text(soak_fixture());
  EXPECT_EQ(read_report(dir + "/ok.json"), soak_fixture());
}

// Seeded mutations of valid reports (a key erased, a value replaced by another type, an array emptied):
// parsing either refuses with an mm::Error naming the file, or the report compares and renders
// without any exception (compare may refuse only with mm::Error, e.g. an edited schema version).
TEST(ReportInput, MutatedReportsNeverEscapeAsOtherExceptions) {
  const std::vector<json> replacements = {nullptr, 0, -1, 2.5, 1e308, json::parse("18446744073709551615"), "", "x",
                                          true, json::array(), json::object(), json::array({1}), "prefill", "ttft"};
  std::mt19937_64 rng(20260101);
  int refused = 0, accepted = 0;
  for (const json& base : {check_fixture(), bench_fixture(), soak_fixture()}) {
    std::vector<json::json_pointer> paths;
    const json flat = base.flatten();  // leaves; their parents too
    for (const auto& [k, v] : flat.items()) {
      json::json_pointer p(k);
      while (!p.empty()) {
        paths.push_back(p);
        p = p.parent_pointer();
      }
    }
    for (int it = 0; it < 1500; ++it) {
      json r = base;
      for (int m = 0, n = 1 + static_cast<int>(rng() % 2); m < n; ++m) {
        const auto& p = paths[rng() % paths.size()];
        if (!r.contains(p)) continue;
        const int op = static_cast<int>(rng() % 4);
        if (op == 0) {  // erase
          json& parent = r[p.parent_pointer()];
          if (parent.is_object()) parent.erase(p.back());
          else if (parent.is_array() && !parent.empty()) parent.erase(parent.size() - 1);
        } else if (op == 1 && (r[p].is_array() || r[p].is_object())) {
          r[p].clear();
        } else {
          r[p] = replacements[rng() % replacements.size()];
        }
      }
      json v;
      try {
        v = parse_report_text(r.dump(), "m.json");
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("m.json", 0), 0u) << e.what();
        ++refused;
        continue;
      }
      ++accepted;
      EXPECT_NO_THROW(render_html({{"m.json", v}})) << r.dump();
      for (const auto& [o, n] : {std::pair<const json*, const json*>{&base, &v}, {&v, &base}}) {
        try {
          compare_reports(*o, *n, {});
        } catch (const Error&) {
        } catch (const std::exception& e) {
          ADD_FAILURE() << "compare threw a non-mm::Error: " << e.what() << "\n" << r.dump();
        }
      }
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace mm::harness
