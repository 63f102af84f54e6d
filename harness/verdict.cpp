#include "harness/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/capture.h"
#include "harness/tensor_id.h"

namespace mm::harness {

double Tolerance::ceiling_for(Precision precision) const {
  auto it = nmse_ceiling.find(precision);
  if (it == nmse_ceiling.end())
    throw Error(std::string("check: no NMSE ceiling for precision class '") + to_string(precision) + "'");
  return it->second;
}

static std::string fmt(const char* f, double a, double b = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

TensorVerdict judge(const std::string& name, const Tensor& got, const Tensor& ref, const Tensor* budget,
                    Precision precision, const Tolerance& tol, const Tensor* ref_probs,
                    const Tensor* got_probs, const JudgeOptions& jo) {
  TensorVerdict v;
  v.name = name;
  v.err = error_stats(got, ref, tol.floor_rel);
  if (budget) v.budget = error_stats(*budget, jo.budget_ref ? *jo.budget_ref : ref, tol.floor_rel);
  const std::string kind = tensor_kind(name);
  if (!v.err.shape_ok) {
    v.pass = false;
    v.why = "shape differs from the reference";
    return v;
  }
  if (kind == "router_experts") {
    if (!ref_probs) {
      v.pass = false;
      v.why = "no reference router_probs to judge the choices";
      return v;
    }
    v.choices = expert_agreement(got, ref, *ref_probs, got_probs, tol.floor_rel);
    if (v.choices->mismatched) {
      v.pass = false;
      v.why = std::to_string(v.choices->mismatched) + " of " + std::to_string(v.choices->compared) +
              " tokens chose different experts where the router margin exceeds twice the probability error";
    }
    return v;
  }
  // An unusable budget (mis-shaped or with NaN/Inf) must never widen the tolerance: fall back to the
  // floor alone, so the backend then has to match the oracle to the floor. No budget at all (none given,
  // or every row of it rerouted) may take the pooled one instead (JudgeOptions).
  auto usable = [](const ErrorStats& e) {
    return e.shape_ok && e.n > 0 && e.nan_got == 0 && e.nonfinite_mismatch == 0 && std::isfinite(e.max_abs) &&
           std::isfinite(e.rel_fro);
  };
  const bool have_budget = budget && v.budget.n > 0;
  const bool budget_ok = have_budget && usable(v.budget);
  if (!budget_ok) v.budget = ErrorStats{};
  const ErrorStats* pool = jo.pooled_budget;
  if ((budget_ok || !have_budget) && pool && usable(*pool)) {
    v.budget.max_abs = std::max(v.budget.max_abs, pool->max_abs);
    v.budget.rel_fro = std::max(v.budget.rel_fro, pool->rel_fro);
    v.budget_pooled_from = jo.pooled_from;
  }
  v.max_abs_gates = !jo.end_to_end && v.err.n >= tol.min_elements_for_max;
  // The acceptance rule (core/acceptance.h) with check's floor: relative only (floor_abs 0).
  const acceptance::Rule ar{tol.k, tol.floor_rel, acceptance::kCheckFloorAbs, tol.ceiling_for(precision)};
  const acceptance::Bounds bound = acceptance::bounds(v.budget.max_abs, v.budget.rel_fro, v.err.ref_max_abs, ar);
  v.tol_max_abs = bound.max_abs;
  v.tol_rel_fro = bound.rel_fro;
  v.nmse_ceiling = ar.nmse_ceiling;
  // The flash-attention rule and the NMSE ceiling: the first bound violated, or "".
  std::string rule;
  switch (acceptance::first_exceeded(v.err.max_abs, v.err.rel_fro, v.err.nmse, bound, v.nmse_ceiling, v.max_abs_gates)) {
    case acceptance::Exceeded::max_abs:
      rule = fmt("max_abs %.3e > %.3e (k * ref-bf16 + floor)", v.err.max_abs, v.tol_max_abs);
      break;
    case acceptance::Exceeded::rel_fro:
      rule = fmt("rel_fro %.3e > %.3e (k * ref-bf16 + floor)", v.err.rel_fro, v.tol_rel_fro);
      break;
    case acceptance::Exceeded::nmse:
      rule = fmt("NMSE %.3e > ceiling %.3e", v.err.nmse, v.nmse_ceiling);
      break;
    case acceptance::Exceeded::none:
      break;
  }
  if (kind == "logits") {
    v.argmax = argmax_agreement(got, ref, 2 * v.tol_max_abs);
    if (rule.empty() && v.argmax->disagree)
      rule = std::to_string(v.argmax->disagree) + " rows with a different argmax (top-1/top-2 gap above " +
             fmt("%.3g)", v.argmax->threshold);
  }
  if (v.err.nan_got || v.err.nonfinite_mismatch) {
    v.pass = false;
    v.why = std::to_string(v.err.nan_got) + " NaN and " + std::to_string(v.err.inf_got) + " Inf values";
  } else if (!jo.end_to_end) {
    v.pass = rule.empty();
    v.why = rule;
  } else {  // end to end: the rule is reported; only a gross divergence fails
    v.within_rule = rule.empty();
    v.rule_note = rule;
    if (!(v.err.cosine >= tol.e2e_min_cosine)) {
      v.pass = false;
      v.why = fmt("cosine %.4f < %.2f (end to end: the model diverged, not a rounding-level difference)",
                  v.err.cosine, tol.e2e_min_cosine);
    }
  }
  return v;
}

nlohmann::json to_json(const ErrorStats& e) {
  nlohmann::json j = {{"rel_fro", e.rel_fro}, {"max_abs", e.max_abs}, {"max_rel", e.max_rel},
                      {"nmse", e.nmse},        {"cosine", e.cosine},   {"ref_max_abs", e.ref_max_abs},
                      {"nan", e.nan_got},      {"inf", e.inf_got},     {"n", e.n}};
  // JSON has no Inf/NaN: nlohmann writes null; readers treat null as "not finite".
  return j;
}

nlohmann::json to_json(const TensorVerdict& v) {
  nlohmann::json j = {{"name", v.name},
                      {"layer", tensor_layer(v.name)},
                      {"phase", is_decode_tensor(v.name) ? "decode" : "prefill"},
                      {"mode", is_end_to_end(v.name) ? "end_to_end" : "teacher_forced"},
                      {"kind", tensor_kind(v.name)},
                      {"pass", v.pass},
                      {"error", to_json(v.err)},
                      {"budget", to_json(v.budget)},
                      {"tol_max_abs", v.tol_max_abs},
                      {"tol_rel_fro", v.tol_rel_fro},
                      {"nmse_ceiling", v.nmse_ceiling}};
  // MiniMax-VL-01: "layer" stays the text decoder layer (-1 here); a vision tensor says so, with its layer
  const TensorId id = TensorId::parse(v.name);
  if (id.family == Family::VisionEncoder || id.family == Family::Projector) {
    j["family"] = to_string(id.family);
    if (id.family == Family::VisionEncoder && id.layer >= 0) j["vision_layer"] = id.layer;
  }
  if (!v.why.empty()) j["why"] = v.why;
  if (!v.produced) j["produced"] = false;
  if (v.rows_left_out) j["rows_left_out"] = v.rows_left_out;
  if (v.budget_rows_left_out) j["budget_rows_left_out"] = v.budget_rows_left_out;
  if (!v.conclusive) j["inconclusive"] = true;
  if (!v.budget_pooled_from.empty()) j["budget_pooled_from"] = v.budget_pooled_from;
  if (!v.max_abs_gates) j["max_abs_gates"] = false;
  if (is_end_to_end(v.name)) {
    j["within_rule"] = v.within_rule;  // reported, not gating (docs/harness.md)
    if (!v.rule_note.empty()) j["rule_note"] = v.rule_note;
  }
  if (v.choices)
    j["choices"] = {{"tokens", v.choices->tokens}, {"compared", v.choices->compared},
                    {"ignored_low_margin", v.choices->ignored}, {"mismatched", v.choices->mismatched},
                    {"max_margin_threshold", v.choices->threshold}, {"min_margin", v.choices->min_margin}};
  if (v.argmax)
    j["argmax"] = {{"rows", v.argmax->rows}, {"agree", v.argmax->agree}, {"ignored_low_gap", v.argmax->ignored},
                   {"disagree", v.argmax->disagree}, {"gap_threshold", v.argmax->threshold}};
  return j;
}

}  // namespace mm::harness
