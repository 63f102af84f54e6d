#include "core/model_input.h"

#include "core/config.h"
#include "core/error.h"

namespace mm {

void check_token_ids(const std::vector<int64_t>& ids, int64_t vocab_size, const std::string& where, int64_t position) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (id < 0 || id >= vocab_size)
      throw Error(where + ": token id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " is out of range [0, vocab_size = " + std::to_string(vocab_size) + ")" +
                  (position ? " (absolute position " + std::to_string(position + static_cast<int64_t>(i)) + ")" : ""));
  }
}

void check_model_input(const ModelConfig& cfg, const ModelInput& in, int64_t position) {
  require(!in.tokens.empty(), "forward: empty token list (the prompt must have at least one token)");
  require(position + in.length() <= cfg.max_position_embeddings,
          "forward: position " + std::to_string(position + in.length()) + " exceeds max_position_embeddings = " +
              std::to_string(cfg.max_position_embeddings));
  check_token_ids(in.tokens, cfg.vocab_size, "forward", position);
}

}  // namespace mm
