// The one generation loop, shared by `generate`, `bench` (TPOT) and `soak`: prefill the prompt, choose a
// token from the step's last logits row, feed it as the next decode step, and so on.
//
//   step 0: prefill(prompt) -> choose -> token 0
//   step i: decode(token i-1) -> choose -> token i          for i = 1 .. max_tokens-1
//
// The last token chosen is not fed (a server returns it; soak and bench discard it). The caller resets
// the backend first when it wants a new sequence.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "harness/backend.h"

namespace mm::harness {

struct GenerationSteps {
  StepRequest prefill;  // what the prompt's step asks for (hook, capture, all logits, timing)
  StepRequest decode;   // what each decode step asks for
  // The next token from a step's result (greedy: argmax_last_row; sampling: Backend::next_token).
  std::function<int64_t(const StepResult&)> choose;
  // Optional: each token as soon as it is chosen (so a caller keeps them when a later step throws, and
  // can stop a clock at the first one).
  std::function<void(int64_t index, int64_t token)> on_token;
  // Optional: every step's result, after its token was chosen (step 0 = the prefill).
  std::function<void(int64_t step, const StepResult&)> on_step;
};

// Runs the loop above and returns the max_tokens chosen tokens. max_tokens = 0 runs the prefill alone.
// Whatever a step or `choose` throws is passed on (the tokens so far went to on_token).
std::vector<int64_t> generate_tokens(Backend& b, const ModelInput& prompt, int64_t max_tokens, const GenerationSteps& g);

}  // namespace mm::harness
