// Progress for long runs: one rewritten line on stderr, only when stderr is a terminal (never in logs
// or tests). It also knows the run's steps, so it is where a step loop asks whether to stop
// (core/interrupt.h) and learns where it stopped.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "core/interrupt.h"

namespace mm::harness {

class Progress {
 public:
  Progress(std::string what, int64_t total, bool enabled = true)
      : what_(std::move(what)), total_(total), on_(enabled && isatty(2)) {}
  ~Progress() { done(); }
  void step(const std::string& label) {
    ++i_;
    label_ = label;
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K[%s %lld/%lld] %s", what_.c_str(), static_cast<long long>(i_),
                 static_cast<long long>(total_), label.c_str());
    std::fflush(stderr);
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
    if (on_ && i_ > 0) std::fprintf(stderr, "\r\033[K"), std::fflush(stderr);
    on_ = false;
  }

 private:
  std::string what_, label_;
  int64_t total_, i_ = 0;
  bool on_, stopped_ = false;
};

}  // namespace mm::harness
