// Error statistics, router-choice and argmax agreement, the verdict rule, percentiles, the U test and
// the analytic FLOP counts, on hand-checkable inputs.
#include <cmath>

#include <gtest/gtest.h>

#include "harness/flops.h"
#include "core/error.h"
#include "harness/metrics.h"
#include "harness/reroute.h"
#include "harness/stats.h"
#include "harness/verdict.h"

namespace mm::harness {
namespace {

Tensor T(std::vector<int64_t> shape, std::vector<double> v) { return Tensor{std::move(shape), std::move(v)}; }

TEST(Metrics, ErrorStats) {
  const Tensor ref = T({2, 2}, {1, -2, 3, 0}), got = T({2, 2}, {1.1, -2, 3, 0.01});
  const ErrorStats e = error_stats(got, ref, 1e-6);
  EXPECT_NEAR(e.max_abs, 0.1, 1e-12);
  EXPECT_NEAR(e.nmse, (0.01 + 0.0001) / 14.0, 1e-12);
  EXPECT_NEAR(e.rel_fro, std::sqrt(e.nmse), 1e-12);
  EXPECT_NEAR(e.max_rel, 0.01 / (1e-6 * 3), 1e-6);  // the zero entry is measured against the floor
  EXPECT_GT(e.cosine, 0.999);
  EXPECT_EQ(e.nan_got, 0);
}

TEST(Metrics, NaNNeverPasses) {
  const Tensor ref = T({1, 3}, {1, 2, 3}), got = T({1, 3}, {1, NAN, 3});
  const ErrorStats e = error_stats(got, ref);
  EXPECT_EQ(e.nan_got, 1);
  EXPECT_TRUE(std::isinf(e.rel_fro));
  Tolerance tol;
  const TensorVerdict v = judge("layers.0.attn_out", got, ref, &ref, Precision::F32, tol, nullptr, nullptr);
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("NaN"), std::string::npos);
  // same-sign Inf on both sides is not an error
  const Tensor inf = T({1, 2}, {INFINITY, 1});
  EXPECT_EQ(error_stats(inf, inf).nonfinite_mismatch, 0);
  EXPECT_EQ(error_stats(T({1, 2}, {-INFINITY, 1}), inf).nonfinite_mismatch, 1);
}

TEST(Metrics, FlashAttentionRule) {
  const Tensor ref = T({1, 4}, {1, 1, 1, 1});
  const Tensor bf16 = T({1, 4}, {1.01, 1, 1, 1});
  Tolerance tol;  // k = 2
  tol.min_elements_for_max = 1;  // hand-sized tensors: let the max gate at any size
  EXPECT_TRUE(judge("layers.0.moe_out", T({1, 4}, {1.019, 1, 1, 1}), ref, &bf16, Precision::BF16, tol, nullptr, nullptr).pass);
  const TensorVerdict v = judge("layers.0.moe_out", T({1, 4}, {1.021, 1, 1, 1}), ref, &bf16, Precision::BF16, tol, nullptr, nullptr);
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("max_abs"), std::string::npos);
  // the f32 NMSE ceiling (1e-7) applies on top of the rule
  EXPECT_FALSE(judge("layers.0.moe_out", T({1, 4}, {1.005, 1, 1, 1}), ref, &bf16, Precision::F32, tol, nullptr, nullptr).pass);
}

// The NMSE ceiling is fixed per precision class: a budget run that is itself far off widens the
// elementwise rule but not the ceiling; an unknown class is an error, not a silent default.
TEST(Metrics, NmseCeilingIndependentOfTheBudget) {
  const Tensor ref = T({1, 4}, {1, 1, 1, 1});
  const Tensor broken_budget = T({1, 4}, {2, 1, 1, 1});  // NMSE 0.25
  Tolerance tol;
  const TensorVerdict v = judge("layers.0.output", T({1, 4}, {1.1, 1, 1, 1}), ref, &broken_budget, Precision::BF16, tol,
                                nullptr, nullptr);  // NMSE 2.5e-3: inside k * budget, above the 2e-3 ceiling
  EXPECT_FALSE(v.pass);
  EXPECT_NE(v.why.find("NMSE"), std::string::npos) << v.why;
  // one ceiling per precision class, whatever the budget
  EXPECT_EQ(tol.ceiling_for(Precision::BF16), acceptance::kNmseCeilingBf16);
  EXPECT_EQ(tol.ceiling_for(Precision::F32), acceptance::kNmseCeilingF32);
  EXPECT_EQ(tol.ceiling_for(Precision::F64), acceptance::kNmseCeilingF64);
  Tolerance none = tol;
  none.nmse_ceiling.erase(Precision::BF16);
  EXPECT_THROW(none.ceiling_for(Precision::BF16), Error);
}

// Decode tensors (few rows) may pool the budget with their prefill tensor; a pooled budget that is not
// finite is ignored; end-to-end tensors report max_abs without gating on it.
TEST(Metrics, BudgetPoolingAndEndToEndGates) {
  const Tensor ref = T({1, 4}, {1, 1, 1, 1}), bf16 = T({1, 4}, {1.001, 1, 1, 1});
  const Tensor got = T({1, 4}, {1.003, 1, 1, 1});  // 3x the decode budget
  Tolerance tol;
  tol.min_elements_for_max = 1;  // hand-sized tensors: let the max gate at any size
  EXPECT_FALSE(judge("decode.layers.0.output", got, ref, &bf16, Precision::BF16, tol, nullptr, nullptr).pass);
  ErrorStats prefill;  // the same layer's prefill budget: max_abs 2e-3, rel_fro 1e-3
  prefill.max_abs = 2e-3;
  prefill.rel_fro = 1e-3;
  prefill.n = 4;
  JudgeOptions jo;
  jo.pooled_budget = &prefill;
  jo.pooled_from = "layers.0.output";
  const TensorVerdict v = judge("decode.layers.0.output", got, ref, &bf16, Precision::BF16, tol, nullptr, nullptr, jo);
  EXPECT_TRUE(v.pass) << v.why;
  EXPECT_EQ(v.budget_pooled_from, "layers.0.output");
  EXPECT_NEAR(v.tol_max_abs, 2 * 2e-3 + 1e-6, 1e-12);
  prefill.max_abs = INFINITY;  // unusable: must not widen anything
  EXPECT_FALSE(judge("decode.layers.0.output", got, ref, &bf16, Precision::BF16, tol, nullptr, nullptr, jo).pass);
  // End to end (free running): the rule is evaluated and reported; only NaN/Inf or a gross divergence
  // (cosine below 0.95) fails.
  const Tensor ref8 = T({1, 8}, {1, -1, 1, -1, 1, -1, 1, -1});
  const Tensor b8 = T({1, 8}, {1.001, -1, 1, -1, 1, -1, 1, -1});
  const Tensor g8 = T({1, 8}, {1.05, -1, 1, -1, 1, -1, 1, -1});  // 50x the budget, cosine 0.9997
  JudgeOptions e2e;
  e2e.end_to_end = true;
  EXPECT_FALSE(judge("e2e.logits", g8, ref8, &b8, Precision::BF16, tol, nullptr, nullptr).pass);  // as a layer: fails
  const TensorVerdict ve = judge("e2e.logits", g8, ref8, &b8, Precision::BF16, tol, nullptr, nullptr, e2e);
  EXPECT_TRUE(ve.pass) << ve.why;
  EXPECT_FALSE(ve.within_rule);
  EXPECT_FALSE(ve.rule_note.empty());
  const TensorVerdict vd = judge("e2e.logits", T({1, 8}, {1, 1, 1, 1, 1, -1, 1, -1}), ref8, &b8, Precision::BF16, tol,
                                 nullptr, nullptr, e2e);  // cosine 0.5: diverged
  EXPECT_FALSE(vd.pass);
  EXPECT_NE(vd.why.find("cosine"), std::string::npos) << vd.why;
  EXPECT_FALSE(judge("e2e.logits", T({1, 8}, {1, NAN, 1, -1, 1, -1, 1, -1}), ref8, &b8, Precision::BF16, tol, nullptr,
                     nullptr, e2e).pass);
}

// The max of few values is not a stable statistic: below min_elements_for_max only rel_fro, NMSE and NaN
// gate; at or above it the max does.
TEST(Metrics, MaxAbsGatesOnlyWithEnoughValues) {
  const int n = 1024;
  std::vector<double> r(n, 1.0), b(n, 1.001), g(n, 1.0);
  g[0] = 1.005;  // max_abs 2.5x the budget's, rel_fro far inside (the error sits on one value)
  Tolerance tol;
  const Tensor R = T({1, n}, r), B = T({1, n}, b), G = T({1, n}, g);
  const TensorVerdict v = judge("layers.0.output", G, R, &B, Precision::BF16, tol, nullptr, nullptr);
  EXPECT_FALSE(v.pass);
  EXPECT_TRUE(v.max_abs_gates);
  EXPECT_NE(v.why.find("max_abs"), std::string::npos) << v.why;
  const Tensor r8 = T({1, 8}, std::vector<double>(r.begin(), r.begin() + 8));
  const Tensor b8 = T({1, 8}, std::vector<double>(b.begin(), b.begin() + 8));
  const Tensor g8 = T({1, 8}, std::vector<double>(g.begin(), g.begin() + 8));
  const TensorVerdict s8 = judge("layers.0.output", g8, r8, &b8, Precision::BF16, tol, nullptr, nullptr);
  EXPECT_TRUE(s8.pass) << s8.why;  // rel_fro 0.88x of its tolerance
  EXPECT_FALSE(s8.max_abs_gates);
  EXPECT_GT(s8.err.max_abs, s8.tol_max_abs);  // reported, not gating
}

// Rows rerouted by router flips: per teacher-forced layer (moe_out/output of that layer only) and end to
// end (cumulative over layers, per phase), counted against the rows considered.
TEST(Reroute, FlippedRowsAndMasks) {
  const Tensor ref_ids = T({3, 2}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(flipped_rows(T({3, 2}, {1, 0, 2, 4, 4, 5}), ref_ids), (std::vector<bool>{false, true, false}));  // a set
  EXPECT_TRUE(flipped_rows(T({2, 2}, {0, 1, 2, 3}), ref_ids).empty());  // shape differs: judged elsewhere
  const Tensor x = T({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor kept = keep_rows(x, {false, true, false});
  EXPECT_EQ(kept.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(kept.values, (std::vector<double>{1, 2, 5, 6}));

  TensorMap ref, got, budget;
  ref["layers.0.router_experts"] = ref["layers.1.router_experts"] = ref_ids;
  got["layers.0.router_experts"] = T({3, 2}, {0, 1, 2, 5, 4, 5});  // row 1 flipped at layer 0
  got["layers.1.router_experts"] = ref_ids;
  budget["layers.0.router_experts"] = ref_ids;
  budget["layers.1.router_experts"] = T({3, 2}, {0, 1, 2, 3, 4, 0});  // row 2 flipped at layer 1 (budget)
  const RowMask lw = layerwise_mask(got, budget, ref, 0, 2);
  // each run's own flips leave its own rows out: the backend is still compared on the budget's
  EXPECT_EQ(lw.got.at("layers.0.moe_out"), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(lw.got.at("layers.1.output"), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(lw.budget.at("layers.1.output"), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(lw.got.count("layers.1.attn_out"), 0u);  // attention precedes the layer's MoE: not affected
  EXPECT_EQ(lw.rows_considered, 6);
  EXPECT_EQ(lw.rows_got, 1);
  EXPECT_EQ(lw.rows_budget, 1);
  EXPECT_FALSE(lw.over_cap());  // fewer than min_rows_for_cap rows: the router_experts verdict is the guard
  const RowMask e2e = end_to_end_mask(got, budget, ref, 0, 2);
  EXPECT_EQ(e2e.got.at("logits"), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(e2e.budget.at("final_norm"), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(e2e.rows_considered, 3);
  EXPECT_EQ(e2e.rows_got, 1);
  // the cap counts the backend's flips only, from min_rows_for_cap rows on
  RowMask m;
  m.rows_considered = 16;
  m.rows_budget = 16;  // the budget rerouting everything is not the backend's fault
  m.rows_got = 4;
  EXPECT_FALSE(m.over_cap());
  m.rows_got = 5;
  EXPECT_TRUE(m.over_cap());
}

TEST(Metrics, ExpertChoicesIgnoreRoundingLevelMargins) {
  // 2 tokens, 3 experts, top-1. Token 0: clear margin (0.5 vs 0.3); token 1: margin 0.001.
  const Tensor probs = T({2, 3}, {0.5, 0.3, 0.2, 0.4, 0.399, 0.201});
  const Tensor ref_ids = T({2, 1}, {0, 0});
  const Tensor got_probs = T({2, 3}, {0.5, 0.3, 0.2, 0.3995, 0.3995, 0.201});  // error 5e-4 on token 1
  // token 1 flipped (expert 1): explained by its 5e-4 probability error (margin 1e-3 <= 2 * 5e-4 + floor)
  ChoiceStats c = expert_agreement(T({2, 1}, {0, 1}), ref_ids, probs, &got_probs, 1e-6);
  EXPECT_EQ(c.compared, 1);
  EXPECT_EQ(c.ignored, 1);
  EXPECT_EQ(c.mismatched, 0);
  // token 0 flipped: a routing bug
  c = expert_agreement(T({2, 1}, {1, 0}), ref_ids, probs, &got_probs, 1e-6);
  EXPECT_EQ(c.mismatched, 1);
  // exact probabilities: nothing is ignored, a flip on token 1 is a mismatch
  c = expert_agreement(T({2, 1}, {0, 1}), ref_ids, probs, &probs, 1e-6);
  EXPECT_EQ(c.ignored, 0);
  EXPECT_EQ(c.mismatched, 1);
}

TEST(Metrics, ArgmaxAgreement) {
  const Tensor ref = T({2, 3}, {0, 5, 1, 2, 2.0001, 0});
  const ArgmaxStats a = argmax_agreement(T({2, 3}, {0, 5, 1, 2.0002, 2, 0}), ref, 1e-3);
  EXPECT_EQ(a.agree, 1);
  EXPECT_EQ(a.ignored, 1);  // row 1: gap 1e-4 below the threshold
  EXPECT_EQ(a.disagree, 0);
}

TEST(Stats, Percentiles) {
  const std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 3);
  EXPECT_DOUBLE_EQ(percentile(v, 90), 4.6);  // numpy: 4 + 0.6 * (5 - 4)
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 5);
}

TEST(Stats, MannWhitneyU) {
  // exact (no ties, n < 8): fully separated 3 vs 3 -> p = 2 / C(6,3) = 0.1 (scipy: 0.1)
  UTest u = mann_whitney_u({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(u.exact);
  EXPECT_DOUBLE_EQ(u.u, 0);
  EXPECT_NEAR(u.p, 0.1, 1e-12);
  // normal approximation, 10 vs 10 separated: U = 0, z = (100 - 50 - 0.5) / sqrt(175) -> p = 1.8267e-4
  std::vector<double> a, b;
  for (int i = 1; i <= 10; ++i) a.push_back(i), b.push_back(i + 10);
  u = mann_whitney_u(a, b);
  EXPECT_FALSE(u.exact);
  EXPECT_NEAR(u.p, 1.8267e-4, 2e-7);
  // identical samples: no evidence
  EXPECT_GT(mann_whitney_u(a, a).p, 0.9);
  // interleaved: no evidence
  std::vector<double> c, d;
  for (int i = 0; i < 10; ++i) c.push_back(2 * i), d.push_back(2 * i + 1);
  EXPECT_GT(mann_whitney_u(c, d).p, 0.5);
}

TEST(Flops, HandCountedShapes) {
  const ModelConfig c = preset_config("tiny");  // H 128, 4 heads x 32, kv 2, E 4 top-2, I 256, V 512
  const double H = 128, inner = 128, d = 32, nh = 4;
  // decode step of a lightning layer: 10 S H inner + n_h 4 d^2
  EXPECT_DOUBLE_EQ(lightning_attention_cost(c, 1, 100, 4, 4).flops, 10 * H * inner + nh * 4 * d * d);
  // prefill of 300 tokens: blocks of 256 and 44
  EXPECT_DOUBLE_EQ(lightning_attention_cost(c, 300, 0, 4, 4).flops,
                   10 * 300 * H * inner + nh * (4 * 256. * 256 * d + 4 * 256 * d * d + 4 * 44. * 44 * d + 4 * 44 * d * d));
  // softmax decode at context 10: projections + 4 n_h d (P + 1)
  EXPECT_DOUBLE_EQ(softmax_attention_cost(c, 1, 10, 4).flops, 2 * H * (2 * inner + 2 * 64) + 4 * nh * d * 11);
  EXPECT_DOUBLE_EQ(moe_cost(c, 1, 4).flops, 2 * H * 4 + 2 * 6 * H * 256);
  EXPECT_DOUBLE_EQ(head_cost(c, 1, 1, 4).flops, 2 * H * 512);
  // a 300-token prefill making only the last logits row: the lm_head is one row's, the embedding 300 rows'
  EXPECT_DOUBLE_EQ(head_cost(c, 300, 1, 4).flops, 2 * H * 512);
  EXPECT_DOUBLE_EQ(head_cost(c, 300, 1, 4).bytes, 4 * (300 * H + H + 512 * H) + 4 * 512);
  EXPECT_DOUBLE_EQ(head_cost(c, 300, 300, 4).flops, 300 * 2 * H * 512);
  // bytes: decode reads every lightning weight once, plus the state twice
  EXPECT_DOUBLE_EQ(lightning_attention_cost(c, 1, 5, 4, 4).bytes, 4 * (5 * inner * H + inner) + 2 * 4 * H + 2 * 4 * nh * d * d);
}

}  // namespace
}  // namespace mm::harness
