// `minimax01 generate --backend cuda-sim`: the optimized kernels on the CPU, prefill then token-by-token
// decode with the next token chosen on the device. MM_CLI is the path of the built binary.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "reference/model.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

// Runs the command, returns its stdout (empty when it fails).
std::string output_of(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((cmd + " 2>/dev/null").c_str(), "r"), pclose);
  if (!p) return "";
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p.get())) > 0;) out.append(buf, n);
  return pclose(p.release()) == 0 ? out : "";
}

// The ids after "generated N tokens:" (N checked against their count).
std::vector<int64_t> generated(const std::string& out) {
  const auto at = out.find("generated ");
  if (at == std::string::npos) return {};
  std::istringstream line(out.substr(at + 10, out.find('\n', at) - at - 10));
  std::size_t n = 0;
  std::string word;
  line >> n >> word;  // "12 tokens:"
  std::vector<int64_t> ids;
  for (int64_t id; line >> id;) ids.push_back(id);
  return ids.size() == n ? ids : std::vector<int64_t>{};
}

struct Tiny {
  test::TempDir dir;
  std::string cli = MM_CLI, model = dir.file("tiny");
  ModelConfig cfg;
  Tiny() {
    EXPECT_EQ(std::system((cli + " init --preset tiny --seed 1 --out " + model + " > /dev/null").c_str()), 0);
    cfg = load_config(model);
  }
  std::vector<int64_t> generate(const std::string& args) const {
    return generated(output_of(cli + " generate --model " + model + " " + args));
  }
};

const char* kPrompt = "3,1,4,1,5,9,2,6";
constexpr int kNew = 12;

}  // namespace

#if MM_SIMT

// Greedy generate on cuda-sim. Equal token sequences with the reference are not guaranteed: the kernels
// round to bf16 where the official model does (as ref-bf16) but in their own order (split-KV,
// flash-attention P in bf16, ...), so at a near-tie the argmax may go either way (ref-f32 and ref-bf16
// themselves part at the 3rd token of this prompt, where the top-2 margin is 0.06). So the test checks:
//  1. exactly: every cuda-sim token is the argmax (lowest id on ties) of cuda-sim's own logits at that
//     step, as `forward --backend cuda-sim --dump` gives them for the same history (the on-device
//     sampler and the prefill/decode loop, with no tolerance);
//  2. agreement with ref-bf16 and ref-f32 at every step where the logits decide it: while the histories
//     are equal, at a step whose ref-f64 top-1/top-2 margin exceeds twice the larger of the two backends'
//     max |logit - ref-f64| (measured on that row), both argmaxes are provably the ref-f64 one, so the
//     tokens must be equal; at a closer step nothing is asserted, and the comparison stops where the
//     histories part. Most steps must be decided that way, so that part 2 cannot pass vacuously.
TEST(CliGenerate, GreedyCudaSimTakesItsArgmaxAndAgreesWithTheReferenceWhereTheMarginDecides) {
  Tiny t;
  const std::vector<int64_t> prompt = {3, 1, 4, 1, 5, 9, 2, 6};
  const std::string args = std::string("--prompt-tokens ") + kPrompt + " --max-new-tokens " + std::to_string(kNew);
  const auto sim = t.generate(args + " --backend cuda-sim"), bf16 = t.generate(args + " --backend ref-bf16"),
             f32 = t.generate(args + " --backend ref-f32");
  ASSERT_EQ(sim.size(), static_cast<std::size_t>(kNew));
  ASSERT_EQ(bf16.size(), static_cast<std::size_t>(kNew));
  ASSERT_EQ(f32.size(), static_cast<std::size_t>(kNew));
  const int64_t V = t.cfg.vocab_size;
  for (int64_t id : sim) EXPECT_TRUE(id >= 0 && id < V) << id;

  // cuda-sim's logits for its own history: the prompt's last row, then one row per fed token
  std::string fed;
  for (int s = 0; s + 1 < kNew; ++s) fed += (s ? "," : "") + std::to_string(sim[static_cast<std::size_t>(s)]);
  const std::string dump = t.dir.file("sim.safetensors");
  ASSERT_EQ(std::system((t.cli + " forward --model " + t.model + " --backend cuda-sim --tokens " + kPrompt +
                         " --decode-tokens " + fed + " --dump " + dump + " > /dev/null").c_str()), 0);
  const SafetensorsFile f(dump);
  const auto pre = read_f64(*f.find("logits")), dec = read_f64(*f.find("decode_logits"));
  auto sim_row = [&](int s) {
    const double* p = s == 0 ? pre.data() + (pre.size() - static_cast<std::size_t>(V)) : dec.data() + static_cast<std::size_t>((s - 1) * V);
    return std::vector<double>(p, p + V);
  };
  for (int s = 0; s < kNew; ++s) {
    const auto row = sim_row(s);
    EXPECT_EQ(sim[static_cast<std::size_t>(s)], std::max_element(row.begin(), row.end()) - row.begin()) << "step " << s;
  }

  // the references' rows for the same history (in process: the same code as the CLI's ref backends)
  auto rows_of = [&](auto p) {
    using P = decltype(p);
    ref::Model<P> m(t.cfg, ref::load_weights<P>(Checkpoint(t.model), t.cfg));
    auto cache = m.new_cache();
    std::vector<std::vector<double>> rows;
    std::vector<int64_t> input = prompt;
    for (int s = 0; s < kNew; ++s) {
      const auto lg = m.forward(input, cache);
      rows.emplace_back(V);
      for (int64_t j = 0; j < V; ++j) rows.back()[static_cast<std::size_t>(j)] = static_cast<double>(lg(lg.rows() - 1, j));
      input = {sim[static_cast<std::size_t>(s)]};
    }
    return rows;
  };
  const auto r64 = rows_of(ref::F64{}), r32 = rows_of(ref::F32{}), r16 = rows_of(ref::BF16{});
  auto max_diff = [](const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0;
    for (std::size_t j = 0; j < a.size(); ++j) d = std::max(d, std::abs(a[j] - b[j]));
    return d;
  };
  auto decided = [&](const std::vector<int64_t>& other, const std::vector<std::vector<double>>& other_rows,
                     const char* name) {
    int n = 0;
    for (int s = 0; s < kNew; ++s) {
      const auto k = static_cast<std::size_t>(s);
      std::vector<double> top(r64[k]);
      std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<double>());
      const double err = std::max(max_diff(sim_row(s), r64[k]), max_diff(other_rows[k], r64[k]));
      if (top[0] - top[1] > 2 * err) {
        EXPECT_EQ(other[k], sim[k]) << name << " step " << s << ": margin " << top[0] - top[1] << ", error " << err;
        ++n;
      }
      if (other[k] != sim[k]) break;  // the histories part: later rows are not comparable
    }
    return n;
  };
  const int n16 = decided(bf16, r16, "ref-bf16"), n32 = decided(f32, r32, "ref-f32");
  std::printf("greedy: steps decided by the margin: ref-bf16 %d, ref-f32 %d of %d; cuda-sim %s ref-bf16 over all %d\n",
              n16, n32, kNew, sim == bf16 ? "equals" : "differs from", kNew);
  // measured for this checkpoint and prompt: ref-bf16 11 of 12 (step 2 is the near-tie), ref-f32 2 (it
  // parts at step 2); required: half the run, and at least the first token for ref-f32
  EXPECT_GE(n16, kNew / 2) << "too few steps decided by the margin: pick another prompt";
  EXPECT_GE(n32, 1) << "the first token is not decided by the margin: pick another prompt";
}

// Seeded sampling (temperature, top-k, top-p) on the device: ids in range, the requested count, and the
// same tokens for the same seed (the uniforms come from the seed, the kernels are deterministic).
TEST(CliGenerate, SeededSamplingOnCudaSimIsValidAndReproducible) {
  Tiny t;
  const std::string args = std::string("--prompt-tokens ") + kPrompt + " --max-new-tokens " + std::to_string(kNew) +
                           " --temperature 0.9 --top-k 40 --top-p 0.95 --backend cuda-sim --seed ";
  const auto a = t.generate(args + "7"), b = t.generate(args + "7");
  ASSERT_EQ(a.size(), static_cast<std::size_t>(kNew));
  for (int64_t id : a) EXPECT_TRUE(id >= 0 && id < t.cfg.vocab_size) << id;
  EXPECT_EQ(a, b);
}

#else
TEST(CliGenerate, CudaSim) { GTEST_SKIP() << "built without the SIMT layer (no cuda-sim backend)"; }
#endif

}  // namespace mm
