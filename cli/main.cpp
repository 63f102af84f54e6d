// minimax01: command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/version.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/safetensors.h"
#include "reference/blas_cpu.h"

namespace {

// Exit codes (docs/harness.md, "Exit codes"): 0 success; 1 the verdict is FAIL or compare found a regression
// (returned by the commands); 2 the command line is wrong; 3 the run failed (a bad file, a bad input, an
// unavailable backend, out of memory); 130 (mm::kExitInterrupted) SIGINT or SIGTERM stopped the run
// (core/interrupt.h: check, bench and soak write a partial report first, forward and generate nothing).
constexpr int kExitUsage = 2, kExitRuntime = 3;

// "minimax01 forward: error: WHAT". Many messages already begin with the command's name (the parser's
// "forward: option '--model' is empty"): those read "minimax01: usage error: forward: ...", the name once.
void report_error(const std::string& cmd, const char* kind, const std::string& what) {
  if (what.rfind(cmd + ": ", 0) == 0) std::fprintf(stderr, "minimax01: %s: %s\n", kind, what.c_str());
  else std::fprintf(stderr, "minimax01 %s: %s: %s\n", cmd.c_str(), kind, what.c_str());
}

// `minimax01 --help`: the commands' one-line summaries come from their declarations (command_specs.cpp).
std::string usage() {
  std::string s =
      "minimax01 - reference, kernels and verification harness for MiniMax-01\n\n"
      "usage: minimax01 <command> [options]\n"
      "       minimax01 --version | --help\n\n"
      "commands:\n";
  for (const auto& c : mm::cli::commands()) {
    std::string name = c.name;
    name.resize(std::max<std::size_t>(name.size() + 2, 12), ' ');
    s += "  " + name + mm::cli::command_spec(c.name).summary + "\n";
  }
  s += "\nrun 'minimax01 <command> --help' for the options of a command.\n"
       "exit codes: 0 success, 1 verdict FAIL or a regression (check, compare, ...), 2 usage error, 3 runtime error,\n"
       "  130 interrupted (SIGINT / SIGTERM: the run stops at the next step boundary; check, bench and soak write\n"
       "  their report with what was measured, marked \"complete\": false; forward and generate write nothing).\n"
       "  A second Ctrl-C stops at once.\n"
       "--allow-nonfinite-weights (accepted by any command; it matters to forward, generate, check, bench and soak):\n"
       "  load a checkpoint holding NaN/Inf weights instead of refusing it.\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any GEMM or thread: OpenBLAS's kernels for this CPU (reference/blas_cpu.h).
  mm::ref::select_blas_kernels();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(usage().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    if (argc > 2) {
      std::fprintf(stderr, "minimax01: usage error: --version takes no arguments\n");
      return kExitUsage;
    }
    std::fputs(mm::cli::version_text().c_str(), stdout);
    return 0;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> rest;
  bool options_ended = false;  // after `--` every argument is the command's, verbatim
  for (int i = 2; i < argc; ++i) {
    options_ended = options_ended || !std::strcmp(argv[i], "--");
    // Global switch, accepted by every command that loads weights: load NaN/Inf weights instead of
    // refusing the checkpoint (for debugging a broken one).
    if (!options_ended && !std::strcmp(argv[i], "--allow-nonfinite-weights")) mm::Checkpoint::default_allow_nonfinite() = true;
    else rest.emplace_back(argv[i]);
  }
  try {
    // Ctrl-C / SIGTERM stop a run at its next step boundary instead of killing it mid-step (a report
    // keeps what was measured; no output is left half-written).
    mm::install_interrupt_handlers();
    for (const auto& c : mm::cli::commands()) {
      if (cmd != c.name) continue;
      const int rc = c.run(rest);
      if (rc == mm::kExitInterrupted || !mm::interrupt_requested()) return rc;
      // The signal came after the last step boundary (or the command has none: init, report, ...): it
      // finished what it was writing, so the output is complete, but the user asked to stop.
      std::fflush(stdout);
      std::fprintf(stderr, "minimax01 %s: interrupted by %s after its last step; it finished first: its output is complete\n",
                   cmd.c_str(), mm::interrupt_signal_name().c_str());
      return mm::kExitInterrupted;
    }
    std::fprintf(stderr, "minimax01: unknown command '%s'\n\n%s", cmd.c_str(), usage().c_str());
    return kExitUsage;
  } catch (const mm::cli::HelpRequested&) {
    // --help / -h anywhere on the command line (cli/args.h): the help generated from the declaration.
    std::fputs(mm::cli::help_text(mm::cli::command_spec(cmd)).c_str(), stdout);
    return 0;
  } catch (const mm::Interrupted& e) {
    // forward / generate: stopped between two steps, nothing written (a partial dump would pass for a result).
    std::fflush(stdout);
    std::fprintf(stderr, "minimax01 %s: %s\n", cmd.c_str(), e.what().c_str());
    return mm::kExitInterrupted;
  } catch (const mm::UsageError& e) {
    report_error(cmd, "usage error", e.what());
    return kExitUsage;
  } catch (const mm::Error& e) {
    report_error(cmd, "error", e.what());
    return kExitRuntime;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the file system refuses (a symlink loop, a name too long, no permission): its message
    // names the operation and the path.
    report_error(cmd, "error", e.what());
    return kExitRuntime;
  } catch (const std::bad_alloc&) {
    // Sizes are checked against the machine's memory before the large allocations (core/config.h
    // require_memory); this is the last resort for whatever still does not fit.
    std::fprintf(stderr, "minimax01 %s: error: out of memory: the model or input is too large for this machine\n",
                 cmd.c_str());
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimax01 %s: internal error: %s\n", cmd.c_str(), e.what());
    return kExitRuntime;
  }
}
