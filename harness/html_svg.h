// Building blocks of the HTML report (harness/html_report.cpp): escaping, numbers formatted for people,
// axes and scales for inline SVG, and lenient reads of the report fields that validate_report does not
// type. Header-only so the report renderer stays one translation unit (the fuzz build lists it alone).
//
// Why lenient reads: validate_report types only the fields compare and the page *must* have; a report
// it accepts must always render (fuzz/report_fuzz.cpp), so every other field (nmse, flops, requests[],
// ...) is read as "a number if it is one, else not there", never as an error.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm::harness::html {

// Every string from a report is untrusted: escaped for text and for attributes quoted either way.
inline std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

inline std::string printf_str(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Superscript digits for 10^e (no "e+04" on a page meant for people).
inline std::string superscript(int e) {
  static const char* const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string s = e < 0 ? "⁻" : "";
  const std::string d = std::to_string(e < 0 ? -e : e);
  for (char c : d) s += digits[c - '0'];
  return s;
}

// A number with `sig` significant digits, plain between 1e-3 and 1e6, else m×10ⁿ. Non-finite: "NaN/Inf"
// (never "nan" / "inf": the page's SVG must hold no such token, see report_input_test.cpp).
inline std::string num(double v, int sig = 3) {
  if (!std::isfinite(v)) return "NaN/Inf";
  if (v == 0) return "0";
  const double a = std::fabs(v);
  const int e = static_cast<int>(std::floor(std::log10(a)));
  if (a >= 1e-3 && a < 1e6) {
    const int decimals = std::max(0, sig - 1 - e);
    std::string s = printf_str(("%." + std::to_string(decimals) + "f").c_str(), v);
    if (s.find('.') != std::string::npos) {  // trailing zeros say nothing
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  }
  double m = v / std::pow(10.0, e);
  std::string ms = printf_str(("%." + std::to_string(std::max(0, sig - 1)) + "f").c_str(), m);
  while (ms.find('.') != std::string::npos && ms.back() == '0') ms.pop_back();
  if (!ms.empty() && ms.back() == '.') ms.pop_back();
  return (ms == "1" ? std::string() : ms + "×") + "10" + superscript(e);
}

// A value that may be absent from the report (a lenient read): "—" then.
inline std::string opt(double v, int sig = 4) { return std::isnan(v) ? "—" : num(v, sig); }

// Exact value for tooltips and data- attributes: round-trips the double (machine-readable, %.17g).
inline std::string exact(double v) {
  if (!std::isfinite(v)) return "NaN/Inf";
  return printf_str("%.17g", v);
}

// A time in seconds as people read it: 850 ns, 12.4 µs, 3.21 ms, 17.7 s, 2.5 min.
inline std::string dur(double s, int sig = 3) {
  if (!std::isfinite(s)) return "NaN/Inf";
  const double a = std::fabs(s);
  if (a == 0) return "0";
  if (a < 1e-6) return num(s * 1e9, sig) + " ns";
  if (a < 1e-3) return num(s * 1e6, sig) + " µs";
  if (a < 1) return num(s * 1e3, sig) + " ms";
  if (a < 120) return num(s, sig) + " s";
  return num(s / 60, sig) + " min";
}

// Lenient reads (see the top of the file): NaN / "" / nullptr when absent or of another type.
inline const nlohmann::json* field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}
inline double jnum(const nlohmann::json& j, const char* key) {
  const auto* v = field(j, key);
  return v && v->is_number() ? v->get<double>() : NAN;
}
inline double jnum(const nlohmann::json& j, const char* key, const char* key2) {
  const auto* v = field(j, key);
  return v ? jnum(*v, key2) : NAN;
}
inline std::string jstr(const nlohmann::json& j, const char* key) {
  const auto* v = field(j, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}
inline std::vector<double> jnums(const nlohmann::json& j, const char* key) {
  std::vector<double> out;
  const auto* v = field(j, key);
  if (v && v->is_array())
    for (const auto& x : *v)
      if (x.is_number() && std::isfinite(x.get<double>())) out.push_back(x.get<double>());
  return out;
}

// A linear or log10 mapping from data to pixels; log maps v <= 0 to the bottom of the domain.
struct Scale {
  double d0 = 0, d1 = 1, p0 = 0, p1 = 1;
  bool log = false;
  double operator()(double v) const {
    double t;
    if (log) t = v > 0 ? (std::log10(v) - std::log10(d0)) / (std::log10(d1) - std::log10(d0)) : 0;
    else t = (v - d0) / (d1 - d0);
    if (!std::isfinite(t)) t = v > 0 ? 1 : 0;  // NaN / Inf: pinned to an edge, never a NaN coordinate
    return p0 + std::clamp(t, -0.02, 1.02) * (p1 - p0);
  }
};

// Ticks at 1, 2, 5 x 10^k covering [lo, hi] with about n intervals; lo and hi are widened to ticks.
inline std::vector<double> nice_ticks(double& lo, double& hi, int n = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / n, p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) { step = m * p; break; }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-9 && t.size() < 50; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

// Powers of ten from 10^floor(log lo) to 10^ceil(log hi); lo and hi are widened to them.
inline std::vector<double> decade_ticks(double& lo, double& hi) {
  const int e0 = static_cast<int>(std::floor(std::log10(lo))), e1 = std::max(e0 + 1, static_cast<int>(std::ceil(std::log10(hi))));
  lo = std::pow(10.0, e0);
  hi = std::pow(10.0, e1);
  std::vector<double> t;
  const int step = std::max(1, (e1 - e0 + 9) / 10);  // at most ~10 labels
  for (int e = e0; e <= e1; e += step) t.push_back(std::pow(10.0, e));
  return t;
}

// A chart's outer box and plot area (pixels).
struct Frame {
  double W = 940, H = 320, l = 80, r = 170, t = 34, b = 48;  // the right margin holds the legend
  double x0() const { return l; }
  double x1() const { return W - r; }
  double y0() const { return H - b; }
  double y1() const { return t; }
};

inline std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0, double e = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d, e);
  return buf;
}

// The opening <svg> with a title, the axis lines and labels; `cls` names the chart for tests and CSS.
inline std::string open_svg(const Frame& fr, const std::string& cls, const std::string& title, const std::string& xlabel,
                            const std::string& ylabel) {
  std::string s = fmt("<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f'", fr.W, fr.H,
                      fr.W, fr.H) +
                  " class='" + esc(cls) + "'>";
  s += "<rect width='100%' height='100%' fill='#fff'/>";
  s += fmt("<text x='%.0f' y='20' font-size='14' font-weight='bold'>", fr.l) + esc(title) + "</text>";
  s += fmt("<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#333'/>", fr.x0(), fr.y0(), fr.x1(), fr.y0());
  s += fmt("<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#333'/>", fr.x0(), fr.y0(), fr.x0(), fr.y1());
  s += fmt("<text x='%.0f' y='%.0f' font-size='12' text-anchor='middle'>", (fr.x0() + fr.x1()) / 2, fr.H - 8) + esc(xlabel) + "</text>";
  s += fmt("<text x='16' y='%.0f' font-size='12' text-anchor='middle' transform='rotate(-90 16 %.0f)'>", (fr.y0() + fr.y1()) / 2,
           (fr.y0() + fr.y1()) / 2) +
       esc(ylabel) + "</text>";
  return s;
}

// Horizontal grid lines and labels at `ticks` (label(v) gives the text).
template <class Label>
std::string y_grid(const Frame& fr, const Scale& y, const std::vector<double>& ticks, Label label) {
  std::string s;
  for (double v : ticks) {
    const double py = y(v);
    s += fmt("<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#e4e4e4'/>", fr.x0(), py, fr.x1(), py);
    s += fmt("<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>", fr.x0() - 4, py + 3) + esc(label(v)) + "</text>";
  }
  return s;
}
template <class Label>
std::string x_grid(const Frame& fr, const Scale& x, const std::vector<double>& ticks, Label label) {
  std::string s;
  for (double v : ticks) {
    const double px = x(v);
    s += fmt("<line x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' stroke='#e4e4e4'/>", px, fr.y0(), px, fr.y1());
    s += fmt("<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>", px, fr.y0() + 14) + esc(label(v)) + "</text>";
  }
  return s;
}

inline const char* color(std::size_t i) {
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f"};
  return kColors[i % 8];
}

// A legend of colored squares in the right margin (never over the data); `dx` shifts it right.
inline std::string legend(const Frame& fr, const std::vector<std::string>& names, double dx = 0) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double x = fr.x1() + 12 + dx, y = fr.y1() + 4 + 14 * static_cast<double>(i);
    s += fmt("<rect x='%.0f' y='%.0f' width='10' height='10' fill='", x, y) + color(i) + "'/>";
    s += fmt("<text x='%.0f' y='%.0f' font-size='11'>", x + 14, y + 9) + esc(names[i]) + "</text>";
  }
  return s;
}

}  // namespace mm::harness::html
