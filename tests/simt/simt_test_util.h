// Helpers for the SIMT tests: run a launch under every schedule and compare results bit for bit.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "optimized/common/device.cuh"

namespace mm::simt::test {

struct NamedOptions {
  const char* name;
  LaunchOptions opt;
};

inline std::vector<NamedOptions> all_schedules() {
  std::vector<NamedOptions> v;
  LaunchOptions o;
  o.order = Order::forward;
  v.push_back({"forward", o});
  o.order = Order::reverse;
  v.push_back({"reverse", o});
  o.order = Order::random;
  o.seed = 7;
  v.push_back({"random7", o});
  o.seed = 12345;
  v.push_back({"random12345", o});
  o.order = Order::random;
  o.os_threads = 2;
  v.push_back({"random-2-os-threads", o});
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Runs `run` under every schedule; every result must have the same bits as the first.
template <class T>
std::vector<T> run_all_schedules(const std::function<std::vector<T>()>& run) {
  std::vector<T> first;
  for (const NamedOptions& s : all_schedules()) {
    ScopedLaunchOptions scope(s.opt);
    std::vector<T> r = run();
    if (first.empty()) first = r;
    else EXPECT_TRUE(same_bits(first, r)) << "schedule " << s.name << " changed the result";
  }
  return first;
}

inline bool is_poison(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u == 0xFFFFFFFFu;
}

}  // namespace mm::simt::test
