// minimax01 generate: prefill the prompt, then decode token by token with greedy or seeded sampling,
// on the reference (ref-*) or on the optimized kernels (cuda on a GPU, cuda-sim on the CPU).
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_loader.h"
#include "reference/sampling.h"
#if defined(MM_HAVE_CUDA_MODEL)
#include "optimized/model/cuda_model_loader.h"
#endif

namespace mm::cli {
namespace {

struct Request {
  std::vector<int64_t> prompt;
  int64_t n_new = 0;
  ref::SamplingParams sp;
  uint64_t seed = 0;
};

Request parse(const Args& a) {
  Request r;
  r.prompt = a.int_list("prompt-tokens");
  if (r.prompt.empty()) throw Error("generate: --prompt-tokens is empty (the prompt needs at least one token)");
  r.n_new = a.integer("max-new-tokens", 16);
  if (r.n_new < 0) throw Error("generate: --max-new-tokens must be >= 0");
  r.sp.temperature = a.number("temperature", 0.0);
  r.sp.top_k = static_cast<int>(a.integer("top-k", 0));
  r.sp.top_p = a.number("top-p", 1.0);
  r.seed = static_cast<uint64_t>(a.integer("seed", 0));
  return r;
}

// The generation loop for every backend: run(tokens) runs one step (the prompt as one prefill, then
// one token per decode step), choose() picks the next token from that step's last logits row. Prints
// the new tokens and the throughput (prefill time includes choosing the first token).
template <class Run, class Choose>
void generate(const std::string& backend, const Request& r, Run&& run, Choose&& choose) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> out;
  run(r.prompt);
  if (r.n_new > 0) out.push_back(choose());
  const auto t1 = std::chrono::steady_clock::now();
  while (static_cast<int64_t>(out.size()) < r.n_new) {
    run({out.back()});
    out.push_back(choose());
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double pre = std::chrono::duration<double>(t1 - t0).count(), dec = std::chrono::duration<double>(t2 - t1).count();
  std::printf("backend %s; generated %zu tokens:", backend.c_str(), out.size());
  for (auto t : out) std::printf(" %lld", static_cast<long long>(t));
  std::printf("\nprefill: %zu tokens in %.3f s (%.1f tokens/s)", r.prompt.size(), pre, r.prompt.size() / pre);
  if (out.size() > 1) std::printf("; decode: %zu tokens in %.3f s (%.1f tokens/s)", out.size() - 1, dec, (out.size() - 1) / dec);
  std::printf("\n");
}

template <class P>
int run_generate(const Args& a) {
  using T = typename P::T;
  const Request r = parse(a);
  Rng rng(r.seed);
  auto model = load_model<P>(a.required("model"));
  auto cache = model.new_cache();
  ref::Mat<T> last;
  generate(P::kName, r, [&](const std::vector<int64_t>& tokens) { last = model.forward(tokens, cache); },
           [&] {
             std::vector<double> row(static_cast<std::size_t>(last.cols()));
             for (Eigen::Index j = 0; j < last.cols(); ++j) row[static_cast<std::size_t>(j)] = last(last.rows() - 1, j);
             return ref::sample_token(row, r.sp, rng);
           });
  return 0;
}

#if defined(MM_HAVE_CUDA_MODEL)
// The optimized kernels: each step's next token is chosen on the device (Model::sample, the fastest
// optimized/sampling version) from the step's bf16 logits, with the uniforms drawn from the same seeded
// Rng as the reference draws them (cuda_model::sample_next), so equal logits give equal tokens. Steps
// make only their last logits row (Logits::last_row), the one sampled: the prefill runs the lm_head on
// one row and copies V values back, not S x V.
int run_generate_cuda(const Args& a, const std::string& backend) {
  const Request r = parse(a);
  Rng rng(r.seed);
  const std::string dir = a.required("model");
  const ModelConfig c = load_config(dir);
  auto model = cuda_model::open_model(backend, c, dir);
  generate(backend, r,
           [&](const std::vector<int64_t>& tokens) {
             cuda_model::check_tokens(c, tokens, model->position());
             model->step(tokens, false, {}, false, cuda_model::Logits::last_row);
           },
           [&] { return cuda_model::sample_next(*model, r.sp, rng); });
  std::printf("kernels: %s\n", model->kernels().c_str());
  return 0;
}
#endif

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  Args a("generate", argv, {"model", "prompt-tokens", "max-new-tokens", "temperature", "top-k", "top-p", "seed", "backend"});
  a.required("model");
  a.required("prompt-tokens");
  const std::string backend = a.str("backend", "ref-f32");
#if defined(MM_HAVE_CUDA_MODEL)
  if (backend == "cuda" || backend == "cuda-sim") return run_generate_cuda(a, backend);
#endif
  return with_reference_backend(backend, [&](auto p) { return run_generate<decltype(p)>(a); });
}

}  // namespace mm::cli
