#include "core/model_input.h"

#include "core/config.h"
#include "core/error.h"

#include <cmath>

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
  const SplicedEmbeddings& e = in.spliced;
  if (e.empty()) return;
  require(e.token_id < cfg.vocab_size, "forward: image token id " + std::to_string(e.token_id) +
                                           " is out of range [0, vocab_size = " + std::to_string(cfg.vocab_size) + ")");
  int64_t placeholders = 0;
  for (int64_t id : in.tokens) placeholders += id == e.token_id;
  require(e.rows == placeholders,
          "forward: " + std::to_string(e.rows) + " image embedding rows for " + std::to_string(placeholders) +
              " image tokens (id " + std::to_string(e.token_id) + ") in the step; expected one row per image token");
  require(e.cols == cfg.hidden_size, "forward: image embeddings are " + std::to_string(e.cols) +
                                         " wide, expected hidden_size = " + std::to_string(cfg.hidden_size));
  require(e.values.size() == static_cast<std::size_t>(e.rows) * static_cast<std::size_t>(e.cols),
          "forward: image embeddings hold " + std::to_string(e.values.size()) + " values, expected rows x cols = " +
              std::to_string(e.rows * e.cols));
  for (std::size_t i = 0; i < e.values.size(); ++i)
    require(std::isfinite(e.values[i]), "forward: image embedding value " + std::to_string(i) + " (row " +
                                            std::to_string(static_cast<int64_t>(i) / e.cols) + ") is not finite");
}

}  // namespace mm
