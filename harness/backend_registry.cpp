// The registry and its built-in entries: the reference in three precisions, and `cuda` / `cuda-sim`
// (harness/cuda_backend.cpp, the model path in optimized/model/) when the SIMT layer is built. To plug in
// a backend, implement harness::Backend and add an entry with a factory and an availability probe;
// forward, generate, check, bench, soak, compare and report do not change (tests/harness/
// registry_backend_test.cpp registers a test-only backend and runs every command on it).
#include <sstream>

#include "core/error.h"
#include "harness/backend.h"
#include "harness/ref_backend.h"
#include "reference/sampling.h"
#if MM_SIMT
#include "harness/cuda_backend.h"
#endif

namespace mm::harness {

LoadedModel load_model(const std::string& dir) {
  LoadedModel m{dir, load_config(dir), std::nullopt};
  if (is_vl_config(dir)) m.vl = load_vl_config(dir);
  if (m.vl && !m.config.stored.all())
    throw Error(dir + "/config.json: minimax01_layers: a MiniMax-VL-01 model is run whole; layer slices are for text "
                      "models (docs/slices.md)");
  return m;
}

std::string Backend::corrupt_weight(uint64_t) {
  throw Error("backend '" + name() + "' does not support weight corruption (fault injection)");
}
void Backend::restore_weights() {}

int64_t Backend::next_token(const StepResult& last, const SamplingParams& p, Rng& rng) {
  const Tensor& l = last.logits;
  require(l.shape.size() == 2 && l.shape[0] > 0 && l.shape[1] > 0, "backend '" + name() + "': no logits to choose the next token from");
  const auto V = static_cast<std::ptrdiff_t>(l.shape[1]);
  const std::vector<double> row(l.values.end() - V, l.values.end());
  return ref::sample_token(row, p, rng);
}

void Registry::add(BackendEntry e) {
  for (auto& x : entries_)
    if (x.name == e.name) { x = std::move(e); return; }
  entries_.push_back(std::move(e));
}

const BackendEntry* Registry::find(const std::string& name) const {
  for (const auto& x : entries_)
    if (x.name == name) return &x;
  return nullptr;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& x : entries_) out.push_back(x.name);
  return out;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void Registry::require_available(const std::string& name) const {
  const BackendEntry* e = find(name);
  if (!e) throw UsageError("unknown backend '" + name + "' (known: " + join(names()) + ")");
  const std::string why = e->why_unavailable();
  if (!why.empty()) throw Error("backend '" + name + "' is not available: " + why);
}

std::unique_ptr<Backend> Registry::make(const std::string& name, const LoadedModel& m) const {
  require_available(name);
  return find(name)->make(m);
}

Registry& registry() {
  static Registry r = [] {
    Registry reg;
    for (Precision p : {Precision::F64, Precision::F32, Precision::BF16}) {
      reg.add({std::string("ref-") + to_string(p),
               p == Precision::F64   ? "Eigen reference in double: the oracle"
               : p == Precision::F32 ? "Eigen reference in float"
                                     : "Eigen reference with official bf16 rounding: the error budget",
               nullptr, [p](const LoadedModel& m) { return make_ref_backend(p, m); }});
    }
#if MM_SIMT
    for (const char* n : {"cuda", "cuda-sim"}) {
      const std::string name = n;
      reg.add({name, name == "cuda" ? "CUDA kernels on the GPU" : "the same CUDA kernels on the CPU (SIMT layer)",
               [name] { return cuda_unavailable_reason(name); },
               [name](const LoadedModel& m) { return make_cuda_backend(name, m); }});
    }
#else
    const auto not_built = [] {
      return std::string("not built: the CUDA model path needs the SIMT layer (CUDA headers + libboost-context-dev)");
    };
    reg.add({"cuda", "CUDA kernels on the GPU", not_built, nullptr});
    reg.add({"cuda-sim", "the same CUDA kernels on the CPU (SIMT layer)", not_built, nullptr});
#endif
    return reg;
  }();
  return r;
}

std::vector<std::string> parse_backend_list(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    if (!registry().find(item))
      throw UsageError("unknown backend '" + item + "' (known: " + join(registry().names()) + ")");
    out.push_back(item);
  }
  if (out.empty()) throw Error("empty backend list (known: " + join(registry().names()) + ")");
  return out;
}

}  // namespace mm::harness
