// minimax01 forward: prefill + decode, dumping the outside-check contract
// (F32 logits [S,V], hidden_states [L,S,H], decode_logits [N,V]); see docs/forward-dump.md.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/harness_common.h"
#include "cli/image_inputs.h"
#include "cli/layer_slices.h"
#include "cli/output_guard.h"
#include "cli/stdout_document.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/forward_dump.h"
#include "core/interrupt.h"
#include "core/safetensors.h"
#include "harness/backend.h"
#include "harness/tensor_id.h"

namespace mm::cli {

// What the run hands to the report and dump: row-major logits [S, V], layer outputs
// [L, S, H] and decode logits [N, V] (values as the backend produced them, widened to double).
struct ForwardRun {
  std::string backend, kernels;  // kernels: empty for the reference
  int64_t S = 0, N = 0, L = 0, H = 0, V = 0;  // L: the layers run (B - A for a slice)
  std::vector<double> logits, hidden, dec;     // logits and dec empty for a slice ending before the head
  // A slice run (--layers, a slice checkpoint; docs/slices.md): the layers it went through, the whole
  // model's layer count, and the hidden state leaving its last layer at the prompt [S, H] and at each
  // decode step [N, H].
  bool slice = false, head = true;
  std::string layers, tokens_sha256;
  int64_t num_hidden_layers = 0;
  std::vector<double> hidden_out, dec_hidden_out;
  // MiniMax-VL-01 only: the crops of every image [crops, 3, 336, 336] and the packed, projected
  // features spliced at the image tokens [image tokens, H], in splice order.
  int64_t crops = 0, crop_size = 0, image_tokens = 0;
  std::vector<double> pixel_values, image_features;
  double load_s = 0, prefill_s = 0, decode_s = 0;
};

constexpr auto secs = seconds_between;

// The largest logit of one row [V] and its token (the lowest index among equals).
struct Argmax {
  int64_t token = 0;
  double logit = 0;
};
static Argmax argmax_of(const double* row, int64_t V) {
  int64_t am = 0;
  for (int64_t j = 1; j < V; ++j)
    if (row[j] > row[am]) am = j;
  return {am, row[am]};
}

// The dump's tensors written a chunk at a time straight from the run's vectors (no whole copy of the
// [S, V] logits).
static ChunkFillFn from_vectors(const std::vector<const std::vector<double>*>& src) {
  return [src](std::size_t i, int64_t offset, int64_t n, double* out) {
    require(offset >= 0 && n >= 0 && static_cast<std::size_t>(offset + n) <= src[i]->size(),
            "forward: a dump tensor holds fewer values than its shape says");
    std::copy_n(src[i]->data() + offset, n, out);
  };
}

// A slice run's dump (core/forward_dump.h kSliceDumpFormat).
static void write_slice_dump(const std::string& path, const ForwardRun& r) {
  std::vector<TensorSpec> specs = {{"hidden_states", DType::F32, {r.L, r.S, r.H}},
                                   {"hidden_out", DType::F64, {r.S, r.H}},
                                   {"decode_hidden_out", DType::F64, {r.N, r.H}}};
  std::vector<const std::vector<double>*> src = {&r.hidden, &r.hidden_out, &r.dec_hidden_out};
  if (r.head) {
    specs.push_back({"logits", DType::F32, {r.S, r.V}});
    specs.push_back({"decode_logits", DType::F32, {r.N, r.V}});
    src.push_back(&r.logits);
    src.push_back(&r.dec);
  }
  write_safetensors(path, specs, from_vectors(src),
                    {{"backend", r.backend},
                     {"format", kSliceDumpFormat},
                     {"layers", r.layers},
                     {"num_hidden_layers", std::to_string(r.num_hidden_layers)},
                     {"tokens_sha256", r.tokens_sha256}});
}

// The summary (text, or with --json one document on standard output: `out`) and, with --dump, the
// contract file (docs/forward-dump.md), or a slice's (docs/slices.md).
static int report(const Args& a, const ForwardRun& r, StdoutDocument& out) {
  const std::optional<Argmax> last =
      r.head ? std::optional<Argmax>(argmax_of(r.logits.data() + (r.S - 1) * r.V, r.V)) : std::nullopt;
  const std::optional<Argmax> last_decode =
      r.head && r.N ? std::optional<Argmax>(argmax_of(r.dec.data() + (r.N - 1) * r.V, r.V)) : std::nullopt;
  if (!out.active()) {
    std::printf("backend %s, %lld prompt tokens, %lld decode tokens\n", r.backend.c_str(), (long long)r.S, (long long)r.N);
    if (r.slice)
      std::printf("layers %s of %lld%s\n", r.layers.c_str(), (long long)r.num_hidden_layers,
                  r.head ? ", then the final norm and lm_head" : ": no head, the hidden state goes out");
    if (!r.kernels.empty()) std::printf("kernels: %s\n", r.kernels.c_str());
    std::printf("load %.2f s, prefill %.3f s, decode %.3f s\n", r.load_s, r.prefill_s, r.decode_s);
    if (last) std::printf("last prompt position: argmax token %lld, logit %.6g\n", (long long)last->token, last->logit);
    if (last_decode)
      std::printf("last decode step: argmax token %lld, logit %.6g\n", (long long)last_decode->token, last_decode->logit);
  }
  if (a.has("dump") && r.slice) {
    write_slice_dump(a.str("dump", ""), r);
    std::printf("wrote %s\n", a.str("dump", "").c_str());
  } else if (a.has("dump")) {
    const std::string path = a.str("dump", "");
    std::vector<TensorSpec> specs = {{"logits", DType::F32, {r.S, r.V}},
                                     {"hidden_states", DType::F32, {r.L, r.S, r.H}},
                                     {"decode_logits", DType::F32, {r.N, r.V}}};
    std::vector<const std::vector<double>*> src = {&r.logits, &r.hidden, &r.dec};
    if (r.crops) {
      specs.push_back({"pixel_values", DType::F32, {r.crops, 3, r.crop_size, r.crop_size}});
      specs.push_back({"image_features", DType::F32, {r.image_tokens, r.H}});
      src.push_back(&r.pixel_values);
      src.push_back(&r.image_features);
    }
    write_safetensors(path, specs, from_vectors(src), {{"backend", r.backend}, {"format", "minimax01-forward-v1"}});
    std::printf("wrote %s\n", path.c_str());
  }
  if (out.active()) {
    auto am = [](const Argmax& m) { return nlohmann::json{{"token", m.token}, {"logit", m.logit}}; };
    const nlohmann::json j = {
        {"backend", r.backend},
        {"kernels", r.kernels.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.kernels)},
        {"prompt_tokens", r.S},  // after the images' placeholders are expanded
        {"decode_tokens", r.N},
        {"image_tokens", r.image_tokens},
        {"crops", r.crops},
        {"layers", r.slice ? nlohmann::json(r.layers) : nlohmann::json(nullptr)},
        {"seconds", {{"load", r.load_s}, {"prefill", r.prefill_s}, {"decode", r.decode_s}}},
        {"last_prompt_position", last ? am(*last) : nlohmann::json(nullptr)},
        {"last_decode_step", last_decode ? am(*last_decode) : nlohmann::json(nullptr)},
        {"dump", a.has("dump") ? nlohmann::json(a.str("dump", "")) : nlohmann::json(nullptr)}};
    out.write(j.dump(2) + "\n");
  }
  return 0;
}

// The prompt (--tokens or --tokens-file) and the decode tokens (--decode-tokens or --decode-tokens-file).
struct ForwardTokens {
  std::vector<int64_t> prompt, decode;
};
static ForwardTokens forward_tokens(const Args& a) {
  if (a.str("tokens-file", "") == "-" && a.str("decode-tokens-file", "") == "-")
    throw UsageError("forward: --tokens-file and --decode-tokens-file cannot both read standard input ('-')");
  ForwardTokens t;
  t.prompt = a.tokens("tokens", "tokens-file");
  t.decode = a.tokens("decode-tokens", "decode-tokens-file");
  if (t.prompt.empty())
    throw Error(std::string("forward: ") + (a.has("tokens-file") ? "--tokens-file holds no token" : "--tokens is empty") +
                " (the prompt needs at least one token)");
  return t;
}

// Ids read from token files are range-checked here, naming the file; inline ones by the model.
static void check_file_ids(const Args& a, const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode,
                           int64_t vocab_size) {
  a.check_file_token_ids("tokens-file", prompt, vocab_size);
  a.check_file_token_ids("decode-tokens-file", decode, vocab_size);
}

// Any registered backend: the prefill captures every layer's output (the dump's hidden_states) and
// makes every logits row; each decode step makes its one row.
static int run_forward(const Args& a, const std::string& backend, StdoutDocument& out) {
  const auto [prompt, decode] = forward_tokens(a);
  harness::registry().require_available(backend);  // an unknown backend before loading anything
  const WeightResidency weights = weights_option(a);
  const auto t0 = SteadyClock::now();
  const std::string dir = a.required("model");
  harness::LoadedModel m = harness::load_model(dir);
  m.weights = weights;
  layers_option(a, m);
  const ModelConfig& c = m.config;
  check_file_ids(a, prompt, decode, c.vocab_size);
  const std::optional<SliceHidden> hidden_in = hidden_in_option(a, c, prompt, decode);
  require_run_memory(m, backend, static_cast<int64_t>(prompt.size()), static_cast<int64_t>(decode.size()), true, true,
                     "forward");
  if (hidden_in && a.has("images")) throw UsageError("forward: --hidden-in continues a text slice; it takes no --images");
  if (hidden_in && backend.rfind("ref-", 0) != 0)  // before the weights load, not at the first step
    throw UsageError("forward: --hidden-in runs on the reference backends (ref-f64, ref-f32, ref-bf16); " + backend +
                     " runs a slice from the token embeddings");
  refuse_image_token_in_decode(a, m.vl, decode, a.has("decode-tokens-file") ? "--decode-tokens-file" : "--decode-tokens");
  const PromptImages images = prepare_prompt_images(a, dir, m.vl, prompt, a.has("tokens-file") ? "--tokens-file" : "--tokens");
  for (std::size_t k = 0; k < images.paths.size(); ++k)
    std::printf("image %zu: %s, %lld x %lld, %lld crops, %lld image tokens\n", k + 1, images.paths[k].c_str(),
                (long long)images.images[k].width, (long long)images.images[k].height,
                (long long)images.images[k].num_crops, (long long)images.images[k].num_tokens);
  const std::unique_ptr<harness::Backend> b = harness::registry().make(backend, m);
  bool prefilled = false;
  const auto t1 = SteadyClock::now();
  harness::StepRequest capture;
  capture.capture = true;
  capture.hidden_out = true;  // a slice's dump holds it (no effect on a whole model)
  ModelInput in(images.tokens);
  in.images = images.images;
  in.image_token_id = images.image_token_id;
  if (hidden_in) in.hidden = {hidden_in->S, hidden_in->H, hidden_in->hidden_out};
  // SIGINT / SIGTERM (core/interrupt.h): stop between two steps and write no dump; a dump already at the
  // --dump path stays as it was.
  auto stop_if_interrupted = [&](std::size_t decoded) {
    if (!interrupt_at_step_boundary()) return;
    const std::string done = prefilled ? "the prefill and " + std::to_string(decoded) + " of " +
                                             std::to_string(decode.size()) + " decode steps"
                                       : std::string("loading the model");
    throw Interrupted("interrupted by " + interrupt_signal_name() + " after " + done + "; no dump written" +
                      (a.has("dump") ? " (" + a.str("dump", "") + " left as it was)" : std::string()) +
                      ": a partial dump would pass for a result");
  };
  stop_if_interrupted(0);
  harness::StepResult pre = b->step(in, capture);
  prefilled = true;
  const auto t2 = SteadyClock::now();
  ForwardRun r;
  r.backend = backend;
  r.kernels = b->kernels();
  r.S = static_cast<int64_t>(images.tokens.size());
  r.N = static_cast<int64_t>(decode.size());
  r.L = c.run_layer_count();
  r.H = c.hidden_size;
  r.V = c.vocab_size;
  r.slice = c.is_slice();
  r.head = c.runs_head();
  r.layers = run_layers_string(c);
  r.tokens_sha256 = slice_tokens_digest(prompt, decode);
  r.num_hidden_layers = c.num_hidden_layers;
  // What the dump needs of the prefill, moved or copied out; then the capture is let go before the
  // decode steps (harness/run_memory.cpp counts the run this way).
  r.logits = std::move(pre.logits.values);
  r.hidden_out = std::move(pre.hidden_out.values);
  if (!images.images.empty())
    r.image_features = pre.tensors.at(harness::TensorId::projector("image_features").name()).values;
  for (int64_t l = c.first_layer(); l < c.end_layer(); ++l) {
    const harness::Tensor& h = pre.tensors.at(harness::TensorId::decoder(static_cast<int>(l), "output").name());
    r.hidden.insert(r.hidden.end(), h.values.begin(), h.values.end());
  }
  pre.tensors.clear();
  for (std::size_t i = 0; i < decode.size(); ++i) {
    stop_if_interrupted(i);
    ModelInput step({decode[i]});
    if (hidden_in) {  // this step's row of the previous slice's decode hidden states
      const auto row = hidden_in->decode_hidden_out.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(c.hidden_size));
      step.hidden = {1, c.hidden_size, std::vector<double>(row, row + c.hidden_size)};
    }
    harness::StepRequest want;
    want.hidden_out = true;
    const harness::StepResult d = b->step(step, want);
    r.dec.insert(r.dec.end(), d.logits.values.begin(), d.logits.values.end());
    r.dec_hidden_out.insert(r.dec_hidden_out.end(), d.hidden_out.values.begin(), d.hidden_out.values.end());
  }
  const auto t3 = SteadyClock::now();
  for (const ImageCrops& im : images.images) {
    r.crops += im.num_crops;
    r.crop_size = im.crop_size;
    r.image_tokens += im.num_tokens;
    r.pixel_values.insert(r.pixel_values.end(), im.pixel_values.begin(), im.pixel_values.end());
  }
  r.load_s = secs(t0, t1);
  r.prefill_s = secs(t1, t2);
  r.decode_s = secs(t2, t3);
  return report(a, r, out);
}

int cmd_forward(const std::vector<std::string>& argv) {
  const Args a(command_spec("forward"), argv);
  a.required("model");
  if (!a.has("tokens") && !a.has("tokens-file"))
    throw UsageError("forward: missing required option --tokens (or --tokens-file PATH, '-' for standard input)");
  if (a.has("dump")) refuse_input_as_output(a, "dump", a.str("dump", ""));  // before the run, not after
  if (is_stdout_path(a.str("dump", "")))
    throw UsageError("forward: --dump takes a file path: a dump is a binary safetensors file, not for standard output ('-')");
  StdoutDocument out(a.has("json"));  // --json: the summary alone on standard output, the rest on standard error
  return run_forward(a, a.str("backend", "ref-f32"), out);
}

}  // namespace mm::cli
