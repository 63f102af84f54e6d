// `minimax01 forward --images` (MiniMax-VL-01): the dump contract with images (docs/forward-dump.md#images):
// the expanded sequence, pixel_values and image_features in splice order, equal to the same run made
// in-process through the harness backend. MM_CLI is the built binary, MM_VL_GOLDEN_DIR the Pillow goldens.
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "harness/backend.h"
#include "harness/tensor_id.h"
#include "reference/blas_cpu.h"
#include "reference/vl_preprocess.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

std::string golden(const std::string& name) { return std::string(MM_VL_GOLDEN_DIR) + "/" + name; }
// The CLI re-picks OpenBLAS's kernels from the CPU's features (reference/blas_cpu.h) while this process
// keeps the library's choice; bit equality with the in-process run needs the same kernels, so the CLI
// gets this process's (a set OPENBLAS_CORETYPE is left as it is).
std::string same_gemm_kernels() {
  const ref::BlasKernels k = ref::blas_kernels();
  return k.core.empty() ? std::string() : "OPENBLAS_CORETYPE=" + k.core + " ";
}
int run(const std::string& cmd) { return std::system((same_gemm_kernels() + cmd + " > /dev/null").c_str()); }

TEST(CliForwardImages, DumpCoversTheExpandedSequenceAndEqualsTheInProcessRun) {
  test::TempDir d;
  const std::string cli = MM_CLI, model = d.file("vl"), dump = d.file("out.safetensors");
  ASSERT_EQ(run(cli + " init --preset vl-tiny --seed 3 --out " + model), 0);
  const std::string a = golden("tiny_7x5.png"), b = golden("rgb_640x480.png");
  ASSERT_EQ(run(cli + " forward --model " + model + " --tokens 7,500,8,500,9 --images " + a + "," + b +
                " --decode-tokens 4 --dump " + dump),
            0);

  // The same input in-process: each placeholder expanded to its image's count, in order.
  const harness::LoadedModel m = harness::load_model(model);
  ASSERT_TRUE(m.vl.has_value());
  const vl::PreprocessConfig pre = vl::load_preprocess_config(model);
  ModelInput in;
  in.image_token_id = 500;
  for (const std::string& f : {a, b}) in.images.push_back(vl::image_crops(vl::preprocess_file(f, pre), pre));
  ASSERT_EQ(in.images[0].num_tokens, 1026);
  ASSERT_EQ(in.images[1].num_tokens, 2340);
  in.tokens = {7};
  in.tokens.insert(in.tokens.end(), 1026, 500);
  in.tokens.push_back(8);
  in.tokens.insert(in.tokens.end(), 2340, 500);
  in.tokens.push_back(9);
  auto be = harness::registry().make("ref-f32", m);
  harness::StepRequest req;
  req.capture = true;
  const harness::StepResult r = be->step(in, req);

  SafetensorsFile f(dump);
  const int64_t S = static_cast<int64_t>(in.tokens.size()), H = m.config.hidden_size, V = m.config.vocab_size;
  EXPECT_EQ(f.find("logits")->shape, (std::vector<int64_t>{S, V}));
  EXPECT_EQ(f.find("hidden_states")->shape, (std::vector<int64_t>{m.config.num_hidden_layers, S, H}));
  EXPECT_EQ(f.find("decode_logits")->shape, (std::vector<int64_t>{1, V}));
  ASSERT_NE(f.find("pixel_values"), nullptr);
  EXPECT_EQ(f.find("pixel_values")->shape, (std::vector<int64_t>{2 + 5, 3, 336, 336}));
  ASSERT_NE(f.find("image_features"), nullptr);
  EXPECT_EQ(f.find("image_features")->shape, (std::vector<int64_t>{1026 + 2340, H}));
  // pixel_values: image after image, exactly the preprocessed crops.
  std::vector<float> pv = in.images[0].pixel_values;
  pv.insert(pv.end(), in.images[1].pixel_values.begin(), in.images[1].pixel_values.end());
  ASSERT_EQ(static_cast<std::size_t>(f.find("pixel_values")->numel()), pv.size());
  EXPECT_EQ(std::memcmp(f.find("pixel_values")->data, pv.data(), pv.size() * sizeof(float)), 0);
  // image_features and logits: the in-process run's values (float32 either way).
  const auto feats = read_f64(*f.find("image_features"));
  const auto& want = r.tensors.at(harness::TensorId::projector("image_features").name()).values;
  ASSERT_EQ(feats.size(), want.size());
  for (std::size_t i = 0; i < feats.size(); ++i) ASSERT_EQ(feats[i], static_cast<float>(want[i])) << i;
  const auto logits = read_f64(*f.find("logits"));
  ASSERT_EQ(logits.size(), r.logits.values.size());
  for (std::size_t i = 0; i < logits.size(); ++i) ASSERT_EQ(logits[i], static_cast<float>(r.logits.values[i])) << i;
}

}  // namespace
}  // namespace mm
