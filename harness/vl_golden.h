// A MiniMax-VL-01 golden case (golden/vl_cases/<name>, written by golden/generate_vl.py from an
// independent implementation): config.json + preprocessor_config.json + checkpoint, the images, inputs.json
// (the prompt with one placeholder per image, its expansion, the decode tokens), expected.safetensors
// (float64 run) and expected_f32.safetensors, manifest.json (per-tensor tolerances tol_fp64 / tol_fp32,
// the images' crop hashes, sha256 of every file).
//
// To stay small, the case stores most per-token tensors at a subset of rows, given as index tensors in
// expected.safetensors (manifest "index": true): vision.rows (of the 577 rows of each crop),
// vision.feature_rows (of the 576 feature rows), image_features.rows, text.rows; with vocab.cols the
// logits are stored at those columns plus each row's logsumexp. golden_view() turns a run's tensors (the
// names and full shapes of harness/capture.h) into the case's names and shapes, so that any backend's run
// can be compared with the case tensor by tensor.
//
// Used by `minimax01 check --golden` (harness/check.h) and tests/golden/vl_model_golden_test.cpp.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/model_input.h"
#include "core/safetensors.h"
#include "harness/golden_case.h"
#include "harness/tensor.h"

namespace mm::golden {

struct VlCase {
  std::string name, dir;
  nlohmann::json manifest, inputs;
  std::vector<int64_t> prompt, decode;  // prompt_tokens (one placeholder per image), decode_tokens
  int64_t image_token_index = -1;
};

// A directory holding a VL case (its manifest.json lists images), as opposed to a text case.
bool is_vl_case(const std::string& dir);
// Throws mm::Error naming the file when manifest.json or inputs.json is missing or malformed.
VlCase load_vl_case(const std::string& dir);
// Every <root>/vl_cases/* with a manifest.json, sorted.
std::vector<std::string> vl_case_dirs(const std::string& golden_root = default_golden_root());

// The prompt `forward --images` builds from the case: each image decoded and preprocessed with the case's
// preprocessor_config.json, each placeholder expanded to that image's token count. Throws mm::Error naming
// the case and the image when a crop's sha256, an image's token count or the expanded prompt differs from
// what the case stores (the preprocessing is checked before anything runs on it).
ModelInput vl_case_prompt(const VlCase& c, int64_t model_image_token_index);

// A run of the case's prompt and decode tokens (harness::run_sequence's names and shapes, every row)
// in the case's names and shapes. `prompt` is the run's input and `text` the model's text config (for
// inputs_embeds: the checkpoint's token embeddings with the image rows replaced by
// projector.image_features). Tensors the run lacks are absent.
harness::TensorMap golden_view(const VlCase& c, const SafetensorsFile& expected, const harness::TensorMap& run,
                               const ModelInput& prompt, const ModelConfig& text);

// One stored tensor against the view of a run, with the manifest's tolerance `tol_key` ("tol_fp64" for a
// float64 run, "tol_fp32" for float32).
struct VlTensorDiff {
  std::string name;
  bool produced = false, shape_ok = false, pass = false;
  double rel_fro = 0, max_abs = 0, tol_rel_fro = 0, tol_max_abs = 0;
};
// Every stored tensor except the index tensors, in dataflow order (harness::order_key).
std::vector<VlTensorDiff> compare_vl_case(const VlCase& c, const SafetensorsFile& expected, const harness::TensorMap& view,
                                          const std::string& tol_key);

}  // namespace mm::golden
