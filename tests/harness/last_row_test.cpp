// StepRequest::all_logits = false (bench and generation): StepResult::logits is [1, V], the last row of
// what the same step makes with all rows, after a prefill, a decode step and a multi-token continuation,
// for the reference backends and cuda-sim; a capture still has every row.
//   cuda-sim: bit for bit (the SIMT GEMM sums each output in double, row by row: row S-1 does not depend
//   on the rows beside it).
//   ref-*: within the summation-order bound. Eigen (and OpenBLAS under it) takes a matrix-vector kernel
//   for one row and a blocked GEMM for S rows, which add the H products of a logit in another order (most
//   logits differ in their last bits; measured), so each is within H u sum_k |n_k W_jk| of the exact dot
//   product and the two within twice that (u: the unit roundoff of the accumulation, fp64 or fp32); in
//   bf16 the two rounded results may then still be one bf16 ulp apart.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/rng.h"
#include "core/safetensors.h"
#include "harness/backend.h"
#include "harness/model_source.h"
#include "reference/model.h"

namespace mm::harness {
namespace {

const ModelSource& tiny() {
  static const ModelSource s = resolve_model("", "", 0);  // the built-in default (tiny, seed 0)
  return s;
}

std::vector<int64_t> draw(int n, int64_t V, uint64_t seed) { return Rng(seed).tokens(n, V); }

// Prefill (crossing no block: 40 tokens), one decode step, a 3-token continuation from the caches.
std::vector<std::vector<int64_t>> steps(int64_t V) { return {draw(40, V, 1), {7}, draw(3, V, 2)}; }

struct Row {
  std::vector<double> logits;      // [V] the step's last logits row
  std::vector<double> final_norm;  // [H] its final-norm row (all-rows run, captured)
};

uint64_t bits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, 8);
  return u;
}

// One bf16 ulp at |x| (bf16 keeps 8 significant bits): 2^(floor(log2 |x|) - 7).
double bf16_ulp(double x) { return x == 0 ? 0 : std::ldexp(1.0, std::ilogb(x) - 7); }

void check_backend(const std::string& name) {
  auto b = registry().make(name, tiny().model);
  const ModelConfig& cfg = b->config();
  const int64_t V = cfg.vocab_size, H = cfg.hidden_size;
  const auto seq = steps(V);
  // all rows (the default), captured for the final norm the bound needs
  std::vector<Row> want;
  StepRequest all;
  all.capture = true;
  b->reset();
  for (const auto& t : seq) {
    const StepResult r = b->step(t, all);
    const int64_t S = static_cast<int64_t>(t.size());
    ASSERT_EQ(r.logits.shape, (std::vector<int64_t>{S, V})) << name;
    const Tensor& n = r.tensors.at("final_norm");
    want.push_back({{r.logits.values.end() - V, r.logits.values.end()}, {n.values.end() - H, n.values.end()}});
  }
  // last row only; the prefill also captured: its tensors keep all S rows
  b->reset();
  std::vector<std::vector<double>> got;
  for (std::size_t i = 0; i < seq.size(); ++i) {
    StepRequest last;
    last.all_logits = false;
    last.capture = i == 0;
    const StepResult r = b->step(seq[i], last);
    ASSERT_EQ(r.logits.shape, (std::vector<int64_t>{1, V})) << name << " step " << i;
    if (last.capture) {
      const int64_t S = static_cast<int64_t>(seq[i].size());
      EXPECT_EQ(r.tensors.at("final_norm").shape, (std::vector<int64_t>{S, H})) << name;
      EXPECT_EQ(r.tensors.at("layers.0.output").shape, (std::vector<int64_t>{S, H})) << name;
    }
    got.push_back(r.logits.values);
  }
  if (name == "cuda-sim") {
    for (std::size_t i = 0; i < seq.size(); ++i)
      for (int64_t j = 0; j < V; ++j)
        ASSERT_EQ(bits(got[i][static_cast<std::size_t>(j)]), bits(want[i].logits[static_cast<std::size_t>(j)]))
            << name << " step " << i << " logit " << j << ": " << got[i][static_cast<std::size_t>(j)] << " vs "
            << want[i].logits[static_cast<std::size_t>(j)];
    return;
  }
  const auto lm_head = ref::load_weights<ref::F64>(Checkpoint(tiny().model.dir), cfg).lm_head;  // [V, H]
  const double u = b->precision() == Precision::F64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24);
  int identical = 0;
  double worst = 0;  // largest |difference| / bound
  for (std::size_t i = 0; i < seq.size(); ++i)
    for (int64_t j = 0; j < V; ++j) {
      double mag = 0;  // sum_k |n_k W_jk| (W in f64; the bf16 weights differ by < 2^-8, covered by the 1.01)
      for (int64_t k = 0; k < H; ++k) mag += std::abs(want[i].final_norm[static_cast<std::size_t>(k)] * lm_head(j, k));
      const double a = want[i].logits[static_cast<std::size_t>(j)], g = got[i][static_cast<std::size_t>(j)];
      double bound = 2.0 * static_cast<double>(H) * u * mag * 1.01;
      if (b->precision() == Precision::BF16) bound += bf16_ulp(std::max(std::abs(a), std::abs(g)));
      ASSERT_LE(std::abs(g - a), bound) << name << " step " << i << " logit " << j << ": " << g << " vs " << a;
      identical += bits(g) == bits(a);
      worst = std::max(worst, std::abs(g - a) / bound);
    }
  std::printf("%s: last-row-only logits within the summation-order bound (largest difference %.3g of it); "
              "%d of %lld bit-identical\n",
              name.c_str(), worst, identical, static_cast<long long>(V * static_cast<int64_t>(seq.size())));
}

TEST(LastRowLogits, RefF64) { check_backend("ref-f64"); }
TEST(LastRowLogits, RefF32) { check_backend("ref-f32"); }
TEST(LastRowLogits, RefBf16) { check_backend("ref-bf16"); }
#if MM_SIMT
TEST(LastRowLogits, CudaSimBitForBit) { check_backend("cuda-sim"); }
#endif

}  // namespace
}  // namespace mm::harness
