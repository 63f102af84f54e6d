#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace mm {
namespace fs = std::filesystem;
using nlohmann::json;

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}
std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

template <class Out>
static void convert(const TensorInfo& t, Out* out) {
  const int64_t n = t.numel();
  const std::byte* p = t.data;
  switch (t.dtype) {
    case DType::F64: for (int64_t i = 0; i < n; ++i) { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); } break;
    case DType::F32: for (int64_t i = 0; i < n; ++i) { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); } break;
    case DType::BF16: for (int64_t i = 0; i < n; ++i) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = static_cast<Out>(bf16_bits_to_f32(v)); } break;
    case DType::F16: for (int64_t i = 0; i < n; ++i) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = static_cast<Out>(f16_bits_to_f32(v)); } break;
    case DType::I64: for (int64_t i = 0; i < n; ++i) { int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); } break;
    case DType::I32: for (int64_t i = 0; i < n; ++i) { int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); } break;
    case DType::U8: for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(static_cast<uint8_t>(p[i])); break;
  }
}
void release_pages(const TensorInfo& t) { release_pages(t.data, t.nbytes); }
void release_pages(const void* data, std::size_t nbytes) {
  if (!data || nbytes == 0) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data), end = begin + nbytes;
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;  // whole pages only
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // advice: failure is harmless
}

void convert_to_f64(const TensorInfo& t, double* out) { convert(t, out); }
void convert_to_f32(const TensorInfo& t, float* out) { convert(t, out); }
std::vector<double> read_f64(const TensorInfo& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  convert(t, v.data());
  return v;
}

// ---------------------------------------------------------------------------------------------
// Reader

namespace {
// One tensor entry of the header, validated: dtype known, shape of non-negative dimensions whose
// element count cannot overflow, data_offsets [begin, end] inside the data region and exactly the
// shape's byte length.
TensorInfo parse_tensor_entry(const std::string& name, const json& v, const std::byte* data, uint64_t data_size,
                              const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    throw Error(where + ": expected an object with dtype, shape and data_offsets");
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
      throw Error(where + ": unknown field '" + it.key() + "' (expected only dtype, shape and data_offsets)");
  if (!v.at("dtype").is_string()) throw Error(where + ": dtype must be a string");
  const std::string ds = v.at("dtype").get<std::string>();
  const auto dt = dtype_from_name(ds);
  if (!dt) throw Error(where + ": unknown dtype '" + ds + "' (expected F64, F32, F16, BF16, I64, I32 or U8)");
  TensorInfo t;
  t.name = name;
  t.dtype = *dt;
  t.file = path;
  const json& sh = v.at("shape");
  if (!sh.is_array()) throw Error(where + ": shape must be an array");
  if (sh.size() > 16) throw Error(where + ": shape has " + std::to_string(sh.size()) + " dimensions (at most 16 supported)");
  uint64_t numel = 1;
  for (const auto& d : sh) {
    if (!d.is_number_unsigned()) throw Error(where + ": shape entries must be non-negative integers, got " + sh.dump());
    const uint64_t dv = d.get<uint64_t>();
    if (dv > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 16))
      throw Error(where + ": shape " + sh.dump() + " has a dimension too large");
    if (dv != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / dv) throw Error(where + ": shape " + sh.dump() + " overflows");
    numel *= dv;
    t.shape.push_back(static_cast<int64_t>(dv));
  }
  const json& off = v.at("data_offsets");
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw Error(where + ": data_offsets must be [begin, end] with non-negative integers");
  const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
  if (b > e) throw Error(where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] has begin > end");
  if (e > data_size)
    throw Error(where + ": data_offsets end " + std::to_string(e) + " is beyond the data region (" +
                std::to_string(data_size) + " bytes): truncated or corrupt file");
  const uint64_t expect = numel * dtype_size(*dt);
  if (e - b != expect)
    throw Error(where + ": byte length " + std::to_string(e - b) + " does not match shape " + sh.dump() + " x " + ds +
                " = " + std::to_string(expect) + " bytes");
  t.data = data + b;
  t.nbytes = static_cast<std::size_t>(e - b);
  return t;
}

// The tensors must tile the data region exactly, as the official safetensors library requires: sorted
// by offset, each begins where the previous ended (no overlap, no hole) and the last ends at the end of
// the file (no trailing bytes). A hole or a tail is data no reader accounts for: a corrupt or
// tampered file, refused.
void require_tiled(std::vector<std::tuple<uint64_t, uint64_t, const std::string*>>& ranges, uint64_t data_size,
                   const std::string& path) {
  std::sort(ranges.begin(), ranges.end());
  uint64_t end = 0;
  const std::string* prev = nullptr;
  for (const auto& [b, e, name] : ranges) {
    if (b < end)
      throw Error(path + ": tensors '" + *prev + "' and '" + *name + "' have overlapping data_offsets");
    if (b > end)
      throw Error(path + ": bytes [" + std::to_string(end) + ", " + std::to_string(b) + ") of the data region " +
                  (prev ? "between tensors '" + *prev + "' and '" + *name + "'" : "before tensor '" + *name + "'") +
                  " belong to no tensor (a hole: corrupt or tampered file)");
    end = e;
    prev = name;
  }
  if (end != data_size)
    throw Error(path + ": the data region is " + std::to_string(data_size) + " bytes but the tensors cover " +
                std::to_string(end) + " (" + std::to_string(data_size - end) +
                " trailing bytes belong to no tensor: corrupt or tampered file)");
}
}  // namespace

SafetensorsLayout parse_safetensors(const std::byte* base, std::size_t size, const std::string& path) {
  if (size < 8)
    throw Error(path + ": truncated safetensors file (" + std::to_string(size) + " bytes, need at least the 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(base[i]);  // little endian
  if (n > SafetensorsFile::kMaxHeaderBytes)
    throw Error(path + ": header length " + std::to_string(n) + " exceeds the limit of " +
                std::to_string(SafetensorsFile::kMaxHeaderBytes) + " bytes");
  if (n > size - 8)
    throw Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                " bytes): truncated or corrupt");
  JsonLimits lim;
  lim.max_bytes = SafetensorsFile::kMaxHeaderBytes;
  lim.max_depth = 8;  // {"name": {"shape": [..]}} nests 3 deep; __metadata__ 2
  const json h = parse_json_text(std::string_view(reinterpret_cast<const char*>(base + 8), n), path, lim, "tensor");
  if (!h.is_object()) throw Error(path + ": header must be a JSON object");
  SafetensorsLayout out;
  const std::byte* data = base + 8 + n;
  const uint64_t data_size = size - 8 - n;
  std::vector<std::tuple<uint64_t, uint64_t, const std::string*>> ranges;
  ranges.reserve(h.size());
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path + ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(path + ": __metadata__ value for '" + m.key() + "' must be a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (name.empty()) throw Error(path + ": a tensor has an empty name");
    TensorInfo t = parse_tensor_entry(name, v, data, data_size, path);
    const uint64_t b = static_cast<uint64_t>(t.data - data);
    ranges.emplace_back(b, b + t.nbytes, &it.key());
    out.tensors.emplace(name, std::move(t));
  }
  require_tiled(ranges, data_size, path);
  return out;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  uint64_t size = 0;
  const FileHandle fh = open_regular_file(path, "safetensors file", &size);
  map_size_ = static_cast<std::size_t>(size);
  if (map_size_ < 8)  // before mmap, which cannot map 0 bytes; the same refusal as parse_safetensors'
    throw Error(path + ": truncated safetensors file (" + std::to_string(map_size_) + " bytes, need at least the 8-byte header length)");
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fh.fd(), 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error(path + ": cannot map the safetensors file into memory: " + std::strerror(errno));
  }
  try {
    SafetensorsLayout l = parse_safetensors(static_cast<const std::byte*>(map_), map_size_, path);
    tensors_ = std::move(l.tensors);
    metadata_ = std::move(l.metadata);
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

namespace {
// A shard file name from an index must name a file in the checkpoint directory itself.
void require_plain_shard_name(const std::string& s, const std::string& index) {
  if (!is_plain_file_name(s))
    throw Error(index + ": shard name '" + s + "' must be a plain file name in the checkpoint directory");
}
}  // namespace

// Loads the index and its shards; the index and the shards must agree exactly (the HF convention:
// weight_map lists every tensor). A tensor stored in a shard but absent from weight_map, or listed under
// a shard that lacks it, means the index belongs to another version of the shards: a mismatched or
// corrupt checkpoint, refused rather than loaded with tensors that some other reader would not see.
void Checkpoint::open_index(const std::string& dir_s, const std::string& index) {
  const fs::path dir(dir_s);
  const json j = read_json_file(index, "checkpoint index");
  if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
    throw Error(index + ": expected an object with a 'weight_map' object");
  const json& wm = j.at("weight_map");
  std::map<std::string, std::size_t> shard_of;  // shard name -> position in files_
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    if (!it.value().is_string()) throw Error(index + ": weight_map entry '" + it.key() + "' must name a file");
    const std::string& s = it.value().get_ref<const std::string&>();
    require_plain_shard_name(s, index);
    if (shard_of.emplace(s, shard_of.size()).second) files_.push_back(std::make_unique<SafetensorsFile>((dir / s).string()));
  }
  for (auto& sf : files_)
    for (auto& [n, t] : sf->tensors()) {
      if (index_.count(n)) throw Error(path_ + ": tensor '" + n + "' appears in more than one shard");
      if (!wm.contains(n))
        throw Error(sf->path() + ": tensor '" + n + "' is stored in this shard but has no entry in the weight_map of " +
                    index + " (the index and its shards disagree: mismatched or corrupt checkpoint)");
      index_[n] = &t;
    }
  for (auto it = wm.begin(); it != wm.end(); ++it) {
    const std::string& s = it.value().get_ref<const std::string&>();
    auto f2 = index_.find(it.key());
    if (f2 == index_.end())
      throw Error(index + ": tensor '" + it.key() + "' is listed in " + s +
                  " but not found there (nor in any other shard named by the index)");
    if (f2->second->file != files_[shard_of.at(s)]->path())
      throw Error(index + ": tensor '" + it.key() + "' is listed in " + s + " but not found there; it is stored in " +
                  f2->second->file);
  }
}

Checkpoint::Checkpoint(const std::string& path) : path_(path), allow_nonfinite_(default_allow_nonfinite()) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) throw Error(path + ": no such checkpoint file or directory");
  std::vector<std::string> files;
  if (fs::is_directory(st)) {
    const fs::path dir(path);
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(fs::symlink_status(index))) {
      open_index(path, index.string());
      return;
    }
    if (fs::exists(fs::symlink_status(dir / "model.safetensors"))) {
      files.push_back((dir / "model.safetensors").string());
    } else {
      for (auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
      if (files.size() != 1)
        throw Error(path + ": expected model.safetensors, model.safetensors.index.json or exactly one .safetensors file, found " + std::to_string(files.size()));
    }
  } else {
    files.push_back(path);  // a file; anything but a regular file is refused by name when opened
  }
  for (auto& fpath : files) files_.push_back(std::make_unique<SafetensorsFile>(fpath));
  for (auto& sf : files_)
    for (auto& [n, t] : sf->tensors()) {
      if (index_.count(n)) throw Error(path + ": tensor '" + n + "' appears in more than one file");
      index_[n] = &t;
    }
}

bool& Checkpoint::default_allow_nonfinite() {
  static bool allow = false;
  return allow;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

namespace {
// Index of the first NaN/Inf element (exponent bits all ones) and how many there are. The mapped pages
// are handed back every kScanChunkBytes as the scan passes them: the real embedding is 2.4 GB, and
// scanning it whole first would make it the process's peak (docs/memory.md).
constexpr int64_t kScanChunkBytes = int64_t{64} << 20;
std::pair<int64_t, int64_t> find_nonfinite(const TensorInfo& t) {
  int64_t first = -1, count = 0;
  const int64_t n = t.numel();
  auto scan = [&](auto bits_of, auto mask) {
    const int64_t per = kScanChunkBytes / static_cast<int64_t>(sizeof(mask));  // elements per chunk
    for (int64_t c = 0; c < n; c += per) {
      const int64_t end = std::min(n, c + per);
      for (int64_t i = c; i < end; ++i)
        if ((bits_of(i) & mask) == mask) {
          if (first < 0) first = i;
          ++count;
        }
      release_pages(t.data + static_cast<std::size_t>(c) * sizeof(mask), static_cast<std::size_t>(end - c) * sizeof(mask));
    }
  };
  auto load = [&](auto zero) {
    return [&, zero](int64_t i) {
      decltype(zero) v;
      std::memcpy(&v, t.data + static_cast<std::size_t>(i) * sizeof v, sizeof v);
      return v;
    };
  };
  switch (t.dtype) {
    case DType::BF16: scan(load(uint16_t{}), uint16_t{0x7f80}); break;
    case DType::F16: scan(load(uint16_t{}), uint16_t{0x7c00}); break;
    case DType::F32: scan(load(uint32_t{}), uint32_t{0x7f800000u}); break;
    case DType::F64: scan(load(uint64_t{}), uint64_t{0x7ff0000000000000ull}); break;
    case DType::I32: case DType::I64: case DType::U8: break;
  }
  return {first, count};
}
}  // namespace

const TensorInfo& Checkpoint::get(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorInfo* t = find(name);
  if (!t) throw Error(path_ + ": missing tensor '" + name + "'");
  if (t->shape != shape) {
    TensorInfo want;
    want.shape = shape;
    throw Error(t->file + ": tensor '" + name + "' has shape " + t->shape_str() + ", expected " + want.shape_str());
  }
  if (t->dtype == DType::I32 || t->dtype == DType::I64 || t->dtype == DType::U8)
    throw Error(t->file + ": tensor '" + name + "' has integer dtype " + dtype_name(t->dtype) + ", expected a float dtype");
  if (used_.insert(name).second && !allow_nonfinite_) {
    const auto [first, count] = find_nonfinite(*t);
    release_pages(*t);  // the scan touched every page: not resident memory of ours
    if (count)
      throw Error(t->file + ": tensor '" + name + "' holds " + std::to_string(count) + " NaN/Inf value(s), the first at flat index " +
                  std::to_string(first) + " (a corrupt checkpoint; --allow-nonfinite-weights loads it anyway, for debugging)");
  }
  return *t;
}

void Checkpoint::require_all_used(const std::vector<std::string>& ignored_prefixes) const {
  std::vector<std::string> extra;
  std::size_t ignored = 0;
  for (const auto& [n, t] : index_) {
    if (used_.count(n)) continue;
    bool skip = false;
    for (const auto& p : ignored_prefixes) skip = skip || n.rfind(p, 0) == 0;
    if (skip) { ++ignored; continue; }
    extra.push_back(n);
  }
  if (extra.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
  if (extra.size() > 5) list += " and " + std::to_string(extra.size() - 5) + " more";
  throw Error(index_.at(extra.front())->file + ": " + std::to_string(extra.size()) +
              " tensor(s) are not part of the model this config describes: " + list +
              " (a checkpoint for another config, or a corrupt one)");
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> v;
  for (auto& [n, t] : index_) v.push_back(n);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Writer

namespace {
void encode(DType dt, const double* v, std::size_t n, std::vector<std::byte>& out) {
  out.resize(n * dtype_size(dt));
  std::byte* p = out.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (dt) {
      case DType::F64: std::memcpy(p + 8 * i, &v[i], 8); break;
      case DType::F32: { const float f = static_cast<float>(v[i]); std::memcpy(p + 4 * i, &f, 4); } break;
      // double -> float -> bf16/f16: the first step can only double-round on ties below the bf16 ulp,
      // which our callers avoid by giving float-representable values.
      case DType::BF16: { const uint16_t b = f32_to_bf16_bits(static_cast<float>(v[i])); std::memcpy(p + 2 * i, &b, 2); } break;
      case DType::F16: { const uint16_t b = f32_to_f16_bits(static_cast<float>(v[i])); std::memcpy(p + 2 * i, &b, 2); } break;
      case DType::I64: { const int64_t x = static_cast<int64_t>(v[i]); std::memcpy(p + 8 * i, &x, 8); } break;
      case DType::I32: { const int32_t x = static_cast<int32_t>(v[i]); std::memcpy(p + 4 * i, &x, 4); } break;
      case DType::U8: p[i] = static_cast<std::byte>(static_cast<uint8_t>(v[i])); break;
    }
  }
}
}  // namespace

// The one writer: the header, then every tensor's bytes chunk by chunk. `chunk(i, offset, n)` returns the
// n values [offset, offset + n) of tensor i, valid until the next call.
using ChunkSource = std::function<const double*(std::size_t index, int64_t offset, int64_t n)>;
static void write_safetensors_from(const std::string& path, const std::vector<TensorSpec>& specs,
                                   const ChunkSource& chunk, const std::map<std::string, std::string>& metadata,
                                   int64_t chunk_elements) {
  require(chunk_elements > 0, "write_safetensors: chunk size must be positive");
  // nlohmann::ordered_json keeps insertion order, so files are byte-for-byte reproducible.
  nlohmann::ordered_json h;
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t off = 0;
  for (auto& s : specs) {
    const uint64_t nb = static_cast<uint64_t>(s.numel()) * dtype_size(s.dtype);
    h[s.name] = {{"dtype", dtype_name(s.dtype)}, {"shape", s.shape}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  std::string hs = h.dump();
  while ((hs.size() + 8) % 8 != 0) hs.push_back(' ');  // align the data region to 8 bytes, as the official writer does
  // Through a temporary file renamed into place: a failure (a fill that throws, a full disk) leaves no
  // half-written file and whatever was at `path` untouched.
  write_file_atomic(path, [&](std::ostream& f) {
    uint8_t len[8];
    const uint64_t n = hs.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
    std::vector<std::byte> bytes;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const int64_t numel = specs[i].numel();
      for (int64_t o = 0; o < numel; o += chunk_elements) {
        const int64_t c = std::min(chunk_elements, numel - o);
        encode(specs[i].dtype, chunk(i, o, c), static_cast<std::size_t>(c), bytes);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      }
    }
  });
}

void write_safetensors(const std::string& path, const std::vector<TensorSpec>& specs, const FillFn& fill,
                       const std::map<std::string, std::string>& metadata) {
  // The whole tensor from one fill call, handed out chunk by chunk.
  std::vector<double> vals;
  std::size_t filled = specs.size();  // the tensor `vals` holds
  write_safetensors_from(
      path, specs,
      [&](std::size_t i, int64_t offset, int64_t) {
        if (filled != i) {
          vals.assign(static_cast<std::size_t>(specs[i].numel()), 0.0);
          fill(i, vals);
          if (vals.size() != static_cast<std::size_t>(specs[i].numel()))
            throw Error(path + ": fill for tensor '" + specs[i].name + "' produced the wrong number of values");
          filled = i;
        }
        return vals.data() + offset;
      },
      metadata, kWriteChunkElements);
}

void write_safetensors(const std::string& path, const std::vector<TensorSpec>& specs, const ChunkFillFn& fill,
                       const std::map<std::string, std::string>& metadata, int64_t chunk_elements) {
  std::vector<double> buf;
  write_safetensors_from(
      path, specs,
      [&](std::size_t i, int64_t offset, int64_t n) {
        buf.assign(static_cast<std::size_t>(n), 0.0);
        fill(i, offset, n, buf.data());
        return static_cast<const double*>(buf.data());
      },
      metadata, chunk_elements);
}

void write_safetensors(const std::string& path, const std::vector<NamedValues>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (auto& t : tensors) specs.push_back(t.spec);
  write_safetensors(path, specs, [&](std::size_t i, std::vector<double>& v) { v = tensors[i].values; }, metadata);
}

// The shard layout of a checkpoint: `write(file, tensor indices)` writes one file; the index is written
// here when there is more than one. Shards hold whole tensors, in order, each at most max_shard_bytes
// unless a single tensor is larger.
static std::vector<std::string> write_shards(
    const std::string& dir, const std::vector<TensorSpec>& specs, std::size_t max_shard_bytes,
    const std::function<void(const std::string& file, const std::vector<std::size_t>& tensors)>& write) {
  fs::create_directories(dir);
  std::vector<std::vector<std::size_t>> shards(1);
  std::size_t cur = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::size_t nb = static_cast<std::size_t>(specs[i].numel()) * dtype_size(specs[i].dtype);
    if (!shards.back().empty() && cur + nb > max_shard_bytes) { shards.emplace_back(); cur = 0; }
    shards.back().push_back(i);
    cur += nb;
  }
  if (shards.size() == 1) {
    write((fs::path(dir) / "model.safetensors").string(), shards[0]);
    return {"model.safetensors"};
  }
  std::vector<std::string> written;
  nlohmann::ordered_json wm = nlohmann::ordered_json::object();
  uint64_t total = 0;
  char buf[64];
  for (std::size_t s = 0; s < shards.size(); ++s) {
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    for (auto i : shards[s]) {
      wm[specs[i].name] = buf;
      total += static_cast<uint64_t>(specs[i].numel()) * dtype_size(specs[i].dtype);
    }
    write((fs::path(dir) / buf).string(), shards[s]);
    written.push_back(buf);
  }
  nlohmann::ordered_json idx;
  idx["metadata"] = {{"total_size", total}};
  idx["weight_map"] = wm;
  write_file_atomic((fs::path(dir) / "model.safetensors.index.json").string(),
                    [&](std::ostream& f) { f << idx.dump(2) << "\n"; });
  written.push_back("model.safetensors.index.json");
  return written;
}

static std::vector<TensorSpec> subset(const std::vector<TensorSpec>& specs, const std::vector<std::size_t>& idx) {
  std::vector<TensorSpec> sub;
  for (auto i : idx) sub.push_back(specs[i]);
  return sub;
}

std::vector<std::string> write_checkpoint_shards(const std::string& dir, const std::vector<TensorSpec>& specs,
                                                 const FillFn& fill, std::size_t max_shard_bytes) {
  return write_shards(dir, specs, max_shard_bytes, [&](const std::string& file, const std::vector<std::size_t>& idx) {
    write_safetensors(file, subset(specs, idx), [&](std::size_t k, std::vector<double>& v) { fill(idx[k], v); },
                      {{"format", "pt"}});
  });
}

std::vector<std::string> write_checkpoint_shards(const std::string& dir, const std::vector<TensorSpec>& specs,
                                                 const ChunkFillFn& fill, std::size_t max_shard_bytes,
                                                 int64_t chunk_elements) {
  return write_shards(dir, specs, max_shard_bytes, [&](const std::string& file, const std::vector<std::size_t>& idx) {
    write_safetensors(
        file, subset(specs, idx),
        [&](std::size_t k, int64_t offset, int64_t n, double* out) { fill(idx[k], offset, n, out); },
        {{"format", "pt"}}, chunk_elements);
  });
}

}  // namespace mm
