// A golden case (golden/cases/<name>: config.json + checkpoint, inputs.json, expected.safetensors,
// manifest.json with per-tensor tolerances and sha256 sums), and the reference run on it through the
// harness backends, collecting every tensor under the generator's names (harness/capture.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/capture.h"
#include "reference/precision.h"

namespace mm::golden {

using harness::Tensor;

struct Case {
  std::string name, dir;
  nlohmann::json manifest;
  std::vector<int64_t> prompt, decode;
};

// Throws mm::Error naming the directory when manifest.json or inputs.json is missing or malformed.
Case load_case(const std::string& dir);
// The source tree's golden/ (compiled in), and every <root>/cases/* with a manifest.json, sorted.
std::string default_golden_root();
std::vector<std::string> case_dirs(const std::string& golden_root = default_golden_root());
// The expected tensors (expected.safetensors) as doubles.
harness::TensorMap expected_tensors(const Case& c);

// Runs prefill + decode with precision P (the harness backend "ref-f64" / "ref-f32" / "ref-bf16").
template <class P> std::map<std::string, Tensor> run_case(const Case& c);

struct Diff {
  double rel_fro = 0, max_abs = 0;
  bool shape_ok = true;
};
Diff compare(const Tensor& got, const std::vector<double>& want, const std::vector<int64_t>& want_shape);

using harness::order_key;

}  // namespace mm::golden
