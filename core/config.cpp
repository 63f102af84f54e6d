#include "core/config.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/checked_int.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "core/file_io.h"

namespace mm {
namespace {

using nlohmann::json;
using json_fields::has;
using json_fields::num_str;
using json_fields::where;

constexpr const char* kLimitsDoc = "docs/semantics/config-limits.md";

// An integer field (core/json_fields.h), refused when missing.
int64_t get_int(const json& j, const char* key, const std::string& src) {
  if (!has(j, key)) throw Error(where(src, key) + " is missing");
  return json_fields::integer(j.at(key), src, key);
}
double get_num(const json& j, const char* key, const std::string& src) {
  if (!has(j, key)) throw Error(where(src, key) + " is missing");
  const json& v = j.at(key);
  if (!v.is_number()) throw Error(where(src, key) + " must be a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw Error(where(src, key) + " must be a finite number, got " + num_str(d));
  return d;
}
double get_num_or(const json& j, const char* key, double def, const std::string& src) {
  return has(j, key) ? get_num(j, key, src) : def;
}
// A real field that must be finite, positive and representable as fp32 (the kernels use it as float).
double get_pos_num_or(const json& j, const char* key, double def, const std::string& src) {
  const double d = get_num_or(j, key, def, src);
  if (!(d >= static_cast<double>(FLT_MIN)) || d > static_cast<double>(FLT_MAX))
    throw Error(where(src, key) + " must be a positive number that fits an fp32 (a normal float in [" +
                num_str(FLT_MIN) + ", " + num_str(FLT_MAX) + "]), got " + num_str(d));
  return d;
}
bool get_bool_or(const json& j, const char* key, bool def, const std::string& src) {
  if (!has(j, key)) return def;
  if (!j.at(key).is_boolean()) throw Error(where(src, key) + " must be true or false, got " + j.at(key).dump());
  return j.at(key).get<bool>();
}

// A dimension: in [1, max] (ConfigLimits).
void check_dim(const std::string& src, const char* field, int64_t v, int64_t max) {
  if (v <= 0) throw Error(where(src, field) + " must be positive, got " + std::to_string(v));
  if (v > max)
    throw Error(where(src, field) + " = " + std::to_string(v) + " exceeds the limit " + std::to_string(max) + " (" +
                kLimitsDoc + ")");
}

// `shared_intermediate_size` is 0 (or [0] in VL-01's text config): no shared expert. We refuse anything else
// rather than silently ignoring a shared MLP.
// Fields that would change the attention if honoured: a RoPE scaling (or a non-default rope_type in HF v5's
// rope_parameters) and a sliding window. MiniMax-01 uses neither (null / "default"); anything else is
// refused rather than silently computed without it.
void check_no_unsupported_attention_variant(const json& j, const std::string& src) {
  if (has(j, "rope_scaling"))
    throw Error(where(src, "rope_scaling") + " = " + j.at("rope_scaling").dump() +
                " is not supported (MiniMax-01 uses plain RoPE: null expected)");
  if (has(j, "sliding_window"))
    throw Error(where(src, "sliding_window") + " = " + j.at("sliding_window").dump() +
                " is not supported (MiniMax-01 attends to the whole context: null expected)");
  if (has(j, "rope_parameters") && j.at("rope_parameters").is_object() && has(j.at("rope_parameters"), "rope_type")) {
    const json& t = j.at("rope_parameters").at("rope_type");
    if (!t.is_string() || t.get<std::string>() != "default")
      throw Error(where(src, "rope_parameters.rope_type") + " = " + t.dump() + " is not supported (\"default\" expected)");
  }
}

void check_no_shared_expert(const json& j, const std::string& src) {
  if (!has(j, "shared_intermediate_size")) return;
  const json& v = j.at("shared_intermediate_size");
  if (v.is_array()) {
    for (const auto& e : v)
      if (!e.is_number() || e.get<double>() != 0)
        throw Error(where(src, "shared_intermediate_size") + " must be 0 (no shared expert is supported), got " + v.dump());
    return;
  }
  if (!v.is_number() || v.get<double>() != 0)
    throw Error(where(src, "shared_intermediate_size") + " must be 0 (no shared expert is supported), got " + v.dump());
}

// The object holding the text model's fields, after checking `model_type`.
const json& text_model_object(const json& root, const std::string& src) {
  const char* expected = "expected \"minimax_text_01\" (official), \"minimax\" (HF) or \"minimax_vl_01\" (VL-01)";
  if (!has(root, "model_type")) throw Error(where(src, "model_type") + " is missing (" + expected + ")");
  const json& mt = root.at("model_type");
  const std::string t = mt.is_string() ? mt.get<std::string>() : "";
  if (t == "minimax_text_01" || t == "minimax") return root;
  if (t != "minimax_vl_01")
    throw Error(where(src, "model_type") + " = " + mt.dump() + " is not a MiniMax-01 model (" + expected + ")");
  if (!root.contains("text_config") || !root.at("text_config").is_object())
    throw Error(where(src, "text_config") + " must be an object: a minimax_vl_01 config holds the text model there");
  const json& tc = root.at("text_config");
  if (has(tc, "model_type")) {
    const json& tmt = tc.at("model_type");
    if (!tmt.is_string() || (tmt.get<std::string>() != "minimax_text_01" && tmt.get<std::string>() != "minimax"))
      throw Error(where(src, "text_config.model_type") + " = " + tmt.dump() +
                  " is not a MiniMax-01 text model (expected \"minimax_text_01\" or \"minimax\")");
  }
  return tc;
}

// Checked int64 arithmetic for parameter counts (core/checked_int.h), naming the config.
struct Checked : CheckedInt {
  explicit Checked(const ModelConfig& c) : CheckedInt{c.source + ": the parameter count"} {}
};

using u128 = unsigned __int128;
uint64_t saturate(u128 v) { return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v); }

std::string bytes_and_gib(uint64_t b) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.2f GiB)", static_cast<unsigned long long>(b),
                static_cast<double>(b) / static_cast<double>(1ull << 30));
  return buf;
}

struct MemoryAvailable {
  uint64_t bytes = 0;
  const char* kind = "physical memory";
};
MemoryAvailable memory_available() {
  MemoryAvailable m;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) m.bytes = saturate(static_cast<u128>(pages) * static_cast<u128>(page));
  struct rlimit rl {};
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (m.bytes == 0 || static_cast<uint64_t>(rl.rlim_cur) < m.bytes)) {
    m.bytes = static_cast<uint64_t>(rl.rlim_cur);
    m.kind = "address space (ulimit -v)";
  }
  return m;
}

}  // namespace

int64_t ModelConfig::num_layers_of(LayerType t) const {
  int64_t n = 0;
  for (auto lt : layer_types) n += (lt == t);
  return n;
}

int64_t ModelConfig::run_layers_of(LayerType t) const {
  int64_t n = 0;
  for (int64_t l = first_layer(); l < end_layer() && l < static_cast<int64_t>(layer_types.size()); ++l)
    n += layer_types[static_cast<std::size_t>(l)] == t;
  return n;
}

namespace {
void check_span(const std::string& source, const char* what, const LayerSpan& s, int64_t lo, int64_t hi) {
  if (s.all()) return;
  if (s.begin < lo || s.begin >= s.end || s.end > hi)
    throw Error(where(source, what) + " = [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                ") must be a non-empty range of layers inside [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
}
}  // namespace

std::optional<int64_t> parse_layer_number(const std::string& t) {
  if (t.empty() || t.size() > 7 || t.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(t);
}

LayerSpan parse_layer_span(const std::string& text, const ModelConfig& c, const std::string& option) {
  const int64_t lo = c.stored_begin(), hi = c.stored_end();
  const std::string range = "A:B with " + std::to_string(lo) + " <= A < B <= " + std::to_string(hi) +
                            (c.stored.all() ? " (num_hidden_layers)" : " (the layers this checkpoint holds)");
  const std::size_t colon = text.find(':');
  auto number = [&](const std::string& t) -> int64_t {
    const std::optional<int64_t> n = parse_layer_number(t);
    if (!n) throw UsageError(option + " '" + text + "': expected " + range);
    return *n;
  };
  if (colon == std::string::npos) throw UsageError(option + " '" + text + "': expected " + range);
  LayerSpan s{number(text.substr(0, colon)), number(text.substr(colon + 1))};
  if (s.begin < lo || s.begin >= s.end || s.end > hi)
    throw UsageError(option + " '" + text + "': expected " + range);
  return s;
}

std::string run_layers_string(const ModelConfig& c) {
  return std::to_string(c.first_layer()) + ":" + std::to_string(c.end_layer());
}

void ModelConfig::validate() const {
  using L = ConfigLimits;
  check_dim(source, "vocab_size", vocab_size, L::vocab_size);
  check_dim(source, "hidden_size", hidden_size, L::hidden_size);
  check_dim(source, "intermediate_size", intermediate_size, L::intermediate_size);
  check_dim(source, "num_hidden_layers", num_hidden_layers, L::num_hidden_layers);
  check_dim(source, "num_attention_heads", num_attention_heads, L::num_attention_heads);
  check_dim(source, "num_key_value_heads", num_key_value_heads, L::num_attention_heads);
  check_dim(source, "head_dim", head_dim, L::head_dim);
  check_dim(source, "num_local_experts", num_local_experts, L::num_local_experts);
  check_dim(source, "num_experts_per_tok", num_experts_per_tok, L::num_local_experts);
  check_dim(source, "max_position_embeddings", max_position_embeddings, L::max_position_embeddings);
  check_dim(source, "block_size", block_size, L::block_size);
  if (head_dim % 2 != 0)
    throw Error(where(source, "head_dim") + " must be even (RoPE rotates pairs of dims), got " + std::to_string(head_dim));
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
    throw Error(where(source, "rope_theta") + " must be a finite positive number, got " + num_str(rope_theta));
  const std::pair<double, const char*> reals[] = {
      {rms_norm_eps, "rms_norm_eps"},
      {lightning_norm_eps, "lightning_norm_eps"},
      {alpha_linear, "layernorm_linear_attention_alpha (linear_attn_alpha_factor)"},
      {beta_linear, "layernorm_linear_attention_beta (linear_attn_beta_factor)"},
      {alpha_full, "layernorm_full_attention_alpha (full_attn_alpha_factor)"},
      {beta_full, "layernorm_full_attention_beta (full_attn_beta_factor)"},
      {alpha_mlp, "layernorm_mlp_alpha (mlp_alpha_factor)"},
      {beta_mlp, "layernorm_mlp_beta (mlp_beta_factor)"},
  };
  for (const auto& [v, f] : reals)
    // NaN fails the first test, +inf the second; below FLT_MIN the value would flush to 0 or lose
    // precision as the float the bf16 reference and the kernels use.
    if (!(v >= static_cast<double>(FLT_MIN)) || v > static_cast<double>(FLT_MAX))
      throw Error(where(source, f) + " must be a positive number that fits an fp32 (a normal float in [" +
                  num_str(FLT_MIN) + ", " + num_str(FLT_MAX) + "]), got " + num_str(v));
  if (static_cast<int64_t>(layer_types.size()) != num_hidden_layers)
    throw Error(where(source, "attn_type_list/layer_types") + " has " + std::to_string(layer_types.size()) +
                " entries, expected num_hidden_layers = " + std::to_string(num_hidden_layers));
  if (num_layers_of(LayerType::Lightning) > 0 && num_hidden_layers < 2)
    throw Error(where(source, "num_hidden_layers") +
                " must be >= 2 when lightning layers exist (the decay factor 1 - l/(L-1) divides by L-1)");
  check_span(source, "minimax01_layers", stored, 0, num_hidden_layers);
  check_span(source, "--layers", run, stored_begin(), stored_end());
}

ModelConfig config_from_json(const json& root, const std::string& src) {
  if (!root.is_object()) throw Error(src + ": expected a JSON object");
  const json& j = text_model_object(root, src);
  using L = ConfigLimits;
  ModelConfig c;
  c.source = src;
  // Every dimension is range-checked as it is read, so nothing below computes with or sizes by an absurd value.
  auto dim = [&](const char* key, int64_t max) {
    const int64_t v = get_int(j, key, src);
    check_dim(src, key, v, max);
    return v;
  };
  auto dim_or = [&](const char* key, int64_t def, int64_t max) { return has(j, key) ? dim(key, max) : def; };
  c.vocab_size = dim("vocab_size", L::vocab_size);
  c.hidden_size = dim("hidden_size", L::hidden_size);
  c.intermediate_size = dim("intermediate_size", L::intermediate_size);
  c.num_hidden_layers = dim("num_hidden_layers", L::num_hidden_layers);
  c.num_attention_heads = dim("num_attention_heads", L::num_attention_heads);
  c.num_key_value_heads = dim_or("num_key_value_heads", c.num_attention_heads, L::num_attention_heads);
  if (has(j, "head_dim")) {
    c.head_dim = dim("head_dim", L::head_dim);
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      throw Error(where(src, "head_dim") + " is missing and hidden_size = " + std::to_string(c.hidden_size) +
                  " is not divisible by num_attention_heads = " + std::to_string(c.num_attention_heads) +
                  ": give head_dim explicitly");
    c.head_dim = c.hidden_size / c.num_attention_heads;
    check_dim(src, "head_dim (hidden_size / num_attention_heads)", c.head_dim, L::head_dim);
  }
  c.num_local_experts = dim("num_local_experts", L::num_local_experts);
  c.num_experts_per_tok = dim("num_experts_per_tok", L::num_local_experts);
  c.max_position_embeddings = dim_or("max_position_embeddings", 10240000, L::max_position_embeddings);
  c.rms_norm_eps = get_pos_num_or(j, "rms_norm_eps", 1e-5, src);
  c.tie_word_embeddings = get_bool_or(j, "tie_word_embeddings", false, src);
  check_no_shared_expert(j, src);
  check_no_unsupported_attention_variant(j, src);

  const bool official = has(j, "attn_type_list");
  const bool hf = has(j, "layer_types");
  if (official == hf)
    throw Error(src + ": expected exactly one of 'attn_type_list' (official spelling) or 'layer_types' (HF spelling)");
  const char* list_key = official ? "attn_type_list" : "layer_types";
  const json& a = j.at(list_key);
  if (!a.is_array())
    throw Error(where(src, list_key) + (official ? " must be an array of 0/1" : " must be an array of strings"));
  // The length is checked before a single entry is stored.
  if (a.size() != static_cast<std::size_t>(c.num_hidden_layers))
    throw Error(where(src, list_key) + " has " + std::to_string(a.size()) +
                " entries, expected num_hidden_layers = " + std::to_string(c.num_hidden_layers));
  c.layer_types.reserve(a.size());
  if (official) {
    for (const auto& e : a) {
      // get<int64_t> of a uint64 above INT64_MAX is negative in C++20: refused like any other value.
      const int64_t v = e.is_number_integer() ? e.get<int64_t>() : -1;
      if (v != 0 && v != 1)
        throw Error(where(src, "attn_type_list") + " entries must be 0 (lightning) or 1 (softmax), got " + e.dump());
      c.layer_types.push_back(v == 0 ? LayerType::Lightning : LayerType::Softmax);
    }
    c.alpha_linear = get_pos_num_or(j, "layernorm_linear_attention_alpha", 1, src);
    c.beta_linear = get_pos_num_or(j, "layernorm_linear_attention_beta", 1, src);
    c.alpha_full = get_pos_num_or(j, "layernorm_full_attention_alpha", 1, src);
    c.beta_full = get_pos_num_or(j, "layernorm_full_attention_beta", 1, src);
    c.alpha_mlp = get_pos_num_or(j, "layernorm_mlp_alpha", 1, src);
    c.beta_mlp = get_pos_num_or(j, "layernorm_mlp_beta", 1, src);
    c.postnorm = get_bool_or(j, "postnorm", false, src);  // official default is False; Text-01 sets true
  } else {
    for (const auto& e : a) {
      const std::string s = e.is_string() ? e.get<std::string>() : "";
      if (s == "linear_attention") c.layer_types.push_back(LayerType::Lightning);
      else if (s == "full_attention") c.layer_types.push_back(LayerType::Softmax);
      else throw Error(where(src, "layer_types") + " entries must be \"linear_attention\" or \"full_attention\", got " + e.dump());
    }
    c.alpha_linear = get_pos_num_or(j, "linear_attn_alpha_factor", 1, src);
    c.beta_linear = get_pos_num_or(j, "linear_attn_beta_factor", 1, src);
    c.alpha_full = get_pos_num_or(j, "full_attn_alpha_factor", 1, src);
    c.beta_full = get_pos_num_or(j, "full_attn_beta_factor", 1, src);
    c.alpha_mlp = get_pos_num_or(j, "mlp_alpha_factor", 1, src);
    c.beta_mlp = get_pos_num_or(j, "mlp_beta_factor", 1, src);
    c.postnorm = true;  // HF hard-wires the post-norm residual
  }
  c.block_size = dim_or("block_size", 256, L::block_size);

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
  // A slice checkpoint (init --layers): the layers it holds, by their index in the whole model.
  if (has(j, "minimax01_layers")) {
    const json& s = j.at("minimax01_layers");
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
      throw Error(where(src, "minimax01_layers") + " must be [first, end): two integers, got " + s.dump());
    c.stored = {s[0].get<int64_t>(), s[1].get<int64_t>()};
    if (c.stored.all()) throw Error(where(src, "minimax01_layers") + " = [0, 0] holds no layer");
  }
  c.validate();
  return c;
}

namespace {
// Finds where in a JSON text a number overflows a double (nlohmann refuses 1e400 with error 406 but
// does not say under which key): the path of the value being parsed when the parser stopped.
class OverflowLocator : public json::json_sax_t {
 public:
  std::string path, token;
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (!frames_.empty()) frames_.back().key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string& last_token, const nlohmann::detail::exception& e) override {
    if (e.id == 406) {
      token = last_token;
      for (std::size_t i = 0; i < frames_.size(); ++i) {
        const Frame& f = frames_[i];
        if (f.object) {
          if (i > 0) path.push_back('.');
          path.append(f.key);
        } else {
          path.push_back('[');
          path.append(std::to_string(f.index));
          path.push_back(']');
        }
      }
    }
    return false;
  }

 private:
  struct Frame {
    bool object = true;
    std::string key;
    std::size_t index = 0;
  };
  bool value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }
  bool open(bool object) {
    if (frames_.size() > 256) return false;  // only reached on text the bounded parser accepted
    frames_.push_back({object, "", 0});
    return true;
  }
  bool close() {
    if (!frames_.empty()) frames_.pop_back();
    return value();
  }
  std::vector<Frame> frames_;
};
}  // namespace

ModelConfig load_config(const std::string& path_in) {
  namespace fs = std::filesystem;
  fs::path p(path_in);
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
    throw Error(path_in + ": cannot use the model directory or config.json: " + ec.message());  // e.g. no permission
  if (!fs::exists(st)) throw Error(path_in + ": no such model directory or config.json");
  if (fs::is_directory(st)) p /= "config.json";
  const std::string file = p.string();
  // A config.json is a few KiB (Text-01: ~3 KiB, a 1024-layer list ~6 KiB); 4 MiB bounds the DOM a
  // hostile file can make us build before the layer list's length is checked.
  JsonLimits limits;
  limits.max_bytes = 4u << 20;
  limits.max_depth = 32;
  // A directory or FIFO named config.json, duplicate keys, depth and size are refused by read_regular_file
  // and parse_json_text.
  const std::string text = read_regular_file(file, "model config (config.json)", limits.max_bytes);
  json j;
  try {
    j = parse_json_text(text, file, limits);
  } catch (const Error& e) {
    if (std::string_view(e.what()).find("number overflow") == std::string_view::npos) throw;
    OverflowLocator loc;
    json::sax_parse(text, &loc);
    if (loc.path.empty()) throw;
    throw Error(where(file, loc.path) + " = " + loc.token + " is not a finite number (it overflows a double)");
  }
  return config_from_json(j, file);
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
  if (!c.stored.all()) j["minimax01_layers"] = {c.stored.begin, c.stored.end};
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
    // HF stores the rotary width as a fraction and recovers it as int(factor * head_dim). For some pairs
    // (30 / 44) that product is 29.999999999999996 in double arithmetic: HF would truncate to 29 and our
    // reader refuses the file. Such a config cannot be written in this spelling without changing it.
    const double f = static_cast<double>(c.rotary_dim) / static_cast<double>(c.head_dim);
    if (f * static_cast<double>(c.head_dim) != static_cast<double>(c.rotary_dim))
      throw Error(c.source + ": rotary_dim = " + std::to_string(c.rotary_dim) + " with head_dim = " +
                  std::to_string(c.head_dim) + " has no exact partial_rotary_factor (factor x head_dim is not an "
                  "integer in double arithmetic); write this config in the official spelling");
    j["partial_rotary_factor"] = f;
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
    throw UsageError("unknown preset '" + std::string(name) + "' (expected one of: " + names + ")");
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

// With the limits of ConfigLimits (H <= 2^16, V <= 2^24, I <= 2^20, E <= 2^10, L <= 2^10,
// n_h * d_h <= 2^20): embed <= 2^40, one attention block < 5 * 2^36 + 2^20, one MoE block
// < 3 * 2^46 + 2^26, so total < 2^41 + 2^10 * (5 * 2^36 + 3 * 2^46 + 2^27) < 2^58, and every term and
// partial sum is smaller still: no overflow for a validated config. Checked anyway, for configs built
// in code that never went through validate().
ParamCount count_params(const ModelConfig& c) {
  const Checked k{c};
  ParamCount p;
  const int64_t H = c.hidden_size, inner = k.mul(c.num_attention_heads, c.head_dim);
  const int64_t kvd = k.mul(c.num_key_value_heads, c.head_dim);
  p.embed = k.mul(c.vocab_size, H);
  p.lm_head = c.tie_word_embeddings ? 0 : p.embed;
  p.final_norm = H;
  // qkv, output_gate, out_proj, norm
  p.lightning_attn = k.add(k.mul(3, inner, H), k.mul(inner, H), k.mul(H, inner), inner);
  p.softmax_attn = k.add(k.mul(inner, H), k.mul(2, kvd, H), k.mul(H, inner));  // q, k, v, o
  p.expert = k.mul(3, c.intermediate_size, H);                                // w1, w3, w2
  p.moe = k.add(k.mul(c.num_local_experts, p.expert), k.mul(c.num_local_experts, H));  // experts + router
  p.layer_norms = k.mul(2, H);
  const int64_t nl = c.run_layers_of(LayerType::Lightning), ns = c.run_layers_of(LayerType::Softmax);
  const int64_t attn = k.add(k.mul(nl, p.lightning_attn), k.mul(ns, p.softmax_attn));
  p.total = k.add(p.embed, p.lm_head, p.final_norm, attn, k.mul(c.run_layer_count(), k.add(p.moe, p.layer_norms)));
  p.active = k.add(p.final_norm, attn,
                   k.mul(c.run_layer_count(), k.add(k.mul(c.num_experts_per_tok, p.expert),
                                                    k.mul(c.num_local_experts, H), p.layer_norms)));
  return p;
}

// Within the limits: weights < 2^59 bytes, lightning state <= 2^10 * 2^20 * 2^10 * 4 = 2^42 bytes,
// KV <= 2^10 * 2 * 2^20 * 2 = 2^32 bytes per token.
MemoryPlan memory_plan(const ModelConfig& c) {
  const Checked k{c};
  MemoryPlan m;
  m.weight_bytes_bf16 = k.mul(2, count_params(c).total);
  m.lightning_state_bytes = k.mul(c.run_layers_of(LayerType::Lightning), c.num_attention_heads, c.head_dim, c.head_dim, 4);
  m.kv_bytes_per_token = k.mul(c.run_layers_of(LayerType::Softmax), 2, c.num_key_value_heads, c.head_dim, 2);
  return m;
}

uint64_t estimate_model_bytes(const ModelConfig& c, uint64_t bytes_per_weight, uint64_t bytes_per_state,
                              uint64_t context_tokens) {
  const Checked k{c};
  const ParamCount p = count_params(c);
  const int64_t state_elems =
      k.mul(c.run_layers_of(LayerType::Lightning), c.num_attention_heads, c.head_dim, c.head_dim);
  const int64_t kv_elems_per_token = k.mul(c.run_layers_of(LayerType::Softmax), 2, c.num_key_value_heads, c.head_dim);
  const auto u = [](int64_t v) { return static_cast<u128>(v < 0 ? 0 : v); };
  // Each product is of two values < 2^64, so < 2^128; each is saturated to 64 bits before the next step.
  const uint64_t w = saturate(u(p.total) * bytes_per_weight);
  const uint64_t s = saturate(u(state_elems) * bytes_per_state);
  const uint64_t kv = saturate(static_cast<u128>(saturate(u(kv_elems_per_token) * bytes_per_state)) * context_tokens);
  return saturate(static_cast<u128>(w) + s + kv);
}

const char* to_string(WeightResidency r) {
  switch (r) {
    case WeightResidency::Auto: return "auto";
    case WeightResidency::Resident: return "resident";
    case WeightResidency::Streamed: return "streamed";
    case WeightResidency::Bf16: return "bf16";
  }
  return "?";
}

WeightResidency parse_weight_residency(const std::string& s) {
  if (s == "auto") return WeightResidency::Auto;
  if (s == "resident") return WeightResidency::Resident;
  if (s == "streamed") return WeightResidency::Streamed;
  if (s == "bf16") return WeightResidency::Bf16;
  throw UsageError("--weights must be one of auto, resident, streamed, bf16, got '" + s + "'");
}

uint64_t estimate_streamed_model_bytes(const ModelConfig& c, uint64_t bytes_per_weight, uint64_t bytes_per_state,
                                       uint64_t context_tokens) {
  const Checked k{c};
  const ParamCount p = count_params(c);
  // Resident: every 1-D weight (the layers' two norms, the lightning inner norms, the final norm).
  const int64_t vectors = k.add(k.mul(c.run_layer_count(), p.layer_norms),
                                k.mul(c.run_layers_of(LayerType::Lightning), c.inner_dim()), c.hidden_size);
  // Converted while a layer runs: its attention projections (the larger kind) and router, and one expert.
  const int64_t attention = std::max(c.run_layers_of(LayerType::Lightning) > 0 ? p.lightning_attn : 0,
                                     c.run_layers_of(LayerType::Softmax) > 0 ? p.softmax_attn : 0);
  const int64_t layer = k.add(attention, k.mul(c.num_local_experts, c.hidden_size), p.expert);
  const auto u = [](int64_t v) { return static_cast<u128>(v < 0 ? 0 : v); };
  const uint64_t head = std::min(saturate(u(p.lm_head > 0 ? p.lm_head : p.embed) * bytes_per_weight),
                                 kStreamedHeadBlockBytes);
  const uint64_t working = std::max(saturate(u(layer) * bytes_per_weight), head);
  // The state, as estimate_model_bytes counts it (its weights term at 0 bytes each).
  const uint64_t state = estimate_model_bytes(c, 0, bytes_per_state, context_tokens);
  return saturate(static_cast<u128>(saturate(u(vectors) * bytes_per_weight)) + working + state);
}

WeightResidency resolve_weight_residency(WeightResidency r, const ModelConfig& c, uint64_t bytes_per_weight,
                                         uint64_t available) {
  if (r != WeightResidency::Auto) return r;
  return available == 0 || estimate_model_bytes(c, bytes_per_weight, bytes_per_weight) <= available
             ? WeightResidency::Resident
             : WeightResidency::Streamed;
}

uint64_t available_memory_bytes() { return memory_available().bytes; }

void require_memory(uint64_t bytes, const std::string& what, uint64_t available) {
  if (available == 0 || bytes <= available) return;
  throw Error(what + " needs " + bytes_and_gib(bytes) + " but this machine has " + bytes_and_gib(available) +
              " of memory");
}

void require_memory(uint64_t bytes, const std::string& what) {
  const MemoryAvailable m = memory_available();
  if (m.bytes == 0 || bytes <= m.bytes) return;
  throw Error(what + " needs " + bytes_and_gib(bytes) + " but this machine has " + bytes_and_gib(m.bytes) + " of " +
              m.kind);
}

}  // namespace mm
