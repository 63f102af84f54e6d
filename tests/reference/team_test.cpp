// The reference's thread team (reference/team.h) and the single-threaded BLAS scope (reference/blas_cpu.h):
// every item in exactly one block, every part run once with the count actually run, an exception in a
// part thrown once all parts finished, small work on the caller, and OpenBLAS's count held at 1 inside
// the scope (blas_threads() still the outside count) and restored after it, nested scopes included.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "ref_test_util.h"
#include "reference/blas_cpu.h"
#include "reference/team.h"

namespace mm::reftest {
namespace {

TEST(Team, BlocksCoverEveryItemOnceAligned) {
  for (const int64_t align : {1, 4, 16})
    for (const int64_t n : {0, 1, 3, 15, 16, 17, 577, 1024, 4101})
      for (int parts = 1; parts <= 8; ++parts) {
        std::vector<int> seen(static_cast<std::size_t>(n), 0);
        for (int p = 0; p < parts; ++p) {
          int64_t first = -1;
          const int64_t k = ref::team_block(p, parts, n, align, &first);
          ASSERT_GE(k, 0);
          ASSERT_GE(first, 0);
          if (k > 0 && first + k < n) {
            EXPECT_EQ(k % align, 0) << "n " << n << " parts " << parts << " part " << p;
          }
          for (int64_t i = first; i < first + k; ++i) ++seen[static_cast<std::size_t>(i)];
        }
        for (int64_t i = 0; i < n; ++i)
          EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "n " << n << " parts " << parts << " item " << i;
      }
}

TEST(Team, RunsEveryPartOnceWithTheCountRun) {
  const int cap = ref::team_helpers() + 1;
  ASSERT_GE(cap, 4);  // at least 3 helpers (team.h)
  for (int parts = 0; parts <= cap + 2; ++parts) {
    const int want = std::clamp(parts, 1, cap);
    std::vector<std::atomic<int>> calls(static_cast<std::size_t>(cap + 2));
    std::atomic<int> wrong_count{0};
    std::thread::id part0;
    ref::run_team(parts, [&](int part, int n) {
      ++calls[static_cast<std::size_t>(part)];
      if (n != want) ++wrong_count;
      if (part == 0) part0 = std::this_thread::get_id();
    });
    EXPECT_EQ(wrong_count.load(), 0) << "parts " << parts;
    for (int p = 0; p < cap + 2; ++p) EXPECT_EQ(calls[static_cast<std::size_t>(p)].load(), p < want ? 1 : 0) << parts;
    EXPECT_EQ(part0, std::this_thread::get_id()) << "part 0 runs on the caller";
  }
}

// A part that throws: every other part still runs to its end, then run_team throws the exception.
TEST(Team, AnExceptionInAPartIsThrownAfterEveryPartFinished) {
  for (const int thrower : {0, 1, 3}) {
    std::atomic<int> finished{0};
    EXPECT_THROW(ref::run_team(4,
                               [&](int part, int) {
                                 if (part == thrower) throw std::runtime_error("part " + std::to_string(part));
                                 std::this_thread::sleep_for(std::chrono::milliseconds(20));
                                 ++finished;
                               }),
                 std::runtime_error)
        << "thrower " << thrower;
    EXPECT_EQ(finished.load(), 3) << "thrower " << thrower;
  }
}

TEST(Team, SmallWorkRunsOnTheCallerLargeWorkIsSplit) {
  const ScopedBlasThreads two(2);
  if (!ScopedBlasThreads::ok()) GTEST_SKIP() << "not OpenBLAS: the team size is 1";
  const auto me = std::this_thread::get_id();
  std::vector<std::pair<int64_t, int64_t>> blocks;
  std::mutex m;
  bool off_caller = false;
  auto record = [&](int64_t i0, int64_t i1) {
    const std::lock_guard<std::mutex> lock(m);
    blocks.emplace_back(i0, i1);
    off_caller = off_caller || std::this_thread::get_id() != me;
  };
  ref::team_for(577, 1, ref::kTeamMinWork - 1, record);
  EXPECT_EQ(blocks, (std::vector<std::pair<int64_t, int64_t>>{{0, 577}}));
  EXPECT_FALSE(off_caller);
  blocks.clear();
  ref::team_for(1024, 16, ref::kTeamMinWork, record);
  std::sort(blocks.begin(), blocks.end());
  EXPECT_EQ(blocks, (std::vector<std::pair<int64_t, int64_t>>{{0, 512}, {512, 1024}}));
  EXPECT_TRUE(off_caller);
}

TEST(SingleThreadedBlas, HoldsOpenBlasAtOneAndRestores) {
  if (!ScopedBlasThreads::ok()) GTEST_SKIP() << "not OpenBLAS";
  const ScopedBlasThreads three(3);
  ASSERT_EQ(ref::blas_threads(), 3);
  {
    const ref::SingleThreadedBlas one;
    EXPECT_EQ(openblas_get_num_threads(), 1);
    EXPECT_EQ(ref::blas_threads(), 3) << "the team's size is the count outside the scope";
    {
      const ref::SingleThreadedBlas nested;
      EXPECT_EQ(openblas_get_num_threads(), 1);
      EXPECT_EQ(ref::blas_threads(), 3);
    }
    EXPECT_EQ(openblas_get_num_threads(), 1) << "a nested scope leaves the restoring to the outer one";
  }
  EXPECT_EQ(openblas_get_num_threads(), 3);
  EXPECT_EQ(ref::blas_threads(), 3);
  const ScopedBlasThreads single(1);
  {
    const ref::SingleThreadedBlas one;
    EXPECT_EQ(ref::blas_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), 1);
}

}  // namespace
}  // namespace mm::reftest
