// MiniMax-VL-01 any-res preprocessing (reference/vl_preprocess.h): the resolution choice and token
// count against the official formula, the plan's geometry, the degenerate aspect ratios, the crops'
// layout, and the preprocessor_config.json loader. The pixel-exact comparison with the official
// processor is tests/golden/vl_preprocess_golden_test.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/image_synthetic.h"
#include "reference/vl_preprocess.h"
#include "tests/core/test_util.h"

namespace mm::vl {
namespace {

using image::Mode;

std::string golden(const std::string& name) { return std::string(MM_VL_GOLDEN_DIR) + "/" + name; }

// The official processor's numbers for the sizes of the MiniMax-VL-01 notes' table:
// W, H, Wb, Hb, resized w, h, pad left, top, kept rows, cols, tokens.
struct Row {
  int w, h, bw, bh, rw, rh, pl, pt, kr, kc;
  int64_t tokens;
};
constexpr Row kTable[] = {
    {336, 336, 336, 336, 336, 336, 0, 0, 24, 24, 1176},
    {200, 100, 336, 336, 336, 168, 0, 84, 12, 24, 876},
    {640, 480, 672, 672, 672, 504, 0, 84, 36, 48, 2340},
    {1000, 600, 1008, 672, 1008, 604, 0, 34, 44, 72, 3788},
    {600, 1000, 672, 1008, 604, 1008, 34, 0, 72, 44, 3816},
    {800, 800, 1008, 1008, 1008, 1008, 0, 0, 72, 72, 5832},
    {1920, 1080, 2016, 1008, 1792, 1008, 112, 0, 72, 128, 9864},
    {1080, 1920, 1008, 2016, 1008, 1792, 0, 112, 128, 72, 9920},
    {4000, 3000, 1344, 1008, 1344, 1008, 0, 0, 72, 96, 7560},
    {2560, 1669, 1680, 1008, 1546, 1008, 67, 0, 72, 110, 8568},
    {3000, 300, 2016, 336, 2016, 201, 0, 67, 14, 144, 2606},
    {1008, 2016, 1008, 2016, 1008, 2016, 0, 0, 144, 72, 11088},
};

TEST(VlPreprocess, PlanMatchesTheOfficialNumbers) {
  const PreprocessConfig cfg = released_preprocess_config();
  for (const Row& r : kTable) {
    SCOPED_TRACE(std::to_string(r.w) + "x" + std::to_string(r.h));
    const AnyresPlan p = plan_anyres(r.w, r.h, cfg);
    EXPECT_EQ(p.best_width, r.bw);
    EXPECT_EQ(p.best_height, r.bh);
    EXPECT_EQ(p.grid_rows, r.bh / 336);
    EXPECT_EQ(p.grid_cols, r.bw / 336);
    EXPECT_EQ(p.num_crops, 1 + (r.bh / 336) * (r.bw / 336));
    EXPECT_EQ(p.resized_width, r.rw);
    EXPECT_EQ(p.resized_height, r.rh);
    EXPECT_EQ(p.pad_left, r.pl);
    EXPECT_EQ(p.pad_top, r.pt);
    EXPECT_EQ(p.kept_rows, r.kr);
    EXPECT_EQ(p.kept_cols, r.kc);
    EXPECT_EQ(p.num_image_tokens, r.tokens);
    EXPECT_EQ(image_token_count(r.w, r.h, cfg), r.tokens);
    EXPECT_EQ(p.num_image_tokens, 576 + int64_t{p.kept_rows} * (p.kept_cols + 1));
  }
}

// The official get_num_token on a grid of sizes, computed by the golden generator in Python.
TEST(VlPreprocess, TokenCountEqualsTheOfficialFormulaOnAGrid) {
  const nlohmann::json g = read_json_file(golden("token_grid.json"), "token grid");
  const PreprocessConfig cfg = released_preprocess_config();
  const auto& w = g.at("w");
  const auto& h = g.at("h");
  const auto& tokens = g.at("tokens");
  std::size_t i = 0;
  int mismatches = 0;
  for (int W = w[0].get<int>(); W < w[1].get<int>(); W += w[2].get<int>())
    for (int H = h[0].get<int>(); H < h[1].get<int>(); H += h[2].get<int>(), ++i) {
      ASSERT_LT(i, tokens.size());
      const int64_t ours = image_token_count(W, H, cfg);
      if (ours != tokens[i].get<int64_t>() && ++mismatches <= 10)
        ADD_FAILURE() << W << "x" << H << ": " << ours << " tokens, official " << tokens[i].get<int64_t>();
    }
  EXPECT_EQ(i, tokens.size());
  EXPECT_EQ(mismatches, 0);
  EXPECT_GE(i, 10000u);
}

// Over every size up to 3000 x 3000 the count peaks at the 1:2 portrait filling 1008 x 2016.
TEST(VlPreprocess, MaximumTokenCountOverAllSizes) {
  const nlohmann::json g = read_json_file(golden("token_grid.json"), "token grid");
  const PreprocessConfig cfg = released_preprocess_config();
  int64_t best = 0;
  int bw = 0, bh = 0;
  for (int W = 1; W <= 3000; ++W)
    for (int H = 1; H <= 3000; ++H) {
      const int64_t t = image_token_count(W, H, cfg);
      if (t > best) best = t, bw = W, bh = H;
    }
  EXPECT_EQ(best, 11088);
  EXPECT_EQ(best, g.at("max_tokens_all_sizes").get<int64_t>());
  EXPECT_EQ(bw, g.at("argmax")[0].get<int>());
  EXPECT_EQ(bh, g.at("argmax")[1].get<int>());
}

TEST(VlPreprocess, ExtremeAspectRatios) {
  const PreprocessConfig cfg = released_preprocess_config();
  // A panorama keeps no tile row: only the thumbnail's 576 tokens remain.
  const AnyresPlan pano = plan_anyres(3000, 10, cfg);
  EXPECT_EQ(pano.kept_rows, 0);
  EXPECT_EQ(pano.num_image_tokens, 576);
  EXPECT_EQ(pano.num_crops, 7);
  // A needle keeps no tile column, but every row keeps its image_newline: 144 + 576.
  const AnyresPlan needle = plan_anyres(5, 2000, cfg);
  EXPECT_EQ(needle.kept_cols, 0);
  EXPECT_EQ(needle.num_image_tokens, 720);
  // Beyond about 2016:1 the keep-ratio resize would be 0 pixels high: refused, naming the sizes.
  // (No pinpoint keeps a pixel of 5000x2 at all, so the first one, 336x336, wins with the least waste.)
  EXPECT_MM_ERROR(plan_anyres(5000, 2, cfg), "5000x2", "aspect ratio", "336x0");
  EXPECT_MM_ERROR(plan_anyres(2, 5000, cfg), "2x5000", "aspect ratio", "0x336");
  // The count itself is still defined there (the official formula does not resize).
  EXPECT_EQ(image_token_count(5000, 2, cfg), 576);
  // 1-pixel images are upscaled like any small image.
  EXPECT_EQ(plan_anyres(1, 1, cfg).num_image_tokens, 1176);
}

TEST(VlPreprocess, CropsAreThumbnailThenTilesRowMajorOnABlackCanvas) {
  const PreprocessConfig cfg = released_preprocess_config();
  // 200x100 -> one 336x336 tile holding a 336x168 resize 84 rows down: rows 0..83 and 252..335 black.
  const image::Image im = image::synthetic_image(200, 100, Mode::RGB, 5, image::SyntheticContent::Noise);
  const PreprocessedImage out = preprocess_image(im, cfg);
  ASSERT_EQ(out.plan.num_crops, 2);
  ASSERT_EQ(out.crops_rgb.size(), 2u * 336 * 336 * 3);
  ASSERT_EQ(out.pixel_values.size(), 2u * 3 * 336 * 336);
  const uint8_t* tile = out.crops_rgb.data() + 336 * 336 * 3;
  auto row_is_black = [&](int y) {
    for (int i = 0; i < 336 * 3; ++i)
      if (tile[y * 336 * 3 + i] != 0) return false;
    return true;
  };
  EXPECT_TRUE(row_is_black(0));
  EXPECT_TRUE(row_is_black(83));
  EXPECT_FALSE(row_is_black(84));
  EXPECT_FALSE(row_is_black(251));
  EXPECT_TRUE(row_is_black(252));
  EXPECT_TRUE(row_is_black(335));
  // The thumbnail is the plain 336x336 resize, first.
  const image::Image thumb = image::resize_bicubic(im, 336, 336);
  EXPECT_EQ(std::memcmp(out.crops_rgb.data(), thumb.pixels.data(), thumb.pixels.size()), 0);
  // pixel_values is channels-first and normalised from those bytes; black becomes -mean / std.
  for (int c = 0; c < 3; ++c) {
    const float black = out.pixel_values[(3 + c) * 336 * 336];  // crop 1, channel c, pixel (0, 0)
    EXPECT_EQ(black, normalize_value(cfg, c, 0));
    EXPECT_NEAR(black, -cfg.image_mean[c] / cfg.image_std[c], 1e-6);
    EXPECT_EQ(out.pixel_values[c * 336 * 336 + 5], normalize_value(cfg, c, out.crops_rgb[5 * 3 + c]));
  }
}

TEST(VlPreprocess, OddPaddingGoesBottomRight) {
  // 1000x600 -> 1008x604 on 1008x672: 68 rows of padding, 34 on top and 34 below; 999x600 -> 1008x605:
  // 67 rows, 33 on top, 34 below.
  const PreprocessConfig cfg = released_preprocess_config();
  const AnyresPlan p = plan_anyres(999, 600, cfg);
  EXPECT_EQ(p.resized_height, 605);
  EXPECT_EQ(p.pad_top, 33);
  EXPECT_EQ(672 - p.resized_height - p.pad_top, 34);
}

// --- preprocessor_config.json ----------------------------------------------------------------------

TEST(VlPreprocessConfig, ReleasedDefaults) {
  const PreprocessConfig c = released_preprocess_config();
  ASSERT_EQ(c.pinpoints.size(), 28u);
  EXPECT_EQ(c.pinpoints.front(), (std::array<int, 2>{336, 336}));
  EXPECT_EQ(c.pinpoints.back(), (std::array<int, 2>{2016, 1008}));
  for (const auto& p : c.pinpoints) EXPECT_LE((p[0] / 336) * (p[1] / 336), 18);
}

TEST(VlPreprocessConfig, BothSizeSpellingsAndTheirChecks) {
  auto parse = [](const std::string& text) { return parse_preprocess_config(nlohmann::json::parse(text), "pp.json"); };
  EXPECT_EQ(parse(R"({"size": [336, 336], "process_image_mode": "anyres"})").crop_size, 336);
  EXPECT_EQ(parse(R"({"size": {"height": 336, "width": 336}})").crop_size, 336);
  EXPECT_MM_ERROR(parse(R"({"size": [224, 224]})"), "pp.json", "\"size\"", "336");
  EXPECT_MM_ERROR(parse(R"({"size": {"height": 336}})"), "pp.json", "\"size\"");
  EXPECT_MM_ERROR(parse(R"({"process_image_mode": "resize"})"), "process_image_mode", "anyres");
  EXPECT_MM_ERROR(parse(R"({"patch_size": 16})"), "patch_size", "14");
  EXPECT_MM_ERROR(parse(R"({"image_std": [0.2, 0, 0.3]})"), "\"image_std\"[1]", "positive");
  EXPECT_MM_ERROR(parse(R"({"image_mean": [0.2, 0.3]})"), "image_mean", "3 numbers");
  EXPECT_MM_ERROR(parse(R"({"image_grid_pinpoints": [[336, 300]]})"), "pp.json", "image_grid_pinpoints[0]", "multiples");
  EXPECT_MM_ERROR(parse(R"({"image_grid_pinpoints": []})"), "pp.json", "image_grid_pinpoints", "1 to 1024");
  // A hostile list cannot ask for a canvas of gigabytes.
  EXPECT_MM_ERROR(parse(R"({"image_grid_pinpoints": [[65520, 65520]]})"), "image_grid_pinpoints[0]", "sides in [1, 6048]");
  EXPECT_MM_ERROR(parse(R"({"image_grid_pinpoints": [[3360, 1344]]})"), "image_grid_pinpoints", "36 tiles");
  EXPECT_MM_ERROR(parse(R"([1, 2])"), "pp.json", "object");
  const PreprocessConfig c = parse(R"({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1],
                                       "image_grid_pinpoints": [[672, 336], [336, 672]]})");
  EXPECT_EQ(c.image_mean[0], 0.5f);
  EXPECT_EQ(c.image_std[2], 1.0f);
  ASSERT_EQ(c.pinpoints.size(), 2u);
  EXPECT_EQ(c.pinpoints[0], (std::array<int, 2>{672, 336}));
}

TEST(VlPreprocessConfig, LoadsFromACheckpointDirectoryAndChecksTheModelsPinpoints) {
  mm::test::TempDir dir;
  // No preprocessor_config.json: the released values, saying so.
  PreprocessConfig c = load_preprocess_config(dir.path.string());
  EXPECT_NE(c.source.find("released defaults"), std::string::npos);
  EXPECT_EQ(c.pinpoints.size(), 28u);
  mm::test::write_bytes(dir.file("preprocessor_config.json"),
                        R"({"size": [336, 336], "image_grid_pinpoints": [[336, 336], [672, 336]]})");
  mm::test::write_bytes(dir.file("config.json"),
                        R"({"model_type": "minimax_vl_01", "image_grid_pinpoints": [[336, 336], [672, 336]]})");
  c = load_preprocess_config(dir.path.string());
  EXPECT_EQ(c.pinpoints.size(), 2u);
  EXPECT_EQ(c.source, dir.file("preprocessor_config.json"));
  // The model unpacks with config.json's list: a different one is refused, naming both files.
  mm::test::write_bytes(dir.file("config.json"),
                        R"({"model_type": "minimax_vl_01", "image_grid_pinpoints": [[336, 336], [336, 672]]})");
  EXPECT_MM_ERROR(load_preprocess_config(dir.path.string()), "config.json", "image_grid_pinpoints",
                  "preprocessor_config.json");
  // A text-only checkpoint has no vision side; a VL config must name its pinpoints.
  mm::test::write_bytes(dir.file("config.json"), R"({"model_type": "minimax_text_01"})");
  EXPECT_MM_ERROR(load_preprocess_config(dir.path.string()), "config.json", "minimax_vl_01");
  mm::test::write_bytes(dir.file("config.json"), R"({"hidden_size": 8})");
  EXPECT_MM_ERROR(load_preprocess_config(dir.path.string()), "config.json", "model_type", "missing");
  mm::test::write_bytes(dir.file("config.json"), R"({"model_type": "minimax_vl_01"})");
  EXPECT_MM_ERROR(load_preprocess_config(dir.path.string()), "image_grid_pinpoints", "missing");
  // A corrupt preprocessor_config.json is named.
  mm::test::write_bytes(dir.file("preprocessor_config.json"), "{\"size\": [336,");
  EXPECT_MM_ERROR(load_preprocess_config(dir.path.string()), "preprocessor_config.json");
}

}  // namespace
}  // namespace mm::vl
