// Fuzz target: a check / bench / soak report (docs/report-schema.md) through
// mm::harness::parse_report_text, the reader of `minimax01 report` and `compare`. A report it accepts
// must then be usable without any further refusal (harness/report_schema.h): compared with itself
// (compare_reports, summary: no regression; an incomplete report, "complete": false, is refused by
// compare with that reason) and rendered as the HTML page (render_html).
#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_target.h"
#include "harness/compare.h"
#include "harness/html_report.h"
#include "harness/report.h"

namespace {

// The first numeric SVG attribute (coordinates, sizes, points, transform) inside a tag whose value holds
// a NaN or an infinity, or "" when there is none. Text between tags is left alone: the page prints
// "nan" for a null number on purpose, and user strings are escaped (no '<' or '>' of theirs).
std::string nonfinite_coordinate(const std::string& html) {
  static const char* const kNumeric[] = {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height",
                                         "points", "transform", "viewBox"};
  for (std::size_t open = html.find('<'); open != std::string::npos; open = html.find('<', open + 1)) {
    const std::size_t close = html.find('>', open);
    if (close == std::string::npos) break;
    const std::string tag = html.substr(open, close - open);
    for (std::size_t eq = tag.find("='"); eq != std::string::npos; eq = tag.find("='", eq + 2)) {
      std::size_t b = eq;
      while (b > 0 && (std::isalnum(static_cast<unsigned char>(tag[b - 1])) || tag[b - 1] == '-')) --b;
      const std::string attr = tag.substr(b, eq - b);
      const std::size_t end = tag.find('\'', eq + 2);
      std::string value = tag.substr(eq + 2, end == std::string::npos ? std::string::npos : end - eq - 2);
      for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const char* n : kNumeric)
        if (attr == n && (value.find("nan") != std::string::npos || value.find("inf") != std::string::npos))
          return tag;
    }
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return mm::fuzz::run([&] {
    const nlohmann::json r = mm::harness::parse_report_text(mm::fuzz::as_text(data, size), "fuzz.json");
    if (!mm::harness::report_complete(r)) {
      // An interrupted run's report ("complete": false) is refused by compare, as a baseline, by design.
      try {
        (void)mm::harness::compare_reports(r, r, {}, "old.json", "new.json");
        MM_FUZZ_CHECK(false, "an incomplete report was compared");
      } catch (const mm::Error& e) {
        MM_FUZZ_CHECK(std::string(e.what()).find("incomplete report") != std::string::npos, e.what());
      }
    } else MM_FUZZ_MUST_ACCEPT("compare_reports of an accepted report with itself", {
      const mm::harness::CompareResult c = mm::harness::compare_reports(r, r, {}, "old.json", "new.json");
      MM_FUZZ_CHECK(c.regressions == 0, mm::harness::summary(c));
      (void)mm::harness::summary(c);
    });
    MM_FUZZ_MUST_ACCEPT("render_html of an accepted report", {
      const std::string html = mm::harness::render_html({{"fuzz.json", r}});
      MM_FUZZ_CHECK(!html.empty(), "");
      const std::string bad = nonfinite_coordinate(html);
      MM_FUZZ_CHECK(bad.empty(), "a non-finite coordinate in the page: " + bad);
    });
  });
}
