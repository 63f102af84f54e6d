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

// Rows flipped by `run` at router tensor `name` against `ref`; empty when either lacks it.
std::vector<bool> flips_of(const std::string& name, const TensorMap& run, const TensorMap& ref) {
  const auto r = ref.find(name), g = run.find(name);
  if (r == ref.end() || g == run.end()) return {};
  return flipped_rows(g->second, r->second);
}

int64_t count(const std::vector<bool>& v) {
  int64_t n = 0;
  for (bool b : v) n += b;
  return n;
}

// Rows of the reference router tensor `name`, or -1 when it has none.
int64_t ref_rows(const std::string& name, const TensorMap& ref) {
  const auto r = ref.find(name);
  return r == ref.end() || r->second.shape.empty() ? -1 : r->second.shape[0];
}

}  // namespace

RowMask layerwise_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t first_layer,
                       int64_t end_layer) {
  RowMask m;
  for (const std::string phase : {"", "decode."}) {
    for (int64_t l = first_layer; l < end_layer; ++l) {
      const std::string p = phase + "layers." + std::to_string(l) + ".";
      const int64_t rows = ref_rows(p + "router_experts", ref);
      if (rows < 0) continue;
      m.rows_considered += rows;
      const auto fg = flips_of(p + "router_experts", got, ref), fb = flips_of(p + "router_experts", budget, ref);
      m.rows_got += count(fg);
      m.rows_budget += count(fb);
      for (const char* kind : {"moe_out", "output"}) {
        if (!fg.empty()) m.got[p + kind] = fg;
        if (!fb.empty()) m.budget[p + kind] = fb;
      }
    }
  }
  return m;
}

RowMask end_to_end_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t first_layer,
                        int64_t end_layer) {
  RowMask m;
  for (const std::string phase : {"", "decode."}) {
    const int64_t rows = ref_rows(phase + "layers." + std::to_string(first_layer) + ".router_experts", ref);
    if (rows < 0) continue;
    std::vector<bool> any_got(static_cast<std::size_t>(rows), false), any_budget(any_got);
    for (int64_t l = first_layer; l < end_layer; ++l) {
      const std::string n = phase + "layers." + std::to_string(l) + ".router_experts";
      const auto fg = flips_of(n, got, ref), fb = flips_of(n, budget, ref);
      for (std::size_t i = 0; i < fg.size() && i < any_got.size(); ++i) any_got[i] = any_got[i] || fg[i];
      for (std::size_t i = 0; i < fb.size() && i < any_budget.size(); ++i) any_budget[i] = any_budget[i] || fb[i];
    }
    m.rows_considered += rows;
    m.rows_got += count(any_got);
    m.rows_budget += count(any_budget);
    // the end-to-end tensors of the phase: the head's, and a slice's last layer output (docs/slices.md)
    for (const std::string& n : {phase + "final_norm", phase.empty() ? std::string("logits") : std::string("decode_logits"),
                                 phase + "layers." + std::to_string(end_layer - 1) + ".output"}) {
      m.got[n] = any_got;
      m.budget[n] = any_budget;
    }
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
