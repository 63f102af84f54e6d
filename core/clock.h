// The one monotonic clock of the host-side timings (forward/generate summaries, bench, soak, the
// reference's per-layer times), and the one way to turn two of its points into seconds.
#pragma once
#include <chrono>

namespace mm {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}
inline double seconds_since(SteadyClock::time_point from) { return seconds_between(from, SteadyClock::now()); }

}  // namespace mm
