// Fuzz target: `minimax01 compare OLD NEW` on two reports. The input is split at the first line that
// is exactly "----" (kSeparator; without one, both reports are the input): each half goes through
// mm::harness::parse_report_text, then compare_reports and summary run on the pair. Reports of
// different kinds or schema versions are refused (mm::Error), so are incomplete reports ("complete":
// false: an interrupted run) and reports of different models unless --allow-different-model; any other refusal of two accepted reports is a finding (harness/compare.h
// reads only what validation checked, and the descriptions `model` and `machine` defensively).
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_target.h"
#include "harness/compare.h"
#include "harness/report.h"

namespace {
constexpr std::string_view kSeparator = "\n----\n";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text = mm::fuzz::as_text(data, size);
  const std::size_t cut = text.find(kSeparator);
  const std::string_view a = cut == std::string_view::npos ? text : text.substr(0, cut);
  const std::string_view b = cut == std::string_view::npos ? text : text.substr(cut + kSeparator.size());
  return mm::fuzz::run([&] {
    const nlohmann::json o = mm::harness::parse_report_text(a, "old.json");
    const nlohmann::json n = mm::harness::parse_report_text(b, "new.json");
    const bool comparable = o.at("kind") == n.at("kind") && o.at("schema_version") == n.at("schema_version");
    if (!comparable) {
      (void)mm::harness::compare_reports(o, n, {}, "old.json", "new.json");
      MM_FUZZ_CHECK(false, "reports of different kinds or schema versions were compared");
    }
    // An interrupted run's report ("complete": false) is refused, as the baseline or the new report.
    if (!mm::harness::report_complete(o) || !mm::harness::report_complete(n)) {
      try {
        (void)mm::harness::compare_reports(o, n, {}, "old.json", "new.json");
        MM_FUZZ_CHECK(false, "an incomplete report was compared");
      } catch (const mm::Error& e) {
        MM_FUZZ_CHECK(std::string(e.what()).find("incomplete report") != std::string::npos, e.what());
      }
      return;
    }
    // Reports of different models (model.config) are refused by default, with that reason.
    try {
      (void)mm::harness::compare_reports(o, n, {}, "old.json", "new.json");
    } catch (const mm::Error& e) {
      MM_FUZZ_CHECK(std::string(e.what()).find("different models") != std::string::npos, e.what());
    }
    mm::harness::CompareOptions any_model;
    any_model.allow_different_model = true;
    MM_FUZZ_MUST_ACCEPT("compare_reports of two accepted reports of one kind", {
      const mm::harness::CompareResult c = mm::harness::compare_reports(o, n, any_model, "old.json", "new.json");
      MM_FUZZ_CHECK(c.kind == o.at("kind").get<std::string>(), c.kind);
      int regressions = 0;
      for (const auto& l : c.lines) regressions += l.regression;
      MM_FUZZ_CHECK(regressions == c.regressions, "");
      (void)mm::harness::summary(c);
    });
  });
}
