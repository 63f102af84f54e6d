// `minimax01 report FILE... --out page.html`: one self-contained HTML page (inline CSS, SVG and a small
// table sorter script; no network, no external assets) with, per report:
//   check: the verdict; a summary table, one row per backend: its verdict, the bound that decided it
//          (the first violated one, or the nearest for a pass), the tensor closest to its bound, the
//          first diverging tensor; per phase (prefill, decode) a chart of every teacher-forced tensor at
//          its layer, y = error / the bound that decided (max_abs, rel_fro or the NMSE ceiling; log),
//          the line y = 1 the bound: a failing tensor is above it; sortable tables of the failing tensors
//          and of every tensor with every bound; MiniMax-VL-01: the vision layers' worst error / tolerance
//   bench: the measured roofs; per phase, box plots of the repetitions per length (min, p25, p50, p75,
//          max; p90, p99) with the noisy ones (CV > 10 %) flagged; a roofline (arithmetic intensity vs
//          achieved GFLOP/s, log-log, under the bandwidth and GEMM roofs); a sortable table of every
//          series; MiniMax-VL-01: the image series and the backends that refused images
//   soak:  the verdict and why; the faults injected / caught per kind; a timeline of the windows
//          (requests by class, uptime) and their latency; the failed requests grouped by class and
//          reason; MiniMax-VL-01 with image requests: their counts, classes and TTFT percentiles
// Every element a reader checks carries its exact value (data- attributes, SVG <title> tooltips), so
// the page is tested by its structure against the JSON (tests/harness/html_report_test.cpp). Every
// string from a report is escaped (reports are untrusted input). An interrupted run's report is shown
// under a red INCOMPLETE banner.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mm::harness {

// reports: (file name, parsed report) pairs, validated by read_report / parse_report_text. The fields
// validate_report requires are read through harness/report_schema.h's JsonView, so an unvalidated report
// gives an mm::Error naming the file and JSON path, never undefined behaviour; the optional ones (nmse,
// flops, requests[], ...) are read leniently (absent or of another type: shown as "—", not drawn). A
// validated report always renders (empty arrays, zero or null numbers draw empty charts, never NaN
// coordinates).
std::string render_html(const std::vector<std::pair<std::string, nlohmann::json>>& reports);

}  // namespace mm::harness
