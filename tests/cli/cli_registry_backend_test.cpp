// A backend added to the registry, and nowhere else, runs in every command that runs a model: forward,
// generate, check, bench and soak take their backends from harness::registry() (docs/harness.md).
// The test-only backend "test-tally" is ref-f64 behind a wrapper that counts the calls each command
// makes, so the test can tell the command really ran it (and did not fall back to a built-in path).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/commands.h"
#include "core/safetensors.h"
#include "harness/backend.h"
#include "harness/ref_backend.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

struct Tally {
  int made = 0, steps = 0, next_tokens = 0;
};

// ref-f64 with every call counted; the name is its own, so reports and dumps say "test-tally".
class TallyBackend final : public harness::Backend {
 public:
  TallyBackend(const harness::LoadedModel& m, Tally& t) : inner_(harness::make_ref_backend(harness::Precision::F64, m)), t_(t) {
    ++t_.made;
  }
  std::string name() const override { return "test-tally"; }
  harness::Precision precision() const override { return inner_->precision(); }
  int bytes_per_element() const override { return inner_->bytes_per_element(); }
  const ModelConfig& config() const override { return inner_->config(); }
  void reset() override { inner_->reset(); }
  harness::StepResult step(const ModelInput& in, const harness::StepRequest& req) override {
    ++t_.steps;
    return inner_->step(in, req);
  }
  int64_t next_token(const harness::StepResult& last, const SamplingParams& p, Rng& rng) override {
    ++t_.next_tokens;
    return inner_->next_token(last, p, rng);
  }
  harness::TensorMap caches() const override { return inner_->caches(); }

 private:
  std::unique_ptr<harness::Backend> inner_;
  Tally& t_;
};

class RegistryBackend : public ::testing::Test {
 protected:
  static Tally tally;
  static void SetUpTestSuite() {
    // The one place the test backend is registered.
    harness::registry().add({"test-tally", "ref-f64 with its calls counted (test only)", nullptr,
                             [](const harness::LoadedModel& m) { return std::make_unique<TallyBackend>(m, tally); }});
  }
  void SetUp() override {
    tally = {};
    ASSERT_EQ(cli::cmd_init({"--preset", "tiny", "--seed", "2", "--out", model}), 0);
  }
  test::TempDir dir;
  std::string model = dir.file("tiny");
};
Tally RegistryBackend::tally;

TEST_F(RegistryBackend, Forward) {
  const std::string dump = dir.file("tally.safetensors"), ref = dir.file("ref.safetensors");
  const std::vector<std::string> args = {"--model", model, "--tokens", "3,1,4,1,5", "--decode-tokens", "9,2"};
  auto with = [&](std::vector<std::string> a, const std::string& backend, const std::string& out) {
    a.insert(a.end(), {"--backend", backend, "--dump", out});
    return a;
  };
  ASSERT_EQ(cli::cmd_forward(with(args, "test-tally", dump)), 0);
  EXPECT_EQ(tally.made, 1);
  EXPECT_EQ(tally.steps, 3);  // the prefill and two decode steps
  ASSERT_EQ(cli::cmd_forward(with(args, "ref-f64", ref)), 0);
  // The same numbers as ref-f64's own dump (only the metadata's backend name differs).
  SafetensorsFile a(dump), b(ref);
  EXPECT_EQ(a.metadata().at("backend"), "test-tally");
  for (const char* n : {"logits", "hidden_states", "decode_logits"}) {
    ASSERT_TRUE(a.find(n) && b.find(n)) << n;
    EXPECT_EQ(read_f64(*a.find(n)), read_f64(*b.find(n))) << n;
  }
}

TEST_F(RegistryBackend, Generate) {
  ASSERT_EQ(cli::cmd_generate({"--model", model, "--prompt-tokens", "3,1,4", "--max-new-tokens", "4", "--temperature",
                               "0.7", "--seed", "5", "--backend", "test-tally"}),
            0);
  EXPECT_EQ(tally.steps, 4);        // the prefill and three decode steps
  EXPECT_EQ(tally.next_tokens, 4);  // one choice per new token
}

TEST_F(RegistryBackend, CheckBenchSoak) {
  ASSERT_EQ(cli::cmd_check({"--model", model, "--backends", "test-tally", "--prompt-len", "5", "--decode-steps", "2",
                            "--report", dir.file("check.json")}),
            0);
  EXPECT_GE(tally.made, 1);
  EXPECT_GT(tally.steps, 0);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir.file("check.json")));
  tally = {};
  ASSERT_EQ(cli::cmd_bench({"--model", model, "--backends", "test-tally", "--prompt-lens", "4", "--context-lens", "4",
                            "--decode-steps", "2", "--reps", "1", "--warmup", "0", "--report", dir.file("bench.json")}),
            0);
  EXPECT_GT(tally.steps, 0);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir.file("bench.json")));
  tally = {};
  ASSERT_EQ(cli::cmd_soak({"--model", model, "--backend", "test-tally", "--duration", "1s", "--max-prompt", "12",
                           "--max-decode", "3", "--report", dir.file("soak.json")}),
            0);
  EXPECT_GT(tally.steps, 0);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir.file("soak.json")));
}

}  // namespace
}  // namespace mm
