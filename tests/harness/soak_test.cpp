// soak: every injected fault (NaN in an activation, weight bit flip, allocation failure, slow step) is
// detected and classified; a clean stream has 100 % uptime; durations must be positive.
#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/soak.h"

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

}  // namespace
}  // namespace mm::harness
