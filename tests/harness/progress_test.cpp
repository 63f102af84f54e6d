// Progress lines (harness/progress.h): off a terminal one line per interval with elapsed time and an
// ETA from the completed steps, details inside a step, the heartbeat that keeps a silent phase visible,
// nothing when disabled; MM_PROGRESS_INTERVAL checked.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/progress.h"

namespace mm::harness {
namespace {

// What `f(progress)` wrote in Log mode with `interval` seconds.
template <class F>
std::string log_of(double interval, int64_t total, F&& f) {
  std::FILE* out = std::tmpfile();
  {
    Progress p("check", total, Progress::Mode::Log, out, interval);
    f(p);
  }
  std::rewind(out);
  std::string s;
  char buf[512];
  while (std::fgets(buf, sizeof buf, out)) s += buf;
  std::fclose(out);
  return s;
}

int lines_in(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Progress, LogModeWritesStepsDetailsAndAnEta) {
  const std::string s = log_of(0, 3, [](Progress& p) {
    p.step("ref-f64 (oracle)");
    p.step("cuda-sim");
    p.detail("teacher-forced prefill, layer 2/8 done");
  });
  EXPECT_EQ(lines_in(s), 3) << s;
  EXPECT_NE(s.find("[check 1/3, 0:00] ref-f64 (oracle)\n"), std::string::npos) << s;  // no ETA before a step completed
  EXPECT_NE(s.find("[check 2/3, 0:00, ETA ~"), std::string::npos) << s;  // the value: EtaExtrapolates... below
  EXPECT_NE(s.find("] cuda-sim: teacher-forced prefill, layer 2/8 done\n"), std::string::npos) << s;
  EXPECT_EQ(s.find('\r'), std::string::npos) << "no terminal control characters in a log";
}

// With a 1-hour interval only the first line is written: a CI log gets a line per interval, not per step.
TEST(Progress, LogModeIsRateLimited) {
  const std::string s = log_of(3600, 100, [](Progress& p) {
    for (int i = 0; i < 100; ++i) {
      p.step("rep " + std::to_string(i));
      p.detail("inside");
    }
  });
  EXPECT_EQ(lines_in(s), 1) << s;
  EXPECT_NE(s.find("[check 1/100, 0:00] rep 0\n"), std::string::npos) << s;
}

// A detail that arrives inside the interval is not lost: the heartbeat shows it when the interval ends,
// and keeps showing the clock while the step reports nothing more.
TEST(Progress, LogModeHeartbeatShowsALateDetailAndASilentPhase) {
  const std::string s = log_of(0.2, 2, [](Progress& p) {
    p.step("cuda-sim");
    p.detail("end to end, decode step 1/4");  // 0 s after the first line: not shown now
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
  });
  EXPECT_GE(lines_in(s), 3) << s;
  EXPECT_LE(lines_in(s), 5) << s;  // one per 0.2 s at most
  EXPECT_NE(s.find("[check 1/2, 0:00] cuda-sim\n"), std::string::npos) << s;
  EXPECT_NE(s.find("] cuda-sim: end to end, decode step 1/4\n"), std::string::npos) << s;
}

// On a terminal the line is rewritten every second while nothing else is shown, so its clock moves.
TEST(Progress, TerminalHeartbeatRewritesTheLine) {
  std::FILE* out = std::tmpfile();
  {
    Progress p("bench", 3, Progress::Mode::Terminal, out, 0);
    p.step("ref-f32: prefill 256");
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  }
  std::rewind(out);
  std::string s;
  for (int c; (c = std::fgetc(out)) != EOF;) s += static_cast<char>(c);
  std::fclose(out);
  int rewrites = 0;
  for (size_t at = 0; (at = s.find("\r\033[K[bench", at)) != std::string::npos; ++at) ++rewrites;
  EXPECT_EQ(rewrites, 2) << "the first line and one heartbeat: " << s;
  EXPECT_NE(s.find("[bench 1/3, 0:01] ref-f32: prefill 256"), std::string::npos) << s;
}

TEST(Progress, EtaExtrapolatesTheCompletedSteps) {
  Progress p("bench", 5, Progress::Mode::Off, stderr, 0);
  const auto t0 = Progress::Clock::now();
  p.step("a", t0);
  p.step("b", t0 + std::chrono::seconds(10));  // one step took 10 s: b..e are 4 more, 40 s, 2 s of b already spent
  const std::string l = p.line(t0 + std::chrono::seconds(12));
  EXPECT_NE(l.find("[bench 2/5, 0:12, ETA ~0:38] b"), std::string::npos) << l;
  EXPECT_EQ(Progress::clock_text(3725), "1:02:05");
  EXPECT_EQ(Progress::clock_text(61.4), "1:01");
}

TEST(Progress, DisabledWritesNothing) {
  std::FILE* out = std::tmpfile();
  {
    Progress p("soak", 10, Progress::Mode::Off, out, 0);
    p.step("x");
    p.detail("y");
  }
  EXPECT_EQ(std::ftell(out), 0);
  std::fclose(out);
}

TEST(Progress, IntervalFromTheEnvironmentIsChecked) {
  ::setenv("MM_PROGRESS_INTERVAL", "2.5", 1);
  EXPECT_EQ(Progress::interval_from_env(), 2.5);
  for (const char* bad : {"-1", "x", "1e9", "nan"}) {
    ::setenv("MM_PROGRESS_INTERVAL", bad, 1);
    EXPECT_THROW(Progress::interval_from_env(), UsageError) << bad;
  }
  ::unsetenv("MM_PROGRESS_INTERVAL");
  EXPECT_EQ(Progress::interval_from_env(), 10);
}

}  // namespace
}  // namespace mm::harness
