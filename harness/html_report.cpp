#include "harness/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "harness/report.h"
#include "harness/report_schema.h"

namespace mm::harness {
namespace {

using nlohmann::json;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string f(const char* fmt, double a = 0, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

// A number or null (NaN: not drawn, printed "nan").
double val(const JsonView& j) { return j.number_or_null().value_or(NAN); }

// A chart frame: W x H pixels, plot area inset; returns the opening <svg> with axes and a title.
struct Frame {
  double W = 760, H = 300, l = 70, r = 20, t = 30, b = 50;
  double x0() const { return l; }
  double x1() const { return W - r; }
  double y0() const { return H - b; }
  double y1() const { return t; }
};

std::string open_svg(const Frame& fr, const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  std::string s = f("<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f'>", fr.W, fr.H, fr.W, fr.H);
  s += "<rect width='100%' height='100%' fill='#fff'/>";
  s += f("<text x='%.0f' y='18' font-size='14' font-weight='bold'>", fr.l) + esc(title) + "</text>";
  s += f("<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#333'/>", fr.x0(), fr.y0(), fr.x1(), fr.y0());
  s += f("<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#333'/>", fr.x0(), fr.y0(), fr.x0(), fr.y1());
  s += f("<text x='%.0f' y='%.0f' font-size='12' text-anchor='middle'>", (fr.x0() + fr.x1()) / 2, fr.H - 10) + esc(xlabel) + "</text>";
  s += f("<text x='14' y='%.0f' font-size='12' text-anchor='middle' transform='rotate(-90 14 %.0f)'>", (fr.y0() + fr.y1()) / 2,
         (fr.y0() + fr.y1()) / 2) + esc(ylabel) + "</text>";
  return s;
}

std::string legend(const Frame& fr, const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double x = fr.x1() - 150, y = fr.y1() + 14 * static_cast<double>(i);
    s += f("<rect x='%.0f' y='%.0f' width='10' height='10' fill='", x, y) + kColors[i % 6] + "'/>";
    s += f("<text x='%.0f' y='%.0f' font-size='11'>", x + 14, y + 9) + esc(names[i]) + "</text>";
  }
  return s;
}

// log10 axis ticks between lo and hi (powers of ten)
std::string log_ticks(const Frame& fr, double lo, double hi, bool vertical) {
  std::string s;
  for (int e = static_cast<int>(std::floor(lo)); e <= static_cast<int>(std::ceil(hi)); ++e) {
    if (e < lo - 1e-9 || e > hi + 1e-9) continue;
    const double y = fr.y0() - (e - lo) / (hi - lo) * (fr.y0() - fr.y1());
    if (vertical) {
      s += f("<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#ddd'/>", fr.x0(), y, fr.x1(), y);
      s += f("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>1e%.0f</text>", fr.x0() - 4, y + 3, e);
    }
  }
  return s;
}

std::string check_section(const JsonView& r) {
  const JsonView res = r.at("result");
  std::string s = "<p>reference <b>" + esc(res.at("reference").str()) + "</b>, budget ref-bf16, k = " +
                  f("%.3g", val(res.at("rule").at("k"))) + ". Verdict: <b>" + (res.at("pass").boolean() ? "PASS" : "FAIL") + "</b></p>";
  // MiniMax-VL-01 --golden: the oracle against the independent implementation's case (docs/harness.md)
  if (const auto g = res.find("golden")) {
    const auto first = g->find("first_failing");
    s += "<p>golden case <b>" + esc(g->at("case").str()) + "</b>: ref-f64 against its " +
         std::to_string(g->at("tensors").elements().size()) + " stored tensors (" + esc(g->at("tolerance").str()) +
         "): <b>" + (g->at("pass").boolean() ? "PASS" : "FAIL") + "</b>" +
         (first && first->raw().is_string() ? ", first failing " + esc(first->str()) : std::string()) + "</p>";
  }
  s += "<ul>";
  // ratio = rel_fro / tol_rel_fro, worst over each prefill layer's continuous tensors
  std::vector<std::string> names;
  std::vector<std::map<int64_t, double>> ratio;
  int64_t L = 0;
  for (const auto& b : res.at("backends").elements()) {
    s += "<li>" + esc(b.at("name").str()) + ": " + esc(b.at("status").str());
    if (const auto reason = b.find("reason")) s += " &mdash; " + esc(reason->str());
    if (const auto fd = b.find("first_diverging")) {
      // MiniMax-VL-01: a vision tensor's layer is its vision layer ("family": vision_encoder / projector)
      const auto fam = fd->find("family");
      const std::string family = fam ? fam->str() : "";
      const std::string what = family == "vision_encoder" ? "vision layer " : family == "projector" ? "projector, layer " : "layer ";
      s += " &mdash; first diverging " + what + std::to_string(fd->at("layer").integer(-1, kMaxReportLayer)) + " (" +
           esc(fd->at("tensor").str()) + ")";
    }
    const auto tensors = b.find("tensors");
    // the vision tower's layers (MiniMax-VL-01): worst rel_fro / tolerance per vision layer, listed
    if (tensors) {
      std::map<int64_t, double> vis;
      for (const auto& t : tensors->elements()) {
        const auto vl = t.find("vision_layer");
        if (!vl || t.at("phase").str() != "prefill") continue;
        const int64_t l = vl->integer(0, kMaxReportLayer);
        const double tol = val(t.at("tol_rel_fro")), e = val(t.at("error").at("rel_fro"));
        const double q = std::isfinite(e) ? (tol > 0 ? e / tol : 0) : 1e6;
        vis[l] = std::max(vis.count(l) ? vis[l] : 0.0, q);
      }
      if (!vis.empty()) {
        s += "<br/>vision layers (worst error / tolerance):";
        for (const auto& [l, q] : vis) {  // appended piece by piece: g++ 12 warns a false -Wrestrict on " " + temporaries
          s += " ";
          s += std::to_string(l);
          s += ": ";
          s += f("%.3g", q);
          s += q > 1 ? " <b>over</b>;" : ";";
        }
      }
    }
    s += "</li>";
    if (!tensors || tensors->size() == 0) continue;
    std::map<int64_t, double> m;
    for (const auto& t : tensors->elements()) {
      const int64_t l = t.at("layer").integer(-1, kMaxReportLayer);
      if (t.at("phase").str() != "prefill" || l < 0 || t.has("choices")) continue;
      const double tol = val(t.at("tol_rel_fro")), e = val(t.at("error").at("rel_fro"));
      const double q = std::isfinite(e) ? (tol > 0 ? e / tol : 0) : 1e6;
      m[l] = std::max(m.count(l) ? m[l] : 0.0, q);
      L = std::max(L, l + 1);
    }
    names.push_back(b.at("name").str());
    ratio.push_back(m);
  }
  s += "</ul>";
  if (names.empty() || L == 0) return s;
  Frame fr;
  const double lo = -8, hi = 2;  // log10 of err / tolerance
  s += open_svg(fr, "per-layer error / tolerance (worst rel_fro over the layer's tensors; pass below the red line)",
                "layer (prefill)", "log10 scale");
  s += log_ticks(fr, lo, hi, true);
  const double slot = (fr.x1() - fr.x0()) / static_cast<double>(L), bw = slot * 0.8 / static_cast<double>(names.size());
  for (std::size_t i = 0; i < names.size(); ++i)
    for (const auto& [l, q] : ratio[i]) {
      const double lv = std::clamp(std::log10(std::max(q, 1e-300)), lo, hi);
      const double y = fr.y0() - (lv - lo) / (hi - lo) * (fr.y0() - fr.y1());
      const double x = fr.x0() + slot * static_cast<double>(l) + slot * 0.1 + bw * static_cast<double>(i);
      s += f("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='", x, y, bw, fr.y0() - y) + kColors[i % 6] + "'/>";
    }
  // at most ~64 layer labels, however many layers
  const int64_t step = std::max<int64_t>(1, (L + 63) / 64);
  for (int64_t l = 0; l < L; l += step)
    s += f("<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>%.0f</text>", fr.x0() + slot * (static_cast<double>(l) + 0.5),
           fr.y0() + 14, static_cast<double>(l));
  const double ytol = fr.y0() - (0 - lo) / (hi - lo) * (fr.y0() - fr.y1());
  s += f("<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='red' stroke-width='2' stroke-dasharray='6 3'/>", fr.x0(), ytol, fr.x1(), ytol);
  s += legend(fr, names) + "</svg>";
  return s;
}

std::string line_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                       const std::vector<std::string>& names, const std::vector<std::vector<std::pair<double, double>>>& pts,
                       bool dashed_pairs = false) {
  Frame fr;
  double xmax = 0, ymax = 0;
  for (const auto& p : pts)
    for (const auto& [x, y] : p) xmax = std::max(xmax, x), ymax = std::max(ymax, std::isfinite(y) ? y : 0);
  ymax *= 1.1;
  if (!(xmax > 0) || !(ymax > 0) || !std::isfinite(xmax) || !std::isfinite(ymax)) return "";  // nothing to draw
  std::string s = open_svg(fr, title, xlabel, ylabel);
  for (int i = 0; i <= 4; ++i) {
    const double yv = ymax * i / 4, y = fr.y0() - (fr.y0() - fr.y1()) * i / 4;
    s += f("<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#eee'/>", fr.x0(), y, fr.x1(), y);
    s += f("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>%.3g</text>", fr.x0() - 4, y + 3, yv);
  }
  auto X = [&](double x) { return fr.x0() + x / xmax * (fr.x1() - fr.x0()); };
  auto Y = [&](double y) { return fr.y0() - y / ymax * (fr.y0() - fr.y1()); };
  for (std::size_t i = 0; i < pts.size(); ++i) {
    std::string path;
    for (const auto& [x, y] : pts[i]) {
      if (!std::isfinite(y)) continue;
      path += f("%.1f,%.1f ", X(x), Y(y));
      s += f("<circle cx='%.1f' cy='%.1f' r='3' fill='", X(x), Y(y)) + kColors[(dashed_pairs ? i / 3 : i) % 6] + "'/>";
    }
    const bool dash = dashed_pairs && i % 3 != 0;
    s += "<polyline fill='none' stroke-width='2' stroke='" + std::string(kColors[(dashed_pairs ? i / 3 : i) % 6]) + "'" +
         (dash ? " stroke-dasharray='4 3'" : "") + " points='" + path + "'/>";
  }
  std::map<double, bool> xs;
  for (const auto& p : pts)
    for (const auto& [x, y] : p) xs[x] = true;
  for (const auto& [x, _] : xs)
    s += f("<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>%.0f</text>", X(x), fr.y0() + 14, x);
  s += legend(fr, names) + "</svg>";
  return s;
}

// MiniMax-VL-01 bench: one row per image series (image TTFT and the vision tower per crop), then the
// backends that refused images. Nothing for a text model's report.
std::string image_bench_table(const JsonView& res) {
  std::string s;
  const auto list = res.find("image_series");
  if (list && list->size() > 0) {
    s += "<p><b>Image requests</b> (text + one seeded synthetic image; TTFT = the prefill call, vision = the vision "
         "tower + projector per crop)</p><table border='1' cellspacing='0' cellpadding='3' style='font-size:12px'>"
         "<tr><th>backend</th><th>image</th><th>crops</th><th>image + text tokens</th><th>TTFT p50 / p90 / p99 ms</th>"
         "<th>GFLOP/s</th><th>vision per crop p50 / p90 / p99 ms</th><th>vision GFLOP/s</th><th>vision share of TTFT</th></tr>";
    for (const auto& x : list->elements()) {
      s += "<tr><td>" + esc(x.at("backend").str()) + "</td><td>" + std::to_string(x.at("width").integer(1)) + "x" +
           std::to_string(x.at("height").integer(1)) + "</td><td>" + std::to_string(x.at("crops").integer(1)) + "</td><td>" +
           std::to_string(x.at("image_tokens").integer(0)) + " + " + std::to_string(x.at("text_tokens").integer(0)) + "</td>" +
           f("<td>%.3f / %.3f / %.3f</td>", val(x.at("p50")) * 1e3, val(x.at("p90")) * 1e3, val(x.at("p99")) * 1e3) +
           f("<td>%.2f</td>", val(x.at("gflops")));
      const JsonView v = x.at("vision");
      if (v.is_null()) s += "<td colspan='3'>not timed by this backend</td>";
      else
        s += f("<td>%.3f / %.3f / %.3f</td>", val(v.at("p50")) * 1e3, val(v.at("p90")) * 1e3, val(v.at("p99")) * 1e3) +
             f("<td>%.2f</td><td>%.0f%%</td>", val(v.at("gflops")), 100 * val(v.at("share_of_ttft")));
      s += "</tr>";
    }
    s += "</table>";
  }
  if (const auto sk = res.find("image_skipped"))
    for (const auto& k : sk->elements())
      s += "<p>image series skipped on " + esc(k.at("backend").str()) + ": " + esc(k.at("reason").str()) + "</p>";
  return s;
}

std::string bench_section(const JsonView& r) {
  const JsonView res = r.at("result");
  const JsonView roof = res.at("roof");
  // bandwidth_gbps / read_gbps since the read-only measurement was added; older reports have memcpy only
  const auto bandwidth = roof.find("bandwidth_gbps");
  const double bw = val(bandwidth ? *bandwidth : roof.at("memcpy_gbps"));
  std::string s = "<p>roof (measured in the run): bandwidth " +
                  f("%.1f GB/s (memcpy %.1f), sgemm %.1f GFLOP/s, dgemm %.1f GFLOP/s", bw, val(roof.at("memcpy_gbps")),
                    val(roof.at("sgemm_gflops")), val(roof.at("dgemm_gflops"))) +
                  "</p>";
  const std::vector<JsonView> series = res.at("series").elements();
  for (const char* phase : {"ttft", "tpot"}) {
    std::vector<std::string> names;
    std::vector<std::vector<std::pair<double, double>>> pts;
    std::map<std::string, std::size_t> idx;
    for (const auto& x : series) {
      if (x.at("phase").str() != phase) continue;
      const std::string& b = x.at("backend").str();
      if (!idx.count(b)) {
        idx[b] = pts.size();
        for (const char* q : {"p50", "p90", "p99"}) names.push_back(b + " " + q), pts.emplace_back();
      }
      const std::size_t i = idx[b];
      const double len = static_cast<double>(x.at("length").integer(0));
      pts[i].push_back({len, val(x.at("p50")) * 1e3});
      pts[i + 1].push_back({len, val(x.at("p90")) * 1e3});
      pts[i + 2].push_back({len, val(x.at("p99")) * 1e3});
    }
    std::vector<std::string> legend_names;
    for (std::size_t i = 0; i < names.size(); i += 3) legend_names.push_back(names[i].substr(0, names[i].size() - 4) + " (p50 solid, p90/p99 dashed)");
    s += line_chart(std::string(phase) == "ttft" ? "TTFT (prefill latency) vs prompt length" : "TPOT (time per output token) vs context length",
                    std::string(phase) == "ttft" ? "prompt tokens" : "context tokens", "ms", legend_names, pts, true);
  }
  // throughput vs roof: achieved GFLOP/s and the attainable roof per series (bars)
  Frame fr;
  if (!series.empty()) {
    double ymax = 0;
    for (const auto& x : series) ymax = std::max({ymax, val(x.at("gflops")), val(x.at("roof_gflops"))});  // NaN never wins
    ymax *= 1.1;
    if (!(ymax > 0) || !std::isfinite(ymax)) ymax = 1;  // nothing measured (or absurd): an empty frame, not NaN coordinates
    s += open_svg(fr, "throughput vs roof: achieved GFLOP/s (bar) and attainable roof (black tick)", "series", "GFLOP/s");
    const double slot = (fr.x1() - fr.x0()) / static_cast<double>(series.size());
    std::map<std::string, int> color;
    for (std::size_t i = 0; i < series.size(); ++i) {
      const JsonView& x = series[i];
      const std::string& b = x.at("backend").str();
      if (!color.count(b)) color[b] = static_cast<int>(color.size());
      const double g = std::clamp(val(x.at("gflops")), 0.0, ymax), roofv = std::clamp(val(x.at("roof_gflops")), 0.0, ymax);
      const double xl = fr.x0() + slot * static_cast<double>(i) + slot * 0.15;
      const double yg = fr.y0() - g / ymax * (fr.y0() - fr.y1()), yr = fr.y0() - roofv / ymax * (fr.y0() - fr.y1());
      if (std::isfinite(yg))
        s += f("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='", xl, yg, slot * 0.7, fr.y0() - yg) + kColors[color[b] % 6] + "'/>";
      if (std::isfinite(yr))
        s += f("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#000' stroke-width='3'/>", xl, yr, xl + slot * 0.7, yr);
      s += f("<text x='%.1f' y='%.0f' font-size='9' text-anchor='middle'>", xl + slot * 0.35, fr.y0() + 12) +
           (x.at("phase").str() == "ttft" ? "S" : "C") + std::to_string(x.at("length").integer(0)) + "</text>";
    }
    for (int i = 0; i <= 4; ++i)
      s += f("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>%.3g</text>", fr.x0() - 4,
             fr.y0() - (fr.y0() - fr.y1()) * i / 4 + 3, ymax * i / 4);
    std::vector<std::string> names(color.size());
    for (const auto& [n, c] : color) names[static_cast<std::size_t>(c)] = n;
    s += legend(fr, names) + "</svg>";
  }
  for (const auto& k : res.at("skipped").elements())
    s += "<p>skipped " + esc(k.at("backend").str()) + ": " + esc(k.at("reason").str()) + "</p>";
  s += image_bench_table(res);
  return s;
}

// MiniMax-VL-01 soak: the image requests overall and per window (present only with images on).
std::string image_soak_summary(const JsonView& o, const std::vector<JsonView>& w) {
  const auto im = o.find("images");
  if (!im) return "";
  auto n = [](const JsonView& j, const char* k) { return static_cast<double>(j.at(k).integer(0)); };
  const JsonView t = im->at("ttft_ms");
  std::string s = f("<p><b>Image requests</b>: %.0f (checked against ref-f64 %.0f, %.0f crops): ", n(*im, "requests"),
                    n(*im, "checked"), n(*im, "crops")) +
                  f("success %.0f, SLO breach %.0f, numerical %.0f, ", n(*im, "success"), n(*im, "slo_breach"), n(*im, "numerical")) +
                  f("error %.0f; TTFT p50 / p90 / p99 %.2f / ", n(*im, "error"), val(t.at("p50"))) +
                  f("%.2f / %.2f ms</p>", val(t.at("p90")), val(t.at("p99")));
  s += "<table border='1' cellspacing='0' cellpadding='3' style='font-size:12px'><tr><th>window start s</th><th>requests</th>"
       "<th>with an image</th><th>image failures (numerical + error)</th><th>image TTFT p50 / p99 ms</th></tr>";
  for (const auto& x : w) {
    const auto wi = x.find("images");
    if (!wi) continue;
    s += f("<tr><td>%.2f</td><td>%.0f</td><td>%.0f</td>", val(x.at("start_s")), n(x, "requests"), n(*wi, "requests")) +
         f("<td>%.0f</td><td>%.2f / ", n(*wi, "numerical") + n(*wi, "error"), val(wi->at("ttft_ms").at("p50"))) +
         f("%.2f</td></tr>", val(wi->at("ttft_ms").at("p99")));
  }
  return s + "</table>";
}

std::string soak_section(const JsonView& r) {
  const JsonView res = r.at("result");
  const JsonView o = res.at("overall"), faults = res.at("faults");
  auto dump = [](const JsonView& j) { return j.raw().dump(-1, ' ', false, json::error_handler_t::replace); };
  std::string s = "<p>backend " + esc(res.at("backend").str()) +
                  f(", %.1f s, %.0f requests, uptime %.2f%%, goodput %.1f req/s", val(res.at("elapsed_s")),
                    static_cast<double>(o.at("requests").integer(0)), val(o.at("uptime_percent")), val(o.at("goodput_rps"))) +
                  "; faults injected " + esc(dump(faults.at("injected").object())) + ", caught " +
                  esc(dump(faults.at("caught").object())) + "</p>";
  Frame fr;
  const std::vector<JsonView> w = res.at("windows").elements();
  s += image_soak_summary(o, w);
  if (w.empty()) return s;
  s += open_svg(fr, "uptime per window (line, %) and failures per window (bars: red error, orange numerical, grey SLO breach)",
                "time (s)", "uptime %");
  const double n = static_cast<double>(w.size()), slot = (fr.x1() - fr.x0()) / n;
  auto count = [](const JsonView& x, const char* k) { return static_cast<double>(x.at(k).integer(0)); };
  double cmax = 1;
  for (const auto& x : w) cmax = std::max(cmax, count(x, "error") + count(x, "numerical") + count(x, "slo_breach"));
  std::string path;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double xl = fr.x0() + slot * static_cast<double>(i);
    double base = fr.y0();
    for (auto [k, col] : {std::pair{"error", "#d62728"}, {"numerical", "#ff7f0e"}, {"slo_breach", "#999"}}) {
      const double h = count(w[i], k) / cmax * (fr.y0() - fr.y1()) * 0.5;
      if (h > 0) s += f("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='", xl + slot * 0.2, base - h, slot * 0.6, h) + col + "'/>";
      base -= h;
    }
    const double u = val(w[i].at("uptime_percent"));
    if (std::isfinite(u)) path += f("%.1f,%.1f ", xl + slot / 2, fr.y0() - std::clamp(u, 0.0, 100.0) / 100 * (fr.y0() - fr.y1()));
    const double t0 = val(w[i].at("start_s"));
    if (std::isfinite(t0))
      s += f("<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>%.1f</text>", xl + slot / 2, fr.y0() + 14, t0);
  }
  for (int i = 0; i <= 4; ++i)
    s += f("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>%.0f</text>", fr.x0() - 4, fr.y0() - (fr.y0() - fr.y1()) * i / 4 + 3, 25.0 * i);
  s += "<polyline fill='none' stroke='#1f77b4' stroke-width='3' points='" + path + "'/></svg>";
  return s;
}

}  // namespace

std::string render_html(const std::vector<std::pair<std::string, json>>& reports) {
  std::string s =
      "<!DOCTYPE html><html><head><meta charset='utf-8'><title>minimax01 harness report</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222;background:#fff}h2{border-bottom:1px solid #ccc}"
      "svg{display:block;margin:12px 0;border:1px solid #eee}.meta{color:#555;font-size:12px}"
      ".incomplete{background:#fde2e1;border:2px solid #c0392b;color:#8e1c10;font-weight:bold;padding:8px 12px}"
      "</style></head><body>"
      "<h1>minimax01 harness report</h1>";
  for (const auto& [file, rep] : reports) {
    const JsonView r(rep, file);
    const std::string& kind = r.at("kind").str_in({"check", "bench", "soak"});
    // envelope fields shown here are optional (validate_report types them when present)
    auto opt_str = [](const std::optional<JsonView>& obj, const char* key, const std::string& dflt) {
      if (!obj) return dflt;
      const auto v = obj->find(key);
      return v ? v->str() : dflt;
    };
    const auto tool = r.find("tool"), machine = r.find("machine"), model = r.find("model");
    const auto created = r.find("created_utc");
    const auto dirty = tool ? tool->find("git_dirty") : std::nullopt;
    s += "<h2>" + esc(kind) + ": " + esc(file) + "</h2><p class='meta'>" + esc(created ? created->str() : "") + " &middot; commit " +
         esc(opt_str(tool, "git_commit", "?")) + (dirty && dirty->boolean() ? " (dirty)" : "") + " &middot; " +
         esc(opt_str(machine, "cpu", "")) + " &middot; model " + esc(opt_str(model, "source", "")) + "</p>";
    // An interrupted run (core/interrupt.h): what follows is partial, and must not read as a result.
    if (!report_complete(rep))
      s += "<p class='incomplete'>INCOMPLETE (" + esc(describe_interruption(rep)) +
           "): partial results of a run that was stopped, not a verdict</p>";
    if (kind == "check") s += check_section(r);
    else if (kind == "bench") s += bench_section(r);
    else s += soak_section(r);
  }
  return s + "</body></html>\n";
}

}  // namespace mm::harness
