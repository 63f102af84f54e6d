// check: passes on the built-in default (tiny) and on every golden case; FAILS when a layer is perturbed,
// naming the perturbed layer as the first diverging one (through the --perturb hook and through a
// test-only backend added to the registry, which also shows a new backend needs no harness change);
// unavailable backends are reported as skipped with the reason; mismatched golden cases are refused.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "harness/check.h"
#include "harness/golden_case.h"
#include "harness/ref_backend.h"
#include "tests/gpu_expect.h"

namespace mm::harness {
namespace {

const ModelSource& tiny() {
  static const ModelSource s = resolve_model("", "", 0);  // the built-in default
  return s;
}

const BackendCheck& find(const CheckResult& r, const std::string& name) {
  for (const auto& b : r.backends)
    if (b.name == name) return b;
  throw std::runtime_error("no backend " + name + " in the result");
}

TEST(Check, PassesOnTheBuiltInDefault) {
  EXPECT_EQ(tiny().model.config.num_hidden_layers, 8);
  EXPECT_EQ(tiny().model.config.block_size, 256);
  CheckOptions opt;  // every registered backend, 300-token prompt (crosses the 256 block), 4 decode steps
  const CheckResult r = run_check(tiny(), opt);
  EXPECT_TRUE(r.pass) << summary(r);
  EXPECT_EQ(r.prompt.size(), 300u);
  // the oracle and the budget are reported with their own status: they cannot fail against themselves
  EXPECT_EQ(find(r, "ref-f64").status, "oracle");
  EXPECT_EQ(find(r, "ref-bf16").status, "budget");
  EXPECT_EQ(find(r, "ref-f32").status, "pass");
  for (const char* n : {"ref-f64", "ref-f32", "ref-bf16"}) EXPECT_GT(find(r, n).tensors.size(), 100u) << n;
#if MM_SIMT
  // cuda-sim (the kernels through the SIMT layer) passes; router_probs is reported as not produced
  EXPECT_EQ(find(r, "cuda-sim").status, "pass") << summary(r);
  std::size_t not_produced = 0;
  for (const auto& v : find(r, "cuda-sim").tensors) {
    if (v.produced) continue;
    ++not_produced;
    EXPECT_EQ(tensor_kind(v.name), "router_probs") << v.name;
  }
  EXPECT_GT(not_produced, 0u);
  // cuda: runs only with a device, otherwise skipped with the reason, never silently (under
  // MM_REQUIRE_GPU=1 the skip fails: tests/gpu_expect.h)
  if (find(r, "cuda").status == "skipped") {
    EXPECT_NE(find(r, "cuda").reason.find("no CUDA device"), std::string::npos);
    EXPECT_FALSE(mm::test::gpu_required()) << "MM_REQUIRE_GPU=1 but cuda was skipped: " << find(r, "cuda").reason;
  } else {
    EXPECT_EQ(find(r, "cuda").status, "pass") << summary(r);
  }
#else
  // the CUDA backends are known but not built: skipped with the reason, never silently
  for (const char* n : {"cuda", "cuda-sim"}) {
    EXPECT_EQ(find(r, n).status, "skipped");
    EXPECT_NE(find(r, n).reason.find("not built"), std::string::npos);
  }
#endif
  // every kind of sub-output is compared, prefill and decode
  std::set<std::string> kinds;
  for (const auto& v : find(r, "ref-f32").tensors) kinds.insert((is_decode_tensor(v.name) ? "d:" : "p:") + tensor_kind(v.name));
  for (const char* k : {"p:attn_out", "p:moe_out", "p:output", "p:router_logits", "p:router_probs", "p:router_experts",
                        "p:lightning_state", "p:k_cache", "p:v_cache", "p:logits", "d:lightning_state", "d:k_cache",
                        "d:logits", "d:output"})
    EXPECT_TRUE(kinds.count(k)) << k;
  // f32 is far inside the bf16 budget
  for (const auto& v : find(r, "ref-f32").tensors) {
    if (v.choices) continue;
    EXPECT_LT(v.err.rel_fro, 1e-4) << v.name;
  }
}

class PerturbedLayer : public ::testing::TestWithParam<int> {};

TEST_P(PerturbedLayer, FailsAndNamesTheLayer) {
  const int layer = GetParam();  // 3 and 6 are lightning layers, 7 the softmax layer
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.prompt_len = 260;
  opt.decode_steps = 2;
  opt.perturb = Perturbation{layer, 1e-2, 7};
  const CheckResult r = run_check(tiny(), opt);
  EXPECT_FALSE(r.pass);
  const auto& b = find(r, "ref-f32");
  EXPECT_EQ(b.status, "fail");
  EXPECT_EQ(b.first_layer, layer) << summary(r);
  EXPECT_EQ(b.first_diverging, "layers." + std::to_string(layer) + ".output");
  EXPECT_EQ(b.first_phase, "prefill");
  EXPECT_NE(summary(r).find("first diverging layer: " + std::to_string(layer)), std::string::npos);
}
INSTANTIATE_TEST_SUITE_P(Layers, PerturbedLayer, ::testing::Values(0, 3, 7));

// A small perturbation, 1e-4 relative after a layer: below bf16 rounding per element but far above the
// f32 noise; the NMSE ceiling of the f32 class (1e-7) still catches it.
TEST(Check, SmallPerturbationStillCaught) {
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.prompt_len = 260;
  opt.decode_steps = 1;
  opt.perturb = Perturbation{5, 1e-3, 3};
  const CheckResult r = run_check(tiny(), opt);
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(find(r, "ref-f32").first_layer, 5) << summary(r);
}

// A test-only backend plugged into the registry: ref-f32 with noise added to layer 4's MoE path (after
// the layer). check, unchanged, must flag it at layer 4.
class NoisyBackend final : public Backend {
 public:
  explicit NoisyBackend(const LoadedModel& m) : inner_(make_ref_backend(Precision::F32, m)) {}
  std::string name() const override { return "test-noisy"; }
  Precision precision() const override { return Precision::F32; }
  int bytes_per_element() const override { return 4; }
  const ModelConfig& config() const override { return inner_->config(); }
  void reset() override { inner_->reset(); }
  StepResult step(const ModelInput& tokens, const StepRequest& req) override {
    StepRequest r = req;
    r.after_layer = [outer = req.after_layer](int l, int64_t rows, int64_t cols, double* h) {
      if (l == 4) {
        Rng rng(11);
        for (int64_t i = 0; i < rows * cols; ++i) h[i] *= 1 + 0.05 * rng.normal();
      }
      if (outer) outer(l, rows, cols, h);
    };
    return inner_->step(tokens, r);
  }
  TensorMap caches() const override { return inner_->caches(); }

 private:
  std::unique_ptr<Backend> inner_;
};

TEST(Check, TestOnlyBackendThroughTheRegistry) {
  registry().add({"test-noisy", "ref-f32 with noise after layer 4 (test only)", nullptr,
                  [](const LoadedModel& m) { return std::make_unique<NoisyBackend>(m); }});
  CheckOptions opt;
  opt.backends = {"ref-f32", "test-noisy"};
  opt.prompt_len = 257;
  opt.decode_steps = 1;
  const CheckResult r = run_check(tiny(), opt);
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(find(r, "ref-f32").status, "pass");
  EXPECT_EQ(find(r, "test-noisy").status, "fail");
  EXPECT_EQ(find(r, "test-noisy").first_layer, 4);
  // Teacher forcing: every later layer runs on the oracle's input again, so only layer 4's own outputs
  // fail; layers 5-7 pass. End to end the noise propagates: reported outside the rule there (it fails
  // only a gross divergence, cosine < 0.95, which 5 % noise is not).
  bool e2e_outside = false;
  for (const auto& v : find(r, "test-noisy").tensors) {
    if (is_end_to_end(v.name)) {
      e2e_outside = e2e_outside || !v.within_rule;
      continue;
    }
    if (!v.pass) {
      EXPECT_EQ(tensor_layer(v.name), 4) << v.name << ": " << v.why;
    }
  }
  EXPECT_TRUE(e2e_outside) << "5 % noise after layer 4 must show end to end as outside the rule";
}

TEST(Check, UnknownAndUnavailableBackends) {
  try {
    parse_backend_list("ref-f32,tpu");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown backend 'tpu' (known: ref-f64, ref-f32, ref-bf16, cuda, cuda-sim"),
              std::string::npos) << e.what();
  }
  const BackendEntry* cuda = registry().find("cuda");
  ASSERT_NE(cuda, nullptr);
  if (cuda->unavailable_reason && !cuda->unavailable_reason().empty()) {  // no device (or no CUDA model path)
    try {
      registry().make("cuda", tiny().model);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("backend 'cuda' is not available"), std::string::npos);
    }
  }
}

class GoldenCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenCheck, PassesAgainstTheGolden) {
  const golden::Case c = golden::load_case(GetParam());
  const ModelSource src = resolve_model(c.dir, "", 0);
  CheckOptions opt;
  opt.backends = {"ref-f64", "ref-f32", "ref-bf16"};
#if MM_SIMT
  opt.backends.push_back("cuda-sim");  // the CUDA kernels (on the CPU) against HF's outputs
#endif
  opt.golden_dir = c.dir;
  const CheckResult r = run_check(src, opt);
  EXPECT_TRUE(r.pass) << summary(r);
  EXPECT_EQ(r.reference, "golden:" + c.name);
  for (const auto& v : find(r, "ref-f64").tensors) {
    if (v.choices) continue;
    EXPECT_LT(v.err.rel_fro, 1e-12) << c.name << " " << v.name;
  }
}
INSTANTIATE_TEST_SUITE_P(Cases, GoldenCheck, ::testing::ValuesIn(golden::case_dirs()),
                         [](const auto& info) { return std::filesystem::path(info.param).filename().string(); });

TEST(Check, MismatchedGoldenCaseIsRefused) {
  const auto dirs = golden::case_dirs();
  ASSERT_FALSE(dirs.empty());
  CheckOptions opt;
  opt.golden_dir = dirs[0];
  try {
    run_check(tiny(), opt);  // the tiny preset is not the case's model
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the model config"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mm::harness

namespace mm::harness {
namespace {
#if MM_SIMT
// Seeds whose inputs put router margins at rounding level: with whole-tensor verdicts on the free-running
// model these failed for cuda-sim (a token rerouted in cuda-sim but not in ref-bf16 moved later tokens
// through attention); teacher forcing, rerouted-row masking and decode budget pooling make them pass
// while the router choices themselves are still judged (none unexplained).
TEST(Check, CudaSimPassesWhereRoutingFlipsAtRoundingLevel) {
  for (uint64_t seed : {11, 12, 13}) {
    CheckOptions opt;
    opt.backends = {"cuda-sim"};
    opt.seed = seed;
    const CheckResult r = run_check(tiny(), opt);
    EXPECT_TRUE(r.pass) << "seed " << seed << "\n" << summary(r);
    const auto& b = find(r, "cuda-sim");
    EXPECT_GT(b.layerwise_rows.backend + b.layerwise_rows.budget + b.end_to_end_rows.backend + b.end_to_end_rows.budget, 0)
        << "seed " << seed << ": no flip to leave out";
    int64_t e2e = 0, left_out = 0;
    for (const auto& v : b.tensors) {
      e2e += is_end_to_end(v.name);
      left_out += v.rows_left_out + v.budget_rows_left_out;
      if (v.choices) {
        EXPECT_EQ(v.choices->mismatched, 0) << v.name;
      }
    }
    EXPECT_EQ(e2e, 4) << "e2e.final_norm, e2e.logits, e2e.decode.final_norm, e2e.decode_logits";
    EXPECT_GT(left_out, 0);
  }
}
#endif

// Short prompts (review findings): flips made only by the ref-bf16 budget must not count against the
// checked backend, and no tensor may be judged on zero values: every compared tensor has values, or is
// reported inconclusive.
TEST(Check, ShortPromptsBudgetFlipsAndEmptyComparisons) {
  struct Case { int64_t prompt; uint64_t seed; };
  for (const Case c : {Case{16, 6}, Case{1, 41}, Case{1, 0}, Case{1, 28}}) {
    CheckOptions opt;
    opt.backends = {"ref-f32"};
    opt.prompt_len = c.prompt;
    opt.seed = c.seed;
    const CheckResult r = run_check(tiny(), opt);
    const std::string tag = "prompt " + std::to_string(c.prompt) + " seed " + std::to_string(c.seed);
    EXPECT_TRUE(r.pass) << tag << "\n" << summary(r);
    const auto& b = find(r, "ref-f32");
    EXPECT_EQ(b.layerwise_rows.backend + b.end_to_end_rows.backend, 0) << tag << ": f32 reroutes nothing";
    for (const auto& v : b.tensors) {
      if (v.produced && v.conclusive && !v.choices) {
        EXPECT_GT(v.err.n, 0) << tag << " " << v.name;
      }
    }
  }
}

// A backend asked for by name that cannot run fails the check instead of being skipped.
TEST(Check, RequestedUnavailableBackendFails) {
  CheckOptions opt;
  opt.prompt_len = 8;
  opt.decode_steps = 1;
  bool any_unavailable = false;
  for (const auto& n : registry().names()) {
    const BackendEntry* e = registry().find(n);
    if (e->unavailable_reason && !e->unavailable_reason().empty()) {
      opt.backends = {"ref-f32", n};
      any_unavailable = true;
      break;
    }
  }
  if (!any_unavailable) GTEST_SKIP() << "every registered backend is available here";
  const CheckResult r = run_check(tiny(), opt);
  EXPECT_FALSE(r.pass) << summary(r);
  EXPECT_EQ(find(r, opt.backends[1]).status, "error");
}
}  // namespace
}  // namespace mm::harness
