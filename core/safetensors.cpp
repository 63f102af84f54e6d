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
  }
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
// Parses JSON text, rejecting a key repeated within one object. nlohmann::json (like most parsers)
// silently keeps the last of two equal keys, so a header naming a tensor twice, or an index listing a
// tensor twice, would load whichever entry came last while another reader may take the first: the file
// is ambiguous and we refuse it. The parse callback sees every key before it is stored; one frame per
// open object holds the keys seen so far and the key under which the object sits (for the message).
// `top_noun` names what a key of the top-level object is ("tensor" in a safetensors header; "" = key).
json parse_json_unique_keys(const char* begin, const char* end, const std::string& file, const std::string& top_noun) {
  struct Frame {
    std::set<std::string> keys;
    std::string parent;  // the key this object is the value of ("" at the top level or inside an array)
    std::string last;    // the most recent key in this object
  };
  std::vector<Frame> frames;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        frames.push_back({{}, frames.empty() ? std::string() : frames.back().last, {}});
        break;
      case json::parse_event_t::object_end:
        frames.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!f.keys.insert(k).second) {
          const char* why = " (a JSON parser would silently keep only one of the entries)";
          if (depth == 1 && !top_noun.empty() && k != "__metadata__")
            throw Error(file + ": " + top_noun + " '" + k + "' appears more than once in the JSON header; names must be unique" + why);
          const std::string where = depth == 1 ? "at the top level" : f.parent.empty() ? "in a nested object" : "in '" + f.parent + "'";
          throw Error(file + ": key '" + k + "' appears more than once " + where + "; keys must be unique" + why);
        }
        f.last = k;
        break;
      }
      default:
        break;
    }
    return true;
  };
  return json::parse(begin, end, cb);
}
}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot open safetensors file: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0) { ::close(fd); throw Error(path + ": cannot stat file"); }
  map_size_ = static_cast<std::size_t>(st.st_size);
  if (map_size_ < 8) { ::close(fd); throw Error(path + ": truncated safetensors file (" + std::to_string(map_size_) + " bytes, need at least the 8-byte header length)"); }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) { map_ = nullptr; throw Error(path + ": mmap failed"); }
  try {
    const auto* base = static_cast<const std::byte*>(map_);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(base[i]);  // little endian
    if (n > kMaxHeaderBytes) throw Error(path + ": header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
    if (n > map_size_ - 8) throw Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(map_size_) + " bytes): truncated or corrupt");
    json h;
    try {
      h = parse_json_unique_keys(reinterpret_cast<const char*>(base + 8), reinterpret_cast<const char*>(base + 8 + n),
                                 path, "tensor");
    } catch (const json::parse_error& e) {
      throw Error(path + ": malformed JSON header: " + e.what());
    }
    if (!h.is_object()) throw Error(path + ": header must be a JSON object");
    const std::byte* data = base + 8 + n;
    const uint64_t data_size = map_size_ - 8 - n;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    std::vector<std::string> range_names;
    for (auto it = h.begin(); it != h.end(); ++it) {
      const std::string& name = it.key();
      const json& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) throw Error(path + ": __metadata__ must be an object of strings");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) throw Error(path + ": __metadata__ value for '" + m.key() + "' must be a string");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = path + ": tensor '" + name + "'";
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
        throw Error(where + ": expected an object with dtype, shape and data_offsets");
      if (!v.at("dtype").is_string()) throw Error(where + ": dtype must be a string");
      const std::string ds = v.at("dtype").get<std::string>();
      const auto dt = dtype_from_name(ds);
      if (!dt) throw Error(where + ": unknown dtype '" + ds + "' (expected F64, F32, F16, BF16, I64 or I32)");
      TensorInfo t;
      t.name = name;
      t.dtype = *dt;
      t.file = path;
      const json& sh = v.at("shape");
      if (!sh.is_array()) throw Error(where + ": shape must be an array");
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
      if (e > data_size) throw Error(where + ": data_offsets end " + std::to_string(e) + " is beyond the data region (" + std::to_string(data_size) + " bytes): truncated or corrupt file");
      const uint64_t expect = numel * dtype_size(*dt);
      if (e - b != expect)
        throw Error(where + ": byte length " + std::to_string(e - b) + " does not match shape " + sh.dump() + " x " + ds + " = " + std::to_string(expect) + " bytes");
      t.data = data + b;
      t.nbytes = static_cast<std::size_t>(e - b);
      ranges.emplace_back(b, e);
      range_names.push_back(name);
      tensors_.emplace(name, std::move(t));
    }
    // Non-overlapping data ranges (empty tensors overlap nothing).
    std::vector<std::size_t> order(ranges.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return ranges[a] < ranges[b]; });
    uint64_t last_end = 0;
    std::string last_name;
    for (auto i : order) {
      if (ranges[i].first == ranges[i].second) continue;
      if (ranges[i].first < last_end)
        throw Error(path + ": tensors '" + last_name + "' and '" + range_names[i] + "' have overlapping data_offsets");
      last_end = ranges[i].second;
      last_name = range_names[i];
    }
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

Checkpoint::Checkpoint(const std::string& path) : path_(path) {
  std::vector<std::string> files;
  if (fs::is_regular_file(path)) {
    files.push_back(path);
  } else if (fs::is_directory(path)) {
    const fs::path dir(path);
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index)) {
      std::ifstream f(index, std::ios::binary);
      if (!f) throw Error(index.string() + ": cannot open the checkpoint index");
      const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      json j;
      try {
        j = parse_json_unique_keys(text.data(), text.data() + text.size(), index.string(), "");
      } catch (const json::parse_error& e) {
        throw Error(index.string() + ": malformed JSON: " + e.what());
      }
      if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
        throw Error(index.string() + ": expected an object with a 'weight_map' object");
      std::vector<std::string> shard_names;
      for (auto it = j.at("weight_map").begin(); it != j.at("weight_map").end(); ++it) {
        if (!it.value().is_string()) throw Error(index.string() + ": weight_map entry '" + it.key() + "' must name a file");
        const std::string s = it.value().get<std::string>();
        if (s.find('/') != std::string::npos) throw Error(index.string() + ": shard name '" + s + "' must be a plain file name");
        if (std::find(shard_names.begin(), shard_names.end(), s) == shard_names.end()) shard_names.push_back(s);
      }
      for (auto& s : shard_names) files.push_back((dir / s).string());
      for (auto& fpath : files) files_.push_back(std::make_unique<SafetensorsFile>(fpath));
      // The index and the shards must agree exactly (the HF convention: weight_map lists every tensor).
      // A tensor stored in a shard but absent from weight_map, or listed under a shard that lacks it, means
      // the index belongs to another version of the shards: a mismatched or corrupt checkpoint, refused
      // rather than loaded with tensors that some other reader would not see.
      const json& wm = j.at("weight_map");
      for (auto& sf : files_)
        for (auto& [n, t] : sf->tensors()) {
          if (index_.count(n)) throw Error(path + ": tensor '" + n + "' appears in more than one shard");
          if (!wm.contains(n))
            throw Error(sf->path() + ": tensor '" + n + "' is stored in this shard but has no entry in the weight_map of " +
                        index.string() + " (the index and its shards disagree: mismatched or corrupt checkpoint)");
          index_[n] = &t;
        }
      for (auto it = wm.begin(); it != wm.end(); ++it) {
        auto f2 = index_.find(it.key());
        const std::string want = (dir / it.value().get<std::string>()).string();
        if (f2 == index_.end())
          throw Error(index.string() + ": tensor '" + it.key() + "' is listed in " + it.value().get<std::string>() +
                      " but not found there (nor in any other shard named by the index)");
        if (f2->second->file != want)
          throw Error(index.string() + ": tensor '" + it.key() + "' is listed in " + it.value().get<std::string>() +
                      " but not found there; it is stored in " + f2->second->file);
      }
      return;
    } else if (fs::exists(dir / "model.safetensors")) {
      files.push_back((dir / "model.safetensors").string());
    } else {
      for (auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
      if (files.size() != 1)
        throw Error(path + ": expected model.safetensors, model.safetensors.index.json or exactly one .safetensors file, found " + std::to_string(files.size()));
    }
  } else {
    throw Error(path + ": no such checkpoint file or directory");
  }
  for (auto& fpath : files) files_.push_back(std::make_unique<SafetensorsFile>(fpath));
  for (auto& sf : files_)
    for (auto& [n, t] : sf->tensors()) {
      if (index_.count(n)) throw Error(path + ": tensor '" + n + "' appears in more than one file");
      index_[n] = &t;
    }
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const TensorInfo& Checkpoint::get(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorInfo* t = find(name);
  if (!t) throw Error(path_ + ": missing tensor '" + name + "'");
  if (t->shape != shape) {
    TensorInfo want;
    want.shape = shape;
    throw Error(t->file + ": tensor '" + name + "' has shape " + t->shape_str() + ", expected " + want.shape_str());
  }
  if (t->dtype == DType::I32 || t->dtype == DType::I64)
    throw Error(t->file + ": tensor '" + name + "' has integer dtype " + dtype_name(t->dtype) + ", expected a float dtype");
  return *t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> v;
  for (auto& [n, t] : index_) v.push_back(n);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Writer

namespace {
void encode(DType dt, const std::vector<double>& v, std::vector<std::byte>& out) {
  out.resize(v.size() * dtype_size(dt));
  std::byte* p = out.data();
  for (std::size_t i = 0; i < v.size(); ++i) {
    switch (dt) {
      case DType::F64: std::memcpy(p + 8 * i, &v[i], 8); break;
      case DType::F32: { const float f = static_cast<float>(v[i]); std::memcpy(p + 4 * i, &f, 4); } break;
      // double -> float -> bf16/f16: the first step can only double-round on ties below the bf16 ulp,
      // which our callers avoid by giving float-representable values.
      case DType::BF16: { const uint16_t b = f32_to_bf16_bits(static_cast<float>(v[i])); std::memcpy(p + 2 * i, &b, 2); } break;
      case DType::F16: { const uint16_t b = f32_to_f16_bits(static_cast<float>(v[i])); std::memcpy(p + 2 * i, &b, 2); } break;
      case DType::I64: { const int64_t x = static_cast<int64_t>(v[i]); std::memcpy(p + 8 * i, &x, 8); } break;
      case DType::I32: { const int32_t x = static_cast<int32_t>(v[i]); std::memcpy(p + 4 * i, &x, 4); } break;
    }
  }
}
}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorSpec>& specs, const FillFn& fill,
                       const std::map<std::string, std::string>& metadata) {
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
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot open for writing");
  uint8_t len[8];
  const uint64_t n = hs.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  f.write(reinterpret_cast<const char*>(len), 8);
  f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  std::vector<double> vals;
  std::vector<std::byte> bytes;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    vals.assign(static_cast<std::size_t>(specs[i].numel()), 0.0);
    fill(i, vals);
    if (vals.size() != static_cast<std::size_t>(specs[i].numel()))
      throw Error(path + ": fill for tensor '" + specs[i].name + "' produced the wrong number of values");
    encode(specs[i].dtype, vals, bytes);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  if (!f) throw Error(path + ": write failed");
}

void write_safetensors(const std::string& path, const std::vector<NamedValues>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (auto& t : tensors) specs.push_back(t.spec);
  write_safetensors(path, specs, [&](std::size_t i, std::vector<double>& v) { v = tensors[i].values; }, metadata);
}

void write_checkpoint_shards(const std::string& dir, const std::vector<TensorSpec>& specs, const FillFn& fill,
                             std::size_t max_shard_bytes) {
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
    write_safetensors((fs::path(dir) / "model.safetensors").string(), specs, fill, {{"format", "pt"}});
    return;
  }
  nlohmann::ordered_json wm = nlohmann::ordered_json::object();
  uint64_t total = 0;
  char buf[64];
  for (std::size_t s = 0; s < shards.size(); ++s) {
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    std::vector<TensorSpec> sub;
    for (auto i : shards[s]) {
      sub.push_back(specs[i]);
      wm[specs[i].name] = buf;
      total += static_cast<uint64_t>(specs[i].numel()) * dtype_size(specs[i].dtype);
    }
    write_safetensors((fs::path(dir) / buf).string(), sub,
                      [&](std::size_t k, std::vector<double>& v) { fill(shards[s][k], v); }, {{"format", "pt"}});
  }
  nlohmann::ordered_json idx;
  idx["metadata"] = {{"total_size", total}};
  idx["weight_map"] = wm;
  std::ofstream f(fs::path(dir) / "model.safetensors.index.json");
  f << idx.dump(2) << "\n";
}

}  // namespace mm
