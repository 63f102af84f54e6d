// minimax01 soak: a seeded request stream with uptime-style metrics and fault injection.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/soak.h"

namespace mm::cli {

int cmd_soak(const std::vector<std::string>& argv) {
  Args a("soak", argv,
         {"model", "preset", "weight-seed", "backend", "duration", "window", "min-prompt", "max-prompt", "min-decode",
          "max-decode", "check-rate", "min-requests", "slo-ttft-ms", "slo-tpot-ms", "inject", "seed", "report"});
  harness::SoakOptions opt;
  opt.duration_s = harness::parse_duration(a.required("duration"));
  opt.window_s = a.has("window") ? harness::parse_duration(a.str("window", "")) : 0;
  opt.backend = a.str("backend", opt.backend);
  harness::parse_backend_list(opt.backend);  // unknown names fail here, with the list
  opt.min_prompt = a.integer("min-prompt", opt.min_prompt);
  opt.max_prompt = a.integer("max-prompt", opt.max_prompt);
  opt.min_decode = a.integer("min-decode", opt.min_decode);
  opt.max_decode = a.integer("max-decode", opt.max_decode);
  opt.check_rate = a.number("check-rate", opt.check_rate);
  opt.min_requests = a.integer("min-requests", 0);
  opt.slo_ttft_ms = a.number("slo-ttft-ms", 0);
  opt.slo_tpot_ms = a.number("slo-tpot-ms", 0);
  opt.seed = static_cast<uint64_t>(a.integer("seed", 0));
  if (a.has("inject")) opt.inject = harness::parse_inject(a.str("inject", ""));
  opt.progress = true;
  const auto src = harness_model(a);
  std::printf("model: %s\n", src.label.c_str());
  const auto r = harness::run_soak(src, opt);
  std::fputs(harness::soak_summary(r.result).c_str(), stdout);
  auto rep = harness::new_report("soak", command_line("soak", argv));
  rep["model"] = harness::model_json(src.model, src.label);
  rep["seeds"] = {{"stream", opt.seed}, {"weights", a.integer("weight-seed", 0)}};
  rep["result"] = r.result;
  finish_report(rep, a.str("report", "reports/soak.json"));
  return r.pass ? 0 : 1;
}

}  // namespace mm::cli
