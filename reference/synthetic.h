// Seeded synthetic checkpoints in the official HF layout (config.json + safetensors), for any config.
// Scales keep activations O(1) and logits non-degenerate:
//   projections N(0, 1/fan_in); router N(0, (2/sqrt(H))^2) so top-k margins are clear;
//   lm_head N(0, (2/sqrt(H))^2); norm weights 1 + 0.1 N(0,1); embeddings N(0, 1).
// Every tensor has its own stream (seed, tensor name), so a tensor does not depend on the others.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/dtype.h"
#include "core/safetensors.h"

namespace mm::ref {

struct SyntheticOptions {
  uint64_t seed = 0;
  DType dtype = DType::BF16;
  ConfigSpelling spelling = ConfigSpelling::Official;
  std::size_t max_shard_bytes = std::size_t(2) << 30;  // shard above 2 GiB
};

// All tensor specs of a checkpoint for `cfg`, in a stable order (official names).
std::vector<TensorSpec> checkpoint_specs(const ModelConfig& cfg, DType dtype);
// Values of one tensor (deterministic in seed and name).
void synthetic_values(const TensorSpec& spec, const ModelConfig& cfg, uint64_t seed, std::vector<double>& out);
// Elements [offset, offset + n) of the same values (row-major), without generating the rest: a
// real-size tensor is written chunk by chunk (core/safetensors.h ChunkFillFn).
void synthetic_values(const TensorSpec& spec, const ModelConfig& cfg, uint64_t seed, int64_t offset, int64_t n,
                      double* out);
// The files of a checkpoint already in `dir` (what init --force replaces): its index, the shards that
// index names, model.safetensors, and shards named in the HF pattern model-NNNNN-of-NNNNN.safetensors.
// Nothing else: a dump or a golden file beside the checkpoint is the user's and stays.
std::vector<std::string> existing_checkpoint_files(const std::string& dir);
// Replacing a checkpoint: the old one's index and shards that the new one did not overwrite (`written`)
// would make the directory ambiguous to a loader, so they are removed; nothing else is touched.
void remove_replaced_files(const std::string& dir, const std::vector<std::string>& old,
                           const std::vector<std::string>& written);

// Writes dir/config.json and the safetensors file(s).
void write_synthetic_checkpoint(const std::string& dir, const ModelConfig& cfg, const SyntheticOptions& opt);

}  // namespace mm::ref
