// Counter-based, platform-independent random numbers (std::normal_distribution is implementation-defined,
// so checkpoints and test inputs would differ between standard libraries).
#pragma once
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mm {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t hash_string(std::string_view s, uint64_t seed = 0) {  // FNV-1a then mixed
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return splitmix64(h);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(splitmix64(seed)) {}
  uint64_t next() { return splitmix64(state_++); }
  // Moves past n draws of next() as if they had been made: a stream can be picked up at any point, so
  // the chunks of a tensor too large to generate at once come out the same as the whole.
  // uniform() is one draw, normal() two.
  void skip(uint64_t n) { state_ += n; }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box-Muller, one value per call
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  // n token ids below `vocab` (the seeded inputs of check, bench and the model tests)
  std::vector<int64_t> tokens(int64_t n, int64_t vocab) {
    std::vector<int64_t> v(static_cast<std::size_t>(n));
    for (auto& t : v) t = below(vocab);
    return v;
  }

 private:
  uint64_t state_;
};

}  // namespace mm
