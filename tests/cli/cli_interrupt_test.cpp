// Ctrl-C leaves an honest partial report (docs/harness.md, "Interrupts"; core/interrupt.h): the real
// `minimax01` binary (MM_CLI) is interrupted, through the test hook MM_TEST_INTERRUPT_AFTER_STEPS (SIGINT
// raised inside the process at a known step boundary) and with a real kill(2) from outside, and must
// exit 130, say what was interrupted, and leave at the report path a valid report marked
// "complete": false that keeps what was measured, replacing the previous run's report, with no
// temporary file beside it. compare refuses such a report; forward writes no dump; a second signal
// kills at once.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "harness/report.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// One run of the binary: its exit status, stdout and stderr.
struct CliRun {
  int status = 0;
  std::string out, err;
  bool exited() const { return WIFEXITED(status); }
  int code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// A child process running MM_CLI with `args`, stdout / stderr into files of `dir`, and `env` (NAME=VALUE)
// added to the environment.
class Child {
 public:
  Child(const test::TempDir& dir, const std::vector<std::string>& args, const std::vector<std::string>& env = {})
      : out_(dir.file("stdout.txt")), err_(dir.file("stderr.txt")) {
    pid_ = fork();
    if (pid_ == 0) {
      const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
      for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));  // the child's own copy of the strings
      std::vector<char*> argv = {const_cast<char*>(MM_CLI)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(MM_CLI, argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {  // a test that failed early: never leave a run behind
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

  // True once the child's SIGINT handler is installed (/proc/PID/status SigCgt): a signal sent after
  // that is honoured, not the default kill.
  bool wait_for_handler(double seconds = 30) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
      std::string line;
      while (std::getline(f, line))
        if (line.rfind("SigCgt:", 0) == 0 && (std::stoull(line.substr(7), nullptr, 16) >> (SIGINT - 1) & 1)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Waits at most `seconds` (then kills it and fails the test).
  CliRun wait(double seconds = 120) {
    CliRun r;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      const pid_t w = waitpid(pid_, &r.status, WNOHANG);
      if (w == pid_) break;
      if (std::chrono::steady_clock::now() > end) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &r.status, 0);
        ADD_FAILURE() << "minimax01 did not stop within " << seconds << " s";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    reaped_ = true;
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

CliRun run_cli(const test::TempDir& dir, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  Child c(dir, args, env);
  return c.wait();
}

// The files of `dir` whose name marks a temporary file of write_file_atomic (".NAME.tmp-XXXXXX").
std::vector<std::string> temp_files(const test::TempDir& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir.path))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(e.path().string());
  return found;
}

// A small bench of ref-f32 on the built-in tiny model: one TTFT and one TPOT series of `reps` each, so
// 2 x reps repetition steps (boundaries: one before the backend, then one before each repetition).
std::vector<std::string> bench_args(const std::string& report, int reps, int warmup = 0) {
  return {"bench", "--backends", "ref-f32", "--prompt-lens", "8", "--context-lens", "8", "--decode-steps", "2",
          "--reps", std::to_string(reps), "--warmup", std::to_string(warmup), "--report", report};
}

TEST(Interrupt, BenchStopsAtTheStepBoundaryAndWritesAnIncompleteReport) {
  test::TempDir d;
  const std::string report = d.file("bench.json");
  test::write_bytes(report, "{\"the previous run\": true}\n");  // must be replaced, not left stale
  // boundary 1: before the backend, 2..: before each repetition; SIGINT at the 4th = after rep 2 of 5
  const CliRun r = run_cli(d, bench_args(report, 5), {"MM_TEST_INTERRUPT_AFTER_STEPS=4"});
  ASSERT_TRUE(r.exited()) << r.err;
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("minimax01 bench: interrupted by SIGINT during bench: ref-f32 TTFT S=8 rep 2/5, after 2 of 10 "
                       "steps; partial report written to " + report + " (complete: false)"),
            std::string::npos)
      << r.err;
  const json rep = harness::read_report(report);  // valid: the readers' whole schema
  EXPECT_EQ(rep.at("complete"), false);
  EXPECT_EQ(rep.at("interrupted").at("signal"), "SIGINT");
  EXPECT_EQ(rep.at("interrupted").at("steps_done"), 2);
  EXPECT_EQ(rep.at("interrupted").at("steps_total"), 10);
  // what was measured is kept: the TTFT series with its 2 timed repetitions; the TPOT series never ran
  const json& series = rep.at("result").at("series");
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].at("phase"), "ttft");
  EXPECT_EQ(series[0].at("samples").size(), 2u);
  EXPECT_TRUE(temp_files(d).empty());

  // compare refuses it, as the new report and as the baseline (exit 3: the gate could not run)
  const std::string full = d.file("full.json");
  const CliRun ok = run_cli(d, bench_args(full, 3));
  ASSERT_EQ(ok.code(), 0) << ok.err;
  const json complete = harness::read_report(full);
  EXPECT_EQ(complete.at("complete"), true);
  EXPECT_FALSE(complete.contains("interrupted"));
  const CliRun as_new = run_cli(d, {"compare", full, report});
  EXPECT_EQ(as_new.code(), 3);
  EXPECT_NE(as_new.err.find(report + " is an incomplete report (interrupted by SIGINT during bench"), std::string::npos)
      << as_new.err;
  const CliRun as_base = run_cli(d, {"compare", report, full});
  EXPECT_EQ(as_base.code(), 3);
  EXPECT_NE(as_base.err.find("the baseline " + report + " is an incomplete report"), std::string::npos) << as_base.err;
  EXPECT_EQ(run_cli(d, {"compare", full, full}).code(), 0);
  // A report written before the field existed has no "complete": it is complete.
  json older = complete;
  older.erase("complete");
  const std::string old_path = d.file("older.json");
  harness::write_report(old_path, older);
  EXPECT_EQ(run_cli(d, {"compare", old_path, full}).code(), 0);
  // "interrupted" in a report that does not say it is incomplete is a contradiction, refused
  json contradiction = complete;
  contradiction["interrupted"] = rep.at("interrupted");
  EXPECT_THROW(harness::parse_report_text(contradiction.dump(), "contradiction.json"), Error);

  // the HTML page says so where a reader looks first
  const std::string page = d.file("page.html");
  ASSERT_EQ(run_cli(d, {"report", report, "--out", page}).code(), 0);
  EXPECT_NE(slurp(page).find("INCOMPLETE (interrupted by SIGINT during bench: ref-f32 TTFT S=8 rep 2/5"), std::string::npos);
}

// The step names count warm-up and timed repetitions apart: with 2 warm-ups and 3 reps, the 3rd
// repetition is "rep 1/3" (not "rep 3/5").
TEST(Interrupt, BenchNamesWarmupAndTimedRepetitionsApart) {
  test::TempDir d;
  const std::string report = d.file("bench.json");
  // boundary 1: before the backend; 5: before the 4th repetition, so the 3rd was the last begun
  const CliRun r = run_cli(d, bench_args(report, 3, 2), {"MM_TEST_INTERRUPT_AFTER_STEPS=5"});
  ASSERT_TRUE(r.exited()) << r.err;
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("during bench: ref-f32 TTFT S=8 rep 1/3, after 3 of 10 steps"), std::string::npos) << r.err;
  const CliRun w = run_cli(d, bench_args(report, 3, 2), {"MM_TEST_INTERRUPT_AFTER_STEPS=4"});
  EXPECT_NE(w.err.find("during bench: ref-f32 TTFT S=8 warm-up 2/2, after 2 of 10 steps"), std::string::npos) << w.err;
}

TEST(Interrupt, CheckKeepsTheBackendsJudgedAndNeverPasses) {
  test::TempDir d;
  const std::string report = d.file("check.json");
  // steps: oracle, budget, ref-f64, ref-f32, ref-bf16; SIGINT before the 4th (ref-f32)
  const CliRun r = run_cli(d, {"check", "--backends", "ref-f64,ref-f32,ref-bf16", "--prompt-len", "20", "--decode-steps",
                            "2", "--report", report},
                        {"MM_TEST_INTERRUPT_AFTER_STEPS=4"});
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("minimax01 check: interrupted by SIGINT during check: ref-f64, after 3 of 5 steps"), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("check: INCOMPLETE (interrupted by SIGINT after 3 of 5 steps)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("check: PASS"), std::string::npos) << r.out;
  const json rep = harness::read_report(report);
  EXPECT_EQ(rep.at("complete"), false);
  EXPECT_EQ(rep.at("result").at("pass"), false);
  ASSERT_EQ(rep.at("result").at("backends").size(), 1u);
  EXPECT_EQ(rep.at("result").at("backends")[0].at("name"), "ref-f64");
  EXPECT_TRUE(temp_files(d).empty());

  // The readers refuse an incomplete check that claims to pass (an interrupted run has no verdict).
  json forged = rep;
  forged["result"]["pass"] = true;
  try {
    harness::parse_report_text(forged.dump(), "forged.json");
    ADD_FAILURE() << "an incomplete report that passes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("forged.json: result.pass: expected false in an incomplete report"),
              std::string::npos)
        << e.what();
  }
  // ... and one that says it is incomplete without saying where it stopped
  json unsaid = rep;
  unsaid.erase("interrupted");
  EXPECT_THROW(harness::parse_report_text(unsaid.dump(), "unsaid.json"), Error);

  // The same check run to the end: complete, and its verdict.
  const CliRun full = run_cli(d, {"check", "--backends", "ref-f32", "--prompt-len", "20", "--decode-steps", "2", "--report", report});
  EXPECT_EQ(full.code(), 0) << full.err;
  EXPECT_EQ(harness::read_report(report).at("complete"), true);
}

TEST(Interrupt, SoakKeepsEveryRequestServed) {
  test::TempDir d;
  const std::string report = d.file("soak.json");
  // boundary k comes before request k: SIGINT at the 6th, after 5 requests of a 60 s stream
  const CliRun r = run_cli(d, {"soak", "--duration", "60s", "--max-prompt", "16", "--max-decode", "2", "--report", report},
                        {"MM_TEST_INTERRUPT_AFTER_STEPS=6"});
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("minimax01 soak: interrupted by SIGINT during soak: request 5, started "), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("soak: INCOMPLETE"), std::string::npos) << r.out;
  const json rep = harness::read_report(report);
  EXPECT_EQ(rep.at("complete"), false);
  EXPECT_EQ(rep.at("interrupted").at("steps_done"), 5);
  EXPECT_TRUE(rep.at("interrupted").at("steps_total").is_null());  // a soak is open-ended
  const json& res = rep.at("result");
  EXPECT_EQ(res.at("overall").at("requests"), 5);
  EXPECT_EQ(res.at("requests").size(), 5u);
  EXPECT_EQ(res.at("pass"), false);
  EXPECT_LT(res.at("elapsed_s").get<double>(), 60.0);
  EXPECT_TRUE(temp_files(d).empty());
}

// A real Ctrl-C from outside, while the run is in its step loop.
TEST(Interrupt, RealSigintFromOutside) {
  test::TempDir d;
  const std::string report = d.file("bench.json");
  test::write_bytes(report, "stale\n");
  Child c(d, bench_args(report, 500000));  // would run for hours
  ASSERT_TRUE(c.wait_for_handler());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // into the repetitions (the roof takes < 1 s)
  ASSERT_EQ(kill(c.pid(), SIGINT), 0);
  const CliRun r = c.wait(60);
  ASSERT_TRUE(r.exited()) << "killed by signal " << (WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0);
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("minimax01 bench: interrupted by SIGINT during bench"), std::string::npos) << r.err;
  const json rep = harness::read_report(report);
  EXPECT_EQ(rep.at("complete"), false);
  EXPECT_EQ(rep.at("interrupted").at("signal"), "SIGINT");
  EXPECT_TRUE(temp_files(d).empty());
}

// A real Ctrl-C inside check's long step (cuda-sim: seconds per backend on the default 300-token prompt):
// honoured after the teacher-forced layer in progress, the backend left unjudged, no verdict.
TEST(Interrupt, RealSigintDuringCheck) {
  test::TempDir d;
  const std::string report = d.file("check.json");
  Child c(d, {"check", "--backends", "ref-f32,cuda-sim", "--report", report});
  ASSERT_TRUE(c.wait_for_handler());
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  ASSERT_EQ(kill(c.pid(), SIGINT), 0);
  const CliRun r = c.wait(60);
  ASSERT_TRUE(r.exited());
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err << r.out;
  EXPECT_NE(r.err.find("minimax01 check: interrupted by SIGINT during check: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("check: PASS"), std::string::npos) << r.out;
  const json rep = harness::read_report(report);
  EXPECT_EQ(rep.at("complete"), false);
  EXPECT_EQ(rep.at("result").at("pass"), false);
  for (const json& b : rep.at("result").at("backends"))  // the interrupt is never taken for a backend's failure
    EXPECT_NE(b.at("status"), "error") << b.dump();
  EXPECT_TRUE(temp_files(d).empty());
}

// SIGTERM (a job scheduler, `kill`) is honoured the same way, and named.
TEST(Interrupt, RealSigtermFromOutside) {
  test::TempDir d;
  const std::string report = d.file("soak.json");
  Child c(d, {"soak", "--duration", "1h", "--max-prompt", "16", "--max-decode", "2", "--report", report});
  ASSERT_TRUE(c.wait_for_handler());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(kill(c.pid(), SIGTERM), 0);
  const CliRun r = c.wait(60);
  ASSERT_TRUE(r.exited());
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("interrupted by SIGTERM"), std::string::npos) << r.err;
  const json rep = harness::read_report(report);
  EXPECT_EQ(rep.at("interrupted").at("signal"), "SIGTERM");
  EXPECT_EQ(rep.at("result").at("requests").size(), rep.at("interrupted").at("steps_done").get<size_t>());
}

// forward writes no partial dump: the file at --dump stays what it was.
TEST(Interrupt, ForwardWritesNoDump) {
  test::TempDir d;
  ASSERT_EQ(cli::cmd_init({"--preset", "tiny", "--out", d.file("tiny")}), 0);
  const std::string dump = d.file("out.safetensors");
  test::write_bytes(dump, "the previous dump");
  // boundaries: before the prefill, then before each decode step; SIGINT before the 2nd decode step
  const CliRun r = run_cli(d, {"forward", "--model", d.file("tiny"), "--tokens", "1,2,3", "--decode-tokens", "4,5,6", "--dump", dump},
                        {"MM_TEST_INTERRUPT_AFTER_STEPS=3"});
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.err.find("minimax01 forward: interrupted by SIGINT after the prefill and 1 of 3 decode steps; no dump written"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(dump), "the previous dump");
  EXPECT_TRUE(temp_files(d).empty());
}

// generate prints the tokens made before the interrupt, then stops.
TEST(Interrupt, GeneratePrintsTheTokensSoFar) {
  test::TempDir d;
  ASSERT_EQ(cli::cmd_init({"--preset", "tiny", "--out", d.file("tiny")}), 0);
  // boundaries: after loading, then after each token but the last; SIGINT after the 2nd token
  const CliRun r = run_cli(d, {"generate", "--model", d.file("tiny"), "--prompt-tokens", "1,2,3", "--max-new-tokens", "6"},
                        {"MM_TEST_INTERRUPT_AFTER_STEPS=3"});
  EXPECT_EQ(r.code(), kExitInterrupted) << r.err;
  EXPECT_NE(r.out.find("generated 2 of 6 tokens before the interrupt:"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("minimax01 generate: interrupted by SIGINT after 2 of 6 new tokens (printed above)"), std::string::npos)
      << r.err;
}

TEST(Interrupt, MalformedTestHookIsAUsageError) {
  test::TempDir d;
  const CliRun r = run_cli(d, {"info", "--preset", "tiny"}, {"MM_TEST_INTERRUPT_AFTER_STEPS=0x3"});
  EXPECT_EQ(r.code(), 2);
  EXPECT_NE(r.err.find("MM_TEST_INTERRUPT_AFTER_STEPS (a test hook) must be a decimal integer >= 1, got '0x3'"),
            std::string::npos)
      << r.err;
}

// The handlers in-process (death tests: each runs in a child, the test binary keeps its own handlers).
TEST(InterruptHandlers, FirstSignalIsRecordedSecondKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // the first SIGINT only sets the flag; the process goes on to exit normally
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        raise(SIGINT);
        _exit(interrupt_requested() && interrupt_signal_name() == "SIGINT" ? 7 : 1);
      },
      ::testing::ExitedWithCode(7), "");
  // a second one restores the default action: killed at once, never stuck behind a slow step
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        raise(SIGINT);
        raise(SIGINT);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGINT), "");
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        raise(SIGTERM);
        raise(SIGTERM);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace mm
