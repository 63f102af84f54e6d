// minimax01 soak: a seeded request stream with uptime-style metrics and fault injection.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/progress.h"
#include "harness/soak.h"

namespace mm::cli {

// --duration / --window: a positive time with an optional unit (harness::parse_duration), at most 30 days.
static double soak_duration(const Args& a, const std::string& k) {
  double s = 0;
  try {
    s = harness::parse_duration(a.required(k));
  } catch (const Error& e) {
    if (k == "duration") throw;
    std::string m = e.what();  // parse_duration names --duration
    for (auto at = m.find("--duration"); at != std::string::npos; at = m.find("--duration", at + 1)) m.replace(at, 10, "--" + k);
    throw UsageError(m);
  }
  if (!(s <= 30 * 86400.0)) throw UsageError("soak: --" + k + " must be at most 30 days, got '" + a.str(k, "") + "'");
  return s;
}

int cmd_soak(const std::vector<std::string>& argv) {
  const Args a(command_spec("soak"), argv);
  harness::SoakOptions opt;
  opt.duration_s = soak_duration(a, "duration");
  opt.window_s = a.has("window") ? soak_duration(a, "window") : 0;
  opt.backend = a.str("backend", opt.backend);
  if (opt.backend.find(',') != std::string::npos)
    throw UsageError("soak: --backend takes one backend name, got '" + opt.backend + "'");
  harness::parse_backend_list(opt.backend);  // unknown names fail here, with the list
  opt.min_prompt = a.integer("min-prompt", opt.min_prompt, 1, kMaxTokens);
  opt.max_prompt = a.integer("max-prompt", opt.max_prompt, 1, kMaxTokens);
  a.require_ordered("min-prompt", opt.min_prompt, "max-prompt", opt.max_prompt);
  opt.min_decode = a.integer("min-decode", opt.min_decode, 0, kMaxTokens);
  opt.max_decode = a.integer("max-decode", opt.max_decode, 0, kMaxTokens);
  a.require_ordered("min-decode", opt.min_decode, "max-decode", opt.max_decode);
  opt.check_rate = a.number("check-rate", opt.check_rate, 0.0, 1.0);
  opt.min_requests = a.integer("min-requests", 0, 0, 1'000'000'000);
  opt.slo_ttft_ms = a.number("slo-ttft-ms", 0, 0.0, 3.6e6);
  opt.slo_tpot_ms = a.number("slo-tpot-ms", 0, 0.0, 3.6e6);
  opt.seed = a.seed("seed");
  if (a.has("inject")) opt.inject = harness::parse_inject(a.list_text("inject"));
  // MiniMax-VL-01: the share of requests with an image (default harness::kDefaultImageRate on a VL model;
  // a text model refuses a rate > 0 in run_soak, once the model is known)
  if (a.has("image-rate")) opt.image_rate = a.number("image-rate", 0, 0.0, 1.0);
  opt.progress = true;
  harness::Progress::interval_from_env();  // MM_PROGRESS_INTERVAL checked before anything runs
  const std::string report_out = report_output(a, "reports/soak.json");  // checked before the run
  StdoutDocument out(is_stdout_path(report_out));  // --report -: the report alone on standard output
  const auto src = harness_model(a);
  std::printf("model: %s\n", src.label.c_str());
  const auto r = harness::run_soak(src, opt);
  std::fputs(harness::soak_summary(r.result).c_str(), stdout);
  auto rep = harness::new_report("soak", command_line("soak", argv));
  rep["model"] = harness::model_json(src.model, src.label);
  rep["seeds"] = {{"stream", opt.seed}, {"weights", a.seed("weight-seed")}};
  rep["result"] = r.result;
  return finish_report(rep, report_out, "soak", r.interrupted, r.pass ? 0 : 1, out);
}

}  // namespace mm::cli
