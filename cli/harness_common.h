// What the harness subcommands (check, bench, soak) share: model selection flags, the report path,
// and writing the report + printing where it went.
#pragma once
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/output_guard.h"
#include "cli/stdout_document.h"
#include "core/interrupt.h"
#include "harness/model_source.h"
#include "harness/report.h"
#include "harness/run_memory.h"

namespace mm::cli {

// --weights (default auto), read before any model is loaded or written.
inline WeightResidency weights_option(const Args& a) { return parse_weight_residency(a.str("weights", "auto")); }

// Refuses, before anything is loaded, a text run whose predicted peak (harness/run_memory.h: what `info
// --backend` prints) exceeds this machine's memory, with that figure. Left to the checks that follow:
// MiniMax-VL-01 models (the prediction does not count a vision tower; their loaders check), backends the
// prediction does not know (a registered test backend), and a run past max_position_embeddings (the
// model refuses it by its position, the clearer reason).
inline void require_run_memory(const harness::LoadedModel& m, const std::string& backend, int64_t prompt,
                               int64_t decode, bool all_logits, bool capture, const std::string& command) {
  if (m.vl || !harness::run_memory_known(backend) || prompt + decode > m.config.max_position_embeddings) return;
  harness::RunMemoryRequest r;
  r.backend = backend;
  r.weights = m.weights;
  r.prompt = prompt;
  r.decode = decode;
  r.all_logits = all_logits;
  r.capture = capture;
  const harness::RunMemory need = harness::estimate_run_memory(m.config, r);
  require_memory(need.host, command + ": this run (" + backend + ", weights " + to_string(need.residency) + ", " +
                                std::to_string(prompt) + " prompt + " + std::to_string(decode) + " decode tokens; " +
                                "info --backend prints the parts)");
}

// --model DIR | --preset NAME | neither (the built-in default: preset tiny); --weight-seed for presets.
inline harness::ModelSource harness_model(const Args& a) {
  const WeightResidency weights = weights_option(a);  // before the model is written
  harness::ModelSource src = harness::resolve_model(a.str("model", ""), a.str("preset", ""), a.seed("weight-seed"));
  src.model.weights = weights;
  return src;
}

inline std::string command_line(const std::string& cmd, const std::vector<std::string>& argv) {
  std::string s = "minimax01 " + cmd;
  for (const auto& x : argv) s += " " + x;
  return s;
}

// The --report path (default `def`), refused before anything runs if it is one of the run's inputs;
// '-' is standard output (the command then holds a StdoutDocument for it).
inline std::string report_output(const Args& a, const std::string& def) {
  const std::string path = a.str("report", def);
  if (!is_stdout_path(path)) refuse_input_as_output(a, "report", path);
  return path;
}

// Writes the report (through a temporary file renamed into place: core/file_io.h) and returns the exit
// code: `verdict`, or for a run stopped by SIGINT / SIGTERM (core/interrupt.h) kExitInterrupted, after
// marking the report "complete": false and saying on stderr what was interrupted and where the partial
// report went.
// `out` is the command's StdoutDocument: active when the path is '-', and the report then goes there.
inline int finish_report(nlohmann::json& rep, const std::string& path, const std::string& cmd,
                         const std::optional<Interruption>& stopped, int verdict, StdoutDocument& out) {
  if (stopped) harness::mark_interrupted(rep, *stopped);
  if (out.active()) {
    out.write(harness::report_text(rep));
    std::printf("report: standard output\n");  // to standard error while `out` is active
  } else {
    harness::write_report(path, rep);
    std::printf("report: %s\n", path.c_str());
  }
  if (!stopped) return verdict;
  std::fflush(stdout);
  std::fprintf(stderr, "minimax01 %s: %s; partial report written to %s (complete: false)\n", cmd.c_str(),
               harness::describe_interruption(rep).c_str(), out.active() ? "standard output" : path.c_str());
  return kExitInterrupted;
}

}  // namespace mm::cli
