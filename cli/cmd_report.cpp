// minimax01 report: render harness reports into one self-contained HTML page.
#include <cstdio>

#include "cli/commands.h"
#include "cli/harness_common.h"
#include "cli/stdout_document.h"
#include "harness/html_report.h"

namespace mm::cli {

int cmd_report(const std::vector<std::string>& argv) {
  const Args a(command_spec("report"), argv);
  const std::vector<std::string>& files = a.positionals();
  const std::string out = a.str("out", "reports/report.html");
  const bool to_stdout = is_stdout_path(out);
  if (!to_stdout) refuse_input_as_output(a, "out", out, files);
  std::vector<std::pair<std::string, nlohmann::json>> reps;
  for (const auto& f : files) reps.emplace_back(f, harness::read_report(f));
  const std::string html = harness::render_html(reps);
  if (to_stdout) {
    StdoutDocument(true).write(html);  // the page alone on standard output
    std::fprintf(stderr, "wrote the page to standard output (%zu reports, %zu bytes, self-contained)\n", reps.size(),
                 html.size());
    return 0;
  }
  write_file_atomic(out, [&](std::ostream& o) { o << html; });
  std::printf("wrote %s (%zu reports, %zu bytes, self-contained)\n", out.c_str(), reps.size(), html.size());
  return 0;
}

}  // namespace mm::cli
