// Reading untrusted report JSON (docs/report-schema.md). A report given to `report` or `compare` is
// input from outside: every key the readers use must exist, with the expected type, before it is used.
//
// JsonView is a read-only view of one JSON value that knows its file and its JSON path, so a missing
// key or a wrong type becomes one mm::Error naming both and what was expected:
//   a.json: result.backends[1].tensors[3].error.rel_fro: expected a number or null, got a string ("x")
//   a.json: result.backends[0].first_diverging: expected an object with 'layer' (the key is missing)
// Nothing is read through operator[] on a missing key, .get<> on a wrong type or value() on a
// non-object. validate_report walks the whole shape that compare and the HTML renderer read, per kind,
// with these accessors; compare and html_report then read through the same accessors, so a report that
// reaches them unvalidated (built in memory) still gives an mm::Error, never undefined behaviour.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mm::harness {

class JsonView {
 public:
  // The root of a document named `file` in messages. `j` must outlive the view and its children.
  JsonView(const nlohmann::json& j, const std::string& file);

  const nlohmann::json& raw() const { return *j_; }
  const std::string& file() const { return *file_; }
  // "result.backends[1].tensors[3]"; "(top level)" for the root.
  std::string path() const;

  // Objects: each requires this value to be an object ("expected an object with 'KEY'").
  bool has(std::string_view key) const;                      // the key is present (its value may be null)
  JsonView at(std::string_view key) const;                   // the key must be present
  std::optional<JsonView> find(std::string_view key) const;  // nullopt when absent

  // Arrays: each requires this value to be an array.
  std::size_t size() const;
  std::vector<JsonView> elements() const;

  // Leaves: each requires its type and names the path otherwise.
  bool is_null() const { return j_->is_null(); }
  const JsonView& object() const;  // requires an object
  const std::string& str() const;
  // One of `allowed` ("expected \"ttft\" or \"tpot\"").
  const std::string& str_in(std::initializer_list<std::string_view> allowed) const;
  bool boolean() const;
  // An integer (not 3.0, not a string) within [lo, hi].
  int64_t integer(int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const;
  double number() const;  // a finite number
  // A finite number, or nullopt for null: writers store a non-finite value (NaN, Inf) as null, and a
  // non-finite double in an in-memory document counts the same.
  std::optional<double> number_or_null() const;
  // number_or_null() that must also lie in [0, hi]: a magnitude (an error, a time, a rate, a percentage).
  std::optional<double> measure_or_null(double hi = std::numeric_limits<double>::infinity()) const;

  // Throws mm::Error "FILE: PATH: expected EXPECTED, got WHAT-IS-THERE".
  [[noreturn]] void fail(const std::string& expected) const;

 private:
  JsonView(const nlohmann::json* j, std::shared_ptr<const std::string> file, std::string path)
      : j_(j), file_(std::move(file)), path_(std::move(path)) {}
  const nlohmann::json* j_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

// Layer numbers in a check report: -1 (final_norm, logits) to this. Bounds what the HTML page draws.
constexpr int64_t kMaxReportLayer = 100000;

// Throws mm::Error naming `name`, the JSON path and what was expected unless `report` has the whole
// shape `compare` and `report` (the HTML page) read: the envelope (schema, schema_version no newer than
// this tool, kind check / bench / soak, result) and the kind's result (docs/report-schema.md, "What
// the readers require").
void validate_report(const nlohmann::json& report, const std::string& name);

}  // namespace mm::harness
