// Where the model comes from: --model DIR (any checkpoint, including a real one), --preset NAME (a
// seeded synthetic checkpoint written to a temporary directory, removed when the last copy goes), or the
// built-in default (preset tiny, seed 0: 8 layers, 7 lightning + 1 softmax, block 256).
#pragma once
#include <memory>
#include <string>

#include "harness/backend.h"

namespace mm::harness {

struct ModelSource {
  LoadedModel model;
  std::string label;                  // "checkpoints/small", "preset tiny (seed 0)"
  std::shared_ptr<void> temp_owner;   // keeps a preset's temporary directory alive
};

constexpr const char* kDefaultPreset = "tiny";

// Exactly one of model_dir / preset may be non-empty; both empty = the built-in default.
ModelSource resolve_model(const std::string& model_dir, const std::string& preset, uint64_t weight_seed);

// Throws mm::Error listing every config field that differs ("hidden_size: 64 (golden) vs 128 (model)").
void require_same_config(const ModelConfig& golden, const ModelConfig& model, const std::string& what);

}  // namespace mm::harness
