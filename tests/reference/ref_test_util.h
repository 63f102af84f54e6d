// Helpers shared by the reference tests: seeded random inputs (mm::Rng, platform-independent),
// error measures, small configs and random layer weights, a temp directory, and an accuracy log
// that prints the worst error seen per check at the end of the run ("[accuracy] ..." lines).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/core/test_util.h"

#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"
#include "reference/decoder_layer.h"
#include "reference/precision.h"
#include "reference/synthetic.h"

namespace mm::reftest {

using ref::Mat;
using ref::Vec;

// [rows, cols] of N(0, scale^2), or a length-n vector.
inline Mat<double> randn(Eigen::Index rows, Eigen::Index cols, Rng& rng, double scale = 1.0) {
  Mat<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal();
  return m;
}
inline Vec<double> randn_vec(Eigen::Index n, Rng& rng, double scale = 1.0, double mean = 0.0) {
  Vec<double> v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = mean + scale * rng.normal();
  return v;
}

// max |a - b| / max |b|  (b is the oracle). Sizes must agree.
template <class A, class B> double rel_err(const A& a, const B& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  const Mat<double> ad = a.template cast<double>(), bd = b.template cast<double>();
  const double den = bd.cwiseAbs().maxCoeff();
  const double num = (ad - bd).cwiseAbs().maxCoeff();
  return den > 0 ? num / den : num;
}
template <class A> bool all_finite(const A& a) {
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j)
      if (!std::isfinite(static_cast<double>(a(i, j)))) return false;
  return true;
}

// Worst value per named check, printed once at exit so the accuracy of a run is visible in the log.
class AccuracyLog {
 public:
  static AccuracyLog& get() {
    static AccuracyLog log;
    return log;
  }
  void record(const std::string& name, double v) {
    std::lock_guard<std::mutex> lk(mu_);
    auto [it, fresh] = worst_.emplace(name, v);
    if (!fresh) it->second = std::max(it->second, v);
  }
  ~AccuracyLog() {
    for (auto& [k, v] : worst_) std::printf("[accuracy] %-58s worst %.3e\n", k.c_str(), v);
  }

 private:
  std::mutex mu_;
  std::map<std::string, double> worst_;
};
inline double record_error(const std::string& name, double v) {
  AccuracyLog::get().record(name, v);
  return v;
}
// Records and checks an error in one go; streamable like EXPECT_LE.
#define EXPECT_REL_LE(name, err, tol) EXPECT_LE(::mm::reftest::record_error((name), (err)), (tol)) << (name) << ": "

// TempDir and EXPECT_MM_ERROR come from tests/core/test_util.h.
using ::mm::test::TempDir;

// A small hand-made config (not validated against a preset): n_h heads of d, n_kv kv heads.
inline ModelConfig small_config(int64_t H, int64_t nh, int64_t nkv, int64_t d, int64_t rd, int64_t E, int64_t k,
                                int64_t I, int64_t L = 8) {
  ModelConfig c;
  c.source = "test";
  c.vocab_size = 64;
  c.hidden_size = H;
  c.intermediate_size = I;
  c.num_hidden_layers = L;
  c.num_attention_heads = nh;
  c.num_key_value_heads = nkv;
  c.head_dim = d;
  c.rotary_dim = rd;
  c.num_local_experts = E;
  c.num_experts_per_tok = k;
  c.max_position_embeddings = 1 << 20;
  c.block_size = 256;
  c.rope_theta = 1e7;
  c.layer_types.assign(static_cast<std::size_t>(L), LayerType::Lightning);
  c.layer_types.back() = LayerType::Softmax;
  return c;
}

// Random weights with O(1) activations (projections N(0, 1/fan_in), norms 1 + 0.1 N(0,1)).
inline ref::LightningWeights<double> random_lightning(const ModelConfig& c, Rng& rng) {
  const auto H = c.hidden_size, inner = c.inner_dim();
  ref::LightningWeights<double> w;
  w.qkv = randn(3 * inner, H, rng, 1.0 / std::sqrt(double(H)));
  w.gate = randn(inner, H, rng, 1.0 / std::sqrt(double(H)));
  w.norm = randn_vec(inner, rng, 0.1, 1.0);
  w.out = randn(H, inner, rng, 1.0 / std::sqrt(double(inner)));
  return w;
}
inline ref::SoftmaxWeights<double> random_softmax(const ModelConfig& c, Rng& rng) {
  const auto H = c.hidden_size, inner = c.inner_dim(), kvd = c.kv_dim();
  ref::SoftmaxWeights<double> w;
  w.q = randn(inner, H, rng, 1.0 / std::sqrt(double(H)));
  w.k = randn(kvd, H, rng, 1.0 / std::sqrt(double(H)));
  w.v = randn(kvd, H, rng, 1.0 / std::sqrt(double(H)));
  w.o = randn(H, inner, rng, 1.0 / std::sqrt(double(inner)));
  return w;
}
inline ref::MoEWeights<double> random_moe(const ModelConfig& c, Rng& rng) {
  const auto H = c.hidden_size, I = c.intermediate_size;
  ref::MoEWeights<double> w;
  w.gate = randn(c.num_local_experts, H, rng, 2.0 / std::sqrt(double(H)));
  for (int64_t e = 0; e < c.num_local_experts; ++e)
    w.experts.push_back({randn(I, H, rng, 1.0 / std::sqrt(double(H))), randn(I, H, rng, 1.0 / std::sqrt(double(H))),
                         randn(H, I, rng, 1.0 / std::sqrt(double(I)))});
  return w;
}
inline ref::LayerWeights<double> random_layer(const ModelConfig& c, LayerType type, Rng& rng) {
  ref::LayerWeights<double> w;
  w.type = type;
  w.input_norm = randn_vec(c.hidden_size, rng, 0.1, 1.0);
  w.post_norm = randn_vec(c.hidden_size, rng, 0.1, 1.0);
  if (type == LayerType::Lightning) w.lightning = random_lightning(c, rng);
  else w.softmax = random_softmax(c, rng);
  w.moe = random_moe(c, rng);
  return w;
}

// Independent fp64 RMSNorm (no (1+w) offset): out = w * x / sqrt(mean(x^2) + eps).
inline Mat<double> rmsnorm_f64(const Mat<double>& x, const Vec<double>& w, double eps) {
  Mat<double> out(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    double ss = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) ss += x(i, j) * x(i, j);
    const double r = 1.0 / std::sqrt(ss / double(x.cols()) + eps);
    for (Eigen::Index j = 0; j < x.cols(); ++j) out(i, j) = w(j) * (x(i, j) * r);
  }
  return out;
}

inline double silu_f64(double x) { return x / (1.0 + std::exp(-x)); }
inline double sigmoid_f64(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Bitwise equality of two matrices or vectors (shape and every bit).
template <class T> bool same_bits(const Mat<T>& a, const Mat<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}
template <class T> bool same_bits(const Vec<T>& a, const Vec<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}

// OpenBLAS's thread count set to n for a scope (the count the reference's teams take: reference/team.h),
// the previous count restored at its end. ok() is false without OpenBLAS (nothing is changed then).
extern "C" {
__attribute__((weak)) void openblas_set_num_threads(int);
__attribute__((weak)) int openblas_get_num_threads(void);
}
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int n) {
    if (!ok()) return;
    saved_ = openblas_get_num_threads();
    openblas_set_num_threads(n);
  }
  ~ScopedBlasThreads() {
    if (ok()) openblas_set_num_threads(saved_);
  }
  static bool ok() { return openblas_set_num_threads && openblas_get_num_threads; }
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int saved_ = 1;
};

// n seeded token ids below vocab.
inline std::vector<int64_t> random_tokens(std::size_t n, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> t(n);
  for (auto& v : t) v = rng.below(vocab);
  return t;
}

// Two synthetic checkpoints of the tiny preset, written once per test suite: `dir_` with the preset's
// config, bf16 on disk (seed 77); `f32_dir_` with a tied head (`tied_`: the lm_head is the embedding),
// stored in F32, so the BF16 mode rounds at conversion.
class TinyCheckpoints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cfg_ = new ModelConfig(preset_config("tiny"));
    dir_ = new TempDir();
    ref::SyntheticOptions opt;
    opt.seed = 77;
    ref::write_synthetic_checkpoint(dir_->path.string(), *cfg_, opt);
    tied_ = new ModelConfig(*cfg_);
    tied_->tie_word_embeddings = true;
    f32_dir_ = new TempDir();
    opt.dtype = DType::F32;
    ref::write_synthetic_checkpoint(f32_dir_->path.string(), *tied_, opt);
  }
  static void TearDownTestSuite() {
    delete f32_dir_;
    delete tied_;
    delete dir_;
    delete cfg_;
  }
  static inline ModelConfig* cfg_ = nullptr;
  static inline ModelConfig* tied_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline TempDir* f32_dir_ = nullptr;
};

}  // namespace mm::reftest
