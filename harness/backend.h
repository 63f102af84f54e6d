// One interface for every implementation the harness checks, times and soaks: the reference in three
// precisions today, the CUDA kernels (`cuda`, and `cuda-sim` = the same kernels on the CPU) later.
// A backend runs one sequence at a time: step(prompt) is the prefill, step({token}) a decode step.
// Everything it computes comes back as a TensorMap named like the goldens, so check/bench/soak never
// look inside a backend. Every command (forward, generate, check, bench, soak) takes its backends from
// the registry (backend_registry.cpp): a backend added there runs in all of them with no command change.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/model_input.h"
#include "core/rng.h"
#include "core/sampling_params.h"
#include "core/vl_config.h"
#include "harness/precision.h"
#include "harness/tensor.h"

namespace mm::harness {

// A checkpoint directory (config.json + safetensors) and its parsed config: the text model's, and for
// a MiniMax-VL-01 checkpoint the whole VL config (vision tower, projector, image token).
struct LoadedModel {
  std::string dir;
  ModelConfig config;
  std::optional<VlConfig> vl;  // set for a minimax_vl_01 config.json
  // Where the reference backends keep the text model's weight matrices (core/config.h; --weights).
  WeightResidency weights = WeightResidency::Auto;
};

// Reads DIR/config.json: the text config, and the VL config when it is a MiniMax-VL-01 checkpoint.
LoadedModel load_model(const std::string& dir);

// Runs after decoder layer `layer` on that layer's output hidden state, [rows, cols] row-major. It may
// change the values (perturbation, NaN injection), sleep (slow step) or throw (allocation failure);
// what it leaves is what the next layer reads and what is captured as layers.L.output.
using LayerHook = std::function<void(int layer, int64_t rows, int64_t cols, double* hidden)>;

// MiniMax-VL-01: runs after vision encoder layer `layer` of crop `crop` (the global crop index over all
// images of the step, in order) on that crop's [rows = 577, cols = D] layer output (CLS row first). Like
// LayerHook, what it leaves is what the next vision layer reads and what is captured as
// vision.layers.L.output (rows [crop * 577, (crop + 1) * 577) of it).
using VisionLayerHook = std::function<void(int layer, int64_t crop, int64_t rows, int64_t cols, double* hidden)>;

struct StepRequest {
  bool capture = false;      // fill StepResult::tensors
  bool time_layers = false;  // fill StepResult::layer_seconds / head_seconds
  // false: StepResult::logits is [1, V], the last row, and the lm_head runs on that row only (all that
  // choosing the next token reads; [S, V] logits of a long prompt at V = 200064 are gigabytes). Captured
  // tensors keep every row either way.
  bool all_logits = true;
  // A slice (ModelConfig::is_slice): also return StepResult::hidden_out (forward's slice dump). The
  // kernels download it through their capture, so only a caller that writes it asks.
  bool hidden_out = false;
  LayerHook after_layer;     // optional
  VisionLayerHook after_vision_layer;  // optional; only a step with images calls it
};

struct StepResult {
  Tensor logits;  // [S, V], or [1, V] (the last row) when !StepRequest::all_logits; [0, V] without the head
  // A slice run (ModelConfig::is_slice, --layers) asked for it (StepRequest::hidden_out): the hidden state
  // leaving its last layer [S, H], what the next slice reads (docs/slices.md); empty otherwise.
  Tensor hidden_out;
  // capture only: "layers.L.{attn_out, moe_out, output, router_logits, router_probs, router_experts,
  // lightning_attn (lightning layers: attention before the inner norm)}", "final_norm", for this step's tokens.
  TensorMap tensors;
  std::vector<double> layer_seconds;  // per decoder layer, monotonic clock (CUDA: events)
  double head_seconds = 0;            // embedding + final norm + lm_head
  // MiniMax-VL-01, time_layers and a step with images: the images' part of the step before the text
  // model runs (vision tower on every crop, projector, packing, splicing); 0 otherwise, and 0 from a
  // backend that does not time it. The ref backends take it as the step's wall time minus the text
  // model's layer_seconds and head_seconds (harness/ref_backend.cpp).
  double vision_seconds = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Selects the NMSE ceiling of the verdict and the roof (dgemm or sgemm); harness/precision.h.
  virtual Precision precision() const = 0;
  // Bytes per stored weight/activation element as this implementation keeps them (for GB/s).
  virtual int bytes_per_element() const = 0;
  virtual const ModelConfig& config() const = 0;
  virtual void reset() = 0;  // start a new sequence (empty caches)
  // Runs `in` at the next positions; mm::Error for an input check_model_input refuses, before anything runs.
  virtual StepResult step(const ModelInput& in, const StepRequest& req) = 0;
  // The next token after `last` (this backend's latest step): greedy when p.temperature == 0, else
  // seeded sampling drawing from `rng` as ref::sample_token draws. Default: ref::sample_token on the
  // last logits row on the host; the kernels choose on the device from their own logits.
  virtual int64_t next_token(const StepResult& last, const SamplingParams& p, Rng& rng);
  // The implementation's parts in use, for the run's description (the kernels' versions); empty: nothing
  // beyond the name to say.
  virtual std::string kernels() const { return {}; }
  // Caches after the last step: "layers.L.lightning_state" [n_h, d, d] (key dim, value dim) for
  // lightning layers, "layers.L.k_cache" / "layers.L.v_cache" [tokens, n_kv, d] (K post-RoPE) otherwise.
  virtual TensorMap caches() const = 0;
  // Fault injection for soak: flip the most significant exponent bit of one element of a weight every
  // token reads (seeded choice); returns what was flipped. restore_weights() undoes it. Default:
  // unsupported (throws mm::Error), and soak reports the fault kind as not injectable.
  virtual std::string corrupt_weight(uint64_t seed);
  // Tensor kinds (e.g. "router_probs") this implementation never materialises: check reports them as
  // not produced (neither compared nor counted as a failure) instead of faking them.
  virtual std::vector<std::string> not_produced() const { return {}; }
  virtual void restore_weights();
};

// --- registry -------------------------------------------------------------------------------------

struct BackendEntry {
  std::string name;
  std::string description;
  // Empty when the backend can run here; otherwise why not (e.g. "no CUDA device").
  std::function<std::string()> unavailable_reason;
  // unavailable_reason() when set, "" otherwise: the one way the commands ask.
  std::string why_unavailable() const { return unavailable_reason ? unavailable_reason() : std::string(); }
  std::function<std::unique_ptr<Backend>(const LoadedModel&)> make;
};

class Registry {
 public:
  void add(BackendEntry e);  // replaces an entry of the same name
  const BackendEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;  // registration order
  // Throws mm::Error for an unknown name (listing the known ones) or an unavailable backend (with why).
  std::unique_ptr<Backend> make(const std::string& name, const LoadedModel& m) const;
  // The same checks as make() without a model: a command calls it before loading anything.
  void require_available(const std::string& name) const;

 private:
  std::vector<BackendEntry> entries_;
};

// The process-wide registry with the built-in entries (ref-f64, ref-f32, ref-bf16, cuda, cuda-sim).
Registry& registry();

// "a,b,c" -> names, each checked to be known (mm::Error naming the unknown one otherwise).
std::vector<std::string> parse_backend_list(const std::string& csv);

}  // namespace mm::harness
