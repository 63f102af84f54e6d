// minimax01 init: seeded synthetic checkpoint for a preset (Text-01, or MiniMax-VL-01 for the vl-* presets).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/output_guard.h"
#include "core/dtype.h"
#include "core/vl_config.h"
#include "reference/synthetic.h"
#include "reference/synthetic_vl.h"

namespace mm::cli {

// init writes a directory: never into a file, and into a directory that holds anything only with --force
// (it replaces config.json and the safetensors files there: someone's checkpoint).
static void refuse_to_replace(const std::string& out, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(out, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) throw Error("init: --out " + out + " exists and is not a directory (expected a new or empty directory)");
  if (!force && !fs::is_empty(out, ec))
    throw Error("init: --out " + out + " is not empty (it may hold a checkpoint); choose a new directory, or add --force "
                "to replace the checkpoint files in it");
}

// The weights' bytes must fit the free space where they go (with 1% and 64 MiB to spare), checked before
// anything is written: a real-shape config is tens of GB.
// `extra_params`: parameters beside the text model's (a VL model's vision tower, projector and newline).
static void require_disk_space(const std::string& out, const ModelConfig& cfg, DType dtype, int64_t extra_params = 0) {
  namespace fs = std::filesystem;
  fs::path probe = fs::absolute(out);
  std::error_code ec;
  while (!fs::exists(probe, ec) && probe.has_parent_path() && probe != probe.parent_path()) probe = probe.parent_path();
  const fs::space_info sp = fs::space(probe, ec);
  if (ec) return;  // unknown: the writer's own errors name a full disk
  const auto bytes = static_cast<uint64_t>(count_params(cfg).total + extra_params) * dtype_size(dtype);
  const uint64_t need = bytes + bytes / 100 + (uint64_t{64} << 20);
  if (need > sp.available)
    throw Error("init: the weights of " + cfg.source + " take " + std::to_string(bytes) + " bytes (" +
                std::to_string(bytes >> 30) + " GiB) but " + probe.string() + " has " + std::to_string(sp.available) +
                " bytes free");
}

// --seed, --dtype, --spelling, --max-shard-mb.
static ref::SyntheticOptions synthetic_options(const Args& a) {
  ref::SyntheticOptions opt;
  opt.seed = a.seed("seed");
  const std::string dt = a.str("dtype", "bf16");
  if (dt == "bf16") opt.dtype = DType::BF16;
  else if (dt == "f32") opt.dtype = DType::F32;
  else if (dt == "f16") opt.dtype = DType::F16;
  else throw UsageError("init: --dtype must be bf16, f16 or f32, got '" + dt + "'");
  const std::string sp = a.str("spelling", "official");
  if (sp == "official") opt.spelling = ConfigSpelling::Official;
  else if (sp == "hf") opt.spelling = ConfigSpelling::HF;
  else throw UsageError("init: --spelling must be official or hf, got '" + sp + "'");
  const int64_t mb = a.integer("max-shard-mb", 2048, 1, 1 << 20);  // 1 MiB .. 1 TiB per shard
  opt.max_shard_bytes = static_cast<std::size_t>(mb) << 20;
  return opt;
}

// --layers N | A:B: a slice checkpoint holding decoder layers 0..N-1 or A..B-1 of `cfg` (config.json
// "minimax01_layers"; docs/slices.md). Each keeps its index, hence its type and constants, and its
// synthetic values (seeded by tensor name: the whole checkpoint's layer l, bit for bit).
static void layers_to_write(const Args& a, ModelConfig& cfg) {
  if (!a.has("layers")) return;
  const std::string spec = a.str("layers", "");
  const std::string L = std::to_string(cfg.num_hidden_layers);
  if (spec.find(':') == std::string::npos) {  // N: layers 0 .. N-1
    const std::optional<int64_t> n = parse_layer_number(spec);
    if (!n || *n < 1 || *n > cfg.num_hidden_layers)
      throw UsageError("init: --layers '" + spec + "': expected N with 1 <= N <= " + L + ", or A:B with 0 <= A < B <= " + L +
                       " (num_hidden_layers)");
    cfg.stored = {0, *n};
  } else {
    cfg.stored = parse_layer_span(spec, cfg, "init: --layers");
  }
  cfg.validate();
}

// What a VL checkpoint holds, for the line init prints.
static void print_vl_written(const Args& a, const ref::SyntheticOptions& opt, const std::string& what,
                             const VlConfig& vcfg, const std::string& out) {
  const VisionParamCount vp = count_vision_params(vcfg);
  const int64_t text = count_params(vcfg.text).total;
  std::printf("wrote %s VL checkpoint for %s (seed %llu, %s, %lld parameters: text %lld, vision tower %lld, "
              "projector %lld, image_newline %lld) to %s\n",
              a.str("spelling", "official").c_str(), what.c_str(), static_cast<unsigned long long>(opt.seed),
              a.str("dtype", "bf16").c_str(), static_cast<long long>(text + vp.total), static_cast<long long>(text),
              static_cast<long long>(vp.vit), static_cast<long long>(vp.projector),
              static_cast<long long>(vp.image_newline), out.c_str());
}

// init --config FILE with a MiniMax-VL-01 config.json (model_type minimax_vl_01): the vision tower,
// projector and newline of its vision_config beside the text model of its text_config, and a
// preprocessor_config.json with its grid pinpoints, as the vl-* presets write them. E.g. the released
// vision tower on a small text model, for timing the tower alone (scripts/gpu-kit.sh).
static int init_vl_from_config(const Args& a, const std::string& file) {
  if (a.has("layers")) throw UsageError("init: --layers writes text models; " + file + " is a MiniMax-VL-01 config");
  const VlConfig vcfg = load_vl_config(file);  // validated field by field, naming the file
  const ref::SyntheticOptions opt = synthetic_options(a);
  const std::string out = a.required("out");
  refuse_to_replace(out, a.has("force"));
  refuse_input_as_output(a, "out", (std::filesystem::path(out) / "config.json").string());
  require_disk_space(out, vcfg.text, opt.dtype, count_vision_params(vcfg).total);
  ref::write_synthetic_vl_checkpoint(out, vcfg, opt, opt.spelling == ConfigSpelling::HF);
  print_vl_written(a, opt, "config " + file, vcfg, out);
  return 0;
}

// init --config FILE: seeded weights for any Text-01 configuration (or MiniMax-VL-01, above).
static int init_from_config(const Args& a, const std::string& file) {
  if (is_vl_config(file)) return init_vl_from_config(a, file);
  ModelConfig cfg = load_config(file);  // validated field by field, naming the file
  if (a.has("layers") && !cfg.stored.all())
    throw UsageError("init: --layers: " + file + " is already a slice (minimax01_layers)");
  layers_to_write(a, cfg);
  const ref::SyntheticOptions opt = synthetic_options(a);
  const std::string out = a.required("out");
  refuse_to_replace(out, a.has("force"));
  // --force into the directory that holds FILE as its config.json would overwrite the input
  refuse_input_as_output(a, "out", (std::filesystem::path(out) / "config.json").string());
  require_disk_space(out, cfg, opt.dtype);
  ref::write_synthetic_checkpoint(out, cfg, opt);
  std::printf("wrote %s checkpoint for config %s%s (seed %llu, %s, %lld parameters) to %s\n",
              a.str("spelling", "official").c_str(), file.c_str(),
              cfg.stored.all() ? "" : (", layers " + run_layers_string(cfg)).c_str(), static_cast<unsigned long long>(opt.seed),
              a.str("dtype", "bf16").c_str(), static_cast<long long>(count_params(cfg).total), out.c_str());
  return 0;
}

int cmd_init(const std::vector<std::string>& argv) {
  const Args a(command_spec("init"), argv);
  if (a.has("preset") == a.has("config")) throw UsageError("init: give exactly one of --preset NAME or --config FILE");
  if (a.has("config")) return init_from_config(a, a.str("config", ""));
  const std::string name = a.required("preset");
  const std::vector<std::string> vl_names = vl_preset_names();
  const bool vl = std::find(vl_names.begin(), vl_names.end(), name) != vl_names.end();
  if (name == "minimax-vl-01")
    throw Error("init: refusing to write the full minimax-vl-01 preset (913 GB of weights); use 'info --preset minimax-vl-01'");
  const std::vector<std::string> text_names = preset_names();
  if (!vl && std::find(text_names.begin(), text_names.end(), name) == text_names.end()) {
    std::string all;
    for (const auto& n : text_names) all += (all.empty() ? "" : ", ") + n;
    for (const auto& n : vl_names) all += ", " + n;
    throw UsageError("unknown preset '" + name + "' (expected one of: " + all + ")");
  }
  VlConfig vcfg;
  if (vl) vcfg = vl_preset_config(name);
  ModelConfig cfg = vl ? vcfg.text : preset_config(name);
  if (vl && a.has("layers")) throw UsageError("init: --layers writes text models; " + name + " is a MiniMax-VL-01 preset");
  layers_to_write(a, cfg);
  if (name == "minimax-text-01" && cfg.stored_end() - cfg.stored_begin() == cfg.num_hidden_layers)
    throw Error("init: refusing to write the full minimax-text-01 preset (912 GB of weights); use 'info --preset "
                "minimax-text-01', or --layers N / A:B for a slice of it");
  const ref::SyntheticOptions opt = synthetic_options(a);
  const std::string sp = a.str("spelling", "official"), dt = a.str("dtype", "bf16");
  const std::string out = a.required("out");
  refuse_to_replace(out, a.has("force"));
  if (vl) {
    // --spelling hf: the HF native port's tensor names and the HF text spelling in text_config.
    ref::write_synthetic_vl_checkpoint(out, vcfg, opt, opt.spelling == ConfigSpelling::HF);
    print_vl_written(a, opt, "preset '" + name + "'", vcfg, out);
    return 0;
  }
  require_disk_space(out, cfg, opt.dtype);
  ref::write_synthetic_checkpoint(out, cfg, opt);
  std::printf("wrote %s checkpoint for preset '%s'%s (seed %llu, %s, %lld parameters) to %s\n",
              sp.c_str(), name.c_str(), cfg.stored.all() ? "" : (", layers " + run_layers_string(cfg)).c_str(),
              static_cast<unsigned long long>(opt.seed), dt.c_str(), static_cast<long long>(count_params(cfg).total),
              out.c_str());
  return 0;
}

}  // namespace mm::cli
