// harness/run_memory: the prediction's parts add up and move the way the run's memory does. Its agreement
// with measured peaks is checked where peaks can be measured: tests/cli/run_memory.sh (small models) and
// tests/realshape (the real shapes; docs/perf/realshape.md).
#include "harness/run_memory.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace mm::harness {
namespace {

RunMemory predict(const ModelConfig& c, const std::string& backend, WeightResidency w, int64_t S, int64_t N,
                  bool all_logits = true, bool capture = true) {
  RunMemoryRequest r;
  r.backend = backend;
  r.weights = w;
  r.prompt = S;
  r.decode = N;
  r.all_logits = all_logits;
  r.capture = capture;
  return estimate_run_memory(c, r);
}

TEST(RunMemory, PartsAddUpAndFollowTheScalar) {
  const ModelConfig c = preset_config("small");
  const RunMemory f32 = predict(c, "ref-f32", WeightResidency::Resident, 300, 4);
  const RunMemory f64 = predict(c, "ref-f64", WeightResidency::Resident, 300, 4);
  for (const RunMemory& m : {f32, f64}) {
    EXPECT_EQ(m.host, m.baseline + m.weights + m.state + m.transient);
    EXPECT_EQ(m.device, 0u);
    EXPECT_GT(m.baseline, uint64_t{64} << 20);  // at least the workspace
  }
  EXPECT_EQ(f32.weights, static_cast<uint64_t>(4 * count_params(c).total));
  EXPECT_EQ(f64.weights, 2 * f32.weights);
  EXPECT_EQ(f64.state, 2 * f32.state);
  EXPECT_EQ(predict(c, "ref-bf16", WeightResidency::Resident, 300, 4).weights, f32.weights);  // bf16 values in floats
}

// Held in bf16: the matrices at 2 bytes, the 1-D weights in fp32; a prefill converts one matrix at a
// time (the lm_head, the largest here), a decode-only request converts nothing. Not for the oracle.
TEST(RunMemory, Bf16HeldWeightsAreTwoBytesAndAPrefillConvertsOneMatrix) {
  const ModelConfig c = preset_config("small");
  const ParamCount p = count_params(c);
  const RunMemory r = predict(c, "ref-f32", WeightResidency::Resident, 300, 4);
  const RunMemory h = predict(c, "ref-bf16", WeightResidency::Bf16, 300, 4);
  EXPECT_EQ(h.residency, WeightResidency::Bf16);
  const int64_t vectors = c.num_hidden_layers * p.layer_norms +
                          c.run_layers_of(LayerType::Lightning) * c.inner_dim() + c.hidden_size;
  EXPECT_EQ(h.weights, static_cast<uint64_t>(2 * (p.total - vectors) + 4 * vectors));
  EXPECT_LT(h.weights * 19, r.weights * 10);  // about half
  EXPECT_EQ(h.state, r.state);
  const uint64_t head = static_cast<uint64_t>(4 * c.vocab_size * c.hidden_size);
  EXPECT_GE(h.transient, r.transient);
  EXPECT_LE(h.transient, r.transient + head);
  // a one-token prompt (decode only) takes the GEMV: nothing converted
  EXPECT_EQ(predict(c, "ref-f32", WeightResidency::Bf16, 1, 4, false, false).transient,
            predict(c, "ref-f32", WeightResidency::Resident, 1, 4, false, false).transient);
  EXPECT_THROW(predict(c, "ref-f64", WeightResidency::Bf16, 300, 4), Error);
  // the kernels hold bf16 weights on the device anyway: bf16 is their resident model
  EXPECT_EQ(predict(c, "cuda-sim", WeightResidency::Bf16, 300, 4).residency, WeightResidency::Resident);
}

TEST(RunMemory, StreamedHoldsTheWorkingSetNotTheModel) {
  ModelConfig c = preset_config("minimax-text-01");
  c.run = {6, 8};
  c.validate();
  const RunMemory s = predict(c, "ref-f32", WeightResidency::Streamed, 300, 4);
  const RunMemory r = predict(c, "ref-f32", WeightResidency::Resident, 300, 4);
  EXPECT_EQ(s.residency, WeightResidency::Streamed);
  EXPECT_LT(s.weights, uint64_t{1} << 20);  // the 1-D weights of two layers
  EXPECT_GT(r.weights, uint64_t{50} << 30);  // 13.7G values in fp32
  // the layer's matrices (one lightning layer's projections + router + one expert: 421.8M values) are in it
  EXPECT_GT(s.transient, uint64_t{421'800'000} * 4);
  EXPECT_LT(s.host, uint64_t{4} << 30);
  // the whole real model streams in the same working set, with 80 layers' 1-D weights and state
  const RunMemory whole = predict(preset_config("minimax-text-01"), "ref-f32", WeightResidency::Streamed, 300, 4);
  EXPECT_GT(whole.state, s.state);
  EXPECT_LT(whole.weights, uint64_t{8} << 20);  // 80 layers' norms: 1.56M values
  // forward's capture of 80 layers (the dump's hidden_states) is most of it; generate holds no capture
  EXPECT_LT(whole.host, uint64_t{16} << 30);
  const RunMemory gen = predict(preset_config("minimax-text-01"), "ref-f32", WeightResidency::Streamed, 300, 4, false, false);
  EXPECT_LT(gen.host, uint64_t{4} << 30);
  EXPECT_STREQ(gen.peak_phase, "layer");
  // Auto resolves against this machine: 1.7 TB of fp32 weights never fit
  EXPECT_EQ(predict(preset_config("minimax-text-01"), "ref-f32", WeightResidency::Auto, 1, 0).residency,
            WeightResidency::Streamed);
}

TEST(RunMemory, GrowsWithThePromptAndShrinksWithoutLogitsOrCapture) {
  const ModelConfig c = preset_config("small");
  const auto host = [&](int64_t S, int64_t N, bool all, bool cap) {
    return predict(c, "ref-f32", WeightResidency::Resident, S, N, all, cap).host;
  };
  EXPECT_LT(host(300, 4, true, true), host(3000, 4, true, true));
  EXPECT_LE(host(300, 4, true, true), host(300, 4000, true, true));  // the KV cache
  EXPECT_LT(host(3000, 4, false, true), host(3000, 4, true, true));  // generate: the last row only
  EXPECT_LT(host(3000, 4, false, false), host(3000, 4, false, true));
}

TEST(RunMemory, SlicesCountTheirOwnLayers) {
  ModelConfig c = preset_config("small");
  const RunMemory whole = predict(c, "ref-f64", WeightResidency::Resident, 100, 0);
  c.run = {2, 4};
  c.validate();
  const RunMemory slice = predict(c, "ref-f64", WeightResidency::Resident, 100, 0);
  EXPECT_LT(slice.weights, whole.weights);
  EXPECT_LT(slice.state, whole.state);
}

TEST(RunMemory, KernelsHoldBf16WeightsOnTheDevice) {
  const ModelConfig c = preset_config("small");
  const RunMemory gpu = predict(c, "cuda", WeightResidency::Auto, 300, 4);
  const RunMemory sim = predict(c, "cuda-sim", WeightResidency::Auto, 300, 4);
  EXPECT_EQ(gpu.weights, static_cast<uint64_t>(2 * count_params(c).total));  // the host copy, before upload
  EXPECT_GT(gpu.device, gpu.weights);
  EXPECT_EQ(sim.device, 0u);  // cuda-sim's device memory is this host's
  EXPECT_GT(sim.host, sim.weights);
}

TEST(RunMemory, BadRequestsAreNamed) {
  const ModelConfig c = preset_config("tiny");
  try {
    predict(c, "tpu", WeightResidency::Auto, 1, 0);
    FAIL() << "expected mm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown backend 'tpu'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(predict(c, "ref-f32", WeightResidency::Auto, 0, 0), Error);
}

}  // namespace
}  // namespace mm::harness
