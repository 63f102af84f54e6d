// check on a MiniMax-VL-01 model (preset vl-tiny): the prompt carries two seeded images, the vision tower
// is teacher-forced layer by layer (harness/teacher_forcing.h) and every vision.* / projector.* tensor is
// judged like a text tensor; a perturbed vision layer fails the check and is named as "vision layer L";
// the kernels' backends run the images through the vision kernels and are judged the same way; the JSON report and
// the HTML page render a VL check. `check --golden` on the VL goldens (golden/vl_cases/): the oracle agrees
// with the independent implementation on every stored tensor, a perturbed vision layer is still named, and
// a disagreement with the case (a changed tensor, a changed image) is named.
#include <cstdio>
#include <set>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/vl_config.h"
#include "harness/check.h"
#include "harness/html_report.h"
#include "harness/report.h"
#include "harness/tensor_id.h"
#include "harness/vl_golden.h"
#include "tests/gpu_expect.h"

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

// Every registered backend: ref-f32 and cuda-sim pass with the vision tensors judged; cuda is skipped
// with why where it is not built or has no device, never failed.
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
  // The kernels run the images: cuda-sim passes with every vision / projector tensor judged; cuda passes
  // where it is built and has a device, else it is skipped for that reason, never for the images (under
  // MM_REQUIRE_GPU=1 the skip fails: tests/gpu_expect.h).
  if (mm::test::gpu_required()) {
    EXPECT_NE(find(r, "cuda").status, "skipped") << "MM_REQUIRE_GPU=1 but cuda was skipped: " << find(r, "cuda").reason;
  }
  for (const char* n : {"cuda", "cuda-sim"}) {
    const auto& b = find(r, n);
    EXPECT_TRUE(b.status == "pass" || (b.status == "skipped" && !b.reason.empty())) << n << ": " << b.status << " "
                                                                                    << b.reason;
    EXPECT_EQ(b.reason.find("image inputs are not supported"), std::string::npos) << n << ": " << b.reason;
  }
#if MM_SIMT
  {
    const auto& b = find(r, "cuda-sim");
    EXPECT_EQ(b.status, "pass") << b.reason << "\n" << summary(r);
    std::set<std::string> names;
    for (const auto& v : b.tensors)
      if (is_vision(v.name)) {
        names.insert(v.name);
        EXPECT_TRUE(v.pass && v.produced && v.conclusive) << "cuda-sim " << v.name << ": " << v.why;
      }
    for (const char* t : {"vision.embeddings", "vision.pre_layrnorm", "vision.layers.0.attn", "vision.layers.0.mlp",
                          "vision.layers.0.output", "vision.layers.1.output", "vision.features", "projector.output",
                          "projector.image_features"})
      EXPECT_TRUE(names.count(t)) << "cuda-sim " << t;
  }
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


// ---- check --golden on the MiniMax-VL-01 goldens ------------------------------------------------------

std::string fs_name(const std::string& dir) { return std::filesystem::path(dir).filename().string(); }

std::vector<std::string> vl_golden_dirs() { return golden::vl_case_dirs(golden::default_golden_root()); }

ModelSource golden_source(const std::string& dir) {
  ModelSource s;
  s.model = load_model(dir);
  s.label = dir;
  return s;
}

class VlGoldenCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(VlGoldenCheck, OracleAgreesWithTheCaseAndRefF32Passes) {
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.golden_dir = GetParam();
  const CheckResult r = run_check(golden_source(GetParam()), opt);
  ASSERT_TRUE(r.golden.has_value());
  EXPECT_TRUE(r.golden->pass) << summary(r);
  EXPECT_GE(r.golden->tensors.size(), 18u);
  bool vision_stored = false;
  for (const auto& t : r.golden->tensors) {
    EXPECT_TRUE(t.produced && t.pass) << t.name << " rel_fro " << t.rel_fro << " tol " << t.tol_rel_fro;
    vision_stored |= t.name.rfind("vision.layers.", 0) == 0;
  }
  EXPECT_TRUE(vision_stored);
  EXPECT_TRUE(r.pass) << summary(r);
  EXPECT_FALSE(r.images.empty());
  EXPECT_FALSE(r.images[0].file.empty());
  const BackendCheck& b = find(r, "ref-f32");
  EXPECT_EQ(b.status, "pass") << summary(r);
  int vision = 0;
  for (const auto& v : b.tensors) vision += is_vision(v.name);
  EXPECT_GE(vision, 5) << "the vision tower is judged against the oracle, layer by layer";
  const nlohmann::json j = to_json(r, opt);
  EXPECT_EQ(j["golden"]["pass"], true);
  EXPECT_EQ(j["golden"]["case"], fs_name(GetParam()));
}

// The cases with a small vocabulary. real_token_ids (vocabulary 200064) is left to vl_model_golden_tests:
// a check holds every run's full logits in double ([1031 rows, 200064] = 1.65 GB each, ~15 GB in all),
// too much beside the other tests on a 24 GB machine.
std::vector<std::string> small_vocab_dirs() {
  std::vector<std::string> out;
  for (const std::string& d : vl_golden_dirs())
    if (load_vl_config(d).text.vocab_size <= 65536) out.push_back(d);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, VlGoldenCheck, ::testing::ValuesIn(small_vocab_dirs()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return fs_name(i.param); });

TEST(VlGoldenCheck, AtLeastFourCases) {
  EXPECT_GE(vl_golden_dirs().size(), 4u);
  EXPECT_GE(small_vocab_dirs().size(), 3u);
}

TEST(VlGoldenCheck, PerturbedVisionLayerIsNamed) {
  const std::string dir = vl_golden_dirs().at(0);
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.golden_dir = dir;
  opt.perturb = parse_perturbation("vision.1:1e-2");
  const CheckResult r = run_check(golden_source(dir), opt);
  EXPECT_TRUE(r.golden && r.golden->pass) << "the oracle is never perturbed";
  EXPECT_FALSE(r.pass);
  const BackendCheck& b = find(r, "ref-f32");
  EXPECT_EQ(b.status, "fail");
  EXPECT_EQ(b.first_family, "vision_encoder");
  EXPECT_EQ(b.first_layer, 1);
}

// The first link named: a run whose vision layer 1 is off by 1e-9 (relative) breaks the float64
// tolerance (1e-11 or tighter) of that tensor and of nothing before it.
TEST(VlGoldenCheck, DisagreementWithTheCaseIsNamedInDataflowOrder) {
  const std::string dir = vl_golden_dirs().at(0);
  const golden::VlCase c = golden::load_vl_case(dir);
  const LoadedModel m = load_model(dir);
  const ModelInput in = golden::vl_case_prompt(c, m.vl->image_token_index);
  auto b = registry().make("ref-f64", m);
  TensorMap run = run_sequence(*b, in, c.decode, {}, {});
  for (double& v : run.at("vision.layers.1.output").values) v *= 1 + 1e-9;
  const SafetensorsFile expected(dir + "/expected.safetensors");
  const auto diffs = golden::compare_vl_case(c, expected, golden::golden_view(c, expected, run, in, m.config), "tol_fp64");
  std::string first;
  for (const auto& d : diffs)
    if (!d.pass) {
      first = d.name;
      break;
    }
  EXPECT_EQ(first, "vision.layers.1.output");
  // and a tensor the run lacks is a failure, never a silent pass
  run.erase("vision.layers.0.output");
  bool listed = false;
  for (const auto& d : golden::compare_vl_case(c, expected, golden::golden_view(c, expected, run, in, m.config), "tol_fp64"))
    if (d.name == "vision.layers.0.output") {
      listed = true;
      EXPECT_FALSE(d.produced || d.pass);
    }
  EXPECT_TRUE(listed) << "the stored tensor vision.layers.0.output must be listed even when the run lacks it";
}

// A case whose image no longer gives the generator's crops is refused before anything runs, naming the
// case, the image and the crop: here a two-image case's second image copied over its first.
TEST(VlGoldenCheck, ChangedImageIsRefusedByName) {
  namespace fs = std::filesystem;
  std::string src;
  for (const std::string& d : vl_golden_dirs())
    if (golden::load_vl_case(d).manifest.at("images").size() >= 2) src = d;
  ASSERT_FALSE(src.empty()) << "no two-image VL golden case";
  const fs::path tmp = fs::temp_directory_path() / ("mm-vl-golden-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(src, tmp, fs::copy_options::recursive);
  const golden::VlCase c = golden::load_vl_case(tmp.string());
  const std::string first = c.manifest.at("images")[0].at("file").get<std::string>(),
                    second = c.manifest.at("images")[1].at("file").get<std::string>();
  fs::copy_file(tmp / second, tmp / first, fs::copy_options::overwrite_existing);
  CheckOptions opt;
  opt.backends = {"ref-f32"};
  opt.golden_dir = tmp.string();
  try {
    run_check(golden_source(tmp.string()), opt);
    ADD_FAILURE() << "a changed image was accepted";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find(first), std::string::npos) << w;
    EXPECT_TRUE(w.find("crop 0") != std::string::npos || w.find("crops") != std::string::npos) << w;
  }
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace mm::harness
