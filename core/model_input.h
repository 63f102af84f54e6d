// What one model step consumes, typed, and the one check of it.
//
// A step (prefill or decode) takes a ModelInput: today the token ids of the step. MiniMax-VL-01 adds
// its image input (preprocessed crops, or precomputed image embeddings to splice at the image-token
// positions) as further fields here, so every backend and command keeps one signature.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace mm {

struct ModelConfig;  // core/config.h (kept out: the CUDA model's nvcc-compiled header includes this one)

struct ModelInput {
  std::vector<int64_t> tokens;  // [S] ids in [0, vocab_size), positions position .. position+S-1

  ModelInput() = default;
  ModelInput(std::vector<int64_t> t) : tokens(std::move(t)) {}  // NOLINT: a token list is an input
  ModelInput(std::initializer_list<int64_t> t) : tokens(t) {}
  // iterators only (also compiled as C++17 by nvcc, so no concept)
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  ModelInput(It first, It last) : tokens(first, last) {}
  int64_t length() const { return static_cast<int64_t>(tokens.size()); }
};

// The id range check alone: every id in [0, vocab_size). `where` starts the message (e.g. "forward"
// or "prompt.txt (--tokens-file)"); `position` > 0 adds each id's absolute position to it.
void check_token_ids(const std::vector<int64_t>& ids, int64_t vocab_size, const std::string& where,
                     int64_t position = 0);

// Everything a step's input must satisfy, before anything runs, as mm::Error: at least one token, ids
// in [0, vocab_size), and position + S <= max_position_embeddings.
void check_model_input(const ModelConfig& cfg, const ModelInput& in, int64_t position);

}  // namespace mm
