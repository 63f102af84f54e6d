#include "core/config.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace mm {
namespace {

using nlohmann::json;

std::string where(const std::string& source, const std::string& field) {
  return source + ": field '" + field + "'";
}

bool has(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

int64_t get_int(const json& j, const char* key, const std::string& src) {
  if (!has(j, key)) throw Error(where(src, key) + " is missing");
  const json& v = j.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw Error(where(src, key) + " must be an integer, got " + v.dump());
}
int64_t get_int_or(const json& j, const char* key, int64_t def, const std::string& src) {
  return has(j, key) ? get_int(j, key, src) : def;
}
double get_num(const json& j, const char* key, const std::string& src) {
  if (!has(j, key)) throw Error(where(src, key) + " is missing");
  const json& v = j.at(key);
  if (!v.is_number()) throw Error(where(src, key) + " must be a number, got " + v.dump());
  return v.get<double>();
}
double get_num_or(const json& j, const char* key, double def, const std::string& src) {
  return has(j, key) ? get_num(j, key, src) : def;
}
bool get_bool_or(const json& j, const char* key, bool def, const std::string& src) {
  if (!has(j, key)) return def;
  if (!j.at(key).is_boolean()) throw Error(where(src, key) + " must be true or false, got " + j.at(key).dump());
  return j.at(key).get<bool>();
}

// `shared_intermediate_size` is 0 (or [0] in VL-01's text config): no shared expert. We refuse anything else
// rather than silently ignoring a shared MLP.
void check_no_shared_expert(const json& j, const std::string& src) {
  if (!has(j, "shared_intermediate_size")) return;
  json v = j.at("shared_intermediate_size");
  if (v.is_array()) {
    for (const auto& e : v)
      if (!e.is_number() || e.get<double>() != 0)
        throw Error(where(src, "shared_intermediate_size") + " must be 0 (no shared expert is supported), got " + v.dump());
    return;
  }
  if (!v.is_number() || v.get<double>() != 0)
    throw Error(where(src, "shared_intermediate_size") + " must be 0 (no shared expert is supported), got " + v.dump());
}

}  // namespace

int64_t ModelConfig::num_layers_of(LayerType t) const {
  int64_t n = 0;
  for (auto lt : layer_types) n += (lt == t);
  return n;
}

void ModelConfig::validate() const {
  auto pos = [&](int64_t v, const char* f) {
    if (v <= 0) throw Error(where(source, f) + " must be positive, got " + std::to_string(v));
  };
  pos(vocab_size, "vocab_size");
  pos(hidden_size, "hidden_size");
  pos(intermediate_size, "intermediate_size");
  pos(num_hidden_layers, "num_hidden_layers");
  pos(num_attention_heads, "num_attention_heads");
  pos(num_key_value_heads, "num_key_value_heads");
  pos(head_dim, "head_dim");
  pos(num_local_experts, "num_local_experts");
  pos(num_experts_per_tok, "num_experts_per_tok");
  pos(max_position_embeddings, "max_position_embeddings");
  pos(block_size, "block_size");
  if (num_attention_heads % num_key_value_heads != 0)
    throw Error(where(source, "num_key_value_heads") + " = " + std::to_string(num_key_value_heads) +
                " must divide num_attention_heads = " + std::to_string(num_attention_heads));
  if (rotary_dim <= 0 || rotary_dim % 2 != 0 || rotary_dim > head_dim)
    throw Error(where(source, "rotary_dim") + " must be even and in (0, head_dim = " + std::to_string(head_dim) +
                "], got " + std::to_string(rotary_dim));
  if (num_experts_per_tok > num_local_experts)
    throw Error(where(source, "num_experts_per_tok") + " = " + std::to_string(num_experts_per_tok) +
                " must be <= num_local_experts = " + std::to_string(num_local_experts));
  if (!(rope_theta > 0) || !std::isfinite(rope_theta))
    throw Error(where(source, "rope_theta") + " must be a positive number");
  if (!(rms_norm_eps > 0) || !(lightning_norm_eps > 0))
    throw Error(where(source, "rms_norm_eps") + " must be positive");
  for (double v : {alpha_linear, beta_linear, alpha_full, beta_full, alpha_mlp, beta_mlp})
    if (!std::isfinite(v)) throw Error(where(source, "layernorm_*_alpha/beta") + " must be finite");
  if (static_cast<int64_t>(layer_types.size()) != num_hidden_layers)
    throw Error(where(source, "attn_type_list/layer_types") + " has " + std::to_string(layer_types.size()) +
                " entries, expected num_hidden_layers = " + std::to_string(num_hidden_layers));
  if (num_layers_of(LayerType::Lightning) > 0 && num_hidden_layers < 2)
    throw Error(where(source, "num_hidden_layers") +
                " must be >= 2 when lightning layers exist (the decay factor 1 - l/(L-1) divides by L-1)");
}

ModelConfig config_from_json(const json& root, const std::string& src) {
  if (!root.is_object()) throw Error(src + ": expected a JSON object");
  const json& j = root.contains("text_config") && root.at("text_config").is_object() ? root.at("text_config") : root;
  ModelConfig c;
  c.source = src;
  c.vocab_size = get_int(j, "vocab_size", src);
  c.hidden_size = get_int(j, "hidden_size", src);
  c.intermediate_size = get_int(j, "intermediate_size", src);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", src);
  c.num_attention_heads = get_int(j, "num_attention_heads", src);
  c.num_key_value_heads = get_int_or(j, "num_key_value_heads", c.num_attention_heads, src);
  if (c.num_attention_heads <= 0) throw Error(where(src, "num_attention_heads") + " must be positive");
  c.head_dim = get_int_or(j, "head_dim", c.hidden_size / c.num_attention_heads, src);
  c.num_local_experts = get_int(j, "num_local_experts", src);
  c.num_experts_per_tok = get_int(j, "num_experts_per_tok", src);
  c.max_position_embeddings = get_int_or(j, "max_position_embeddings", 10240000, src);
  c.rms_norm_eps = get_num_or(j, "rms_norm_eps", 1e-5, src);
  c.tie_word_embeddings = get_bool_or(j, "tie_word_embeddings", false, src);
  check_no_shared_expert(j, src);

  const bool official = has(j, "attn_type_list");
  const bool hf = has(j, "layer_types");
  if (official == hf)
    throw Error(src + ": expected exactly one of 'attn_type_list' (official spelling) or 'layer_types' (HF spelling)");
  if (official) {
    const json& a = j.at("attn_type_list");
    if (!a.is_array()) throw Error(where(src, "attn_type_list") + " must be an array of 0/1");
    for (const auto& e : a) {
      if (!e.is_number_integer() || (e.get<int>() != 0 && e.get<int>() != 1))
        throw Error(where(src, "attn_type_list") + " entries must be 0 (lightning) or 1 (softmax), got " + e.dump());
      c.layer_types.push_back(e.get<int>() == 0 ? LayerType::Lightning : LayerType::Softmax);
    }
    c.alpha_linear = get_num_or(j, "layernorm_linear_attention_alpha", 1, src);
    c.beta_linear = get_num_or(j, "layernorm_linear_attention_beta", 1, src);
    c.alpha_full = get_num_or(j, "layernorm_full_attention_alpha", 1, src);
    c.beta_full = get_num_or(j, "layernorm_full_attention_beta", 1, src);
    c.alpha_mlp = get_num_or(j, "layernorm_mlp_alpha", 1, src);
    c.beta_mlp = get_num_or(j, "layernorm_mlp_beta", 1, src);
    c.postnorm = get_bool_or(j, "postnorm", false, src);  // official default is False; Text-01 sets true
  } else {
    const json& a = j.at("layer_types");
    if (!a.is_array()) throw Error(where(src, "layer_types") + " must be an array of strings");
    for (const auto& e : a) {
      const std::string s = e.is_string() ? e.get<std::string>() : "";
      if (s == "linear_attention") c.layer_types.push_back(LayerType::Lightning);
      else if (s == "full_attention") c.layer_types.push_back(LayerType::Softmax);
      else throw Error(where(src, "layer_types") + " entries must be \"linear_attention\" or \"full_attention\", got " + e.dump());
    }
    c.alpha_linear = get_num_or(j, "linear_attn_alpha_factor", 1, src);
    c.beta_linear = get_num_or(j, "linear_attn_beta_factor", 1, src);
    c.alpha_full = get_num_or(j, "full_attn_alpha_factor", 1, src);
    c.beta_full = get_num_or(j, "full_attn_beta_factor", 1, src);
    c.alpha_mlp = get_num_or(j, "mlp_alpha_factor", 1, src);
    c.beta_mlp = get_num_or(j, "mlp_beta_factor", 1, src);
    c.postnorm = true;  // HF hard-wires the post-norm residual
  }
  c.block_size = get_int_or(j, "block_size", 256, src);

  // rope_theta: top level, or inside rope_parameters (HF v5).
  if (has(j, "rope_theta")) c.rope_theta = get_num(j, "rope_theta", src);
  else if (has(j, "rope_parameters") && j.at("rope_parameters").is_object() && has(j.at("rope_parameters"), "rope_theta"))
    c.rope_theta = get_num(j.at("rope_parameters"), "rope_theta", src + " rope_parameters");
  else c.rope_theta = 10000.0;
  // rotary width: official `rotary_dim`, else HF `partial_rotary_factor` (possibly in rope_parameters), else full head.
  if (has(j, "rotary_dim")) {
    c.rotary_dim = get_int(j, "rotary_dim", src);
  } else {
    double f = 1.0;
    if (has(j, "partial_rotary_factor")) f = get_num(j, "partial_rotary_factor", src);
    else if (has(j, "rope_parameters") && has(j.at("rope_parameters"), "partial_rotary_factor"))
      f = get_num(j.at("rope_parameters"), "partial_rotary_factor", src + " rope_parameters");
    const double rd = f * static_cast<double>(c.head_dim);
    if (!(f > 0 && f <= 1) || std::floor(rd) != rd)
      throw Error(where(src, "partial_rotary_factor") + " must be in (0, 1] and give an integer rotary width, got " +
                  std::to_string(f));
    c.rotary_dim = static_cast<int64_t>(rd);
  }
  c.validate();
  return c;
}

ModelConfig load_config(const std::string& path_in) {
  namespace fs = std::filesystem;
  fs::path p(path_in);
  if (!fs::exists(p)) throw Error(path_in + ": no such model directory or config.json");
  if (fs::is_directory(p)) p /= "config.json";
  std::ifstream f(p);
  if (!f) throw Error(p.string() + ": cannot open config file");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::parse_error& e) {
    throw Error(p.string() + ": malformed JSON: " + e.what());
  }
  return config_from_json(j, p.string());
}

json config_to_json(const ModelConfig& c, ConfigSpelling spelling) {
  json j;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["num_local_experts"] = c.num_local_experts;
  j["num_experts_per_tok"] = c.num_experts_per_tok;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  j["shared_intermediate_size"] = 0;
  if (spelling == ConfigSpelling::Official) {
    j["architectures"] = {"MiniMaxText01ForCausalLM"};
    j["model_type"] = "minimax_text_01";
    json a = json::array();
    for (auto t : c.layer_types) a.push_back(static_cast<int>(t));
    j["attn_type_list"] = a;
    j["layernorm_linear_attention_alpha"] = c.alpha_linear;
    j["layernorm_linear_attention_beta"] = c.beta_linear;
    j["layernorm_full_attention_alpha"] = c.alpha_full;
    j["layernorm_full_attention_beta"] = c.beta_full;
    j["layernorm_mlp_alpha"] = c.alpha_mlp;
    j["layernorm_mlp_beta"] = c.beta_mlp;
    j["postnorm"] = c.postnorm;
    j["rotary_dim"] = c.rotary_dim;
  } else {
    j["architectures"] = {"MiniMaxForCausalLM"};
    j["model_type"] = "minimax";
    json a = json::array();
    for (auto t : c.layer_types) a.push_back(t == LayerType::Lightning ? "linear_attention" : "full_attention");
    j["layer_types"] = a;
    j["linear_attn_alpha_factor"] = c.alpha_linear;
    j["linear_attn_beta_factor"] = c.beta_linear;
    j["full_attn_alpha_factor"] = c.alpha_full;
    j["full_attn_beta_factor"] = c.beta_full;
    j["mlp_alpha_factor"] = c.alpha_mlp;
    j["mlp_beta_factor"] = c.beta_mlp;
    j["block_size"] = c.block_size;
    j["partial_rotary_factor"] = static_cast<double>(c.rotary_dim) / static_cast<double>(c.head_dim);
  }
  return j;
}

namespace {
// 7 lightning layers then 1 softmax layer, repeated: softmax where (l+1) % 8 == 0.
std::vector<LayerType> pattern_7_1(int64_t layers) {
  std::vector<LayerType> t;
  for (int64_t l = 0; l < layers; ++l) t.push_back((l + 1) % 8 == 0 ? LayerType::Softmax : LayerType::Lightning);
  return t;
}
void deepnorm(ModelConfig& c) {  // alpha = (2L)^(1/4), beta = 1 (the released model's values)
  const double a = std::pow(2.0 * static_cast<double>(c.num_hidden_layers), 0.25);
  c.alpha_linear = c.alpha_full = c.alpha_mlp = a;
  c.beta_linear = c.beta_full = c.beta_mlp = 1.0;
}
}  // namespace

std::vector<std::string> preset_names() { return {"tiny", "small", "minimax-text-01"}; }

ModelConfig preset_config(std::string_view name) {
  ModelConfig c;
  c.source = "preset " + std::string(name);
  if (name == "tiny") {
    c.vocab_size = 512; c.hidden_size = 128; c.intermediate_size = 256; c.num_hidden_layers = 8;
    c.num_attention_heads = 4; c.num_key_value_heads = 2; c.head_dim = 32; c.rotary_dim = 16;
    c.num_local_experts = 4; c.num_experts_per_tok = 2; c.max_position_embeddings = 8192;
    c.rope_theta = 1e7;
  } else if (name == "small") {
    c.vocab_size = 32000; c.hidden_size = 1024; c.intermediate_size = 1024; c.num_hidden_layers = 8;
    c.num_attention_heads = 16; c.num_key_value_heads = 4; c.head_dim = 64; c.rotary_dim = 32;
    c.num_local_experts = 8; c.num_experts_per_tok = 2; c.max_position_embeddings = 65536;
    c.rope_theta = 1e7;
  } else if (name == "minimax-text-01") {
    c.vocab_size = 200064; c.hidden_size = 6144; c.intermediate_size = 9216; c.num_hidden_layers = 80;
    c.num_attention_heads = 64; c.num_key_value_heads = 8; c.head_dim = 128; c.rotary_dim = 64;
    c.num_local_experts = 32; c.num_experts_per_tok = 2; c.max_position_embeddings = 10240000;
    c.rope_theta = 10000000.0;
  } else {
    std::string names;
    for (auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown preset '" + std::string(name) + "' (expected one of: " + names + ")");
  }
  c.rms_norm_eps = 1e-5;
  c.postnorm = true;
  c.layer_types = pattern_7_1(c.num_hidden_layers);
  deepnorm(c);
  if (name == "minimax-text-01")  // the exact value in the released config.json
    c.alpha_linear = c.alpha_full = c.alpha_mlp = 3.5565588200778455;
  c.validate();
  return c;
}

ParamCount count_params(const ModelConfig& c) {
  ParamCount p;
  const int64_t H = c.hidden_size, inner = c.inner_dim();
  p.embed = c.vocab_size * H;
  p.lm_head = c.tie_word_embeddings ? 0 : c.vocab_size * H;
  p.final_norm = H;
  p.lightning_attn = 3 * inner * H + inner * H + H * inner + inner;  // qkv, output_gate, out_proj, norm
  p.softmax_attn = inner * H + 2 * c.kv_dim() * H + H * inner;        // q, k, v, o
  p.expert = 3 * c.intermediate_size * H;                             // w1, w3, w2
  p.moe = c.num_local_experts * p.expert + c.num_local_experts * H;   // experts + router
  p.layer_norms = 2 * H;
  const int64_t nl = c.num_layers_of(LayerType::Lightning), ns = c.num_layers_of(LayerType::Softmax);
  const int64_t attn = nl * p.lightning_attn + ns * p.softmax_attn;
  p.total = p.embed + p.lm_head + p.final_norm + attn + c.num_hidden_layers * (p.moe + p.layer_norms);
  p.active = p.final_norm + attn +
             c.num_hidden_layers * (c.num_experts_per_tok * p.expert + c.num_local_experts * H + p.layer_norms);
  return p;
}

MemoryPlan memory_plan(const ModelConfig& c) {
  MemoryPlan m;
  m.weight_bytes_bf16 = 2 * count_params(c).total;
  m.lightning_state_bytes = c.num_layers_of(LayerType::Lightning) * c.num_attention_heads * c.head_dim * c.head_dim * 4;
  m.kv_bytes_per_token = c.num_layers_of(LayerType::Softmax) * 2 * c.kv_dim() * 2;
  return m;
}

}  // namespace mm
