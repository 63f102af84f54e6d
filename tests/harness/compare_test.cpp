// compare: fails on a planted regression (a slowdown in a bench report, a tensor that stops passing in a
// check report, a lower soak uptime) and passes on identical and on noisy-but-equal reports; malformed
// reports are refused with the file named (hostile reports: report_input_test.cpp).
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "harness/compare.h"
#include "harness/report.h"

namespace mm::harness {
namespace {

using nlohmann::json;

// A bench report with one series whose 12 repetitions are N(median, 3 %) with a seeded generator.
json bench_report(double median, uint64_t seed, int reps = 12) {
  Rng rng(seed);
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) s.push_back(median * (1 + 0.03 * rng.normal()));
  json r = new_report("bench", "test");
  r["result"] = {{"series", json::array({{{"backend", "ref-f32"}, {"phase", "ttft"}, {"length", 256}, {"samples", s}}})}};
  return r;
}

TEST(Compare, BenchIdenticalAndNoisyEqualPass) {
  const auto a = bench_report(0.010, 1);
  EXPECT_EQ(compare_reports(a, a, {}).regressions, 0);
  for (uint64_t seed = 2; seed < 12; ++seed)  // same distribution, other noise
    EXPECT_EQ(compare_reports(a, bench_report(0.010, seed), {}).regressions, 0) << seed;
}

TEST(Compare, BenchPlantedSlowdownFails) {
  const auto r = compare_reports(bench_report(0.010, 1), bench_report(0.013, 2), {});  // +30 %
  EXPECT_EQ(r.regressions, 1);
  EXPECT_NE(summary(r).find("REGRESSION ref-f32 ttft S=256"), std::string::npos) << summary(r);
  // a speed-up is not a regression
  EXPECT_EQ(compare_reports(bench_report(0.013, 1), bench_report(0.010, 2), {}).regressions, 0);
  // a 2 % change is within the threshold even if significant
  EXPECT_EQ(compare_reports(bench_report(0.010, 1, 40), bench_report(0.0102, 2, 40), {}).regressions, 0);
}

TEST(Compare, FewRepetitionsWarn) {
  const auto r = compare_reports(bench_report(0.010, 1, 3), bench_report(0.020, 2, 3), {});
  EXPECT_FALSE(r.warnings.empty());
  EXPECT_EQ(r.regressions, 0);  // 3 vs 3: the smallest exact p is 0.1 > alpha
}

json check_report(bool pass, double rel) {
  json t = {{"name", "layers.3.output"}, {"pass", pass}, {"error", {{"rel_fro", rel}}}};
  if (!pass) t["why"] = "rel_fro above tolerance";
  json r = new_report("check", "test");
  r["result"] = {{"backends", json::array({{{"name", "ref-f32"}, {"status", pass ? "pass" : "fail"}, {"tensors", json::array({t})}}})}};
  return r;
}

TEST(Compare, CheckRegressions) {
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), check_report(true, 1e-7), {}).regressions, 0);
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), check_report(true, 1.5e-7), {}).regressions, 0);
  EXPECT_GE(compare_reports(check_report(true, 1e-7), check_report(false, 1e-2), {}).regressions, 1);
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), check_report(true, 5e-7), {}).regressions, 1);  // > 2x
  json nan_rep = check_report(true, 0);
  nan_rep["result"]["backends"][0]["tensors"][0]["error"]["rel_fro"] = nullptr;  // NaN is written as null
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), nan_rep, {}).regressions, 1);
}

TEST(Compare, SoakUptimeDrop) {
  auto soak = [](double up, int missed, int requests = 200, int nan_faults = 4, int images = 0) {
    json r = new_report("soak", "test");
    r["result"] = {{"backend", "ref-f32"},
                   {"overall", {{"uptime_percent", up}, {"unexplained_failures", 0}, {"requests", requests}}},
                   {"faults", {{"missed", missed}, {"injected", {{"nan", nan_faults}}}, {"caught", json::object()}}}};
    if (images) r["result"]["overall"]["images"] = {{"requests", images}};
    return r;
  };
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(99.2, 0), {}).regressions, 0);
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(95.0, 0), {}).regressions, 1);
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(99.5, 1), {}).regressions, 1);
  // measuring less: no request served, a fault kind no longer injected, the image requests gone
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(99.5, 0, 0), {}).regressions, 1);
  const CompareResult nf = compare_reports(soak(99.5, 0), soak(99.5, 0, 200, 0), {});
  EXPECT_EQ(nf.regressions, 1);
  EXPECT_NE(summary(nf).find("injected nan faults: 4 -> 0"), std::string::npos) << summary(nf);
  EXPECT_EQ(compare_reports(soak(99.5, 0, 200, 4, 12), soak(99.5, 0, 200, 4, 0), {}).regressions, 1);
  CompareOptions allow;
  allow.allow_missing = true;
  EXPECT_EQ(compare_reports(soak(99.5, 0, 200, 4, 12), soak(99.5, 0, 0, 0, 0), allow).regressions, 0);
  // fewer requests (a shorter soak) and another backend are said
  json other = soak(99.5, 0, 50);
  other["result"]["backend"] = "ref-bf16";
  const std::string w = summary(compare_reports(soak(99.5, 0), other, {}));
  EXPECT_NE(w.find("under half the old one's 200"), std::string::npos) << w;
  EXPECT_NE(w.find("different backends (ref-f32 -> ref-bf16)"), std::string::npos) << w;
}

TEST(Compare, DifferentKindsAndMalformedReports) {
  EXPECT_THROW(compare_reports(bench_report(1, 1), check_report(true, 0), {}), Error);
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  auto expect_error = [](const std::string& path, const std::string& frag) {
    try {
      read_report(path);
      ADD_FAILURE() << "expected an error for " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  expect_error(write("trunc.json", "{\"schema\": \"minimax01-report\", "), "malformed JSON");
  expect_error(write("other.json", "{\"hello\": 1}"), "not a minimax01 report");
  expect_error(write("future.json", "{\"schema\": \"minimax01-report\", \"schema_version\": 99, \"kind\": \"bench\", \"result\": {}}"),
               "newer than this tool");
  expect_error(write("kind.json", "{\"schema\": \"minimax01-report\", \"schema_version\": 1, \"kind\": \"x\", \"result\": {}}"),
               "unknown report kind");
  expect_error(dir + "absent.json", "no such file");
  // a well-formed report round-trips (bench_report plus the fields the HTML page draws)
  json r = bench_report(0.01, 1);
  r["result"]["roof"] = {{"memcpy_gbps", 10.0}, {"sgemm_gflops", 100.0}, {"dgemm_gflops", 50.0}};
  r["result"]["skipped"] = json::array();
  for (auto& x : r["result"]["series"])
    x.update({{"p50", 0.01}, {"p90", 0.011}, {"p99", 0.012}, {"gflops", 1.0}, {"roof_gflops", 2.0}});
  write_report(dir + "ok.json", r);
  EXPECT_EQ(read_report(dir + "ok.json")["result"], r["result"]);
}

}  // namespace
}  // namespace mm::harness

namespace mm::harness {
namespace {
// A new report must not look clean by checking less: a backend that passed and is now missing or
// skipped, or a tensor that passed and is no longer compared, is a regression.
// Schema 2 changed what check and bench measure; reports of different versions are refused rather than
// compared number by number.
TEST(Compare, ReportsAcrossSchemaVersionsAreRefused) {
  for (json old_r : {check_report(true, 1e-3), bench_report(0.01, 1)}) {
    const json new_r = old_r;
    old_r["schema_version"] = 1;
    try {
      compare_reports(old_r, new_r, {});
      ADD_FAILURE() << "expected an error for " << old_r["kind"];
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not comparable"), std::string::npos) << e.what();
    }
  }
}

// Whatever the old verdict: a failing backend that disappears, or a failing tensor no longer compared,
// is the new run checking less too.
TEST(Compare, CheckingLessIsARegression) {
  for (const bool pass : {true, false}) {
    const json old_r = check_report(pass, pass ? 1e-7 : 1e-2);
    json gone = old_r;
    gone["result"]["backends"] = json::array();
    EXPECT_EQ(compare_reports(old_r, gone, {}).regressions, 1) << pass;
    json skipped = old_r;
    skipped["result"]["backends"][0]["status"] = "skipped";
    skipped["result"]["backends"][0].erase("tensors");
    EXPECT_EQ(compare_reports(old_r, skipped, {}).regressions, 1) << pass;
    json fewer = old_r;
    fewer["result"]["backends"][0]["tensors"] = json::array();
    EXPECT_EQ(compare_reports(old_r, fewer, {}).regressions, 1) << pass;
  }
}
}  // namespace
}  // namespace mm::harness

namespace mm::harness {
namespace {
// Nothing may look clean by measuring less (docs/harness.md, "compare"): every entry of the baseline that
// the new report lacks is a regression, whatever its status, unless --allow-missing.

json two_series_bench(bool with_cuda) {
  json r = bench_report(0.010, 1);
  if (with_cuda) {
    json cuda = r["result"]["series"][0];
    cuda["backend"] = "cuda";
    r["result"]["series"].push_back(cuda);
  } else {
    r["result"]["skipped"] = json::array({{{"backend", "cuda"}, {"reason", "no CUDA device"}}});
  }
  return r;
}

TEST(Compare, BenchSeriesMissingIsARegression) {
  const CompareResult r = compare_reports(two_series_bench(true), two_series_bench(false), {});
  EXPECT_EQ(r.regressions, 1);
  EXPECT_NE(summary(r).find("REGRESSION cuda ttft S=256: in the old report, missing from the new (skipped: no CUDA device)"),
            std::string::npos)
      << summary(r);
  CompareOptions allow;
  allow.allow_missing = true;
  const CompareResult a = compare_reports(two_series_bench(true), two_series_bench(false), allow);
  EXPECT_EQ(a.regressions, 0);
  ASSERT_FALSE(a.warnings.empty());
  EXPECT_NE(summary(a).find("allowed by --allow-missing"), std::string::npos) << summary(a);
  // a series new in the new report is not a regression
  EXPECT_EQ(compare_reports(two_series_bench(false), two_series_bench(true), {}).regressions, 0);
}

TEST(Compare, BenchImageSeriesAreCompared) {
  auto with_image = [](double median, uint64_t seed) {
    json r = bench_report(0.010, 1);
    json s = bench_report(median, seed)["result"]["series"][0];
    s.update({{"phase", "image_ttft"}, {"width", 300}, {"height", 200}, {"text_tokens", 32}});
    r["result"]["image_series"] = json::array({s});
    return r;
  };
  EXPECT_EQ(compare_reports(with_image(0.05, 1), with_image(0.05, 2), {}).regressions, 0);
  const CompareResult slow = compare_reports(with_image(0.05, 1), with_image(0.07, 2), {});
  EXPECT_EQ(slow.regressions, 1);
  EXPECT_NE(summary(slow).find("REGRESSION ref-f32 image_ttft 300x200 text=32"), std::string::npos) << summary(slow);
  json gone = with_image(0.05, 2);
  gone["result"].erase("image_series");
  EXPECT_EQ(compare_reports(with_image(0.05, 1), gone, {}).regressions, 1);
}

TEST(Compare, SkippedBackends) {
  // a backend skipped before and absent now: nothing was measured, nothing is missing
  const json failing = check_report(false, 1e-2);
  json gone = failing;
  gone["result"]["backends"] = json::array();
  json skipped = failing;
  skipped["result"]["backends"][0] = {{"name", "cuda"}, {"status", "skipped"}, {"reason", "no CUDA device"}};
  EXPECT_EQ(compare_reports(skipped, gone, {}).regressions, 0);
  // pass -> skipped names the reason; --allow-missing turns it into a warning
  json now_skipped = check_report(true, 1e-7);  // as check writes it: an empty tensor list
  now_skipped["result"]["backends"][0] = {
      {"name", "ref-f32"}, {"status", "skipped"}, {"reason", "no CUDA device"}, {"tensors", json::array()}};
  const CompareResult r = compare_reports(check_report(true, 1e-7), now_skipped, {});
  EXPECT_EQ(r.regressions, 1);
  EXPECT_NE(summary(r).find("status pass -> skipped (no CUDA device)"), std::string::npos) << summary(r);
  CompareOptions allow;
  allow.allow_missing = true;
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), now_skipped, allow).regressions, 0);
  // an errored backend: its status is the regression, not each tensor it did not produce
  json errored = now_skipped;
  errored["result"]["backends"][0]["status"] = "error";
  EXPECT_EQ(compare_reports(check_report(true, 1e-7), errored, {}).regressions, 1);
}

TEST(Compare, CheckGoldenGoneOrFailing) {
  auto with_golden = [](bool pass) {
    json r = check_report(true, 1e-7);
    r["result"]["golden"] = {{"case", "one_image"}, {"tolerance", "tol_fp64"}, {"pass", pass},
                             {"first_failing", pass ? json() : json("vision.layers.3.mlp")}, {"tensors", json::array()}};
    return r;
  };
  EXPECT_EQ(compare_reports(with_golden(true), with_golden(true), {}).regressions, 0);
  const CompareResult f = compare_reports(with_golden(true), with_golden(false), {});
  EXPECT_EQ(f.regressions, 1);
  EXPECT_NE(summary(f).find("golden one_image: pass -> fail, first failing vision.layers.3.mlp"), std::string::npos)
      << summary(f);
  const CompareResult g = compare_reports(with_golden(true), check_report(true, 1e-7), {});
  EXPECT_EQ(g.regressions, 1);
  EXPECT_NE(summary(g).find("no golden check in the new report"), std::string::npos) << summary(g);
}

TEST(Compare, DifferentModelsRefusedDifferentMachinesWarned) {
  json a = check_report(true, 1e-7), b = a;
  a["model"] = {{"source", "preset tiny"}, {"config", {{"model_type", "minimax_text_01"}, {"hidden_size", 32}}}};
  b["model"] = {{"source", "preset small"}, {"config", {{"model_type", "minimax_text_01"}, {"hidden_size", 64}}}};
  try {
    compare_reports(a, b, {}, "old.json", "new.json");
    ADD_FAILURE() << "expected different models to be refused";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("different models"), std::string::npos) << m;
    EXPECT_NE(m.find("old.json"), std::string::npos) << m;
    EXPECT_NE(m.find("--allow-different-model"), std::string::npos) << m;
  }
  CompareOptions allow;
  allow.allow_different_model = true;
  const CompareResult r = compare_reports(a, b, allow);
  EXPECT_EQ(r.regressions, 0);
  EXPECT_NE(summary(r).find("different models"), std::string::npos) << summary(r);
  // MiniMax-VL-01: the same text model with another vision tower is another model too
  json v = a, w = a;
  v["model"]["vl_config"] = {{"model_type", "minimax_vl_01"}, {"vision_config", {{"num_hidden_layers", 24}}}};
  w["model"]["vl_config"] = {{"model_type", "minimax_vl_01"}, {"vision_config", {{"num_hidden_layers", 23}}}};
  EXPECT_EQ(compare_reports(v, v, {}).regressions, 0);
  try {
    compare_reports(v, w, {}, "old.json", "new.json");
    ADD_FAILURE() << "expected VL models with different vision configs to be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ in the vision side (vl_config)"), std::string::npos) << e.what();
  }
  // a report without the field (a text model, or one written before it was recorded): compared, said
  const CompareResult older = compare_reports(a, v, {}, "old.json", "new.json");
  EXPECT_EQ(older.regressions, 0);
  EXPECT_NE(summary(older).find("only new.json records the vision side (model.vl_config)"), std::string::npos)
      << summary(older);
  // the same model on another machine: compared, with a warning naming what differs
  json c = bench_report(0.010, 1), d = c;
  d["machine"]["cpu"] = "another CPU";
  d["machine"]["logical_cores"] = 64;
  const CompareResult m = compare_reports(c, d, {});
  EXPECT_NE(summary(m).find("different machines (cpu, logical_cores differ)"), std::string::npos) << summary(m);
  EXPECT_EQ(summary(compare_reports(c, c, {})).find("different machines"), std::string::npos);
}

// Runs asked to do different things (other tokens, another rule, other bench lengths, another stream)
// are compared, with a warning naming what differs; the same requests give no such warning.
TEST(Compare, DifferentRequestsAreWarned) {
  json a = check_report(true, 1e-7), b = a;
  a["result"]["inputs"] = {{"prompt_len", 3}, {"prompt_tokens", {1, 2, 3}}};
  a["result"]["rule"] = {{"k", 2.0}, {"floor_rel", 1e-6}};
  b["result"]["inputs"] = {{"prompt_len", 3}, {"prompt_tokens", {1, 2, 4}}};
  b["result"]["rule"] = {{"k", 3.0}, {"floor_rel", 1e-6}};
  const std::string s = summary(compare_reports(a, b, {}));
  EXPECT_NE(s.find("the runs differ in their inputs (prompt_tokens)"), std::string::npos) << s;
  EXPECT_NE(s.find("the runs differ in their acceptance rule (k)"), std::string::npos) << s;
  EXPECT_EQ(summary(compare_reports(a, a, {})).find("the runs differ"), std::string::npos);
  json c = bench_report(0.010, 1), d = c;
  c["result"]["options"] = {{"reps", 12}, {"prompt_lens", {256}}};
  d["result"]["options"] = {{"reps", 9}, {"prompt_lens", {256}}, {"warmup", 1}};
  const std::string t = summary(compare_reports(c, d, {}));
  EXPECT_NE(t.find("the runs differ in their options (reps, warmup)"), std::string::npos) << t;
}

// A Google Benchmark document: `reps` repetitions of each named benchmark, real times N(median, 3 %) in ms,
// plus the aggregates Google Benchmark writes (ignored by compare).
json gbench(const std::vector<std::pair<std::string, double>>& benches, uint64_t seed, int reps = 12) {
  Rng rng(seed);
  json b = json::array();
  for (const auto& [name, median] : benches) {
    for (int i = 0; i < reps; ++i)
      b.push_back({{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"repetition_index", i},
                   {"real_time", median * (1 + 0.03 * rng.normal())}, {"cpu_time", median}, {"time_unit", "ms"}});
    b.push_back({{"name", name + "_median"}, {"run_name", name}, {"run_type", "aggregate"}, {"aggregate_name", "median"},
                  {"real_time", 1e9}, {"time_unit", "ms"}});
  }
  return {{"context", {{"host_name", "vm"}, {"num_cpus", 2}, {"library_build_type", "release"}}}, {"benchmarks", b}};
}

TEST(Compare, GoogleBenchmarkJson) {
  const json a = gbench({{"BM_Gemm/v1", 2.0}, {"BM_Gemm/v2", 1.0}}, 1);
  EXPECT_TRUE(is_gbench_json(a));
  EXPECT_FALSE(is_gbench_json(bench_report(0.01, 1)));
  const CompareResult same = compare_reports(a, gbench({{"BM_Gemm/v1", 2.0}, {"BM_Gemm/v2", 1.0}}, 2), {});
  EXPECT_EQ(same.kind, "gbench");
  EXPECT_EQ(same.regressions, 0) << summary(same);
  EXPECT_EQ(same.lines.size(), 2u);  // per run name, aggregates not counted as samples
  const CompareResult slow = compare_reports(a, gbench({{"BM_Gemm/v1", 2.0}, {"BM_Gemm/v2", 1.3}}, 2), {});
  EXPECT_EQ(slow.regressions, 1);
  EXPECT_NE(summary(slow).find("REGRESSION BM_Gemm/v2: median 1.0"), std::string::npos) << summary(slow);
  // a benchmark that disappeared, or errored, is missing
  EXPECT_EQ(compare_reports(a, gbench({{"BM_Gemm/v1", 2.0}}, 2), {}).regressions, 1);
  json errored = gbench({{"BM_Gemm/v1", 2.0}, {"BM_Gemm/v2", 1.0}}, 2);
  for (auto& e : errored["benchmarks"])
    if (e["name"] == "BM_Gemm/v2") e["error_occurred"] = true;
  EXPECT_EQ(compare_reports(a, errored, {}).regressions, 1);
  // another host is said; a report and a Google Benchmark document are not compared
  json other = gbench({{"BM_Gemm/v1", 2.0}, {"BM_Gemm/v2", 1.0}}, 2);
  other["context"]["host_name"] = "gpu-box";
  EXPECT_NE(summary(compare_reports(a, other, {})).find("contexts differ (host_name)"), std::string::npos);
  EXPECT_THROW(compare_reports(a, bench_report(0.01, 1), {}), Error);
  // a baseline without repetitions (aggregates only) would pass everything: refused
  json aggregates = a;
  json kept = json::array();
  for (const auto& e : a["benchmarks"])
    if (e["run_type"] == "aggregate") kept.push_back(e);
  aggregates["benchmarks"] = kept;
  try {
    compare_reports(aggregates, a, {}, "agg.json");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("agg.json holds no benchmark repetitions"), std::string::npos) << e.what();
  }
  // a malformed document names the file and the path
  json bad = a;
  bad["benchmarks"][0]["real_time"] = "fast";
  try {
    compare_reports(bad, a, {}, "old_gbench.json");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("old_gbench.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("real_time"), std::string::npos) << e.what();
  }
}
}  // namespace
}  // namespace mm::harness
