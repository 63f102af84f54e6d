// On-device sampling (optimized/sampling): token ids must equal reference/sampling.cpp's sample_token
// exactly, for the same uniform draw (mm::Rng(seed).uniform(), the one draw sample_token makes), over
// many seeded rows and draws: greedy, temperature, top-k, top-p, ties (stable order by id, -0.0 vs +0.0),
// -inf logits, exact top_p boundaries and u at the edges of [0, 1). Emulator schedules must agree.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"

#include <cmath>
#include <functional>
#include <iostream>
#include <limits>

#include "core/error.h"
#include "reference/sampling.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_SAMPLING_DECLARE_CUDA 1
#endif
#include "optimized/sampling/sampling_runner.cuh"

namespace {

namespace cpu = mm::sampling::backend_simt;

using RunFn = std::function<std::vector<int>(int, const std::vector<float>&, int, int, double, int, double,
                                             const std::vector<double>&)>;
struct Backend {
  const char* name;
  RunFn run;
  bool emulated;
};

// Logit rows of several kinds (all finite unless noted).
std::vector<float> make_row(int kind, int V, uint64_t seed) {
  mm::Rng r(seed);
  std::vector<float> v(static_cast<size_t>(V));
  for (int i = 0; i < V; ++i) {
    const double z = r.normal();
    switch (kind) {
      case 0: v[i] = static_cast<float>(3.0 * z); break;                     // generic
      case 1: v[i] = static_cast<float>(std::round(2.0 * z) * 0.5); break;   // many ties, incl. -0.0 / +0.0
      case 2: v[i] = 1.25f; break;                                           // all equal
      case 3: v[i] = i % 7 == 3 ? -INFINITY : static_cast<float>(z); break;  // -inf entries
      case 4: v[i] = static_cast<float>(z) + (i == V / 3 ? 12.0f : 0.0f); break;  // one dominant token
      default: v[i] = static_cast<float>(20.0 * z); break;                   // wide range (tiny tails)
    }
  }
  if (kind == 1) for (int i = 0; i < V; i += 5) v[i] = (i / 5) % 2 ? -0.0f : 0.0f;
  return v;
}

// splitmix64 is a bijection; its inverse lets a test pick the reference's uniform draw exactly.
uint64_t inv_xorshift(uint64_t y, int s) {
  uint64_t x = y;
  for (int i = 0; i < 64 / s + 1; ++i) x = y ^ (x >> s);
  return x;
}
uint64_t inv_mul(uint64_t m) {  // inverse of an odd m modulo 2^64 (Newton)
  uint64_t x = m;
  for (int i = 0; i < 6; ++i) x *= 2 - m * x;
  return x;
}
uint64_t unsplitmix64(uint64_t z) {
  z = inv_xorshift(z, 31);
  z *= inv_mul(0x94d049bb133111ebull);
  z = inv_xorshift(z, 27);
  z *= inv_mul(0xbf58476d1ce4e5b9ull);
  z = inv_xorshift(z, 30);
  return z - 0x9e3779b97f4a7c15ull;
}
// A seed whose mm::Rng's first uniform() is exactly u (u a multiple of 2^-53 in [0, 1)).
uint64_t seed_for_uniform(double u) {
  const uint64_t target = static_cast<uint64_t>(u * 0x1.0p53) << 11;
  return unsplitmix64(unsplitmix64(target));
}

int64_t reference_token(const std::vector<float>& row, double T, int top_k, double top_p, uint64_t seed) {
  mm::ref::SamplingParams p;
  p.temperature = T;
  p.top_k = top_k;
  p.top_p = top_p;
  mm::Rng rng(seed);
  return mm::ref::sample_token(std::vector<double>(row.begin(), row.end()), p, rng);
}

// rows x draws: each row of `kind`, one uniform per row from its seed; compares every token.
int check_rows(const Backend& be, int kind, int V, int rows, double T, int top_k, double top_p, uint64_t seed,
               bool all_schedules) {
  std::vector<float> logits;
  std::vector<double> us;
  std::vector<int64_t> want;
  for (int b = 0; b < rows; ++b) {
    const auto row = make_row(kind, V, seed + 1000 * static_cast<uint64_t>(b));
    logits.insert(logits.end(), row.begin(), row.end());
    const uint64_t useed = seed * 7919 + static_cast<uint64_t>(b);
    us.push_back(mm::Rng(useed).uniform());
    want.push_back(reference_token(row, T, top_k, top_p, useed));
  }
  int mismatches = 0;
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    auto f = [&] { return be.run(v, logits, rows, V, T, top_k, top_p, us); };
    const auto got = be.emulated && all_schedules ? mm::simt::test::run_all_schedules<int>(f) : f();
    EXPECT_EQ(got.size(), static_cast<size_t>(rows)) << be.name << " " << cpu::versions()[static_cast<size_t>(v)].name;
    if (got.size() != static_cast<size_t>(rows)) return mismatches + rows;
    for (int b = 0; b < rows; ++b) {
      if (got[b] != want[b]) ++mismatches;
      EXPECT_EQ(got[b], want[b]) << be.name << " " << cpu::versions()[static_cast<size_t>(v)].name << " kind=" << kind << " V=" << V
                                 << " T=" << T << " top_k=" << top_k << " top_p=" << top_p << " row=" << b
                                 << " u=" << us[b];
    }
  }
  return mismatches;
}

void run_suite(const Backend& be, bool large) {
  uint64_t seed = 1;
  int compared = 0, mismatches = 0;
  const int V = 1000;
  bool first = true;
  for (int kind = 0; kind < 6; ++kind)
    for (double T : {0.0, 0.7, 1.0, 1.5})
      for (int top_k : {0, 1, 3, 50, V, V + 5})
        for (double top_p : {1.0, 0.9, 0.5, 1e-6}) {
          if (T == 0.0 && (top_k != 0 || top_p != 1.0)) continue;  // greedy ignores the filters
          mismatches += check_rows(be, kind, V, 6, T, top_k, top_p, ++seed, first);
          compared += 6;
          first = false;
        }
  // odd sizes, a single logit
  for (int v : {1, 2, 31, 257, 4099}) {
    mismatches += check_rows(be, 0, v, 3, 1.0, 0, 0.95, ++seed, true);
    mismatches += check_rows(be, 1, v, 3, 0.0, 0, 1.0, ++seed, false);
    compared += 6;
  }
  if (large) {  // the real vocabulary
    mismatches += check_rows(be, 0, 200064, 2, 0.0, 0, 1.0, ++seed, false);
    mismatches += check_rows(be, 4, 200064, 1, 0.8, 40, 0.9, ++seed, false);
    mismatches += check_rows(be, 0, 200064, 1, 1.0, 0, 1.0, ++seed, false);
    compared += 4;
  }
  std::cout << "[tokens] " << be.name << ": " << compared << " rows x " << cpu::versions().size()
            << " versions compared with sample_token, " << mismatches << " mismatches\n";
}

TEST(OptSampling, SimtMatchesReferenceTokens) {
  run_suite({"simt", [](int v, auto... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); }, true},
            true);
}

TEST(OptSampling, SeedForUniformInvertsTheRng) {
  for (double u : {0.0, 0.5, 0.75 + 0x1.0p-52, 1.0 - 0x1.0p-53, 0x1.0p-53})
    EXPECT_EQ(mm::Rng(seed_for_uniform(u)).uniform(), u) << u;
}

// u at the very top of [0, 1) on rows with long excluded tails (v2's exact cut and its v1 fallback),
// and u right at / around cumulative boundaries, all against the reference with the same u.
TEST(OptSampling, EdgeUniformsMatchReference) {
  const double us[] = {0.0, 0x1.0p-53, 0.5, 1.0 - 0x1.0p-53, 1.0 - 0x1.0p-52, 1.0 - 0x1.0p-50, 1.0 - 0x1.0p-40};
  int compared = 0;
  for (int kind : {0, 1, 2, 3, 5})
    for (int V : {5, 300, 5000})
      for (int top_k : {0, 3, V})
        for (double top_p : {1.0, 0.9, 1.0 - 0x1.0p-50}) {
          const auto row = make_row(kind, V, static_cast<uint64_t>(kind * 100 + V));
          std::vector<float> logits;
          std::vector<double> uu;
          std::vector<int64_t> want;
          for (double u : us) {
            logits.insert(logits.end(), row.begin(), row.end());
            uu.push_back(u);
            want.push_back(reference_token(row, 1.0, top_k, top_p, seed_for_uniform(u)));
          }
          const int rows = static_cast<int>(uu.size());
          for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
            const auto got = cpu::run(cpu::versions()[static_cast<size_t>(v)], logits, rows, V, 1.0, top_k, top_p, uu);
            for (int b = 0; b < rows; ++b)
              EXPECT_EQ(got[b], want[b]) << cpu::versions()[static_cast<size_t>(v)].name << " kind=" << kind << " V=" << V << " top_k=" << top_k
                                         << " top_p=" << top_p << " u=" << uu[b];
          }
          compared += rows;
        }
  std::cout << "[tokens] edge uniforms: " << compared << " rows x " << cpu::versions().size() << " versions\n";
}

TEST(OptSampling, ExactTopPBoundariesAndEdgeUniforms) {
  // Four equal logits: probabilities exactly 0.25; top_p 0.5 keeps exactly 2 (cum reaches 0.5 exactly),
  // top_p 0.75 keeps 3. Tokens by hand: u < cum picks the first id whose cumulative mass exceeds u.
  const std::vector<float> eq = {2.0f, 2.0f, 2.0f, 2.0f};
  const double below1 = 1.0 - 0x1.0p-53;
  struct Case { double top_p, u; int want; };
  const Case cases[] = {{0.5, 0.0, 0},  {0.5, 0.5, 1},   {0.5, 0.49999999, 0}, {0.5, below1, 1},
                        {0.75, 0.0, 0}, {0.75, below1, 2}, {1.0, 0.25, 1},     {1.0, below1, 3},
                        {1e-9, below1, 0}, {0.25, 0.9, 0}};
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v)
    for (const Case& c : cases) {
      const auto got = cpu::run(cpu::versions()[static_cast<size_t>(v)], eq, 1, 4, 1.0, 0, c.top_p, {c.u});
      EXPECT_EQ(got[0], c.want) << "top_p=" << c.top_p << " u=" << c.u;
    }
  // -0.0 and +0.0 tie: the lower id first; top_k=1 keeps it whatever u is
  const std::vector<float> z = {-1.0f, 0.0f, -0.0f, -3.0f};
  const std::vector<float> zr = {-1.0f, -0.0f, 0.0f, -3.0f};
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    EXPECT_EQ(cpu::run(cpu::versions()[static_cast<size_t>(v)], z, 1, 4, 1.0, 1, 1.0, {below1})[0], 1);
    EXPECT_EQ(cpu::run(cpu::versions()[static_cast<size_t>(v)], zr, 1, 4, 1.0, 1, 1.0, {below1})[0], 1);
    EXPECT_EQ(cpu::run(cpu::versions()[static_cast<size_t>(v)], zr, 1, 4, 0.0, 0, 1.0, {0.0})[0], 1);  // greedy: first of the tied max
  }
}

TEST(OptSampling, GreedyTiesAcrossChunks) {
  // v2's greedy splits a row into 2048-logit chunks: ties across chunk boundaries go to the lowest id.
  const int V = 6000;
  std::vector<float> row(V, -1.0f);
  for (int i : {5000, 2048, 2047, 4096}) row[static_cast<size_t>(i)] = 3.5f;
  std::vector<float> neg(V, -INFINITY), late(V, -2.0f);
  late[V - 1] = 0.0f;
  late[V - 2] = -0.0f;  // -0.0 == +0.0: the lower id wins
  std::vector<float> logits = row;
  logits.insert(logits.end(), neg.begin(), neg.end());
  logits.insert(logits.end(), late.begin(), late.end());
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const auto got = mm::simt::test::run_all_schedules<int>(
        [&] { return cpu::run(cpu::versions()[static_cast<size_t>(v)], logits, 3, V, 0.0, 0, 1.0, {0.5, 0.5, 0.5}); });
    EXPECT_EQ(got, (std::vector<int>{2047, 0, V - 2})) << cpu::versions()[static_cast<size_t>(v)].name;
  }
}

TEST(OptSampling, ValidatesLikeTheReference) {
  const std::vector<float> l = {1.0f, 2.0f};
  EXPECT_THROW(cpu::run(cpu::versions()[0], l, 1, 2, -1.0, 0, 1.0, {0.5}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], l, 1, 2, 1.0, -1, 1.0, {0.5}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], l, 1, 2, 1.0, 0, 0.0, {0.5}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], l, 1, 2, 1.0, 0, 1.5, {0.5}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], {1.0f, NAN}, 1, 2, 0.0, 0, 1.0, {0.5}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], l, 1, 2, 1.0, 0, 1.0, {1.0}), mm::Error);
  EXPECT_THROW(cpu::run(cpu::versions()[0], {}, 1, 0, 1.0, 0, 1.0, {0.5}), mm::Error);
}

#if MM_CUDA
namespace gpu = mm::sampling::backend_cuda;
TEST(OptSampling, CudaMatchesReferenceTokens) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); }, false},
            true);
}
#endif

}  // namespace
