// `minimax01 report FILE... --out page.html`: one self-contained HTML page (inline CSS and SVG, no
// scripts, no external assets) with, per report:
//   check: per-layer error bars against the tolerance (worst rel_fro / tolerance over the layer's
//          tensors, log scale, one bar per backend, the tolerance line at 1)
//   bench: latency p50/p90/p99 vs prompt length (TTFT) and context length (TPOT), achieved GFLOP/s vs
//          the roof per layer type; MiniMax-VL-01: a table of the image series (image TTFT, crops,
//          tokens, the vision tower per crop) and the backends that refused images
//   soak:  uptime timeline per window, with error counts; MiniMax-VL-01 with image requests: their
//          counts, classes and TTFT percentiles overall and per window
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mm::harness {

// reports: (file name, parsed report) pairs, validated by read_report / parse_report_text. Every field
// is read through harness/report_schema.h's JsonView, so an unvalidated report gives an mm::Error naming
// the file and JSON path, never undefined behaviour; a validated one always renders (empty arrays, zero
// or null numbers draw empty charts, never NaN coordinates).
std::string render_html(const std::vector<std::pair<std::string, nlohmann::json>>& reports);

}  // namespace mm::harness
