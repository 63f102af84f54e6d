// SIGINT / SIGTERM: a long run (check, bench, soak, forward, generate) stops at its next step boundary
// instead of dying wherever the signal finds it, so that what it measured is kept and no output is left
// half-written (docs/harness.md, "Interrupts").
//
// The handlers only record the signal (async-signal-safe: one lock-free atomic store). The step loops
// poll interrupt_at_step_boundary() between steps; check, bench and soak then write their report marked
// "complete": false, forward and generate throw Interrupted and write nothing. cli/main.cpp turns both
// into exit code kExitInterrupted (130, 128 + SIGINT, as a shell reports a process killed by Ctrl-C).
// A second signal while the first is being honoured restores the default action and re-raises it: the
// process dies at once, so a user is never stuck behind a slow step.
//
// Test hook: MM_TEST_INTERRUPT_AFTER_STEPS=N (a decimal integer >= 1, read by install_interrupt_handlers)
// raises SIGINT from inside the process at the N-th step boundary, through the same handler as a real
// Ctrl-C, so that the tests interrupt a run at a known point.
#pragma once
#include <cstdint>
#include <string>

namespace mm {

// The exit code of a run stopped by SIGINT or SIGTERM (both: the spec of the harness, docs/harness.md).
inline constexpr int kExitInterrupted = 130;

// Installs the SIGINT and SIGTERM handlers (SA_RESTART: a read or write in progress is not cut short)
// and reads the test hook. Throws mm::UsageError when MM_TEST_INTERRUPT_AFTER_STEPS is set but is not a
// decimal integer >= 1.
void install_interrupt_handlers();

// True once SIGINT or SIGTERM arrived. A plain query: it does not count as a step boundary.
bool interrupt_requested();
// The first signal received: "SIGINT", "SIGTERM", or "" when none.
std::string interrupt_signal_name();

// A step boundary of a long run: counts it (for the test hook), then returns interrupt_requested().
bool interrupt_at_step_boundary();

// Forgets a recorded signal and the boundary count (tests that interrupt in-process, then go on).
void reset_interrupt_for_testing();

// Where a run stopped: the step that was in progress when the signal arrived (it completed; what it
// measured is kept), how many steps completed, and how many the whole run has (-1: open-ended, soak).
struct Interruption {
  std::string signal;  // "SIGINT" / "SIGTERM"
  std::string during;  // e.g. "bench: ref-f32 TTFT S=64 rep 3/10"
  int64_t steps_done = 0, steps_total = -1;
};

// Thrown by the commands that write nothing partial (forward, generate) at a step boundary once a signal
// arrived; cli/main.cpp prints what() and exits kExitInterrupted. Deliberately not an mm::Error nor a
// std::exception: the catch clauses that turn a failing step into a result (soak's per-request
// classification, check's per-backend error) must never swallow an interrupt.
class Interrupted {
 public:
  explicit Interrupted(std::string what) : what_(std::move(what)) {}
  const std::string& what() const { return what_; }

 private:
  std::string what_;
};

}  // namespace mm
