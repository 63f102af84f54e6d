// minimax01 check: layer-by-layer cross-check of every backend against ref-f64 or a golden case.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "cli/layer_slices.h"
#include "harness/progress.h"
#include "core/acceptance.h"
#include "harness/check.h"
#include "harness/golden_case.h"

namespace mm::cli {

int cmd_check(const std::vector<std::string>& argv) {
  const Args a(command_spec("check"), argv);
  harness::CheckOptions opt;
  if (a.has("backends")) opt.backends = harness::parse_backend_list(a.list_text("backends"));
  opt.prompt_len = a.integer("prompt-len", 300, 1, kMaxTokens);
  opt.decode_steps = a.integer("decode-steps", 4, 0, kMaxTokens);
  opt.seed = a.seed("seed");
  opt.tol.k = a.number("k", acceptance::kK, 0.0, 1e6, Bounds::OpenLow);  // defaults: core/acceptance.h
  opt.tol.floor_rel = a.number("floor", acceptance::kCheckFloorRel, 0.0, 1.0);
  if (a.has("perturb")) opt.perturb = harness::parse_perturbation(a.str("perturb", ""));  // layer: run_check
  opt.golden_dir = a.str("golden", "");
  opt.progress = true;
  harness::Progress::interval_from_env();  // MM_PROGRESS_INTERVAL checked before anything runs
  // --golden alone: the case's own checkpoint; with --model/--preset the configs must agree.
  const std::string report_out = report_output(a, "reports/check.json");  // checked before the run
  StdoutDocument out(is_stdout_path(report_out));  // --report -: the report alone on standard output
  if (a.has("layers") && !opt.golden_dir.empty())
    throw UsageError("check: --layers with --golden: a golden case's tensors are the whole model's");
  harness::ModelSource src;
  if (!opt.golden_dir.empty() && !a.has("model") && !a.has("preset")) {
    const auto c = golden::load_case(opt.golden_dir);
    src = harness::resolve_model(c.dir, "", 0);
    src.label = "golden case " + c.name;
    src.model.weights = weights_option(a);
  } else {
    src = harness_model(a);
  }
  layers_option(a, src.model);
  std::printf("model: %s\n", src.label.c_str());
  if (src.model.config.is_slice())
    std::printf("layers: %s of %lld\n", run_layers_string(src.model.config).c_str(),
                (long long)src.model.config.num_hidden_layers);
  const auto r = harness::run_check(src, opt);
  std::fputs(harness::summary(r).c_str(), stdout);
  auto rep = harness::new_report("check", command_line("check", argv));
  rep["model"] = harness::model_json(src.model, src.label);
  rep["seeds"] = {{"inputs", opt.seed}, {"weights", a.seed("weight-seed")}};
  rep["result"] = harness::to_json(r, opt);
  return finish_report(rep, report_out, "check", r.interrupted, r.pass ? 0 : 1, out);
}

}  // namespace mm::cli
