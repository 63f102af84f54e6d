// minimax01 info: layer pattern, parameter counts and memory plan (no weights are read).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/config.h"

namespace mm::cli {

static std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) { b /= 1024; ++u; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", b, units[u]);
  return buf;
}

int cmd_info(const std::vector<std::string>& argv) {
  Args a("info", argv, {"model", "preset"});
  if (a.has("model") == a.has("preset")) throw Error("info: give exactly one of --model DIR or --preset NAME");
  const ModelConfig c = a.has("model") ? load_config(a.str("model", "")) : preset_config(a.str("preset", ""));
  const ParamCount p = count_params(c);
  const MemoryPlan m = memory_plan(c);
  std::printf("model: %s\n", c.source.c_str());
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
  return 0;
}

}  // namespace mm::cli
