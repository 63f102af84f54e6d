// check on a MiniMax-VL-01 model (preset vl-tiny): the prompt carries two seeded images, the vision tower
// is teacher-forced layer by layer (harness/teacher_forcing.h) and every vision.* / projector.* tensor is
// judged like a text tensor; a perturbed vision layer fails the check and is named as "vision layer L";
// the kernels' backends, which cannot run images yet, are skipped with their reason; the JSON report and
// the HTML page render a VL check.
#include <cstdio>

#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/check.h"
#include "harness/html_report.h"
#include "harness/report.h"
#include "harness/tensor_id.h"

namespace mm::harness {
namespace {

const ModelSource& vl_tiny() {
  static const ModelSource s = resolve_model("", "vl-tiny", 0);
  return s;
}

const BackendCheck& find(const CheckResult& r, const std::string& name) {
  for (const auto& b : r.backends)
    if (b.name == name) return b;
  throw std::runtime_error("no backend " + name + " in the result");
}

bool is_vision(const std::string& n) {
  const Family f = TensorId::parse(n).family;
  return f == Family::VisionEncoder || f == Family::Projector;
}

TEST(VlCheck, PresetLoadsAsVl) {
  ASSERT_TRUE(vl_tiny().model.vl.has_value());
  EXPECT_EQ(vl_tiny().model.vl->vision.num_hidden_layers, 2);
  EXPECT_NE(vl_tiny().label.find("vl-tiny"), std::string::npos);
}

// Every registered backend: ref-f32 passes with the vision tensors judged; the kernels' backends are
// skipped with why (no images in the kernels yet, or not built / no device), never failed.
TEST(VlCheck, PassesWithVisionTensorsJudged) {
  CheckOptions opt;
  opt.prompt_len = 40;
  opt.decode_steps = 2;
  const CheckResult r = run_check(vl_tiny(), opt);
  // (another test of this binary may have registered a test-only backend: judged are the built-in ones)
  for (const auto& b : r.backends)
    if (b.name.rfind("test-", 0) != 0) {
      EXPECT_TRUE(b.status == "pass" || b.status == "oracle" || b.status == "budget" || b.status == "skipped")
          << b.name << ": " << b.status << "\n" << summary(r);
    }
  ASSERT_EQ(r.images.size(), 2u);
  EXPECT_NE(r.images[0].crops, r.images[1].crops);  // different tile counts
  int64_t placeholders = 0;
  for (int64_t t : r.prompt) placeholders += t == r.image_token_id;
  EXPECT_EQ(placeholders, r.images[0].tokens + r.images[1].tokens);
  EXPECT_EQ(static_cast<int64_t>(r.prompt.size()), 40 + placeholders);  // prompt_len counts the text tokens
  for (int64_t t : r.decode) EXPECT_NE(t, r.image_token_id);
  EXPECT_EQ(find(r, "ref-f64").status, "oracle");
  EXPECT_EQ(find(r, "ref-bf16").status, "budget");
  EXPECT_EQ(find(r, "ref-f32").status, "pass") << summary(r);
  for (const char* n : {"cuda", "cuda-sim"}) {
    const auto& b = find(r, n);
    EXPECT_EQ(b.status, "skipped") << n << ": " << b.reason;
    EXPECT_FALSE(b.reason.empty()) << n;
  }
#if MM_SIMT
  EXPECT_NE(find(r, "cuda-sim").reason.find("image inputs are not supported"), std::string::npos);
#endif
  for (const char* n : {"ref-f32", "ref-bf16"}) {
    std::set<std::string> names;
    double worst = 0;
    std::string worst_name;
    std::string order;  // the vision tensors come first (dataflow order)
    for (const auto& v : find(r, n).tensors) {
      order += is_vision(v.name) ? "v" : "t";
      if (!is_vision(v.name)) continue;
      names.insert(v.name);
      EXPECT_TRUE(v.pass) << n << " " << v.name << ": " << v.why;
      EXPECT_TRUE(v.produced && v.conclusive) << v.name;
      if (v.err.rel_fro >= worst) { worst = v.err.rel_fro; worst_name = v.name; }
    }
    EXPECT_EQ(order.find("tv"), std::string::npos) << order;
    for (const char* t : {"vision.embeddings", "vision.pre_layrnorm", "vision.layers.0.attn", "vision.layers.0.mlp",
                          "vision.layers.0.output", "vision.layers.1.output", "vision.features", "projector.output",
                          "projector.image_features"})
      EXPECT_TRUE(names.count(t)) << n << " " << t;
    std::printf("[accuracy] vl check %-8s worst vision/projector rel_fro %.3e (%s)\n", n, worst, worst_name.c_str());
  }
  // f32 is far inside the bf16 budget on the vision tower too
  for (const auto& v : find(r, "ref-f32").tensors)
    if (is_vision(v.name)) {
      EXPECT_LT(v.err.rel_fro, 1e-4) << v.name;
    }
  const std::string s = summary(r);
  EXPECT_NE(s.find("2 seeded images"), std::string::npos) << s;
  EXPECT_NE(s.find("vision tower + projector"), std::string::npos) << s;

  // the JSON report (with its envelope) passes the schema and renders, the vision layers listed
  auto rep = new_report("check", "minimax01 check --preset vl-tiny");
  rep["model"] = model_json(vl_tiny().model, vl_tiny().label);
  rep["seeds"] = {{"inputs", 0}, {"weights", 0}};
  rep["result"] = to_json(r, opt);
  EXPECT_EQ(rep["result"]["inputs"]["images"].size(), 2u);
  EXPECT_EQ(rep["result"]["inputs"]["text_tokens"], 40);
  const nlohmann::json back = parse_report_text(rep.dump(), "vl.json");
  const std::string html = render_html({{"vl.json", back}});
  EXPECT_NE(html.find("vision layers (worst error / tolerance): 0:"), std::string::npos);
}

class PerturbedVisionLayer : public ::testing::TestWithParam<int> {};

TEST_P(PerturbedVisionLayer, FailsAndNamesTheVisionLayer) {
  const int layer = GetParam();
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.prompt_len = 20;
  opt.decode_steps = 1;
  opt.perturb = parse_perturbation("vision." + std::to_string(layer) + ":2e-2");
  ASSERT_TRUE(opt.perturb->vision);
  const CheckResult r = run_check(vl_tiny(), opt);
  EXPECT_FALSE(r.pass);
  const auto& b = find(r, "ref-f32");
  EXPECT_EQ(b.status, "fail");
  EXPECT_EQ(b.first_diverging, "vision.layers." + std::to_string(layer) + ".output") << summary(r);
  EXPECT_EQ(b.first_family, "vision_encoder");
  EXPECT_EQ(b.first_layer, layer);
  EXPECT_EQ(b.first_phase, "prefill");
  EXPECT_NE(summary(r).find("first diverging vision layer: " + std::to_string(layer)), std::string::npos) << summary(r);
  // the earlier vision layers are untouched
  for (const auto& v : b.tensors) {
    const TensorId id = TensorId::parse(v.name);
    if (id.family == Family::VisionEncoder && id.layer >= 0 && id.layer < layer) {
      EXPECT_TRUE(v.pass) << v.name;
    }
  }
  const auto j = to_json(r, opt);
  EXPECT_EQ(j["backends"][0]["first_diverging"]["family"], "vision_encoder");
  EXPECT_EQ(j["perturbation"]["family"], "vision_encoder");
}
INSTANTIATE_TEST_SUITE_P(Layers, PerturbedVisionLayer, ::testing::Values(0, 1));

TEST(VlCheck, PerturbationSpec) {
  const Perturbation t = parse_perturbation("3:1e-2");
  EXPECT_FALSE(t.vision);
  EXPECT_EQ(t.layer, 3);
  const Perturbation v = parse_perturbation("vision.1:0.5");
  EXPECT_TRUE(v.vision);
  EXPECT_EQ(v.layer, 1);
  EXPECT_DOUBLE_EQ(v.rel, 0.5);
  for (const char* bad : {"vision.:1", "vision.x:1", "vision1:1", "vision.1", "Vision.1:1", "vision.-1:1e-2"})
    EXPECT_THROW(parse_perturbation(bad), Error) << bad;
  // a vision layer the tower does not have, and a vision perturbation of a text model: clear errors
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.prompt_len = 8;
  opt.perturb = parse_perturbation("vision.2:1e-2");
  try {
    run_check(vl_tiny(), opt);
    ADD_FAILURE() << "vision layer 2 of 2 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vision tower has 2 layers"), std::string::npos) << e.what();
  }
  const ModelSource text = resolve_model("", "tiny", 0);
  opt.perturb = parse_perturbation("vision.0:1e-2");
  try {
    run_check(text, opt);
    ADD_FAILURE() << "a vision perturbation of a text model accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mm::harness
