// minimax01 compare: regression gate between two reports of the same kind.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/compare.h"

namespace mm::cli {

int cmd_compare(const std::vector<std::string>& argv) {
  if (argv.size() < 2 || argv[0].rfind("--", 0) == 0 || argv[1].rfind("--", 0) == 0)
    throw UsageError("compare: usage: compare OLD.json NEW.json [--alpha A] [--threshold T] [--num-factor F] "
                     "[--uptime-drop P] [--allow-missing] [--allow-different-model]");
  Args a("compare", std::vector<std::string>(argv.begin() + 2, argv.end()), {"alpha", "threshold", "num-factor", "uptime-drop"},
         {"allow-missing", "allow-different-model"});
  harness::CompareOptions opt;
  opt.alpha = a.number("alpha", opt.alpha, 0.0, 1.0, Bounds::Open);
  opt.time_threshold = a.number("threshold", opt.time_threshold, 0.0, 100.0);
  opt.num_factor = a.number("num-factor", opt.num_factor, 1.0, 1e6);
  opt.uptime_drop = a.number("uptime-drop", opt.uptime_drop, 0.0, 100.0);
  opt.allow_missing = a.has("allow-missing");
  opt.allow_different_model = a.has("allow-different-model");
  const auto o = harness::read_compare_input(argv[0]);
  const auto n = harness::read_compare_input(argv[1]);
  const auto r = harness::compare_reports(o, n, opt, argv[0], argv[1]);
  std::fputs(harness::summary(r).c_str(), stdout);
  return r.regressions ? 1 : 0;
}

}  // namespace mm::cli
