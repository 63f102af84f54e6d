// minimax01 generate: prefill the prompt, then decode token by token with greedy or seeded sampling,
// on any registered backend (the reference ref-*, the kernels cuda on a GPU and cuda-sim on the CPU).
#include <cstdio>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/harness_common.h"
#include "cli/image_inputs.h"
#include "cli/layer_slices.h"
#include "cli/stdout_document.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/interrupt.h"
#include "core/sampling_params.h"
#include "harness/backend.h"
#include "harness/generation.h"

namespace mm::cli {
namespace {

struct Request {
  ModelInput prompt;  // MiniMax-VL-01: placeholders expanded, images attached (--images)
  int64_t n_new = 0;
  SamplingParams sp;
  uint64_t seed = 0;
};

Request parse(const Args& a) {
  Request r;
  r.prompt.tokens = a.tokens("prompt-tokens", "prompt-tokens-file");
  if (r.prompt.tokens.empty())
    throw Error(std::string("generate: ") +
                (a.has("prompt-tokens-file") ? "--prompt-tokens-file holds no token" : "--prompt-tokens is empty") +
                " (the prompt needs at least one token)");
  r.n_new = a.integer("max-new-tokens", 16, 0, kMaxTokens);
  r.sp.temperature = a.number("temperature", 0.0, 0.0, 1000.0);
  r.sp.top_k = a.integer32("top-k", 0, 0, std::numeric_limits<int>::max());
  r.sp.top_p = a.number("top-p", 1.0, 0.0, 1.0, Bounds::OpenLow);
  r.seed = a.seed("seed");
  return r;
}

// Generates on `b` through the one generation loop (harness/generation.h). Steps make only their last
// logits row (StepRequest::all_logits = false), the one the next token is chosen from: a long prompt's
// prefill runs the lm_head on one row. The backend chooses (Backend::next_token): the reference on the
// host, the kernels on the device, both drawing the same seeded uniforms, so equal logits give equal
// tokens. Prints the new tokens and the throughput (prefill time includes choosing the first token).
// A step that fails part-way (the context limit max_position_embeddings, bad logits, a device error)
// ends the generation: the tokens made before it are printed first, then the error is passed on (exit 3).
void generate(harness::Backend& b, const Request& r, StdoutDocument& doc) {
  Rng rng(r.seed);
  harness::GenerationSteps g;
  g.prefill.all_logits = g.decode.all_logits = false;
  g.choose = [&](const harness::StepResult& last) { return b.next_token(last, r.sp, rng); };
  std::vector<int64_t> out;
  // SIGINT / SIGTERM (core/interrupt.h): stop between two decode steps; the tokens so far are printed.
  auto stop_if_interrupted = [&] {
    if (!interrupt_at_step_boundary()) return;
    throw Interrupted("interrupted by " + interrupt_signal_name() + " after " + std::to_string(out.size()) + " of " +
                      std::to_string(r.n_new) + " new tokens" + (out.empty() ? std::string() : " (printed above)"));
  };
  g.on_token = [&](int64_t, int64_t t) {
    out.push_back(t);
    if (static_cast<int64_t>(out.size()) < r.n_new) stop_if_interrupted();  // the last token: the run is done
  };
  const auto t0 = SteadyClock::now();
  auto t1 = t0;
  g.on_step = [&](int64_t step, const harness::StepResult&) {
    if (step == 0) t1 = SteadyClock::now();
  };
  const std::string& backend = b.name();
  auto print_partial = [&](const char* why) {
    if (out.empty()) return;
    std::printf("backend %s; generated %zu of %lld tokens before %s:", backend.c_str(), out.size(),
                static_cast<long long>(r.n_new), why);
    for (auto t : out) std::printf(" %lld", static_cast<long long>(t));
    std::printf("\n");
    std::fflush(stdout);
  };
  try {
    stop_if_interrupted();  // a signal while the model loaded
    harness::generate_tokens(b, r.prompt, r.n_new, g);
  } catch (const Interrupted&) {
    print_partial("the interrupt");
    throw;
  } catch (const Error& e) {
    print_partial("the error");
    if (out.empty()) throw;
    throw Error("generate: stopped after " + std::to_string(out.size()) + " of " + std::to_string(r.n_new) +
                " new tokens (printed above): " + e.what());
  } catch (...) {
    print_partial("the error");
    throw;
  }
  const auto t2 = SteadyClock::now();
  const double pre = seconds_between(t0, t1), dec = seconds_between(t1, t2);
  const std::size_t n_prompt = r.prompt.tokens.size();
  if (doc.active()) {
    const nlohmann::json j = {
        {"backend", backend},
        {"kernels", b.kernels().empty() ? nlohmann::json(nullptr) : nlohmann::json(b.kernels())},
        {"prompt_tokens", n_prompt},  // after the images' placeholders are expanded
        {"new_tokens", out},
        {"sampling", {{"temperature", r.sp.temperature}, {"top_k", r.sp.top_k}, {"top_p", r.sp.top_p}, {"seed", r.seed}}},
        // prefill includes choosing the first token; decode the steps after it
        {"seconds", {{"prefill", pre}, {"decode", dec}}},
        {"tokens_per_second",
         {{"prefill", n_prompt / pre}, {"decode", out.size() > 1 ? nlohmann::json((out.size() - 1) / dec) : nlohmann::json(nullptr)}}}};
    doc.write(j.dump(2) + "\n");
    return;
  }
  std::printf("backend %s; generated %zu tokens:", backend.c_str(), out.size());
  for (auto t : out) std::printf(" %lld", static_cast<long long>(t));
  std::printf("\nprefill: %zu tokens in %.3f s (%.1f tokens/s)", n_prompt, pre, n_prompt / pre);
  if (out.size() > 1) std::printf("; decode: %zu tokens in %.3f s (%.1f tokens/s)", out.size() - 1, dec, (out.size() - 1) / dec);
  std::printf("\n");
  if (!b.kernels().empty()) std::printf("kernels: %s\n", b.kernels().c_str());
}

// Any registered backend.
int run_generate(const Args& a, const std::string& backend, StdoutDocument& out) {
  Request r = parse(a);
  harness::registry().require_available(backend);  // an unknown backend before loading anything
  const WeightResidency weights = weights_option(a);
  const std::string dir = a.required("model");
  harness::LoadedModel m = harness::load_model(dir);
  m.weights = weights;
  layers_option(a, m);
  if (!m.config.runs_head())
    throw UsageError("generate: --layers " + run_layers_string(m.config) + " ends before layer " +
                     std::to_string(m.config.stored_end() - 1) + ", the checkpoint's last: the next token is sampled "
                     "from the head that follows it (use forward --layers to run a slice)");
  a.check_file_token_ids("prompt-tokens-file", r.prompt.tokens, m.config.vocab_size);
  require_run_memory(m, backend, static_cast<int64_t>(r.prompt.tokens.size()), r.n_new, false, false, "generate");
  PromptImages images = prepare_prompt_images(a, dir, m.vl, r.prompt.tokens,
                                              a.has("prompt-tokens-file") ? "--prompt-tokens-file" : "--prompt-tokens");
  r.prompt.tokens = std::move(images.tokens);
  r.prompt.images = std::move(images.images);
  r.prompt.image_token_id = images.image_token_id;
  const std::unique_ptr<harness::Backend> b = harness::registry().make(backend, m);
  generate(*b, r, out);
  return 0;
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  const Args a(command_spec("generate"), argv);
  a.required("model");
  if (!a.has("prompt-tokens") && !a.has("prompt-tokens-file"))
    throw UsageError("generate: missing required option --prompt-tokens (or --prompt-tokens-file PATH, '-' for standard input)");
  StdoutDocument out(a.has("json"));  // --json: the result alone on standard output, the rest on standard error
  return run_generate(a, a.str("backend", "ref-f32"), out);
}

}  // namespace mm::cli
