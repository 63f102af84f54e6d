// Softmax attention layer core (optimized/softmax_attention): RoPE + KV-cache append, causal GQA prefill
// (v1 thread per query, v2 FA2 on mma.sync) and decode (v1 block per head, v2 split-KV + combine) at the
// model's head dims and at others v1 alone takes (any d in 1..256; the tensor-core versions refuse them),
// every version against an fp64 oracle (reference RoPE ref::apply_rope<F64> + a plain attention loop
// mirroring reference/softmax_attention.cpp) with the budget of the same computation in ref::BF16
// (bf16 q/k after RoPE, fp32 softmax, bf16 output). Emulator (backend_simt) under several schedules,
// and the nvcc build (backend_cuda) when a GPU is present.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
// Eigen / reference before any kernel header.
#include "reference/precision.h"
#include "reference/rope.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_SOFTMAX_ATTENTION_DECLARE_CUDA 1
#endif
#include "optimized/softmax_attention/softmax_attention_runner.cuh"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <type_traits>

namespace sa = mm::softmax_attention;
using mm::ref::Mat;

namespace {

constexpr double kTheta = 1e7;

struct Backend {
  const char* name;
  bool emulator;
  bool (*present)();
  const std::vector<sa::PrefillVersion>& (*prefill_versions)();
  const std::vector<sa::DecodeVersion>& (*decode_versions)();
  sa::LayerResult (*prefill)(const sa::PrefillVersion&, const sa::AttnShape&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                             const std::vector<uint16_t>&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                             int, int, int);
  sa::LayerResult (*decode)(const sa::DecodeVersion&, const sa::AttnShape&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                            const std::vector<uint16_t>&, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                            const std::vector<int>&, int, int);
};

const Backend kSimt{"simt", true, &sa::backend_simt::device_present, &sa::backend_simt::prefill_versions,
                    &sa::backend_simt::decode_versions, &sa::backend_simt::run_prefill_layer,
                    &sa::backend_simt::run_decode_layer};
#if MM_CUDA
const Backend kCuda{"cuda", false, &sa::backend_cuda::device_present, &sa::backend_cuda::prefill_versions,
                    &sa::backend_cuda::decode_versions, &sa::backend_cuda::run_prefill_layer,
                    &sa::backend_cuda::run_decode_layer};
#endif

// Worst error ratio (kernel max-abs error / bf16-reference max-abs error) per version, printed at exit.
std::map<std::string, double>& ratios() {
  static std::map<std::string, double> r;
  return r;
}
struct RatioPrinter {
  RatioPrinter() { ratios(); }  // the map is built first, so it outlives this printer
  ~RatioPrinter() {
    for (const auto& [k, v] : ratios()) std::printf("[softmax_attention] worst error ratio %-45s %.3f\n", k.c_str(), v);
  }
} g_ratio_printer;

void note_ratio(const std::string& key, double r) {
  double& slot = ratios()[key];
  slot = std::max(slot, r);
  std::string prop = "error_ratio " + key;
  for (char& ch : prop)
    if (ch == ' ') ch = '_';
  ::testing::Test::RecordProperty(prop, std::to_string(slot));
}

template <class T>
Mat<T> to_mat(const std::vector<float>& v, int rows, int cols) {
  Mat<T> m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = static_cast<T>(v[static_cast<size_t>(i) * cols + j]);
  return m;
}

// o[i, h*d+e] for queries q [rows, n_h d] (post-RoPE) over keys K/V [past+rows.., n_kv d]; query i sees
// keys 0..past+i. Mirrors reference/softmax_attention.cpp (scores*scale, exp(s - max), /sum, * V).
template <class T>
std::vector<double> attend(const Mat<T>& q, const Mat<T>& K, const Mat<T>& V, int past, int n_h, int n_kv, int d,
                           bool round_out) {
  const int rows = static_cast<int>(q.rows()), group = n_h / n_kv;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  std::vector<double> o(static_cast<size_t>(rows) * n_h * d);
  std::vector<T> p;
  for (int h = 0; h < n_h; ++h) {
    const int g = h / group;
    for (int i = 0; i < rows; ++i) {
      const int last = past + i;
      p.assign(static_cast<size_t>(last) + 1, T(0));
      T mx = -std::numeric_limits<T>::infinity();
      for (int j = 0; j <= last; ++j) {
        T s = 0;
        for (int e = 0; e < d; ++e) s += q(i, h * d + e) * K(j, g * d + e);
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      T sum = 0;
      for (int j = 0; j <= last; ++j) {
        p[j] = std::exp(p[j] - mx);
        sum += p[j];
      }
      for (int j = 0; j <= last; ++j) p[j] /= sum;
      for (int e = 0; e < d; ++e) {
        T a = 0;
        for (int j = 0; j <= last; ++j) a += p[j] * V(j, g * d + e);
        o[(static_cast<size_t>(i) * n_h + h) * d + e] = round_out ? mm::round_bf16(static_cast<float>(a)) : double(a);
      }
    }
  }
  return o;
}

struct Oracle {
  std::vector<double> o64;      // fp64 oracle
  std::vector<float> o_bf16;    // budget: ref::BF16 computation
  std::vector<uint16_t> q_rot;  // ref::BF16 RoPE bits of q [rows, n_h d]
  std::vector<uint16_t> k_rot;  // ref::BF16 RoPE bits of k [rows, n_kv d]
};

// One sequence: new rows q/k/v (pre-RoPE floats, bf16-valued) at positions past.., old cache rows
// kc_old/vc_old [past, n_kv d].
Oracle oracle_one(const sa::AttnShape& sh, const std::vector<float>& q, const std::vector<float>& k,
                  const std::vector<float>& v, const std::vector<float>& kc_old, const std::vector<float>& vc_old,
                  int rows, int past) {
  const int qc = sh.n_h * sh.d, kc = sh.n_kv * sh.d;
  Oracle r;
  auto run = [&](auto tag, bool bf16) {
    using T = decltype(tag);
    Mat<T> mq = to_mat<T>(q, rows, qc), mk = to_mat<T>(k, rows, kc);
    using P = std::conditional_t<std::is_same_v<T, float>, mm::ref::BF16, mm::ref::F64>;
    mm::ref::apply_rope<P>(mq, sh.n_h, sh.d, sh.rd, sh.theta, past);
    mm::ref::apply_rope<P>(mk, sh.n_kv, sh.d, sh.rd, sh.theta, past);
    Mat<T> K(past + rows, kc), V(past + rows, kc);
    if (past) {
      K.topRows(past) = to_mat<T>(kc_old, past, kc);
      V.topRows(past) = to_mat<T>(vc_old, past, kc);
    }
    K.bottomRows(rows) = mk;
    V.bottomRows(rows) = to_mat<T>(v, rows, kc);
    std::vector<double> o = attend<T>(mq, K, V, past, sh.n_h, sh.n_kv, sh.d, bf16);
    if (bf16) {
      r.o_bf16.assign(o.begin(), o.end());
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < qc; ++j) r.q_rot.push_back(mm::f32_to_bf16_bits(static_cast<float>(mq(i, j))));
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < kc; ++j) r.k_rot.push_back(mm::f32_to_bf16_bits(static_cast<float>(mk(i, j))));
    } else {
      r.o64 = std::move(o);
    }
  };
  run(double{}, false);
  run(float{}, true);
  return r;
}

// Bits-equal check (exact) or, on the GPU, within one bf16 ulp (its double cos/sin may differ by an ulp
// from glibc's); the message names the first difference and how many differ.
::testing::AssertionResult same_bf16(const char* what, const std::vector<uint16_t>& want,
                                     const std::vector<uint16_t>& got, size_t got_offset, bool exact) {
  if (got.size() < got_offset + want.size())
    return ::testing::AssertionFailure() << what << ": result has " << got.size() << " elements, need "
                                         << got_offset + want.size();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const uint16_t g = got[got_offset + i];
    const int diff = std::abs(mm::kt::bf16_ord(g) - mm::kt::bf16_ord(want[i]));
    if ((g == 0xFFFF || (exact ? g != want[i] : diff > 1)) && bad++ == 0) first = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << want.size() << " elements differ, first "
                                       << first << ": got " << mm::kt::hex_bits(got[got_offset + first]) << ", want "
                                       << mm::kt::hex_bits(want[first]);
}

// Runs `run` once (GPU) or under every emulator schedule, requiring identical bits.
sa::LayerResult run_schedules(const Backend& be, const std::function<sa::LayerResult()>& run) {
  if (!be.emulator) return run();
  sa::LayerResult first;
  bool have = false;
  for (const auto& s : mm::simt::test::all_schedules()) {
    mm::simt::ScopedLaunchOptions scope(s.opt);
    sa::LayerResult r = run();
    if (!have) {
      first = std::move(r);
      have = true;
    } else {
      EXPECT_TRUE(mm::simt::test::same_bits(first.o, r.o)) << "schedule " << s.name << " changed o";
      EXPECT_TRUE(mm::simt::test::same_bits(first.k_cache, r.k_cache)) << "schedule " << s.name << " changed k_cache";
    }
  }
  return first;
}

// A version asked for a head dim it has no kernel for: std::invalid_argument naming the version, the
// head dim and the supported sets.
void expect_head_dim_refused(const char* version, int d, const std::function<void()>& run) {
  try {
    run();
    ADD_FAILURE() << version << " ran at head_dim " << d << " instead of refusing it";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const std::string& part : {std::string(version), "head_dim " + std::to_string(d), std::string("32/64/128"),
                                    std::string("1..256")})
      EXPECT_NE(what.find(part), std::string::npos) << "missing '" << part << "' in: " << what;
  }
}

struct PrefillCase {
  int T, past, n_h, n_kv, d, rd;
};

void check_prefill(const Backend& be, const PrefillCase& c, uint64_t seed) {
  const sa::AttnShape sh{c.n_h, c.n_kv, c.d, c.rd, kTheta};
  const int qc = c.n_h * c.d, kc = c.n_kv * c.d, cap = c.past + c.T + 3;  // 3 rows that must stay poisoned
  const auto q = mm::kt::randn_bf16(static_cast<size_t>(c.T) * qc, seed);
  const auto k = mm::kt::randn_bf16(static_cast<size_t>(c.T) * kc, seed + 1);
  const auto v = mm::kt::randn_bf16(static_cast<size_t>(c.T) * kc, seed + 2);
  const auto kold = mm::kt::randn_bf16(static_cast<size_t>(c.past) * kc, seed + 3);
  const auto vold = mm::kt::randn_bf16(static_cast<size_t>(c.past) * kc, seed + 4);
  std::vector<uint16_t> kcache(static_cast<size_t>(cap) * kc, 0xFFFF), vcache(kcache);
  const auto kob = mm::kt::to_bf16_bits(kold), vob = mm::kt::to_bf16_bits(vold);
  std::copy(kob.begin(), kob.end(), kcache.begin());
  std::copy(vob.begin(), vob.end(), vcache.begin());
  const Oracle orc = oracle_one(sh, q, k, v, kold, vold, c.T, c.past);
  const auto qb = mm::kt::to_bf16_bits(q), kb = mm::kt::to_bf16_bits(k), vb = mm::kt::to_bf16_bits(v);
  const std::string shape = "T" + std::to_string(c.T) + " past" + std::to_string(c.past) + " h" +
                            std::to_string(c.n_h) + "/" + std::to_string(c.n_kv) + " d" + std::to_string(c.d);
  sa::PrefillArgs shape_only;
  shape_only.sh = sh;
  for (const sa::PrefillVersion& ver : be.prefill_versions()) {
    SCOPED_TRACE(std::string(ver.name) + " " + shape);
    if (&ver == &be.prefill_versions().front()) {
      ASSERT_TRUE(ver.supports(shape_only)) << "v1 takes every d in 1..256";
    }
    if (!ver.supports(shape_only)) {  // a tensor-core version asked for a head dim it has no tiles for
      expect_head_dim_refused(ver.name, c.d, [&] { be.prefill(ver, sh, qb, kb, vb, kcache, vcache, c.T, c.past, cap); });
      continue;
    }
    const sa::LayerResult r =
        run_schedules(be, [&] { return be.prefill(ver, sh, qb, kb, vb, kcache, vcache, c.T, c.past, cap); });
    // RoPE + append: q_rot and the new cache rows are the reference's bf16 bits; old rows kept; rows
    // past the chunk untouched (still poison).
    EXPECT_TRUE(mm::kt::fully_written(r.q_rot, mm::kt::is_poison_bf16));
    EXPECT_TRUE(same_bf16("q_rot", orc.q_rot, r.q_rot, 0, be.emulator));
    EXPECT_TRUE(same_bf16("k_cache new rows", orc.k_rot, r.k_cache, static_cast<size_t>(c.past) * kc, be.emulator));
    EXPECT_TRUE(same_bf16("v_cache new rows", vb, r.v_cache, static_cast<size_t>(c.past) * kc, true));
    EXPECT_TRUE(std::equal(kob.begin(), kob.end(), r.k_cache.begin())) << "old k rows changed";
    EXPECT_TRUE(std::equal(vob.begin(), vob.end(), r.v_cache.begin())) << "old v rows changed";
    for (size_t i = static_cast<size_t>(c.past + c.T) * kc; i < r.k_cache.size(); ++i)
      ASSERT_TRUE(r.k_cache[i] == 0xFFFF && r.v_cache[i] == 0xFFFF) << "cache row beyond the chunk written";
    // Attention output.
    EXPECT_TRUE(mm::kt::fully_written(r.o, mm::kt::is_poison_bf16));
    const auto got = mm::kt::from_bf16_bits(r.o);
    EXPECT_TRUE(mm::kt::passes_fa_rule(std::string(be.name) + " " + ver.name, orc.o64, got, orc.o_bf16));
    const auto g = mm::kt::error_stats(orc.o64, got), b = mm::kt::error_stats(orc.o64, orc.o_bf16);
    const double ratio = b.max_abs > 0 ? g.max_abs / b.max_abs : 0.0;
    note_ratio(std::string(be.name) + " " + ver.name, ratio);
    std::printf("[softmax_attention] %s %-30s %-28s err %.3g budget %.3g ratio %.3f nmse %.2g\n", be.name,
                ver.name, shape.c_str(), g.max_abs, b.max_abs, ratio, g.nmse);
  }
}

const PrefillCase kPrefillCases[] = {
    {1, 0, 4, 4, 32, 16},      // one token, no GQA
    {255, 0, 4, 2, 64, 32},    // GQA 2
    {256, 0, 4, 1, 32, 32},    // GQA 4, full-width RoPE
    {257, 0, 4, 2, 64, 32},    // one row past a tile multiple
    {100, 157, 4, 2, 64, 32},  // chunked prefill: non-empty cache, past not a tile multiple
    {3, 5000, 2, 1, 32, 16},   // short chunk after a long cache (large RoPE angles)
    {257, 64, 4, 1, 64, 32},   // chunked prefill with a tile-aligned past, GQA 4
    {130, 70, 2, 1, 128, 64},  // the real head dim (rotary_dim = d/2 as in the model)
    {37, 0, 4, 2, 16, 8},      // the golden cases' head dims (v1 only; the mma versions must refuse them)
    {61, 20, 4, 2, 24, 8},
    // head dims of no tensor-core version (v1 only; d and n_h*d not multiples of 8 or 16): small shapes
    {9, 4, 4, 2, 8, 8},        // d 8 (full-width RoPE)
    {7, 3, 2, 1, 40, 20},      // d 40
    {5, 6, 2, 2, 96, 32},      // d 96
    {4, 5, 2, 1, 256, 256},    // the largest: full-width RoPE fills rope_append's 128-entry cos/sin table
    {6, 2, 3, 3, 3, 2},        // odd d (not from a valid config, which wants it even; the kernels do not care)
};

struct DecodeCase {
  std::vector<int> past;
  int n_h, n_kv, d, rd;
  std::vector<int> splits;  // v2 split sizes (0 = auto)
};

void check_decode(const Backend& be, const DecodeCase& c, uint64_t seed) {
  const sa::AttnShape sh{c.n_h, c.n_kv, c.d, c.rd, kTheta};
  const int B = static_cast<int>(c.past.size());
  const int qc = c.n_h * c.d, kc = c.n_kv * c.d;
  const int cap = *std::max_element(c.past.begin(), c.past.end()) + 1 + 2;
  const auto q = mm::kt::randn_bf16(static_cast<size_t>(B) * qc, seed);
  const auto k = mm::kt::randn_bf16(static_cast<size_t>(B) * kc, seed + 1);
  const auto v = mm::kt::randn_bf16(static_cast<size_t>(B) * kc, seed + 2);
  std::vector<uint16_t> kcache(static_cast<size_t>(B) * cap * kc, 0xFFFF), vcache(kcache);
  std::vector<double> o64;
  std::vector<float> obf;
  std::vector<std::vector<float>> kold(B), vold(B);
  std::vector<Oracle> orcs;
  for (int b = 0; b < B; ++b) {
    kold[b] = mm::kt::randn_bf16(static_cast<size_t>(c.past[b]) * kc, seed + 10 + 2 * b);
    vold[b] = mm::kt::randn_bf16(static_cast<size_t>(c.past[b]) * kc, seed + 11 + 2 * b);
    const auto kb = mm::kt::to_bf16_bits(kold[b]), vb = mm::kt::to_bf16_bits(vold[b]);
    std::copy(kb.begin(), kb.end(), kcache.begin() + static_cast<size_t>(b) * cap * kc);
    std::copy(vb.begin(), vb.end(), vcache.begin() + static_cast<size_t>(b) * cap * kc);
    const std::vector<float> qb(q.begin() + b * qc, q.begin() + (b + 1) * qc);
    const std::vector<float> kb1(k.begin() + b * kc, k.begin() + (b + 1) * kc), vb1(v.begin() + b * kc, v.begin() + (b + 1) * kc);
    orcs.push_back(oracle_one(sh, qb, kb1, vb1, kold[b], vold[b], 1, c.past[b]));
    o64.insert(o64.end(), orcs.back().o64.begin(), orcs.back().o64.end());
    obf.insert(obf.end(), orcs.back().o_bf16.begin(), orcs.back().o_bf16.end());
  }
  const auto qb = mm::kt::to_bf16_bits(q), kb = mm::kt::to_bf16_bits(k), vb = mm::kt::to_bf16_bits(v);
  std::string lens;
  for (int p : c.past) lens += std::to_string(p + 1) + ",";
  sa::DecodeArgs shape_only;
  shape_only.sh = sh;
  for (const sa::DecodeVersion& ver : be.decode_versions()) {
    if (&ver == &be.decode_versions().front()) {
      ASSERT_TRUE(ver.supports(shape_only)) << "v1 takes every d in 1..256";
    }
    if (!ver.supports(shape_only)) {
      expect_head_dim_refused(ver.name, c.d, [&] { be.decode(ver, sh, qb, kb, vb, kcache, vcache, c.past, cap, 0); });
      continue;
    }
    const bool split_kv = &ver != &be.decode_versions().front();  // v2 takes a split size, v1 none
    const std::vector<int> splits = split_kv ? c.splits : std::vector<int>{0};
    for (int split : splits) {
      const std::string shape = "lens " + lens + " h" + std::to_string(c.n_h) + "/" + std::to_string(c.n_kv) + " d" +
                                std::to_string(c.d) + (split_kv ? " split " + std::to_string(split) : "");
      SCOPED_TRACE(std::string(ver.name) + " " + shape);
      const sa::LayerResult r =
          run_schedules(be, [&] { return be.decode(ver, sh, qb, kb, vb, kcache, vcache, c.past, cap, split); });
      for (int b = 0; b < B; ++b) {
        const size_t row = (static_cast<size_t>(b) * cap + c.past[b]) * kc;
        EXPECT_TRUE(same_bf16("q_rot", orcs[b].q_rot, r.q_rot, static_cast<size_t>(b) * qc, be.emulator));
        EXPECT_TRUE(same_bf16("k_cache new row", orcs[b].k_rot, r.k_cache, row, be.emulator));
        EXPECT_TRUE(std::equal(vb.begin() + b * kc, vb.begin() + (b + 1) * kc, r.v_cache.begin() + row));
        const size_t seq0 = static_cast<size_t>(b) * cap * kc;  // old rows of this sequence are kept
        EXPECT_TRUE(std::equal(kcache.begin() + seq0, kcache.begin() + row, r.k_cache.begin() + seq0)) << "old k rows changed";
        EXPECT_TRUE(std::equal(vcache.begin() + seq0, vcache.begin() + row, r.v_cache.begin() + seq0)) << "old v rows changed";
        for (size_t i = row + kc; i < static_cast<size_t>(b + 1) * cap * kc; ++i)
          ASSERT_TRUE(r.k_cache[i] == 0xFFFF && r.v_cache[i] == 0xFFFF) << "cache row beyond the new token written";
      }
      EXPECT_TRUE(mm::kt::fully_written(r.o, mm::kt::is_poison_bf16));
      const auto got = mm::kt::from_bf16_bits(r.o);
      EXPECT_TRUE(mm::kt::passes_fa_rule(std::string(be.name) + " " + ver.name, o64, got, obf));
      const auto g = mm::kt::error_stats(o64, got), bs = mm::kt::error_stats(o64, obf);
      const double ratio = bs.max_abs > 0 ? g.max_abs / bs.max_abs : 0.0;
      note_ratio(std::string(be.name) + " " + ver.name, ratio);
      std::printf("[softmax_attention] %s %-30s %-34s err %.3g budget %.3g ratio %.3f nmse %.2g\n", be.name,
                  ver.name, shape.c_str(), g.max_abs, bs.max_abs, ratio, g.nmse);
    }
  }
}

const DecodeCase kDecodeCases[] = {
    {{0, 129, 250}, 8, 2, 64, 32, {64, 128, 0}},  // GQA 4; lengths 1, 130, 251 (not split multiples)
    {{63, 200}, 4, 4, 32, 16, {64}},              // GQA 1
    {{300, 77}, 8, 1, 128, 64, {128}},            // GQA 8 (the model's group size), d = 128
    {{1000, 517}, 8, 2, 64, 32, {0, 192}},        // longer caches: auto split (256) and 3 tiles per split
    {{90}, 16, 1, 32, 16, {64}},                  // the largest group v2 takes (16 heads = one mma A tile)
    {{40, 7}, 4, 2, 16, 4, {}},                   // the golden cases' head dims: v1 only
    {{100}, 5, 5, 24, 8, {}},
    {{5, 17}, 4, 2, 8, 8, {}},                    // head dims of v1 alone (small, see kPrefillCases)
    {{12}, 2, 1, 40, 20, {}},
    {{9, 0}, 2, 2, 96, 32, {}},
    {{6}, 2, 1, 256, 256, {}},
    {{4}, 3, 3, 3, 2, {}},
};

void prefill_suite(const Backend& be) {
  uint64_t seed = 1000;
  for (const auto& c : kPrefillCases) check_prefill(be, c, seed += 17);
}
void decode_suite(const Backend& be) {
  uint64_t seed = 5000;
  for (const auto& c : kDecodeCases) check_decode(be, c, seed += 17);
}

}  // namespace

TEST(SoftmaxAttention, PrefillSimt) { prefill_suite(kSimt); }
TEST(SoftmaxAttention, DecodeSimt) { decode_suite(kSimt); }

// RoPE + KV-cache append alone, dense, on the emulator: one kernel serves every prefill and decode
// version, but the cases above rotate few values per position (a single row per sequence in decode), too
// few for a bug of a fraction of a bf16 ulp (an angle not rounded to fp32, an FMA where the reference
// rounds the product) to show. Here 4 sequences x 48 rows at positions 0-47, 999-1046, 4000-4047 and
// 9000-9047, 16 query and 2 kv heads of d 128 with rd 64 (the model's): ~200k rotated values, each of
// which must be ref::apply_rope<BF16>'s bits; v is copied, and cache rows outside the chunks stay poison.
TEST(SoftmaxAttention, RopeAppendDenseBitsSimt) {
  namespace be = sa::backend_simt;
  const sa::AttnShape sh{16, 2, 128, 64, kTheta};
  const int T = 48, cap = 9000 + T, qc = sh.n_h * sh.d, kc = sh.n_kv * sh.d;
  const std::vector<int> past = {0, 999, 4000, 9000};
  const int B = static_cast<int>(past.size());
  const auto q = mm::kt::randn_bf16(static_cast<size_t>(B) * T * qc, 77), k = mm::kt::randn_bf16(static_cast<size_t>(B) * T * kc, 78);
  const auto vb = mm::kt::to_bf16_bits(mm::kt::randn_bf16(static_cast<size_t>(B) * T * kc, 79));
  const size_t cache_n = static_cast<size_t>(B) * cap * kc;
  auto dq = be::detail::uploaded(mm::kt::to_bf16_bits(q)), dk = be::detail::uploaded(mm::kt::to_bf16_bits(k));
  auto dv = be::detail::uploaded(vb);
  auto dpast = be::detail::uploaded(past);
  auto dfreq = be::detail::uploaded(be::detail::inv_freq_table(sh));
  auto dqr = mm::gpu::poisoned<uint16_t>(q.size()), dkc = mm::gpu::poisoned<uint16_t>(cache_n),
       dvc = mm::gpu::poisoned<uint16_t>(cache_n);
  sa::RopeAppendArgs ra;
  ra.sh = sh; ra.q = dq.data(); ra.k = dk.data(); ra.v = dv.data(); ra.q_rot = dqr.data(); ra.k_cache = dkc.data();
  ra.v_cache = dvc.data(); ra.past = dpast.data(); ra.inv_freq = dfreq.data(); ra.rows = B * T; ra.rows_per_seq = T;
  ra.capacity = cap;
  mm::gpu::launch_checked(be::rope_append_versions().front(), ra, nullptr, "softmax_attention");
  mm::gpu::synchronize();
  const auto q_rot = dqr.download(), k_cache = dkc.download(), v_cache = dvc.download();
  for (int b = 0; b < B; ++b) {
    SCOPED_TRACE("sequence " + std::to_string(b) + " at position " + std::to_string(past[b]));
    const size_t qrow0 = static_cast<size_t>(b) * T * qc, krow0 = static_cast<size_t>(b) * T * kc;
    const auto rows_of = [](const std::vector<float>& x, size_t first, size_t n) {
      return std::vector<float>(x.begin() + static_cast<long>(first), x.begin() + static_cast<long>(first + n));
    };
    const auto bits = [](const Mat<float>& m) { return mm::kt::to_bf16_bits(std::vector<float>(m.data(), m.data() + m.size())); };
    Mat<float> mq = to_mat<float>(rows_of(q, qrow0, static_cast<size_t>(T) * qc), T, qc);
    Mat<float> mk = to_mat<float>(rows_of(k, krow0, static_cast<size_t>(T) * kc), T, kc);
    mm::ref::apply_rope<mm::ref::BF16>(mq, sh.n_h, sh.d, sh.rd, sh.theta, past[b]);
    mm::ref::apply_rope<mm::ref::BF16>(mk, sh.n_kv, sh.d, sh.rd, sh.theta, past[b]);
    const size_t crow0 = (static_cast<size_t>(b) * cap + past[b]) * kc;
    EXPECT_TRUE(same_bf16("q_rot", bits(mq), q_rot, qrow0, true));
    EXPECT_TRUE(same_bf16("k_cache new rows", bits(mk), k_cache, crow0, true));
    EXPECT_TRUE(std::equal(vb.begin() + static_cast<long>(krow0), vb.begin() + static_cast<long>(krow0) + T * kc,
                           v_cache.begin() + static_cast<long>(crow0)));
    for (size_t i = static_cast<size_t>(b) * cap * kc; i < static_cast<size_t>(b + 1) * cap * kc; ++i) {
      if (i >= crow0 && i < crow0 + static_cast<size_t>(T) * kc) continue;
      ASSERT_TRUE(k_cache[i] == 0xFFFF && v_cache[i] == 0xFFFF) << "cache element " << i << " outside the chunk written";
    }
  }
}

TEST(SoftmaxAttention, RejectsBadShapes) {
  namespace be = sa::backend_simt;
  const sa::AttnShape bad{4, 3, 64, 32, kTheta};
  EXPECT_THROW(be::run_prefill_layer(be::prefill_versions()[0], bad, {}, {}, {}, {}, {}, 1, 0, 1), std::invalid_argument);
  for (int d : {0, 258}) {  // beyond every version (v1: 1..256); the message names the head dim and the sets
    const sa::AttnShape bad_d{4, 2, d, 0, kTheta};
    try {
      be::run_prefill_layer(be::prefill_versions()[0], bad_d, {}, {}, {}, {}, {}, 1, 0, 1);
      ADD_FAILURE() << "head_dim " << d << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("head_dim " + std::to_string(d)), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("v1: 1..256"), std::string::npos) << e.what();
    }
    EXPECT_THROW(be::run_decode_layer(be::decode_versions()[0], bad_d, {}, {}, {}, {}, {}, {0}, 1, 0), std::invalid_argument);
  }
  // a head dim v1 takes but a tensor-core version does not: refused by name before the inputs are read
  const sa::AttnShape d48{4, 2, 48, 32, kTheta};
  for (size_t v = 1; v < be::prefill_versions().size(); ++v)
    expect_head_dim_refused(be::prefill_versions()[v].name, 48, [&] {
      be::run_prefill_layer(be::prefill_versions()[v], d48, {}, {}, {}, {}, {}, 1, 0, 1);
    });
  expect_head_dim_refused(be::decode_versions()[1].name, 48, [&] {
    be::run_decode_layer(be::decode_versions()[1], d48, {}, {}, {}, {}, {}, {0}, 1, 0);
  });
}

// Which head dims each version's supports() takes (what the model's version choice goes by): v1 and the
// RoPE + append kernel every d in 1..256, the tensor-core versions 32, 64 and 128; nothing beyond.
TEST(SoftmaxAttention, HeadDimsEachVersionTakes) {
  namespace be = sa::backend_simt;
  for (int d = 0; d <= 300; ++d) {
    SCOPED_TRACE("head_dim " + std::to_string(d));
    const bool v1 = d >= 1 && d <= 256, tc = d == 32 || d == 64 || d == 128;
    sa::RopeAppendArgs ra;
    ra.sh = {4, 2, d, d >= 2 ? 2 : 0, kTheta};
    EXPECT_EQ(be::rope_append_versions().front().supports(ra), v1);
    sa::PrefillArgs pa;
    pa.sh = ra.sh;
    sa::DecodeArgs da;
    da.sh = ra.sh;
    for (size_t v = 0; v < be::prefill_versions().size(); ++v)
      EXPECT_EQ(be::prefill_versions()[v].supports(pa), v == 0 ? v1 : tc) << be::prefill_versions()[v].name;
    for (size_t v = 0; v < be::decode_versions().size(); ++v)
      EXPECT_EQ(be::decode_versions()[v].supports(da), v == 0 ? v1 : tc) << be::decode_versions()[v].name;
  }
}

#if MM_CUDA
TEST(SoftmaxAttention, PrefillCuda) {
  MM_NEEDS_GPU(kCuda.present());
  prefill_suite(kCuda);
}
TEST(SoftmaxAttention, DecodeCuda) {
  MM_NEEDS_GPU(kCuda.present());
  decode_suite(kCuda);
}
#else
TEST(SoftmaxAttention, PrefillCuda) { MM_NEEDS_GPU(false); }
TEST(SoftmaxAttention, DecodeCuda) { MM_NEEDS_GPU(false); }
#endif
