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
#include "harness/backend.h"
#include "harness/run_memory.h"
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

// Every fact `info` knows, as one JSON document (info --json); sizes in bytes, counts as integers. The
// text output is rendered from this document (info_text), so the two cannot disagree.
static nlohmann::json info_json(const ModelConfig& c, const std::optional<VlConfig>& vl) {
  const ParamCount p = count_params(c);
  const MemoryPlan m = memory_plan(c);
  std::string pattern;
  for (auto t : c.layer_types) pattern += t == LayerType::Lightning ? 'L' : 'S';
  const ref::BlasKernels blas = ref::blas_kernels();
  nlohmann::json j = {
      {"model", vl ? vl->source : c.source},
      {"model_type", vl ? "minimax_vl_01" : "minimax_text_01"},
      // the text model's whole config.json (official spelling): with fewer layers, the input of init --config
      {"config", config_to_json(c, ConfigSpelling::Official)},
      {"layers", {{"total", c.num_hidden_layers}, {"lightning", c.num_layers_of(LayerType::Lightning)},
                  {"softmax", c.num_layers_of(LayerType::Softmax)}, {"pattern", pattern},
                  // a slice checkpoint (docs/slices.md): the layers it holds (the counts above are the whole model's;
                  // the parameters and memory below count the layers run: those held, or --layers)
                  {"held", c.stored.all() ? nlohmann::json(nullptr)
                                          : nlohmann::json(std::to_string(c.stored_begin()) + ":" +
                                                           std::to_string(c.stored_end()))},
                  {"run", run_layers_string(c)}}},
      {"text_config", {{"hidden_size", c.hidden_size}, {"num_attention_heads", c.num_attention_heads},
                       {"head_dim", c.head_dim}, {"inner_dim", c.inner_dim()},
                       {"num_key_value_heads", c.num_key_value_heads},
                       {"rotary_dim", c.rotary_dim}, {"rope_theta", c.rope_theta},
                       {"num_local_experts", c.num_local_experts}, {"num_experts_per_tok", c.num_experts_per_tok},
                       {"intermediate_size", c.intermediate_size}, {"vocab_size", c.vocab_size},
                       {"postnorm", c.postnorm}, {"alpha_linear", c.alpha_linear}, {"alpha_full", c.alpha_full},
                       {"alpha_mlp", c.alpha_mlp}}},
      {"parameters", {{"total", p.total}, {"active_per_token", p.active}, {"embed", p.embed},
                      {"lm_head", p.lm_head}, {"per_lightning_attention", p.lightning_attn},
                      {"per_softmax_attention", p.softmax_attn}, {"per_expert", p.expert}, {"per_moe_block", p.moe}}},
      // What the reference needs before it can run (weights + one sequence's constant state in its
      // scalar); the loaders refuse a model that does not fit (require_memory). 0: unknown.
      {"memory_bytes", {{"weights_bf16", m.weight_bytes_bf16}, {"lightning_state_per_sequence", m.lightning_state_bytes},
                        {"kv_cache_per_token", m.kv_bytes_per_token},
                        {"reference_fp32", estimate_model_bytes(c, 4, 4)},
                        {"reference_fp64", estimate_model_bytes(c, 8, 8)},
                        // --weights streamed (docs/memory.md): the working set instead of every weight
                        {"reference_streamed_fp32", estimate_streamed_model_bytes(c, 4, 4)},
                        {"reference_streamed_fp64", estimate_streamed_model_bytes(c, 8, 8)},
                        {"machine_available", available_memory_bytes()}}},
      // The GEMM library and the kernels it runs: on some CPUs a 3-6x difference (reference/blas_cpu.h).
      {"reference_gemm", {{"library", blas.library}, {"kernels", blas.core}, {"how", blas.how}}}};
  if (!vl) return j;
  const VisionConfig& v = vl->vision;
  const VisionParamCount vp = count_vision_params(*vl);
  int max_tiles = 0;
  for (const auto& pp : vl->image_grid_pinpoints)
    max_tiles = std::max(max_tiles, static_cast<int>((pp[0] / v.image_size) * (pp[1] / v.image_size)));
  j["vision_config"] = {{"hidden_size", v.hidden_size}, {"intermediate_size", v.intermediate_size},
                        {"num_hidden_layers", v.num_hidden_layers}, {"num_attention_heads", v.num_attention_heads},
                        {"head_dim", v.head_dim()}, {"image_size", v.image_size}, {"patch_size", v.patch_size},
                        {"patches", v.num_patches()}, {"positions", v.num_positions()}, {"hidden_act", v.hidden_act},
                        {"layer_norm_eps", v.layer_norm_eps}};
  j["image_token_index"] = vl->image_token_index;
  j["vision_feature_layer"] = vl->vision_feature_layer;
  j["vision_feature_select_strategy"] = vl->vision_feature_select_strategy;
  j["projector"] = {{"in", v.hidden_size}, {"hidden", c.hidden_size}, {"out", c.hidden_size}};
  j["projector_hidden_act"] = vl->projector_hidden_act;
  j["image_grid_pinpoints"] = vl->image_grid_pinpoints;
  j["max_tiles_per_image"] = max_tiles;  // + 1 thumbnail
  j["vision_parameters"] = {{"vision_tower", vp.vit}, {"projector", vp.projector},
                            {"image_newline", vp.image_newline}, {"total", vp.total},
                            {"text_plus_vision", p.total + vp.total}};
  // On top of the text model's (the loaders check both, text first).
  j["vision_memory_bytes"] = {{"weights_bf16", 2 * vp.total}, {"reference_fp32", 4 * vp.total},
                              {"reference_fp64", 8 * vp.total},
                              {"text_plus_vision_weights_bf16", m.weight_bytes_bf16 + 2 * vp.total},
                              {"text_plus_vision_reference_fp32", estimate_model_bytes(c, 4, 4) + 4 * vp.total},
                              {"text_plus_vision_reference_fp64", estimate_model_bytes(c, 8, 8) + 8 * vp.total}};
  return j;
}

// The text output, from the JSON document alone.
static std::string info_text(const nlohmann::json& j) {
  std::string out;
  auto line = [&out](const char* fmt, auto... xs) {  // any length: the pattern has up to 1024 letters
    const int n = std::snprintf(nullptr, 0, fmt, xs...);
    if (n <= 0) return;
    std::string buf(static_cast<std::size_t>(n) + 1, '\0');
    std::snprintf(buf.data(), buf.size(), fmt, xs...);
    buf.pop_back();
    out += buf;
  };
  auto I = [](const nlohmann::json& x) { return x.get<long long>(); };
  auto S = [](const nlohmann::json& x) { return x.get<std::string>(); };
  auto H = [](const nlohmann::json& x) { return human_bytes(x.get<double>()); };
  const bool is_vl = j["model_type"] == "minimax_vl_01";
  const auto &L = j["layers"], &t = j["text_config"], &p = j["parameters"], &m = j["memory_bytes"];
  line("model: %s%s\n", S(j["model"]).c_str(), is_vl ? " (MiniMax-VL-01; text model below)" : "");
  if (j.contains("run_memory")) {  // --backend: the run's peak first, the model's facts after it
    const auto& r = j["run_memory"];
    const auto& q = r["parts"];
    line("forward run: %s, weights %s, layers %s, %lld prompt + %lld decode tokens: peak memory %s%s\n",
         S(r["backend"]).c_str(), S(r["weights"]).c_str(), S(r["layers"]).c_str(), I(r["prompt_tokens"]),
         I(r["decode_steps"]), H(r["host_bytes"]).c_str(), r["fits"].get<bool>() ? "" : " (more than this machine has)");
    line("  = process %s + weights %s + caches %s + largest phase (%s) %s%s\n", H(q["process"]).c_str(),
         H(q["weights"]).c_str(), H(q["state"]).c_str(), S(r["largest_phase"]).c_str(), H(q["largest_phase"]).c_str(),
         I(r["device_bytes"]) > 0 ? ("; device " + H(r["device_bytes"])).c_str() : "");
  }
  line("layers: %lld (%lld lightning, %lld softmax)  pattern: %s\n", I(L["total"]), I(L["lightning"]), I(L["softmax"]),
       S(L["pattern"]).c_str());
  if (!L["held"].is_null())
    line("slice: holds layers %s (with the embedding, final norm and lm_head)\n", S(L["held"]).c_str());
  if (!L["held"].is_null() || S(L["run"]) != "0:" + std::to_string(I(L["total"])))
    line("parameters and memory below: layers %s (with the embedding, final norm and lm_head)\n", S(L["run"]).c_str());
  line("hidden %lld, heads %lld x %lld (inner %lld), kv heads %lld, rotary_dim %lld, rope_theta %g\n",
       I(t["hidden_size"]), I(t["num_attention_heads"]), I(t["head_dim"]), I(t["inner_dim"]),
       I(t["num_key_value_heads"]), I(t["rotary_dim"]), t["rope_theta"].get<double>());
  line("experts %lld (top-%lld), expert hidden %lld, vocab %lld, postnorm %s, alpha(lin/full/mlp) %.6g/%.6g/%.6g\n",
       I(t["num_local_experts"]), I(t["num_experts_per_tok"]), I(t["intermediate_size"]), I(t["vocab_size"]),
       t["postnorm"].get<bool>() ? "true" : "false", t["alpha_linear"].get<double>(), t["alpha_full"].get<double>(),
       t["alpha_mlp"].get<double>());
  line("parameters: total %lld, active per token (excl. embedding and lm_head) %lld\n", I(p["total"]),
       I(p["active_per_token"]));
  line("  per lightning attention %lld, per softmax attention %lld, per expert %lld, per MoE block %lld\n",
       I(p["per_lightning_attention"]), I(p["per_softmax_attention"]), I(p["per_expert"]), I(p["per_moe_block"]));
  line("memory plan: weights (bf16) %s; lightning state %s per sequence (fp32, constant); KV cache %s per token (bf16)\n",
       H(m["weights_bf16"]).c_str(), H(m["lightning_state_per_sequence"]).c_str(), H(m["kv_cache_per_token"]).c_str());
  line("memory to load (reference): fp32 %s, fp64 %s; with --weights streamed: fp32 %s, fp64 %s; this machine: %s\n",
       H(m["reference_fp32"]).c_str(), H(m["reference_fp64"]).c_str(), H(m["reference_streamed_fp32"]).c_str(),
       H(m["reference_streamed_fp64"]).c_str(),
       I(m["machine_available"]) ? H(m["machine_available"]).c_str() : "unknown");
  const auto& g = j["reference_gemm"];
  line("reference GEMMs: %s%s\n", S(g["library"]).c_str(),
       S(g["kernels"]).empty() ? "" : (", kernels " + S(g["kernels"]) + " (" + S(g["how"]) + ")").c_str());
  if (!is_vl) return out;

  const auto &v = j["vision_config"], &pr = j["projector"], &vp = j["vision_parameters"], &vm = j["vision_memory_bytes"];
  line("vision tower: hidden %lld, intermediate %lld, layers %lld, heads %lld x %lld, image %lld, patch %lld "
       "(%lld patches + CLS = %lld positions), hidden_act %s, layer_norm_eps %g\n",
       I(v["hidden_size"]), I(v["intermediate_size"]), I(v["num_hidden_layers"]), I(v["num_attention_heads"]),
       I(v["head_dim"]), I(v["image_size"]), I(v["patch_size"]), I(v["patches"]), I(v["positions"]),
       S(v["hidden_act"]).c_str(), v["layer_norm_eps"].get<double>());
  line("image_token_index %lld, vision_feature_layer %lld, select strategy %s, projector %lld -> %lld -> %lld (%s), "
       "%zu grid pinpoints (at most %lld tiles + 1 thumbnail per image)\n",
       I(j["image_token_index"]), I(j["vision_feature_layer"]), S(j["vision_feature_select_strategy"]).c_str(),
       I(pr["in"]), I(pr["hidden"]), I(pr["out"]), S(j["projector_hidden_act"]).c_str(),
       j["image_grid_pinpoints"].size(), I(j["max_tiles_per_image"]));
  line("vision parameters: vision tower (ViT) %lld, projector %lld, image_newline %lld, total %lld; text + vision %lld\n",
       I(vp["vision_tower"]), I(vp["projector"]), I(vp["image_newline"]), I(vp["total"]), I(vp["text_plus_vision"]));
  line("vision memory plan: weights (bf16) %s; text + vision weights (bf16) %s\n", H(vm["weights_bf16"]).c_str(),
       H(vm["text_plus_vision_weights_bf16"]).c_str());
  line("vision memory to load (reference): fp32 %s, fp64 %s; text + vision: fp32 %s, fp64 %s\n",
       H(vm["reference_fp32"]).c_str(), H(vm["reference_fp64"]).c_str(),
       H(vm["text_plus_vision_reference_fp32"]).c_str(), H(vm["text_plus_vision_reference_fp64"]).c_str());
  return out;
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
  if (a.has("layers")) {
    if (vl) throw UsageError("--layers: a MiniMax-VL-01 model is run whole; layer slices are for text models");
    c.run = parse_layer_span(a.str("layers", ""), c, "--layers");
    c.validate();
  }
  nlohmann::json j = info_json(c, vl);
  // --backend: what a forward run of that backend needs at its peak (harness/run_memory.h).
  const bool run =
      a.has("backend") || a.has("prompt-len") || a.has("decode-steps") || a.has("weights") || a.has("layers");
  if (run && vl)
    throw UsageError("info: the run's memory (--backend, --prompt-len, --decode-steps, --weights) is predicted for "
                     "text models; a MiniMax-VL-01 model's vision tower is not counted");
  if (run) {
    harness::RunMemoryRequest r;
    r.backend = a.str("backend", "ref-f32");
    if (harness::parse_backend_list(r.backend).size() != 1)  // a known name, or the usual error
      throw UsageError("info: --backend takes one backend, got '" + r.backend + "'");
    r.weights = parse_weight_residency(a.str("weights", "auto"));
    r.prompt = a.integer("prompt-len", 300, 1, kMaxTokens);
    r.decode = a.integer("decode-steps", 4, 0, kMaxTokens);
    const harness::RunMemory m = harness::estimate_run_memory(c, r);
    j["run_memory"] = {{"command", "forward"}, {"backend", r.backend}, {"weights", to_string(m.residency)},
                       {"prompt_tokens", r.prompt}, {"decode_steps", r.decode},
                       {"layers", run_layers_string(c)},
                       {"host_bytes", m.host},
                       {"parts", {{"process", m.baseline}, {"weights", m.weights}, {"state", m.state},
                                  {"largest_phase", m.transient}}},
                       {"largest_phase", m.peak_phase},
                       {"device_bytes", m.device},
                       {"fits", available_memory_bytes() == 0 || m.host <= available_memory_bytes()}};
  }
  if (a.has("json")) StdoutDocument(true).write(j.dump(2) + "\n");
  else std::fputs(info_text(j).c_str(), stdout);
  return 0;
}

}  // namespace mm::cli
