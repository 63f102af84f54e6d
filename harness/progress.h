// Progress for long runs: one rewritten line on stderr, only when stderr is a terminal (never in logs
// or tests).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace mm::harness {

class Progress {
 public:
  Progress(std::string what, int64_t total, bool enabled = true)
      : what_(std::move(what)), total_(total), on_(enabled && isatty(2)) {}
  ~Progress() { done(); }
  void step(const std::string& label) {
    ++i_;
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K[%s %lld/%lld] %s", what_.c_str(), static_cast<long long>(i_),
                 static_cast<long long>(total_), label.c_str());
    std::fflush(stderr);
  }
  void done() {
    if (on_ && i_ > 0) std::fprintf(stderr, "\r\033[K"), std::fflush(stderr);
    on_ = false;
  }

 private:
  std::string what_;
  int64_t total_, i_ = 0;
  bool on_;
};

}  // namespace mm::harness
