// Embedding gather (optimized/embedding): every version under several emulator schedules and on the GPU
// when present; the gather is a copy, so the result must be bit-exact (and passes the FA rule with an
// error ratio of 0). Out-of-range ids: the runner throws mm::Error naming the id and position; the kernel
// itself never reads outside the table, writes a zero row and reports the first bad position.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"

#include <climits>
#include <functional>
#include <iostream>

#include "core/error.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_EMBEDDING_DECLARE_CUDA 1
#endif
#include "optimized/embedding/embedding_runner.cuh"

namespace {

namespace cpu = mm::embedding::backend_simt;

struct Backend {
  const char* name;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&, int, int, const std::vector<int>&)> run;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&, int, int, const std::vector<int>&, int*)>
      unchecked;
  bool emulated;
};

std::vector<uint16_t> run(const Backend& be, const std::function<std::vector<uint16_t>()>& f) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(f);
  return f();
}

void check_gather(const Backend& be, int vocab, int H, int tokens, uint64_t seed) {
  const auto table = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(vocab) * H, seed));
  mm::Rng r(seed + 1);
  std::vector<int> ids(static_cast<size_t>(tokens));
  for (auto& id : ids) id = static_cast<int>(r.below(vocab));
  if (tokens > 2) { ids[0] = 0; ids[1] = vocab - 1; }  // both ends of the table
  std::vector<uint16_t> want;
  for (int id : ids) want.insert(want.end(), table.begin() + static_cast<long>(id) * H, table.begin() + static_cast<long>(id + 1) * H);
  std::vector<double> oracle(want.size());
  const auto wantf = mm::kt::from_bf16_bits(want);
  for (size_t i = 0; i < want.size(); ++i) oracle[i] = wantf[i];
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " vocab=" + std::to_string(vocab) +
                             " H=" + std::to_string(H) + " T=" + std::to_string(tokens);
    const auto got = run(be, [&] { return be.run(v, table, vocab, H, ids); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    EXPECT_TRUE(mm::kt::same_bits(what, want, got));
    const auto res = mm::kt::passes_fa_rule(what, oracle, mm::kt::from_bf16_bits(got), wantf);
    std::cout << "[error-ratio] " << what << ": exact copy, max_abs " << mm::kt::error_stats(oracle, mm::kt::from_bf16_bits(got)).max_abs << " (ratio 0)\n";
    EXPECT_TRUE(res);
  }
}

void check_bad_ids(const Backend& be) {
  const int vocab = 50, H = 64;
  const auto table = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(vocab) * H, 3));
  const std::vector<int> ids = {3, 49, 50, -1, 7, 1000000};
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    try {
      be.run(v, table, vocab, H, ids);
      ADD_FAILURE() << "no mm::Error for id 50";
    } catch (const mm::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("token id 50"), std::string::npos) << msg;
      EXPECT_NE(msg.find("position 2"), std::string::npos) << msg;
    }
    int first_bad = -5;
    const auto got = be.unchecked(v, table, vocab, H, ids, &first_bad);
    EXPECT_EQ(first_bad, 2) << cpu::versions()[static_cast<size_t>(v)].name;
    for (size_t t = 0; t < ids.size(); ++t)
      for (int h = 0; h < H; ++h) {
        const uint16_t g = got[t * H + static_cast<size_t>(h)];
        const bool in = ids[t] >= 0 && ids[t] < vocab;
        ASSERT_EQ(g, in ? table[static_cast<size_t>(ids[t]) * H + static_cast<size_t>(h)] : uint16_t{0})
            << cpu::versions()[static_cast<size_t>(v)].name << " t=" << t << " h=" << h;
      }
    int none = -5;
    be.unchecked(v, table, vocab, H, {1, 2}, &none);
    EXPECT_EQ(none, INT_MAX);
  }
}

void run_suite(const Backend& be) {
  uint64_t seed = 900;
  for (int tokens : {1, 255, 256, 257}) check_gather(be, 1000, 64, tokens, seed += 10);
  check_gather(be, 300, 100, 37, seed += 10);    // H % 8 != 0: scalar path of v2
  check_gather(be, 40, 6144, 9, seed += 10);     // the real hidden size
  check_bad_ids(be);
}

TEST(OptEmbedding, SimtAllVersions) {
  run_suite({"simt", [](int v, auto... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return cpu::run_unchecked(cpu::versions()[static_cast<size_t>(v)], a...); },
             true});
}

TEST(OptEmbedding, EmptyAndBadShapes) {
  EXPECT_TRUE(cpu::run(cpu::versions()[1], std::vector<uint16_t>(80), 10, 8, {}).empty());
  EXPECT_THROW(cpu::run(cpu::versions()[0], std::vector<uint16_t>(79), 10, 8, {1}), std::invalid_argument);
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(), "v5_unknown", "embedding"), std::invalid_argument);
}

#if MM_CUDA
namespace gpu = mm::embedding::backend_cuda;
TEST(OptEmbedding, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return gpu::run_unchecked(gpu::versions()[static_cast<size_t>(v)], a...); },
             false});
}
#endif

}  // namespace
