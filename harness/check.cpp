#include "harness/check.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/rng.h"
#include "core/strict_number.h"
#include "harness/capture.h"
#include "harness/golden_case.h"
#include "harness/vl_golden.h"
#include "harness/vl_inputs.h"
#include "harness/progress.h"
#include "harness/reroute.h"
#include "harness/teacher_forcing.h"
#include "harness/tensor_id.h"
#include "reference/vl_preprocess.h"

namespace mm::harness {

namespace {
// rel * rms(h) * N(0,1) added to each of the n values of h, drawn from Rng(seed).
void add_noise(double* h, int64_t n, double rel, uint64_t seed) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += h[i] * h[i];
  const double rms = std::sqrt(ss / static_cast<double>(std::max<int64_t>(n, 1)));
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) h[i] += rel * rms * rng.normal();
}
}  // namespace

LayerHook perturbation_hook(const Perturbation& p) {
  if (p.vision) return {};
  return [p](int layer, int64_t rows, int64_t cols, double* h) {
    if (layer == p.layer) add_noise(h, rows * cols, p.rel, p.seed);
  };
}

VisionLayerHook vision_perturbation_hook(const Perturbation& p) {
  if (!p.vision) return {};
  return [p](int layer, int64_t crop, int64_t rows, int64_t cols, double* h) {
    // every crop perturbed, each with its own draws
    if (layer == p.layer) add_noise(h, rows * cols, p.rel, p.seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(crop));
  };
}

Perturbation parse_perturbation(const std::string& spec) {
  Perturbation p;
  std::string_view text(spec);
  if (text.substr(0, 7) == "vision.") {  // "vision.L:REL": after vision encoder layer L
    p.vision = true;
    text.remove_prefix(7);
  }
  const auto c = text.find(':');
  // strict decimal (core/strict_number.h): no '+', spaces or hex
  if (c == std::string_view::npos || parse_decimal_int(text.substr(0, c), p.layer) != NumParse::Ok ||
      parse_decimal(text.substr(c + 1), p.rel) != NumParse::Ok)
    throw UsageError("--perturb expects LAYER:REL (a text decoder layer) or vision.LAYER:REL (a vision encoder layer), "
                "a decimal layer index and a decimal number (e.g. 3:1e-2 or vision.1:1e-2), got '" + spec + "'");
  if (p.layer < 0) throw UsageError("--perturb: LAYER must be >= 0, got '" + spec + "'");
  if (!(std::isfinite(p.rel) && p.rel >= 0)) throw UsageError("--perturb: REL must be a finite number >= 0, got '" + spec + "'");
  return p;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The check's inputs: the prefill (with images for a MiniMax-VL-01 check) and the decode tokens.
struct Inputs {
  ModelInput prompt;
  std::vector<int64_t> decode;
};

// The hooks a checked backend runs with (a perturbation), text and vision.
struct Hooks {
  LayerHook text;
  VisionLayerHook vision;
};

TensorMap run_named(const std::string& name, const LoadedModel& m, const Inputs& in) {
  auto b = registry().make(name, m);
  return run_sequence(*b, in.prompt, in.decode, {}, {});
}

// Row-wise softmax in double of a [rows, E] logits tensor.
Tensor softmax_rows(const Tensor& logits) {
  Tensor p = logits;
  if (logits.shape.size() != 2) return p;
  const int64_t rows = logits.shape[0], E = logits.shape[1];
  for (int64_t r = 0; r < rows; ++r) {
    double* x = p.values.data() + r * E;
    double mx = x[0], sum = 0;
    for (int64_t e = 1; e < E; ++e) mx = std::max(mx, x[e]);
    for (int64_t e = 0; e < E; ++e) sum += (x[e] = std::exp(x[e] - mx));
    for (int64_t e = 0; e < E; ++e) x[e] /= sum;
  }
  return p;
}

// The rows `m` leaves out of tensor `n` for one run, or null.
const std::vector<bool>* rows_of(const std::map<std::string, std::vector<bool>>& m, const std::string& n) {
  const auto d = m.find(n);
  return d == m.end() ? nullptr : &d->second;
}

int64_t count_rows(const std::vector<bool>* d) {
  int64_t n = 0;
  if (d)
    for (bool b : *d) n += b;
  return n;
}

Tensor kept(const Tensor& t, const std::vector<bool>* drop) { return drop ? keep_rows(t, *drop) : t; }

// One tensor of a backend against the reference and the budget. `mask`: the rows each run rerouted
// (reroute.h), left out of that run's comparison; `pool_from`: the tensor whose budget is pooled in
// (verdict.h). A tensor with no rows left to compare, or no yardstick left, is reported inconclusive.
TensorVerdict judge_one(const std::string& name, const std::string& ref_name, Precision precision,
                        const TensorMap& got, const TensorMap& ref, const TensorMap& budget, const Tolerance& tol,
                        const std::vector<std::string>& not_produced, const RowMask* mask = nullptr,
                        const std::string* pool_from = nullptr) {
  const auto g = got.find(ref_name);
  TensorVerdict v;
  v.name = name;
  // Only auxiliary kinds may be declared not produced: logits and layer outputs are always compared.
  const bool may_skip = tensor_kind(ref_name) != "logits" && tensor_kind(ref_name) != "output";
  if (g == got.end() && may_skip &&
      std::find(not_produced.begin(), not_produced.end(), tensor_kind(ref_name)) != not_produced.end()) {
    v.produced = false;  // declared by the backend as never materialised: reported, not compared, not faked
    v.why = "not produced by this backend (it never materialises '" + tensor_kind(ref_name) + "')";
    return v;
  }
  if (g == got.end()) {
    v.pass = false;
    v.why = "the backend produced no tensor '" + ref_name + "'";
    return v;
  }
  const auto b = budget.find(ref_name);
  const Tensor *probs = nullptr, *got_probs = nullptr;
  Tensor implied_probs;
  if (tensor_kind(ref_name) == "router_experts") {
    const std::string stem = ref_name.substr(0, ref_name.size() - std::string("router_experts").size());
    if (ref.count(stem + "router_probs")) probs = &ref.at(stem + "router_probs");
    if (got.count(stem + "router_probs")) {
      got_probs = &got.at(stem + "router_probs");
    } else if (got.count(stem + "router_logits")) {
      // A backend that never materialises router_probs (not_produced): its probability error is
      // measured on softmax(its own router_logits), the probabilities its router kernel ranks.
      implied_probs = softmax_rows(got.at(stem + "router_logits"));
      got_probs = &implied_probs;
    }
  }
  const std::vector<bool>* drop_got = mask ? rows_of(mask->got, ref_name) : nullptr;
  const std::vector<bool>* drop_budget = mask ? rows_of(mask->budget, ref_name) : nullptr;
  JudgeOptions jo;
  jo.end_to_end = is_end_to_end(name);
  ErrorStats pooled;
  if (pool_from) {  // the budget's error on the pooled tensor, with the budget's own rerouted rows left out
    const auto pb = budget.find(*pool_from), pr = ref.find(*pool_from);
    const std::vector<bool>* pd = mask ? rows_of(mask->budget, *pool_from) : nullptr;
    if (pb != budget.end() && pr != ref.end()) {
      pooled = error_stats(kept(pb->second, pd), kept(pr->second, pd), tol.floor_rel);
      jo.pooled_budget = &pooled;
      jo.pooled_from = *pool_from;
    }
  }
  const Tensor gk = kept(g->second, drop_got), rk = kept(ref.at(ref_name), drop_got);
  const Tensor bk = b == budget.end() ? Tensor{} : kept(b->second, drop_budget);
  const Tensor brk = kept(ref.at(ref_name), drop_budget);
  jo.budget_ref = &brk;
  v.rows_left_out = count_rows(drop_got);
  v.budget_rows_left_out = count_rows(drop_budget);
  const bool no_rows = !gk.shape.empty() && gk.shape[0] == 0;
  const bool no_yardstick = b != budget.end() && !bk.shape.empty() && bk.shape[0] == 0 && !(pooled.n > 0);
  if (no_rows || no_yardstick) {
    v.conclusive = false;  // nothing to judge here; the router_experts verdicts judged the flips themselves
    v.why = no_rows ? "inconclusive: every row was rerouted by this backend's (explained) router flips"
                    : "inconclusive: ref-bf16 rerouted every row, so there is no error budget to judge by";
    return v;
  }
  const int64_t rows_left_out = v.rows_left_out, budget_rows_left_out = v.budget_rows_left_out;
  v = judge(name, gk, rk, b == budget.end() ? nullptr : &bk, precision, tol, probs, got_probs, jo);
  v.rows_left_out = rows_left_out;
  v.budget_rows_left_out = budget_rows_left_out;
  return v;
}

void add_verdict(BackendCheck& bc, TensorVerdict v) {
  if (!v.pass) {
    ++bc.failed;
    if (bc.first_diverging.empty()) {
      bc.first_diverging = v.name;
      const TensorId id = TensorId::parse(v.name);
      bc.first_family = to_string(id.family);
      bc.first_layer = id.family == Family::VisionEncoder ? id.layer : tensor_layer(v.name);
      bc.first_phase = is_end_to_end(v.name) ? "end_to_end" : is_decode_tensor(v.name) ? "decode" : "prefill";
      bc.reason = v.why;
    }
  }
  bc.tensors.push_back(std::move(v));
}

// The other-phase twin a tensor pools its budget with (verdict.h), or "" for none: decode.layers.L.X <->
// layers.L.X, decode.final_norm <-> final_norm, decode_logits <-> logits. Not the lightning state: after
// the decode steps it is a different state, not more samples of the same error.
std::string pooled_with(const std::string& n, const TensorMap& ref) {
  if (tensor_kind(n) == "lightning_state") return "";
  std::string p;
  if (n == "decode_logits") p = "logits";
  else if (n == "logits") p = "decode_logits";
  else if (is_decode_tensor(n)) p = n.substr(std::string("decode.").size());
  else p = "decode." + n;
  return ref.count(p) ? p : "";
}

// The backend's own rerouted rows beyond the cap fail it: it could otherwise pass by rerouting tokens.
void enforce_cap(BackendCheck& bc, const RowMask& m, const char* mode) {
  if (!m.over_cap()) return;
  ++bc.failed;
  const std::string why = std::string(mode) + ": the backend rerouted " + std::to_string(m.rows_got) + " of " +
                          std::to_string(m.rows_considered) + " rows by router flips, more than " +
                          std::to_string(static_cast<int>(100 * RowMask::max_fraction)) + "% (values not judgeable)";
  if (bc.reason.empty()) bc.reason = why;
}

// `forced` / `budget_forced`: teacher-forced runs (every layer on the reference's input), judged tensor by
// tensor; `free_run` / `budget_free`: free-running runs, judged on the end-to-end tensors ("e2e.").
// `free_run` may be empty (not run).
BackendCheck judge_backend(const std::string& name, Precision precision, const TensorMap& forced,
                           const TensorMap& free_run, const TensorMap& ref, const TensorMap& budget_forced,
                           const TensorMap& budget_free, const ModelConfig& cfg, const Tolerance& tol,
                           const std::vector<std::string>& not_produced = {}) {
  BackendCheck bc;
  bc.name = name;
  std::vector<std::string> names;
  for (const auto& [n, t] : ref) names.push_back(n);
  std::sort(names.begin(), names.end(), [](auto& a, auto& b) { return order_key(a) < order_key(b); });
  const RowMask lw = layerwise_mask(forced, budget_forced, ref, cfg.first_layer(), cfg.end_layer());
  bc.layerwise_rows = {lw.rows_got, lw.rows_budget, lw.rows_considered};
  for (const auto& n : names) {
    const std::string pool = pooled_with(n, ref);
    add_verdict(bc, judge_one(n, n, precision, forced, ref, budget_forced, tol, not_produced, &lw,
                              pool.empty() ? nullptr : &pool));
  }
  enforce_cap(bc, lw, "teacher-forced layers");
  if (!free_run.empty()) {
    const RowMask e2e = end_to_end_mask(free_run, budget_free, ref, cfg.first_layer(), cfg.end_layer());
    bc.end_to_end_rows = {e2e.rows_got, e2e.rows_budget, e2e.rows_considered};
    // A slice ending before the head (docs/slices.md): end to end is its last layer's output.
    const std::string last = "layers." + std::to_string(cfg.end_layer() - 1) + ".output";
    const std::vector<std::string> e2e_names =
        cfg.runs_head() ? std::vector<std::string>{"final_norm", "logits", "decode.final_norm", "decode_logits"}
                        : std::vector<std::string>{last, "decode." + last};
    for (const std::string& n : e2e_names) {
      if (!ref.count(n)) continue;
      const std::string pool = pooled_with(n, ref);
      add_verdict(bc, judge_one("e2e." + n, n, precision, free_run, ref, budget_free, tol, not_produced,
                                &e2e, pool.empty() ? nullptr : &pool));
    }
    // no cap here: end to end, flips compound over the layers of a free run (e.g. 12 of 44 rows for a
    // correct backend on a 40-token prompt); the cap is enforced where flips are the layer's own
  }
  int64_t compared = 0;
  for (const auto& v : bc.tensors) {
    compared += v.produced && v.conclusive;
    bc.inconclusive += !v.conclusive;
  }
  if (compared == 0) {  // nothing was compared: never a pass
    ++bc.failed;
    bc.reason = "no tensor was compared";
  }
  bc.status = bc.failed ? "fail" : "pass";
  return bc;
}

// Runs a backend twice on the same inputs: teacher-forced on `ref` (every layer's output replaced by the
// reference's after it is recorded) and free running. `hook` (a perturbation) applies to both.
struct Runs {
  Precision precision = Precision::F64;
  std::vector<std::string> not_produced;
  TensorMap forced, free_run;
};
// `note` (the run's Progress::detail) hears where the run is: each teacher-forced layer, then the free run.
Runs run_both(const std::string& name, const LoadedModel& m, const TensorMap& ref, const Inputs& in,
              const Hooks& hook = {}, const std::function<void(const std::string&)>& note = {}) {
  auto b = registry().make(name, m);
  Runs r;
  r.precision = b->precision();
  r.not_produced = b->not_produced();
  auto rec = std::make_shared<ForcingRecord>();
  // the vision tower is forced only where the reference has it (not against a golden case's tensors)
  const VisionLayerHook vision = in.prompt.images.empty() || !ref.count("vision.layers.0.output")
                                     ? hook.vision
                                     : vision_forcing_hook(ref, r.precision, hook.vision, rec);
  // A backend's two runs are check's longest steps (seconds on cuda-sim): SIGINT / SIGTERM is honoured
  // after any teacher-forced layer and between the runs (Interrupted, caught by run_check), not only
  // between backends. The free run gets no extra hook: a hook changes the kernels' path (the fused norm).
  const int64_t first = m.config.first_layer(), layers = m.config.run_layer_count();
  const int64_t steps = 1 + static_cast<int64_t>(in.decode.size());
  const LayerHook forcing = [inner = forcing_hook(ref, r.precision, hook.text, rec, static_cast<int>(first)), &note,
                             first, layers, steps, calls = int64_t{0}](int l, int64_t rows, int64_t cols, double* h) mutable {
    inner(l, rows, cols, h);
    if (interrupt_requested()) throw Interrupted("check: stopped inside a backend's run");
    if (note) {  // the hook runs once per layer of each step: the prefill, then every decode step
      const int64_t step = calls++ / layers;
      note("teacher-forced " + (step == 0 ? std::string("prefill") : "decode step " + std::to_string(step) + "/" +
                                                                          std::to_string(steps - 1)) +
           ", layer " + std::to_string(l - first + 1) + "/" + std::to_string(layers) + " done");
    }
  };
  r.forced = run_sequence(*b, in.prompt, in.decode, forcing, vision);
  restore_own_outputs(r.forced, *rec);
  if (interrupt_requested()) throw Interrupted("check: stopped between a backend's runs");
  if (note) note("free run (no layer hook: it would change the kernels' path)");
  r.free_run = run_sequence(*b, in.prompt, in.decode, hook.text, hook.vision);
  return r;
}

// The seeded images of a MiniMax-VL-01 check: two RGB noise images of different tile counts.
std::vector<ImageCrops> check_images(const LoadedModel& m, uint64_t seed, std::vector<CheckImage>& info) {
  const vl::PreprocessConfig pc = vl::load_preprocess_config(m.dir);
  std::vector<ImageCrops> out;
  const int sizes[2][2] = {{300, 200}, {120, 500}};
  for (int k = 0; k < 2; ++k) {
    CheckImage ci;
    out.push_back(synthetic_image_crops(pc, sizes[k][0], sizes[k][1], seed * 2 + static_cast<uint64_t>(k) + 1, &ci));
    info.push_back(ci);
  }
  return out;
}

// The first link of a MiniMax-VL-01 --golden check: the oracle against every tensor the case stores.
GoldenAgreement golden_agreement(const golden::VlCase& c, const TensorMap& oracle, const ModelInput& prompt,
                                 const ModelConfig& cfg) {
  GoldenAgreement g;
  g.case_name = c.name;
  const SafetensorsFile expected(c.dir + "/expected.safetensors");
  const TensorMap view = golden::golden_view(c, expected, oracle, prompt, cfg);
  for (const golden::VlTensorDiff& d : golden::compare_vl_case(c, expected, view, g.tolerance)) {
    g.tensors.push_back({d.name, d.produced, d.shape_ok, d.pass, d.rel_fro, d.max_abs, d.tol_rel_fro, d.tol_max_abs});
    if (d.pass) continue;
    ++g.failed;
    if (g.first_failing.empty()) g.first_failing = d.name;
  }
  g.pass = !g.tensors.empty() && g.failed == 0;
  return g;
}

}  // namespace

CheckResult run_check(const ModelSource& src, const CheckOptions& opt) {
  CheckResult r;
  const LoadedModel& m = src.model;
  const ModelConfig& cfg = m.config;
  if (opt.perturb) {
    const Perturbation& p = *opt.perturb;
    if (p.vision) {
      require(m.vl.has_value(), "check: --perturb vision." + std::to_string(p.layer) +
                                    " needs a MiniMax-VL-01 model (a vision tower); this one is a text model");
      const int64_t vl_layers = m.vl->vision.num_hidden_layers;
      require(p.layer >= 0 && p.layer < vl_layers,
              "check: --perturb vision layer " + std::to_string(p.layer) + " does not exist: the vision tower has " +
                  std::to_string(vl_layers) + " layers (vision.0..vision." + std::to_string(vl_layers - 1) + ")");
      require(opt.golden_dir.empty() || golden::is_vl_case(opt.golden_dir),
              "check: --perturb vision.L needs images; the text golden case " + opt.golden_dir + " has none");
    } else {
      require(p.layer >= 0 && p.layer < cfg.num_hidden_layers,
              "check: --perturb layer " + std::to_string(p.layer) + " does not exist: the model has " +
                  std::to_string(cfg.num_hidden_layers) + " layers (0.." + std::to_string(cfg.num_hidden_layers - 1) + ")");
      require(p.layer >= cfg.first_layer() && p.layer < cfg.end_layer(),
              "check: --perturb layer " + std::to_string(p.layer) + " is not run: this check runs layers " +
                  run_layers_string(cfg));
    }
    require(std::isfinite(p.rel) && p.rel >= 0,
            "check: --perturb REL must be a finite number >= 0, got " + std::to_string(p.rel));
  }
  require(opt.golden_dir.empty() || !cfg.is_slice(),
          "check: the model runs layers " + run_layers_string(cfg) + " of " + std::to_string(cfg.num_hidden_layers) +
              " (a slice); a golden case's tensors are the whole model's");
  TensorMap ref;
  Inputs in;
  std::optional<golden::VlCase> vl_case;
  if (!opt.golden_dir.empty() && golden::is_vl_case(opt.golden_dir)) {
    // MiniMax-VL-01 case: its images and prompt; the oracle is compared with it below (GoldenAgreement)
    vl_case = golden::load_vl_case(opt.golden_dir);
    const golden::VlCase& c = *vl_case;
    const std::string what = "golden case '" + c.name + "' (" + c.dir + ")";
    require(m.vl.has_value(), "check: " + what + " is a MiniMax-VL-01 case; the model has no vision tower");
    require_same_config(load_config(c.dir), cfg, what);
    require(load_vl_config(c.dir).vision == m.vl->vision,
            "check: " + what + ": its vision_config differs from the model's");
    in.prompt = golden::vl_case_prompt(c, m.vl->image_token_index);  // json errors: named by the case (vl_golden.h)
    r.prompt = in.prompt.tokens;
    r.decode = c.decode;
    r.image_token_id = in.prompt.image_token_id;
    for (std::size_t k = 0; k < in.prompt.images.size(); ++k) {
      const auto& mi = c.manifest.at("images")[k];  // vl_case_prompt has read these fields already
      CheckImage ci;
      ci.width = static_cast<int>(in.prompt.images[k].width);
      ci.height = static_cast<int>(in.prompt.images[k].height);
      ci.file = mi.at("file").get<std::string>();
      ci.crops = in.prompt.images[k].num_crops;
      ci.tokens = in.prompt.images[k].num_tokens;
      r.images.push_back(ci);
    }
    r.reference = "ref-f64";
  } else if (!opt.golden_dir.empty()) {
    const golden::Case c = golden::load_case(opt.golden_dir);
    require_same_config(load_config(c.dir), cfg, "golden case '" + c.name + "' (" + c.dir + ")");
    r.prompt = c.prompt;
    r.decode = c.decode;
    r.reference = "golden:" + c.name;
    ref = golden::expected_tensors(c);
    in.prompt = ModelInput(r.prompt);
  } else {
    require(opt.prompt_len >= 1, "check: --prompt-len must be >= 1");
    require(opt.decode_steps >= 0, "check: --decode-steps must be >= 0");
    // Before drawing any token (images only add to the length; the exact total is checked below).
    require(opt.prompt_len + opt.decode_steps <= cfg.max_position_embeddings,
            "check: prompt + decode steps exceed max_position_embeddings = " + std::to_string(cfg.max_position_embeddings));
    Rng rng(opt.seed);
    std::vector<int64_t> text = rng.tokens(opt.prompt_len, cfg.vocab_size);
    r.decode = rng.tokens(opt.decode_steps, cfg.vocab_size);
    std::vector<ImageCrops> images;
    if (m.vl) {
      // MiniMax-VL-01: two seeded images; the random text never holds the placeholder id
      r.image_token_id = m.vl->image_token_index;
      avoid_placeholder(text, r.image_token_id, cfg.vocab_size);
      avoid_placeholder(r.decode, r.image_token_id, cfg.vocab_size);
      images = check_images(m, opt.seed, r.images);
    }
    // text[0, n/3) image 1, text[n/3, 2n/3) image 2, text[2n/3, n)
    in.prompt = image_prompt(text, std::move(images), r.image_token_id);
    r.prompt = in.prompt.tokens;
    const int64_t total = static_cast<int64_t>(r.prompt.size());
    require(total + opt.decode_steps <= cfg.max_position_embeddings,
            "check: prompt + decode steps exceed max_position_embeddings = " + std::to_string(cfg.max_position_embeddings) +
                (in.prompt.images.empty() ? std::string()
                                : " (the prompt is " + std::to_string(opt.prompt_len) + " text tokens + " +
                                      std::to_string(total - opt.prompt_len) + " image tokens)"));
    r.reference = "ref-f64";
  }
  in.decode = r.decode;
  const bool has_images = !in.prompt.images.empty();
  std::vector<std::string> names = opt.backends.empty() ? registry().names() : opt.backends;
  // Steps: the oracle (unless a golden case gave it), the budget, each backend.
  Progress prog("check", static_cast<int>(names.size()) + (ref.empty() ? 2 : 1), opt.progress);
  // SIGINT / SIGTERM (core/interrupt.h): the run stops between two of these steps (the oracle, the
  // budget, each backend); the backends judged so far are kept, and the result never passes.
  // `mid_step`: the signal was honoured inside the step just begun (a backend's run), which is dropped.
  auto stop = [&](bool mid_step = false) {
    prog.done();
    r.interrupted = prog.interruption();
    if (mid_step) {
      --r.interrupted->steps_done;
      r.interrupted->during += " (stopped inside it; not judged)";
    }
    r.pass = false;
    return r;
  };
  // The oracle and the budget keep their meaning under --weights bf16 (which is for the backends judged:
  // the oracle holds doubles, and the budget is the official bf16 rounding with OpenBLAS's sums).
  LoadedModel fixed = m;
  if (fixed.weights == WeightResidency::Bf16) fixed.weights = WeightResidency::Resident;
  if (ref.empty()) {
    if (prog.stop_requested()) return stop();
    prog.step("ref-f64 (oracle)");
    ref = run_named("ref-f64", fixed, in);
  }
  if (vl_case) r.golden = golden_agreement(*vl_case, ref, in.prompt, cfg);
  if (prog.stop_requested()) return stop();
  prog.step("ref-bf16 (budget)");
  Runs budget;
  try {
    budget = run_both("ref-bf16", fixed, ref, in, {}, [&](const std::string& d) { prog.detail(d); });
  } catch (const Interrupted&) {
    return stop(true);
  }
  const Hooks hook = opt.perturb ? Hooks{perturbation_hook(*opt.perturb), vision_perturbation_hook(*opt.perturb)} : Hooks{};
  for (const auto& name : names) {
    if (prog.stop_requested()) return stop();
    prog.step(name);
    const BackendEntry* e = registry().find(name);
    if (!e) throw Error("unknown backend '" + name + "'");
    const std::string why = e->why_unavailable();
    if (!why.empty()) {
      BackendCheck bc;
      bc.name = name;
      // Asked for by name (--backends) but unavailable: that request cannot be honoured, so the run fails.
      // In the default list (every registered backend) it is reported as skipped, with the reason.
      bc.status = opt.backends.empty() ? "skipped" : "error";
      bc.reason = why;
      r.backends.push_back(std::move(bc));
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const bool oracle = name == "ref-f64" && r.reference == "ref-f64", plain = oracle || name == "ref-bf16";
      // reuse the oracle / budget runs above (teacher forcing the oracle on itself changes nothing)
      const Runs got = oracle ? Runs{Precision::F64, {}, ref, ref}
                       : name == "ref-bf16" ? budget
                                            : run_both(name, m, ref, in, hook, [&](const std::string& d) { prog.detail(d); });
      BackendCheck bc = judge_backend(name, got.precision, got.forced, got.free_run, ref, budget.forced,
                                      budget.free_run, cfg, opt.tol, got.not_produced);
      bc.seconds = seconds_since(t0);
      // The oracle against itself and the budget against its own error bound cannot fail: they are
      // reported (the budget's errors are the yardstick) but do not count as checked backends.
      if (plain) {
        bc.status = name == "ref-bf16" ? "budget" : "oracle";
        r.backends.push_back(std::move(bc));
        continue;
      }
      r.backends.push_back(std::move(bc));
    } catch (const Interrupted&) {  // not a std::exception: never recorded as the backend's error
      return stop(true);
    } catch (const std::exception& ex) {
      BackendCheck bc;
      bc.name = name;
      bc.reason = ex.what();
      bc.seconds = seconds_since(t0);
      // A backend that cannot run images ("image inputs are not supported") is skipped on a MiniMax-VL-01
      // check, with its reason; it is not a failure of the backend. (Every registered backend runs images
      // today; a test-only backend may not.)
      if (has_images && bc.reason.find("image inputs are not supported") != std::string::npos) {
        bc.status = "skipped";
        r.backends.push_back(std::move(bc));
        continue;
      }
      bc.status = "error";
      r.backends.push_back(std::move(bc));
    }
    ++r.checked;
  }
  prog.done();
  r.pass = r.checked > 0 && (!r.golden || r.golden->pass);
  for (const auto& b : r.backends)
    if (b.status == "fail" || b.status == "error") r.pass = false;
  return r;  // a signal during the last backend stopped nothing: the run is complete (the command exits 130)
}

nlohmann::json to_json(const CheckResult& r, const CheckOptions& opt) {
  nlohmann::json j;
  j["reference"] = r.reference;
  j["budget_backend"] = "ref-bf16";
  j["rule"] = {{"formula", "err(backend) <= k * err(ref-bf16) + floor, err in {max_abs (>= min_elements_for_max "
                           "values), rel_fro}; NMSE <= ceiling; no NaN; router choices exact where margin >= "
                           "2k*err_bf16(probs)+floor"},
               {"modes", "layers.*, decode.layers.*, final_norm, logits: teacher-forced (each layer on the "
                         "reference's input), judged by the formula; e2e.*: free running, the formula reported "
                         "(within_rule), failing only on NaN/Inf or cosine < e2e_min_cosine; rows rerouted by "
                         "router flips left out per run (reroute.h)"},
               {"min_elements_for_max", opt.tol.min_elements_for_max},
               {"e2e_min_cosine", opt.tol.e2e_min_cosine},
               {"k", opt.tol.k},
               {"floor_rel", opt.tol.floor_rel},
               {"nmse_ceiling", [&] {
                  nlohmann::json c = nlohmann::json::object();
                  for (const auto& [p, v] : opt.tol.nmse_ceiling) c[to_string(p)] = v;
                  return c;
                }()}};
  j["inputs"] = {{"prompt_len", r.prompt.size()}, {"decode_steps", r.decode.size()},
                 {"prompt_tokens", r.prompt}, {"decode_tokens", r.decode}};
  if (!r.images.empty()) {  // MiniMax-VL-01: the prompt's images (prompt_len counts their placeholders)
    int64_t image_tokens = 0;
    nlohmann::json ims = nlohmann::json::array();
    for (const auto& im : r.images) {
      image_tokens += im.tokens;
      if (!im.file.empty())  // a golden case's image file
        ims.push_back({{"width", im.width}, {"height", im.height}, {"file", im.file}, {"crops", im.crops},
                       {"tokens", im.tokens}});
      else
        ims.push_back({{"width", im.width}, {"height", im.height}, {"mode", "RGB"}, {"content", "noise"},
                       {"seed", im.seed}, {"crops", im.crops}, {"tokens", im.tokens}});
    }
    j["inputs"]["images"] = std::move(ims);
    j["inputs"]["image_token_id"] = r.image_token_id;
    j["inputs"]["text_tokens"] = static_cast<int64_t>(r.prompt.size()) - image_tokens;
  }
  if (r.golden) {  // MiniMax-VL-01 --golden: the oracle against the case (GoldenAgreement)
    const GoldenAgreement& g = *r.golden;
    nlohmann::json ts = nlohmann::json::array();
    for (const auto& t : g.tensors)
      ts.push_back({{"name", t.name}, {"produced", t.produced}, {"shape_ok", t.shape_ok}, {"pass", t.pass}, {"rel_fro", t.rel_fro},
                    {"max_abs", t.max_abs}, {"tol_rel_fro", t.tol_rel_fro}, {"tol_max_abs", t.tol_max_abs}});
    j["golden"] = {{"case", g.case_name}, {"backend", "ref-f64"}, {"tolerance", g.tolerance}, {"pass", g.pass},
                   {"failed", g.failed}, {"first_failing", g.first_failing.empty() ? nlohmann::json() : nlohmann::json(g.first_failing)},
                   {"tensors", std::move(ts)}};
  }
  if (opt.perturb)
    j["perturbation"] = {{"layer", opt.perturb->layer}, {"rel", opt.perturb->rel}, {"seed", opt.perturb->seed},
                         {"family", opt.perturb->vision ? "vision_encoder" : "text_decoder"}};
  j["backends"] = nlohmann::json::array();
  for (const auto& b : r.backends) {
    nlohmann::json bj = {{"name", b.name}, {"status", b.status}, {"seconds", b.seconds}, {"failed", b.failed}};
    if (!b.reason.empty()) bj["reason"] = b.reason;
    auto rr = [](const BackendCheck::Rerouted& x) {
      return nlohmann::json{{"backend", x.backend}, {"budget", x.budget}, {"considered", x.considered}};
    };
    bj["rows_rerouted_by_router_flips"] = {{"teacher_forced", rr(b.layerwise_rows)},
                                           {"end_to_end", rr(b.end_to_end_rows)},
                                           {"backend_max_fraction", RowMask::max_fraction},
                                           {"cap_from_rows", RowMask::min_rows_for_cap}};
    bj["inconclusive"] = b.inconclusive;
    if (!b.first_diverging.empty())
      bj["first_diverging"] = {{"tensor", b.first_diverging}, {"layer", b.first_layer}, {"phase", b.first_phase},
                               {"family", b.first_family}};
    bj["tensors"] = nlohmann::json::array();
    for (const auto& v : b.tensors) bj["tensors"].push_back(to_json(v));
    j["backends"].push_back(std::move(bj));
  }
  j["checked"] = r.checked;
  j["pass"] = r.pass;
  return j;
}

std::string summary(const CheckResult& r) {
  std::string s;
  char buf[1024];
  std::snprintf(buf, sizeof buf, "check: reference %s, budget ref-bf16; prompt %zu tokens + %zu decode steps\n",
                r.reference.c_str(), r.prompt.size(), r.decode.size());
  s += buf;
  if (!r.images.empty()) {
    std::string each;
    int64_t image_tokens = 0;
    for (const auto& im : r.images) {
      image_tokens += im.tokens;
      each += (each.empty() ? "" : ", ") + std::to_string(im.width) + "x" + std::to_string(im.height) + " (" +
              std::to_string(im.crops) + " crops, " + std::to_string(im.tokens) + " tokens)";
    }
    s += "       prompt: " + std::to_string(static_cast<int64_t>(r.prompt.size()) - image_tokens) + " text tokens + " +
         std::to_string(r.images.size()) + (r.golden ? " images of the case: " : " seeded images: ") + each +
         "; vision tower teacher-forced per layer\n";
  }
  if (r.golden) {
    const GoldenAgreement& g = *r.golden;
    double worst = 0;
    std::string worst_name;
    for (const auto& t : g.tensors)
      if (t.produced && t.rel_fro >= worst) worst = t.rel_fro, worst_name = t.name;
    std::snprintf(buf, sizeof buf,
                  "  golden    %-7s ref-f64 (the oracle below) against golden:%s, %zu stored tensors at the manifest's "
                  "%s: %d failed; worst rel_fro %.2e (%s)\n",
                  g.pass ? "PASS" : "FAIL", g.case_name.c_str(), g.tensors.size(), g.tolerance.c_str(), g.failed, worst,
                  worst_name.c_str());
    s += buf;
    for (const auto& t : g.tensors)
      if (t.name == g.first_failing) {
        if (!t.produced)
          std::snprintf(buf, sizeof buf, "            first failing tensor %s: not produced\n", t.name.c_str());
        else if (!t.shape_ok)
          std::snprintf(buf, sizeof buf, "            first failing tensor %s: shape differs from the case's\n", t.name.c_str());
        else
          std::snprintf(buf, sizeof buf, "            first failing tensor %s: rel_fro %.3e (tol %.3e), max_abs %.3e (tol %.3e)\n",
                        t.name.c_str(), t.rel_fro, t.tol_rel_fro, t.max_abs, t.tol_max_abs);
        s += buf;
      }
  }
  for (const auto& b : r.backends) {
    if (b.status == "skipped" || b.status == "error") {
      std::snprintf(buf, sizeof buf, "  %-9s %-7s %s\n", b.name.c_str(), b.status == "skipped" ? "SKIPPED" : "ERROR",
                    b.reason.c_str());
      s += buf;
      continue;
    }
    double worst_rel = 0, worst_ratio = 0;
    std::string worst;
    for (const auto& v : b.tensors) {
      if (v.choices || !std::isfinite(v.err.rel_fro)) continue;
      worst_rel = std::max(worst_rel, v.err.rel_fro);
      const double ratio = v.tol_rel_fro > 0 ? v.err.rel_fro / v.tol_rel_fro : 0;
      if (ratio >= worst_ratio) { worst_ratio = ratio; worst = v.name; }
    }
    int choices = 0, ignored = 0;
    for (const auto& v : b.tensors)
      if (v.choices) { choices += static_cast<int>(v.choices->compared); ignored += static_cast<int>(v.choices->ignored); }
    std::snprintf(buf, sizeof buf,
                  "  %-9s %-7s %3zu tensors, %d failed; worst rel_fro %.2e; closest to tolerance %s (%.0f%% of it); "
                  "router choices %d compared, %d ignored (margin within 2x prob error); rows rerouted (backend/budget "
                  "of all): %lld/%lld of %lld per layer, %lld/%lld of %lld end to end; %d inconclusive; %.2f s\n",
                  b.name.c_str(),
                  b.status == "pass" ? "PASS" : b.status == "oracle" ? "ORACLE" : b.status == "budget" ? "BUDGET" : "FAIL", b.tensors.size(), b.failed, worst_rel,
                  worst.c_str(), 100 * worst_ratio, choices, ignored, static_cast<long long>(b.layerwise_rows.backend),
                  static_cast<long long>(b.layerwise_rows.budget), static_cast<long long>(b.layerwise_rows.considered),
                  static_cast<long long>(b.end_to_end_rows.backend), static_cast<long long>(b.end_to_end_rows.budget),
                  static_cast<long long>(b.end_to_end_rows.considered), b.inconclusive, b.seconds);
    s += buf;
    // the vision tower's tensors on their own line (MiniMax-VL-01)
    int n_vision = 0;
    double vision_worst = 0;
    std::string vision_worst_name;
    for (const auto& v : b.tensors) {
      const Family f = TensorId::parse(v.name).family;
      if (f != Family::VisionEncoder && f != Family::Projector) continue;
      ++n_vision;
      if (std::isfinite(v.err.rel_fro) && v.err.rel_fro >= vision_worst) {
        vision_worst = v.err.rel_fro;
        vision_worst_name = v.name;
      }
    }
    if (n_vision) {
      std::snprintf(buf, sizeof buf, "            vision tower + projector: %d tensors; worst rel_fro %.2e (%s)\n", n_vision,
                    vision_worst, vision_worst_name.c_str());
      s += buf;
    }
    if (!b.first_diverging.empty()) {
      // "vision layer L" for the vision tower, "layer L" for the text decoder
      std::string where;
      if (b.first_family == "vision_encoder")
        where = b.first_layer >= 0 ? "vision layer: " + std::to_string(b.first_layer) : "in the vision tower:";
      else if (b.first_family == "projector")
        where = "in the projector:";
      else
        where = "layer: " + std::to_string(b.first_layer);
      std::snprintf(buf, sizeof buf, "            first diverging %s (%s), tensor %s: %s\n", where.c_str(),
                    b.first_phase.c_str(), b.first_diverging.c_str(), b.reason.c_str());
      s += buf;
    } else if (b.status == "fail" && !b.reason.empty()) {  // a failure of no single tensor (e.g. the reroute cap)
      s += "            " + b.reason + "\n";
    }
  }
  if (r.prompt.size() < 16)
    s += "note: a prompt of fewer than 16 tokens gives few values per tensor; the error statistics (and the\n"
         "      verdicts) are less stable than on the default 300 (docs/harness.md)\n";
  if (r.interrupted)
    s += "check: INCOMPLETE (interrupted by " + r.interrupted->signal + " after " + std::to_string(r.interrupted->steps_done) +
         " of " + std::to_string(r.interrupted->steps_total) + " steps): no verdict, the backends above are what was judged\n";
  else
    s += r.pass ? "check: PASS\n" : r.checked ? "check: FAIL\n" : "check: FAIL (no backend could be checked)\n";
  return s;
}

}  // namespace mm::harness
