// minimax01 compare: regression gate between two reports of the same kind.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/compare.h"

namespace mm::cli {

int cmd_compare(const std::vector<std::string>& argv) {
  const Args a(command_spec("compare"), argv);
  const std::string& old_path = a.positionals()[0];
  const std::string& new_path = a.positionals()[1];
  harness::CompareOptions opt;
  opt.alpha = a.number("alpha", opt.alpha, 0.0, 1.0, Bounds::Open);
  opt.time_threshold = a.number("threshold", opt.time_threshold, 0.0, 100.0);
  opt.num_factor = a.number("num-factor", opt.num_factor, 1.0, 1e6);
  opt.uptime_drop = a.number("uptime-drop", opt.uptime_drop, 0.0, 100.0);
  opt.allow_missing = a.has("allow-missing");
  opt.allow_different_model = a.has("allow-different-model");
  const auto o = harness::read_compare_input(old_path);
  const auto n = harness::read_compare_input(new_path);
  const auto r = harness::compare_reports(o, n, opt, old_path, new_path);
  std::fputs(harness::summary(r).c_str(), stdout);
  return r.regressions ? 1 : 0;
}

}  // namespace mm::cli
