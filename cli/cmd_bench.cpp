// minimax01 bench: TTFT / TPOT per backend, per layer type and end to end, against a measured CPU roof.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/progress.h"
#include "harness/bench.h"
#include "harness/vl_inputs.h"

namespace mm::cli {

int cmd_bench(const std::vector<std::string>& argv) {
  const Args a(command_spec("bench"), argv);
  harness::BenchOptions opt;
  if (a.has("backends")) opt.backends = harness::parse_backend_list(a.list_text("backends"));
  if (a.has("prompt-lens")) opt.prompt_lens = a.int_list("prompt-lens", 1, kMaxTokens);
  if (a.has("context-lens")) opt.context_lens = a.int_list("context-lens", 1, kMaxTokens);
  opt.decode_steps = a.integer32("decode-steps", opt.decode_steps, 1, 1'000'000);
  opt.reps = a.integer32("reps", opt.reps, 1, 1'000'000);
  opt.warmup = a.integer32("warmup", opt.warmup, 0, 1'000'000);
  opt.seed = a.seed("seed");
  // MiniMax-VL-01: one image TTFT series per size; a text model refuses the option (run_bench)
  if (a.has("image-sizes")) opt.image_sizes = harness::parse_image_sizes(a.list_text("image-sizes"), "bench: --image-sizes");
  opt.progress = true;
  harness::Progress::interval_from_env();  // MM_PROGRESS_INTERVAL checked before anything runs
  harness::check_bench_options(opt);  // the size of the run, before the model is made
  const std::string report_out = report_output(a, "reports/bench.json");  // checked before the run
  StdoutDocument out(is_stdout_path(report_out));  // --report -: the report alone on standard output
  const auto src = harness_model(a);
  std::printf("model: %s\n", src.label.c_str());
  const auto r = harness::run_bench(src, opt);
  std::fputs(harness::summary(r).c_str(), stdout);
  auto rep = harness::new_report("bench", command_line("bench", argv));
  rep["model"] = harness::model_json(src.model, src.label);
  rep["seeds"] = {{"inputs", opt.seed}, {"weights", a.seed("weight-seed")}};
  rep["result"] = harness::to_json(r, opt);
  return finish_report(rep, report_out, "bench", r.interrupted, 0, out);
}

}  // namespace mm::cli
