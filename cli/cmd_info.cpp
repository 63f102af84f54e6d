// minimax01 info: layer pattern, parameter counts and memory plan (no weights are read); for a
// MiniMax-VL-01 model also the vision config, its parameter counts and the vision weights' memory.
#include <algorithm>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/stdout_document.h"
#include "core/config.h"
#include "core/vl_config.h"
#include "reference/blas_cpu.h"

namespace mm::cli {

static std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) { b /= 1024; ++u; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", b, units[u]);
  return buf;
}

// The same facts as the text, as one JSON document (info --json); sizes in bytes, counts as integers.
static nlohmann::json info_json(const ModelConfig& c, const std::optional<VlConfig>& vl, const ParamCount& p,
                                const MemoryPlan& m) {
  std::string pattern;
  for (auto t : c.layer_types) pattern += t == LayerType::Lightning ? 'L' : 'S';
  const ref::BlasKernels blas = ref::blas_kernels();
  nlohmann::json j = {
      {"model", vl ? vl->source : c.source},
      {"model_type", vl ? "minimax_vl_01" : "minimax_text_01"},
      {"layers", {{"total", c.num_hidden_layers}, {"lightning", c.num_layers_of(LayerType::Lightning)},
                  {"softmax", c.num_layers_of(LayerType::Softmax)}, {"pattern", pattern}}},
      {"text_config", {{"hidden_size", c.hidden_size}, {"num_attention_heads", c.num_attention_heads},
                       {"head_dim", c.head_dim}, {"num_key_value_heads", c.num_key_value_heads},
                       {"rotary_dim", c.rotary_dim}, {"rope_theta", c.rope_theta},
                       {"num_local_experts", c.num_local_experts}, {"num_experts_per_tok", c.num_experts_per_tok},
                       {"intermediate_size", c.intermediate_size}, {"vocab_size", c.vocab_size},
                       {"postnorm", c.postnorm}, {"alpha_linear", c.alpha_linear}, {"alpha_full", c.alpha_full},
                       {"alpha_mlp", c.alpha_mlp}}},
      {"parameters", {{"total", p.total}, {"active_per_token", p.active}, {"embed", p.embed},
                      {"lm_head", p.lm_head}, {"per_lightning_attention", p.lightning_attn},
                      {"per_softmax_attention", p.softmax_attn}, {"per_expert", p.expert}, {"per_moe_block", p.moe}}},
      {"memory_bytes", {{"weights_bf16", m.weight_bytes_bf16}, {"lightning_state_per_sequence", m.lightning_state_bytes},
                        {"kv_cache_per_token", m.kv_bytes_per_token},
                        {"reference_fp32", estimate_model_bytes(c, 4, 4)},
                        {"reference_fp64", estimate_model_bytes(c, 8, 8)},
                        {"machine_available", available_memory_bytes()}}},
      {"reference_gemm", {{"library", blas.library}, {"kernels", blas.core}, {"how", blas.how}}}};
  if (!vl) return j;
  const VisionConfig& v = vl->vision;
  const VisionParamCount vp = count_vision_params(*vl);
  j["vision_config"] = {{"hidden_size", v.hidden_size}, {"intermediate_size", v.intermediate_size},
                        {"num_hidden_layers", v.num_hidden_layers}, {"num_attention_heads", v.num_attention_heads},
                        {"head_dim", v.head_dim()}, {"image_size", v.image_size}, {"patch_size", v.patch_size},
                        {"positions", v.num_positions()}, {"hidden_act", v.hidden_act},
                        {"layer_norm_eps", v.layer_norm_eps}};
  j["image_token_index"] = vl->image_token_index;
  j["vision_feature_layer"] = vl->vision_feature_layer;
  j["vision_feature_select_strategy"] = vl->vision_feature_select_strategy;
  j["projector_hidden_act"] = vl->projector_hidden_act;
  j["image_grid_pinpoints"] = vl->image_grid_pinpoints;
  j["vision_parameters"] = {{"vision_tower", vp.vit}, {"projector", vp.projector},
                            {"image_newline", vp.image_newline}, {"total", vp.total},
                            {"text_plus_vision", p.total + vp.total}};
  j["vision_memory_bytes"] = {{"weights_bf16", 2 * vp.total}, {"reference_fp32", 4 * vp.total},
                              {"reference_fp64", 8 * vp.total}};
  return j;
}

int cmd_info(const std::vector<std::string>& argv) {
  const Args a(command_spec("info"), argv);
  if (a.has("model") == a.has("preset")) throw UsageError("info: give exactly one of --model DIR or --preset NAME");
  // A VL-01 config (model_type minimax_vl_01, or a vl-* preset) is read whole; its text model is printed
  // as a Text-01 model's, then the vision side.
  std::optional<VlConfig> vl;
  ModelConfig c;
  if (a.has("model")) {
    const std::string dir = a.str("model", "");
    if (is_vl_config(dir)) vl = load_vl_config(dir);
    else c = load_config(dir);
  } else {
    const std::string name = a.str("preset", "");
    const std::vector<std::string> vl_names = vl_preset_names(), text_names = preset_names();
    if (std::find(vl_names.begin(), vl_names.end(), name) != vl_names.end()) {
      vl = vl_preset_config(name);
    } else if (std::find(text_names.begin(), text_names.end(), name) != text_names.end()) {
      c = preset_config(name);
    } else {
      std::string all;
      for (const auto& n : text_names) all += (all.empty() ? "" : ", ") + n;
      for (const auto& n : vl_names) all += ", " + n;
      throw UsageError("unknown preset '" + name + "' (expected one of: " + all + ")");
    }
  }
  if (vl) c = vl->text;
  const ParamCount p = count_params(c);
  const MemoryPlan m = memory_plan(c);
  if (a.has("json")) {
    StdoutDocument(true).write(info_json(c, vl, p, m).dump(2) + "\n");
    return 0;
  }
  std::printf("model: %s%s\n", vl ? vl->source.c_str() : c.source.c_str(), vl ? " (MiniMax-VL-01; text model below)" : "");
  std::printf("layers: %lld (%lld lightning, %lld softmax)  pattern: ", static_cast<long long>(c.num_hidden_layers),
              static_cast<long long>(c.num_layers_of(LayerType::Lightning)), static_cast<long long>(c.num_layers_of(LayerType::Softmax)));
  for (auto t : c.layer_types) std::putchar(t == LayerType::Lightning ? 'L' : 'S');
  std::printf("\n");
  std::printf("hidden %lld, heads %lld x %lld (inner %lld), kv heads %lld, rotary_dim %lld, rope_theta %g\n",
              (long long)c.hidden_size, (long long)c.num_attention_heads, (long long)c.head_dim, (long long)c.inner_dim(),
              (long long)c.num_key_value_heads, (long long)c.rotary_dim, c.rope_theta);
  std::printf("experts %lld (top-%lld), expert hidden %lld, vocab %lld, postnorm %s, alpha(lin/full/mlp) %.6g/%.6g/%.6g\n",
              (long long)c.num_local_experts, (long long)c.num_experts_per_tok, (long long)c.intermediate_size,
              (long long)c.vocab_size, c.postnorm ? "true" : "false", c.alpha_linear, c.alpha_full, c.alpha_mlp);
  std::printf("parameters: total %lld, active per token (excl. embedding and lm_head) %lld\n",
              static_cast<long long>(p.total), static_cast<long long>(p.active));
  std::printf("  per lightning attention %lld, per softmax attention %lld, per expert %lld, per MoE block %lld\n",
              (long long)p.lightning_attn, (long long)p.softmax_attn, (long long)p.expert, (long long)p.moe);
  std::printf("memory plan: weights (bf16) %s; lightning state %s per sequence (fp32, constant); "
              "KV cache %s per token (bf16)\n",
              human_bytes(static_cast<double>(m.weight_bytes_bf16)).c_str(),
              human_bytes(static_cast<double>(m.lightning_state_bytes)).c_str(),
              human_bytes(static_cast<double>(m.kv_bytes_per_token)).c_str());
  // What the reference needs before it can run (weights + one sequence's constant state in its scalar);
  // the loaders refuse a model that does not fit (require_memory).
  const uint64_t avail = available_memory_bytes();
  std::printf("memory to load (reference): fp32 %s, fp64 %s; this machine: %s\n",
              human_bytes(static_cast<double>(estimate_model_bytes(c, 4, 4))).c_str(),
              human_bytes(static_cast<double>(estimate_model_bytes(c, 8, 8))).c_str(),
              avail ? human_bytes(static_cast<double>(avail)).c_str() : "unknown");
  // The GEMM library and the kernels it runs: on some CPUs a 3-6x difference (reference/blas_cpu.h).
  const ref::BlasKernels blas = ref::blas_kernels();
  std::printf("reference GEMMs: %s%s\n", blas.library.c_str(),
              blas.core.empty() ? "" : (", kernels " + blas.core + " (" + blas.how + ")").c_str());
  if (!vl) return 0;

  const VisionConfig& v = vl->vision;
  const VisionParamCount vp = count_vision_params(*vl);
  int max_tiles = 0;
  for (const auto& pp : vl->image_grid_pinpoints)
    max_tiles = std::max(max_tiles, static_cast<int>((pp[0] / v.image_size) * (pp[1] / v.image_size)));
  std::printf("vision tower: hidden %lld, intermediate %lld, layers %lld, heads %lld x %lld, image %lld, patch %lld "
              "(%lld patches + CLS = %lld positions), hidden_act %s, layer_norm_eps %g\n",
              (long long)v.hidden_size, (long long)v.intermediate_size, (long long)v.num_hidden_layers,
              (long long)v.num_attention_heads, (long long)v.head_dim(), (long long)v.image_size, (long long)v.patch_size,
              (long long)v.num_patches(), (long long)v.num_positions(), v.hidden_act.c_str(), v.layer_norm_eps);
  std::printf("image_token_index %lld, vision_feature_layer %d, select strategy %s, projector %lld -> %lld -> %lld (%s), "
              "%zu grid pinpoints (at most %d tiles + 1 thumbnail per image)\n",
              (long long)vl->image_token_index, vl->vision_feature_layer, vl->vision_feature_select_strategy.c_str(),
              (long long)v.hidden_size, (long long)c.hidden_size, (long long)c.hidden_size, vl->projector_hidden_act.c_str(),
              vl->image_grid_pinpoints.size(), max_tiles);
  std::printf("vision parameters: vision tower (ViT) %lld, projector %lld, image_newline %lld, total %lld; "
              "text + vision %lld\n",
              (long long)vp.vit, (long long)vp.projector, (long long)vp.image_newline, (long long)vp.total,
              (long long)(p.total + vp.total));
  std::printf("vision memory plan: weights (bf16) %s; text + vision weights (bf16) %s\n",
              human_bytes(2.0 * static_cast<double>(vp.total)).c_str(),
              human_bytes(static_cast<double>(m.weight_bytes_bf16) + 2.0 * static_cast<double>(vp.total)).c_str());
  // On top of the text model's "memory to load" above (the loaders check both, text first).
  std::printf("vision memory to load (reference): fp32 %s, fp64 %s; text + vision: fp32 %s, fp64 %s\n",
              human_bytes(4.0 * static_cast<double>(vp.total)).c_str(), human_bytes(8.0 * static_cast<double>(vp.total)).c_str(),
              human_bytes(static_cast<double>(estimate_model_bytes(c, 4, 4)) + 4.0 * static_cast<double>(vp.total)).c_str(),
              human_bytes(static_cast<double>(estimate_model_bytes(c, 8, 8)) + 8.0 * static_cast<double>(vp.total)).c_str());
  return 0;
}

}  // namespace mm::cli
