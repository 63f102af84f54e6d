// Fuzz target: a config.json through the bounded JSON parser (mm::parse_json_text, with the limits
// mm::load_config uses) and mm::config_from_json. An accepted config must validate, its parameter
// count and memory plan must not overflow (core/config.h: a validated config never does), and it must
// survive a round trip through config_to_json in both spellings: read back, it gives the same config
// (except what a spelling cannot carry: the official spelling has no block_size, the HF one no
// postnorm). A refusal for a number that overflows a double also goes through mm::load_config on a
// file, which then names the offending field. A minimax_vl_01 config also goes through
// mm::vl_config_from_json: accepted, it validates, its vision parameter count does not overflow, and it
// reads back unchanged from vl_config_to_json.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/vl_config.h"
#include "core/file_io.h"
#include "fuzz/fuzz_target.h"

namespace {

// The fields a spelling carries, as text, for comparing two configs.
std::string fingerprint(mm::ModelConfig c, mm::ConfigSpelling s) {
  if (s == mm::ConfigSpelling::Official) c.block_size = 256;
  else c.postnorm = true;
  return mm::config_to_json(c, mm::ConfigSpelling::Official).dump() + " block_size=" + std::to_string(c.block_size);
}

// load_config on a file holding `text` (a per-process temporary file; /dev/shm when there is one).
void load_from_file(std::string_view text) {
  namespace fs = std::filesystem;
  static const std::string path = [] {
    const fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return (dir / ("mm-fuzz-config-" + std::to_string(::getpid()) + ".json")).string();
  }();
  struct Remove {
    ~Remove() { std::remove(path.c_str()); }
  } remove_after;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  (void)mm::load_config(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text = mm::fuzz::as_text(data, size);
  return mm::fuzz::run([&] {
    mm::JsonLimits limits;  // as load_config reads config.json
    limits.max_bytes = 4u << 20;
    limits.max_depth = 32;
    nlohmann::json j;
    try {
      j = mm::parse_json_text(text, "config.json", limits);
    } catch (const mm::Error& e) {
      if (std::string_view(e.what()).find("number overflow") != std::string_view::npos) load_from_file(text);
      throw;
    }
    if (j.is_object() && j.contains("model_type") && j["model_type"] == "minimax_vl_01") {
      try {
        const mm::VlConfig v = mm::vl_config_from_json(j, "config.json");
        MM_FUZZ_MUST_ACCEPT("validate() of an accepted VL config", v.validate());
        MM_FUZZ_MUST_ACCEPT("count_vision_params of an accepted VL config",
                            MM_FUZZ_CHECK(mm::count_vision_params(v).total > 0, ""));
        const std::string written = mm::vl_config_to_json(v, mm::ConfigSpelling::Official).dump();
        mm::VlConfig back;
        try {
          back = mm::vl_config_from_json(mm::parse_json_text(written, "config.json (written back)", limits), "written back");
        } catch (const mm::Error& e) {
          mm::fuzz::broken(__FILE__, __LINE__, "VL", std::string("a VL config written back is refused: ") + e.what() +
                                                         "\n  written: " + written);
        }
        MM_FUZZ_CHECK(mm::vl_config_to_json(back, mm::ConfigSpelling::Official).dump() == written,
                      "VL round trip changed the config:\n  " + written);
      } catch (const mm::Error&) {
        // refused as a VL config; the text config below may still be read (config_from_json's own rules)
      }
    }
    const mm::ModelConfig c = mm::config_from_json(j, "config.json");
    MM_FUZZ_MUST_ACCEPT("validate() of an accepted config", c.validate());
    MM_FUZZ_MUST_ACCEPT("count_params / memory_plan of an accepted config", {
      const mm::ParamCount p = mm::count_params(c);
      MM_FUZZ_CHECK(p.total > 0 && p.active > 0 && p.active <= p.total, std::to_string(p.total));
      const mm::MemoryPlan m = mm::memory_plan(c);
      MM_FUZZ_CHECK(m.weight_bytes_bf16 == 2 * p.total, "");
      (void)mm::estimate_model_bytes(c, 2, 4, uint64_t{1} << 40);
    });
    for (const auto s : {mm::ConfigSpelling::Official, mm::ConfigSpelling::HF}) {
      const char* name = s == mm::ConfigSpelling::Official ? "official" : "HF";
      // The HF spelling cannot express every rotary width exactly (docs/fuzzing.md, config finding);
      // config_to_json then refuses with an mm::Error instead of writing a file that reads back differently.
      std::string written;
      try {
        written = mm::config_to_json(c, s).dump();
      } catch (const mm::Error&) {
        MM_FUZZ_CHECK(s == mm::ConfigSpelling::HF, "the official spelling writes every valid config");
        continue;
      }
      mm::ModelConfig back;
      try {
        back = mm::config_from_json(mm::parse_json_text(written, "config.json (written back)", limits), "written back");
      } catch (const mm::Error& e) {
        mm::fuzz::broken(__FILE__, __LINE__, name,
                         std::string("a config written back in this spelling is refused: ") + e.what() +
                             "\n  written: " + written);
      }
      MM_FUZZ_CHECK(fingerprint(back, s) == fingerprint(c, s),
                    std::string(name) + " round trip changed the config:\n  " + fingerprint(c, s) + "\n  " +
                        fingerprint(back, s));
    }
  });
}
