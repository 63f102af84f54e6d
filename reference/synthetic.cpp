#include "reference/synthetic.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"

namespace mm::ref {

std::vector<TensorSpec> checkpoint_specs(const ModelConfig& c, DType dt) {
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, inner = c.inner_dim(), kvd = c.kv_dim();
  std::vector<TensorSpec> s;
  auto add = [&](std::string n, std::vector<int64_t> shape) { s.push_back({std::move(n), dt, std::move(shape)}); };
  add("model.embed_tokens.weight", {V, H});
  for (int64_t l = c.stored_begin(); l < c.stored_end(); ++l) {  // a slice checkpoint: its layers alone
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {H});
    add(p + "post_attention_layernorm.weight", {H});
    if (c.layer_types[static_cast<std::size_t>(l)] == LayerType::Lightning) {
      add(p + "self_attn.qkv_proj.weight", {3 * inner, H});
      add(p + "self_attn.output_gate.weight", {inner, H});
      add(p + "self_attn.norm.weight", {inner});
      add(p + "self_attn.out_proj.weight", {H, inner});
    } else {
      add(p + "self_attn.q_proj.weight", {inner, H});
      add(p + "self_attn.k_proj.weight", {kvd, H});
      add(p + "self_attn.v_proj.weight", {kvd, H});
      add(p + "self_attn.o_proj.weight", {H, inner});
    }
    add(p + "block_sparse_moe.gate.weight", {c.num_local_experts, H});
    for (int64_t e = 0; e < c.num_local_experts; ++e) {
      const std::string q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      add(q + "w1.weight", {I, H});
      add(q + "w3.weight", {I, H});
      add(q + "w2.weight", {H, I});
    }
  }
  add("model.norm.weight", {H});
  if (!c.tie_word_embeddings) add("lm_head.weight", {V, H});
  return s;
}

static bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

void synthetic_values(const TensorSpec& spec, const ModelConfig& c, uint64_t seed, int64_t offset, int64_t n,
                      double* out) {
  require(offset >= 0 && n >= 0 && offset + n <= spec.numel(), "synthetic_values: chunk outside the tensor");
  Rng rng(hash_string(spec.name, seed));
  rng.skip(2 * static_cast<uint64_t>(offset));  // one normal() (two draws) per element before this chunk
  const double H = static_cast<double>(c.hidden_size);
  if (spec.shape.size() == 1) {  // every 1-D tensor is an RMSNorm weight
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0 + 0.1 * rng.normal();
    return;
  }
  const double fan_in = static_cast<double>(spec.shape.back());
  double std = 1.0 / std::sqrt(fan_in);
  if (spec.name == "model.embed_tokens.weight") std = 1.0;
  else if (ends_with(spec.name, "block_sparse_moe.gate.weight") || spec.name == "lm_head.weight") std = 2.0 / std::sqrt(H);
  for (int64_t i = 0; i < n; ++i) out[i] = std * rng.normal();
}

void synthetic_values(const TensorSpec& spec, const ModelConfig& c, uint64_t seed, std::vector<double>& out) {
  out.resize(static_cast<std::size_t>(spec.numel()));
  synthetic_values(spec, c, seed, 0, spec.numel(), out.data());
}

// The files of a checkpoint already in `dir` (what init --force replaces): its index, the shards that
// index names, model.safetensors, and shards named in the HF pattern model-NNNNN-of-NNNNN.safetensors.
// Nothing else: a dump or a golden file beside the checkpoint is the user's and stays.
std::vector<std::string> existing_checkpoint_files(const std::string& dir_path) {
  const std::filesystem::path dir(dir_path);
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  auto regular = [&](const std::string& n) { return fs::is_regular_file(fs::symlink_status(dir / n, ec)); };
  if (regular("model.safetensors.index.json")) {
    out.push_back("model.safetensors.index.json");
    try {
      const nlohmann::json idx = read_json_file((dir / "model.safetensors.index.json").string(), "checkpoint index");
      if (idx.is_object() && idx.contains("weight_map") && idx["weight_map"].is_object())
        for (const auto& [k, v] : idx["weight_map"].items())
          if (v.is_string()) {
            const std::string n = v.get<std::string>();
            if (is_plain_file_name(n) && regular(n)) out.push_back(n);
          }
    } catch (const Error&) {  // a corrupt index: its shards are found by their names below, if they follow the pattern
    }
  }
  if (regular("model.safetensors")) out.push_back("model.safetensors");
  const std::regex hf_shard(R"(model-\d{5}-of-\d{5}\.safetensors)");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (std::regex_match(n, hf_shard) && regular(n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void remove_replaced_files(const std::string& dir, const std::vector<std::string>& old,
                           const std::vector<std::string>& written) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& n : old) {
    if (std::find(written.begin(), written.end(), n) != written.end()) continue;
    if (!fs::remove(fs::path(dir) / n, ec) && ec)
      throw Error((fs::path(dir) / n).string() + ": cannot remove the replaced checkpoint's file: " + ec.message());
  }
}

void write_synthetic_checkpoint(const std::string& dir, const ModelConfig& cfg, const SyntheticOptions& opt) {
  require(opt.dtype == DType::BF16 || opt.dtype == DType::F32 || opt.dtype == DType::F16,
          "init: --dtype must be bf16, f16 or f32");
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": cannot create the checkpoint directory" + (ec ? ": " + ec.message() : ""));
  const std::vector<std::string> old = existing_checkpoint_files(dir);
  nlohmann::json j = config_to_json(cfg, opt.spelling);
  j["torch_dtype"] = opt.dtype == DType::F32 ? "float32" : opt.dtype == DType::F16 ? "float16" : "bfloat16";
  write_file_atomic((fs::path(dir) / "config.json").string(), [&](std::ostream& f) { f << j.dump(2) << "\n"; });
  const auto specs = checkpoint_specs(cfg, opt.dtype);
  // Chunk by chunk: memory stays at one chunk whatever the tensor's size.
  const auto written = write_checkpoint_shards(
      dir, specs,
      [&](std::size_t i, int64_t offset, int64_t n, double* out) { synthetic_values(specs[i], cfg, opt.seed, offset, n, out); },
      opt.max_shard_bytes);
  remove_replaced_files(dir, old, written);
}

}  // namespace mm::ref
