// `minimax01 preprocess`: the printed plan and the dump contract (docs/preprocess-dump.md) on golden
// images, equal to what the library computes in-process; the checkpoint's preprocessor_config.json is
// read; an input is never overwritten. MM_CLI is the built binary, MM_VL_GOLDEN_DIR the Pillow goldens.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/image_decode.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "reference/vl_preprocess.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

std::string golden(const std::string& name) { return std::string(MM_VL_GOLDEN_DIR) + "/" + name; }

// Runs the CLI, returning its exit code and standard output.
int run(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = std::string(MM_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string text;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) text += buf.data();
  const int rc = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(CliPreprocess, PrintsThePlanAndDumpsWhatTheLibraryComputes) {
  test::TempDir d;
  const std::string img = golden("rgb_1000x600.png"), dump = d.file("pp.safetensors");
  std::string out;
  ASSERT_EQ(run("preprocess --image " + img + " --dump " + dump, &out), 0) << out;
  for (const char* line : {"1000 x 600 (W x H), Pillow mode RGB", "best resolution 1008 x 672",
                           "grid 2 x 3 tiles", "keep-ratio resize 1008 x 604 at (0, 34)", "crops 7 (thumbnail + 6 tiles)",
                           "kept feature grid 44 x 72", "image tokens 3788", "released defaults"})
    EXPECT_NE(out.find(line), std::string::npos) << "output lacks '" << line << "':\n" << out;

  const vl::PreprocessedImage want =
      vl::preprocess_image(image::decode_image_file(img), vl::released_preprocess_config());
  SafetensorsFile f(dump);
  const TensorInfo* pv = f.find("pixel_values");
  const TensorInfo* cr = f.find("crops_uint8");
  ASSERT_TRUE(pv && cr);
  EXPECT_EQ(pv->dtype, DType::F32);
  EXPECT_EQ(pv->shape, (std::vector<int64_t>{7, 3, 336, 336}));
  EXPECT_EQ(cr->dtype, DType::U8);
  EXPECT_EQ(cr->shape, (std::vector<int64_t>{7, 336, 336, 3}));
  ASSERT_EQ(static_cast<std::size_t>(pv->numel()), want.pixel_values.size());
  EXPECT_EQ(std::memcmp(pv->data, want.pixel_values.data(), want.pixel_values.size() * sizeof(float)), 0);
  ASSERT_EQ(static_cast<std::size_t>(cr->numel()), want.crops_rgb.size());
  EXPECT_EQ(std::memcmp(cr->data, want.crops_rgb.data(), want.crops_rgb.size()), 0);
  const auto& m = f.metadata();
  EXPECT_EQ(m.at("format"), "minimax01-preprocess-v1");
  EXPECT_EQ(m.at("num_image_tokens"), "3788");
  EXPECT_EQ(m.at("grid"), "2x3");
  EXPECT_EQ(m.at("best_resolution"), "1008x672");
  EXPECT_EQ(m.at("resize_order"), "pillow-12");
}

TEST(CliPreprocess, ReadsTheCheckpointsPreprocessorConfig) {
  test::TempDir d;
  // A one-pinpoint list: every image becomes one 672x336 canvas (2 tiles).
  test::write_bytes(d.file("preprocessor_config.json"),
                    R"({"size": {"height": 336, "width": 336}, "image_grid_pinpoints": [[672, 336]]})");
  test::write_bytes(d.file("config.json"), R"({"model_type": "minimax_vl_01", "image_grid_pinpoints": [[672, 336]]})");
  std::string out;
  ASSERT_EQ(run("preprocess --model " + d.path.string() + " --image " + golden("square_300.png"), &out), 0) << out;
  EXPECT_NE(out.find("best resolution 672 x 336"), std::string::npos) << out;
  EXPECT_NE(out.find("crops 3"), std::string::npos) << out;
  EXPECT_NE(out.find(d.file("preprocessor_config.json")), std::string::npos) << out;
}

TEST(CliPreprocess, ThePillow13OrderIsAnOption) {
  test::TempDir d;
  // A portrait's thumbnail shrinks the height most: Pillow 13 resizes it vertically first.
  ASSERT_EQ(run("preprocess --image " + golden("rgb_600x1000.png") + " --dump " + d.file("a") +
                " --resize-order pillow-12"), 0);
  ASSERT_EQ(run("preprocess --image " + golden("rgb_600x1000.png") + " --dump " + d.file("b") +
                " --resize-order pillow-13"), 0);
  SafetensorsFile a(d.file("a")), b(d.file("b"));
  const std::size_t thumb = 336u * 336u * 3u;
  EXPECT_NE(std::memcmp(a.find("crops_uint8")->data, b.find("crops_uint8")->data, thumb), 0);
  EXPECT_EQ(b.metadata().at("resize_order"), "pillow-13");
}

TEST(CliPreprocess, NeverOverwritesTheImage) {
  test::TempDir d;
  const std::string img = d.file("x.png");
  std::filesystem::copy_file(golden("tiny_7x5.png"), img);
  const std::string before = sha256_file(img);
  std::string out;
  EXPECT_NE(run("preprocess --image " + img + " --dump " + img, &out), 0);
  EXPECT_NE(out.find("--dump"), std::string::npos) << out;
  EXPECT_EQ(sha256_file(img), before);
  // Through a symlink too.
  std::filesystem::create_symlink(img, d.file("link.safetensors"));
  EXPECT_NE(run("preprocess --image " + img + " --dump " + d.file("link.safetensors"), &out), 0);
  EXPECT_EQ(sha256_file(img), before);
}

}  // namespace
}  // namespace mm
