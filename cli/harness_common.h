// What the harness subcommands (check, bench, soak) share: model selection flags, the report path,
// and writing the report + printing where it went.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/output_guard.h"
#include "harness/model_source.h"
#include "harness/report.h"

namespace mm::cli {

// --model DIR | --preset NAME | neither (the built-in default: preset tiny); --weight-seed for presets.
inline harness::ModelSource harness_model(const Args& a) {
  return harness::resolve_model(a.str("model", ""), a.str("preset", ""),
                                a.seed("weight-seed"));
}

inline std::string command_line(const std::string& cmd, const std::vector<std::string>& argv) {
  std::string s = "minimax01 " + cmd;
  for (const auto& x : argv) s += " " + x;
  return s;
}

// The --report path (default `def`), refused before anything runs if it is one of the run's inputs.
inline std::string report_output(const Args& a, const std::string& def) {
  const std::string path = a.str("report", def);
  refuse_input_as_output(a, "report", path);
  return path;
}

inline void finish_report(nlohmann::json& rep, const std::string& path) {
  harness::write_report(path, rep);
  std::printf("report: %s\n", path.c_str());
}

}  // namespace mm::cli
