// The JSON report every harness command writes (schema: docs/report-schema.md). The envelope records
// what is needed to reproduce and to compare: schema name + version, kind, command line, time, tool
// (git commit, dirty flag, build type), machine (CPU, cores, memory, OS, compiler, BLAS), model (source,
// full config, parameter count) and seeds, and whether the run completed (`complete`, `interrupted`:
// a run stopped by SIGINT / SIGTERM still writes what it measured); `result` holds the kind-specific part.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/interrupt.h"
#include "harness/backend.h"

namespace mm::harness {

constexpr const char* kReportSchema = "minimax01-report";
constexpr int kReportSchemaVersion = 2;  // 2: check judges layers teacher-forced, adds e2e.*

// A new report's envelope, "complete": true (mark_interrupted changes that).
nlohmann::json new_report(const std::string& kind, const std::string& command_line);
// An interrupted run's report (core/interrupt.h): "complete": false and "interrupted": {signal, during,
// steps_done, steps_total (null: open-ended)}. The result holds what was measured before the stop.
void mark_interrupted(nlohmann::json& report, const Interruption& where);
// True unless the report says "complete": false. A report written before the field existed is complete.
bool report_complete(const nlohmann::json& report);
// "interrupted by SIGINT during bench: ref-f32 TTFT S=8 rep 3/10, after 2 of 40 steps" (for messages).
std::string describe_interruption(const nlohmann::json& report);
nlohmann::json model_json(const LoadedModel& m, const std::string& label);
nlohmann::json machine_json();
// /proc/loadavg's 1, 5 and 15-minute load averages; empty where unreadable.
std::vector<double> load_average();
nlohmann::json tool_json();

// Writes pretty JSON, creating parent directories. Throws mm::Error naming the path on failure.
void write_report(const std::string& path, const nlohmann::json& report);
// The report as write_report writes it (for standard output: `--report -`).
std::string report_text(const nlohmann::json& report);
// Reports are untrusted input. parse_report_text parses `text` (named `name` in messages) through the
// bounded parser (core/file_io.h: size and nesting-depth limits, unique keys) and validates the whole
// shape compare and the HTML page read (harness/report_schema.h: the envelope, then the kind's result).
// Throws mm::Error naming `name` and what is wrong: not JSON (with the parse position), nested too
// deep, not a report, a newer schema, an unknown kind, or the JSON path of a missing key or wrong type.
nlohmann::json parse_report_text(std::string_view text, const std::string& name);
// Reads `path` (a regular file of bounded size: a FIFO or directory is refused by name) and passes its
// text to parse_report_text.
nlohmann::json read_report(const std::string& path);

}  // namespace mm::harness
