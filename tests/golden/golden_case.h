// Runs the reference on one golden case (golden/cases/<name>) and collects every tensor the
// generator captured, under the generator's names (golden/README.md):
//   layers.L.{attn_out, moe_out, output, router_logits, router_probs, router_experts,
//             lightning_state | k_cache, v_cache}, final_norm, logits,
//   decode.layers.L.* (stacked over decode steps; state after the last step; cache rows appended),
//   decode.final_norm, decode_logits.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reference/model.h"

namespace mm::golden {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> values;
};

struct Case {
  std::string name, dir;
  nlohmann::json manifest;
  std::vector<int64_t> prompt, decode;
};

Case load_case(const std::string& dir);
std::vector<std::string> case_dirs();  // every golden/cases/* with a manifest.json

// Runs prefill + decode with precision P and returns name -> tensor.
template <class P> std::map<std::string, Tensor> run_case(const Case& c);

struct Diff {
  double rel_fro = 0, max_abs = 0;
  bool shape_ok = true;
};
Diff compare(const Tensor& got, const std::vector<double>& want, const std::vector<int64_t>& want_shape);

// Sort key that orders tensors as the computation produces them (prefill layer by layer, then decode),
// so the first failure printed is the first diverging tensor.
std::string order_key(const std::string& name);

}  // namespace mm::golden
