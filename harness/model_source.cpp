#include "harness/model_source.h"

#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "reference/synthetic.h"

namespace mm::harness {
namespace fs = std::filesystem;

ModelSource resolve_model(const std::string& model_dir, const std::string& preset, uint64_t weight_seed) {
  if (!model_dir.empty() && !preset.empty()) throw Error("give --model DIR or --preset NAME, not both");
  ModelSource s;
  if (!model_dir.empty()) {
    s.model = {model_dir, load_config(model_dir)};  // names the directory when it is missing
    s.label = model_dir;
    return s;
  }
  const std::string name = preset.empty() ? kDefaultPreset : preset;
  ModelConfig cfg = preset_config(name);
  if (name == "minimax-text-01")
    throw Error("preset 'minimax-text-01' is the real 456B configuration; its weights are never allocated "
                "(use --model DIR with a real checkpoint)");
  const fs::path dir = fs::temp_directory_path() /
                       ("minimax01-" + name + "-" + std::to_string(std::random_device{}()));
  ref::SyntheticOptions opt;
  opt.seed = weight_seed;
  ref::write_synthetic_checkpoint(dir.string(), cfg, opt);
  s.temp_owner = std::shared_ptr<void>(new fs::path(dir), [](void* p) {
    auto* path = static_cast<fs::path*>(p);
    std::error_code ec;
    fs::remove_all(*path, ec);
    delete path;
  });
  s.model = {dir.string(), load_config(dir.string())};
  s.model.config.source = "preset " + name;
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
