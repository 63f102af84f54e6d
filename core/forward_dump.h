// Reader of the `minimax01 forward --dump` file (format minimax01-forward-v1, docs/forward-dump.md):
// a safetensors file with F32 logits [S, V], hidden_states [L, S, H] and decode_logits [N, V], and
// __metadata__ format = "minimax01-forward-v1", backend = the backend name. Whoever checks a dump
// (ours or one written by another implementation to the same contract) reads it through here, so a
// malformed dump is refused naming the file, the tensor and what was expected.
#pragma once
#include <cstdint>
#include <string>

#include "core/safetensors.h"

namespace mm {

constexpr const char* kForwardDumpFormat = "minimax01-forward-v1";

struct ForwardDump {
  std::string backend;
  int64_t S = 0, N = 0, L = 0, H = 0, V = 0;
  const TensorInfo* logits = nullptr;         // F32 [S, V]
  const TensorInfo* hidden_states = nullptr;  // F32 [L, S, H]
  const TensorInfo* decode_logits = nullptr;  // F32 [N, V]
};

// Validates the contract on a parsed safetensors image; the pointers point into `layout`.
ForwardDump parse_forward_dump(const SafetensorsLayout& layout, const std::string& path);

// A dump file, opened and validated; the tensors stay valid while the file is.
class ForwardDumpFile {
 public:
  explicit ForwardDumpFile(const std::string& path);
  const ForwardDump& dump() const { return dump_; }

 private:
  SafetensorsFile file_;
  ForwardDump dump_;
};

}  // namespace mm
