#include "tests/golden/golden_case.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace mm::golden {
namespace fs = std::filesystem;

std::vector<std::string> case_dirs() {
  std::vector<std::string> out;
  const fs::path root = fs::path(MM_GOLDEN_DIR) / "cases";
  if (fs::is_directory(root))
    for (auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "manifest.json")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Case load_case(const std::string& dir) {
  Case c;
  c.dir = dir;
  c.name = fs::path(dir).filename().string();
  std::ifstream mf(fs::path(dir) / "manifest.json"), inf(fs::path(dir) / "inputs.json");
  if (!mf || !inf) throw Error(dir + ": golden case needs manifest.json and inputs.json");
  c.manifest = nlohmann::json::parse(mf);
  const auto in = nlohmann::json::parse(inf);
  c.prompt = in.at("prompt_tokens").get<std::vector<int64_t>>();
  c.decode = in.at("decode_tokens").get<std::vector<int64_t>>();
  return c;
}

namespace {

template <class T> Tensor from_mat(const ref::Mat<T>& m, std::vector<int64_t> shape) {
  Tensor t;
  t.shape = std::move(shape);
  t.values.assign(m.data(), m.data() + m.size());
  return t;
}

template <class T> void append_rows(Tensor& t, const ref::Mat<T>& m) {
  if (t.shape.empty()) t.shape = {0, m.cols()};
  t.shape[0] += m.rows();
  t.values.insert(t.values.end(), m.data(), m.data() + m.size());
}

template <class T> ref::Mat<T> router_ids(const ref::RouterChoice<T>& r) {
  ref::Mat<T> m(static_cast<Eigen::Index>(r.ids.size()), r.ids.empty() ? 0 : static_cast<Eigen::Index>(r.ids[0].size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<T>(r.ids[i][j]);
  return m;
}

// Tensors of one forward call of layer l, under `prefix` ("layers." or "decode.layers.").
template <class T>
void collect_layer(std::map<std::string, Tensor>& out, const std::string& prefix, int64_t l,
                   const ref::LayerTrace<T>& tr, bool append) {
  const std::string p = prefix + std::to_string(l) + ".";
  const std::pair<std::string, ref::Mat<T>> items[] = {
      {"attn_out", tr.attn_out}, {"moe_out", tr.moe_out}, {"output", tr.output},
      {"router_logits", tr.router.logits}, {"router_probs", tr.router.probs}, {"router_experts", router_ids(tr.router)}};
  for (const auto& [n, m] : items) {
    if (append) append_rows(out[p + n], m);
    else out[p + n] = from_mat(m, {m.rows(), m.cols()});
  }
}

template <class T>
void collect_cache(std::map<std::string, Tensor>& out, const std::string& prefix, const ModelConfig& cfg,
                   const ref::ModelCache<T>& cache, int64_t first_row) {
  const int64_t d = cfg.head_dim;
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const std::string p = prefix + std::to_string(l) + ".";
    const auto& lc = cache.layers[static_cast<std::size_t>(l)];
    if (cfg.layer_types[static_cast<std::size_t>(l)] == LayerType::Lightning) {
      Tensor t;
      t.shape = {cfg.num_attention_heads, d, d};
      for (const auto& s : lc.lightning.state) t.values.insert(t.values.end(), s.data(), s.data() + s.size());
      out[p + "lightning_state"] = std::move(t);
    } else {
      const int64_t rows = lc.kv.length() - first_row;
      out[p + "k_cache"] = from_mat(ref::Mat<T>(lc.kv.k.bottomRows(rows)), {rows, cfg.num_key_value_heads, d});
      out[p + "v_cache"] = from_mat(ref::Mat<T>(lc.kv.v.bottomRows(rows)), {rows, cfg.num_key_value_heads, d});
    }
  }
}

}  // namespace

template <class P> std::map<std::string, Tensor> run_case(const Case& c) {
  using T = typename P::T;
  const ModelConfig cfg = load_config(c.dir);
  ref::Model<P> model(cfg, ref::load_weights<P>(Checkpoint(c.dir), cfg));
  std::map<std::string, Tensor> out;
  auto cache = model.new_cache();
  ref::ForwardTrace<T> tr;
  const ref::Mat<T> logits = model.forward(c.prompt, cache, &tr);
  const int64_t S = static_cast<int64_t>(c.prompt.size());
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) collect_layer(out, "layers.", l, tr.layers[l], false);
  out["final_norm"] = from_mat(tr.final_norm, {S, cfg.hidden_size});
  out["logits"] = from_mat(logits, {S, cfg.vocab_size});
  collect_cache(out, "layers.", cfg, cache, 0);
  for (int64_t tok : c.decode) {
    ref::ForwardTrace<T> dt;
    const ref::Mat<T> lg = model.forward({tok}, cache, &dt);
    for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) collect_layer(out, "decode.layers.", l, dt.layers[l], true);
    append_rows(out["decode.final_norm"], dt.final_norm);
    append_rows(out["decode_logits"], lg);
  }
  if (!c.decode.empty()) collect_cache(out, "decode.layers.", cfg, cache, S);
  return out;
}

template std::map<std::string, Tensor> run_case<ref::F64>(const Case&);
template std::map<std::string, Tensor> run_case<ref::F32>(const Case&);

Diff compare(const Tensor& got, const std::vector<double>& want, const std::vector<int64_t>& want_shape) {
  Diff d;
  if (got.shape != want_shape || got.values.size() != want.size()) {
    d.shape_ok = false;
    return d;
  }
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = got.values[i] - want[i];
    if (std::isnan(got.values[i]) || std::isnan(want[i])) { d.max_abs = d.rel_fro = INFINITY; return d; }
    num += e * e;
    den += want[i] * want[i];
    d.max_abs = std::max(d.max_abs, std::abs(e));
  }
  d.rel_fro = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return d;
}

std::string order_key(const std::string& name) {
  // decode after prefill; within each, by layer number, then attention < router < moe < output < caches
  const bool dec = name.rfind("decode", 0) == 0;
  int layer = 1000;
  const auto p = name.find("layers.");
  if (p != std::string::npos) layer = std::stoi(name.substr(p + 7));
  static const char* kinds[] = {"attn_out", "lightning_state", "k_cache", "v_cache", "router_logits",
                                "router_probs", "router_experts", "moe_out", "output", "final_norm", "logits"};
  int kind = 99;
  for (int i = 0; i < 11; ++i)
    if (name.find(kinds[i]) != std::string::npos) { kind = i; break; }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%04d.%02d.", dec ? 1 : 0, layer, kind);
  return buf + name;
}

}  // namespace mm::golden
