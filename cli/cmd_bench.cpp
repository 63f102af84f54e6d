// minimax01 bench: TTFT / TPOT per backend, per layer type and end to end, against a measured CPU roof.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/bench.h"

namespace mm::cli {

int cmd_bench(const std::vector<std::string>& argv) {
  Args a("bench", argv,
         {"model", "preset", "weight-seed", "backends", "prompt-lens", "context-lens", "decode-steps", "reps", "warmup",
          "seed", "report"});
  harness::BenchOptions opt;
  if (a.has("backends")) opt.backends = harness::parse_backend_list(a.str("backends", ""));
  if (a.has("prompt-lens")) opt.prompt_lens = a.int_list("prompt-lens");
  if (a.has("context-lens")) opt.context_lens = a.int_list("context-lens");
  opt.decode_steps = static_cast<int>(a.integer("decode-steps", opt.decode_steps));
  opt.reps = static_cast<int>(a.integer("reps", opt.reps));
  opt.warmup = static_cast<int>(a.integer("warmup", opt.warmup));
  opt.seed = static_cast<uint64_t>(a.integer("seed", 0));
  opt.progress = true;
  const auto src = harness_model(a);
  std::printf("model: %s\n", src.label.c_str());
  const auto r = harness::run_bench(src, opt);
  std::fputs(harness::summary(r).c_str(), stdout);
  auto rep = harness::new_report("bench", command_line("bench", argv));
  rep["model"] = harness::model_json(src.model, src.label);
  rep["seeds"] = {{"inputs", opt.seed}, {"weights", a.integer("weight-seed", 0)}};
  rep["result"] = harness::to_json(r, opt);
  finish_report(rep, a.str("report", "reports/bench.json"));
  return 0;
}

}  // namespace mm::cli
