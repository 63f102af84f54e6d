// The pass/fail rule for one tensor of one backend (flash-attention's rule, anchors.md B/C.1):
//   err(backend, ref) <= k * err(ref-bf16, ref) + floor        for err = max_abs and err = rel_fro
// with floor = floor_rel (rel_fro) and floor_rel * max|ref| (max_abs): the noise floor below which
// differences are rounding. Second gate, ggml-style: NMSE <= the ceiling of the backend's precision
// (absolute for f64/f32; for bf16 at least k^2 x the NMSE of ref-bf16 on that tensor).
// NaN (or an Inf the reference does not have) never passes. Router choices compare exactly except on
// tokens whose reference margin is within the backend's own probability error there (metrics.h);
// logits argmax must agree on rows whose reference top-1/top-2 gap exceeds 2 * tol_max_abs.
#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "harness/metrics.h"

namespace mm::harness {

struct Tolerance {
  double k = 2.0;
  double floor_rel = 1e-6;
  // NMSE ceiling by precision class. f32: ggml test-backend-ops' default 1e-7; bf16: sized so the
  // official-rounding reference itself passes end to end on the presets and goldens (measured ~1e-4).
  // bf16: end-to-end NMSE includes router flips; ref-bf16 reaches 1.0e-2 on tiny (layer 7 moe_out)
  // and 7.9e-2 on small's 4 decode tokens (one flip), hence also the k^2 x budget term in judge().
  std::map<std::string, double> nmse_ceiling = {{"f64", 1e-20}, {"f32", 1e-7}, {"bf16", 3e-2}};
  double ceiling_for(const std::string& precision) const;
};

struct TensorVerdict {
  std::string name;
  bool pass = true;
  bool produced = true;       // false: a kind the backend declares it never materialises (not compared)
  std::string why;            // empty when it passes; otherwise the first violated bound
  ErrorStats err;             // backend vs reference
  ErrorStats budget;          // ref-bf16 vs reference
  double tol_max_abs = 0, tol_rel_fro = 0, nmse_ceiling = 0;
  std::optional<ChoiceStats> choices;  // router_experts
  std::optional<ArgmaxStats> argmax;   // logits
};

// ref_probs / got_probs (the same layer's router_probs) are used for router_experts only.
TensorVerdict judge(const std::string& name, const Tensor& got, const Tensor& ref, const Tensor* budget,
                    const std::string& precision, const Tolerance& tol, const Tensor* ref_probs,
                    const Tensor* got_probs);

nlohmann::json to_json(const TensorVerdict& v);
nlohmann::json to_json(const ErrorStats& e);

}  // namespace mm::harness
