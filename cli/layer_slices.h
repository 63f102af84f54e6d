// The options of a layer-slice run (docs/slices.md): --layers A:B (forward, generate, check) selects the
// decoder layers a run goes through; --hidden-in (forward) continues from the slice dump of the run of
// the layers before, so a long model is run, or checked, in pieces that chain to the whole run.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "core/config.h"
#include "core/error.h"
#include "core/forward_dump.h"
#include "core/sha256.h"
#include "harness/backend.h"

namespace mm::cli {

// --layers A:B: the run goes through layers A..B-1 of the checkpoint's (by absolute index). Text models
// only: a MiniMax-VL-01 model's images enter at the embedding of a whole model.
inline void layers_option(const Args& a, harness::LoadedModel& m) {
  if (!a.has("layers")) return;
  if (m.vl) throw UsageError("--layers: " + m.dir + " is a MiniMax-VL-01 model; layer slices run text models only");
  m.config.run = parse_layer_span(a.str("layers", ""), m.config, "--layers");
  m.config.validate();
}

// The identity of a run's inputs, recorded in a slice dump and compared by the next slice: a chain
// whose pieces ran different tokens is refused rather than stitched together.
inline std::string slice_tokens_digest(const std::vector<int64_t>& prompt, const std::vector<int64_t>& decode) {
  std::string s;
  for (int64_t t : prompt) s += std::to_string(t) + ",";
  s += ";";
  for (int64_t t : decode) s += std::to_string(t) + ",";
  return sha256_hex(s);
}

// --hidden-in SLICE.safetensors: the hidden states the previous slice left (core/forward_dump.h), checked
// to continue this run: the same model depth and width, ending where this run starts, over the same
// prompt and decode tokens.
inline std::optional<SliceHidden> hidden_in_option(const Args& a, const ModelConfig& c, const std::vector<int64_t>& prompt,
                                                   const std::vector<int64_t>& decode) {
  if (!a.has("hidden-in")) return std::nullopt;
  const std::string path = a.str("hidden-in", "");
  SliceHidden h = read_slice_hidden(path);
  const std::string where = path + " (--hidden-in)";
  if (h.num_hidden_layers != c.num_hidden_layers || h.H != c.hidden_size)
    throw Error(where + ": written by a model of " + std::to_string(h.num_hidden_layers) + " layers and hidden size " +
                std::to_string(h.H) + "; this one has " + std::to_string(c.num_hidden_layers) + " and " +
                std::to_string(c.hidden_size));
  if (h.end_layer != c.first_layer())
    throw Error(where + ": holds the hidden state after layer " + std::to_string(h.end_layer - 1) + " (layers " +
                std::to_string(h.first_layer) + ":" + std::to_string(h.end_layer) + "), but this run starts at layer " +
                std::to_string(c.first_layer()) + " (expected --layers " + std::to_string(h.end_layer) + ":B)");
  if (h.tokens_sha256 != slice_tokens_digest(prompt, decode) ||
      h.S != static_cast<int64_t>(prompt.size()) || h.N != static_cast<int64_t>(decode.size()))
    throw Error(where + ": written for other tokens (" + std::to_string(h.S) + " prompt and " + std::to_string(h.N) +
                " decode tokens, digest " + h.tokens_sha256.substr(0, 12) + "...); this run has " +
                std::to_string(prompt.size()) + " and " + std::to_string(decode.size()) + ", digest " +
                slice_tokens_digest(prompt, decode).substr(0, 12) + "...: give every slice the same tokens");
  return h;
}

}  // namespace mm::cli
