#include "core/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/strict_number.h"

namespace mm {
namespace {

// The signal received (0: none). A lock-free atomic is async-signal-safe to store to from a handler.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);
// The test hook (0: off) and the step boundaries seen so far; touched only by the polling thread.
int64_t g_raise_after = 0, g_boundaries = 0;

extern "C" void on_interrupt(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) return;  // the first: honoured at the next step boundary
  // A second one: the user insists. Default action, re-raised; it is delivered when this handler returns.
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
}

}  // namespace

void install_interrupt_handlers() {
  if (const char* v = std::getenv("MM_TEST_INTERRUPT_AFTER_STEPS")) {
    int64_t n = 0;
    if (parse_decimal_int(std::string_view(v), n) != NumParse::Ok || n < 1)
      throw UsageError(std::string("MM_TEST_INTERRUPT_AFTER_STEPS (a test hook) must be a decimal integer >= 1, got '") + v +
                       "'");
    g_raise_after = n;
  }
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // system calls in progress (reads, writes) go on rather than fail with EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupt_requested() { return g_signal.load() != 0; }

std::string interrupt_signal_name() {
  switch (g_signal.load()) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case 0: return "";
    default: return "signal " + std::to_string(g_signal.load());
  }
}

bool interrupt_at_step_boundary() {
  ++g_boundaries;
  if (g_raise_after > 0 && g_boundaries == g_raise_after) raise(SIGINT);  // runs the handler before returning
  return interrupt_requested();
}

void reset_interrupt_for_testing() {
  g_signal.store(0);
  g_boundaries = 0;
}

}  // namespace mm
