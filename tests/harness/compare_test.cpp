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
  auto soak = [](double up, int missed) {
    json r = new_report("soak", "test");
    r["result"] = {{"overall", {{"uptime_percent", up}, {"unexplained_failures", 0}}}, {"faults", {{"missed", missed}}}};
    return r;
  };
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(99.2, 0), {}).regressions, 0);
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(95.0, 0), {}).regressions, 1);
  EXPECT_EQ(compare_reports(soak(99.5, 0), soak(99.5, 1), {}).regressions, 1);
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

TEST(Compare, CheckingLessIsARegression) {
  const json old_r = check_report(true, 1e-7);
  json gone = old_r;
  gone["result"]["backends"] = json::array();
  EXPECT_EQ(compare_reports(old_r, gone, {}).regressions, 1);
  json skipped = old_r;
  skipped["result"]["backends"][0]["status"] = "skipped";
  skipped["result"]["backends"][0].erase("tensors");
  EXPECT_GE(compare_reports(old_r, skipped, {}).regressions, 1);
  json fewer = old_r;
  fewer["result"]["backends"][0]["tensors"] = json::array();
  EXPECT_EQ(compare_reports(old_r, fewer, {}).regressions, 1);
}
}  // namespace
}  // namespace mm::harness
