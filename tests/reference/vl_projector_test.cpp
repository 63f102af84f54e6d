// The projector, the packing of an image's crops and the splicing into the token embeddings
// (docs/semantics/vl-01-vision.md#projector, #packing, #splicing):
//   - project against an fp64 loop, F32 / BF16 against F64, the BF16 rounding points bit for bit;
//   - packing against a brute-force construction from the definition, with features that encode
//     (crop, token), on plans from mm::vl::plan_anyres (zero kept rows and zero kept columns included);
//   - splicing order with two images, and mismatched counts refused.
#include "ref_test_util.h"
#include "reference/vl_preprocess.h"
#include "reference/vl_projector.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

// ---- projector -----------------------------------------------------------------------------------------------

Mat<double> project_f64(const Mat<double>& f, const ref::ProjectorWeights<double>& w) {
  auto affine = [](const Mat<double>& x, const ref::BiasedLinear<double>& l) {
    Mat<double> y(x.rows(), l.w.rows());
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      for (Eigen::Index o = 0; o < l.w.rows(); ++o) {
        double acc = l.b(o);
        for (Eigen::Index k = 0; k < x.cols(); ++k) acc += x(i, k) * l.w(o, k);
        y(i, o) = acc;
      }
    return y;
  };
  const Mat<double> h = affine(f, w.linear_1).unaryExpr([](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); });
  return affine(h, w.linear_2);
}

TEST(VlProjector, ProjectAgainstFp64Loop) {
  Rng rng(801);
  const auto w = ref::random_projector_weights(32, 48, rng);
  const Mat<double> f = randn(576, 32, rng, 2.0);
  const Mat<double> y = ref::project<F64>(f, w);
  ASSERT_EQ(y.rows(), 576);
  ASSERT_EQ(y.cols(), 48);
  EXPECT_REL_LE("projector f64: vs loop", rel_err(y, project_f64(f, w)), 1e-13);
  const Mat<double> y32 = ref::project<F32>(f.cast<float>(), ref::convert_weights<F32>(w)).cast<double>();
  const Mat<float> fb = f.cast<float>().unaryExpr([](float v) { return round_bf16(v); });
  const Mat<double> yb = ref::project<BF16>(fb, ref::convert_weights<BF16>(w)).cast<double>();
  EXPECT_REL_LE("projector f32 vs f64", rel_err(y32, y), 1e-5);
  EXPECT_REL_LE("projector bf16 vs f64", rel_err(yb, y), 3e-2);
  EXPECT_GT(rel_err(yb, y), 1e-4);
}

TEST(VlProjector, RefusesMismatchedWidth) {
  Rng rng(802);
  const auto w = ref::random_projector_weights(32, 48, rng);
  EXPECT_MM_ERROR(ref::project<F64>(randn(4, 31, rng), w), "projector", "[4, 31]", "[48, 32]");
}

// D = 2, Ht = 2: two-term dot products of exact bf16 x bf16 products, so the emulation is order-free:
//   y = bf16(bf16(gelu(bf16(f W1^T + b1))) W2^T + b2)
TEST(VlProjectorBf16, RoundingPoints) {
  for (uint64_t seed = 803; seed < 808; ++seed) {
    Rng rng(seed);
    const auto w = ref::convert_weights<BF16>(ref::random_projector_weights(2, 2, rng));
    Mat<float> f(3, 2);
    for (Eigen::Index i = 0; i < f.size(); ++i) f.data()[i] = round_bf16(float(2 * rng.normal()));
    auto lin = [](const Mat<float>& v, const ref::BiasedLinear<float>& l) {
      Mat<float> o(v.rows(), 2);
      for (int i = 0; i < v.rows(); ++i)
        for (int j = 0; j < 2; ++j) o(i, j) = round_bf16((v(i, 0) * l.w(j, 0) + v(i, 1) * l.w(j, 1)) + l.b(j));
      return o;
    };
    Mat<float> g = lin(f, w.linear_1);
    for (Eigen::Index i = 0; i < g.size(); ++i) {
      const float t = g.data()[i];
      g.data()[i] = round_bf16((t * 0.5f) * (1.0f + std::erf(t * 0.70710678f)));
    }
    EXPECT_EQ(rel_err(ref::project<BF16>(f, w), lin(g, w.linear_2)), 0.0) << seed;
    // and the F32 mode does not round
    EXPECT_NE(rel_err(ref::project<F32>(f, w), lin(g, w.linear_2)), 0.0) << seed;
  }
}

// ---- packing -------------------------------------------------------------------------------------------------

constexpr int kSide = 24;

// Crop k's token t carries (k, t, 1); image_newline is (-1, -1, -1).
std::vector<Mat<double>> encoded_crops(int n) {
  std::vector<Mat<double>> crops;
  for (int k = 0; k < n; ++k) {
    Mat<double> m(kSide * kSide, 3);
    for (int t = 0; t < kSide * kSide; ++t) m.row(t) << k, t, 1;
    crops.push_back(m);
  }
  return crops;
}
Vec<double> newline() { return Vec<double>::Constant(3, -1.0); }

// The definition, built independently: the whole (rows*24) x (cols*24) map of (crop, token) pairs, the unpad
// rule with an exact integer aspect comparison, then base + (kept row, newline)*.
Mat<double> brute_force_pack(const vl::AnyresPlan& p) {
  const int64_t H = p.height, W = p.width, ch = int64_t(p.grid_rows) * kSide, cw = int64_t(p.grid_cols) * kSide;
  std::vector<std::vector<std::pair<int, int>>> map(static_cast<std::size_t>(ch));
  for (int64_t r = 0; r < ch; ++r)
    for (int64_t c = 0; c < cw; ++c) {
      const int tile = 1 + int(r / kSide) * p.grid_cols + int(c / kSide);
      map[static_cast<std::size_t>(r)].push_back({tile, int((r % kSide) * kSide + c % kSide)});
    }
  int64_t r0 = 0, r1 = ch, c0 = 0, c1 = cw;
  if (W * ch > cw * H) {  // W/H > cw/ch
    const int64_t new_h = H * cw / W, pad = (ch - new_h) / 2;
    r0 = pad;
    r1 = ch - pad;
  } else {
    const int64_t new_w = W * ch / H, pad = (cw - new_w) / 2;
    c0 = pad;
    c1 = cw - pad;
  }
  std::vector<std::array<double, 3>> rows;
  for (int t = 0; t < kSide * kSide; ++t) rows.push_back({0.0, double(t), 1.0});
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t c = c0; c < c1; ++c) {
      const auto [k, t] = map[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
      rows.push_back({double(k), double(t), 1.0});
    }
    rows.push_back({-1.0, -1.0, -1.0});
  }
  Mat<double> m(static_cast<Eigen::Index>(rows.size()), 3);
  for (std::size_t i = 0; i < rows.size(); ++i) m.row(static_cast<Eigen::Index>(i)) << rows[i][0], rows[i][1], rows[i][2];
  return m;
}

TEST(VlPacking, MatchesBruteForceOnManyPlans) {
  const vl::PreprocessConfig cfg = vl::released_preprocess_config();
  struct Size { int w, h; };
  for (const Size s : {Size{640, 480}, Size{1000, 600}, Size{600, 1000}, Size{3000, 10}, Size{5, 2000}, Size{336, 336},
                       Size{200, 100}, Size{1920, 1080}, Size{1080, 1920}, Size{2560, 1669}, Size{1008, 2016},
                       Size{3000, 300}, Size{337, 1}, Size{1, 337}}) {
    const vl::AnyresPlan p = vl::plan_anyres(s.w, s.h, cfg);
    const Mat<double> got = ref::pack_image_features<F64>(encoded_crops(p.num_crops), p, newline());
    const std::string what = std::to_string(s.w) + "x" + std::to_string(s.h);
    ASSERT_EQ(got.rows(), p.num_image_tokens) << what;
    EXPECT_EQ(got.rows(), vl::image_token_count(s.w, s.h, cfg)) << what;
    EXPECT_EQ(got.rows(), 576 + int64_t(p.kept_rows) * (p.kept_cols + 1)) << what;
    const Mat<double> want = brute_force_pack(p);
    ASSERT_EQ(want.rows(), got.rows()) << what;
    EXPECT_EQ(rel_err(got, want), 0.0) << what;
    // the newline rows sit exactly after each kept row, and nowhere else
    for (Eigen::Index i = 0; i < got.rows(); ++i) {
      const bool is_newline = i >= 576 && (i - 576) % (p.kept_cols + 1) == p.kept_cols;
      EXPECT_EQ(got(i, 2) == -1.0, is_newline) << what << " row " << i;
    }
  }
}

TEST(VlPacking, EdgeCasesAndTheTileIndexMapping) {
  const vl::PreprocessConfig cfg = vl::released_preprocess_config();
  {  // a panorama keeps no tile rows: the thumbnail only
    const vl::AnyresPlan p = vl::plan_anyres(3000, 10, cfg);
    EXPECT_EQ(p.kept_rows, 0);
    const Mat<double> m = ref::pack_image_features<F64>(encoded_crops(p.num_crops), p, newline());
    EXPECT_EQ(m.rows(), 576);
    EXPECT_EQ(rel_err(m, encoded_crops(1)[0]), 0.0);
  }
  {  // a needle keeps no tile columns: every kept row is just its newline
    const vl::AnyresPlan p = vl::plan_anyres(5, 2000, cfg);
    EXPECT_EQ(p.kept_cols, 0);
    const Mat<double> m = ref::pack_image_features<F64>(encoded_crops(p.num_crops), p, newline());
    EXPECT_EQ(m.rows(), 720);
    EXPECT_TRUE((m.bottomRows(144).array() == -1.0).all());
  }
  {  // 640x480 -> 2x2 tiles, rows [6, 42) of 48 kept, all 48 columns
    const vl::AnyresPlan p = vl::plan_anyres(640, 480, cfg);
    ASSERT_EQ(p.grid_rows, 2);
    ASSERT_EQ(p.grid_cols, 2);
    ASSERT_EQ(p.kept_rows, 36);
    const Mat<double> m = ref::pack_image_features<F64>(encoded_crops(p.num_crops), p, newline());
    // first packed grid row is global row 6: tile (0, 0) token 6*24 + 0 ... tile (0, 1) token 6*24 + 23
    EXPECT_EQ(m(576, 0), 1.0);
    EXPECT_EQ(m(576, 1), 6.0 * 24);
    EXPECT_EQ(m(576 + 24, 0), 2.0);
    EXPECT_EQ(m(576 + 24, 1), 6.0 * 24);
    EXPECT_EQ(m(576 + 47, 1), 6.0 * 24 + 23);
    EXPECT_EQ(m(576 + 48, 0), -1.0);
    // global row 24 (the 19th kept row) comes from the second tile row: tiles 3 and 4, token row 0
    const Eigen::Index r24 = 576 + 18 * 49;
    EXPECT_EQ(m(r24, 0), 3.0);
    EXPECT_EQ(m(r24, 1), 0.0);
    EXPECT_EQ(m(r24 + 47, 0), 4.0);
    EXPECT_EQ(m(r24 + 47, 1), 23.0);
  }
  {  // 600x1000 -> 3x2 tiles, columns cropped: kept columns [2, 46) of 48
    const vl::AnyresPlan p = vl::plan_anyres(600, 1000, cfg);
    ASSERT_EQ(p.grid_rows, 3);
    ASSERT_EQ(p.grid_cols, 2);
    ASSERT_EQ(p.kept_cols, 44);
    const ref::UnpadWindow u = ref::unpad_window(600, 1000, 72, 48);
    EXPECT_EQ(u.row0, 0);
    EXPECT_EQ(u.rows, 72);
    EXPECT_EQ(u.col0, 2);
    EXPECT_EQ(u.cols, 44);
    const Mat<double> m = ref::pack_image_features<F64>(encoded_crops(p.num_crops), p, newline());
    EXPECT_EQ(m(576, 0), 1.0);
    EXPECT_EQ(m(576, 1), 2.0);
    EXPECT_EQ(m(576 + 43, 0), 2.0);
    EXPECT_EQ(m(576 + 43, 1), 21.0);
  }
}

TEST(VlPacking, RefusesWhatDoesNotFitThePlan) {
  const vl::PreprocessConfig cfg = vl::released_preprocess_config();
  const vl::AnyresPlan p = vl::plan_anyres(640, 480, cfg);
  EXPECT_MM_ERROR(ref::pack_image_features<F64>(encoded_crops(4), p, newline()), "4 crops", "plan of 5");
  auto crops = encoded_crops(5);
  crops[3] = Mat<double>::Zero(575, 3);
  EXPECT_MM_ERROR(ref::pack_image_features<F64>(crops, p, newline()), "crop 3", "[575, 3]");
  EXPECT_MM_ERROR(ref::pack_image_features<F64>(encoded_crops(5), p, Vec<double>::Zero(4)), "image_newline");
  vl::AnyresPlan bad = p;
  bad.num_image_tokens += 1;
  EXPECT_MM_ERROR(ref::pack_image_features<F64>(encoded_crops(5), bad, newline()), "2340 tokens", "2341 tokens");
}

TEST(VlPacking, SamePackingInEveryPrecision) {
  const vl::AnyresPlan p = vl::plan_anyres(1000, 600, vl::released_preprocess_config());
  const auto c64 = encoded_crops(p.num_crops);
  std::vector<Mat<float>> c32;
  for (const auto& c : c64) c32.push_back(c.cast<float>());
  const Mat<double> want = ref::pack_image_features<F64>(c64, p, newline());
  EXPECT_EQ(rel_err(ref::pack_image_features<F32>(c32, p, newline().cast<float>()), want), 0.0);
  EXPECT_EQ(rel_err(ref::pack_image_features<BF16>(c32, p, newline().cast<float>()), want), 0.0);
}

// ---- splicing ------------------------------------------------------------------------------------------------

TEST(VlSplice, TwoImagesInOrder) {
  constexpr int64_t kImg = 200025;
  // text, 3 tokens of image A, text, 2 tokens of image B, text
  const std::vector<int64_t> ids = {5, kImg, kImg, kImg, 7, 8, kImg, kImg, 9};
  Rng rng(811);
  const Mat<double> emb = randn(9, 4, rng);
  Mat<double> a(3, 4), b(2, 4);
  for (int i = 0; i < 3; ++i) a.row(i) << 100 + i, 0, 0, 0;
  for (int i = 0; i < 2; ++i) b.row(i) << 200 + i, 0, 0, 0;
  Mat<double> feats(5, 4);
  feats << a, b;
  const Mat<double> out = ref::splice_image_features<F64>(emb, ids, kImg, feats);
  const std::vector<double> first = {emb(0, 0), 100, 101, 102, emb(4, 0), emb(5, 0), 200, 201, emb(8, 0)};
  for (int s = 0; s < 9; ++s) EXPECT_EQ(out(s, 0), first[static_cast<std::size_t>(s)]) << s;
  for (int s : {0, 4, 5, 8}) EXPECT_EQ(rel_err(out.row(s), emb.row(s)), 0.0) << s;
  // no image tokens, no features: unchanged
  EXPECT_EQ(rel_err(ref::splice_image_features<F64>(emb, std::vector<int64_t>(9, 3), kImg, Mat<double>(0, 4)), emb), 0.0);
}

TEST(VlSplice, RefusesMismatchedCounts) {
  constexpr int64_t kImg = 200025;
  Rng rng(812);
  const Mat<double> emb = randn(4, 4, rng);
  const std::vector<int64_t> ids = {1, kImg, kImg, 2};
  EXPECT_MM_ERROR(ref::splice_image_features<F64>(emb, ids, kImg, randn(3, 4, rng)), "2 image tokens", "200025",
                  "3 feature rows");
  EXPECT_MM_ERROR(ref::splice_image_features<F64>(emb, ids, kImg, randn(1, 4, rng)), "2 image tokens", "1 feature rows");
  EXPECT_MM_ERROR(ref::splice_image_features<F64>(emb, ids, kImg, randn(2, 5, rng)), "5 wide");
  EXPECT_MM_ERROR(ref::splice_image_features<F64>(emb, {1, 2}, kImg, randn(0, 4, rng)), "2 token ids", "4 embedding rows");
}

}  // namespace
}  // namespace mm::reftest
