// safetensors reader (memory-mapped, header fully validated) and writer, plus sharded
// checkpoints through model.safetensors.index.json.
//
// File format: u64 little-endian N | N bytes of JSON header | data region.
// Header: {"__metadata__": {str: str}?, "<name>": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...}
// with offsets relative to the start of the data region. A key repeated within any JSON object (a
// tensor named twice, a field given twice) is an error, not "last one wins".
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace mm {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // points into the mapping; valid while the file is open
  std::size_t nbytes = 0;
  std::string file;                 // for error messages
  int64_t numel() const;
  std::string shape_str() const;
};

// Drops the pages that lie wholly inside the tensor's data from this process's resident set
// (madvise MADV_DONTNEED on the read-only mapping): the data stay in the file and the page cache, and a
// later read faults them back in. After a pass over a tensor (the load-time NaN/Inf scan), so that
// reading a checkpoint far larger than memory does not show as resident memory.
void release_pages(const TensorInfo& t);
// The same for the bytes [data, data + nbytes) of a mapping (the whole pages inside them): a block of
// rows once converted.
void release_pages(const void* data, std::size_t nbytes);

// Converts any float dtype to double / float (exact for BF16, F16, F32 -> double).
void convert_to_f64(const TensorInfo& t, double* out);
void convert_to_f32(const TensorInfo& t, float* out);
std::vector<double> read_f64(const TensorInfo& t);

// A safetensors image validated in memory: the header (bounded JSON, unique names, known dtypes,
// shapes that fit), and data_offsets that tile the data region exactly (no overlap, no hole, no
// trailing bytes). TensorInfo::data points into `base`. Throws mm::Error naming `path` and the problem.
struct SafetensorsLayout {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};
SafetensorsLayout parse_safetensors(const std::byte* base, std::size_t size, const std::string& path);

class SafetensorsFile {
 public:
  // Maps and validates the file (parse_safetensors); throws mm::Error naming the file and the problem.
  // Anything but a regular file (a FIFO, a directory) is refused by name before it is read.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Upper bound on the JSON header (the official reader's limit is 100 MB).
  static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

 private:
  std::string path_;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint: a directory with model.safetensors, or with model.safetensors.index.json naming shards,
// or a directory with exactly one *.safetensors file, or one .safetensors file path. With an index, its
// weight_map and the shards must agree exactly: every shard tensor listed, every listed tensor in its shard.
//
// A loader takes every tensor it needs with get() and then calls require_all_used(): a tensor the model
// does not have (another config's layer, a stray tensor) is an error, not silently ignored.
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& path);
  const std::string& path() const { return path_; }
  const TensorInfo* find(const std::string& name) const;
  // The tensor `name`, checked against `shape`, a float dtype and (unless allowed) finite values: a NaN
  // or Inf weight is a corrupt checkpoint. Throws naming the file and tensor. Marks the tensor used.
  const TensorInfo& get(const std::string& name, const std::vector<int64_t>& shape) const;
  // Throws naming the tensors that no get() asked for, except names starting with one of the prefixes
  // (a VL-01 checkpoint's vision tensors, which the text model legitimately leaves alone).
  void require_all_used(const std::vector<std::string>& ignored_prefixes = {}) const;
  std::vector<std::string> names() const;

  // Process-wide default for new checkpoints: load NaN/Inf weights instead of refusing them (the CLI's
  // --allow-nonfinite-weights, for debugging a broken checkpoint).
  static bool& default_allow_nonfinite();

 private:
  void open_index(const std::string& dir, const std::string& index);
  std::string path_;
  bool allow_nonfinite_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*> index_;
  mutable std::set<std::string> used_;  // names handed out by get() (each checked for NaN/Inf once)
};

// The tensors of a VL-01 checkpoint that are not the text model's (its text model sits under
// `language_model.`): the text model's loaders leave these alone on purpose.
inline const std::vector<std::string>& vl_non_text_prefixes() {
  static const std::vector<std::string> p = {"vision_tower.", "multi_modal_projector.", "image_newline"};
  return p;
}

// What to write: a tensor's name, on-disk dtype and shape; its values come from a fill callback
// (doubles, converted with round-to-nearest-even) so that large checkpoints stream tensor by tensor.
struct TensorSpec {
  std::string name;
  DType dtype = DType::BF16;
  std::vector<int64_t> shape;
  int64_t numel() const;
};
using FillFn = std::function<void(std::size_t index, std::vector<double>& values)>;

void write_safetensors(const std::string& path, const std::vector<TensorSpec>& specs, const FillFn& fill,
                       const std::map<std::string, std::string>& metadata = {});

// A tensor written in chunks: fills out[0, n) with elements [offset, offset + n) of tensor `index`
// (row-major). The writer asks for each tensor's chunks in order, each at most kWriteChunkElements long,
// so a writer of a tensor larger than memory (a real-size embedding: 1.2G elements, 9.8 GB as doubles)
// holds one chunk at a time. The file is byte-identical to the one a whole-tensor FillFn writes.
using ChunkFillFn = std::function<void(std::size_t index, int64_t offset, int64_t n, double* out)>;
inline constexpr int64_t kWriteChunkElements = int64_t{1} << 20;  // 8 MiB of doubles
void write_safetensors(const std::string& path, const std::vector<TensorSpec>& specs, const ChunkFillFn& fill,
                       const std::map<std::string, std::string>& metadata = {},
                       int64_t chunk_elements = kWriteChunkElements);

// Convenience: tensors given with their values.
struct NamedValues {
  TensorSpec spec;
  std::vector<double> values;
};
void write_safetensors(const std::string& path, const std::vector<NamedValues>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes `dir/model.safetensors`, or, when the data exceeds max_shard_bytes, shards
// `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json` (HF layout). Each file is
// written through a temporary file and renamed into place. Returns the names of the files written.
std::vector<std::string> write_checkpoint_shards(const std::string& dir, const std::vector<TensorSpec>& specs,
                                                 const FillFn& fill, std::size_t max_shard_bytes);
// The same, each tensor written in chunks (ChunkFillFn above).
std::vector<std::string> write_checkpoint_shards(const std::string& dir, const std::vector<TensorSpec>& specs,
                                                 const ChunkFillFn& fill, std::size_t max_shard_bytes,
                                                 int64_t chunk_elements = kWriteChunkElements);

}  // namespace mm
