// MiniMax-VL-01 packing + splicing (optimized/vl_projector): the planner and every version under several
// emulator schedules, and on the GPU when present, against the reference's ref::pack_image_features and
// ref::splice_image_features (reference/vl_projector.cpp) in the bf16 policy. The op only moves bf16 rows,
// so every output element must carry the reference's bits; outputs are poisoned and must be fully
// written. The planner's unpad rule is held equal to ref::unpad_window over a sweep of sizes and grids,
// and its token counts to the anyres plan's (vl::plan_anyres).
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"

#include <climits>
#include <functional>
#include <string>

#include "core/error.h"
#include "reference/vl_preprocess.h"
#include "reference/vl_projector.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_VL_PROJECTOR_DECLARE_CUDA 1
#endif
#include "optimized/vl_projector/vl_projector_runner.cuh"

namespace {

namespace vp = mm::vl_projector;
namespace cpu = mm::vl_projector::backend_simt;
using mm::ref::Mat;
using Bits = std::vector<uint16_t>;

// A version's round trip: (version index, features, F, newline, table, vocab, Ht, row_map[, first_bad]).
struct Backend {
  const char* name;
  std::function<Bits(int, const Bits&, int, const Bits&, const Bits&, int, int, const std::vector<int>&)> run;
  std::function<Bits(int, const Bits&, int, const Bits&, const Bits&, int, int, const std::vector<int>&, int*)>
      unchecked;
  bool emulated;
};

Bits run_schedules(const Backend& be, const std::function<Bits()>& f) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(f);
  return f();
}

// One image of a case: its anyres plan (real sizes through vl::plan_anyres, or a hand-made plan with a
// smaller crop side) and the side of its crops.
struct Image {
  mm::vl::AnyresPlan plan;
  int side = 24;
};

Image real_image(int W, int H) {
  return {mm::vl::plan_anyres(W, H, mm::vl::released_preprocess_config()), 24};
}

// A plan for a grid of side x side crops, filled in with the reference's own unpad rule.
Image small_image(int W, int H, int grid_rows, int grid_cols, int side) {
  mm::vl::AnyresPlan p;
  p.width = W; p.height = H; p.grid_rows = grid_rows; p.grid_cols = grid_cols;
  p.num_crops = 1 + grid_rows * grid_cols;
  const mm::ref::UnpadWindow u = mm::ref::unpad_window(W, H, int64_t(grid_rows) * side, int64_t(grid_cols) * side);
  p.kept_rows = static_cast<int>(u.rows);
  p.kept_cols = static_cast<int>(u.cols);
  p.num_image_tokens = int64_t(side) * side + u.rows * (u.cols + 1);
  return {p, side};
}

vp::ImageGeometry geometry(const Image& im) {
  vp::ImageGeometry g;
  g.width = im.plan.width; g.height = im.plan.height;
  g.grid_rows = im.plan.grid_rows; g.grid_cols = im.plan.grid_cols;
  g.side = im.side;
  g.num_tokens = im.plan.num_image_tokens;
  return g;
}

// A prompt and its data: text ids around each image's run of image tokens, random bf16 features / newline
// / table.
struct Case {
  std::string name;
  std::vector<Image> images;
  int Ht = 0, vocab = 0, image_token_id = 0;
  std::vector<int> ids;
  Bits features, newline, table;
  int F = 0;  // feature rows of all images' crops
};

Case make_case(std::string name, std::vector<Image> images, int Ht, int vocab, uint64_t seed) {
  Case c;
  c.name = std::move(name);
  c.images = std::move(images);
  c.Ht = Ht; c.vocab = vocab; c.image_token_id = vocab - 1;  // as in the goldens: the last id
  mm::Rng r(seed);
  auto text = [&](int n) {
    for (int i = 0; i < n; ++i) c.ids.push_back(static_cast<int>(r.below(static_cast<uint64_t>(vocab - 1))));
  };
  text(3);
  for (const Image& im : c.images) {
    c.ids.insert(c.ids.end(), static_cast<size_t>(im.plan.num_image_tokens), c.image_token_id);
    c.F += im.plan.num_crops * im.side * im.side;
    text(2);
  }
  if (c.ids.size() > 4) { c.ids[0] = 0; c.ids[1] = vocab - 2; }  // both ends of the text ids
  c.features = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(c.F) * Ht, seed + 1));
  c.newline = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(Ht), seed + 2));
  c.table = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(vocab) * Ht, seed + 3));
  return c;
}

// The reference: every image's crops packed by ref::pack_image_features<BF16>, concatenated in order, then
// ref::splice_image_features<BF16> into the token embeddings (image positions embedded as id 0, then
// overwritten: docs/semantics/vl-01-vision.md#splicing). Values are bf16 throughout, so the bits are exact.
Bits reference(const Case& c) {
  const std::vector<float> feats = mm::kt::from_bf16_bits(c.features);
  const mm::ref::Vec<float> nl = mm::kt::to_vec<float>(mm::kt::from_bf16_bits(c.newline));
  std::vector<float> packed;  // [sum of num_image_tokens, Ht]
  size_t row = 0;
  for (const Image& im : c.images) {
    const int N = im.side * im.side;
    std::vector<Mat<float>> crops;
    for (int k = 0; k < im.plan.num_crops; ++k, row += static_cast<size_t>(N))
      crops.push_back(mm::kt::to_mat<float>(
          std::vector<float>(feats.begin() + static_cast<long>(row * c.Ht), feats.begin() + static_cast<long>((row + N) * c.Ht)),
          N, c.Ht));
    const std::vector<float> p = mm::kt::flat(Mat<float>(mm::ref::pack_image_features<mm::ref::BF16>(crops, im.plan, nl)));
    packed.insert(packed.end(), p.begin(), p.end());
  }
  const std::vector<float> table = mm::kt::from_bf16_bits(c.table);
  Mat<float> embeds(static_cast<long>(c.ids.size()), c.Ht);
  std::vector<int64_t> ids64;
  for (size_t t = 0; t < c.ids.size(); ++t) {
    const int id = c.ids[t] == c.image_token_id ? 0 : c.ids[t];
    for (int h = 0; h < c.Ht; ++h) embeds(static_cast<long>(t), h) = table[static_cast<size_t>(id) * c.Ht + h];
    ids64.push_back(c.ids[t]);
  }
  const int packed_rows = static_cast<int>(packed.size() / static_cast<size_t>(c.Ht));
  const Mat<float> out = mm::ref::splice_image_features<mm::ref::BF16>(
      embeds, ids64, c.image_token_id, mm::kt::to_mat<float>(packed, packed_rows, c.Ht));
  return mm::kt::to_bf16_bits(mm::kt::flat(out));
}

// Each crop's rows with a row in front (a stand-in for the tower's CLS row: NaN bits, so a packing that
// reads it shows): the features as the model hands them over with ImageGeometry::cls.
Bits with_cls_rows(const Case& c) {
  Bits out;
  size_t row = 0;
  for (const Image& im : c.images)
    for (int k = 0; k < im.plan.num_crops; ++k) {
      out.insert(out.end(), static_cast<size_t>(c.Ht), uint16_t{0x7FC1});
      const size_t n = static_cast<size_t>(im.side) * im.side * c.Ht;
      out.insert(out.end(), c.features.begin() + static_cast<long>(row), c.features.begin() + static_cast<long>(row + n));
      row += n;
    }
  return out;
}

// Both layouts of the features: the patch rows alone, and every crop led by its CLS row (cls: the row
// map skips it). Same output bits.
void check_case(const Backend& be, const Case& c) {
  const Bits want = reference(c);
  for (bool cls : {false, true}) {
    std::vector<vp::ImageGeometry> geo;
    int crops = 0;
    for (const Image& im : c.images) {
      geo.push_back(geometry(im));
      geo.back().cls = cls;
      crops += im.plan.num_crops;
    }
    int F = -1;
    const std::vector<int> map = vp::plan_rows(c.ids, c.image_token_id, geo, c.vocab, &F);
    ASSERT_EQ(F, c.F + (cls ? crops : 0)) << c.name;
    const Bits features = cls ? with_cls_rows(c) : c.features;
    ASSERT_EQ(features.size(), static_cast<size_t>(F) * c.Ht);
    for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
      const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " " +
                               c.name + (cls ? " (CLS rows skipped)" : "") + " Ht=" + std::to_string(c.Ht) +
                               " rows=" + std::to_string(c.ids.size());
      const Bits got = run_schedules(be, [&] { return be.run(v, features, F, c.newline, c.table, c.vocab, c.Ht, map); });
      ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
      EXPECT_TRUE(mm::kt::same_bits(what, want, got));
    }
  }
}

// ---- the cases -------------------------------------------------------------------------------------------

void run_suite(const Backend& be) {
  {  // one image, a 2 x 2 grid, rows unpadded (640 x 600: wider than the square grid)
    Image im = real_image(640, 600);
    ASSERT_EQ(im.plan.grid_rows, 2);
    ASSERT_EQ(im.plan.grid_cols, 2);
    ASSERT_LT(im.plan.kept_rows, 48);  // the window really crops
    check_case(be, make_case("one image 2x2", {im}, 16, 300, 11));
  }
  {  // two images with different grids in one prompt, odd Ht (v2's scalar path)
    Image a = real_image(640, 600), b = real_image(500, 1400);
    ASSERT_TRUE(a.plan.grid_rows != b.plan.grid_rows || a.plan.grid_cols != b.plan.grid_cols);
    ASSERT_LT(b.plan.kept_cols, b.plan.grid_cols * 24);  // columns cropped in the second
    check_case(be, make_case("two images", {a, b}, 20, 97, 21));
  }
  {  // extreme aspect ratios (golden/vl_cases/extreme_aspect): zero kept rows, then zero kept columns
    Image pano = real_image(200, 4), strip = real_image(4, 200);
    ASSERT_EQ(pano.plan.kept_rows, 0);
    ASSERT_EQ(pano.plan.num_image_tokens, 576);
    ASSERT_EQ(strip.plan.kept_cols, 0);
    ASSERT_EQ(strip.plan.num_image_tokens, 600);
    check_case(be, make_case("extreme aspect", {pano, strip}, 8, 64, 31));
    // the semantics page's needle (its keep-ratio resize would be 0 pixels wide, so the preprocessing
    // refuses it; the packing alone is defined): a 6 x 1 grid keeps all 144 rows and no column
    Image needle = small_image(5, 2000, 6, 1, 24);
    ASSERT_EQ(needle.plan.kept_cols, 0);
    ASSERT_EQ(needle.plan.num_image_tokens, 576 + 144);
    check_case(be, make_case("needle 5x2000", {needle}, 8, 64, 33));
  }
  {  // the largest plan: 1920 x 1080 is a 3 x 6 grid, 19 crops (10944 feature rows), columns unpadded
    Image hd = real_image(1920, 1080);
    ASSERT_EQ(hd.plan.num_crops, 19);
    ASSERT_LT(hd.plan.kept_cols, hd.plan.grid_cols * 24);
    check_case(be, make_case("19 crops 1920x1080", {hd}, 16, 300, 37));
  }
  // the text model's hidden size on a small geometry (crops of 4 x 4 features, a 1 x 2 grid, rows cropped)
  {
    Image im = small_image(13, 4, 1, 2, 4);
    ASSERT_EQ(im.plan.kept_rows, 2);
    check_case(be, make_case("Ht 6144", {im}, 6144, 5, 41));
  }
  // no image: a plain embedding gather; an odd width
  check_case(be, make_case("text only", {}, 7, 50, 51));
  // an odd width with an image (a 1 x 3 grid of 3 x 3 crops, columns cropped)
  check_case(be, make_case("odd Ht", {small_image(4, 5, 1, 3, 3)}, 7, 40, 53));
}

TEST(OptVlProjector, SimtAllVersions) {
  run_suite({"simt", [](int v, auto&&... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto&&... a) { return cpu::run_unchecked(cpu::versions()[static_cast<size_t>(v)], a...); },
             true});
}

// The planner's unpad rule is the reference's, and its packed counts are the anyres plan's.
TEST(OptVlProjector, PlannerMatchesReferenceUnpad) {
  const int sizes[] = {1, 2, 3, 4, 5, 7, 10, 13, 24, 48, 100, 199, 200, 333, 336, 337, 599, 600, 672, 1000, 1080,
                       1920, 2016, 3000, 4999};
  int checked = 0;
  for (int W : sizes)
    for (int H : sizes)
      for (int gr = 1; gr <= 6; ++gr)
        for (int gc = 1; gc <= 6; ++gc) {
          const mm::ref::UnpadWindow r = mm::ref::unpad_window(W, H, gr * 24, gc * 24);
          const vp::UnpadWindow k = vp::unpad_window(W, H, gr * 24, gc * 24);
          ASSERT_TRUE(r.row0 == k.row0 && r.rows == k.rows && r.col0 == k.col0 && r.cols == k.cols)
              << W << "x" << H << " grid " << gr << "x" << gc;
          ++checked;
        }
  EXPECT_EQ(checked, 25 * 25 * 36);
  for (int W : sizes)
    for (int H : sizes) {
      mm::vl::AnyresPlan plan;
      try {
        plan = mm::vl::plan_anyres(W, H, mm::vl::released_preprocess_config());
      } catch (const mm::Error&) {
        continue;  // beyond about 2016:1 the preprocessing refuses the image
      }
      vp::ImageGeometry g = geometry({plan, 24});
      EXPECT_EQ(static_cast<int64_t>(vp::pack_rows({g}).size()), plan.num_image_tokens) << W << "x" << H;
    }
  // the benchmark's image: 1920 x 1080 is a 3 x 6 grid, 19 crops
  const mm::vl::AnyresPlan hd = mm::vl::plan_anyres(1920, 1080, mm::vl::released_preprocess_config());
  EXPECT_EQ(hd.num_crops, 19);
  EXPECT_EQ(hd.grid_rows, 3);
  EXPECT_EQ(hd.grid_cols, 6);
}

template <class F> void expect_invalid(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no std::invalid_argument (expected one mentioning '" << parts[0] << "')";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(OptVlProjector, BadArgsRejected) {
  const Case c = make_case("bad", {small_image(5, 3, 1, 2, 2)}, 16, 10, 61);  // F = 12 feature rows
  std::vector<vp::ImageGeometry> geo = {geometry(c.images[0])};
  int F = 0;
  const std::vector<int> map = vp::plan_rows(c.ids, c.image_token_id, geo, c.vocab, &F);
  ASSERT_EQ(F, 12);
  const int n = F + 1 + c.vocab;  // the virtual source space [0, 23)

  // a row map out of range, on both sides, is refused before any launch, naming the row
  {
    const Backend be{"simt", [](int v, auto&&... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
                     [](int v, auto&&... a) { return cpu::run_unchecked(cpu::versions()[static_cast<size_t>(v)], a...); },
                     true};
    for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
      std::vector<int> bad = map;
      bad[3] = n;
      bad[5] = -1;
      expect_invalid([&] { be.run(v, c.features, F, c.newline, c.table, c.vocab, c.Ht, bad); },
                     {"row_map[3] = " + std::to_string(n), "outside [0, " + std::to_string(n) + ")", "12 feature rows"});
      // the kernel's own guard: zero rows where the source is bad, the first bad row reported
      int first_bad = -5;
      const Bits got = be.unchecked(v, c.features, F, c.newline, c.table, c.vocab, c.Ht, bad, &first_bad);
      EXPECT_EQ(first_bad, 3);
      const Bits good = be.run(v, c.features, F, c.newline, c.table, c.vocab, c.Ht, map);
      for (size_t t = 0; t < bad.size(); ++t)
        for (int h = 0; h < c.Ht; ++h) {
          const size_t i = t * static_cast<size_t>(c.Ht) + static_cast<size_t>(h);
          ASSERT_EQ(got[i], (t == 3 || t == 5) ? uint16_t{0} : good[i]) << "t=" << t << " h=" << h;
        }
      int none = -5;
      be.unchecked(v, c.features, F, c.newline, c.table, c.vocab, c.Ht, map, &none);
      EXPECT_EQ(none, INT_MAX);
      // buffers that do not fit the shape
      expect_invalid([&] { be.run(v, Bits(c.features.begin(), c.features.end() - 1), F, c.newline, c.table, c.vocab, c.Ht, map); },
                     {"features has 191 values", "needs 192"});
      expect_invalid([&] { be.run(v, c.features, F, Bits(15), c.table, c.vocab, c.Ht, map); }, {"image_newline has 15"});
      expect_invalid([&] { be.run(v, c.features, F, c.newline, c.table, c.vocab - 1, c.Ht, map); }, {"embedding table"});
    }
  }

  // a count mismatch between the prompt's image tokens and the packed rows, both ways
  const int64_t packed = c.images[0].plan.num_image_tokens;
  std::vector<int> fewer = c.ids;
  for (auto& id : fewer)
    if (id == c.image_token_id) { id = 1; break; }
  expect_invalid([&] { vp::plan_rows(fewer, c.image_token_id, geo, c.vocab); },
                 {"has " + std::to_string(packed - 1) + " image tokens (id 9)", "pack to " + std::to_string(packed) + " rows"});
  std::vector<int> more = c.ids;
  more.push_back(c.image_token_id);
  expect_invalid([&] { vp::plan_rows(more, c.image_token_id, geo, c.vocab); },
                 {"has " + std::to_string(packed + 1) + " image tokens", "pack to " + std::to_string(packed) + " rows"});
  std::vector<vp::ImageGeometry> two = {geo[0], geo[0]};
  expect_invalid([&] { vp::plan_rows(c.ids, c.image_token_id, two, c.vocab); },
                 {"2 image(s) pack to " + std::to_string(2 * packed) + " rows"});
  // a text id outside the vocabulary
  std::vector<int> oov = c.ids;
  oov[1] = 10;
  oov[2] = -3;
  expect_invalid([&] { vp::plan_rows(oov, c.image_token_id, geo, c.vocab); }, {"token id 10 at position 1"});
  // a plan whose token count disagrees with the packing, and a geometry that cannot be packed
  std::vector<vp::ImageGeometry> wrong = geo;
  wrong[0].num_tokens += 1;
  expect_invalid([&] { vp::plan_rows(c.ids, c.image_token_id, wrong, c.vocab); },
                 {"image 1 of 1", "packs to " + std::to_string(packed) + " rows", "plan says " + std::to_string(packed + 1)});
  std::vector<vp::ImageGeometry> nogrid = geo;
  nogrid[0].grid_cols = 0;
  expect_invalid([&] { vp::plan_rows(c.ids, c.image_token_id, nogrid, c.vocab); }, {"not a packable geometry"});
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(), "v9_unknown", "vl_projector"), std::invalid_argument);
}

TEST(OptVlProjector, EmptyPrompt) {
  for (const auto& v : cpu::versions()) EXPECT_TRUE(cpu::run(v, {}, 0, Bits(8), Bits(16), 2, 8, {}).empty());
}

#if MM_CUDA
namespace gpu = mm::vl_projector::backend_cuda;
TEST(OptVlProjector, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto&&... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto&&... a) { return gpu::run_unchecked(gpu::versions()[static_cast<size_t>(v)], a...); },
             false});
}
#endif

}  // namespace
