// Reader of the `minimax01 forward --dump` file (format minimax01-forward-v1, docs/forward-dump.md):
// a safetensors file with F32 logits [S, V], hidden_states [L, S, H] and decode_logits [N, V], and
// __metadata__ format = "minimax01-forward-v1", backend = the backend name. Whoever checks a dump
// (ours or one written by another implementation to the same contract) reads it through here, so a
// malformed dump is refused naming the file, the tensor and what was expected.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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

// A slice run's dump (`forward --layers A:B --dump`, docs/slices.md): format minimax01-forward-slice-v1,
// __metadata__ layers = "A:B", num_hidden_layers = L and tokens_sha256 (of the tokens run) beside backend; F32 hidden_states [B-A, S, H]
// (layer A first), F64 hidden_out [S, H] and decode_hidden_out [N, H] (the residual stream leaving layer
// B-1 at the prompt positions and at each decode step; F64 so that every precision's values pass on
// exactly), and, when the slice ends with the model's head, F32 logits [S, V] and decode_logits [N, V].
constexpr const char* kSliceDumpFormat = "minimax01-forward-slice-v1";

// What the next slice reads from a slice dump (--hidden-in).
struct SliceHidden {
  int64_t first_layer = 0, end_layer = 0, num_hidden_layers = 0;  // the slice that wrote it
  int64_t S = 0, N = 0, H = 0;
  std::string tokens_sha256;              // __metadata__ tokens_sha256: the tokens it ran (cli/layer_slices.h)
  std::vector<double> hidden_out;         // [S, H]
  std::vector<double> decode_hidden_out;  // [N, H]
};

// Validates a slice dump and reads its hidden states: the format, the layers metadata, both tensors F64
// of width H and finite. Throws mm::Error naming the file, the tensor or field, and what was expected.
SliceHidden parse_slice_hidden(const SafetensorsLayout& layout, const std::string& path);
SliceHidden read_slice_hidden(const std::string& path);  // the file, opened and parsed

}  // namespace mm
