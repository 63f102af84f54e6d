// bench on a MiniMax-VL-01 model (preset vl-tiny): every backend that takes images gets one image TTFT
// series per image size (text + one seeded synthetic image), with the vision tower's time per crop and
// the crop / placeholder counts of reference/vl_preprocess.h; the kernels' backends run the image series
// too (their vision part timed on the device timeline); a text model refuses
// --image-sizes; the report validates strictly and the HTML page shows the image series.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/bench.h"
#include "harness/html_report.h"
#include "harness/report.h"
#include "harness/report_schema.h"
#include "harness/vl_inputs.h"
#include "reference/vl_preprocess.h"

namespace mm::harness {
namespace {

using nlohmann::json;

const ModelSource& vl_tiny() {
  static const ModelSource s = resolve_model("", "vl-tiny", 0);
  return s;
}

bool finite_positive(const json& j) { return j.is_number() && std::isfinite(j.get<double>()) && j.get<double>() > 0; }

// One small run shared by the tests below, on ref-f32 (the kernels' backends get their own, smaller run:
// the emulated image request is slow).
struct VlRun {
  BenchOptions opt;
  BenchResult r;
};

bool kernels_built() {
  const BackendEntry* sim = registry().find("cuda-sim");
  return sim && sim->why_unavailable().empty();
}

const VlRun& vl_run() {
  static const VlRun run = [] {
    VlRun v;
    v.opt.backends = {"ref-f32"};
    v.opt.prompt_lens = {4};
    v.opt.context_lens = {4};
    v.opt.decode_steps = 1;
    v.opt.reps = 3;
    v.opt.warmup = 0;
    v.opt.image_sizes = std::vector<std::array<int, 2>>{{300, 200}, {120, 500}};
    v.r = run_bench(vl_tiny(), v.opt);
    return v;
  }();
  return run;
}

TEST(BenchVl, ImageSeriesWithVisionTimePerCrop) {
  const VlRun& v = vl_run();
  const vl::PreprocessConfig pc = vl::load_preprocess_config(vl_tiny().model.dir);
  ASSERT_TRUE(v.r.image_series.is_array());
  ASSERT_EQ(v.r.image_series.size(), 2u) << summary(v.r);
  for (std::size_t k = 0; k < 2; ++k) {
    const json& s = v.r.image_series[k];
    const int w = (*v.opt.image_sizes)[k][0], h = (*v.opt.image_sizes)[k][1];
    EXPECT_EQ(s["backend"], "ref-f32");
    EXPECT_EQ(s["phase"], "image_ttft");
    EXPECT_EQ(s["width"].get<int>(), w);
    EXPECT_EQ(s["height"].get<int>(), h);
    const vl::AnyresPlan plan = vl::plan_anyres(w, h, pc);
    EXPECT_EQ(s["crops"].get<int64_t>(), plan.num_crops);
    EXPECT_EQ(s["image_tokens"].get<int64_t>(), vl::image_token_count(w, h, pc));
    EXPECT_EQ(s["text_tokens"].get<int64_t>(), v.opt.image_text_tokens);
    EXPECT_EQ(s["length"].get<int64_t>(), v.opt.image_text_tokens + vl::image_token_count(w, h, pc));
    ASSERT_EQ(s["samples"].size(), 3u);
    for (const auto& x : s["samples"]) EXPECT_TRUE(finite_positive(x));
    for (const char* q : {"p50", "p90", "p99", "tokens_per_s", "flops", "gflops"}) EXPECT_TRUE(finite_positive(s[q])) << q;
    const json& vis = s["vision"];
    ASSERT_TRUE(vis.is_object()) << "ref-f32 times its vision part";
    EXPECT_EQ(vis["count"].get<int64_t>(), plan.num_crops);
    ASSERT_EQ(vis["samples"].size(), 3u);
    for (const auto& x : vis["samples"]) EXPECT_TRUE(finite_positive(x));
    for (const char* q : {"p50", "flops", "gflops", "share_of_ttft"}) EXPECT_TRUE(finite_positive(vis[q])) << q;
    // the images' part of one repetition (per crop x crops) is a part of that repetition's TTFT
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_LT(vis["samples"][i].get<double>() * plan.num_crops, s["samples"][i].get<double>());
  }
  // different sizes, different tilings (300x200: one tile; 120x500: two)
  EXPECT_NE(v.r.image_series[0]["crops"], v.r.image_series[1]["crops"]);
}

TEST(BenchVl, KernelBackendsRunTheImageSeries) {
  if (!kernels_built()) GTEST_SKIP() << "cuda-sim is not built here";
  BenchOptions opt;
  opt.backends = {"ref-f32", "cuda-sim"};
  opt.prompt_lens = {4};
  opt.context_lens = {4};
  opt.decode_steps = 1;
  opt.reps = 1;
  opt.warmup = 0;
  opt.image_sizes = std::vector<std::array<int, 2>>{{300, 200}};
  const BenchResult r = run_bench(vl_tiny(), opt);
  EXPECT_TRUE(r.image_skipped.empty()) << r.image_skipped.dump();
  int text_series = 0;  // its text series ran
  for (const auto& s : r.series) text_series += s["backend"] == "cuda-sim";
  EXPECT_EQ(text_series, 2);
  // and its image series, like ref-f32's (backends in the order asked), with its vision part timed per crop
  ASSERT_EQ(r.image_series.size(), 2u) << summary(r);
  const json& s = r.image_series[1];
  EXPECT_EQ(s["backend"], "cuda-sim");
  EXPECT_EQ(s["crops"], r.image_series[0]["crops"]);
  EXPECT_EQ(s["length"], r.image_series[0]["length"]);
  ASSERT_TRUE(s["vision"].is_object()) << "cuda-sim times its vision part";
  EXPECT_TRUE(finite_positive(s["vision"]["p50"]));
}

TEST(BenchVl, ReportValidatesAndRenders) {
  const VlRun& v = vl_run();
  json rep = new_report("bench", "bench --preset vl-tiny");
  rep["result"] = to_json(v.r, v.opt);
  EXPECT_NO_THROW(validate_report(rep, "vl.json"));
  EXPECT_EQ(rep["result"]["options"]["image_sizes"], json::parse("[[300, 200], [120, 500]]"));
  const std::string html = render_html({{"vl.json", rep}});
  EXPECT_NE(html.find("Image requests"), std::string::npos);
  EXPECT_NE(html.find("300x200"), std::string::npos);
  // strict: a wrong type in an image series is named by its path
  json bad = rep;
  bad["result"]["image_series"][0]["crops"] = "two";
  try {
    validate_report(bad, "bad.json");
    FAIL() << "a string crop count was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: result.image_series[0].crops: expected an integer >= 1"), std::string::npos)
        << e.what();
  }
  bad = rep;
  bad["result"]["image_series"][1]["vision"]["samples"][0] = -1.0;
  EXPECT_THROW(validate_report(bad, "bad.json"), Error);
  bad = rep;
  bad["result"]["image_series"][0]["phase"] = "ttft";
  EXPECT_THROW(validate_report(bad, "bad.json"), Error);
}

TEST(BenchVl, BadImageOptionsAreRefusedNamingTheOption) {
  auto expect_error = [](const auto& fn, const std::string& what) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one containing: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  // a text model has no vision tower: --image-sizes is refused before anything runs
  BenchOptions opt;
  opt.image_sizes = std::vector<std::array<int, 2>>{{300, 200}};
  const ModelSource text = resolve_model("", "tiny", 0);
  expect_error([&] { run_bench(text, opt); }, "--image-sizes needs a MiniMax-VL-01 model");
  // an image whose placeholders do not fit the context
  opt.image_sizes = std::vector<std::array<int, 2>>{{4000, 4000}};
  expect_error([&] { run_bench(vl_tiny(), opt); }, "--image-sizes: the 4000x4000 image request is");
  opt.image_sizes = std::vector<std::array<int, 2>>{{0, 200}};
  expect_error([&] { check_bench_options(opt); }, "--image-sizes");
  for (const char* s : {"", "300", "300x", "x200", "300x200,", "3e2x200", "-300x200", "300x200x1", "5000x200", "0x1"})
    expect_error([&] { parse_image_sizes(s, "bench: --image-sizes"); }, "bench: --image-sizes");
  const auto sizes = parse_image_sizes("300x200,120x500", "bench: --image-sizes");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[1][0], 120);
  EXPECT_EQ(sizes[1][1], 500);
}

}  // namespace
}  // namespace mm::harness
