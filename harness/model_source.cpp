#include "harness/model_source.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/vl_config.h"
#include "reference/synthetic.h"
#include "reference/synthetic_vl.h"

namespace mm::harness {
namespace fs = std::filesystem;

ModelSource resolve_model(const std::string& model_dir, const std::string& preset, uint64_t weight_seed) {
  if (!model_dir.empty() && !preset.empty()) throw UsageError("give --model DIR or --preset NAME, not both");
  ModelSource s;
  if (!model_dir.empty()) {
    s.model = load_model(model_dir);  // names the directory when it is missing; vl set for a VL checkpoint
    s.label = model_dir;
    return s;
  }
  const std::string name = preset.empty() ? kDefaultPreset : preset;
  const auto vl_names = vl_preset_names();
  const bool vl = std::find(vl_names.begin(), vl_names.end(), name) != vl_names.end();
  if (name == "minimax-vl-01")
    throw Error("preset 'minimax-vl-01' is the real MiniMax-VL-01 configuration; its weights are never allocated "
                "(use --model DIR with a real checkpoint)");
  ModelConfig cfg = vl ? ModelConfig{} : preset_config(name);
  if (name == "minimax-text-01")
    throw Error("preset 'minimax-text-01' is the real 456B configuration; its weights are never allocated "
                "(use --model DIR with a real checkpoint)");
  const fs::path dir = fs::temp_directory_path() /
                       ("minimax01-" + name + "-" + std::to_string(std::random_device{}()));
  ref::SyntheticOptions opt;
  opt.seed = weight_seed;
  if (vl)  // MiniMax-VL-01 presets (vl-tiny, vl-small): vision tower + projector + the text model
    ref::write_synthetic_vl_checkpoint(dir.string(), vl_preset_config(name), opt);
  else
    ref::write_synthetic_checkpoint(dir.string(), cfg, opt);
  s.temp_owner = std::shared_ptr<void>(new fs::path(dir), [](void* p) {
    auto* path = static_cast<fs::path*>(p);
    std::error_code ec;
    fs::remove_all(*path, ec);
    delete path;
  });
  s.model = load_model(dir.string());
  s.model.config.source = "preset " + name;
  if (s.model.vl) s.model.vl->source = "preset " + name;
  s.label = "preset " + name + " (synthetic, seed " + std::to_string(weight_seed) + ")";
  return s;
}

void require_same_config(const ModelConfig& golden, const ModelConfig& model, const std::string& what) {
  const auto a = config_to_json(golden, ConfigSpelling::Official), b = config_to_json(model, ConfigSpelling::Official);
  std::string diff;
  for (auto it = a.begin(); it != a.end(); ++it) {
    const auto jt = b.find(it.key());
    if (jt == b.end() || *jt != it.value())
      diff += (diff.empty() ? "" : "; ") + it.key() + ": " + it.value().dump() + " (golden) vs " +
              (jt == b.end() ? std::string("absent") : jt->dump()) + " (model)";
  }
  if (!diff.empty()) throw Error(what + " does not match the model config: " + diff);
}

}  // namespace mm::harness
