#include "harness/compare.h"

#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/stats.h"

namespace mm::harness {
namespace {

using nlohmann::json;

std::string fmt(const char* f, double a = 0, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// null (a non-finite value in the writer) reads as +Inf: an error that became NaN is a regression.
double num(const json& j, const char* k) {
  if (!j.contains(k) || j[k].is_null()) return INFINITY;
  return j[k].get<double>();
}

void compare_check(const json& o, const json& n, const CompareOptions& opt, CompareResult& r) {
  std::map<std::string, const json*> old_b, new_b;
  for (const auto& b : o.at("backends")) old_b[b.at("name").get<std::string>()] = &b;
  for (const auto& b : n.at("backends")) new_b[b.at("name").get<std::string>()] = &b;
  // A backend that passed before and is gone, or no longer checked, is a regression: the new run
  // must not look clean by checking less.
  for (const auto& [name, ob] : old_b)
    if (ob->at("status") == "pass" && !new_b.count(name))
      r.lines.push_back({name, "status pass -> missing from the new report", true, false});
  for (const auto& nb : n.at("backends")) {
    const std::string name = nb.at("name");
    const auto it = old_b.find(name);
    if (it == old_b.end()) continue;
    const json& ob = *it->second;
    const std::string os = ob.at("status"), ns = nb.at("status");
    if (os == "pass" && ns != "pass") {
      std::string d = "status pass -> " + ns;
      if (nb.contains("first_diverging")) d += ", first diverging " + nb["first_diverging"]["tensor"].get<std::string>();
      r.lines.push_back({name, d, true, false});
    } else if (os != ns) {
      r.lines.push_back({name, "status " + os + " -> " + ns, false, os != "pass" && ns == "pass"});
    }
    if (!ob.contains("tensors") || !nb.contains("tensors")) continue;
    std::map<std::string, const json*> old_t;
    std::map<std::string, bool> new_names;
    for (const auto& t : ob["tensors"]) old_t[t.at("name").get<std::string>()] = &t;
    for (const auto& t : nb["tensors"]) new_names[t.at("name").get<std::string>()] = true;
    for (const auto& [tn, ot] : old_t)
      if (ot->at("pass").get<bool>() && !new_names.count(tn))
        r.lines.push_back({name + " " + tn, "pass -> not compared in the new report", true, false});
    for (const auto& t : nb["tensors"]) {
      const auto jt = old_t.find(t.at("name").get<std::string>());
      if (jt == old_t.end()) continue;
      const json& ot = *jt->second;
      const bool op = ot.at("pass"), np = t.at("pass");
      const double oe = num(ot.at("error"), "rel_fro"), ne = num(t.at("error"), "rel_fro");
      const std::string what = name + " " + t.at("name").get<std::string>();
      if (op && !np) r.lines.push_back({what, "pass -> fail: " + t.value("why", std::string()), true, false});
      else if (ne > opt.num_factor * oe + opt.num_floor)
        r.lines.push_back({what, fmt("rel_fro %.3e -> %.3e (> %.3gx)", oe, ne, opt.num_factor), true, false});
    }
  }
}

void compare_bench(const json& o, const json& n, const CompareOptions& opt, CompareResult& r) {
  std::map<std::string, const json*> old_s;
  auto key = [](const json& s) {
    return s.at("backend").get<std::string>() + " " + s.at("phase").get<std::string>() + " " +
           (s.at("phase") == "ttft" ? "S=" : "ctx=") + std::to_string(s.at("length").get<int64_t>());
  };
  for (const auto& s : o.at("series")) old_s[key(s)] = &s;
  bool weak = false;
  for (const auto& s : n.at("series")) {
    const auto it = old_s.find(key(s));
    if (it == old_s.end()) continue;
    const auto a = it->second->at("samples").get<std::vector<double>>();
    const auto b = s.at("samples").get<std::vector<double>>();
    if (a.empty() || b.empty()) continue;
    const double ma = percentile(a, 50), mb = percentile(b, 50);
    const double change = (mb - ma) / std::abs(ma);
    const UTest u = mann_whitney_u(a, b);
    if (a.size() < 9 || b.size() < 9) weak = true;
    const bool significant = u.p < opt.alpha;
    CompareLine l;
    l.what = key(s);
    l.detail = fmt("median %.4g -> %.4g ms (%+.1f%%), U-test p=%.4f", ma * 1e3, mb * 1e3, 100 * change, u.p) +
               " (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " reps)";
    l.regression = significant && change > opt.time_threshold;
    l.improvement = significant && change < -opt.time_threshold;
    r.lines.push_back(l);
  }
  if (weak)
    r.warnings.push_back("fewer than 9 repetitions on a side: the U test needs a LARGE (>= 9) number of "
                         "repetitions to be meaningful (Google Benchmark compare.py); rerun bench with --reps 9+");
}

void compare_soak(const json& o, const json& n, const CompareOptions& opt, CompareResult& r) {
  const json &oo = o.at("overall"), &no = n.at("overall");
  const double ou = num(oo, "uptime_percent"), nu = num(no, "uptime_percent");
  r.lines.push_back({"uptime", fmt("%.2f%% -> %.2f%%", ou, nu), std::isfinite(ou) && nu < ou - opt.uptime_drop, nu > ou + opt.uptime_drop});
  const double om = num(o.at("faults"), "missed"), nm = num(n.at("faults"), "missed");
  r.lines.push_back({"missed injected faults", fmt("%.0f -> %.0f", om, nm), nm > om, nm < om});
  const double oe = num(oo, "unexplained_failures"), ne = num(no, "unexplained_failures");
  r.lines.push_back({"failures not explained by an injection", fmt("%.0f -> %.0f", oe, ne), ne > oe, ne < oe});
}

}  // namespace

CompareResult compare_reports(const json& old_r, const json& new_r, const CompareOptions& opt) {
  CompareResult r;
  r.kind = old_r.at("kind");
  if (new_r.at("kind") != old_r.at("kind"))
    throw Error("compare: reports are of different kinds (" + old_r["kind"].get<std::string>() + " vs " +
                new_r["kind"].get<std::string>() + ")");
  // A schema version changes what numbers mean (version 2: check's layers teacher-forced, bench's TTFT
  // with last-row logits and the roof's bandwidth; docs/report-schema.md): comparing across versions would
  // flag or hide changes that are only the method's.
  const int vo = old_r.value("schema_version", 0), vn = new_r.value("schema_version", 0);
  if (vo != vn)
    throw Error("compare: reports of schema versions " + std::to_string(vo) + " and " + std::to_string(vn) +
                " measure differently and are not comparable; rerun the older one");
  try {
    const json &o = old_r.at("result"), &n = new_r.at("result");
    if (r.kind == "check") compare_check(o, n, opt, r);
    else if (r.kind == "bench") compare_bench(o, n, opt, r);
    else compare_soak(o, n, opt, r);
  } catch (const json::exception& e) {
    throw Error("compare: a " + r.kind + " report lacks a field or has the wrong type (" + e.what() + ")");
  }
  for (const auto& l : r.lines) r.regressions += l.regression;
  return r;
}

std::string summary(const CompareResult& r) {
  std::string s = "compare (" + r.kind + "):\n";
  int shown = 0;
  for (const auto& l : r.lines) {
    if (r.kind == "check" && !l.regression && !l.improvement) continue;  // thousands of unchanged tensors
    s += std::string("  ") + (l.regression ? "REGRESSION " : l.improvement ? "improved   " : "same       ") + l.what +
         ": " + l.detail + "\n";
    ++shown;
  }
  if (!shown) s += "  no differences beyond noise\n";
  for (const auto& w : r.warnings) s += "  warning: " + w + "\n";
  s += r.regressions ? "compare: " + std::to_string(r.regressions) + " regression(s)\n" : "compare: no regression\n";
  return s;
}

}  // namespace mm::harness
