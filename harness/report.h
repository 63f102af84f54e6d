// The JSON report every harness command writes (schema: docs/report-schema.md). The envelope records
// what is needed to reproduce and to compare: schema name + version, kind, command line, time, tool
// (git commit, dirty flag, build type), machine (CPU, cores, memory, OS, compiler, BLAS), model (source,
// full config, parameter count) and seeds; `result` holds the kind-specific part.
#pragma once
#include <string>

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
// Reads and validates the envelope (schema name, version, kind, result). Throws mm::Error naming the
// file and what is wrong: unreadable, not JSON (with the parse position), not a report, newer schema.
nlohmann::json read_report(const std::string& path);

}  // namespace mm::harness
