// minimax01: command-line entry point. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "reference/blas_cpu.h"

namespace {

// Exit codes (docs/harness.md, "Exit codes"): 0 success; 1 the verdict is FAIL or compare found a regression
// (returned by the commands); 2 the command line is wrong; 3 the run failed (a bad file, a bad input, an
// unavailable backend, out of memory).
constexpr int kExitUsage = 2, kExitRuntime = 3;

const char* kUsage = R"(minimax01 - reference, kernels and verification harness for MiniMax-01

usage: minimax01 <command> [options]

commands:
  init      write a seeded synthetic checkpoint (config.json + safetensors) for a preset
  info      print the layer pattern, parameter counts and memory plan of a model or preset
  forward   run a prompt (prefill) and decode tokens, dump logits and hidden states to safetensors
  generate  generate tokens from a prompt (greedy or seeded sampling), print ids and tokens/s
  check     cross-check every backend layer by layer against ref-f64 or a golden case
  bench     TTFT / TPOT per backend, per layer type, against a measured CPU roof
  soak      a seeded request stream: uptime, errors by class, latency, fault injection
  report    render check/bench/soak reports into a self-contained HTML page
  compare   regression gate between two reports (numerics, or timings with a U test)
  preprocess  MiniMax-VL-01's any-res preprocessing of one image: plan, token count, crops dump

run 'minimax01 <command> --help' for the options of a command.
exit codes: 0 success, 1 verdict FAIL or a regression (check, compare, ...), 2 usage error, 3 runtime error.
--allow-nonfinite-weights (any command): load a checkpoint holding NaN/Inf weights instead of refusing it.
)";

}  // namespace

int main(int argc, char** argv) {
  // First, before any GEMM or thread: OpenBLAS's kernels for this CPU (reference/blas_cpu.h).
  mm::ref::select_blas_kernels();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : 0;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> rest;
  for (int i = 2; i < argc; ++i) {
    // Global switch, accepted by every command that loads weights: load NaN/Inf weights instead of
    // refusing the checkpoint (for debugging a broken one).
    if (!std::strcmp(argv[i], "--allow-nonfinite-weights")) mm::Checkpoint::default_allow_nonfinite() = true;
    else rest.emplace_back(argv[i]);
  }
  const bool help = !rest.empty() && (rest[0] == "--help" || rest[0] == "-h");
  try {
    for (const auto& c : mm::cli::commands()) {
      if (cmd != c.name) continue;
      if (help) { std::fputs(c.help, stdout); return 0; }
      return c.run(rest);
    }
    std::fprintf(stderr, "minimax01: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return kExitUsage;
  } catch (const mm::UsageError& e) {
    std::fprintf(stderr, "minimax01 %s: usage error: %s\n", cmd.c_str(), e.what());
    return kExitUsage;
  } catch (const mm::Error& e) {
    std::fprintf(stderr, "minimax01 %s: error: %s\n", cmd.c_str(), e.what());
    return kExitRuntime;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the file system refuses (a symlink loop, a name too long, no permission): its message
    // names the operation and the path.
    std::fprintf(stderr, "minimax01 %s: error: %s\n", cmd.c_str(), e.what());
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
