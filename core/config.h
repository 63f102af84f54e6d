// MiniMax-Text-01 model configuration: parsed from config.json in either spelling
// (official `minimax_text_01` or HF in-tree `minimax`), validated field by field,
// plus built-in presets, parameter counts, the inference memory plan and the
// memory check made before a model is allocated.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mm {

enum class LayerType : uint8_t { Lightning = 0, Softmax = 1 };  // official attn_type_list values

enum class ConfigSpelling { Official, HF };

// Upper bounds on every dimension of a config (docs/semantics/config-limits.md). Generous: the
// largest MiniMax-family model is far inside them. Within them every parameter count, memory plan
// entry and the bytes of any single weight fit an int64 with room to spare (the largest model they
// allow has < 2^58 parameters), and every dimension fits an int32 index.
struct ConfigLimits {
  static constexpr int64_t vocab_size = int64_t{1} << 24;
  static constexpr int64_t hidden_size = 65536;
  static constexpr int64_t intermediate_size = int64_t{1} << 20;
  static constexpr int64_t num_hidden_layers = 1024;
  static constexpr int64_t num_attention_heads = 1024;  // num_key_value_heads divides it
  static constexpr int64_t head_dim = 1024;             // and even (RoPE rotates pairs)
  static constexpr int64_t num_local_experts = 1024;    // num_experts_per_tok <= num_local_experts
  static constexpr int64_t max_position_embeddings = int64_t{1} << 31;
  static constexpr int64_t block_size = 65536;
};

// A contiguous range [begin, end) of decoder layers, by absolute index into num_hidden_layers;
// {0, 0} stands for all of them (docs/slices.md).
struct LayerSpan {
  int64_t begin = 0, end = 0;
  bool all() const { return begin == 0 && end == 0; }
};

struct ModelConfig {
  std::string source = "preset";   // file path or preset name, for error messages
  int64_t vocab_size = 0;          // V
  int64_t hidden_size = 0;         // H (residual stream width)
  int64_t intermediate_size = 0;   // I (expert hidden width)
  int64_t num_hidden_layers = 0;   // L
  int64_t num_attention_heads = 0; // n_h (lightning and softmax query heads)
  int64_t num_key_value_heads = 0; // n_kv (softmax GQA)
  int64_t head_dim = 0;            // d_h; inner width = n_h * d_h (8192 != H for Text-01)
  int64_t rotary_dim = 0;          // RoPE on the first rotary_dim dims of each head (NeoX pairs i, i+rd/2)
  int64_t num_local_experts = 0;   // E
  int64_t num_experts_per_tok = 0; // k (top-k)
  int64_t max_position_embeddings = 0;
  int64_t block_size = 256;        // lightning prefill block (official module constant BLOCK)
  double rope_theta = 0;
  double rms_norm_eps = 1e-5;      // every decoder RMSNorm and the final norm
  double lightning_norm_eps = 1e-6;// lightning inner RMSNorm over all heads (official default; vLLM uses 1e-5)
  bool postnorm = true;            // DeepNorm: residual is the NORMED input (Text-01: true)
  bool tie_word_embeddings = false;
  double alpha_linear = 1, beta_linear = 1;  // residual scale / branch scale after lightning attention
  double alpha_full = 1, beta_full = 1;      // ... after softmax attention
  double alpha_mlp = 1, beta_mlp = 1;        // ... after the MoE
  std::vector<LayerType> layer_types;        // size L (always the whole model's)
  // Slices (docs/slices.md). Layer l keeps every constant of its absolute index (type, decay factor
  // 1 - l/(L-1), DeepNorm alphas), so a slice computes exactly what those layers of the whole model do.
  //   stored: the layers the checkpoint holds; config.json "minimax01_layers": [A, B] (a slice
  //           checkpoint, `init --layers`), all of them otherwise. Embedding, final norm and lm_head
  //           are held either way.
  //   run:    the layers a run goes through (--layers A:B), inside `stored`; all stored ones by default.
  LayerSpan stored, run;

  int64_t stored_begin() const { return stored.all() ? 0 : stored.begin; }
  int64_t stored_end() const { return stored.all() ? num_hidden_layers : stored.end; }
  int64_t first_layer() const { return run.all() ? stored_begin() : run.begin; }  // first layer run
  int64_t end_layer() const { return run.all() ? stored_end() : run.end; }        // one past the last
  int64_t run_layer_count() const { return end_layer() - first_layer(); }
  int64_t run_layers_of(LayerType t) const;  // layers of type t in [first_layer, end_layer)
  // The final norm and lm_head run after the last layer the checkpoint holds (and only then: a run
  // ending earlier hands its hidden state on instead of logits).
  bool runs_head() const { return end_layer() == stored_end(); }
  // Not the whole model: a slice checkpoint, or --layers.
  bool is_slice() const { return first_layer() != 0 || end_layer() != num_hidden_layers; }

  int64_t inner_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t num_layers_of(LayerType t) const;
  // Throws mm::Error naming the field and what was expected: every dimension positive and within
  // ConfigLimits, the fields consistent with each other, every real number finite.
  void validate() const;
};

// Parse either spelling. `model_type` must be "minimax_text_01" (official) or "minimax" (HF); a VL-01
// config (`model_type` "minimax_vl_01") is accepted through its `text_config`. Everything is checked
// before anything sized by the config is built (a layer list of the wrong length is refused by its size).
ModelConfig config_from_json(const nlohmann::json& j, const std::string& source);
// Path to config.json or a checkpoint directory. The file must be a regular file (a directory or FIFO
// named config.json is refused) and is read as JSON with unique keys.
ModelConfig load_config(const std::string& path);
nlohmann::json config_to_json(const ModelConfig& c, ConfigSpelling spelling);

// A layer number as --layers and a slice dump's metadata write it: 1 to 7 decimal digits (no sign, no
// spaces); nullopt for anything else. Callers name the option or field in their own error.
std::optional<int64_t> parse_layer_number(const std::string& text);
// "A:B" (0 <= A < B <= num_hidden_layers of `c`, inside the layers its checkpoint holds) as the run's
// layers; mm::UsageError naming `option` and the valid range otherwise.
LayerSpan parse_layer_span(const std::string& text, const ModelConfig& c, const std::string& option);
std::string run_layers_string(const ModelConfig& c);  // "first_layer:end_layer" 

// Built-in presets: "tiny" (tests), "small" (a 2-core box in tens of seconds),
// "minimax-text-01" (the real 456B configuration; never allocate its weights).
ModelConfig preset_config(std::string_view name);
std::vector<std::string> preset_names();

struct ParamCount {
  int64_t embed = 0, lm_head = 0, final_norm = 0;
  int64_t lightning_attn = 0;  // one lightning attention block incl. its inner norm
  int64_t softmax_attn = 0;    // one softmax attention block
  int64_t expert = 0;          // one SwiGLU expert
  int64_t moe = 0;             // one MoE block (router + all experts)
  int64_t layer_norms = 0;     // input + post-attention norms of one layer
  int64_t total = 0;
  int64_t active = 0;          // per token, excluding embedding and lm_head
};
// Over the layers a run goes through (first_layer..end_layer: all of them for a whole model) plus the
// embedding, final norm and lm_head. In checked int64 arithmetic: a config that passed validate() never overflows; one that did not
// validate and would overflow throws mm::Error rather than wrap.
ParamCount count_params(const ModelConfig& c);

struct MemoryPlan {
  int64_t weight_bytes_bf16 = 0;
  int64_t lightning_state_bytes = 0;  // per sequence, fp32, constant in length
  int64_t kv_bytes_per_token = 0;     // bf16 post-RoPE K and V over all softmax layers
};
MemoryPlan memory_plan(const ModelConfig& c);  // checked like count_params

// Bytes a model needs in memory: every weight at `bytes_per_weight` (count_params(c).total) plus the
// state of one sequence held at `bytes_per_state` per element: the lightning state of every lightning
// layer and the K and V cache of every softmax layer for `context_tokens` tokens. A lower bound
// (activations and allocator overhead are not counted); saturates at UINT64_MAX instead of wrapping.
uint64_t estimate_model_bytes(const ModelConfig& c, uint64_t bytes_per_weight, uint64_t bytes_per_state,
                              uint64_t context_tokens = 0);

// Where a model's weight matrices live while it runs (the reference: ref::load_weights):
//   Resident  converted to the compute scalar at load: estimate_model_bytes.
//   Streamed  left in the memory-mapped checkpoint in their stored dtype and converted when used: the
//             1-D weights resident, then per layer its attention projections and router, one expert at
//             a time, and the lm_head in blocks of rows: estimate_streamed_model_bytes.
//   Bf16      resident, held as bf16 (2 bytes a weight) and read as bf16 by the products (the fp32 and bf16
//             reference only; reference/weight.h): estimate_model_bytes at 2 bytes a weight. Chosen, never Auto's pick.
//   Auto      Resident when estimate_model_bytes fits this machine's memory, else Streamed.
enum class WeightResidency { Auto, Resident, Streamed, Bf16 };
const char* to_string(WeightResidency r);
WeightResidency parse_weight_residency(const std::string& s);  // "auto" | "resident" | "streamed" | "bf16"

// The lm_head converted at once while streamed when its copy in the compute scalar is at most this;
// a larger one (the real model's: 4.9 GB in fp32) is converted and applied in blocks of rows of this size.
inline constexpr uint64_t kStreamedHeadBlockBytes = uint64_t{1} << 30;

// Bytes a Streamed model needs: the 1-D weights (norms) and the state as estimate_model_bytes counts them,
// plus the largest working set of converted matrices: one layer's attention projections + router + one
// expert, or one lm_head block (at most kStreamedHeadBlockBytes). A lower bound like estimate_model_bytes.
uint64_t estimate_streamed_model_bytes(const ModelConfig& c, uint64_t bytes_per_weight, uint64_t bytes_per_state,
                                       uint64_t context_tokens = 0);
// Auto resolved for `c` at `bytes_per_weight` on this machine (`available`: 0 = unknown, which keeps
// the weights resident).
WeightResidency resolve_weight_residency(WeightResidency r, const ModelConfig& c, uint64_t bytes_per_weight,
                                         uint64_t available);

// Physical memory of this machine (sysconf pages x page size), lowered to the address-space limit
// (RLIMIT_AS) when one is set; 0 when it cannot be determined.
uint64_t available_memory_bytes();

// Throws mm::Error "<what> needs N bytes (X GiB) but this machine has M bytes (Y GiB) of memory" when
// `bytes` exceeds available_memory_bytes() (or `available` in the second form). Call it before
// allocating, so that an impossible request is a clear error rather than std::bad_alloc or the OOM killer.
// An unknown amount of memory (0) never refuses.
void require_memory(uint64_t bytes, const std::string& what);
void require_memory(uint64_t bytes, const std::string& what, uint64_t available);

}  // namespace mm
