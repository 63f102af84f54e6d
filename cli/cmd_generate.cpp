// minimax01 generate: prefill the prompt, then decode token by token with greedy or seeded sampling.
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_loader.h"
#include "reference/sampling.h"

namespace mm::cli {

template <class P>
static int run_generate(const Args& a) {
  using T = typename P::T;
  const auto prompt = a.int_list("prompt-tokens");
  if (prompt.empty()) throw Error("generate: --prompt-tokens is empty (the prompt needs at least one token)");
  const int64_t n_new = a.integer("max-new-tokens", 16);
  if (n_new < 0) throw Error("generate: --max-new-tokens must be >= 0");
  ref::SamplingParams sp;
  sp.temperature = a.number("temperature", 0.0);
  sp.top_k = static_cast<int>(a.integer("top-k", 0));
  sp.top_p = a.number("top-p", 1.0);
  Rng rng(static_cast<uint64_t>(a.integer("seed", 0)));
  auto model = load_model<P>(a.required("model"));
  auto cache = model.new_cache();
  auto next_from = [&](const ref::Mat<T>& logits) {
    std::vector<double> row(static_cast<std::size_t>(logits.cols()));
    for (Eigen::Index j = 0; j < logits.cols(); ++j) row[static_cast<std::size_t>(j)] = logits(logits.rows() - 1, j);
    return ref::sample_token(row, sp, rng);
  };
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> out;
  int64_t tok = 0;
  if (n_new > 0) out.push_back(tok = next_from(model.forward(prompt, cache)));
  else model.forward(prompt, cache);
  const auto t1 = std::chrono::steady_clock::now();
  while (static_cast<int64_t>(out.size()) < n_new) out.push_back(tok = next_from(model.forward({tok}, cache)));
  const auto t2 = std::chrono::steady_clock::now();
  const double pre = std::chrono::duration<double>(t1 - t0).count(), dec = std::chrono::duration<double>(t2 - t1).count();
  std::printf("backend %s; generated %zu tokens:", P::kName, out.size());
  for (auto t : out) std::printf(" %lld", static_cast<long long>(t));
  std::printf("\nprefill: %zu tokens in %.3f s (%.1f tokens/s)", prompt.size(), pre, prompt.size() / pre);
  if (out.size() > 1) std::printf("; decode: %zu tokens in %.3f s (%.1f tokens/s)", out.size() - 1, dec, (out.size() - 1) / dec);
  std::printf("\n");
  return 0;
}

int cmd_generate(const std::vector<std::string>& argv) {
  Args a("generate", argv, {"model", "prompt-tokens", "max-new-tokens", "temperature", "top-k", "top-p", "seed", "backend"});
  a.required("model");
  a.required("prompt-tokens");
  return with_reference_backend(a.str("backend", "ref-f32"), [&](auto p) { return run_generate<decltype(p)>(a); });
}

}  // namespace mm::cli
