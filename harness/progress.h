// Progress for long runs (check, bench, soak), on stderr, so that neither a terminal nor a CI log sits
// silent for minutes:
//   on a terminal   one line rewritten in place: [check 3/7, 0:42, ETA ~1:10] cuda-sim: teacher-forced layer 5/8
//   off a terminal  the same text as a new line on the first step, then one every MM_PROGRESS_INTERVAL
//                   seconds (default 10; 0: a line for every step and detail, and none in between)
// A heartbeat thread writes the current line whenever nothing was shown for an interval (a second on a
// terminal): a step or detail that arrived too soon after the last line is shown when its interval ends
// instead of being lost, and a long phase that reports nothing (check's free run) still shows its clock.
// The ETA extrapolates the mean time of the completed steps to the steps left, less the time already
// spent in the current one; it is shown once a step has completed, and not while the current step runs
// past the estimate (check's cuda-sim step takes far longer than the reference steps before it). detail() says where inside a long
// step the run is (check's teacher-forced run reports each layer: a cuda-sim step on `small` takes
// minutes). The tracker also knows the run's steps, so it is where a step loop asks whether to stop
// (core/interrupt.h) and learns where it stopped.
#pragma once
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/strict_number.h"

namespace mm::harness {

class Progress {
 public:
  enum class Mode { Off, Terminal, Log };
  using Clock = std::chrono::steady_clock;

  // `enabled` false (library callers, tests): no output. Otherwise Terminal when stderr is a terminal,
  // else Log with the interval from MM_PROGRESS_INTERVAL.
  Progress(std::string what, int64_t total, bool enabled = true)
      : Progress(std::move(what), total, !enabled ? Mode::Off : isatty(2) ? Mode::Terminal : Mode::Log, stderr,
                 enabled && !isatty(2) ? interval_from_env() : 0) {}
  // Explicit mode, stream and interval in seconds (tests).
  Progress(std::string what, int64_t total, Mode mode, std::FILE* out, double interval_s)
      : what_(std::move(what)), total_(total), mode_(mode), out_(out), interval_s_(interval_s) {}
  ~Progress() { done(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A new step begins (the previous one completed); `now` is given by tests.
  void step(const std::string& label, Clock::time_point now = Clock::now()) {
    std::lock_guard<std::mutex> lock(m_);
    if (i_ > 0) completed_s_ = seconds(start_, now);
    ++i_;
    label_ = label;
    detail_.clear();
    step_start_ = now;
    show(now, /*new_step=*/true);
    start_heartbeat();
  }
  // Where inside the current step the run is ("teacher-forced layer 5/8"); shown as the terminal line
  // allows (at most 10 times a second) or at the end of the log interval.
  void detail(const std::string& d) {
    std::lock_guard<std::mutex> lock(m_);
    if (mode_ == Mode::Off) return;
    detail_ = d;
    show(Clock::now(), /*new_step=*/false);
  }

  // The line as shown (without the terminal's control characters).
  std::string line(Clock::time_point now) const {
    std::lock_guard<std::mutex> lock(m_);
    return line_locked(now);
  }

  // A step boundary, before step(): true when SIGINT / SIGTERM arrived, and the loop must stop (the
  // step is not begun). A signal during the last step stops nothing: the run is complete.
  bool stop_requested() {
    if (interrupt_at_step_boundary()) stopped_ = true;
    return stopped_;
  }
  bool stopped() const { return stopped_; }
  // Where the run stopped: the last step begun (it completed: the signal is honoured only between
  // steps), the steps completed and the total (-1: open-ended).
  Interruption interruption(bool total_known = true) const {
    return {interrupt_signal_name(), what_ + (label_.empty() ? std::string(": before the first step") : ": " + label_), i_,
            total_known ? total_ : -1};
  }
  void done() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_ = true;
    }
    wake_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
    if (mode_ == Mode::Terminal && i_ > 0) std::fprintf(out_, "\r\033[K"), std::fflush(out_);
    mode_ = Mode::Off;
  }

  // MM_PROGRESS_INTERVAL: seconds between lines off a terminal, a number in [0, 86400] (unset or empty:
  // 10). The commands read it once before they start (a bad value fails at once, not after the model loads).
  static double interval_from_env() {
    const char* v = std::getenv("MM_PROGRESS_INTERVAL");
    if (!v || !*v) return 10;
    double x = 0;
    if (parse_decimal(v, x) != NumParse::Ok || !(x >= 0 && x <= 86400))
      throw UsageError(std::string("MM_PROGRESS_INTERVAL must be a number of seconds in [0, 86400], got '") + v + "'");
    return x;
  }
  // m:ss, or h:mm:ss from an hour.
  static std::string clock_text(double s) {
    const long long t = static_cast<long long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
    return buf;
  }

 private:
  std::string line_locked(Clock::time_point now) const {
    std::string s = "[" + what_ + " " + std::to_string(i_) + (total_ > 0 ? "/" + std::to_string(total_) : "") + ", " +
                    clock_text(seconds(start_, now));
    if (i_ > 1 && total_ > 0 && i_ <= total_) {
      const double per = completed_s_ / static_cast<double>(i_ - 1);
      const double left = per * static_cast<double>(total_ - i_ + 1) - seconds(step_start_, now);
      if (left > 0) s += ", ETA ~" + clock_text(left);  // none once the step outlasts the estimate
    }
    s += "] " + label_;
    if (!detail_.empty()) s += ": " + detail_;
    return s;
  }
  static double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
  // The heartbeat's period: a second on a terminal, the interval in a log; none for 0 (every event is
  // shown already) or when off.
  // A log's heartbeat is at least 0.1 s apart (a tiny MM_PROGRESS_INTERVAL asks for every event, not for
  // a line every millisecond of a silent phase).
  double heartbeat_s() const {
    return mode_ == Mode::Terminal ? 1.0 : mode_ == Mode::Log && interval_s_ > 0 ? std::max(interval_s_, 0.1) : 0;
  }
  void start_heartbeat() {  // under m_
    if (heartbeat_.joinable() || quit_ || !(heartbeat_s() > 0)) return;
    heartbeat_ = std::thread([this] {
      const auto period = std::chrono::duration<double>(heartbeat_s());
      std::unique_lock<std::mutex> lock(m_);
      while (!quit_) {
        // Sleep until an interval after the last line shown; show the line then if nothing came since.
        const auto due = last_shown_ + std::chrono::duration_cast<Clock::duration>(period);
        if (wake_.wait_until(lock, due, [this] { return quit_; })) break;
        const auto now = Clock::now();
        if (mode_ != Mode::Off && seconds(last_shown_, now) >= period.count()) show(now, /*new_step=*/true);
      }
    });
  }
  // Under m_.
  void show(Clock::time_point now, bool new_step) {
    if (mode_ == Mode::Off) return;
    const double since = seconds(last_shown_, now);
    if (mode_ == Mode::Terminal) {
      if (!new_step && shown_ && since < 0.1) return;
      std::fprintf(out_, "\r\033[K%s", line_locked(now).c_str());
    } else {
      if (shown_ && since < interval_s_) return;
      std::fprintf(out_, "%s\n", line_locked(now).c_str());
    }
    std::fflush(out_);
    shown_ = true;
    last_shown_ = now;
  }

  std::string what_, label_, detail_;
  int64_t total_, i_ = 0;
  Mode mode_;
  std::FILE* out_;
  double interval_s_;
  Clock::time_point start_ = Clock::now(), step_start_ = start_, last_shown_ = start_;
  double completed_s_ = 0;  // seconds from the start to the beginning of the current step
  bool shown_ = false, stopped_ = false;
  mutable std::mutex m_;  // the state above, shared with the heartbeat
  std::condition_variable wake_;
  bool quit_ = false;
  std::thread heartbeat_;
};

}  // namespace mm::harness
