#include "harness/compare.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "harness/report.h"
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

// An entry of the old report that the new one lacks: the new run must not look clean by measuring less.
void missing(CompareResult& r, const CompareOptions& opt, const std::string& what, const std::string& detail) {
  if (opt.allow_missing) r.warnings.push_back(what + ": " + detail + " (allowed by --allow-missing)");
  else r.lines.push_back({what, detail, true, false});
}

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
  // A backend that was checked before (any status but skipped) and is gone, or skipped now, is missing.
  for (const auto& [name, ob] : old_b)
    if (ob.at("status").str() != "skipped" && !new_b.count(name))
      missing(r, opt, name, "status " + ob.at("status").str() + " -> missing from the new report");
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
    if (os != "skipped" && ns == "skipped") {
      const auto why = nb.find("reason");
      missing(r, opt, name, "status " + os + " -> skipped" + (why ? " (" + why->str() + ")" : std::string()));
    } else if (os == "pass" && ns != "pass") {
      std::string d = "status pass -> " + ns;
      if (const auto fd = nb.find("first_diverging")) d += ", first diverging " + fd->at("tensor").str();
      r.lines.push_back({name, d, true, false});
    } else if (os != ns) {
      r.lines.push_back({name, "status " + os + " -> " + ns, false, os != "pass" && ns == "pass"});
    }
    // A backend skipped or errored now has no tensors to compare: its status line above is the one
    // regression, not one more per tensor it did not produce.
    if (ns == "skipped" || ns == "error") continue;
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
      if (!new_names.count(tn))
        missing(r, opt, name + " " + tn,
                std::string(ot.at("pass").boolean() ? "pass" : "fail") + " -> not compared in the new report");
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
  // The golden agreement (MiniMax-VL-01 check --golden): gone, or passing no more.
  if (const auto og = o.find("golden")) {
    const std::string what = "golden " + og->at("case").str();
    const bool op = og->at("pass").boolean();
    const auto ng = n.find("golden");
    if (!ng) {
      missing(r, opt, what, std::string(op ? "pass" : "fail") + " -> no golden check in the new report");
    } else if (ng->at("case").str() != og->at("case").str()) {
      missing(r, opt, what, "the new report checks golden case " + ng->at("case").str() + " instead");
    } else if (op && !ng->at("pass").boolean()) {
      const auto f = ng->find("first_failing");
      r.lines.push_back({what, "pass -> fail" + (f && !f->is_null() ? ", first failing " + f->str() : std::string()),
                         true, false});
    }
  }
  rep_old.warn("old", r);
  rep_new.warn("new", r);
}

// One timed series per key, compared with the U test: shared by bench's text and image series and by
// Google Benchmark's repetitions. `samples` are seconds.
struct Series {
  std::string key;
  std::vector<double> samples;
  std::string backend;  // bench: the backend, to name its skip reason; empty for Google Benchmark
};

void compare_series(const std::vector<Series>& old_list, const std::vector<Series>& new_list,
                    const std::map<std::string, std::string>& skipped_reason, const CompareOptions& opt,
                    CompareResult& r) {
  // A series repeated within a report (e.g. --prompt-lens 32,32) is compared once, by its first entry:
  // each old series then goes through the U test once, so the work stays O(samples log samples).
  std::map<std::string, const Series*> old_s;
  std::set<std::string> seen;
  Repeats rep_old, rep_new;
  for (const auto& s : old_list)
    if (!old_s.emplace(s.key, &s).second) rep_old.add(s.key);
  bool weak = false;
  for (const auto& s : new_list) {
    if (!seen.insert(s.key).second) {
      rep_new.add(s.key);
      continue;
    }
    const auto it = old_s.find(s.key);
    if (it == old_s.end()) continue;
    const auto& a = it->second->samples;
    const auto& b = s.samples;
    if (a.empty() || b.empty()) continue;
    const double ma = percentile(a, 50), mb = percentile(b, 50);
    // relative change of the median; a zero old median (only in a hand-made report) gives no ratio
    const double change = ma != 0 ? (mb - ma) / std::abs(ma) : mb > 0 ? INFINITY : mb < 0 ? -INFINITY : 0.0;
    const UTest u = mann_whitney_u(a, b);
    if (a.size() < 9 || b.size() < 9) weak = true;
    const bool significant = u.p < opt.alpha;
    CompareLine l;
    l.what = s.key;
    l.detail = fmt("median %.4g -> %.4g ms (%+.1f%%), U-test p=%.4f", ma * 1e3, mb * 1e3, 100 * change, u.p) +
               " (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " reps)";
    l.regression = significant && change > opt.time_threshold;
    l.improvement = significant && change < -opt.time_threshold;
    r.lines.push_back(l);
  }
  // A series of the old report the new one lacks (a backend skipped, a length dropped) is missing.
  for (const auto& [key, s] : old_s) {
    if (seen.count(key)) continue;
    const auto why = skipped_reason.find(s->backend);
    missing(r, opt, key,
            "in the old report, missing from the new" +
                (why != skipped_reason.end() ? " (skipped: " + why->second + ")" : std::string()));
  }
  rep_old.warn("old", r);
  rep_new.warn("new", r);
  if (weak)
    r.warnings.push_back("fewer than 9 repetitions on a side: the U test needs a LARGE (>= 9) number of "
                         "repetitions to be meaningful (Google Benchmark compare.py); rerun with 9+ repetitions");
}

void compare_bench(const JsonView& o, const JsonView& n, const CompareOptions& opt, CompareResult& r) {
  // Finite numbers only: NaN would break the sort and the ranks of the U test.
  auto samples = [](const JsonView& s) {
    std::vector<double> v;
    for (const auto& x : s.at("samples").elements()) v.push_back(x.number());
    return v;
  };
  // "ref-f32 ttft S=256", "ref-f32 tpot ctx=1024", "ref-f32 image_ttft 300x200 text=32".
  auto series = [&](const JsonView& res) {
    std::vector<Series> v;
    for (const auto& s : res.at("series").elements()) {
      const std::string& phase = s.at("phase").str_in({"ttft", "tpot"});
      v.push_back({s.at("backend").str() + " " + phase + " " + (phase == "ttft" ? "S=" : "ctx=") +
                       std::to_string(s.at("length").integer(0)),
                   samples(s), s.at("backend").str()});
    }
    if (const auto im = res.find("image_series"))
      for (const auto& s : im->elements())
        v.push_back({s.at("backend").str() + " image_ttft " + std::to_string(s.at("width").integer(1)) + "x" +
                         std::to_string(s.at("height").integer(1)) + " text=" +
                         std::to_string(s.at("text_tokens").integer(0)),
                     samples(s), s.at("backend").str()});
    return v;
  };
  std::map<std::string, std::string> skipped;  // backend -> why, from the new report
  for (const char* list : {"skipped", "image_skipped"})
    if (const auto l = n.find(list))
      for (const auto& k : l->elements()) skipped.emplace(k.at("backend").str(), k.at("reason").str());
  compare_series(series(o), series(n), skipped, opt, r);
}

// Google Benchmark JSON: every "iteration" entry (one repetition) of a run name is one sample of its real
// time, in seconds; aggregates (mean, median, stddev, cv) are recomputed, not read. An entry with
// "error_occurred", "error_message" or "skipped" counts as missing.
std::vector<Series> gbench_series(const JsonView& doc) {
  std::map<std::string, std::size_t> at;
  std::vector<Series> v;
  for (const auto& b : doc.at("benchmarks").elements()) {
    if (const auto t = b.find("run_type"); t && t->str() != "iteration") continue;
    if (const auto e = b.find("error_occurred"); e && e->boolean()) continue;
    if (b.find("error_message") || b.find("skipped")) continue;  // SkipWithMessage / SkipWithError (1.8+)
    const std::string name = b.find("run_name") ? b.at("run_name").str() : b.at("name").str();
    const std::string& unit = b.find("time_unit") ? b.at("time_unit").str_in({"ns", "us", "ms", "s"}) : "ns";
    const double scale = unit == "ns" ? 1e-9 : unit == "us" ? 1e-6 : unit == "ms" ? 1e-3 : 1.0;
    const double t = b.at("real_time").number();
    if (t < 0) b.at("real_time").fail("a time >= 0");
    const auto [it, fresh] = at.emplace(name, v.size());
    if (fresh) v.push_back({name, {}, {}});
    v[it->second].samples.push_back(t * scale);
  }
  return v;
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
  // Measuring less: no request at all, a fault kind no longer injected (its detection untested), image
  // requests gone; another backend is said.
  if (o.at("backend").str() != n.at("backend").str())
    r.warnings.push_back("the soaks ran different backends (" + o.at("backend").str() + " -> " + n.at("backend").str() + ")");
  const int64_t oreq = oo.at("requests").integer(0), nreq = no.at("requests").integer(0);
  if (oreq > 0 && nreq == 0) missing(r, opt, "requests", fmt("%.0f -> 0: the new soak served none", double(oreq)));
  else if (nreq * 2 < oreq)
    r.warnings.push_back(fmt("the new soak served %.0f requests, under half the old one's %.0f", double(nreq), double(oreq)));
  const JsonView oi = o.at("faults").at("injected").object(), ni = n.at("faults").at("injected").object();
  for (const auto& item : oi.raw().items()) {
    const std::string& kind = item.key();
    const auto was = oi.at(kind).integer(0);
    const auto now = ni.has(kind) ? ni.at(kind).integer(0) : 0;
    if (was > 0 && now == 0)
      missing(r, opt, "injected " + kind + " faults", fmt("%.0f -> 0: their detection is no longer exercised", double(was)));
  }
  const auto oim = oo.find("images"), nim = no.find("images");
  if (oim && oim->at("requests").integer(0) > 0 && (!nim || nim->at("requests").integer(0) == 0))
    missing(r, opt, "image requests",
            fmt("%.0f -> 0 in the new soak", double(oim->at("requests").integer(0))));
}

}  // namespace

bool is_gbench_json(const json& j) {
  return j.is_object() && !j.contains("schema") && j.contains("context") && j["context"].is_object() &&
         j.contains("benchmarks") && j["benchmarks"].is_array();
}

nlohmann::json read_compare_input(const std::string& path) {
  if (path.empty()) return read_report(path);  // its error names the empty argument
  json j = read_json_file(path, "the report");
  if (!is_gbench_json(j)) validate_report(j, path);
  return j;
}

namespace {

// Fields of two descriptions (objects) that differ, "cpu, blas" (empty: the same, or not both objects).
// Read raw: `machine`, `model` and Google Benchmark's `context` are descriptions, not validated fields.
std::string differing(const json& a, const json& b, std::initializer_list<const char*> keys) {
  std::string d;
  if (!a.is_object() || !b.is_object()) return d;
  for (const char* k : keys) {
    const auto x = a.find(k), y = b.find(k);
    if ((x == a.end() ? json() : *x) != (y == b.end() ? json() : *y)) d += (d.empty() ? "" : ", ") + std::string(k);
  }
  return d;
}

// A report's model.config (nullptr when it has none) and a short name for it.
const json* model_config(const json& report) {
  const auto m = report.find("model");
  if (m == report.end() || !m->is_object()) return nullptr;
  const auto c = m->find("config");
  return c == m->end() ? nullptr : &*c;
}
// A MiniMax-VL-01 report's model.vl_config (the vision side; null for a text model).
json model_vl_config(const json& report) {
  const auto m = report.find("model");
  if (m == report.end() || !m->is_object()) return json();
  const auto c = m->find("vl_config");
  return c == m->end() ? json() : *c;
}
std::string model_name(const json& report) {
  const json* c = model_config(report);
  const auto t = c && c->is_object() ? c->find("model_type") : json::const_iterator();
  const json& m = report.at("model");
  const auto src = m.find("source");
  return (c && c->is_object() && t != c->end() && t->is_string() ? t->get<std::string>() : std::string("?")) +
         " from " + (src != m.end() ? src->dump() : std::string("?"));
}

// Different models are refused (numbers of two configurations say nothing about a regression); a
// different machine is said, since timings move with it.
void same_model_and_machine(const JsonView& o, const JsonView& n, const CompareOptions& opt, CompareResult& r) {
  const json *oc = model_config(o.raw()), *nc = model_config(n.raw());
  // model.vl_config came later than model.config: a report without it may be an older one of a VL model,
  // so only two recorded vision sides that differ are refused; one missing is said.
  const json ov = model_vl_config(o.raw()), nv = model_vl_config(n.raw());
  const bool vision_differs = !ov.is_null() && !nv.is_null() && ov != nv;
  if (oc && nc && *oc == *nc && ov.is_null() != nv.is_null())
    r.warnings.push_back("only " + (ov.is_null() ? n.file() : o.file()) +
                         " records the vision side (model.vl_config): a MiniMax-VL-01 and a text model of the same "
                         "text config, or a report written before the field, cannot be told apart; compared anyway");
  if (oc && nc && (*oc != *nc || vision_differs)) {
    const std::string what = "the reports are of different models (" + o.file() + ": " + model_name(o.raw()) + ", " +
                             n.file() + ": " + model_name(n.raw()) + "; their config.json differ" +
                             (*oc == *nc ? " in the vision side (vl_config)" : "") + ")";
    if (!opt.allow_different_model)
      throw Error("compare: " + what + "; compare reports of one model, or pass --allow-different-model");
    r.warnings.push_back(what + ", compared anyway (--allow-different-model)");
  }
  // model.layers: a slice run (docs/slices.md); two different slices of one checkpoint are different runs
  const auto layers_of = [](const json& rep) {
    const auto m = rep.find("model");
    if (m == rep.end() || !m->is_object()) return std::string("all");
    const auto l = m->find("layers");
    return l != m->end() && l->is_string() ? l->get<std::string>() : std::string("all");
  };
  if (layers_of(o.raw()) != layers_of(n.raw())) {
    const std::string what = "the reports ran different layers (" + o.file() + ": " + layers_of(o.raw()) + ", " +
                             n.file() + ": " + layers_of(n.raw()) + ")";
    if (!opt.allow_different_model)
      throw Error("compare: " + what + "; compare reports of the same layers, or pass --allow-different-model");
    r.warnings.push_back(what + ", compared anyway (--allow-different-model)");
  }
  const auto om = o.raw().find("machine"), nm = n.raw().find("machine");
  if (om != o.raw().end() && nm != n.raw().end()) {
    const std::string d = differing(*om, *nm, {"cpu", "logical_cores", "memory_bytes", "blas", "gpu"});
    if (!d.empty()) r.warnings.push_back("the reports come from different machines (" + d + " differ): timings are not comparable");
  }
}

// The keys of two objects whose values differ, "a, b" (every key of either; empty when the same).
std::string differing_keys(const json& a, const json& b) {
  std::string d;
  if (!a.is_object() || !b.is_object()) return a == b ? d : std::string("(whole value)");
  std::vector<std::string> keys;
  for (auto it = a.begin(); it != a.end(); ++it) keys.push_back(it.key());
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) keys.push_back(it.key());
  for (const auto& k : keys) {
    const auto x = a.find(k), y = b.find(k);
    if ((x == a.end() ? json() : *x) != (y == b.end() ? json() : *y)) d += (d.empty() ? "" : ", ") + k;
  }
  return d;
}

// What the two runs were asked to do: a check's inputs (prompt, decode tokens, images), oracle and rule, a
// bench's lengths and repetitions, a soak's stream and duration. Different requests make the numbers
// differ for reasons that are not a regression: said as a warning, naming what differs.
void same_requests(const std::string& kind, const json& o, const json& n, CompareResult& r) {
  auto part = [](const json& res, const char* k) {
    const auto it = res.find(k);
    return it == res.end() ? json() : *it;
  };
  auto warn = [&](const char* what, const std::string& d, const char* why) {
    if (!d.empty()) r.warnings.push_back(std::string("the runs differ in their ") + what + " (" + d + "): " + why);
  };
  if (kind == "check") {
    warn("inputs", differing_keys(part(o, "inputs"), part(n, "inputs")),
         "the errors were measured on different tokens, compared tensor by tensor anyway");
    warn("acceptance rule", differing_keys(part(o, "rule"), part(n, "rule")), "pass and fail may change with the rule alone");
    if (part(o, "reference") != part(n, "reference"))
      r.warnings.push_back("the runs were judged against different oracles (reference " + part(o, "reference").dump() +
                           " vs " + part(n, "reference").dump() + ")");
  } else if (kind == "bench") {
    warn("options", differing_keys(part(o, "options"), part(n, "options")),
         "series of the same name are compared; the others are missing or new");
  } else {
    warn("request stream", differing_keys(part(o, "stream"), part(n, "stream")), "uptime and latency depend on it");
    if (part(o, "duration_s") != part(n, "duration_s") || part(o, "backend") != part(n, "backend"))
      r.warnings.push_back("the runs differ in duration or backend (" + part(o, "duration_s").dump() + " s on " +
                           part(o, "backend").dump() + " vs " + part(n, "duration_s").dump() + " s on " +
                           part(n, "backend").dump() + ")");
  }
}

}  // namespace

CompareResult compare_reports(const json& old_r, const json& new_r, const CompareOptions& opt, const std::string& old_name,
                              const std::string& new_name) {
  const JsonView o(old_r, old_name), n(new_r, new_name);
  CompareResult r;
  if (is_gbench_json(old_r) || is_gbench_json(new_r)) {
    if (!is_gbench_json(old_r) || !is_gbench_json(new_r))
      throw Error("compare: " + (is_gbench_json(old_r) ? old_name : new_name) +
                  " is Google Benchmark JSON and the other is not; compare two of a kind");
    r.kind = "gbench";
    // blas / blas_kernels: the context bench/bench_main.h adds (the GEMM library and its kernels)
    const std::string d = differing(old_r.at("context"), new_r.at("context"),
                                    {"host_name", "num_cpus", "library_build_type", "blas", "blas_kernels"});
    if (!d.empty()) r.warnings.push_back("the benchmark contexts differ (" + d + "): timings may not be comparable");
    const std::vector<Series> os = gbench_series(o), ns = gbench_series(n);
    // A baseline without repetitions would pass everything (nothing to compare, nothing missing).
    if (os.empty())
      throw Error("compare: " + old_name +
                  " holds no benchmark repetitions (no \"run_type\": \"iteration\" entry without an error): run "
                  "the benchmark with --benchmark_format=json --benchmark_repetitions=9 and without "
                  "--benchmark_report_aggregates_only");
    compare_series(os, ns, {}, opt, r);
    for (const auto& l : r.lines) r.regressions += l.regression;
    return r;
  }
  const std::string& ok = o.at("kind").str_in({"check", "bench", "soak"});
  const std::string& nk = n.at("kind").str_in({"check", "bench", "soak"});
  if (nk != ok)
    throw Error("compare: reports are of different kinds (" + old_name + ": " + ok + ", " + new_name + ": " + nk + ")");
  // An interrupted run ("complete": false) measured less than a full one: as a baseline it would let
  // anything it lacks pass, as the new report it would fail on everything it lacks (or pass with
  // --allow-missing). Neither is a comparison: refused, naming where the run stopped.
  if (!report_complete(old_r))
    throw Error("compare: the baseline " + old_name + " is an incomplete report (" + describe_interruption(old_r) +
                "): it cannot be a baseline; use the report of a run that completed");
  if (!report_complete(new_r))
    throw Error("compare: " + new_name + " is an incomplete report (" + describe_interruption(new_r) +
                "): a run that was stopped cannot pass a gate; rerun it to completion");
  r.kind = ok;
  // A schema version changes what numbers mean (version 2: check's layers teacher-forced, bench's TTFT
  // with last-row logits and the roof's bandwidth; docs/report-schema.md): comparing across versions would
  // flag or hide changes that are only the method's.
  const int64_t vo = o.at("schema_version").integer(), vn = n.at("schema_version").integer();
  if (vo != vn)
    throw Error("compare: reports of schema versions " + std::to_string(vo) + " and " + std::to_string(vn) +
                " measure differently and are not comparable; rerun the older one");
  same_model_and_machine(o, n, opt, r);
  const JsonView ores = o.at("result").object(), nres = n.at("result").object();
  same_requests(r.kind, ores.raw(), nres.raw(), r);
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
