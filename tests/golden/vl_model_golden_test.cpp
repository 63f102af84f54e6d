// MiniMax-VL-01 end to end against an independent implementation assembled from released pieces
// (golden/vl_cases/, golden/generate_vl.py: Pillow 12.0.0 crops, transformers' CLIPVisionModel with exact
// GELU and the last hidden state, LLaVA-NeXT's projector and packing, the patched HF MiniMax text model
// driven with inputs_embeds; float64 and float32 runs).
//
// Each case runs through the harness backends ref-f64 / ref-f32 exactly as `forward --images` does:
// images decoded and preprocessed with the case's preprocessor_config.json, placeholders expanded, one
// prefill capturing every tensor, then the decode tokens. Every stored tensor is compared with the
// manifest's tolerance (rel_fro and max_abs, against the float64 run); the goldens store most per-token
// tensors at a subset of rows (vision.rows, vision.feature_rows, image_features.rows, text.rows), which
// harness/vl_golden.h gathers from the full tensors (as `check --golden` does). The first diverging
// tensor in dataflow order is named.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/safetensors.h"
#include "core/sha256.h"
#include "harness/backend.h"
#include "harness/capture.h"
#include "harness/vl_golden.h"

namespace mm {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> vl_case_dirs() { return golden::vl_case_dirs(MM_GOLDEN_ROOT); }

// Everything the case stores, computed by `backend` as `forward --images` computes it (the case's
// images preprocessed and checked against the generator's crop hashes, placeholders expanded, one
// prefill capturing every tensor, then the decode tokens), compared tensor by tensor (harness/vl_golden.h).
void check(const std::string& dir, const std::string& backend, const char* tol_key) {
  const golden::VlCase c = golden::load_vl_case(dir);
  const SafetensorsFile expected(dir + "/expected.safetensors");
  const harness::LoadedModel m = harness::load_model(c.dir);
  ASSERT_TRUE(m.vl.has_value());
  const ModelInput in = golden::vl_case_prompt(c, m.vl->image_token_index);
  auto b = harness::registry().make(backend, m);
  const harness::TensorMap run = harness::run_sequence(*b, in, c.decode, {}, {});
  const harness::TensorMap view = golden::golden_view(c, expected, run, in, m.config);
  const std::vector<golden::VlTensorDiff> diffs = golden::compare_vl_case(c, expected, view, tol_key);
  ASSERT_GE(diffs.size(), 18u) << c.name;
  std::string first_fail, worst;
  double worst_rel = 0;
  for (const golden::VlTensorDiff& d : diffs) {
    ASSERT_TRUE(d.produced) << c.name << ": " << backend << " produced no tensor '" << d.name << "'";
    ASSERT_TRUE(d.shape_ok) << c.name << ": tensor '" << d.name << "' shape mismatch";
    if (!d.pass && first_fail.empty()) first_fail = d.name;
    EXPECT_TRUE(d.pass) << c.name << " " << backend << ": '" << d.name << "' rel_fro " << d.rel_fro << " (tol "
                        << d.tol_rel_fro << "), max_abs " << d.max_abs << " (tol " << d.tol_max_abs << ")";
    if (d.rel_fro > worst_rel) worst_rel = d.rel_fro, worst = d.name;
  }
  if (!first_fail.empty()) ADD_FAILURE() << c.name << " " << backend << ": first diverging tensor: " << first_fail;
  std::printf("[vl-golden] %-16s %s: %zu tensors, worst rel_fro %.3e (%s)\n", c.name.c_str(), backend.c_str(),
              diffs.size(), worst_rel, worst.c_str());
}

class VlModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(VlModelGolden, Fp64ReferenceMatches) { check(GetParam(), "ref-f64", "tol_fp64"); }
TEST_P(VlModelGolden, Fp32ReferenceMatches) { check(GetParam(), "ref-f32", "tol_fp32"); }

TEST_P(VlModelGolden, FilesMatchManifestHashes) {
  const golden::VlCase c = golden::load_vl_case(GetParam());
  const auto& sums = c.manifest.at("sha256");
  for (auto it = sums.begin(); it != sums.end(); ++it)
    EXPECT_EQ(sha256_file(c.dir + "/" + it.key()), it.value().get<std::string>()) << c.name << "/" << it.key();
  for (const auto& e : fs::directory_iterator(c.dir)) {
    const std::string f = e.path().filename().string();
    if (f == "manifest.json") continue;
    EXPECT_TRUE(sums.contains(f)) << c.name << "/" << f << " has no manifest hash";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, VlModelGolden, ::testing::ValuesIn(vl_case_dirs()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return fs::path(i.param).filename().string(); });

TEST(VlModelGoldenSet, AtLeastFourCases) { EXPECT_GE(vl_case_dirs().size(), 4u); }

}  // namespace
}  // namespace mm
