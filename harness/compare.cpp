#include "harness/compare.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/report_schema.h"
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
double num_or_inf(const JsonView& j) { return j.number_or_null().value_or(INFINITY); }

// Entries repeated within one report (a backend, a tensor of a backend, a bench series): compared once,
// by the first; one warning per report, naming the first repeat and the count.
struct Repeats {
  std::string first;
  std::size_t count = 0;
  void add(const std::string& what) {
    if (!count++) first = what;
  }
  void warn(const char* side, CompareResult& r) const {
    if (count)
      r.warnings.push_back(std::string(side) + " report: " + std::to_string(count) + " repeated entr" + (count == 1 ? "y" : "ies") +
                           " (first: " + first + "); only the first of each was compared");
  }
};

void compare_check(const JsonView& o, const JsonView& n, const CompareOptions& opt, CompareResult& r) {
  const std::vector<JsonView> old_list = o.at("backends").elements(), new_list = n.at("backends").elements();
  std::map<std::string, JsonView> old_b;
  std::set<std::string> new_b;
  // A name repeated within a report (e.g. --backends ref-f32,ref-f32) is compared once, by its first
  // entry: each old backend is then read once, so the work stays linear in the reports' size.
  Repeats rep_old, rep_new;
  for (const auto& b : old_list)
    if (!old_b.emplace(b.at("name").str(), b).second) rep_old.add(b.at("name").str());
  for (const auto& b : new_list) new_b.insert(b.at("name").str());
  std::set<std::string> seen;
  // A backend that passed before and is gone, or no longer checked, is a regression: the new run
  // must not look clean by checking less.
  for (const auto& [name, ob] : old_b)
    if (ob.at("status").str() == "pass" && !new_b.count(name))
      r.lines.push_back({name, "status pass -> missing from the new report", true, false});
  for (const auto& nb : new_list) {
    const std::string& name = nb.at("name").str();
    if (!seen.insert(name).second) {
      rep_new.add(name);
      continue;
    }
    const auto it = old_b.find(name);
    if (it == old_b.end()) continue;
    const JsonView& ob = it->second;
    const std::string &os = ob.at("status").str(), &ns = nb.at("status").str();
    if (os == "pass" && ns != "pass") {
      std::string d = "status pass -> " + ns;
      if (const auto fd = nb.find("first_diverging")) d += ", first diverging " + fd->at("tensor").str();
      r.lines.push_back({name, d, true, false});
    } else if (os != ns) {
      r.lines.push_back({name, "status " + os + " -> " + ns, false, os != "pass" && ns == "pass"});
    }
    const auto ots = ob.find("tensors"), nts = nb.find("tensors");
    if (!ots || !nts) continue;
    const std::vector<JsonView> old_tl = ots->elements(), new_tl = nts->elements();
    std::map<std::string, JsonView> old_t;
    std::set<std::string> new_names;
    for (const auto& t : old_tl)
      if (!old_t.emplace(t.at("name").str(), t).second) rep_old.add(name + " " + t.at("name").str());
    for (const auto& t : new_tl) new_names.insert(t.at("name").str());
    std::set<std::string> seen_t;
    for (const auto& [tn, ot] : old_t)
      if (ot.at("pass").boolean() && !new_names.count(tn))
        r.lines.push_back({name + " " + tn, "pass -> not compared in the new report", true, false});
    for (const auto& t : new_tl) {
      const std::string& tn = t.at("name").str();
      if (!seen_t.insert(tn).second) {
        rep_new.add(name + " " + tn);
        continue;
      }
      const auto jt = old_t.find(tn);
      if (jt == old_t.end()) continue;
      const JsonView& ot = jt->second;
      const bool op = ot.at("pass").boolean(), np = t.at("pass").boolean();
      const double oe = num_or_inf(ot.at("error").at("rel_fro")), ne = num_or_inf(t.at("error").at("rel_fro"));
      const std::string what = name + " " + tn;
      if (op && !np) {
        const auto why = t.find("why");
        r.lines.push_back({what, "pass -> fail: " + (why ? why->str() : std::string()), true, false});
      } else if (ne > opt.num_factor * oe + opt.num_floor) {
        r.lines.push_back({what, fmt("rel_fro %.3e -> %.3e (> %.3gx)", oe, ne, opt.num_factor), true, false});
      }
    }
  }
  rep_old.warn("old", r);
  rep_new.warn("new", r);
}

void compare_bench(const JsonView& o, const JsonView& n, const CompareOptions& opt, CompareResult& r) {
  auto key = [](const JsonView& s) {
    const std::string& phase = s.at("phase").str_in({"ttft", "tpot"});
    return s.at("backend").str() + " " + phase + " " + (phase == "ttft" ? "S=" : "ctx=") +
           std::to_string(s.at("length").integer(0));
  };
  // Finite numbers only: NaN would break the sort and the ranks of the U test.
  auto samples = [](const JsonView& s) {
    std::vector<double> v;
    for (const auto& x : s.at("samples").elements()) v.push_back(x.number());
    return v;
  };
  const std::vector<JsonView> old_list = o.at("series").elements(), new_list = n.at("series").elements();
  // A series repeated within a report (e.g. --prompt-lens 32,32) is compared once, by its first entry:
  // each old series then goes through the U test once, so the work stays O(samples log samples).
  std::map<std::string, JsonView> old_s;
  std::set<std::string> seen;
  Repeats rep_old, rep_new;
  for (const auto& s : old_list)
    if (!old_s.emplace(key(s), s).second) rep_old.add(key(s));
  bool weak = false;
  for (const auto& s : new_list) {
    const std::string k = key(s);
    if (!seen.insert(k).second) {
      rep_new.add(k);
      continue;
    }
    const auto it = old_s.find(k);
    if (it == old_s.end()) continue;
    const auto a = samples(it->second);
    const auto b = samples(s);
    if (a.empty() || b.empty()) continue;
    const double ma = percentile(a, 50), mb = percentile(b, 50);
    // relative change of the median; a zero old median (only in a hand-made report) gives no ratio
    const double change = ma != 0 ? (mb - ma) / std::abs(ma) : mb > 0 ? INFINITY : mb < 0 ? -INFINITY : 0.0;
    const UTest u = mann_whitney_u(a, b);
    if (a.size() < 9 || b.size() < 9) weak = true;
    const bool significant = u.p < opt.alpha;
    CompareLine l;
    l.what = k;
    l.detail = fmt("median %.4g -> %.4g ms (%+.1f%%), U-test p=%.4f", ma * 1e3, mb * 1e3, 100 * change, u.p) +
               " (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " reps)";
    l.regression = significant && change > opt.time_threshold;
    l.improvement = significant && change < -opt.time_threshold;
    r.lines.push_back(l);
  }
  rep_old.warn("old", r);
  rep_new.warn("new", r);
  if (weak)
    r.warnings.push_back("fewer than 9 repetitions on a side: the U test needs a LARGE (>= 9) number of "
                         "repetitions to be meaningful (Google Benchmark compare.py); rerun bench with --reps 9+");
}

void compare_soak(const JsonView& o, const JsonView& n, const CompareOptions& opt, CompareResult& r) {
  const JsonView oo = o.at("overall"), no = n.at("overall");
  // null uptime: no request had an outcome. Losing a finite uptime is a regression.
  const std::optional<double> ou = oo.at("uptime_percent").number_or_null(), nu = no.at("uptime_percent").number_or_null();
  auto pct = [](const std::optional<double>& x) { return x ? fmt("%.2f%%", *x) : std::string("n/a"); };
  r.lines.push_back({"uptime", pct(ou) + " -> " + pct(nu), ou && (!nu || *nu < *ou - opt.uptime_drop),
                     ou && nu && *nu > *ou + opt.uptime_drop});
  const auto om = static_cast<double>(o.at("faults").at("missed").integer()),
             nm = static_cast<double>(n.at("faults").at("missed").integer());
  r.lines.push_back({"missed injected faults", fmt("%.0f -> %.0f", om, nm), nm > om, nm < om});
  const auto oe = static_cast<double>(oo.at("unexplained_failures").integer(0)),
             ne = static_cast<double>(no.at("unexplained_failures").integer(0));
  r.lines.push_back({"failures not explained by an injection", fmt("%.0f -> %.0f", oe, ne), ne > oe, ne < oe});
}

}  // namespace

CompareResult compare_reports(const json& old_r, const json& new_r, const CompareOptions& opt, const std::string& old_name,
                              const std::string& new_name) {
  const JsonView o(old_r, old_name), n(new_r, new_name);
  CompareResult r;
  const std::string& ok = o.at("kind").str_in({"check", "bench", "soak"});
  const std::string& nk = n.at("kind").str_in({"check", "bench", "soak"});
  if (nk != ok)
    throw Error("compare: reports are of different kinds (" + old_name + ": " + ok + ", " + new_name + ": " + nk + ")");
  r.kind = ok;
  // A schema version changes what numbers mean (version 2: check's layers teacher-forced, bench's TTFT
  // with last-row logits and the roof's bandwidth; docs/report-schema.md): comparing across versions would
  // flag or hide changes that are only the method's.
  const int64_t vo = o.at("schema_version").integer(), vn = n.at("schema_version").integer();
  if (vo != vn)
    throw Error("compare: reports of schema versions " + std::to_string(vo) + " and " + std::to_string(vn) +
                " measure differently and are not comparable; rerun the older one");
  const JsonView ores = o.at("result").object(), nres = n.at("result").object();
  try {
    if (r.kind == "check") compare_check(ores, nres, opt, r);
    else if (r.kind == "bench") compare_bench(ores, nres, opt, r);
    else compare_soak(ores, nres, opt, r);
  } catch (const json::exception& e) {  // not expected: every read goes through JsonView
    throw Error("compare: a " + r.kind + " report has a field of the wrong shape (" + e.what() + ")");
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
