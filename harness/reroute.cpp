#include "harness/reroute.h"

#include <set>

namespace mm::harness {

std::vector<bool> flipped_rows(const Tensor& ids, const Tensor& ref_ids) {
  if (ref_ids.shape.size() != 2 || ids.shape != ref_ids.shape) return {};
  const int64_t T = ref_ids.shape[0], k = ref_ids.shape[1];
  std::vector<bool> f(static_cast<std::size_t>(T), false);
  for (int64_t t = 0; t < T; ++t) {
    const std::set<double> a(ids.values.begin() + t * k, ids.values.begin() + (t + 1) * k);
    const std::set<double> b(ref_ids.values.begin() + t * k, ref_ids.values.begin() + (t + 1) * k);
    f[static_cast<std::size_t>(t)] = a != b;
  }
  return f;
}

namespace {

// Rows flipped in either run at router tensor `name`; empty when the reference lacks it.
std::vector<bool> either_flipped(const std::string& name, const TensorMap& got, const TensorMap& budget,
                                 const TensorMap& ref) {
  const auto r = ref.find(name);
  if (r == ref.end() || r->second.shape.empty()) return {};
  std::vector<bool> out(static_cast<std::size_t>(r->second.shape[0]), false);
  for (const TensorMap* run : {&got, &budget}) {
    const auto g = run->find(name);
    if (g == run->end()) continue;
    const auto f = flipped_rows(g->second, r->second);
    for (std::size_t i = 0; i < f.size(); ++i) out[i] = out[i] || f[i];
  }
  return out;
}

int64_t count(const std::vector<bool>& v) {
  int64_t n = 0;
  for (bool b : v) n += b;
  return n;
}

}  // namespace

RowMask layerwise_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t layers) {
  RowMask m;
  for (const std::string phase : {"", "decode."}) {
    for (int64_t l = 0; l < layers; ++l) {
      const std::string p = phase + "layers." + std::to_string(l) + ".";
      const auto f = either_flipped(p + "router_experts", got, budget, ref);
      if (f.empty()) continue;
      m.rows_considered += static_cast<int64_t>(f.size());
      m.rows_dropped += count(f);
      for (const char* kind : {"moe_out", "router_weights", "output"}) m.drop[p + kind] = f;
    }
  }
  return m;
}

RowMask end_to_end_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t layers) {
  RowMask m;
  for (const std::string phase : {"", "decode."}) {
    std::vector<bool> any;
    for (int64_t l = 0; l < layers; ++l) {
      const auto f = either_flipped(phase + "layers." + std::to_string(l) + ".router_experts", got, budget, ref);
      if (any.empty()) any.assign(f.size(), false);
      for (std::size_t i = 0; i < f.size() && i < any.size(); ++i) any[i] = any[i] || f[i];
    }
    if (any.empty()) continue;
    m.rows_considered += static_cast<int64_t>(any.size());
    m.rows_dropped += count(any);
    m.drop[phase + "final_norm"] = any;
    m.drop[phase.empty() ? "logits" : "decode_logits"] = any;
  }
  return m;
}

Tensor keep_rows(const Tensor& t, const std::vector<bool>& drop) {
  if (t.shape.empty() || static_cast<int64_t>(drop.size()) != t.shape[0]) return t;
  const int64_t rows = t.shape[0], w = rows ? t.numel() / rows : 0;
  Tensor out;
  out.shape = t.shape;
  out.shape[0] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (drop[static_cast<std::size_t>(r)]) continue;
    ++out.shape[0];
    out.values.insert(out.values.end(), t.values.begin() + r * w, t.values.begin() + (r + 1) * w);
  }
  return out;
}

}  // namespace mm::harness
