// soak: every injected fault (NaN in an activation, weight bit flip, allocation failure, slow step) is
// detected and classified; a clean stream has 100 % uptime; durations must be positive. On a MiniMax-VL-01
// model (preset vl-tiny) requests carry seeded images (--image-rate): they are served, checked against
// ref-f64 with their images, classified like text requests and counted apart; bad rates are refused.
#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/report.h"
#include "harness/report_schema.h"
#include "harness/soak.h"
#include "reference/vl_preprocess.h"

namespace mm::harness {
namespace {

const ModelSource& tiny() {
  static const ModelSource s = resolve_model("", "tiny", 0);
  return s;
}

SoakOptions quick() {
  SoakOptions o;
  o.duration_s = 1.0;
  o.min_requests = 80;  // enough draws that every fault kind is injected, however loaded the machine
  o.max_prompt = 48;
  o.max_decode = 4;
  o.check_rate = 0.3;
  o.seed = 5;
  return o;
}

TEST(Soak, EveryInjectedFaultIsCaught) {
  SoakOptions o = quick();
  o.inject = {{FaultKind::Nan, 0.12}, {FaultKind::Bitflip, 0.12}, {FaultKind::Alloc, 0.12}, {FaultKind::Slow, 0.06}};
  const SoakResult r = run_soak(tiny(), o);
  const auto& f = r.result["faults"];
  for (const char* k : {"nan", "bitflip", "alloc", "slow"}) {
    EXPECT_GT(f["injected"][k].get<int>(), 0) << k << "\n" << soak_summary(r.result);
    // bit flips still outstanding when the stream ends are caught by the final verification, counted apart
    const int final_catches = std::string(k) == "bitflip" ? f["caught_at_final_verification"].get<int>() : 0;
    EXPECT_EQ(f["caught"][k].get<int>() + final_catches, f["injected"][k].get<int>()) << k << "\n" << soak_summary(r.result);
  }
  EXPECT_EQ(f["missed"].get<int>(), 0);
  EXPECT_EQ(r.result["overall"]["unexplained_failures"].get<int>(), 0);
  EXPECT_TRUE(r.pass);
  const auto& o2 = r.result["overall"];
  EXPECT_GT(o2["error"].get<int>(), 0);
  EXPECT_GT(o2["numerical"].get<int>(), 0);
  EXPECT_LT(o2["uptime_percent"].get<double>(), 100.0);
  EXPECT_GE(r.result["windows"].size(), 5u);
}

TEST(Soak, CleanStreamIsFullyUp) {
  SoakOptions o = quick();
  o.min_requests = 20;
  o.check_rate = 1.0;  // every request checked against ref-f64
  const SoakResult r = run_soak(tiny(), o);
  EXPECT_TRUE(r.pass) << soak_summary(r.result);
  EXPECT_DOUBLE_EQ(r.result["overall"]["uptime_percent"].get<double>(), 100.0);
  EXPECT_EQ(r.result["overall"]["numerical"].get<int>(), 0);
  // a text model's stream has no image requests and reports none
  EXPECT_FALSE(r.result["overall"].contains("images"));
  EXPECT_FALSE(r.result["stream"].contains("image_rate"));
}

TEST(Soak, DurationAndInjectParsing) {
  EXPECT_DOUBLE_EQ(parse_duration("30"), 30);
  EXPECT_DOUBLE_EQ(parse_duration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(parse_duration("2m"), 120);
  for (const char* bad : {"0", "-5s", "0ms", "abc", "5parsecs"}) EXPECT_THROW(parse_duration(bad), Error) << bad;
  EXPECT_EQ(parse_inject("nan:0.1,slow:0.5").size(), 2u);
  EXPECT_THROW(parse_inject("cosmic:0.1"), Error);
  EXPECT_THROW(parse_inject("nan:2"), Error);
  EXPECT_THROW(parse_inject("nan"), Error);
}

const ModelSource& vl_tiny() {
  static const ModelSource s = resolve_model("", "vl-tiny", 0);
  return s;
}

// Small requests around small images (one tile: 2 crops, at most 1176 image tokens), every one with an
// image, half of them checked against the oracle.
SoakOptions vl_quick() {
  SoakOptions o;
  o.duration_s = 0.5;
  o.min_requests = 8;
  o.max_prompt = 16;
  o.max_decode = 2;
  o.check_rate = 0.5;
  o.image_rate = 1;
  o.min_image_side = 32;
  o.max_image_side = 200;
  o.seed = 3;
  return o;
}

TEST(SoakVl, ImageRequestsAreServedCheckedAndCounted) {
  SoakOptions o = vl_quick();
  o.inject = {{FaultKind::Nan, 0.2}};  // a NaN in an image request's text layers is caught as numerical too
  // Budgets far above any request's latency: a clean checked request must then be a success, whatever
  // the machine's load (10x the calibration request is not enough on a shared, busy machine).
  o.slo_ttft_ms = 600000;
  o.slo_tpot_ms = 600000;
  const SoakResult r = run_soak(vl_tiny(), o);
  const nlohmann::json& res = r.result;
  EXPECT_TRUE(r.pass) << soak_summary(res);
  EXPECT_EQ(res["overall"]["unexplained_failures"].get<int>(), 0) << soak_summary(res);
  EXPECT_EQ(res["faults"]["injected"]["nan"], res["faults"]["caught"]["nan"]);
  const auto& im = res["overall"]["images"];
  const int64_t n = res["overall"]["requests"].get<int64_t>();
  EXPECT_GE(n, 8);
  EXPECT_EQ(im["requests"].get<int64_t>(), n);  // --image-rate 1: every request has an image
  EXPECT_GT(im["checked"].get<int64_t>(), 0);
  EXPECT_GT(im["ttft_ms"]["p50"].get<double>(), 0);
  EXPECT_EQ(res["stream"]["image_rate"].get<double>(), 1.0);
  EXPECT_GT(res["slo"]["image_ttft_ms"].get<double>(), 0);
  EXPECT_GT(res["calibration"]["image"]["oracle_tol_rel_fro"].get<double>(), 0);
  // the windows split the image requests between them
  int64_t in_windows = 0;
  for (const auto& w : res["windows"]) in_windows += w["images"]["requests"].get<int64_t>();
  EXPECT_EQ(in_windows, n);
  // every request's image: seeded size within bounds, the preprocessing's counts, placeholders in the prompt;
  // the checked ones without a fault are within the oracle tolerance
  const vl::PreprocessConfig pc = vl::load_preprocess_config(vl_tiny().model.dir);
  int checked_clean = 0;
  for (const auto& q : res["requests"]) {
    ASSERT_TRUE(q.contains("image"));
    const int w = q["image"]["width"].get<int>(), h = q["image"]["height"].get<int>();
    EXPECT_GE(std::min(w, h), o.min_image_side);
    EXPECT_LE(std::max(w, h), o.max_image_side);
    EXPECT_EQ(q["image"]["tokens"].get<int64_t>(), vl::image_token_count(w, h, pc));
    EXPECT_EQ(q["image"]["crops"].get<int64_t>(), vl::plan_anyres(w, h, pc).num_crops);
    EXPECT_GE(q["prompt"].get<int64_t>(), o.min_prompt + q["image"]["tokens"].get<int64_t>());
    if (q["checked"].get<bool>() && q["fault"].is_null()) {
      ++checked_clean;
      ASSERT_TRUE(q.contains("oracle_rel_fro")) << q.dump();
      EXPECT_LE(q["oracle_rel_fro"].get<double>(), res["calibration"]["image"]["oracle_tol_rel_fro"].get<double>());
      EXPECT_EQ(q["class"], "success");
    }
  }
  EXPECT_GT(checked_clean, 0) << soak_summary(res);
  // the report validates (strictly: a wrong type in the image counts is refused, naming the path)
  nlohmann::json rep = new_report("soak", "soak --preset vl-tiny --image-rate 1");
  rep["result"] = res;
  EXPECT_NO_THROW(validate_report(rep, "vl-soak.json"));
  rep["result"]["windows"][0]["images"]["requests"] = -1;
  try {
    validate_report(rep, "vl-soak.json");
    ADD_FAILURE() << "a negative image request count was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("result.windows[0].images.requests: expected an integer >= 0"), std::string::npos)
        << e.what();
  }
}

TEST(SoakVl, BadImageRateIsRefusedNamingTheOption) {
  auto expect_error = [](const ModelSource& m, double rate, const std::string& what) {
    SoakOptions o = vl_quick();
    o.image_rate = rate;
    try {
      run_soak(m, o);
      ADD_FAILURE() << "rate " << rate << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error(vl_tiny(), 1.5, "--image-rate must be a probability in [0, 1]");
  expect_error(vl_tiny(), NAN, "--image-rate must be a probability in [0, 1]");
  expect_error(tiny(), 0.25, "--image-rate 0.25 needs a MiniMax-VL-01 model");
  // images that cannot fit the context are refused before anything runs
  SoakOptions o = vl_quick();
  o.max_prompt = 7100;  // + up to 1176 image tokens + 2 decode > 8192
  try {
    run_soak(vl_tiny(), o);
    ADD_FAILURE() << "a stream past max_position_embeddings was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image tokens"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mm::harness
