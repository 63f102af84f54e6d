#include "core/forward_dump.h"

#include "core/config.h"  // parse_layer_number
#include "core/error.h"

#include <cmath>

namespace mm {

namespace {
const TensorInfo& f32_tensor(const SafetensorsLayout& l, const std::string& name, std::size_t rank,
                             const std::string& path) {
  auto it = l.tensors.find(name);
  if (it == l.tensors.end()) throw Error(path + ": forward dump lacks tensor '" + name + "'");
  const TensorInfo& t = it->second;
  if (t.dtype != DType::F32)
    throw Error(path + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) + ", expected F32");
  if (t.shape.size() != rank)
    throw Error(path + ": tensor '" + name + "' has shape " + t.shape_str() + ", expected " + std::to_string(rank) +
                " dimensions");
  return t;
}
}  // namespace

ForwardDump parse_forward_dump(const SafetensorsLayout& l, const std::string& path) {
  auto fmt = l.metadata.find("format");
  if (fmt == l.metadata.end() || fmt->second != kForwardDumpFormat)
    throw Error(path + ": not a forward dump (expected __metadata__ format = \"" + kForwardDumpFormat + "\"" +
                (fmt == l.metadata.end() ? ", found none)" : ", found \"" + fmt->second + "\")"));
  for (const auto& [name, t] : l.tensors)
    if (name != "logits" && name != "hidden_states" && name != "decode_logits")
      throw Error(path + ": unexpected tensor '" + name + "' (a forward dump holds logits, hidden_states, decode_logits)");
  ForwardDump d;
  auto b = l.metadata.find("backend");
  d.backend = b == l.metadata.end() ? "" : b->second;
  d.logits = &f32_tensor(l, "logits", 2, path);
  d.hidden_states = &f32_tensor(l, "hidden_states", 3, path);
  d.decode_logits = &f32_tensor(l, "decode_logits", 2, path);
  d.S = d.logits->shape[0];
  d.V = d.logits->shape[1];
  d.L = d.hidden_states->shape[0];
  d.H = d.hidden_states->shape[2];
  d.N = d.decode_logits->shape[0];
  if (d.S < 1) throw Error(path + ": tensor 'logits' has shape " + d.logits->shape_str() + ": the prompt has at least one token");
  if (d.V < 1 || d.L < 1 || d.H < 1)
    throw Error(path + ": vocabulary, layer count and hidden size must be positive (logits " + d.logits->shape_str() +
                ", hidden_states " + d.hidden_states->shape_str() + ")");
  if (d.hidden_states->shape[1] != d.S)
    throw Error(path + ": tensor 'hidden_states' has shape " + d.hidden_states->shape_str() + ", expected [L, S = " +
                std::to_string(d.S) + ", H] (S from logits)");
  if (d.decode_logits->shape[1] != d.V)
    throw Error(path + ": tensor 'decode_logits' has shape " + d.decode_logits->shape_str() + ", expected [N, V = " +
                std::to_string(d.V) + "] (V from logits)");
  return d;
}

ForwardDumpFile::ForwardDumpFile(const std::string& path) : file_(path) {
  SafetensorsLayout l;
  l.tensors = file_.tensors();
  l.metadata = file_.metadata();
  ForwardDump d = parse_forward_dump(l, path);
  // Re-point into the file's own tensor map (the copy above goes away).
  d.logits = file_.find("logits");
  d.hidden_states = file_.find("hidden_states");
  d.decode_logits = file_.find("decode_logits");
  dump_ = d;
}

SliceHidden parse_slice_hidden(const SafetensorsLayout& l, const std::string& path) {
  const auto& meta = l.metadata;
  auto field = [&](const char* key) -> std::string {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(path + ": slice dump lacks __metadata__ '" + key + "'");
    return it->second;
  };
  const std::string fmt = meta.count("format") ? meta.at("format") : "";
  if (fmt != kSliceDumpFormat)
    throw Error(path + ": not a slice dump (expected __metadata__ format = \"" + kSliceDumpFormat + "\", found " +
                (fmt.empty() ? std::string("none") : "\"" + fmt + "\"") +
                "): --hidden-in reads the dump of a forward --layers run");
  SliceHidden s;
  // "A:B" and L, each a small decimal number.
  auto number = [&](const std::string& t, const char* what) -> int64_t {
    const std::optional<int64_t> n = parse_layer_number(t);
    if (!n) throw Error(path + ": __metadata__ " + what + " '" + t + "' is not a layer number");
    return *n;
  };
  const std::string layers = field("layers");
  const std::size_t colon = layers.find(':');
  if (colon == std::string::npos) throw Error(path + ": __metadata__ layers '" + layers + "': expected A:B");
  s.first_layer = number(layers.substr(0, colon), "layers");
  s.end_layer = number(layers.substr(colon + 1), "layers");
  s.num_hidden_layers = number(field("num_hidden_layers"), "num_hidden_layers");
  s.tokens_sha256 = field("tokens_sha256");
  if (!(s.first_layer < s.end_layer && s.end_layer <= s.num_hidden_layers))
    throw Error(path + ": __metadata__ layers '" + layers + "' is not a range of num_hidden_layers = " +
                std::to_string(s.num_hidden_layers));
  auto hidden = [&](const char* name, int64_t& rows) -> std::vector<double> {
    const auto it = l.tensors.find(name);
    if (it == l.tensors.end()) throw Error(path + ": slice dump lacks tensor '" + name + "'");
    const TensorInfo* t = &it->second;
    if (t->dtype != DType::F64 || t->shape.size() != 2)
      throw Error(path + ": tensor '" + name + "' is " + dtype_name(t->dtype) + " " + t->shape_str() +
                  ", expected F64 [tokens, hidden_size]");
    rows = t->shape[0];
    if (s.H == 0) s.H = t->shape[1];
    if (t->shape[1] != s.H || s.H < 1)
      throw Error(path + ": tensor '" + name + "' is " + t->shape_str() + ", expected width hidden_size = " + std::to_string(s.H));
    std::vector<double> v = read_f64(*t);
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw Error(path + ": tensor '" + name + "' value " + std::to_string(i) + " (row " +
                    std::to_string(static_cast<int64_t>(i) / s.H) + ") is not finite");
    return v;
  };
  s.hidden_out = hidden("hidden_out", s.S);
  s.decode_hidden_out = hidden("decode_hidden_out", s.N);
  if (s.S < 1) throw Error(path + ": tensor 'hidden_out' has no row (the prompt has at least one token)");
  return s;
}

SliceHidden read_slice_hidden(const std::string& path) {
  const SafetensorsFile f(path);
  SafetensorsLayout l;
  l.tensors = f.tensors();  // the tensors' data stays in f's mapping, read before it closes
  l.metadata = f.metadata();
  return parse_slice_hidden(l, path);
}

}  // namespace mm
