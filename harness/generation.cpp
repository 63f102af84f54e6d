#include "harness/generation.h"

#include "core/error.h"

namespace mm::harness {

std::vector<int64_t> generate_tokens(Backend& b, const ModelInput& prompt, int64_t max_tokens, const GenerationSteps& g) {
  require(max_tokens >= 0, "generate_tokens: max_tokens must be >= 0");
  require(static_cast<bool>(g.choose) || max_tokens == 0, "generate_tokens: no way to choose a token");
  std::vector<int64_t> out;
  StepResult r = b.step(prompt, g.prefill);
  for (int64_t i = 0;; ++i) {
    if (i < max_tokens) {
      out.push_back(g.choose(r));
      if (g.on_token) g.on_token(i, out.back());
    }
    if (g.on_step) g.on_step(i, r);
    if (i + 1 >= max_tokens) break;
    r = b.step({out.back()}, g.decode);
  }
  return out;
}

}  // namespace mm::harness
