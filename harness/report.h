// The JSON report every harness command writes (schema: docs/report-schema.md). The envelope records
// what is needed to reproduce and to compare: schema name + version, kind, command line, time, tool
// (git commit, dirty flag, build type), machine (CPU, cores, memory, OS, compiler, BLAS), model (source,
// full config, parameter count) and seeds; `result` holds the kind-specific part.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "harness/backend.h"

namespace mm::harness {

constexpr const char* kReportSchema = "minimax01-report";
constexpr int kReportSchemaVersion = 2;  // 2: check judges layers teacher-forced, adds e2e.*

nlohmann::json new_report(const std::string& kind, const std::string& command_line);
nlohmann::json model_json(const LoadedModel& m, const std::string& label);
nlohmann::json machine_json();
nlohmann::json tool_json();

// Writes pretty JSON, creating parent directories. Throws mm::Error naming the path on failure.
void write_report(const std::string& path, const nlohmann::json& report);
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
