#include "harness/report_schema.h"

#include <cmath>

#include "core/error.h"
#include "harness/report.h"

namespace mm::harness {

using nlohmann::json;

namespace {

// What is there, for the message: short, and never throwing (a string that is not valid UTF-8, built
// in memory, is dumped with replacement characters).
std::string short_dump(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) {
    std::size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string describe(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return j.empty() ? "{}" : "an object";
    case json::value_t::array: return j.empty() ? "[]" : "an array";
    case json::value_t::string: return "a string (" + short_dump(j) + ")";
    case json::value_t::boolean: return j.get<bool>() ? "true" : "false";
    case json::value_t::number_float: {
      const double d = j.get<double>();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Inf" : "-Inf";
      return short_dump(j);
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return j.dump();
    default: return "a binary value";
  }
}

std::string quoted_list(std::initializer_list<std::string_view> allowed) {
  std::string s;
  std::size_t i = 0;
  for (const auto a : allowed) {
    if (i) s += i + 1 == allowed.size() ? " or " : ", ";
    s += '"';
    s.append(a);
    s += '"';
    ++i;
  }
  return s;
}

}  // namespace

JsonView::JsonView(const json& j, const std::string& file) : j_(&j), file_(std::make_shared<const std::string>(file)) {}

std::string JsonView::path() const { return path_.empty() ? "(top level)" : path_; }

void JsonView::fail(const std::string& expected) const {
  throw Error(file() + ": " + path() + ": expected " + expected + ", got " + describe(*j_));
}

bool JsonView::has(std::string_view key) const {
  if (!j_->is_object()) fail("an object with '" + std::string(key) + "'");
  return j_->find(key) != j_->end();
}

std::optional<JsonView> JsonView::find(std::string_view key) const {
  if (!j_->is_object()) fail("an object with '" + std::string(key) + "'");
  const auto it = j_->find(key);
  if (it == j_->end()) return std::nullopt;
  return JsonView(&*it, file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonView JsonView::at(std::string_view key) const {
  if (auto v = find(key)) return *v;
  throw Error(file() + ": " + path() + ": expected an object with '" + std::string(key) + "' (the key is missing)");
}

std::size_t JsonView::size() const {
  if (!j_->is_array()) fail("an array");
  return j_->size();
}

std::vector<JsonView> JsonView::elements() const {
  const std::size_t n = size();
  std::vector<JsonView> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(JsonView(&(*j_)[i], file_, path_ + "[" + std::to_string(i) + "]"));
  return v;
}

const JsonView& JsonView::object() const {
  if (!j_->is_object()) fail("an object");
  return *this;
}

const std::string& JsonView::str() const {
  if (!j_->is_string()) fail("a string");
  return j_->get_ref<const std::string&>();
}

const std::string& JsonView::str_in(std::initializer_list<std::string_view> allowed) const {
  if (j_->is_string()) {
    const std::string& s = j_->get_ref<const std::string&>();
    for (const auto a : allowed)
      if (s == a) return s;
  }
  fail(quoted_list(allowed));
}

bool JsonView::boolean() const {
  if (!j_->is_boolean()) fail("true or false");
  return j_->get<bool>();
}

int64_t JsonView::integer(int64_t lo, int64_t hi) const {
  auto expected = [&] {
    std::string e = "an integer";
    const bool has_lo = lo != std::numeric_limits<int64_t>::min(), has_hi = hi != std::numeric_limits<int64_t>::max();
    if (has_lo && has_hi) e += " from " + std::to_string(lo) + " to " + std::to_string(hi);
    else if (has_lo) e += lo == 0 ? " >= 0" : " >= " + std::to_string(lo);
    else if (has_hi) e += " <= " + std::to_string(hi);
    return e;
  };
  int64_t v = 0;
  if (j_->is_number_unsigned()) {
    const uint64_t u = j_->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(expected());
    v = static_cast<int64_t>(u);
  } else if (j_->is_number_integer()) {
    v = j_->get<int64_t>();
  } else {
    fail(expected());
  }
  if (v < lo || v > hi) fail(expected());
  return v;
}

double JsonView::number() const {
  if (!j_->is_number()) fail("a number");
  const double d = j_->get<double>();
  if (!std::isfinite(d)) fail("a finite number");
  return d;
}

std::optional<double> JsonView::number_or_null() const {
  if (j_->is_null()) return std::nullopt;
  if (!j_->is_number()) fail("a number or null");
  const double d = j_->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<double> JsonView::measure_or_null(double hi) const {
  const auto v = number_or_null();
  if (v && !(*v >= 0 && *v <= hi))
    fail(hi == std::numeric_limits<double>::infinity() ? "a number >= 0, or null"
                                                       : "a number in [0, " + json(hi).dump() + "], or null");
  return v;
}

// --- The shape compare and html_report read (docs/report-schema.md) -------------------------------

namespace {

void validate_check(const JsonView& res) {
  res.at("reference").str();
  if (const auto g = res.find("golden")) {  // MiniMax-VL-01 --golden (optional)
    g->at("case").str();
    g->at("tolerance").str();
    g->at("pass").boolean();
    if (const auto f = g->find("first_failing"); f && !f->raw().is_null()) f->str();
    for (const JsonView& t : g->at("tensors").elements()) {
      t.at("name").str();
      t.at("pass").boolean();
    }
  }
  res.at("rule").at("k").measure_or_null();
  res.at("pass").boolean();
  for (const JsonView& b : res.at("backends").elements()) {
    b.at("name").str();
    b.at("status").str();
    if (const auto r = b.find("reason")) r->str();
    if (const auto fd = b.find("first_diverging")) {
      fd->at("tensor").str();
      fd->at("layer").integer(-1, kMaxReportLayer);
    }
    if (const auto ts = b.find("tensors"))
      for (const JsonView& t : ts->elements()) {
        t.at("name").str();
        t.at("pass").boolean();
        if (const auto w = t.find("why")) w->str();
        t.at("error").at("rel_fro").measure_or_null();  // errors and tolerances are magnitudes: a
        t.at("tol_rel_fro").measure_or_null();          // negative one would invert compare's "grew by > x"
        t.at("phase").str_in({"prefill", "decode"});
        t.at("layer").integer(-1, kMaxReportLayer);
        if (const auto c = t.find("choices")) c->object();
      }
  }
}

// A time distribution (bench's dist()): samples >= 0 (compare sorts and ranks them), p50/p90/p99.
void validate_times(const JsonView& s) {
  for (const JsonView& x : s.at("samples").elements())
    if (x.number() < 0) x.fail("a time >= 0");
  for (const char* k : {"p50", "p90", "p99"}) s.at(k).measure_or_null();
}

// MiniMax-VL-01 image series (optional: text models and older reports have none).
void validate_image_series(const JsonView& res) {
  if (const auto list = res.find("image_series"))
    for (const JsonView& s : list->elements()) {
      s.at("backend").str();
      s.at("phase").str_in({"image_ttft"});
      for (const char* k : {"width", "height", "crops"}) s.at(k).integer(1);
      for (const char* k : {"image_tokens", "text_tokens", "length"}) s.at(k).integer(0);
      validate_times(s);
      for (const char* k : {"gflops", "roof_gflops"}) s.at(k).measure_or_null();
      const JsonView v = s.at("vision");  // null: the backend does not time its vision part
      if (v.is_null()) continue;
      v.object();
      validate_times(v);
      v.at("count").integer(1);
      for (const char* k : {"gflops", "roof_gflops", "share_of_ttft"}) v.at(k).measure_or_null();
    }
  if (const auto list = res.find("image_skipped"))
    for (const JsonView& k : list->elements()) {
      k.at("backend").str();
      k.at("reason").str();
    }
}

void validate_bench(const JsonView& res) {
  const JsonView roof = res.at("roof");
  if (const auto bw = roof.find("bandwidth_gbps")) bw->measure_or_null();  // since the read-only measurement
  for (const char* k : {"memcpy_gbps", "sgemm_gflops", "dgemm_gflops"}) roof.at(k).measure_or_null();
  for (const JsonView& s : res.at("series").elements()) {
    s.at("backend").str();
    s.at("phase").str_in({"ttft", "tpot"});
    s.at("length").integer(0);
    for (const JsonView& x : s.at("samples").elements())  // times: compare sorts and ranks them
      if (x.number() < 0) x.fail("a time >= 0");
    for (const char* k : {"p50", "p90", "p99", "gflops", "roof_gflops"}) s.at(k).measure_or_null();
  }
  for (const JsonView& k : res.at("skipped").elements()) {
    k.at("backend").str();
    k.at("reason").str();
  }
  validate_image_series(res);
}

// MiniMax-VL-01 image requests of a soak window / overall (optional: present with images on).
void validate_soak_images(const JsonView& w) {
  const auto im = w.find("images");
  if (!im) return;
  for (const char* k : {"requests", "checked", "crops", "success", "slo_breach", "numerical", "error"}) im->at(k).integer(0);
  const JsonView t = im->at("ttft_ms");
  for (const char* k : {"p50", "p90", "p99"}) t.at(k).measure_or_null();
}

void validate_soak(const JsonView& res) {
  res.at("backend").str();
  res.at("elapsed_s").measure_or_null();
  const JsonView o = res.at("overall");
  o.at("requests").integer(0);
  o.at("uptime_percent").measure_or_null(100);
  o.at("goodput_rps").measure_or_null();
  o.at("unexplained_failures").integer(0);
  validate_soak_images(o);
  const JsonView f = res.at("faults");
  f.at("missed").integer();
  // per fault kind, a count (compare reads the injected ones)
  for (const char* k : {"injected", "caught"}) {
    const JsonView counts = f.at(k).object();
    for (const auto& item : counts.raw().items()) counts.at(item.key()).integer(0);
  }
  for (const JsonView& w : res.at("windows").elements()) {
    for (const char* k : {"error", "numerical", "slo_breach"}) w.at(k).integer(0);
    w.at("uptime_percent").measure_or_null(100);
    w.at("start_s").measure_or_null();
    validate_soak_images(w);
  }
}

}  // namespace

void validate_report(const json& report, const std::string& name) {
  const JsonView r(report, name);
  const auto schema = report.is_object() ? report.find("schema") : report.end();
  if (!report.is_object() || schema == report.end() || *schema != kReportSchema)
    throw Error(name + ": not a minimax01 report (expected \"schema\": \"" + kReportSchema + "\")");
  const auto version = report.find("schema_version");
  if (version == report.end() || !(version->is_number_integer() || version->is_number_unsigned()))
    throw Error(name + ": report has no integer \"schema_version\"");
  const int64_t v = r.at("schema_version").integer(1, std::numeric_limits<int64_t>::max());
  if (v > kReportSchemaVersion)
    throw Error(name + ": report schema version " + std::to_string(v) + " is newer than this tool's (" +
                std::to_string(kReportSchemaVersion) + ")");
  const JsonView kind = r.at("kind");
  if (!kind.raw().is_string() || (kind.str() != "check" && kind.str() != "bench" && kind.str() != "soak"))
    throw Error(name + ": unknown report kind " + (kind.raw().is_string() ? short_dump(kind.raw()) : describe(kind.raw())) +
                " (expected check, bench or soak)");
  // The envelope fields the HTML page shows are optional, but typed when present.
  if (const auto c = r.find("created_utc")) c->str();
  if (const auto t = r.find("tool")) {
    if (const auto c = t->find("git_commit")) c->str();
    if (const auto d = t->find("git_dirty")) d->boolean();
  }
  if (const auto m = r.find("machine"))
    if (const auto c = m->find("cpu")) c->str();
  if (const auto m = r.find("model"))
    if (const auto s = m->find("source")) s->str();
  // Completion (an interrupted run, core/interrupt.h): absent in reports written before the field
  // existed, which are complete. An incomplete report must say where it stopped, and never pass.
  bool complete = true;
  if (const auto c = r.find("complete")) complete = c->boolean();
  if (const auto i = r.find("interrupted"); i && complete)
    i->fail("no \"interrupted\" in a complete report (\"complete\" is not false)");
  if (!complete) {
    const JsonView i = r.at("interrupted").object();
    i.at("signal").str();
    i.at("during").str();
    i.at("steps_done").integer(0);
    if (const JsonView t = i.at("steps_total"); !t.is_null()) t.integer(0);
  }
  const JsonView res = r.at("result");
  res.object();
  if (!complete)
    if (const auto p = res.find("pass"); p && p->boolean())
      p->fail("false in an incomplete report (an interrupted run has no verdict)");
  if (kind.str() == "check") validate_check(res);
  else if (kind.str() == "bench") validate_bench(res);
  else validate_soak(res);
}

}  // namespace mm::harness
