// Pillow-exact BICUBIC resize (reference/pillow_resize.h) against Pillow itself: every seeded pair of
// golden/vl_preprocess/cases/resize_pairs.json (Pillow 12.0.0, the default order) and
// resize_pairs_pillow13.json (Pillow 13.0.0, ResizeOrder::Pillow13) must give the same bytes, whose
// SHA-256 the generator recorded. The sources are regenerated here from their seeds
// (core/image_synthetic.h), so the goldens stay a few hundred kilobytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/file_io.h"
#include "core/image_synthetic.h"
#include "core/sha256.h"
#include "reference/pillow_resize.h"

namespace mm::image {
namespace {

std::string golden(const std::string& name) { return std::string(MM_VL_GOLDEN_DIR) + "/" + name; }

std::string pixels_sha(const Image& im) {
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(im.pixels.data()), im.pixels.size()));
}

// Runs every pair of one golden file; returns how many were compared.
int check_pairs(const std::string& file, ResizeOrder order, ResizeKernel kernel) {
  const nlohmann::json doc = read_json_file(golden(file), "resize golden");
  int n = 0, mismatches = 0;
  for (const auto& p : doc.at("pairs")) {
    const Mode mode = parse_mode_name(p.at("mode").get<std::string>());
    const Image src = synthetic_image(p.at("src")[0].get<int>(), p.at("src")[1].get<int>(), mode,
                                      p.at("seed").get<uint64_t>(),
                                      parse_synthetic_content(p.at("content").get<std::string>()));
    const int dw = p.at("dst")[0].get<int>(), dh = p.at("dst")[1].get<int>();
    const Image out = resize_bicubic(src, dw, dh, order, kernel);
    EXPECT_TRUE(out.width == dw && out.height == dh && out.mode == mode);
    const bool same = pixels_sha(out) == p.at("sha256").get<std::string>();
    if (!same && ++mismatches <= 10)
      ADD_FAILURE() << file << ": " << p.at("mode").get<std::string>() << " " << p.at("content").get<std::string>()
                    << " " << src.width << "x" << src.height << " -> " << dw << "x" << dh << " (seed "
                    << p.at("seed").get<uint64_t>() << ", " << p.value("what", "") << ") differs from Pillow";
    ++n;
  }
  EXPECT_EQ(mismatches, 0) << file << ": " << mismatches << " of " << n << " pairs differ from Pillow";
  return n;
}

// Every implementation of the passes (v1 direct, v2 blocked) against every golden file.
class PillowPairs : public ::testing::TestWithParam<ResizeKernel> {};

TEST_P(PillowPairs, MatchPillow12OnEverySeededPair) {
  const int n = check_pairs("resize_pairs.json", ResizeOrder::Pillow12, GetParam());
  EXPECT_GE(n, 200);  // at least 200 seeded pairs, both directions
}

TEST_P(PillowPairs, MatchPillow13WithItsPassOrder) {
  const int n = check_pairs("resize_pairs_pillow13.json", ResizeOrder::Pillow13, GetParam());
  EXPECT_GE(n, 200);
}

INSTANTIATE_TEST_SUITE_P(Kernels, PillowPairs, ::testing::Values(ResizeKernel::V1Direct, ResizeKernel::V2Blocked),
                         [](const ::testing::TestParamInfo<ResizeKernel>& i) {
                           return std::string(i.param == ResizeKernel::V1Direct ? "v1_direct" : "v2_blocked");
                         });

// The two orders really differ somewhere (else the Pillow 13 test would prove nothing about the order).
TEST(PillowResize, PassOrdersDifferOnAShrinkingPortrait) {
  const Image src = synthetic_image(600, 1000, Mode::RGB, 7, SyntheticContent::Noise);
  EXPECT_NE(pixels_sha(resize_bicubic(src, 336, 336, ResizeOrder::Pillow12)),
            pixels_sha(resize_bicubic(src, 336, 336, ResizeOrder::Pillow13)));
  // Landscape shrink: both orders run the horizontal pass first.
  const Image wide = synthetic_image(1000, 600, Mode::RGB, 7, SyntheticContent::Noise);
  EXPECT_EQ(pixels_sha(resize_bicubic(wide, 336, 336, ResizeOrder::Pillow12)),
            pixels_sha(resize_bicubic(wide, 336, 336, ResizeOrder::Pillow13)));
}

TEST(PillowResize, SameSizeIsAnUntouchedCopy) {
  // Even for RGBA, where a real resize would premultiply and lose colour under low alpha.
  const Image src = synthetic_image(17, 9, Mode::RGBA, 3, SyntheticContent::Noise);
  const Image out = resize_bicubic(src, 17, 9);
  EXPECT_EQ(out.pixels, src.pixels);
}

TEST(PillowResize, PaletteImagesKeepIndicesAndPalette) {
  // NEAREST on indices: every output index occurs in the input, the palette travels along.
  const Image src = synthetic_image(31, 23, Mode::P, 11, SyntheticContent::Noise);
  const Image out = resize_bicubic(src, 64, 5);
  EXPECT_EQ(out.palette, src.palette);
  // Nearest source of output (x, y) is floor((x + 0.5) * in / out) for exactly representable steps.
  const Image half = resize_bicubic(synthetic_image(8, 8, Mode::P, 5, SyntheticContent::Noise), 4, 4);
  const Image full = synthetic_image(8, 8, Mode::P, 5, SyntheticContent::Noise);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_EQ(half.row(y)[x], full.row(2 * y + 1)[2 * x + 1]) << x << "," << y;
}

TEST(PillowResize, PremultipliedAlphaFollowsPillowsIntegerRules) {
  // A 2x1 RGBA image shrunk to 1x1 horizontally only: colours are premultiplied ((t + (t >> 8)) >> 8,
  // t = c a + 128), averaged with the cubic's weights, and divided back (255 c' / a, capped at 255).
  Image src = make_image(2, 1, Mode::RGBA);
  const uint8_t px[8] = {200, 100, 0, 255, 50, 250, 255, 0};  // opaque, then fully transparent
  std::copy(px, px + 8, src.pixels.begin());
  const Image out = resize_bicubic(src, 1, 1);
  // Premultiplied: (200, 100, 0, 255) and (0, 0, 0, 0). Two taps of weight 1/2 each (support 4 at
  // scale 2 covers both pixels symmetrically), so c' = round-ish(c / 2), a = 128 (rounded from 127.5).
  ASSERT_EQ(out.pixels.size(), 4u);
  EXPECT_EQ(out.pixels[3], 128);
  EXPECT_EQ(out.pixels[0], std::min(255, 255 * 100 / 128));
  EXPECT_EQ(out.pixels[1], 255 * 50 / 128);
  EXPECT_EQ(out.pixels[2], 0);
}

TEST(PillowResize, RefusesAnEmptyTargetOrSource) {
  const Image src = synthetic_image(4, 4, Mode::RGB, 1, SyntheticContent::Noise);
  EXPECT_THROW(resize_bicubic(src, 0, 4), Error);
  EXPECT_THROW(resize_bicubic(src, 4, -1), Error);
  Image broken = src;
  broken.pixels.pop_back();
  EXPECT_THROW(resize_bicubic(broken, 2, 2), Error);
  EXPECT_THROW(parse_resize_order("pillow-11", "--resize-order"), Error);
  EXPECT_EQ(parse_resize_order("pillow-13", "--resize-order"), ResizeOrder::Pillow13);
}

}  // namespace
}  // namespace mm::image
