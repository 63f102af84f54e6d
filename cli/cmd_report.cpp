// minimax01 report: render harness reports into one self-contained HTML page.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "harness/html_report.h"

namespace mm::cli {

int cmd_report(const std::vector<std::string>& argv) {
  std::vector<std::string> files, flags;
  for (std::size_t i = 0; i < argv.size(); ++i) {  // positional report files, then --out
    if (argv[i].rfind("--", 0) == 0) {
      flags.assign(argv.begin() + static_cast<long>(i), argv.end());
      break;
    }
    files.push_back(argv[i]);
  }
  Args a("report", flags, {"out"});
  if (files.empty()) throw UsageError("report: give at least one report JSON file (usage: report FILE... --out page.html)");
  const std::string out = a.str("out", "reports/report.html");
  refuse_input_as_output(a, "out", out, files);
  std::vector<std::pair<std::string, nlohmann::json>> reps;
  for (const auto& f : files) reps.emplace_back(f, harness::read_report(f));
  const std::string html = harness::render_html(reps);
  write_file_atomic(out, [&](std::ostream& o) { o << html; });
  std::printf("wrote %s (%zu reports, %zu bytes, self-contained)\n", out.c_str(), reps.size(), html.size());
  return 0;
}

}  // namespace mm::cli
