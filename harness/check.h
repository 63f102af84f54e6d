// `minimax01 check`: the same inputs (a prefill that crosses the lightning block boundary, then decode
// steps) through every requested backend, twice:
//   teacher-forced (teacher_forcing.h): every layer runs on the reference's input, and each captured
//     tensor of each layer is compared with the reference (the ref-f64 oracle, or a golden case's
//     expected tensors) and judged by harness/verdict.h against the ref-bf16 budget forced the same way;
//     the first diverging tensor (in computation order) and its layer are named;
//   free running: the end-to-end tensors "e2e.{final_norm, logits, decode.final_norm, decode_logits}".
// Rows rerouted by rounding-level router flips are left out of the values they swamp (reroute.h).
// Unavailable backends are skipped with why.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/interrupt.h"
#include "harness/model_source.h"
#include "harness/verdict.h"
#include "harness/vl_inputs.h"

namespace mm::harness {

// Test hook: after decoder layer `layer` (or, with `vision`, after vision encoder layer `layer` of every
// crop of a MiniMax-VL-01 check), add noise of relative size `rel` (rel * rms(h) * N(0,1) per element) to
// every checked backend's hidden state except the oracle and the budget runs.
struct Perturbation {
  int layer = 0;
  double rel = 1e-2;
  uint64_t seed = 1;
  bool vision = false;  // layer is a vision encoder layer ("vision.L:REL")
};
LayerHook perturbation_hook(const Perturbation& p);               // no-op for a vision perturbation
VisionLayerHook vision_perturbation_hook(const Perturbation& p);  // no-op for a text perturbation
Perturbation parse_perturbation(const std::string& spec);  // "LAYER:REL" or "vision.LAYER:REL"

struct CheckOptions {
  std::vector<std::string> backends;  // empty = every registered backend
  int64_t prompt_len = 300;           // > block_size (256): crosses the lightning block boundary
  int64_t decode_steps = 4;
  uint64_t seed = 0;                  // input tokens
  std::string golden_dir;             // non-empty: compare with this golden case instead of ref-f64
  Tolerance tol;
  std::optional<Perturbation> perturb;
  bool progress = false;
};

struct BackendCheck {
  std::string name, status;  // status: pass | fail | skipped | error
  std::string reason;        // skipped / error: why; fail: the first violated bound
  double seconds = 0;
  std::vector<TensorVerdict> tensors;  // computation order
  std::string first_diverging;         // tensor name, empty when all pass
  int first_layer = -1;      // the text decoder layer, or for a vision tensor its vision layer (-1: none)
  std::string first_family;  // of the first diverging tensor: text_decoder, text_head, vision_encoder, projector
  std::string first_phase;
  int failed = 0;
  // rows rerouted by router flips (reroute.h), teacher-forced layers and end to end
  struct Rerouted {
    int64_t backend = 0, budget = 0, considered = 0;
  };
  Rerouted layerwise_rows, end_to_end_rows;
  int inconclusive = 0;  // tensors with nothing left to judge (TensorVerdict::conclusive)
};

// One image of a MiniMax-VL-01 check prompt: seeded, in memory (core/image_synthetic.h), or a golden
// case's image file.
struct CheckImage : SyntheticImage {  // width, height, seed, crops, tokens (harness/vl_inputs.h)
  std::string file;                   // a golden case's image (then `seed` is unused)
};

// `check --golden` on a MiniMax-VL-01 case (harness/vl_golden.h). The case stores most tensors at a
// subset of rows, too few to teacher-force a layer from, so the check runs in two links: the ref-f64
// oracle (every row, every tensor) is compared with each stored tensor at the manifest's float64
// tolerance, and every backend is then judged against that oracle as in a check without --golden
// (teacher-forced through the vision tower and the text layers). The check passes only if both hold: a
// backend's own status says how it compares with the oracle, `golden` whether the oracle agrees with
// the case (CheckResult::pass is false when it does not).
struct GoldenAgreement {
  std::string case_name, tolerance = "tol_fp64";
  struct Entry {
    std::string name;
    bool produced = false, shape_ok = false, pass = false;
    double rel_fro = 0, max_abs = 0, tol_rel_fro = 0, tol_max_abs = 0;
  };
  std::vector<Entry> tensors;  // dataflow order
  int failed = 0;
  std::string first_failing;   // empty when every tensor agrees
  bool pass = false;
};

struct CheckResult {
  std::string reference;  // "ref-f64" or "golden:<case>" (a MiniMax-VL-01 case: "ref-f64", see `golden`)
  std::vector<int64_t> prompt, decode;  // prompt: with the images' placeholders expanded
  // MiniMax-VL-01: the prompt's images, in order, and the placeholder id; the text tokens are
  // prompt.size() - sum of tokens.
  std::vector<CheckImage> images;
  int64_t image_token_id = -1;
  std::optional<GoldenAgreement> golden;  // --golden on a MiniMax-VL-01 case
  std::vector<BackendCheck> backends;
  int checked = 0;
  bool pass = false;  // never true when interrupted
  // Set when SIGINT / SIGTERM stopped the run between two steps (the oracle, the budget, a backend;
  // core/interrupt.h): `backends` holds those judged until then.
  std::optional<Interruption> interrupted;
};

CheckResult run_check(const ModelSource& src, const CheckOptions& opt);
nlohmann::json to_json(const CheckResult& r, const CheckOptions& opt);
std::string summary(const CheckResult& r);

}  // namespace mm::harness
