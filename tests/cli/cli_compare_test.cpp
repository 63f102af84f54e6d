// `compare` as a CI gate (docs/harness.md, "compare"): real bench reports from the command, then the
// ways a new run could look clean by measuring less — a backend dropped, a backend skipped — must fail
// the gate, and --allow-missing turns them into warnings. Google Benchmark JSON goes through the same
// command.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "harness/report.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

using nlohmann::json;

class CompareGate : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(cli::cmd_init({"--preset", "tiny", "--seed", "2", "--out", model}), 0); }
  // A bench report of `backends` on the tiny model: one prompt length, 3 repetitions (too few for the U
  // test to call any timing change significant, so only what is missing can fail the gate).
  std::string bench(const std::string& backends, const std::string& name) {
    const std::string out = dir.file(name);
    EXPECT_EQ(cli::cmd_bench({"--model", model, "--backends", backends, "--prompt-lens", "8", "--context-lens", "8",
                              "--decode-steps", "2", "--reps", "3", "--warmup", "0", "--report", out}),
              0);
    return out;
  }
  test::TempDir dir;
  std::string model = dir.file("tiny");
};

TEST_F(CompareGate, MissingSeriesAndSkippedBackendFail) {
  const std::string both = bench("ref-f32,ref-bf16", "both.json"), one = bench("ref-f32", "one.json");
  EXPECT_EQ(cli::cmd_compare({both, both}), 0);
  EXPECT_EQ(cli::cmd_compare({both, one}), 1);  // ref-bf16's series are gone
  EXPECT_EQ(cli::cmd_compare({both, one, "--allow-missing"}), 0);
  EXPECT_EQ(cli::cmd_compare({one, both}), 0);  // more series is not a regression

  // A baseline made where `cuda` ran, a new run where it was skipped: both built from the real ref-f32
  // report (its series copied under the name cuda; the skip as bench writes it), so the test needs no GPU
  // and runs the same with one.
  json base = harness::read_report(one), skipped = base;
  json series = base["result"]["series"];
  for (auto s : base["result"]["series"]) {
    s["backend"] = "cuda";
    series.push_back(s);
  }
  base["result"]["series"] = series;
  skipped["result"]["skipped"] = json::array({{{"backend", "cuda"}, {"reason", "no CUDA device"}}});
  const std::string gpu_base = dir.file("gpu_base.json"), no_gpu = dir.file("no_gpu.json");
  harness::write_report(gpu_base, base);
  harness::write_report(no_gpu, skipped);
  EXPECT_EQ(cli::cmd_compare({gpu_base, no_gpu}), 1);
  EXPECT_EQ(cli::cmd_compare({gpu_base, no_gpu, "--allow-missing"}), 0);
}

TEST_F(CompareGate, GoogleBenchmarkJsonAndMixedKinds) {
  auto gbench = [&](const std::string& name, std::vector<std::string> benches) {
    json b = json::array();
    for (const auto& n : benches)
      for (int i = 0; i < 9; ++i)
        b.push_back({{"name", n}, {"run_name", n}, {"run_type", "iteration"}, {"real_time", 1.0 + 0.01 * i},
                     {"time_unit", "ms"}});
    const std::string path = dir.file(name);
    std::ofstream(path) << json{{"context", {{"host_name", "vm"}}}, {"benchmarks", b}}.dump();
    return path;
  };
  const std::string a = gbench("a.json", {"BM_X/v1", "BM_X/v2"}), b = gbench("b.json", {"BM_X/v1"});
  EXPECT_EQ(cli::cmd_compare({a, a}), 0);
  EXPECT_EQ(cli::cmd_compare({a, b}), 1);
  EXPECT_EQ(cli::cmd_compare({a, b, "--allow-missing"}), 0);
  const std::string rep = bench("ref-f32", "rep.json");
  EXPECT_THROW(cli::cmd_compare({a, rep}), Error);
}

}  // namespace
}  // namespace mm
