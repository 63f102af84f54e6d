#include "reference/team.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>

#define EIGEN_USE_THREADS
#include <unsupported/Eigen/CXX11/ThreadPool>

#include "reference/blas_cpu.h"

namespace mm::ref {
namespace {

Eigen::ThreadPool& helpers() {
  static std::unique_ptr<Eigen::ThreadPool> pool;
  static std::once_flag once;
  std::call_once(once, [] { pool = std::make_unique<Eigen::ThreadPool>(std::max(3, blas_threads() - 1)); });
  return *pool;
}

}  // namespace

int team_helpers() { return helpers().NumThreads(); }

void run_team(int parts, const std::function<void(int part, int parts)>& fn) {
  if (parts <= 1) {
    fn(0, 1);
    return;
  }
  parts = std::min(parts, team_helpers() + 1);
  // A part that throws (bad_alloc) must not end the process on a helper, nor unwind the caller while
  // helpers still use this frame: every part's first exception is kept, all parts are waited for, then
  // the first one is thrown again.
  std::mutex m;
  std::exception_ptr first;
  auto guarded = [&](int part) {
    try {
      fn(part, parts);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(m);
      if (!first) first = std::current_exception();
    }
  };
  Eigen::Barrier done(static_cast<unsigned>(parts - 1));
  for (int i = 1; i < parts; ++i)
    helpers().Schedule([&, i] {
      guarded(i);
      done.Notify();
    });
  guarded(0);
  done.Wait();
  if (first) std::rethrow_exception(first);
}

int64_t team_block(int part, int parts, int64_t n, int64_t align, int64_t* first) {
  const int64_t per = ((n + parts - 1) / parts + align - 1) / align * align;
  *first = std::min(n, part * per);
  return std::min(n, *first + per) - *first;
}

void team_for(int64_t n, int64_t align, int64_t work, const std::function<void(int64_t i0, int64_t i1)>& fn) {
  const int parts =
      work >= kTeamMinWork ? static_cast<int>(std::min<int64_t>(blas_team_threads(), (n + align - 1) / align)) : 1;
  run_team(parts, [&](int part, int n_parts) {
    int64_t i0 = 0;
    const int64_t k = team_block(part, n_parts, n, align, &i0);
    if (k > 0) fn(i0, i0 + k);
  });
}

}  // namespace mm::ref
