// The `minimax01 forward` dump contract: F32 logits [S,V], hidden_states [L,S,H], decode_logits [N,V],
// equal to what the reference computes in-process. MM_CLI is the path of the built binary.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "reference/model.h"
#include "reference/synthetic.h"
#include "tests/core/test_util.h"

namespace mm {

static int run(const std::string& cmd) { return std::system((cmd + " > /dev/null").c_str()); }

// The prompt and decode tokens both tests feed (the same in the command line and in-process).
const std::vector<int64_t> kPrompt = {3, 1, 4, 1, 5, 9, 2, 6}, kDecode = {5, 3, 5};

// Writes the tiny checkpoint into d, runs `forward --backend B --dump`, and checks the contract's
// names, shapes, dtypes and metadata. Fatal failures are reported through gtest (check HasFatalFailure).
static void forward_dump(const test::TempDir& d, const std::string& backend, std::unique_ptr<SafetensorsFile>& f,
                         ModelConfig& c) {
  const std::string cli = MM_CLI, model = d.file("tiny");
  ASSERT_EQ(run(cli + " init --preset tiny --seed 5 --out " + model), 0);
  ASSERT_EQ(run(cli + " forward --model " + model + " --tokens 3,1,4,1,5,9,2,6 --decode-tokens 5,3,5 --backend " +
                backend + " --dump " + d.file("out.safetensors")),
            0);
  f = std::make_unique<SafetensorsFile>(d.file("out.safetensors"));
  c = load_config(model);
  const int64_t S = 8, N = 3, L = c.num_hidden_layers, H = c.hidden_size, V = c.vocab_size;
  for (auto* n : {"logits", "hidden_states", "decode_logits"}) {
    ASSERT_NE(f->find(n), nullptr) << n;
    EXPECT_EQ(f->find(n)->dtype, DType::F32) << n;
  }
  EXPECT_EQ(f->find("logits")->shape, (std::vector<int64_t>{S, V}));
  EXPECT_EQ(f->find("hidden_states")->shape, (std::vector<int64_t>{L, S, H}));
  EXPECT_EQ(f->find("decode_logits")->shape, (std::vector<int64_t>{N, V}));
  EXPECT_EQ(f->metadata().at("backend"), backend);
  EXPECT_EQ(f->metadata().at("format"), "minimax01-forward-v1");
}

TEST(CliForward, DumpMatchesInProcessReference) {
  test::TempDir d;
  std::unique_ptr<SafetensorsFile> fp;
  ModelConfig c;
  forward_dump(d, "ref-f64", fp, c);
  if (HasFatalFailure()) return;
  const SafetensorsFile& f = *fp;
  const std::string model = d.file("tiny");
  const auto& prompt = kPrompt;
  const auto& decode = kDecode;
  const int64_t S = 8, N = 3, L = c.num_hidden_layers, H = c.hidden_size, V = c.vocab_size;

  ref::Model<ref::F64> m(c, ref::load_weights<ref::F64>(Checkpoint(model), c));
  auto cache = m.new_cache();
  ref::ForwardTrace<double> tr;
  const auto logits = m.forward(prompt, cache, &tr);
  const auto got_logits = read_f64(*f.find("logits"));
  const auto got_hidden = read_f64(*f.find("hidden_states"));
  const auto got_dec = read_f64(*f.find("decode_logits"));
  for (int64_t i = 0; i < S * V; ++i) ASSERT_EQ(got_logits[i], static_cast<float>(logits.data()[i]));
  for (int64_t l = 0; l < L; ++l)
    for (int64_t i = 0; i < S * H; ++i) ASSERT_EQ(got_hidden[l * S * H + i], static_cast<float>(tr.layers[l].output.data()[i]));
  for (int64_t n = 0; n < N; ++n) {
    const auto row = m.forward({decode[n]}, cache);
    for (int64_t v = 0; v < V; ++v) ASSERT_EQ(got_dec[n * V + v], static_cast<float>(row(0, v)));
  }
}

// The optimized kernels through the SIMT layer honour the same contract; values within the FA rule of the
// in-process ref-f64 (budget: ref-bf16): max|got - f64| <= 2 max|bf16 - f64| + 1e-4 max|f64| + 1e-6.
TEST(CliForward, CudaSimDumpHonoursTheContract) {
#if !MM_SIMT
  GTEST_SKIP() << "built without the SIMT layer (no cuda-sim backend)";
#else
  test::TempDir d;
  std::unique_ptr<SafetensorsFile> fp;
  ModelConfig c;
  forward_dump(d, "cuda-sim", fp, c);
  if (HasFatalFailure()) return;
  const SafetensorsFile& f = *fp;
  const std::string model = d.file("tiny");
  const auto& prompt = kPrompt;
  const auto& decode = kDecode;

  auto run_ref = [&](auto p) {
    using P = decltype(p);
    ref::Model<P> m(c, ref::load_weights<P>(Checkpoint(model), c));
    auto cache = m.new_cache();
    ref::ForwardTrace<typename P::T> tr;
    std::vector<std::vector<double>> out(3);
    const auto lg = m.forward(prompt, cache, &tr);
    out[0].assign(lg.data(), lg.data() + lg.size());
    for (const auto& l : tr.layers) out[1].insert(out[1].end(), l.output.data(), l.output.data() + l.output.size());
    for (int64_t t : decode) {
      const auto row = m.forward({t}, cache);
      out[2].insert(out[2].end(), row.data(), row.data() + row.size());
    }
    return out;
  };
  const auto f64 = run_ref(ref::F64{}), bf16 = run_ref(ref::BF16{});
  const char* names[] = {"logits", "hidden_states", "decode_logits"};
  for (int i = 0; i < 3; ++i) {
    const auto got = read_f64(*f.find(names[i]));
    ASSERT_EQ(got.size(), f64[i].size()) << names[i];
    double err = 0, budget = 0, mx = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
      ASSERT_TRUE(std::isfinite(got[k])) << names[i] << " element " << k;
      err = std::max(err, std::abs(got[k] - f64[i][k]));
      budget = std::max(budget, std::abs(bf16[i][k] - f64[i][k]));
      mx = std::max(mx, std::abs(f64[i][k]));
    }
    EXPECT_LE(err, 2 * budget + 1e-4 * mx + 1e-6) << names[i] << ": max_abs " << err << ", bf16 budget " << budget;
  }
#endif
}

}  // namespace mm
