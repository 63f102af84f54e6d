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
  if (!in.hidden.empty()) {
    const HiddenIn& h = in.hidden;
    require(in.images.empty() && in.spliced.empty(),
            "forward: a hidden state in replaces the embeddings; it cannot come with images");
    require(h.rows == in.length() && h.cols == cfg.hidden_size &&
                h.values.size() == static_cast<std::size_t>(h.rows) * static_cast<std::size_t>(h.cols),
            "forward: the hidden state in is [" + std::to_string(h.rows) + ", " + std::to_string(h.cols) + "] with " +
                std::to_string(h.values.size()) + " values, expected [tokens = " + std::to_string(in.length()) +
                ", hidden_size = " + std::to_string(cfg.hidden_size) + "]");
    for (std::size_t i = 0; i < h.values.size(); ++i)
      require(std::isfinite(h.values[i]), "forward: hidden state in value " + std::to_string(i) + " (row " +
                                              std::to_string(static_cast<int64_t>(i) / h.cols) + ") is not finite");
    return;
  }
  if (!in.images.empty()) {
    require(in.spliced.empty(), "forward: both images and spliced image embeddings given; expected one of them");
    require(in.image_token_id >= 0 && in.image_token_id < cfg.vocab_size,
            "forward: image token id " + std::to_string(in.image_token_id) + " is out of range [0, vocab_size = " +
                std::to_string(cfg.vocab_size) + ")");
    int64_t placeholders = 0, wanted = 0;
    for (int64_t id : in.tokens) placeholders += id == in.image_token_id;
    for (std::size_t k = 0; k < in.images.size(); ++k) {
      const ImageCrops& im = in.images[k];
      const std::string which = "forward: image " + std::to_string(k + 1) + " of " + std::to_string(in.images.size());
      require(im.num_crops >= 1 && im.num_tokens >= 1 && im.crop_size >= 1 &&
                  im.pixel_values.size() == static_cast<std::size_t>(im.num_crops * 3 * im.crop_size * im.crop_size),
              which + ": " + std::to_string(im.pixel_values.size()) + " pixel values for " +
                  std::to_string(im.num_crops) + " crops of 3 x " + std::to_string(im.crop_size) + " x " +
                  std::to_string(im.crop_size));
      wanted += im.num_tokens;
    }
    require(placeholders == wanted,
            "forward: " + std::to_string(placeholders) + " image tokens (id " + std::to_string(in.image_token_id) +
                ") in the step, but the " + std::to_string(in.images.size()) + " image(s) fill " +
                std::to_string(wanted) + "; expected each image's placeholders expanded to its token count");
    return;
  }
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
