// Timing marks on the device's timeline, for both builds:
//   nvcc:  CUDA events recorded on the stream. Recording does not synchronise, so timing the layers of
//          a step costs no pipeline drain per layer; read the times once, after one synchronisation.
//   host:  steady_clock timestamps. Launches are synchronous there, so "now" is when the work ended.
// Usage: t.record(i) at each mark, mm::gpu::synchronize(), then t.seconds(a, b) for the span a -> b.
#pragma once
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>

#include "optimized/common/launch.h"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

#if defined(__CUDACC__)

class Event {
 public:
  Event() { check(cudaEventCreate(&e_), "cudaEventCreate"); }
  ~Event() { if (e_) cudaEventDestroy(e_); }
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Event& operator=(Event&& o) noexcept {
    std::swap(e_, o.e_);
    return *this;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void record(Stream s = nullptr) { check(cudaEventRecord(e_, s), "cudaEventRecord"); }
  // Seconds from `from` to this event; waits for this event (a no-op once the stream was synchronised).
  double seconds_since(const Event& from) const {
    check(cudaEventSynchronize(e_), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, from.e_, e_), "cudaEventElapsedTime");
    return 1e-3 * ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

#else

class Event {
 public:
  void record(Stream = nullptr) { t_ = std::chrono::steady_clock::now(); }
  double seconds_since(const Event& from) const { return std::chrono::duration<double>(t_ - from.t_).count(); }

 private:
  std::chrono::steady_clock::time_point t_{};
};

#endif

// Numbered marks, the events reused from call to call (created only when more marks are needed).
class EventTimer {
 public:
  void record(size_t mark, Stream s = nullptr) {
    while (events_.size() <= mark) events_.emplace_back();
    events_[mark].record(s);
  }
  // Seconds from mark a to mark b (both recorded in this round).
  double seconds(size_t a, size_t b) const {
    if (a >= events_.size() || b >= events_.size()) throw std::out_of_range("EventTimer: mark never recorded");
    return events_[b].seconds_since(events_[a]);
  }

 private:
  std::vector<Event> events_;
};

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
