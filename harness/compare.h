// `minimax01 compare OLD.json NEW.json`: a regression gate between two reports of the same kind.
//   check: a tensor (backend, name) that passed and now fails, or whose rel_fro grew by more than
//          `num_factor` x (+ floor): numerical regression. A backend whose status went pass -> fail/error.
//   bench: per series (backend, phase, length): the repetitions of OLD and NEW go through a two-sided
//          Mann-Whitney U test (Google Benchmark tools/compare.py, alpha 0.05); a regression is a
//          significant (p < alpha) slowdown of the median by more than `time_threshold` (5 %). With fewer
//          than 9 repetitions a side the test is weak (compare.py's warning) and we say so.
//   soak:  uptime lower by more than `uptime_drop` percentage points (or none: null, no request had an
//          outcome), more injected faults missed, or more failures no injection explains.
//   gbench: Google Benchmark JSON (the kernel and reference benchmarks, --benchmark_format=json with
//          --benchmark_repetitions): per benchmark run name, the repetitions' real times through the same
//          U test as bench. Recognised by its top-level "context" and "benchmarks".
// Nothing may look clean by measuring less: a backend, tensor, golden check, series or benchmark present
// in the old report and missing from the new one is a regression unless `allow_missing` (then a warning).
// Reports of different models (model.config) are refused unless `allow_different_model`; a different
// machine (CPU, cores, memory, BLAS, GPU; Google Benchmark's host, CPUs, clock, build type) is a warning.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mm::harness {

struct CompareOptions {
  double alpha = 0.05;
  double time_threshold = 0.05;
  double num_factor = 2.0;
  double num_floor = 1e-12;
  double uptime_drop = 1.0;  // percentage points
  bool allow_missing = false;          // a baseline entry missing from the new report: warning, not regression
  bool allow_different_model = false;  // compare reports of different model configs (warning)
};

struct CompareLine {
  std::string what;     // "ref-f32 ttft S=256", "ref-f32 layers.3.output"
  std::string detail;   // numbers
  bool regression = false, improvement = false;
};

struct CompareResult {
  std::string kind;
  std::vector<CompareLine> lines;
  std::vector<std::string> warnings;
  int regressions = 0;
};

// True for a Google Benchmark JSON document (top-level "context" object and "benchmarks" array, no "schema").
bool is_gbench_json(const nlohmann::json& j);

// What `compare` reads from a file: a Google Benchmark document as it is, or a minimax01 report read and
// validated as read_report does (errors name the file).
nlohmann::json read_compare_input(const std::string& path);

// Reads both reports through harness/report_schema.h's JsonView: a missing key or a wrong type is an
// mm::Error naming the report (`old_name` / `new_name`) and the JSON path, even for a report that did
// not come through read_report. Reports of different kinds or schema versions are refused. Two Google
// Benchmark documents (is_gbench_json) are compared as kind "gbench".
CompareResult compare_reports(const nlohmann::json& old_r, const nlohmann::json& new_r, const CompareOptions& opt,
                              const std::string& old_name = "the old report",
                              const std::string& new_name = "the new report");
std::string summary(const CompareResult& r);

}  // namespace mm::harness
