// The pass/fail rule for one tensor of one backend: the acceptance rule of core/acceptance.h (its one
// definition and its constants; docs/testing.md, "The acceptance rule"; flash-attention's rule,
// anchors.md B/C.1):
//   err(backend, ref) <= k * err(ref-bf16, ref) + floor        for err = max_abs and err = rel_fro
// with floor = floor_rel (rel_fro) and floor_rel * max|ref| (max_abs): the noise floor below which
// differences are rounding. Second gate, ggml-style: NMSE <= a fixed ceiling per precision class, which
// does not depend on the budget (so a budget run that is itself off cannot widen it).
// NaN (or an Inf the reference does not have) never passes. Router choices compare exactly except on
// tokens whose reference margin is within the backend's own probability error there (metrics.h);
// logits argmax must agree on rows whose reference top-1/top-2 gap exceeds 2 * tol_max_abs.
// Budget pooling (JudgeOptions): a decode-phase tensor has one row per decode step (4 by default), too
// few for the maximum of the budget's rounding error to be a stable statistic, so its budget is the
// larger of its own and that of its twin in the other phase (decode.layers.L.X <-> layers.L.X: the same
// weights, the same arithmetic); a short prompt's prefill tensors pool the same way.
#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/acceptance.h"
#include "harness/precision.h"
#include "harness/metrics.h"

namespace mm::harness {

// Defaults: core/acceptance.h (`check --k` and `--floor` override k and floor_rel).
struct Tolerance {
  double k = acceptance::kK;
  double floor_rel = acceptance::kCheckFloorRel;
  std::map<Precision, double> nmse_ceiling = {{Precision::F64, acceptance::kNmseCeilingF64},
                                              {Precision::F32, acceptance::kNmseCeilingF32},
                                              {Precision::BF16, acceptance::kNmseCeilingBf16}};
  // End-to-end tensors (free running) fail only below this cosine with the reference, or with NaN/Inf.
  double e2e_min_cosine = acceptance::kEndToEndMinCosine;
  // Tensors of fewer values are gated by rel_fro, NMSE and NaN; max_abs is reported (max_abs_gates false).
  int64_t min_elements_for_max = acceptance::kMinElementsForMax;
  double ceiling_for(Precision p) const;  // mm::Error for a class without a ceiling
};

struct JudgeOptions {
  // The reference rows the budget is measured against, when they differ from the backend's (rows the
  // budget rerouted are left out of its statistics only; reroute.h). Default: `ref`.
  const Tensor* budget_ref = nullptr;
  const ErrorStats* pooled_budget = nullptr;  // see "Budget pooling" above
  std::string pooled_from;                    // the tensor it comes from (reported)
  // A free-running end-to-end tensor: the rule (FA bounds, NMSE ceiling, argmax) is evaluated and
  // reported (within_rule), but only NaN/Inf and a cosine below Tolerance::e2e_min_cosine fail it.
  bool end_to_end = false;
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
  int64_t rows_left_out = 0;           // rows the backend rerouted (router flips), not compared (reroute.h)
  int64_t budget_rows_left_out = 0;    // rows the budget rerouted, left out of its error statistics
  // false: nothing could be judged (every row rerouted, or no yardstick left): reported, neither a pass
  // nor a failure; a backend needs at least one conclusive tensor (check.cpp)
  bool conclusive = true;
  std::string budget_pooled_from;      // non-empty: the budget was pooled with this tensor's
  bool max_abs_gates = true;           // false: max_abs reported only (end to end, or < min_elements_for_max)
  bool within_rule = true;             // end to end: whether the rule held (reported, not gating)
  std::string rule_note;               // end to end: the bound it exceeded
};

// ref_probs / got_probs (the same layer's router_probs) are used for router_experts only.
TensorVerdict judge(const std::string& name, const Tensor& got, const Tensor& ref, const Tensor* budget,
                    Precision precision, const Tolerance& tol, const Tensor* ref_probs,
                    const Tensor* got_probs, const JudgeOptions& jo = {});

nlohmann::json to_json(const TensorVerdict& v);
nlohmann::json to_json(const ErrorStats& e);

}  // namespace mm::harness
