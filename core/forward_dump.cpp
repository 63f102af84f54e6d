#include "core/forward_dump.h"

#include "core/error.h"

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

}  // namespace mm
