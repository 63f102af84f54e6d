// The reference against goldens produced by HuggingFace transformers (golden/README.md).
// Every captured tensor is compared with the manifest's tolerance (relative Frobenius error and
// max abs error); chosen experts must agree exactly (the generator only keeps cases whose router
// margins are clear). On failure the first diverging tensor, in computation order, is named.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "core/sha256.h"
#include "harness/golden_case.h"

namespace mm::golden {
namespace {

class Golden : public ::testing::TestWithParam<std::string> {};

template <class P> void check_case(const std::string& dir, const char* tol_key) {
  const Case c = load_case(dir);
  const auto got = run_case<P>(c);
  SafetensorsFile expected((std::filesystem::path(dir) / "expected.safetensors").string());
  std::vector<std::string> names;
  for (auto& [n, t] : expected.tensors()) names.push_back(n);
  std::sort(names.begin(), names.end(), [](auto& a, auto& b) { return order_key(a) < order_key(b); });
  ASSERT_FALSE(names.empty());
  double worst_rel = 0;
  std::string worst, first_fail;
  int compared = 0;
  for (const auto& n : names) {
    ASSERT_TRUE(c.manifest["tensors"].contains(n)) << c.name << ": " << n << " not in manifest";
    ASSERT_TRUE(got.count(n)) << c.name << ": the reference produced no tensor '" << n << "'";
    const TensorInfo& ti = *expected.find(n);
    const Diff d = compare(got.at(n), read_f64(ti), ti.shape);
    ASSERT_TRUE(d.shape_ok) << c.name << ": tensor '" << n << "' shape mismatch";
    const auto& tol = c.manifest["tensors"][n][tol_key];
    const bool exact = n.find("router_experts") != std::string::npos;
    const bool ok = exact ? d.max_abs == 0
                          : d.rel_fro <= tol.at("rel_fro").get<double>() && d.max_abs <= tol.at("max_abs").get<double>();
    if (!ok && first_fail.empty()) first_fail = n;
    EXPECT_TRUE(ok) << c.name << " " << P::kName << ": '" << n << "' rel_fro " << d.rel_fro << " (tol "
                    << tol.value("rel_fro", 0.0) << "), max_abs " << d.max_abs << " (tol " << tol.value("max_abs", 0.0) << ")";
    if (!exact && d.rel_fro > worst_rel) { worst_rel = d.rel_fro; worst = n; }
    ++compared;
  }
  if (!first_fail.empty()) ADD_FAILURE() << c.name << " " << P::kName << ": first diverging tensor: " << first_fail;
  std::printf("[golden] %-28s %s: %d tensors, worst rel_fro %.3e (%s)\n", c.name.c_str(), P::kName, compared,
              worst_rel, worst.c_str());
  ::testing::Test::RecordProperty(std::string(P::kName) + "_worst_rel_fro", std::to_string(worst_rel));
}

TEST_P(Golden, Fp64ReferenceMatches) { check_case<ref::F64>(GetParam(), "tol_fp64"); }
TEST_P(Golden, Fp32ReferenceMatches) { check_case<ref::F32>(GetParam(), "tol_fp32"); }

// The files on disk are the ones the manifest describes: an accidental edit is caught.
TEST_P(Golden, FilesMatchManifestHashes) {
  const Case c = load_case(GetParam());
  const auto& sums = c.manifest.at("sha256");
  ASSERT_GE(sums.size(), 4u);
  for (auto it = sums.begin(); it != sums.end(); ++it)
    EXPECT_EQ(sha256_file((std::filesystem::path(c.dir) / it.key()).string()), it.value().get<std::string>())
        << c.name << "/" << it.key() << " differs from its manifest hash";
  // and every file in the case is covered (besides the manifest itself)
  for (auto& e : std::filesystem::directory_iterator(c.dir)) {
    const std::string f = e.path().filename().string();
    if (f == "manifest.json") continue;
    EXPECT_TRUE(sums.contains(f)) << c.name << "/" << f << " has no manifest hash";
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  return std::filesystem::path(info.param).filename().string();
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(case_dirs()), case_name);

TEST(GoldenSet, AtLeastFiveCases) { EXPECT_GE(case_dirs().size(), 5u); }

}  // namespace
}  // namespace mm::golden
